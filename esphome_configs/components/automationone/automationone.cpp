#include "automationone.h"

#include <cmath>

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

void AutomationOneComponent::add_binary_actuator(int gpio, const std::string &type, output::BinaryOutput *out,
                                                 const ActuatorLimits &limits) {
  this->actuators_.push_back(ActuatorSlot{gpio, type, out, nullptr, true});
  this->bank_.add(gpio, limits);
}

void AutomationOneComponent::add_float_actuator(int gpio, const std::string &type, output::FloatOutput *out,
                                                const ActuatorLimits &limits) {
  this->actuators_.push_back(ActuatorSlot{gpio, type, out, out, true});
  this->bank_.add(gpio, limits);
}

void AutomationOneComponent::setup() {
  if (this->esp_id_.empty()) {
    // As our firmware does: `esp-` + the last 3 bytes of the MAC in lower-case hex.
    std::string mac = get_mac_address();
    this->esp_id_ = "esp-" + mac.substr(mac.size() - 6);
  }
  if (!valid_id(this->esp_id_) || !valid_id(this->kaiser_id_)) {
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
  this->bank_.set_listener([this](const Actuator &actuator, const CommandOutcome *outcome) {
    this->write_output_(actuator);
    this->publish_status_(actuator, outcome);
  });
  this->bank_.boot(now);
  if (this->restore_config_)
    this->restore_config_from_flash_(now);

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
    mqtt::global_mqtt_client->set_last_will(mqtt::MQTTMessage{this->topic_(TopicKind::STATUS), "offline", 1, true});
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
  mqtt::global_mqtt_client->subscribe(emergency_topic(this->kaiser_id_), handler, 1);
  mqtt::global_mqtt_client->subscribe(base + "emergency", handler, 1);  // this device only
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
  this->bank_.tick(now_ms);
}

void AutomationOneComponent::set_link(bool up, uint64_t now_ms) {
  this->now_ms_ = now_ms;
  if (up != this->link_up_)
    ESP_LOGI(TAG, "Broker link %s", up ? "up" : "down");
  this->link_up_ = up;
  this->bank_.link(up, now_ms);
}

std::string AutomationOneComponent::topic_(TopicKind kind, int gpio) const {
  return device_topic(this->kaiser_id_, this->esp_id_, kind, gpio);
}

void AutomationOneComponent::publish_(const std::string &topic, const std::string &payload, uint8_t qos, bool retain) {
  if (this->publish_hook_)
    this->publish_hook_(topic, payload, qos, retain);
#ifdef USE_MQTT
  if (mqtt::global_mqtt_client != nullptr && mqtt::global_mqtt_client->is_connected())
    mqtt::global_mqtt_client->publish(topic, payload, qos, retain);
#endif
}

void AutomationOneComponent::publish_hello(uint64_t now_ms) {
  this->now_ms_ = now_ms;
  AnnounceInfo info;
  info.esp_id = this->esp_id_;
  info.kaiser_id = this->kaiser_id_;
  info.name = this->name_;
  info.board = this->board_;
  info.fw = "esphome";
  info.fw_version = this->fw_version_;
  info.mac = get_mac_address_pretty();
  info.sensors = static_cast<int>(this->sensors_.size());
  info.actuators = static_cast<int>(this->actuators_.size());
  info.batch = 0;
  info.buffer = 0;
  info.on_device = 0;
  this->publish_(this->topic_(TopicKind::ANNOUNCE), build_announce(info), 1, true);
  this->publish_(this->topic_(TopicKind::STATUS), "online", 1, true);
  for (const auto &slot : this->actuators_) {
    if (!slot.enabled)
      continue;
    if (const Actuator *a = this->bank_.find(slot.gpio))
      this->publish_status_(*a, nullptr);
  }
  this->publish_heartbeat(now_ms);
}

void AutomationOneComponent::publish_heartbeat(uint64_t now_ms) {
  this->last_heartbeat_ms_ = now_ms;
  HeartbeatInfo info;
  info.uptime_s = static_cast<uint32_t>(now_ms / 1000);
#ifdef USE_ESP32
  info.heap_free = esp_get_free_heap_size();
  info.heap_min = heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT);
#endif
#ifdef USE_WIFI
  if (wifi::global_wifi_component != nullptr) {
    int rssi = wifi::global_wifi_component->wifi_rssi();
    info.rssi = rssi > 0 ? 0 : (rssi < -127 ? -127 : rssi);
  }
#endif
  if (this->config_version_ > 0)
    info.config_version = this->config_version_;
  info.buffered = 0;
  this->publish_(this->topic_(TopicKind::HEARTBEAT), build_heartbeat(info), 0, false);
}

void AutomationOneComponent::publish_status_(const Actuator &actuator, const CommandOutcome *outcome) {
  ActuatorStatusInfo info;
  info.state = actuator.state();
  info.value = actuator.value();
  info.reason = reason_str(actuator.reason());
  if (outcome != nullptr) {
    info.refused = refusal_str(outcome->refused);
    if (outcome->refused != Refusal::NONE)
      info.until_s = outcome->until_s;
    info.cmd_id = outcome->cmd_id;
  }
  info.runtime_s = actuator.runtime_s(this->now_ms_);
  info.activations = actuator.activations();
  this->publish_(this->topic_(TopicKind::ACTUATOR_STATUS, actuator.gpio()), build_actuator_status(info), 1, true);
}

void AutomationOneComponent::publish_reading_(SensorSlot &slot, float state) {
  if (!slot.enabled || !this->link_up_ || !std::isfinite(state))
    return;  // no offline buffer in ESPHome: readings while the link is down are dropped
  Reading reading;
  reading.seq = this->seq_++;
  if (slot.processed_mode) {
    if (std::fabs(state) > 1e9f)
      return;
    reading.processed = true;
    reading.value = state;
    reading.unit = slot.sensor->get_unit_of_measurement_ref().str();
    if (utf8_length(reading.unit) > 16)
      reading.unit.clear();
  } else {
    if (state < -2147483648.0f || state > 4294967295.0f)
      return;
    reading.raw = state;
  }
  this->publish_(this->topic_(TopicKind::SENSOR_DATA, slot.gpio), build_sensor_data(reading), 0, false);
}

void AutomationOneComponent::write_output_(const Actuator &actuator) {
  ActuatorSlot *slot = this->actuator_slot_(actuator.gpio());
  if (slot == nullptr)
    return;
  if (slot->level != nullptr && actuator.limits().pwm) {
    slot->level->set_level(actuator.level());
  } else if ((actuator.value() > 0) != actuator.limits().inverted) {
    slot->binary->turn_on();
  } else {
    slot->binary->turn_off();
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

void AutomationOneComponent::handle_message(const std::string &topic, const std::string &payload, uint64_t now_ms) {
  this->now_ms_ = now_ms;
  Topic parsed;
  ProtoError error;
  if (!parse_topic(topic, parsed, error)) {
    this->rejected_++;
    ESP_LOGW(TAG, "Rejected topic '%s': %s", topic.c_str(), error_code_str(error.code));
    return;
  }
  if (parsed.kaiser_id != this->kaiser_id_ || (parsed.kind != TopicKind::EMERGENCY && parsed.esp_id != this->esp_id_))
    return;  // not ours
  bool emergency = parsed.kind == TopicKind::EMERGENCY || parsed.kind == TopicKind::DEVICE_EMERGENCY;
  if (payload.empty() && (parsed.kind == TopicKind::CONFIG || emergency))
    return;  // a retained message was cleared
  switch (parsed.kind) {
    case TopicKind::CONFIG: {
      DeviceConfig config;
      if (!parse_config(payload, config, error))
        break;
      this->apply_config_(config, now_ms, true);
      return;
    }
    case TopicKind::ACTUATOR_COMMAND: {
      ActuatorCommand cmd;
      ActuatorSlot *slot = this->actuator_slot_(parsed.gpio);
      if (!parse_actuator_command(payload, cmd, error)) {
        if (slot != nullptr && slot->enabled) {
          if (const Actuator *a = this->bank_.find(parsed.gpio)) {
            CommandOutcome outcome;
            outcome.accepted = false;
            outcome.refused = Refusal::INVALID;
            this->publish_status_(*a, &outcome);
          }
        }
        break;
      }
      if (slot == nullptr || !slot->enabled) {
        this->bank_.tick(now_ms);
        ActuatorStatusInfo info;
        info.reason = "config";
        info.refused = "unknown_gpio";
        info.cmd_id = cmd.cmd_id;
        // Not retained: no status topic should stay behind for a pin this device does not drive.
        this->publish_(this->topic_(TopicKind::ACTUATOR_STATUS, parsed.gpio), build_actuator_status(info), 1, false);
        ESP_LOGW(TAG, "Command for GPIO%d: not an actuator of this device", parsed.gpio);
        return;
      }
      CommandOutcome outcome = this->bank_.command(parsed.gpio, cmd, now_ms);
      if (!outcome.accepted)
        ESP_LOGW(TAG, "GPIO%d: command refused (%s)", parsed.gpio, refusal_str(outcome.refused));
      return;
    }
    case TopicKind::SYSTEM_COMMAND: {
      SystemCommand cmd;
      if (!parse_system_command(payload, cmd, error))
        break;
      this->on_system_command_(cmd);
      return;
    }
    case TopicKind::EMERGENCY:
    case TopicKind::DEVICE_EMERGENCY: {
      Emergency em;
      if (!parse_emergency(payload, em, error))
        break;
      bool own = parsed.kind == TopicKind::DEVICE_EMERGENCY;
      ESP_LOGW(TAG, "Emergency %s (%s): %s", em.stop ? "STOP" : "clear", own ? "device" : "kaiser", em.reason.c_str());
      // In emergency while either topic says stop; each is cleared only on its own topic.
      (own ? this->device_stop_ : this->broadcast_stop_) = em.stop;
      this->bank_.emergency(this->device_stop_ || this->broadcast_stop_, now_ms);
      return;
    }
    case TopicKind::PROCESSED: {
      Processed processed;
      if (!parse_processed(payload, processed, error))
        break;
      SensorSlot *slot = this->sensor_slot_(parsed.gpio);
      if (slot != nullptr && slot->processed != nullptr)
        slot->processed->publish_state(static_cast<float>(processed.value));
      return;
    }
    default:
      return;  // what a device sends; not for us
  }
  this->rejected_++;
  ESP_LOGW(TAG, "Rejected %s: %s at '%s'", topic.c_str(), error_code_str(error.code), error.path.c_str());
}

void AutomationOneComponent::apply_config_(const DeviceConfig &config, uint64_t now_ms, bool publish_ack) {
  this->bank_.tick(now_ms);
  std::vector<PinResult> results;
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
  for (const auto &sc : config.sensors) {
    PinResult r;
    r.sensor = true;
    r.gpio = sc.gpio;
    r.addr = sc.addr;
    SensorSlot *slot = this->sensor_slot_(sc.gpio);
    if (taken(sc.gpio)) {
      r.ok = false;
      r.error = "gpio_in_use";
    } else if (slot == nullptr) {
      r.ok = false;
      r.error = "bad_config";  // not compiled into this firmware: needs a new ESPHome build
    } else if (std::string(read_method(sc.type)) != read_method(slot->type)) {
      r.ok = false;
      r.error = "type_unsupported";
    } else {
      slot->enabled = true;
      slot->processed_mode = sc.mode == "processed";
      if (slot->poller != nullptr && slot->poller->get_update_interval() != sc.interval_ms) {
        // Restart the poller so the new interval counts now (a poller that has not started yet
        // starts with it anyway).
        slot->poller->set_update_interval(sc.interval_ms);
        slot->poller->stop_poller();
        slot->poller->start_poller();
      }
    }
    results.push_back(r);
  }

  std::vector<bool> listed(this->actuators_.size(), false);
  for (const auto &ac : config.actuators) {
    PinResult r;
    r.sensor = false;
    r.gpio = ac.gpio;
    ActuatorSlot *slot = this->actuator_slot_(ac.gpio);
    if (taken(ac.gpio)) {
      r.ok = false;
      r.error = "gpio_in_use";
    } else if (slot == nullptr) {
      r.ok = false;
      r.error = "bad_config";
    } else if (ac.type == "pwm" && slot->level == nullptr) {
      r.ok = false;
      r.error = "type_unsupported";  // a pwm actuator needs a float output in the YAML
    } else {
      listed[slot - this->actuators_.data()] = true;
      slot->enabled = true;
      ActuatorLimits limits;
      limits.pwm = ac.type == "pwm";
      limits.inverted = ac.inverted;
      limits.safe_state = ac.safe_state;
      limits.max_runtime_s = ac.max_runtime_s;
      limits.cooldown_s = ac.cooldown_s;
      limits.max_per_hour = ac.max_per_hour;
      limits.failsafe_s = ac.failsafe_s;
      Actuator *a = this->bank_.find(ac.gpio);
      a->set_limits(limits);
      this->write_output_(*a);
    }
    results.push_back(r);
  }
  // Actuators no longer listed go to their safe state, reason `config`, and take no commands.
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    ActuatorSlot &slot = this->actuators_[i];
    if (listed[i])
      continue;
    slot.enabled = false;
    Actuator *a = this->bank_.find(slot.gpio);
    a->to_safe(Reason::CONFIG, now_ms);
    this->write_output_(*a);
    this->publish_status_(*a, nullptr);
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    if (listed[i])
      this->publish_status_(*this->bank_.find(this->actuators_[i].gpio), nullptr);
  }

  // The retained config comes again on every reconnect: write flash only when it changed.
  bool changed = config.version != this->config_version_;
  this->config_version_ = config.version;
  if (publish_ack) {
    if (changed)
      this->save_config_(config);
    this->publish_(this->topic_(TopicKind::CONFIG_ACK), build_config_ack(config.version, results), 1, true);
  }
  ESP_LOGI(TAG, "Config version %u applied", static_cast<unsigned>(config.version));
}

void AutomationOneComponent::save_config_(const DeviceConfig &config) {
  if (!this->restore_config_)
    return;
  StoredHeader header{config.version, static_cast<uint16_t>(this->heartbeat_ms_ / 1000)};
  this->pref_header_.save(&header);
  for (size_t i = 0; i < this->sensors_.size(); i++) {
    StoredSensor stored{};
    for (const auto &sc : config.sensors) {
      if (sc.gpio == this->sensors_[i].gpio && this->sensors_[i].enabled) {
        stored.listed = 1;
        stored.processed = sc.mode == "processed";
        stored.interval_ms = sc.interval_ms;
      }
    }
    this->pref_sensors_[i].save(&stored);
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    StoredActuator stored{};
    for (const auto &ac : config.actuators) {
      if (ac.gpio == this->actuators_[i].gpio && this->actuators_[i].enabled) {
        stored.listed = 1;
        stored.pwm = ac.type == "pwm";
        stored.inverted = ac.inverted;
        stored.safe_state = ac.safe_state;
        stored.max_runtime_s = ac.max_runtime_s;
        stored.cooldown_s = ac.cooldown_s;
        stored.max_per_hour = ac.max_per_hour;
        stored.failsafe_s = ac.failsafe_s;
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
  DeviceConfig config;
  config.version = header.version;
  config.heartbeat_s = header.heartbeat_s;
  for (size_t i = 0; i < this->sensors_.size(); i++) {
    StoredSensor stored{};
    if (!this->pref_sensors_[i].load(&stored) || !stored.listed)
      continue;
    SensorConfig sc;
    sc.gpio = this->sensors_[i].gpio;
    sc.type = this->sensors_[i].type;
    sc.mode = stored.processed ? "processed" : "raw";
    sc.interval_ms = stored.interval_ms;
    config.sensors.push_back(sc);
  }
  for (size_t i = 0; i < this->actuators_.size(); i++) {
    StoredActuator stored{};
    if (!this->pref_actuators_[i].load(&stored) || !stored.listed)
      continue;
    ActuatorConfig ac;
    ac.gpio = this->actuators_[i].gpio;
    ac.type = stored.pwm ? "pwm" : this->actuators_[i].type;
    ac.inverted = stored.inverted != 0;
    ac.safe_state = stored.safe_state;
    ac.max_runtime_s = stored.max_runtime_s;
    ac.cooldown_s = stored.cooldown_s;
    ac.max_per_hour = stored.max_per_hour;
    ac.failsafe_s = stored.failsafe_s;
    config.actuators.push_back(ac);
  }
  ESP_LOGI(TAG, "Restoring config version %u from flash", static_cast<unsigned>(header.version));
  this->apply_config_(config, now_ms, false);
  // The restored limits may move the safe state: every actuator starts from it again.
  this->bank_.boot(now_ms);
}

void AutomationOneComponent::on_system_command_(const SystemCommand &cmd) {
  switch (cmd.cmd) {
    case SystemCmd::RESTART:
      ESP_LOGW(TAG, "Restart requested");
      this->set_timeout("restart", 200, []() { App.safe_reboot(); });
      break;
    case SystemCmd::FACTORY_RESET:
      ESP_LOGW(TAG, "Factory reset requested: clearing stored preferences");
      global_preferences->reset();
      this->set_timeout("restart", 200, []() { App.safe_reboot(); });
      break;
    case SystemCmd::OTA:
      // ESPHome updates through its own OTA (`ota:` / dashboard / http_request); a pushed URL
      // is not applied by this component.
      ESP_LOGW(TAG, "OTA by URL is not supported with ESPHome; use ESPHome's OTA (%s)", cmd.url.c_str());
      break;
    case SystemCmd::IDENTIFY:
      ESP_LOGI(TAG, "Identify");
      this->identify_trigger_.trigger();
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
    const Actuator *a = this->bank_.find(slot.gpio);
    const ActuatorLimits &l = a->limits();
    ESP_LOGCONFIG(TAG,
                  "  Actuator GPIO%d: %s, safe_state %u, max_runtime %us, cooldown %us, max %u/h, failsafe %us",
                  slot.gpio, slot.type.c_str(), l.safe_state, static_cast<unsigned>(l.max_runtime_s),
                  static_cast<unsigned>(l.cooldown_s), static_cast<unsigned>(l.max_per_hour),
                  static_cast<unsigned>(l.failsafe_s));
  }
  if (this->is_failed())
    ESP_LOGE(TAG, "  Invalid ids: the component is disabled");
}

}  // namespace automationone
}  // namespace esphome
