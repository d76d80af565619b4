#pragma once
// AutomationOne protocol v1 (docs/protocol.md): topics, strict parsing of every payload kind,
// typed views of what a device receives and builders for what it sends. No ESPHome dependency.

#include <cstdint>
#include <string>
#include <vector>

#include "json.h"
#include "schema.h"

namespace esphome {
namespace automationone {

static const int PROTOCOL_VERSION = 1;
static const size_t MAX_PAYLOAD = 1024;
static const size_t MAX_LARGE_PAYLOAD = 4096;
static const char *const DEFAULT_KAISER_ID = "god";
static const int MAX_GPIO = 63;

// --- topics ------------------------------------------------------------------------------------

enum class TopicKind : uint8_t {
  ANNOUNCE,
  STATUS,
  HEARTBEAT,
  CONFIG,
  CONFIG_ACK,
  SENSOR_DATA,
  SENSOR_BATCH,
  PROCESSED,
  ACTUATOR_COMMAND,
  ACTUATOR_STATUS,
  SYSTEM_COMMAND,
  EMERGENCY,         // the kaiser's broadcast
  DEVICE_EMERGENCY,  // kaiser/{k}/esp/{e}/emergency: this device only
};

/// The topic's tail with `{gpio}` left out, e.g. `sensor/data`, `broadcast/emergency`.
const char *topic_kind_str(TopicKind kind);

struct Topic {
  TopicKind kind{TopicKind::ANNOUNCE};
  std::string kaiser_id;
  std::string esp_id;  // empty for the broadcast topic
  int gpio{-1};        // -1 when the topic is not per pin
};

/// 1-32 characters of A-Z a-z 0-9 _ -.
bool valid_id(const std::string &id);
bool parse_topic(const std::string &topic, Topic &out, ProtoError &error);
/// `kaiser/{kaiser_id}/esp/{esp_id}/...`; empty when an id is invalid or the pin does not fit
/// the kind (per-pin kinds need 0-63, the others -1).
std::string device_topic(const std::string &kaiser_id, const std::string &esp_id, TopicKind kind, int gpio = -1);
std::string emergency_topic(const std::string &kaiser_id);

// --- payloads ------------------------------------------------------------------------------

enum class PayloadKind : uint8_t {
  ANNOUNCE,
  HEARTBEAT,
  CONFIG,
  CONFIG_ACK,
  SENSOR_DATA,
  SENSOR_BATCH,
  PROCESSED,
  ACTUATOR_COMMAND,
  ACTUATOR_STATUS,
  SYSTEM_COMMAND,
  EMERGENCY,         // the kaiser's broadcast
  DEVICE_EMERGENCY,  // kaiser/{k}/esp/{e}/emergency: this device only
};

/// Vector names: `announce`, `sensor_data`, ... Returns false for an unknown name.
bool payload_kind_from_str(const std::string &name, PayloadKind &out);
size_t payload_limit(PayloadKind kind);

/// Size limit, JSON decoding, `v`, the kind's JSON Schema and the rules beyond the schemas
/// (`set` needs `value`, `pulse` needs `duration_s`, `ota` needs `url`). `out` is the normalised
/// value: unknown fields dropped, integral numbers of integer fields as integers, `v` kept.
bool parse_payload(PayloadKind kind, const std::string &payload, JsonValue &out, ProtoError &error);
/// An announce whose ids must also match the topic's (`id_mismatch`).
bool parse_announce_for(const Topic &topic, const std::string &payload, JsonValue &out, ProtoError &error);
/// `online` / `offline` (plain text).
bool parse_status(const std::string &payload, bool &online, ProtoError &error);

// --- typed messages a device receives ------------------------------------------------------

enum class Action : uint8_t { ON, OFF, SET, PULSE };

struct ActuatorCommand {
  Action action{Action::OFF};
  bool has_value{false};
  int value{0};
  bool has_duration{false};
  double duration_s{0.0};
  std::string cmd_id;
  std::string source;
};

struct SensorConfig {
  int gpio{0};
  std::string type;
  uint32_t interval_ms{0};
  std::string mode;  // "raw" when absent
  std::string addr;
  int scl{-1};
};

struct ActuatorConfig {
  int gpio{0};
  std::string type;
  bool inverted{false};
  uint8_t safe_state{0};
  uint32_t max_runtime_s{0};
  uint32_t cooldown_s{0};
  uint32_t max_per_hour{0};
  uint32_t failsafe_s{0};
};

struct DeviceConfig {
  uint32_t version{0};
  uint32_t heartbeat_s{0};  // 0: not given
  std::vector<SensorConfig> sensors;
  std::vector<ActuatorConfig> actuators;
};

enum class SystemCmd : uint8_t { RESTART, FACTORY_RESET, OTA, IDENTIFY };

struct SystemCommand {
  SystemCmd cmd{SystemCmd::RESTART};
  std::string url;
  std::string cmd_id;
};

struct Emergency {
  bool stop{false};
  std::string reason;
};

struct Processed {
  double value{0.0};
  std::string unit;
  std::string quality;
  bool has_seq{false};
  uint32_t seq{0};
  std::string addr;
};

bool parse_actuator_command(const std::string &payload, ActuatorCommand &out, ProtoError &error);
bool parse_config(const std::string &payload, DeviceConfig &out, ProtoError &error);
bool parse_system_command(const std::string &payload, SystemCommand &out, ProtoError &error);
bool parse_emergency(const std::string &payload, Emergency &out, ProtoError &error);
bool parse_processed(const std::string &payload, Processed &out, ProtoError &error);

// --- what a device sends -------------------------------------------------------------------

struct AnnounceInfo {
  std::string esp_id;
  std::string kaiser_id;
  std::string name;  // optional
  std::string board;
  std::string fw{"esphome"};
  std::string fw_version;
  std::string mac;
  // caps: -1 leaves a field out; no caps object when all are left out.
  int sensors{-1};
  int actuators{-1};
  int batch{-1};  // 0/1
  int buffer{-1};
  int on_device{-1};  // 0/1
};

struct HeartbeatInfo {
  uint32_t uptime_s{0};
  uint32_t heap_free{0};
  int rssi{0};
  int64_t heap_min{-1};        // -1 leaves it out
  int64_t config_version{-1};  // -1 leaves it out
  int64_t buffered{-1};        // -1 leaves it out
  int64_t ts{-1};              // Unix ms; -1 leaves it out
};

struct Reading {
  uint32_t seq{0};
  int64_t ts{-1};  // Unix ms; -1 leaves it out (0: the device has no time)
  bool replay{false};
  bool processed{false};
  double raw{0.0};           // when !processed and words empty
  std::vector<uint16_t> words;  // raw words instead of a number
  double value{0.0};         // when processed
  std::string unit;
  std::string quality;
  std::string addr;
};

struct ActuatorStatusInfo {
  bool state{false};
  uint8_t value{0};
  const char *reason{"boot"};
  const char *refused{nullptr};
  double until_s{-1.0};  // < 0 leaves it out
  std::string cmd_id;
  double runtime_s{-1.0};
  int64_t activations{-1};
  int64_t ts{-1};  // -1 leaves it out
};

struct PinResult {
  bool sensor{true};
  int gpio{0};
  bool ok{true};
  std::string error;
  std::string addr;
};

std::string build_announce(const AnnounceInfo &info);
std::string build_heartbeat(const HeartbeatInfo &info);
std::string build_sensor_data(const Reading &reading);
std::string build_actuator_status(const ActuatorStatusInfo &info);
std::string build_config_ack(uint32_t version, const std::vector<PinResult> &results);

}  // namespace automationone
}  // namespace esphome
