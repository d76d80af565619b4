// Protocol v1 (docs/protocol.md): error codes, topics, payload validation, typed messages.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "a1/json.h"
#include "a1/processing.h"

namespace a1 {

enum class ErrorCode : uint8_t {
  kOk = 0,
  kTooLarge,
  kMalformedJson,
  kNotFinite,
  kNotObject,
  kUnsupportedVersion,
  kMissingField,
  kWrongType,
  kOutOfRange,
  kBadValue,
  kInvalidId,
  kUnknownTopic,
  kIdMismatch,
};
const char *error_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kOk;
  char path[64] = {0};
  bool ok() const { return this->code == ErrorCode::kOk; }
  void set(ErrorCode c, const char *p);
};

// ---- topics ----
constexpr size_t kMaxIdLen = 32;
constexpr int kMaxGpio = 63;
constexpr size_t kTopicCap = 128;

enum class TopicKind : uint8_t {
  kAnnounce,
  kStatus,
  kHeartbeat,
  kConfig,
  kConfigAck,
  kSensorData,
  kSensorBatch,
  kProcessed,
  kActuatorCommand,
  kActuatorStatus,
  kSystemCommand,
  kEmergency,        // kaiser/{k}/broadcast/emergency: every device of the kaiser
  kOtaStatus,        // device -> HA only: built, never parsed by a device
  kDeviceEmergency,  // kaiser/{k}/esp/{e}/emergency: this device only
};
const char *topic_kind_name(TopicKind kind);  // "announce", "config/ack", "sensor/data", ...

struct Topic {
  TopicKind kind = TopicKind::kAnnounce;
  char kaiser_id[kMaxIdLen + 1] = {0};
  char esp_id[kMaxIdLen + 1] = {0};  // empty for the broadcast topic
  int gpio = -1;                     // -1 when the topic is not per pin
};

bool valid_id(const char *s, size_t len);
inline bool valid_id(const char *s) {
  size_t n = 0;
  while (s[n] != '\0' && n <= kMaxIdLen) n++;
  return valid_id(s, n);
}
ErrorCode parse_topic(const char *topic, size_t len, Topic &out);
// Builds a topic; false (and nothing built) for an invalid id, a missing or stray gpio.
bool build_topic(char *buf, size_t cap, const char *kaiser_id, const char *esp_id, TopicKind kind,
                 int gpio = -1);
bool build_emergency_topic(char *buf, size_t cap, const char *kaiser_id);

// ---- payload kinds and schema validation ----
enum class PayloadKind : uint8_t {
  kAnnounce,
  kHeartbeat,
  kConfig,
  kConfigAck,
  kSensorData,
  kSensorBatch,
  kProcessed,
  kActuatorCommand,
  kActuatorStatus,
  kSystemCommand,
  kEmergency,
  kCount,
};
bool payload_kind_from_name(const char *name, PayloadKind &out);
size_t payload_limit(PayloadKind kind);

// Size check, JSON, object, `v`, then the schema: the first error, with its path, in the order
// the Python parser reports it (required fields in schema order, then fields in document order).
Error validate_payload(PayloadKind kind, const char *data, size_t len, JsonDoc &doc);

// ---- typed messages a device receives ----
// A text field of at most `chars` code points (the schemas' maxLength) needs up to 4 bytes each:
// the parsed copy holds every accepted value whole.
constexpr size_t utf8_cap(size_t chars) { return 4 * chars + 1; }
constexpr int kMaxSensors = 16;
constexpr int kMaxActuators = 16;

enum class ActuatorType : uint8_t { kRelay, kPump, kValve, kPwm };
enum class Action : uint8_t { kOn, kOff, kSet, kPulse };
enum class SysCmd : uint8_t { kRestart, kFactoryReset, kOta, kIdentify, kLogin, kMove };

struct SensorConfig {
  uint8_t gpio = 0;
  char type[25] = {0};
  uint32_t interval_ms = 0;
  bool processed = false;
  char addr[17] = {0};  // empty: none
  int8_t scl = -1;
  Processing proc;      // kind kNone: none pushed (the device sends raw)
};

struct ActuatorConfig {
  uint8_t gpio = 0;
  ActuatorType type = ActuatorType::kRelay;
  bool inverted = false;
  uint8_t safe_state = 0;
  uint32_t max_runtime_s = 0;
  uint32_t cooldown_s = 0;
  uint32_t max_per_hour = 0;
  uint32_t failsafe_s = 0;
};

struct DeviceConfig {
  uint32_t version = 0;
  uint16_t heartbeat_s = 0;  // 0: not given (device default 60)
  uint8_t n_sensors = 0;
  uint8_t n_actuators = 0;
  SensorConfig sensors[kMaxSensors];
  ActuatorConfig actuators[kMaxActuators];
};

struct ActuatorCommand {
  Action action = Action::kOff;
  int value = -1;           // -1: not given
  double duration_s = 0.0;  // 0: not given
  char cmd_id[37] = {0};
  char source[utf8_cap(32)] = {0};
};

struct SystemCommand {
  SysCmd cmd = SysCmd::kRestart;
  char url[utf8_cap(256)] = {0};
  char cmd_id[37] = {0};
  // ota only (docs/protocol.md "Firmware updates"); empty / 0 when not given.
  char sha256[65] = {0};
  char board[33] = {0};
  char version[33] = {0};
  uint32_t size = 0;
  // login only (docs/protocol.md "Device login"): secret, never logged; empty / 0 when not given.
  char username[65] = {0};
  char password[129] = {0};
  char ca[2801] = {0};
  uint16_t port = 0;  // login and move
  // move only (docs/protocol.md "Moving to another broker"); empty when not given.
  char kaiser_id[kMaxIdLen + 1] = {0};
  char host[65] = {0};
  // As constructed, in place: `= SystemCommand()` builds a 3.7 KB temporary on the stack.
  void clear();
};

struct Emergency {
  bool stop = false;
  char reason[utf8_cap(64)] = {0};
  uint64_t ts = 0;
};

struct Processed {
  double value = 0;
  char unit[utf8_cap(16)] = {0};
  char quality[13] = {0};
  int64_t seq = -1;
  char addr[17] = {0};
};

Error parse_config(const char *data, size_t len, JsonDoc &doc, DeviceConfig &out);
Error parse_actuator_command(const char *data, size_t len, JsonDoc &doc, ActuatorCommand &out);
Error parse_system_command(const char *data, size_t len, JsonDoc &doc, SystemCommand &out);
Error parse_emergency(const char *data, size_t len, JsonDoc &doc, Emergency &out);
Error parse_processed(const char *data, size_t len, JsonDoc &doc, Processed &out);
// status topic: plain text; true = online.
Error parse_status(const char *data, size_t len, bool &online);

const char *actuator_type_name(ActuatorType t);

}  // namespace a1
