#include "a1/device.h"

#include <string.h>

namespace a1 {

namespace {
void copy_bounded(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (; src[n] != '\0' && n + 1 < cap; n++) dst[n] = src[n];
  dst[n] = '\0';
}

const char kHex[] = "0123456789abcdef";
const char kHexUpper[] = "0123456789ABCDEF";

// Pin validation, the same rules and order as the integration's GPIO safe-mode
// (custom_components/automationone/gpio/check.py, check_pin/check_config): existence,
// reservation, capability (input-only, ADC, ADC2 with WiFi, strapping pins that would stop the
// boot), SDA = SCL, conflicts with pins already claimed (shared OneWire/I2C buses with distinct
// addresses), then PWM channels. The first claim of a pin wins (sensors first, as listed).
enum class Use : uint8_t { kAnalogIn, kDigitalIn, kDigitalOut, kPwmOut, kOneWire, kI2cSda, kI2cScl };

struct PinClaim {
  uint8_t gpio;
  Use use;
  int8_t partner;
  char addr[17];
};

class PinClaims {
 public:
  static constexpr int kMax = 2 * kMaxSensors + kMaxActuators;

  const char *check(const BoardInfo &board, int gpio, Use use, const char *addr, int partner, bool wifi) const {
    const PinInfo *pin = find_pin(board, gpio);
    if (pin == nullptr) return "gpio_invalid";
    if (pin->reserved != kResNone) return "gpio_reserved";
    bool output = use == Use::kDigitalOut || use == Use::kPwmOut;
    bool bus = use == Use::kOneWire || use == Use::kI2cSda || use == Use::kI2cScl;
    if (output || bus) {
      if (pin->flags & kPinInputOnly) return "gpio_input_only";
      if (!(pin->flags & kPinOutput)) return "bad_config";
    }
    switch (use) {
      case Use::kAnalogIn:
        if (pin->adc1 < 0 && pin->adc2 < 0) return "bad_config";
        if (pin->adc1 < 0 && wifi && !board.adc2_with_wifi) return "gpio_adc2_wifi";
        break;
      case Use::kDigitalIn:
        if (!(pin->flags & kPinInput)) return "bad_config";
        break;
      case Use::kPwmOut:
        if (!(pin->flags & kPinPwm)) return "bad_config";
        break;
      case Use::kOneWire:
        if (!(pin->flags & kPinOneWire)) return "bad_config";
        break;
      case Use::kI2cSda:
      case Use::kI2cScl:
        if (!(pin->flags & kPinI2c)) return "bad_config";
        break;
      case Use::kDigitalOut:
        break;
    }
    if (pin->boot_fail_level >= 0 && (output || (bus && pin->boot_fail_level == 1))) return "gpio_reserved";
    if ((use == Use::kI2cSda || use == Use::kI2cScl) && partner == gpio) return "bad_config";
    int pwm = 0;
    for (int i = 0; i < this->n_; i++) {
      const PinClaim &c = this->claims_[i];
      if (c.use == Use::kPwmOut) pwm++;
      if (c.gpio == gpio && !shares(c, use, addr, partner)) return "gpio_in_use";
    }
    if (use == Use::kPwmOut && pwm >= board.pwm_channels) return "too_many";
    return nullptr;
  }

  void add(int gpio, Use use, const char *addr, int partner) {
    if (this->n_ >= kMax) return;
    PinClaim &c = this->claims_[this->n_++];
    c.gpio = static_cast<uint8_t>(gpio);
    c.use = use;
    c.partner = static_cast<int8_t>(partner);
    copy_bounded(c.addr, sizeof(c.addr), addr);
  }

 private:
  static bool shares(const PinClaim &c, Use use, const char *addr, int partner) {
    if (c.use != use) return false;
    if (use == Use::kOneWire) return strcmp(c.addr, addr) != 0;
    if (use == Use::kI2cSda) return c.partner == partner && strcmp(c.addr, addr) != 0;
    if (use == Use::kI2cScl) return c.partner == partner;
    return false;
  }

  PinClaim claims_[kMax];
  int n_ = 0;
};

Use sensor_use(ReadMethod m) {
  switch (m) {
    case ReadMethod::kAdc:
      return Use::kAnalogIn;
    case ReadMethod::kOneWire:
      return Use::kOneWire;
    case ReadMethod::kSht31:
      return Use::kI2cSda;
    default:
      return Use::kDigitalIn;
  }
}
}  // namespace

Device::Device(const Hal &hal, const DeviceOptions &options)
    : hal_(hal), options_(options), sensors_(hal, *this), heartbeat_s_(options.heartbeat_s > 0 ? options.heartbeat_s : kDefaultHeartbeatS), ota_(hal.firmware) {}

bool Device::setup() {
  this->board_ = find_board(this->options_.board);
  if (this->board_ == nullptr) {
    this->log("unknown board ", this->options_.board);
    return false;
  }
  uint8_t mac[6] = {0};
  this->hal_.wifi->mac(mac);
  for (int i = 0; i < 6; i++) {
    this->mac_[3 * i] = kHexUpper[mac[i] >> 4];
    this->mac_[3 * i + 1] = kHexUpper[mac[i] & 15];
    this->mac_[3 * i + 2] = i < 5 ? ':' : '\0';
  }
  if (this->options_.esp_id != nullptr && this->options_.esp_id[0] != '\0') {
    copy_bounded(this->esp_id_, sizeof(this->esp_id_), this->options_.esp_id);
  } else {
    char id[11] = {'e', 's', 'p', '-', kHex[mac[3] >> 4], kHex[mac[3] & 15], kHex[mac[4] >> 4],
                   kHex[mac[4] & 15], kHex[mac[5] >> 4], kHex[mac[5] & 15], '\0'};
    copy_bounded(this->esp_id_, sizeof(this->esp_id_), id);
  }
  copy_bounded(this->kaiser_id_, sizeof(this->kaiser_id_), this->options_.kaiser_id);
  if (!valid_id(this->esp_id_) || !valid_id(this->kaiser_id_)) {
    this->log("invalid esp_id or kaiser_id");
    return false;
  }
  this->hal_.mqtt->set_handler(this);
  size_t len = 0;
  {
    // The stored login (docs/protocol.md "Device login"), read through the outgoing buffer.
    uint8_t *blob = reinterpret_cast<uint8_t *>(this->out_);
    if (this->hal_.storage->load(kLoginKey, blob, kLoginBlobCap, len) && len > 0 &&
        decode_login(blob, len, this->login_)) {
      this->use_login(this->login_);
    }
    memset(this->out_, 0, kLoginBlobCap);
    len = 0;
    // The stored move (docs/protocol.md "Moving to another broker"): its kaiser id and broker.
    if (this->hal_.storage->load(kBrokerKey, blob, kBrokerBlobCap, len) && len > 0 &&
        decode_broker(blob, len, this->broker_) && valid_id(this->broker_.kaiser_id) &&
        this->use_broker(this->broker_)) {
      copy_bounded(this->kaiser_id_, sizeof(this->kaiser_id_), this->broker_.kaiser_id);
    } else {
      this->broker_ = StoredBroker();
    }
    memset(this->out_, 0, kBrokerBlobCap);
    len = 0;
  }
  // The outgoing buffer is free at setup: load the stored config into it (parse copies it).
  uint8_t *stored = reinterpret_cast<uint8_t *>(this->out_);
  if (this->hal_.storage->load("config", stored, sizeof(this->out_) - 1, len) && len > 0) {
    Error err = parse_config(this->out_, len, this->doc_, this->cfg_scratch_);
    if (err.ok()) {
      this->apply_config(this->cfg_scratch_, Reason::kBoot, false);
      this->log("config restored from storage");
    } else {
      this->reject(err);
    }
  }
  return true;
}

Device::ActSlot *Device::find_actuator(uint8_t gpio) {
  for (int i = 0; i < this->n_act_; i++) {
    if (this->acts_[i].safety.config().gpio == gpio) return &this->acts_[i];
  }
  return nullptr;
}

const ActuatorSafety *Device::actuator(uint8_t gpio) const {
  for (int i = 0; i < this->n_act_; i++) {
    if (this->acts_[i].safety.config().gpio == gpio) return &this->acts_[i].safety;
  }
  return nullptr;
}

// ---- config intake ----

namespace {
// The same actuator under new limits (docs/protocol.md "Limit changes"): same pin, same type.
bool same_actuator(const ActuatorConfig &a, const ActuatorConfig &b) { return a.gpio == b.gpio && a.type == b.type; }
}  // namespace

void Device::apply_config(const DeviceConfig &cfg, Reason reason, bool publish_ack) {
  uint64_t now = this->hal_.clock->millis();
  const BoardInfo &board = *this->board_;
  PinResult results[kMaxSensors + kMaxActuators];
  int nres = 0;
  PinClaims claims;
  bool wifi = this->options_.wifi_on;

  this->sensors_.clear();
  for (int i = 0; i < cfg.n_sensors; i++) {
    const SensorConfig &s = cfg.sensors[i];
    ReadMethod method = read_method_for(s.type);
    const char *error = nullptr;
    if (method == ReadMethod::kNone) {
      error = "type_unsupported";
    } else if (method == ReadMethod::kSht31) {
      if (s.scl < 0) {
        error = "bad_config";  // an I2C sensor needs its clock pin
      } else if ((error = claims.check(board, s.gpio, Use::kI2cSda, s.addr, s.scl, wifi)) == nullptr) {
        error = claims.check(board, s.scl, Use::kI2cScl, "", s.gpio, wifi);
      }
    } else {
      error = claims.check(board, s.gpio, sensor_use(method), method == ReadMethod::kOneWire ? s.addr : "", -1, wifi);
    }
    // Probe the bus: a OneWire presence pulse, an I2C address that acknowledges.
    if (error == nullptr && method == ReadMethod::kOneWire && !this->hal_.onewire->reset(s.gpio)) error = "bus_error";
    if (error == nullptr && method == ReadMethod::kSht31) {
      uint8_t addr = 0x44;
      if (strlen(s.addr) == 4) {
        auto hv = [](char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; };
        addr = static_cast<uint8_t>(hv(s.addr[2]) << 4 | hv(s.addr[3]));
      } else if (s.addr[0] != '\0') {
        error = "bad_config";  // a OneWire ROM code on an I2C sensor
      }
      if (error == nullptr &&
          (!this->hal_.i2c->begin(s.gpio, static_cast<uint8_t>(s.scl)) || !this->hal_.i2c->write(addr, nullptr, 0))) {
        error = "bus_error";
      }
    }
    if (error == nullptr && method == ReadMethod::kOneWire && s.addr[0] != '\0' && strlen(s.addr) != 16) {
      error = "bad_config";  // an I2C address on a OneWire sensor
    }
    if (error == nullptr && !this->sensors_.add(s, method, now)) error = "too_many";
    if (error == nullptr) {
      if (method == ReadMethod::kSht31) {
        claims.add(s.gpio, Use::kI2cSda, s.addr, s.scl);
        claims.add(s.scl, Use::kI2cScl, "", s.gpio);
      } else {
        claims.add(s.gpio, sensor_use(method), method == ReadMethod::kOneWire ? s.addr : "", -1);
      }
    }
    results[nres++] = PinResult{true, s.gpio, error == nullptr, error, s.addr};
  }

  // Actuators no longer configured, of another type, or whose pin a sensor now claims go to
  // their safe state, reason config. The others keep their state under the new limits.
  for (int i = 0; i < this->n_act_;) {
    ActSlot &slot = this->acts_[i];
    const ActuatorConfig &old = slot.safety.config();
    bool keep = false;
    for (int j = 0; j < cfg.n_actuators && !keep; j++) keep = same_actuator(cfg.actuators[j], old);
    Use old_use = old.type == ActuatorType::kPwm ? Use::kPwmOut : Use::kDigitalOut;
    keep = keep && claims.check(board, old.gpio, old_use, "", -1, wifi) == nullptr;
    if (keep) {
      i++;
      continue;
    }
    slot.safety.to_safe(Reason::kConfig, now);
    this->drive(slot);
    if (this->link_up_) this->publish_status_for(slot, Refusal::kNone, 0, "");
    if (slot.pwm_channel >= 0) this->hal_.pwm->detach(slot.safety.config().gpio);
    this->activations_.forget(slot.safety.config().gpio);
    this->acts_[i] = this->acts_[this->n_act_ - 1];
    this->n_act_--;
  }

  for (int i = 0; i < cfg.n_actuators; i++) {
    const ActuatorConfig &a = cfg.actuators[i];
    Use use = a.type == ActuatorType::kPwm ? Use::kPwmOut : Use::kDigitalOut;
    const char *error = claims.check(board, a.gpio, use, "", -1, wifi);
    ActSlot *existing = error == nullptr ? this->find_actuator(a.gpio) : nullptr;
    if (error == nullptr && existing == nullptr && this->n_act_ >= kMaxActuators) error = "too_many";
    if (error == nullptr) {
      claims.add(a.gpio, use, "", -1);
      if (existing == nullptr) {
        ActSlot &slot = this->acts_[this->n_act_++];
        slot.pwm_channel = -1;
        if (a.type == ActuatorType::kPwm) {
          // First free channel.
          for (int ch = 0; ch < board.pwm_channels && slot.pwm_channel < 0; ch++) {
            bool taken = false;
            for (int k = 0; k < this->n_act_ - 1; k++) taken = taken || this->acts_[k].pwm_channel == ch;
            if (!taken) slot.pwm_channel = static_cast<int8_t>(ch);
          }
          this->hal_.pwm->attach(a.gpio, static_cast<uint8_t>(slot.pwm_channel));
        } else {
          this->hal_.gpio->mode(a.gpio, PinMode::kOutput);
        }
        slot.safety.configure(a, this->activations_, now, reason);
        if (this->emergency_) slot.safety.emergency(true, now);
        if (!this->link_up_ && this->ever_connected_) slot.safety.link(false, now);
        slot.last_on = !slot.safety.on();  // force the first write
        this->drive(slot);
      } else {
        existing->safety.reconfigure(a, now);
        existing->last_on = !existing->safety.on();  // `inverted` may have changed
        this->drive(*existing);
      }
    }
    results[nres++] = PinResult{false, a.gpio, error == nullptr, error, nullptr};
  }

  this->config_version_ = cfg.version;
  this->heartbeat_s_ = cfg.heartbeat_s > 0 ? cfg.heartbeat_s : (this->options_.heartbeat_s > 0 ? this->options_.heartbeat_s : kDefaultHeartbeatS);
  if (this->link_up_) {
    if (publish_ack && build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kConfigAck)) {
      size_t n = build_config_ack(this->out_, sizeof(this->out_), cfg.version, results, nres);
      this->publish(this->topic_, this->out_, n, 1, true);
    }
    for (int i = 0; i < this->n_act_; i++) this->publish_status_for(this->acts_[i], Refusal::kNone, 0, "");
  }
}

// ---- actuators ----

void Device::drive(ActSlot &slot) {
  const ActuatorConfig &c = slot.safety.config();
  bool on = slot.safety.on();
  uint8_t value = slot.safety.value();
  if (on == slot.last_on && value == slot.last_value) return;
  slot.last_on = on;
  slot.last_value = value;
  if (slot.pwm_channel >= 0) {
    uint8_t duty = on ? value : 0;
    this->hal_.pwm->write(static_cast<uint8_t>(slot.pwm_channel), c.inverted ? static_cast<uint8_t>(255 - duty) : duty);
  } else {
    this->hal_.gpio->write(c.gpio, on != c.inverted);
  }
}

void Device::publish_status_for(ActSlot &slot, Refusal refused, double until_s, const char *cmd_id) {
  if (!build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kActuatorStatus,
                   slot.safety.config().gpio)) {
    return;
  }
  uint64_t now = this->hal_.clock->millis();
  ActuatorStatusInfo info{slot.safety.on(), slot.safety.value(), slot.safety.reason(), refused, until_s,
                          cmd_id,           slot.safety.runtime_s(now), slot.safety.activations(), this->hal_.clock->unix_ms()};
  size_t n = build_actuator_status(this->out_, sizeof(this->out_), info);
  this->publish(this->topic_, this->out_, n, 1, true);
}

void Device::publish_unknown_gpio(uint8_t gpio, Refusal refused, const char *cmd_id) {
  if (!build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kActuatorStatus, gpio)) {
    return;
  }
  ActuatorStatusInfo info{false, 0, Reason::kConfig, refused, 0, cmd_id, 0, 0, this->hal_.clock->unix_ms()};
  size_t n = build_actuator_status(this->out_, sizeof(this->out_), info);
  // Not retained: there is no actuator on this pin whose state could be kept.
  this->publish(this->topic_, this->out_, n, 1, false);
}

// ---- link ----

void Device::link_loop() {
  uint64_t now = this->hal_.clock->millis();
  bool wifi = this->hal_.wifi->connected();
  this->hal_.mqtt->loop();
  bool up = wifi && this->hal_.mqtt->connected();
  if (this->link_up_ && !up && !this->resend_due_) {
    // The session is gone (a reconnect may follow in this same pass): what was sent just
    // before may be lost. (Still due from an earlier loss: all of that stays due.)
    this->forget_sent_outside_window(now);
    this->resend_due_ = this->n_sent_ > 0;
  }
  bool fresh = false;  // a new session: subscribe and announce again
  if (!up && wifi && now >= this->next_connect_ms_) {
    char will_topic[kTopicCap];
    build_topic(will_topic, sizeof(will_topic), this->kaiser_id_, this->esp_id_, TopicKind::kStatus);
    Will will{will_topic, "offline", 1, true};
    if (this->hal_.mqtt->connect(this->esp_id_, will)) {
      up = true;
      fresh = true;
      this->backoff_ms_ = 1000;
      this->move_connected();
      this->login_connected();
    } else if (this->hal_.mqtt->connecting()) {
      // An attempt runs in the background: ask again on the next pass, no back-off.
    } else {
      this->next_connect_ms_ = now + this->backoff_ms_;
      this->backoff_ms_ = this->backoff_ms_ >= 16000 ? 30000 : this->backoff_ms_ * 2;
      // A new broker refusing the device says nothing about its login.
      bool refused = this->hal_.mqtt->last_failure() == MqttTransport::Failure::kRefused;
      if (!this->move_failed(now, refused)) this->login_failed(now);
    }
  }
  // Not during a background attempt: the transport takes no broker change then (the attempt's
  // own failure ends the move).
  if (this->moving_ && !up && now >= this->move_deadline_ms_ && !this->hal_.mqtt->connecting()) {
    this->move_failed(now, false);
  }
  if (this->login_switching_ && !up && now >= this->login_deadline_ms_) this->login_failed(now);
  if (up == this->link_up_) {
    // A new login closes the session and opens another within one pass: the link never
    // looked down, but the new session has no subscriptions yet.
    if (fresh) this->on_connected();
    return;
  }
  this->link_up_ = up;
  for (int i = 0; i < this->n_act_; i++) {
    ActSlot &slot = this->acts_[i];
    if (slot.safety.link(up, now)) this->drive(slot);
  }
  if (up) {
    this->on_connected();
  } else {
    this->log("link down");
  }
}

void Device::on_connected() {
  this->ever_connected_ = true;
  this->stats_.connects++;
  char base[kTopicCap];
  build_topic(base, sizeof(base), this->kaiser_id_, this->esp_id_, TopicKind::kConfig);
  size_t base_len = strlen(base) - strlen("config");  // "kaiser/<k>/esp/<e>/"
  struct Sub {
    const char *suffix;
    int qos;
  };
  static const Sub kSubs[] = {{"config", 1},
                              {"actuator/+/command", 1},
                              {"sensor/+/processed", 0},
                              {"system/command", 1},
                              {"emergency", 1}};
  for (const Sub &sub : kSubs) {
    copy_bounded(base + base_len, sizeof(base) - base_len, sub.suffix);
    this->hal_.mqtt->subscribe(base, sub.qos);
  }
  build_emergency_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_);
  this->hal_.mqtt->subscribe(this->topic_, 1);

  this->publish_announce();
  build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kStatus);
  this->publish(this->topic_, "online", 6, 1, true);
  for (int i = 0; i < this->n_act_; i++) this->publish_status_for(this->acts_[i], Refusal::kNone, 0, "");
  this->next_heartbeat_ms_ = this->hal_.clock->millis();
  this->log("connected as ", this->esp_id_);
}

void Device::publish_announce() {
  AnnounceInfo info{this->esp_id_,  this->kaiser_id_,  this->options_.name, this->board_->name,
                    kFirmwareFamily, this->options_.fw_version, this->mac_, kMaxSensors,
                    kMaxActuators,  true,              static_cast<int>(kBufferCapacity), true,
                    this->hal_.mqtt->username(), this->login_error_, true, this->move_error_};
  build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kAnnounce);
  size_t n = build_announce(this->out_, sizeof(this->out_), info);
  this->publish(this->topic_, this->out_, n, 1, true);
}

// ---- moving to another broker (docs/protocol.md "Moving to another broker") ----

bool Device::use_broker(const StoredBroker &broker) {
  bool own = !broker.set() || broker.host[0] == '\0';
  return this->hal_.mqtt->set_broker(own ? nullptr : broker.host, broker.set() ? broker.port : 0);
}

void Device::move_command(uint64_t now) {
  const SystemCommand &cmd = this->sys_scratch_;
  if (this->moving_ || this->login_switching_) {
    copy_bounded(this->move_error_, sizeof(this->move_error_), "busy");
    this->publish_announce();
    return;
  }
  this->move_error_[0] = '\0';
  StoredBroker &next = this->pending_broker_;
  next = StoredBroker();
  copy_bounded(next.kaiser_id, sizeof(next.kaiser_id), cmd.kaiser_id);
  copy_bounded(next.host, sizeof(next.host), cmd.host);
  next.port = cmd.port;
  const char *host_now = this->broker_.set() ? this->broker_.host : "";
  uint16_t port_now = this->broker_.set() ? this->broker_.port : 0;
  if (strcmp(next.kaiser_id, this->kaiser_id_) == 0 && strcmp(next.host, host_now) == 0 && next.port == port_now) {
    this->publish_announce();  // already there
    return;
  }
  if (!this->use_broker(next)) {
    this->use_broker(this->broker_);
    copy_bounded(this->move_error_, sizeof(this->move_error_), "unsupported");
    this->publish_announce();
    return;
  }
  this->log("moving to kaiser ", next.kaiser_id, next.host[0] != '\0' ? " on another broker" : " on the set-up broker");
  this->moving_ = true;
  this->move_deadline_ms_ = now + kMoveTimeoutMs;
  // From here every topic, the will included, is below the new root.
  copy_bounded(this->kaiser_id_, sizeof(this->kaiser_id_), next.kaiser_id);
  this->hal_.mqtt->drop();
  this->next_connect_ms_ = now;
  this->backoff_ms_ = 1000;
}

void Device::move_connected() {
  if (!this->moving_) return;
  this->moving_ = false;
  this->broker_ = this->pending_broker_;
  uint8_t blob[kBrokerBlobCap];
  size_t n = encode_broker(this->broker_, blob, sizeof(blob));
  if (n == 0 || !this->hal_.storage->save(kBrokerKey, blob, n)) {
    copy_bounded(this->move_error_, sizeof(this->move_error_), "storage");
  }
  this->log("moved to kaiser ", this->kaiser_id_);
}

bool Device::move_failed(uint64_t now, bool refused) {
  if (!this->moving_) return false;
  if (!refused && now < this->move_deadline_ms_) return true;  // the network: try again
  // Not accepted: back to the broker and kaiser id it ran with, nothing else changes.
  copy_bounded(this->move_error_, sizeof(this->move_error_), refused ? "refused" : "timeout");
  this->log("move not made: ", this->move_error_);
  this->moving_ = false;
  copy_bounded(this->kaiser_id_, sizeof(this->kaiser_id_),
               this->broker_.set() ? this->broker_.kaiser_id : this->options_.kaiser_id);
  this->use_broker(this->broker_);
  this->next_connect_ms_ = now;
  this->backoff_ms_ = 1000;
  return true;
}

// ---- device login (docs/protocol.md "Device login") ----

void Device::use_login(const StoredLogin &login) {
  if (login.set()) {
    this->hal_.mqtt->set_login(login.username, login.password, login.ca, login.port);
  } else {
    this->hal_.mqtt->set_login(nullptr, nullptr, nullptr, 0);
  }
}

void Device::login_command(uint64_t now) {
  SystemCommand &cmd = this->sys_scratch_;
  if (this->moving_) {  // one switch at a time
    memset(cmd.password, 0, sizeof(cmd.password));
    copy_bounded(this->login_error_, sizeof(this->login_error_), "busy");
    this->publish_announce();
    return;
  }
  StoredLogin &next = this->pending_login_;
  wipe_login(next);
  copy_bounded(next.username, sizeof(next.username), cmd.username);
  copy_bounded(next.password, sizeof(next.password), cmd.password);
  copy_bounded(next.ca, sizeof(next.ca), cmd.ca);
  next.port = cmd.port;
  memset(cmd.password, 0, sizeof(cmd.password));
  if (!this->hal_.mqtt->set_login(next.username, next.password, next.ca, next.port)) {
    wipe_login(next);
    copy_bounded(this->login_error_, sizeof(this->login_error_), "unsupported");
    this->publish_announce();
    return;
  }
  this->log("trying the delivered login ", next.username);
  this->login_switching_ = true;
  this->login_deadline_ms_ = now + kLoginSwitchTimeoutMs;
  this->login_error_[0] = '\0';
  this->hal_.mqtt->drop();
  this->next_connect_ms_ = now;
  this->backoff_ms_ = 1000;
}

void Device::login_connected() {
  this->login_refusals_ = 0;
  if (!this->login_switching_) return;
  this->login_switching_ = false;
  // Accepted: the new login becomes the current one, the old one the fallback.
  uint8_t *blob = reinterpret_cast<uint8_t *>(this->out_);
  size_t n = encode_login(this->login_, blob, kLoginBlobCap);
  bool ok = this->hal_.storage->save(kFallbackLoginKey, blob, n);
  n = encode_login(this->pending_login_, blob, kLoginBlobCap);
  ok = n > 0 && this->hal_.storage->save(kLoginKey, blob, n) && ok;
  memset(blob, 0, kLoginBlobCap);
  copy_login(this->login_, this->pending_login_);
  wipe_login(this->pending_login_);
  if (!ok) copy_bounded(this->login_error_, sizeof(this->login_error_), "storage");
  this->log("logged in as ", this->login_.username);
}

void Device::login_failed(uint64_t now) {
  MqttTransport::Failure failure = this->hal_.mqtt->last_failure();
  if (this->login_switching_) {
    bool refused = failure == MqttTransport::Failure::kRefused;
    bool tls = failure == MqttTransport::Failure::kTls;
    if (!refused && !tls && now < this->login_deadline_ms_) return;  // the network: try again
    // Not accepted: back to the current login, nothing else changes.
    copy_bounded(this->login_error_, sizeof(this->login_error_), refused ? "refused" : (tls ? "tls" : "timeout"));
    this->log("delivered login not taken: ", this->login_error_);
    this->login_switching_ = false;
    wipe_login(this->pending_login_);
    this->use_login(this->login_);
    this->next_connect_ms_ = now;
    this->backoff_ms_ = 1000;
    return;
  }
  if (failure != MqttTransport::Failure::kRefused) return;
  if (++this->login_refusals_ < kRefusalsBeforeFallback) return;
  // The current login keeps being refused (deleted before this device switched): the fallback.
  // pending_login_ is free outside a switch: it holds the fallback (no 3 KB on the stack).
  this->login_refusals_ = 0;
  StoredLogin &fallback = this->pending_login_;
  uint8_t *blob = reinterpret_cast<uint8_t *>(this->out_);
  size_t len = 0;
  if (!this->hal_.storage->load(kFallbackLoginKey, blob, kLoginBlobCap, len) || len == 0 ||
      !decode_login(blob, len, fallback)) {
    wipe_login(fallback);  // the transport's own login
  }
  if (!this->login_.set() && !fallback.set()) {
    memset(blob, 0, kLoginBlobCap);
    return;  // nothing else to try
  }
  this->log("current login refused, trying the fallback");
  // The refused one becomes the fallback: if the broker comes back to it, so does the device.
  size_t n = encode_login(this->login_, blob, kLoginBlobCap);
  this->hal_.storage->save(kFallbackLoginKey, blob, n);
  n = encode_login(fallback, blob, kLoginBlobCap);
  this->hal_.storage->save(kLoginKey, blob, n);
  memset(blob, 0, kLoginBlobCap);
  copy_login(this->login_, fallback);
  wipe_login(fallback);
  this->use_login(this->login_);
  this->next_connect_ms_ = now;
}

bool Device::publish(const char *topic, const char *payload, size_t len, int qos, bool retain) {
  if (len == 0 && payload != nullptr && payload[0] != '\0') {
    this->log("payload did not fit: ", topic);
    return false;
  }
  bool ok = this->hal_.mqtt->publish(topic, reinterpret_cast<const uint8_t *>(payload), len, qos, retain);
  if (ok) this->stats_.published++;
  return ok;
}

// ---- readings ----

uint64_t Device::unix_at(uint64_t sample_ms, uint64_t ts) const {
  if (ts != 0) return ts;
  uint64_t unix_now = this->hal_.clock->unix_ms();
  if (unix_now == 0) return 0;
  return unix_now - (this->hal_.clock->millis() - sample_ms);
}

void Device::on_reading(const Reading &r) {
  this->stats_.readings++;
  if (this->n_pending_ < 2 * kMaxSensors) this->pending_[this->n_pending_++] = r;
}

// A reading whose publish fails (the link died before the device noticed: the write is refused)
// goes to the offline buffer and is replayed like one sampled offline; `seq` counts only
// messages handed to the transport, so the receiver sees no gap for it.
bool Device::publish_reading_now(const Reading &r, bool replay) {
  if (!build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kSensorData, r.gpio)) {
    return true;  // never sendable: dropped
  }
  size_t n = build_sensor_data(this->out_, sizeof(this->out_), this->seq_, this->unix_at(r.sample_ms, r.ts), replay, r);
  if (n == 0) {
    this->publish(this->topic_, this->out_, n, 0, false);  // logs it; never sendable
    return true;
  }
  if (!this->publish(this->topic_, this->out_, n, 0, false)) return false;
  this->keep_sent(&r, 1, this->seq_, this->unix_at(r.sample_ms, r.ts));
  this->seq_++;
  return true;
}

void Device::forget_sent_outside_window(uint64_t now) {
  uint64_t since_ms = now >= kResendWindowMs ? now - kResendWindowMs : 0;
  int count = 0;
  while (count < this->n_sent_ && this->sent_ms_[count] < since_ms) count++;
  this->drop_sent(count);
}

void Device::drop_sent(int count) {
  if (count <= 0) return;
  for (int i = count; i < this->n_sent_; i++) {
    this->sent_[i - count] = this->sent_[i];
    this->sent_seq_[i - count] = this->sent_seq_[i];
    this->sent_ms_[i - count] = this->sent_ms_[i];
  }
  this->n_sent_ -= count;
}

void Device::keep_sent(const Reading *r, int n, uint32_t seq, uint64_t ts) {
  if (this->resend_due_) return;  // what is kept is still to be sent again: keep it as it is
  uint64_t now = this->hal_.clock->millis();
  this->forget_sent_outside_window(now);
  // Full (many readings within the window): the oldest messages make room, whole.
  while (this->n_sent_ > 0 && kResendCapacity - this->n_sent_ < n) {
    int end = 1;
    while (end < this->n_sent_ && this->sent_seq_[end] == this->sent_seq_[0]) end++;
    this->drop_sent(end);
  }
  for (int i = 0; i < n && this->n_sent_ < kResendCapacity; i++) {
    this->sent_[this->n_sent_] = r[i];
    this->sent_[this->n_sent_].ts = ts;
    this->sent_seq_[this->n_sent_] = seq;
    this->sent_ms_[this->n_sent_] = now;
    this->n_sent_++;
  }
}

// The readings kept from before the link loss, message by message (one seq each) as they were
// sent: once a message is out it is forgotten; a refused one is tried again on the next pass.
void Device::resend_loop() {
  if (!this->resend_due_ || !this->link_up_) return;
  int done = 0;
  while (done < this->n_sent_) {
    int end = done + 1;
    while (end < this->n_sent_ && this->sent_seq_[end] == this->sent_seq_[done]) end++;
    const Reading &first = this->sent_[done];
    bool single = end - done == 1;
    bool ok = single ? build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_,
                                   TopicKind::kSensorData, first.gpio)
                     : build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_,
                                   TopicKind::kSensorBatch);
    size_t n = 0;
    if (ok) {
      n = single ? build_sensor_data(this->out_, sizeof(this->out_), this->sent_seq_[done], first.ts, true, first, true)
                 : build_sensor_batch(this->out_, sizeof(this->out_), this->sent_seq_[done], first.ts, true,
                                      &this->sent_[done], end - done, true);
    }
    if (ok && n > 0) {  // (one that can never be built is dropped, as when first sent)
      if (!this->publish(this->topic_, this->out_, n, 0, false)) break;
      this->stats_.resent += static_cast<uint32_t>(end - done);
    }
    done = end;
  }
  this->drop_sent(done);
  this->resend_due_ = this->n_sent_ > 0;
}

void Device::flush_pending() {
  if (this->n_pending_ == 0) return;
  bool sent = true;
  if (!this->link_up_) {
    sent = false;
  } else if (this->n_pending_ == 1) {
    sent = this->publish_reading_now(this->pending_[0], false);
  } else if (build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kSensorBatch)) {
    // Readings of one loop pass share their sample instant: one batch message.
    const Reading &first = this->pending_[0];
    size_t n = build_sensor_batch(this->out_, sizeof(this->out_), this->seq_, this->unix_at(first.sample_ms, first.ts),
                                  false, this->pending_, this->n_pending_);
    if (n == 0) {
      this->publish(this->topic_, this->out_, n, 0, false);  // logs it; never sendable
    } else if (this->publish(this->topic_, this->out_, n, 0, false)) {
      this->keep_sent(this->pending_, this->n_pending_, this->seq_, this->unix_at(first.sample_ms, first.ts));
      this->seq_++;
    } else {
      sent = false;
    }
  }
  if (!sent) {
    for (int i = 0; i < this->n_pending_; i++) this->buffer_.push(this->pending_[i]);
  }
  this->n_pending_ = 0;
}

// ---- heartbeat ----

void Device::heartbeat_loop() {
  uint64_t now = this->hal_.clock->millis();
  if (!this->link_up_ || now < this->next_heartbeat_ms_) return;
  this->next_heartbeat_ms_ = now + this->heartbeat_s_ * 1000ULL;
  if (!build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kHeartbeat)) return;
  HeartbeatInfo hb{static_cast<uint32_t>(now / 1000), this->hal_.system->heap_free(), this->hal_.system->heap_min(),
                   this->hal_.wifi->rssi(), this->config_version_, static_cast<uint32_t>(this->buffer_.size()),
                   this->hal_.clock->unix_ms()};
  size_t n = build_heartbeat(this->out_, sizeof(this->out_), hb);
  this->publish(this->topic_, this->out_, n, 0, false);
}

// ---- loop ----

void Device::tick_actuators() {
  uint64_t now = this->hal_.clock->millis();
  for (int i = 0; i < this->n_act_; i++) {
    ActSlot &slot = this->acts_[i];
    if (slot.safety.tick(now)) {
      this->drive(slot);
      if (this->link_up_) this->publish_status_for(slot, Refusal::kNone, 0, "");
    }
  }
}

void Device::loop() {
  // Due actuator timers fire before the link work, which may block in a (re)connect attempt
  // (PubSubClient's connect waits for the TCP connect), and again after it.
  this->tick_actuators();
  this->link_loop();
  this->tick_actuators();
  this->resend_loop();  // before anything new: what may have been lost goes first
  this->sensors_.loop();
  this->flush_pending();
  // Replay the offline buffer in order, a few per pass so the loop stays responsive.
  for (int i = 0; i < kReplayPerLoop && this->link_up_ && !this->buffer_.empty(); i++) {
    if (!this->publish_reading_now(this->buffer_.front(), true)) break;  // kept for the next pass
    this->buffer_.pop();
    this->stats_.replayed++;
  }
  this->heartbeat_loop();
  this->ota_loop(this->hal_.clock->millis());
}

uint64_t Device::next_due_ms() const {
  uint64_t now = this->hal_.clock->millis();
  if (!this->link_up_ || this->n_pending_ > 0 || this->resend_due_ || !this->buffer_.empty() ||
      this->ota_.downloading()) {
    return now;
  }
  uint64_t due = this->next_heartbeat_ms_;
  uint64_t sample = this->sensors_.next_due_ms();
  if (sample < due) due = sample;
  for (int i = 0; i < this->n_act_; i++) {
    uint64_t timer = this->acts_[i].safety.next_deadline();
    if (timer < due) due = timer;
  }
  if (this->ota_restart_ms_ != 0 && this->ota_restart_ms_ < due) due = this->ota_restart_ms_;
  return due < now ? now : due;
}

// ---- firmware update ----

void Device::publish_ota(const OtaReport &report) {
  if (!build_topic(this->topic_, sizeof(this->topic_), this->kaiser_id_, this->esp_id_, TopicKind::kOtaStatus)) return;
  size_t n = build_ota_status(this->out_, sizeof(this->out_), report);
  this->publish(this->topic_, this->out_, n, 1, false);
}

void Device::ota_command(uint64_t now) {
  const SystemCommand &cmd = this->sys_scratch_;
  OtaError err = this->ota_.start(cmd, this->board_->name, now);
  if (err == OtaError::kBusy) {
    // Answer the new command; the running update goes on.
    this->publish_ota(OtaReport{OtaState::kFailed, 0, err, "", cmd.version, cmd.cmd_id});
    return;
  }
  OtaReport report = this->ota_.report();
  this->publish_ota(report);
  if (err == OtaError::kNone) {
    this->log("ota: downloading ", cmd.version);
  } else {
    this->log("ota refused: ", ota_error_name(err), " (old firmware keeps running)");
  }
}

void Device::ota_loop(uint64_t now) {
  if (this->ota_restart_ms_ != 0 && now >= this->ota_restart_ms_) {
    this->ota_restart_ms_ = 0;
    this->restart_requested_ = true;
    this->hal_.system->restart();
    return;
  }
  if (!this->ota_.downloading() || !this->ota_.poll(now)) return;
  OtaReport report = this->ota_.report();
  this->publish_ota(report);
  if (report.state == OtaState::kFailed) {
    this->log("ota failed: ", ota_error_name(report.error), " (old firmware keeps running)");
  } else if (report.state == OtaState::kInstalled) {
    // The new image boots at the restart: actuators go to their safe state now, as at boot.
    for (int i = 0; i < this->n_act_; i++) {
      ActSlot &slot = this->acts_[i];
      if (slot.safety.to_safe(Reason::kCommand, now)) {
        this->drive(slot);
        if (this->link_up_) this->publish_status_for(slot, Refusal::kNone, 0, "");
      }
    }
    this->log("ota: installed ", report.version, ", restarting");
    this->ota_restart_ms_ = now + kOtaRestartDelayMs;
  }
}

// ---- inbound ----

void Device::reject(const Error &err) {
  this->stats_.rejected++;
  this->stats_.last_error = err.code;
  copy_bounded(this->stats_.last_error_path, sizeof(this->stats_.last_error_path), err.path);
  const char *at = err.path[0] != '\0' ? " at " : "";
  char what[96];
  size_t n = 0;
  const char *parts[] = {error_name(err.code), at, err.path};
  for (const char *part : parts) {
    for (; *part != '\0' && n + 1 < sizeof(what); part++) what[n++] = *part;
  }
  what[n] = '\0';
  this->log("rejected: ", what);
}

void Device::on_message(const char *topic, const uint8_t *payload, size_t len) {
  Topic t;
  size_t tlen = strlen(topic);
  ErrorCode code = parse_topic(topic, tlen, t);
  if (code != ErrorCode::kOk) {
    Error err;
    err.set(code, "topic");
    this->reject(err);
    return;
  }
  if (strcmp(t.kaiser_id, this->kaiser_id_) != 0) return;
  if (t.kind != TopicKind::kEmergency && strcmp(t.esp_id, this->esp_id_) != 0) return;
  const char *data = reinterpret_cast<const char *>(payload);
  uint64_t now = this->hal_.clock->millis();
  switch (t.kind) {
    case TopicKind::kConfig: {
      if (len == 0) return;  // retained config cleared: the device was removed in HA
      Error err = parse_config(data, len, this->doc_, this->cfg_scratch_);
      if (!err.ok()) {
        this->reject(err);
        return;
      }
      if (this->cfg_scratch_.version == this->config_version_) return;  // retained copy after reconnect
      this->apply_config(this->cfg_scratch_, Reason::kConfig, true);
      if (!this->hal_.storage->save("config", payload, len)) this->log("config not persisted");
      return;
    }
    case TopicKind::kActuatorCommand: {
      ActSlot *slot = this->find_actuator(static_cast<uint8_t>(t.gpio));
      this->cmd_scratch_ = ActuatorCommand();
      Error err = parse_actuator_command(data, len, this->doc_, this->cmd_scratch_);
      if (!err.ok()) {
        this->reject(err);
        if (slot != nullptr) {
          this->publish_status_for(*slot, Refusal::kInvalid, 0, "");
        } else {
          this->publish_unknown_gpio(static_cast<uint8_t>(t.gpio), Refusal::kInvalid, "");
        }
        return;
      }
      if (slot == nullptr) {
        this->publish_unknown_gpio(static_cast<uint8_t>(t.gpio), Refusal::kUnknownGpio, this->cmd_scratch_.cmd_id);
        return;
      }
      CommandResult result = slot->safety.command(this->cmd_scratch_, now);
      this->drive(*slot);
      this->publish_status_for(*slot, result.refused, result.until_s, this->cmd_scratch_.cmd_id);
      return;
    }
    case TopicKind::kProcessed: {
      Processed p;
      Error err = parse_processed(data, len, this->doc_, p);
      if (!err.ok()) {
        this->reject(err);
        return;
      }
      this->sensors_.set_processed(static_cast<uint8_t>(t.gpio), p.value);
      return;
    }
    case TopicKind::kSystemCommand: {
      this->sys_scratch_.clear();
      Error err = parse_system_command(data, len, this->doc_, this->sys_scratch_);
      if (!err.ok()) {
        this->reject(err);
        return;
      }
      switch (this->sys_scratch_.cmd) {
        case SysCmd::kRestart:
          this->restart_requested_ = true;
          this->hal_.system->restart();
          return;
        case SysCmd::kFactoryReset:
          this->hal_.storage->erase_all();
          this->restart_requested_ = true;
          this->hal_.system->restart();
          return;
        case SysCmd::kOta:
          this->ota_command(now);
          return;
        case SysCmd::kIdentify:
          this->hal_.system->identify();
          return;
        case SysCmd::kLogin:
          this->login_command(now);
          return;
        case SysCmd::kMove:
          this->move_command(now);
          return;
      }
      return;
    }
    case TopicKind::kEmergency:
    case TopicKind::kDeviceEmergency: {
      if (len == 0) return;  // retained emergency cleared
      Emergency e;
      Error err = parse_emergency(data, len, this->doc_, e);
      if (!err.ok()) {
        this->reject(err);
        return;
      }
      bool &source = t.kind == TopicKind::kEmergency ? this->broadcast_stop_ : this->device_stop_;
      source = e.stop;
      this->emergency_ = this->broadcast_stop_ || this->device_stop_;
      for (int i = 0; i < this->n_act_; i++) {
        ActSlot &slot = this->acts_[i];
        bool changed = slot.safety.emergency(this->emergency_, now);
        this->drive(slot);
        if (changed) this->publish_status_for(slot, Refusal::kNone, 0, "");
      }
      this->log(e.stop ? "emergency stop: " : "emergency clear: ", e.reason);
      return;
    }
    default:
      return;  // device-to-HA topics: not ours to handle
  }
}

void Device::log(const char *a, const char *b, const char *c) {
  char line[160];
  size_t n = 0;
  const char *parts[3] = {a, b, c};
  for (const char *s : parts) {
    for (; s != nullptr && *s != '\0' && n + 1 < sizeof(line); s++) line[n++] = *s;
  }
  line[n] = '\0';
  this->hal_.system->log(line);
}

}  // namespace a1
