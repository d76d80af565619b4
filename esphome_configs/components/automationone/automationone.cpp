#include "automationone.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "esphome/core/application.h"
#include "esphome/core/hal.h"
#include "esphome/core/helpers.h"
#include "esphome/core/log.h"

#ifdef USE_MQTT
#include "esphome/components/mqtt/mqtt_client.h"
#endif
#ifdef USE_WIFI
#include "esphome/components/wifi/wifi_component.h"
#endif
#ifdef USE_ESP32
#include <esp_heap_caps.h>
#include <esp_system.h>
#endif

namespace esphome {
namespace automationone {

static const char *const TAG = "automationone";

AutomationOneComponent *global_automationone = nullptr;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

AutomationOneComponent::AutomationOneComponent() { global_automationone = this; }

// The read method behind a sensor type: a config may rename the type (`analog` -> `ph`) but
// not change how the pin is read, which is fixed when the firmware is compiled.
static const char *read_method(const std::string &type) {
  if (type == "ds18b20")
    return "onewire";
  if (type == "sht31" || type == "bme280" || type == "bh1750" || type == "ads1115")
    return "i2c";
  if (type == "digital" || type == "counter")
    return "digital";
  return "adc";
}

void AutomationOneComponent::add_sensor(int gpio, const std::string &type, sensor::Sensor *sensor,
                                        sensor::Sensor *processed, PollingComponent *poller, bool processed_mode) {
  this->sensors_.push_back(SensorSlot{gpio, type, sensor, processed, poller, processed_mode, true});
}

// The limits of an actuator between the YAML (ActuatorLimits), the core (a1::ActuatorConfig) and
// flash (StoredActuator): the same fields in each.
template<typename From, typename To> static void copy_limits(const From &from, To &to) {
  to.inverted = from.inverted;
  to.safe_state = from.safe_state;
  to.max_runtime_s = from.max_runtime_s;
  to.cooldown_s = from.cooldown_s;
  to.max_per_hour = from.max_per_hour;
  to.failsafe_s = from.failsafe_s;
}

static a1::ActuatorConfig boot_config(int gpio, const std::string &type, const ActuatorLimits &limits) {
  a1::ActuatorConfig c;
  c.gpio = static_cast<uint8_t>(gpio);
  c.type = limits.pwm ? a1::ActuatorType::kPwm : a1::ActuatorType::kRelay;
  for (int t = 0; t < 3; t++) {
    if (type == a1::actuator_type_name(static_cast<a1::ActuatorType>(t)))
      c.type = static_cast<a1::ActuatorType>(t);
  }
  copy_limits(limits, c);
  return c;
}

void AutomationOneComponent::add_binary_actuator(int gpio, const std::string &type, output::BinaryOutput *out,
                                                 const ActuatorLimits &limits) {
  this->actuators_.push_back(ActuatorSlot{gpio, type, out, nullptr, true, boot_config(gpio, type, limits), {}});
}

void AutomationOneComponent::add_float_actuator(int gpio, const std::string &type, output::FloatOutput *out,
                                                const ActuatorLimits &limits) {
  this->actuators_.push_back(ActuatorSlot{gpio, type, out, out, true, boot_config(gpio, type, limits), {}});
}

void AutomationOneComponent::setup() {
  if (this->esp_id_.empty()) {
    // As our firmware does: `esp-` + the last 3 bytes of the MAC in lower-case hex.
    std::string mac = get_mac_address();
    this->esp_id_ = "esp-" + mac.substr(mac.size() - 6);
  }
  if (!a1::valid_id(this->esp_id_.c_str()) || !a1::valid_id(this->kaiser_id_.c_str())) {
    ESP_LOGE(TAG, "Invalid esp_id '%s' or kaiser_id '%s' (1-32 of A-Z a-z 0-9 _ -)", this->esp_id_.c_str(),
             this->kaiser_id_.c_str());
    this->mark_failed();
    return;
  }
  uint32_t key = fnv1_hash("automationone_config_v1");
  this->pref_header_ = global_preferences->make_preference<StoredHeader>(key);
  for (const auto &slot : this->sensors_)
    this->pref_sensors_.push_back(global_preferences->make_preference<StoredSensor>(key ^ (0x100u + slot.gpio)));
  for (const auto &slot : this->actuators_)
    this->pref_actuators_.push_back(global_preferences->make_preference<StoredActuator>(key ^ (0x200u + slot.gpio)));

  uint64_t now = millis_64();
  this->now_ms_ = now;
  // Every actuator to its safe state (reason boot) before anything else can move it.
  for (auto &slot : this->actuators_) {
    slot.safety.configure(slot.boot, this->activations_, now, a1::Reason::kBoot);
    this->write_output_(slot);
  }
  if (this->restore_config_)
    this->restore_config_from_flash_(now);
  for (auto &slot : this->actuators_) {
    if (slot.enabled)
      this->publish_status_(slot, a1::Refusal::kNone, 0, "");
  }

  for (size_t i = 0; i < this->sensors_.size(); i++) {
    SensorSlot &slot = this->sensors_[i];
    slot.sensor->add_on_raw_state_callback([this, i](float raw) {
      if (!this->sensors_[i].processed_mode)
        this->publish_reading_(this->sensors_[i], raw);
    });
    slot.sensor->add_on_state_callback([this, i](float value) {
      if (this->sensors_[i].processed_mode)
        this->publish_reading_(this->sensors_[i], value);
    });
  }

#ifdef USE_MQTT
  if (mqtt::global_mqtt_client != nullptr) {
    // Last will on our status topic; the birth (`online`) is published by publish_hello() right
    // after the announce, as the protocol orders it.
    mqtt::global_mqtt_client->set_last_will(mqtt::MQTTMessage{this->topic_(a1::TopicKind::kStatus), "offline", 1, true});
    mqtt::global_mqtt_client->disable_birth_message();
    this->subscribe_();
  }
#endif
}

void AutomationOneComponent::subscribe_() {
#ifdef USE_MQTT
  auto handler = [this](const std::string &topic, const std::string &payload) {
    this->handle_message(topic, payload, millis_64());
  };
  std::string base = "kaiser/" + this->kaiser_id_ + "/esp/" + this->esp_id_ + "/";
  mqtt::global_mqtt_client->subscribe(base + "config", handler, 1);
  mqtt::global_mqtt_client->subscribe(base + "actuator/+/command", handler, 1);
  mqtt::global_mqtt_client->subscribe(base + "sensor/+/processed", handler, 0);
  mqtt::global_mqtt_client->subscribe(base + "system/command", handler, 1);
  char emergency[a1::kTopicCap];
  a1::build_emergency_topic(emergency, sizeof(emergency), this->kaiser_id_.c_str());
  mqtt::global_mqtt_client->subscribe(emergency, handler, 1);
  a1::build_topic(emergency, sizeof(emergency), this->kaiser_id_.c_str(), this->esp_id_.c_str(),
                  a1::TopicKind::kDeviceEmergency);
  mqtt::global_mqtt_client->subscribe(emergency, handler, 1);  // this device only
#endif
}

void AutomationOneComponent::loop() {
  uint64_t now = millis_64();
#ifdef USE_MQTT
  if (mqtt::global_mqtt_client != nullptr) {
    bool connected = mqtt::global_mqtt_client->is_connected();
    if (connected != this->link_up_) {
      this->set_link(connected, now);
      if (connected)
        this->publish_hello(now);
    }
  }
#endif
  this->tick(now);
  if (this->link_up_ && now - this->last_heartbeat_ms_ >= this->heartbeat_ms_)
    this->publish_heartbeat(now);
}

void AutomationOneComponent::tick(uint64_t now_ms) {
  this->now_ms_ = now_ms;
  for (auto &slot : this->actuators_) {
    if (slot.enabled && slot.safety.tick(now_ms)) {
      this->write_output_(slot);
      this->publish_status_(slot, a1::Refusal::kNone, 0, "");
    }
  }
}

void AutomationOneComponent::set_link(bool up, uint64_t now_ms) {
  this->now_ms_ = now_ms;
  if (up != this->link_up_)
    ESP_LOGI(TAG, "Broker link %s", up ? "up" : "down");
  this->link_up_ = up;
  for (auto &slot : this->actuators_) {
    if (slot.enabled && slot.safety.link(up, now_ms)) {
      this->write_output_(slot);
      this->publish_status_(slot, a1::Refusal::kNone, 0, "");
    }
  }
}

const a1::ActuatorSafety *AutomationOneComponent::actuator(int gpio) const {
  for (const auto &slot : this->actuators_) {
    if (slot.gpio == gpio && slot.enabled)
      return &slot.safety;
  }
  return nullptr;
}

std::string AutomationOneComponent::topic_(a1::TopicKind kind, int gpio) const {
  char buf[a1::kTopicCap];
  if (!a1::build_topic(buf, sizeof(buf), this->kaiser_id_.c_str(), this->esp_id_.c_str(), kind, gpio))
    return "";
  return buf;
}

void AutomationOneComponent::publish_(const std::string &topic, const char *payload, size_t len, uint8_t qos,
                                      bool retain) {
  if (len == 0 || topic.empty()) {
    ESP_LOGW(TAG, "Not published (did not fit): %s", topic.c_str());
    return;
  }
  std::string text(payload, len);
  if (this->publish_hook_)
    this->publish_hook_(topic, text, qos, retain);
#ifdef USE_MQTT
  if (mqtt::global_mqtt_client != nullptr && mqtt::global_mqtt_client->is_connected())
    mqtt::global_mqtt_client->publish(topic, text, qos, retain);
#endif
}

void AutomationOneComponent::publish_hello(uint64_t now_ms) {
  this->now_ms_ = now_ms;
  std::string mac = get_mac_address_pretty();
  a1::AnnounceInfo info{this->esp_id_.c_str(),
                        this->kaiser_id_.c_str(),
                        this->name_.c_str(),
                        this->board_.c_str(),
                        "esphome",
                        this->fw_version_.c_str(),
                        mac.c_str(),
                        static_cast<int>(this->sensors_.size()),
                        static_cast<int>(this->actuators_.size()),
                        false,
                        0,
                        false,
                        nullptr,
                        this->login_error_,
                        false,
                        this->move_error_};
  size_t n = a1::build_announce(this->out_, sizeof(this->out_), info);
  this->publish_(this->topic_(a1::TopicKind::kAnnounce), this->out_, n, 1, true);
  this->publish_(this->topic_(a1::TopicKind::kStatus), "online", 6, 1, true);
  for (auto &slot : this->actuators_) {
    if (slot.enabled)
      this->publish_status_(slot, a1::Refusal::kNone, 0, "");
  }
  this->publish_heartbeat(now_ms);
}

void AutomationOneComponent::publish_heartbeat(uint64_t now_ms) {
  this->last_heartbeat_ms_ = now_ms;
  a1::HeartbeatInfo info{static_cast<uint32_t>(now_ms / 1000), 0, 0, 0, this->config_version_, 0, 0};
#ifdef USE_ESP32
  info.heap_free = esp_get_free_heap_size();
  info.heap_min = heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT);
#endif
#ifdef USE_WIFI
  if (wifi::global_wifi_component != nullptr)
    info.rssi = wifi::global_wifi_component->wifi_rssi();  // the builder clamps it to -127..0
#endif
  size_t n = a1::build_heartbeat(this->out_, sizeof(this->out_), info);
  this->publish_(this->topic_(a1::TopicKind::kHeartbeat), this->out_, n, 0, false);
}

void AutomationOneComponent::publish_status_(ActuatorSlot &slot, a1::Refusal refused, double until_s,
                                             const char *cmd_id) {
  const a1::ActuatorSafety &s = slot.safety;
  a1::ActuatorStatusInfo info{s.on(),  s.value(), s.reason(), refused, until_s, cmd_id, s.runtime_s(this->now_ms_),
                              s.activations(), 0};
  size_t n = a1::build_actuator_status(this->out_, sizeof(this->out_), info);
  this->publish_(this->topic_(a1::TopicKind::kActuatorStatus, slot.gpio), this->out_, n, 1, true);
}

void AutomationOneComponent::publish_reading_(SensorSlot &slot, float state) {
  if (!slot.enabled || !this->link_up_ || !std::isfinite(state))
    return;  // no offline buffer in ESPHome: readings while the link is down are dropped
  a1::Reading reading;
  reading.gpio = static_cast<uint8_t>(slot.gpio);
  if (slot.processed_mode) {
    if (std::fabs(state) > 1e9f)
      return;
    reading.has_value = true;
    reading.value = state;
    const std::string &unit = slot.sensor->get_unit_of_measurement_ref();
    if (unit.size() < sizeof(reading.unit))
      memcpy(reading.unit, unit.c_str(), unit.size() + 1);  // a longer unit is left out
  } else {
    if (state < -2147483648.0f || state > 4294967295.0f)
      return;
    reading.raw = state;
  }
  size_t n = a1::build_sensor_data(this->out_, sizeof(this->out_), this->seq_++, 0, false, reading);
  this->publish_(this->topic_(a1::TopicKind::kSensorData, slot.gpio), this->out_, n, 0, false);
}

void AutomationOneComponent::write_output_(const ActuatorSlot &slot) {
  const a1::ActuatorConfig &c = slot.safety.config();
  if (slot.level != nullptr && c.type == a1::ActuatorType::kPwm) {
    float level = slot.safety.value() / 255.0f;
    slot.level->set_level(c.inverted ? 1.0f - level : level);
  } else if (slot.safety.on() != c.inverted) {
    slot.binary->turn_on();
  } else {
    slot.binary->turn_off();
  }
}

ActuatorSlot *AutomationOneComponent::actuator_slot_(int gpio) {
  for (auto &slot : this->actuators_) {
    if (slot.gpio == gpio)
      return &slot;
  }
  return nullptr;
}

SensorSlot *AutomationOneComponent::sensor_slot_(int gpio) {
  for (auto &slot : this->sensors_) {
    if (slot.gpio == gpio)
      return &slot;
  }
  return nullptr;
}

void AutomationOneComponent::reject_(const std::string &topic, const a1::Error &error) {
  this->rejected_++;
  ESP_LOGW(TAG, "Rejected %s: %s at '%s'", topic.c_str(), a1::error_name(error.code), error.path);
}

void AutomationOneComponent::handle_message(const std::string &topic, const std::string &payload, uint64_t now_ms) {
  this->now_ms_ = now_ms;
  a1::Topic parsed;
  a1::ErrorCode code = a1::parse_topic(topic.data(), topic.size(), parsed);
  if (code != a1::ErrorCode::kOk) {
    a1::Error error;
    error.set(code, "topic");
    this->reject_(topic, error);
    return;
  }
  if (this->kaiser_id_ != parsed.kaiser_id ||
      (parsed.kind != a1::TopicKind::kEmergency && this->esp_id_ != parsed.esp_id))
    return;  // not ours
  bool emergency = parsed.kind == a1::TopicKind::kEmergency || parsed.kind == a1::TopicKind::kDeviceEmergency;
  if (payload.empty() && (parsed.kind == a1::TopicKind::kConfig || emergency))
    return;  // a retained message was cleared
  this->tick(now_ms);  // due timers fire before the event at the same instant
  const char *data = payload.data();
  size_t len = payload.size();
  a1::Error error;
  switch (parsed.kind) {
    case a1::TopicKind::kConfig: {
      error = a1::parse_config(data, len, this->doc_, this->config_scratch_);
      if (error.ok())
        this->apply_config_(this->config_scratch_, now_ms, true);
      break;
    }
    case a1::TopicKind::kActuatorCommand: {
      a1::ActuatorCommand cmd;
      ActuatorSlot *slot = this->actuator_slot_(parsed.gpio);
      if (slot != nullptr && !slot->enabled)
        slot = nullptr;
      error = a1::parse_actuator_command(data, len, this->doc_, cmd);
      if (!error.ok()) {
        if (slot != nullptr)
          this->publish_status_(*slot, a1::Refusal::kInvalid, 0, "");
        break;
      }
      if (slot == nullptr) {
        a1::ActuatorStatusInfo info{false, 0, a1::Reason::kConfig, a1::Refusal::kUnknownGpio, 0, cmd.cmd_id, 0, 0, 0};
        size_t n = a1::build_actuator_status(this->out_, sizeof(this->out_), info);
        // Not retained: no status topic should stay behind for a pin this device does not drive.
        this->publish_(this->topic_(a1::TopicKind::kActuatorStatus, parsed.gpio), this->out_, n, 1, false);
        ESP_LOGW(TAG, "Command for GPIO%d: not an actuator of this device", parsed.gpio);
        return;
      }
      a1::CommandResult result = slot->safety.command(cmd, now_ms);
      this->write_output_(*slot);
      this->publish_status_(*slot, result.refused, result.until_s, cmd.cmd_id);
      if (result.refused != a1::Refusal::kNone)
        ESP_LOGW(TAG, "GPIO%d: command refused (%s)", parsed.gpio, a1::refusal_name(result.refused));
      return;
    }
    case a1::TopicKind::kSystemCommand: {
      a1::SystemCommand cmd;
      error = a1::parse_system_command(data, len, this->doc_, cmd);
      if (error.ok())
        this->on_system_command_(cmd);
      break;
    }
    case a1::TopicKind::kEmergency:
    case a1::TopicKind::kDeviceEmergency: {
      a1::Emergency em;
      error = a1::parse_emergency(data, len, this->doc_, em);
      if (!error.ok())
        break;
      bool own = parsed.kind == a1::TopicKind::kDeviceEmergency;
      ESP_LOGW(TAG, "Emergency %s (%s): %s", em.stop ? "STOP" : "clear", own ? "device" : "kaiser", em.reason);
      // In emergency while either topic says stop; each is cleared only on its own topic.
      (own ? this->device_stop_ : this->broadcast_stop_) = em.stop;
      this->emergency_ = this->device_stop_ || this->broadcast_stop_;
      for (auto &slot : this->actuators_) {
        if (slot.enabled && slot.safety.emergency(this->emergency_, now_ms)) {
          this->write_output_(slot);
          this->publish_status_(slot, a1::Refusal::kNone, 0, "");
        }
      }
      return;
    }
    case a1::TopicKind::kProcessed: {
      a1::Processed processed;
      error = a1::parse_processed(data, len, this->doc_, processed);
      if (!error.ok())
        break;
      SensorSlot *slot = this->sensor_slot_(parsed.gpio);
      if (slot != nullptr && slot->processed != nullptr)
        slot->processed->publish_state(static_cast<float>(processed.value));
      return;
    }
    default:
      return;  // what a device sends; not for us
  }
  if (!error.ok())
    this->reject_(topic, error);
}

void AutomationOneComponent::apply_config_(const a1::DeviceConfig &config, uint64_t now_ms, bool publish_ack) {
  a1::PinResult results[a1::kMaxSensors + a1::kMaxActuators];
  int nres = 0;
  if (config.heartbeat_s > 0)
    this->heartbeat_ms_ = config.heartbeat_s * 1000;

  std::vector<int> seen;
  auto taken = [&seen](int gpio) {
    for (int g : seen) {
      if (g == gpio)
        return true;
    }
    seen.push_back(gpio);
    return false;
  };

  for (auto &slot : this->sensors_)
    slot.enabled = false;
  for (int i = 0; i < config.n_sensors; i++) {
    const a1::SensorConfig &sc = config.sensors[i];
    const char *error = nullptr;
    SensorSlot *slot = this->sensor_slot_(sc.gpio);
    if (taken(sc.gpio)) {
      error = "gpio_in_use";
    } else if (slot == nullptr) {
      error = "bad_config";  // not compiled into this firmware: needs a new ESPHome build
    } else if (std::string(read_method(sc.type)) != read_method(slot->type)) {
      error = "type_unsupported";
    } else {
      slot->enabled = true;
      slot->processed_mode = sc.processed;
      if (slot->poller != nullptr && slot->poller->get_update_interval() != sc.interval_ms) {
        // Restart the poller so the new interval counts now (a poller that has not started yet
        // starts with it anyway).
        slot->poller->set_update_interval(sc.interval_ms);
        slot->poller->stop_poller();
        slot->poller->start_poller();
      }
    }
    results[nres++] = a1::PinResult{true, sc.gpio, error == nullptr, error, sc.addr};
  }

  std::vector<bool> listed(this->actuators_.size(), false);
  for (int i = 0; i < config.n_actuators; i++) {
    const a1::ActuatorConfig &ac = config.actuators[i];
    const char *error = nullptr;
    ActuatorSlot *slot = this->actuator_slot_(ac.gpio);
    if (taken(ac.gpio)) {
      error = "gpio_in_use";
    } else if (slot == nullptr) {
      error = "bad_config";
    } else if (ac.type == a1::ActuatorType::kPwm && slot->level == nullptr) {
      error = "type_unsupported";  // a pwm actuator needs a float output in the YAML
    } else {
      listed[slot - this->actuators_.data()] = true;
      // docs/protocol.md "Limit changes": the same pin and type keep their state; another type
      // (or an actuator that was not enabled) starts again from its safe state, reason config.
      if (slot->enabled && slot->safety.config().type == ac.type) {
        slot->safety.reconfigure(ac, now_ms);
      } else {
        slot->safety.to_safe(a1::Reason::kConfig, now_ms);
        slot->safety.configure(ac, this->activations_, now_ms, a1::Reason::kConfig);
        if (this->emergency_)
          slot->safety.emergency(true, now_ms);
        if (!this->link_up_)
          slot->safety.link(false, now_ms);
      }
      slot->enabled = true;
      this->write_output_(*slot);
    }
    results[nres++] = a1::PinResult{false, ac.gpio, error == nullptr, error, nullptr};
  }
  // Actuators no longer listed go to their safe state, reason `config`, and take no commands.
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    ActuatorSlot &slot = this->actuators_[i];
    if (listed[i] || !slot.enabled)
      continue;
    slot.safety.to_safe(a1::Reason::kConfig, now_ms);
    this->write_output_(slot);
    this->publish_status_(slot, a1::Refusal::kNone, 0, "");
    slot.enabled = false;
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    if (listed[i])
      this->publish_status_(this->actuators_[i], a1::Refusal::kNone, 0, "");
  }

  // The retained config comes again on every reconnect: write flash only when it changed.
  bool changed = config.version != this->config_version_;
  this->config_version_ = config.version;
  if (publish_ack) {
    if (changed)
      this->save_config_(config);
    size_t n = a1::build_config_ack(this->out_, sizeof(this->out_), config.version, results, nres);
    this->publish_(this->topic_(a1::TopicKind::kConfigAck), this->out_, n, 1, true);
  }
  ESP_LOGI(TAG, "Config version %u applied", static_cast<unsigned>(config.version));
}

void AutomationOneComponent::save_config_(const a1::DeviceConfig &config) {
  if (!this->restore_config_)
    return;
  StoredHeader header{config.version, static_cast<uint16_t>(this->heartbeat_ms_ / 1000)};
  this->pref_header_.save(&header);
  for (size_t i = 0; i < this->sensors_.size(); i++) {
    StoredSensor stored{};
    for (int k = 0; k < config.n_sensors; k++) {
      const a1::SensorConfig &sc = config.sensors[k];
      if (sc.gpio == this->sensors_[i].gpio && this->sensors_[i].enabled) {
        stored.listed = 1;
        stored.processed = sc.processed;
        stored.interval_ms = sc.interval_ms;
      }
    }
    this->pref_sensors_[i].save(&stored);
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    StoredActuator stored{};
    for (int k = 0; k < config.n_actuators; k++) {
      const a1::ActuatorConfig &ac = config.actuators[k];
      if (ac.gpio == this->actuators_[i].gpio && this->actuators_[i].enabled) {
        stored.listed = 1;
        stored.pwm = ac.type == a1::ActuatorType::kPwm;
        copy_limits(ac, stored);
      }
    }
    this->pref_actuators_[i].save(&stored);
  }
  global_preferences->sync();
}

void AutomationOneComponent::restore_config_from_flash_(uint64_t now_ms) {
  StoredHeader header{};
  if (!this->pref_header_.load(&header) || header.version == 0)
    return;
  a1::DeviceConfig &config = this->config_scratch_;
  config = a1::DeviceConfig();
  config.version = header.version;
  config.heartbeat_s = header.heartbeat_s;
  for (size_t i = 0; i < this->sensors_.size(); i++) {
    StoredSensor stored{};
    if (!this->pref_sensors_[i].load(&stored) || !stored.listed)
      continue;
    a1::SensorConfig &sc = config.sensors[config.n_sensors++];
    sc.gpio = static_cast<uint8_t>(this->sensors_[i].gpio);
    snprintf(sc.type, sizeof(sc.type), "%s", this->sensors_[i].type.c_str());
    sc.processed = stored.processed != 0;
    sc.interval_ms = stored.interval_ms;
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    StoredActuator stored{};
    if (!this->pref_actuators_[i].load(&stored) || !stored.listed)
      continue;
    a1::ActuatorConfig &ac = config.actuators[config.n_actuators++];
    ac = this->actuators_[i].boot;
    if (stored.pwm)
      ac.type = a1::ActuatorType::kPwm;
    copy_limits(stored, ac);
  }
  ESP_LOGI(TAG, "Restoring config version %u from flash", static_cast<unsigned>(header.version));
  // Every restored actuator starts from its (restored) safe state, reason boot.
  for (int k = 0; k < config.n_actuators; k++) {
    ActuatorSlot *slot = this->actuator_slot_(config.actuators[k].gpio);
    if (slot != nullptr && (config.actuators[k].type != a1::ActuatorType::kPwm || slot->level != nullptr))
      slot->safety.configure(config.actuators[k], this->activations_, now_ms, a1::Reason::kBoot);
  }
  this->apply_config_(config, now_ms, false);
}

void AutomationOneComponent::on_system_command_(const a1::SystemCommand &cmd) {
  switch (cmd.cmd) {
    case a1::SysCmd::kRestart:
      ESP_LOGW(TAG, "Restart requested");
      this->set_timeout("restart", 200, []() { App.safe_reboot(); });
      break;
    case a1::SysCmd::kFactoryReset:
      ESP_LOGW(TAG, "Factory reset requested: clearing stored preferences");
      global_preferences->reset();
      this->set_timeout("restart", 200, []() { App.safe_reboot(); });
      break;
    case a1::SysCmd::kOta:
      // ESPHome updates through its own OTA (`ota:` / dashboard / http_request); a pushed URL
      // is not applied by this component.
      ESP_LOGW(TAG, "OTA by URL is not supported with ESPHome; use ESPHome's OTA (%s)", cmd.url);
      break;
    case a1::SysCmd::kIdentify:
      ESP_LOGI(TAG, "Identify");
      this->identify_trigger_.trigger();
      break;
    case a1::SysCmd::kLogin:
      // ESPHome's MQTT login comes from the YAML (docs/security.md, ESPHome devices): the
      // delivered one is not applied; the announce says so. The password is never logged.
      ESP_LOGW(TAG, "A broker login was delivered; set it in secrets.yaml (user %s)", cmd.username);
      this->login_error_ = "unsupported";
      this->publish_hello(this->now_ms_);
      break;
    case a1::SysCmd::kMove:
      // ESPHome's broker comes from the YAML (`mqtt: broker`): a move is not made here.
      ESP_LOGW(TAG, "A move to kaiser %s was requested; change `mqtt: broker` in the YAML", cmd.kaiser_id);
      this->move_error_ = "unsupported";
      this->publish_hello(this->now_ms_);
      break;
  }
}

void AutomationOneComponent::dump_config() {
  ESP_LOGCONFIG(TAG,
                "AutomationOne (protocol v%d):\n"
                "  esp_id: %s\n"
                "  kaiser_id: %s\n"
                "  board: %s\n"
                "  heartbeat: %u s",
                PROTOCOL_VERSION, this->esp_id_.c_str(), this->kaiser_id_.c_str(), this->board_.c_str(),
                static_cast<unsigned>(this->heartbeat_ms_ / 1000));
  for (const auto &slot : this->sensors_) {
    ESP_LOGCONFIG(TAG, "  Sensor GPIO%d: %s (%s)%s", slot.gpio, slot.type.c_str(),
                  slot.processed_mode ? "processed" : "raw", slot.processed != nullptr ? ", receives processed" : "");
  }
  for (const auto &slot : this->actuators_) {
    const a1::ActuatorConfig &l = slot.safety.config();
    ESP_LOGCONFIG(TAG,
                  "  Actuator GPIO%d: %s, safe_state %u, max_runtime %us, cooldown %us, max %u/h, failsafe %us",
                  slot.gpio, a1::actuator_type_name(l.type), l.safe_state, static_cast<unsigned>(l.max_runtime_s),
                  static_cast<unsigned>(l.cooldown_s), static_cast<unsigned>(l.max_per_hour),
                  static_cast<unsigned>(l.failsafe_s));
  }
  if (this->is_failed())
    ESP_LOGE(TAG, "  Invalid ids: the component is disabled");
}

}  // namespace automationone
}  // namespace esphome
