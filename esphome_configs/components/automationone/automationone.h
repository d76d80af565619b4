#pragma once
// ESPHome component: speaks AutomationOne protocol v1 over ESPHome's mqtt client and enforces
// the on-device actuator safety. The protocol (JSON, schema checks, messages) and the safety
// machine are the firmware's C++ core (a1_*.h/.cpp, flat copies of
// firmware/lib/automationone_core/src/a1 made by tools/sync_core.py); this class only wires
// them to ESPHome.

#include <functional>
#include <string>
#include <vector>

#include "esphome/core/automation.h"
#include "esphome/core/component.h"
#include "esphome/core/preferences.h"
#include "esphome/components/output/binary_output.h"
#include "esphome/components/output/float_output.h"
#include "esphome/components/sensor/sensor.h"

#include "a1_actuator.h"
#include "a1_json.h"
#include "a1_messages.h"
#include "a1_protocol.h"

namespace esphome {
namespace automationone {

static const int PROTOCOL_VERSION = 1;
static const char *const DEFAULT_KAISER_ID = "god";

/// The limits an actuator boots with (from the YAML, see __init__.py).
struct ActuatorLimits {
  bool pwm{false};
  bool inverted{false};
  uint8_t safe_state{0};
  uint32_t max_runtime_s{0};
  uint32_t cooldown_s{0};
  uint32_t max_per_hour{0};
  uint32_t failsafe_s{0};
};

/// A sensor of the firmware: its pin (the protocol's id) and what HA may change at runtime.
struct SensorSlot {
  int gpio;
  std::string type;
  sensor::Sensor *sensor;
  sensor::Sensor *processed;  // receives `sensor/{gpio}/processed`, may be null
  PollingComponent *poller;   // the sensor's own update loop, may be null
  bool processed_mode;        // send value+unit instead of raw
  bool enabled;
};

/// An actuator of the firmware: its pin, its output and the core's safety machine.
struct ActuatorSlot {
  int gpio;
  std::string type;
  output::BinaryOutput *binary;
  output::FloatOutput *level;  // set for pwm
  bool enabled;
  a1::ActuatorConfig boot;  // the YAML's limits
  a1::ActuatorSafety safety;
};

/// What a pushed config set, kept in flash per compiled-in pin so the limits hold from boot,
/// before the broker is reachable (each record stays far below ESPHome's preference size limits).
struct StoredHeader {
  uint32_t version;
  uint16_t heartbeat_s;
};
struct StoredSensor {
  uint8_t listed;
  uint8_t processed;
  uint32_t interval_ms;
};
struct StoredActuator {
  uint8_t listed;
  uint8_t pwm;
  uint8_t inverted;
  uint8_t safe_state;
  uint32_t max_runtime_s;
  uint32_t cooldown_s;
  uint32_t max_per_hour;
  uint32_t failsafe_s;
};

class AutomationOneComponent : public Component {
 public:
  AutomationOneComponent();

  // Code generation (see __init__.py).
  void set_esp_id(const std::string &esp_id) { this->esp_id_ = esp_id; }
  void set_kaiser_id(const std::string &kaiser_id) { this->kaiser_id_ = kaiser_id; }
  void set_device_name(const std::string &name) { this->name_ = name; }
  void set_board(const std::string &board) { this->board_ = board; }
  void set_fw_version(const std::string &version) { this->fw_version_ = version; }
  void set_heartbeat_interval(uint32_t ms) { this->heartbeat_ms_ = ms; }
  void set_restore_config(bool restore) { this->restore_config_ = restore; }
  void add_sensor(int gpio, const std::string &type, sensor::Sensor *sensor, sensor::Sensor *processed,
                  PollingComponent *poller, bool processed_mode);
  void add_binary_actuator(int gpio, const std::string &type, output::BinaryOutput *out, const ActuatorLimits &limits);
  void add_float_actuator(int gpio, const std::string &type, output::FloatOutput *out, const ActuatorLimits &limits);
  Trigger<> *get_identify_trigger() { return &this->identify_trigger_; }

  // Component lifecycle.
  void setup() override;
  void loop() override;
  void dump_config() override;
  // After the outputs (HARDWARE) set their pins up, so the boot safe state is the last write;
  // before WiFi and MQTT.
  float get_setup_priority() const override { return setup_priority::PROCESSOR; }

  // The protocol API the mqtt client feeds and the host test drives. `now_ms` is millis_64().
  void handle_message(const std::string &topic, const std::string &payload, uint64_t now_ms);
  /// Fire due safety timers; loop() calls it.
  void tick(uint64_t now_ms);
  /// The broker link came up or went down (loop() follows the mqtt client; tests call it).
  void set_link(bool up, uint64_t now_ms);
  /// Every publish also goes here (tests; on the host there is no mqtt client).
  using PublishHook = std::function<void(const std::string &, const std::string &, uint8_t, bool)>;
  void set_publish_hook(PublishHook hook) { this->publish_hook_ = std::move(hook); }
  /// The announce, status=online and every actuator's status (on every (re)connect).
  void publish_hello(uint64_t now_ms);
  void publish_heartbeat(uint64_t now_ms);

  const std::string &esp_id() const { return this->esp_id_; }
  const std::string &kaiser_id() const { return this->kaiser_id_; }
  bool emergency_active() const { return this->emergency_; }
  /// The safety machine of an enabled actuator, or null.
  const a1::ActuatorSafety *actuator(int gpio) const;
  const std::vector<SensorSlot> &sensor_slots() const { return this->sensors_; }
  uint32_t config_version() const { return this->config_version_; }
  uint32_t heartbeat_interval() const { return this->heartbeat_ms_; }
  uint32_t rejected_messages() const { return this->rejected_; }

 protected:
  std::string topic_(a1::TopicKind kind, int gpio = -1) const;
  void publish_(const std::string &topic, const char *payload, size_t len, uint8_t qos, bool retain);
  void publish_status_(ActuatorSlot &slot, a1::Refusal refused, double until_s, const char *cmd_id);
  void publish_reading_(SensorSlot &slot, float state);
  void write_output_(const ActuatorSlot &slot);
  ActuatorSlot *actuator_slot_(int gpio);
  SensorSlot *sensor_slot_(int gpio);
  void reject_(const std::string &topic, const a1::Error &error);
  void apply_config_(const a1::DeviceConfig &config, uint64_t now_ms, bool publish_ack);
  void save_config_(const a1::DeviceConfig &config);
  void restore_config_from_flash_(uint64_t now_ms);
  void on_system_command_(const a1::SystemCommand &cmd);
  void subscribe_();

  std::string esp_id_;
  std::string kaiser_id_{DEFAULT_KAISER_ID};
  std::string name_;
  std::string board_;
  std::string fw_version_;
  uint32_t heartbeat_ms_{60000};
  bool restore_config_{true};
  std::vector<SensorSlot> sensors_;
  std::vector<ActuatorSlot> actuators_;
  bool broadcast_stop_{false};  // the kaiser's broadcast says stop
  bool device_stop_{false};     // this device's own emergency topic says stop
  Trigger<> identify_trigger_;
  PublishHook publish_hook_;
  ESPPreferenceObject pref_header_;
  std::vector<ESPPreferenceObject> pref_sensors_;
  std::vector<ESPPreferenceObject> pref_actuators_;
  // The core's fixed buffers: parsing and building never allocate.
  a1::JsonDoc doc_;
  a1::DeviceConfig config_scratch_;
  a1::ActivationLog activations_;
  char out_[a1::JsonDoc::kMaxPayload + 1]{};
  uint32_t config_version_{0};
  uint32_t seq_{0};
  uint32_t rejected_{0};
  uint64_t last_heartbeat_ms_{0};
  uint64_t now_ms_{0};  // time of the event being handled (millis_64() on a board)
  const char *login_error_{nullptr};  // `unsupported` once a login was delivered
  const char *move_error_{nullptr};   // `unsupported` once a move was requested
  bool link_up_{false};
  bool emergency_{false};
};

/// The instance (one per device), for the host test driver.
extern AutomationOneComponent *global_automationone;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

}  // namespace automationone
}  // namespace esphome
