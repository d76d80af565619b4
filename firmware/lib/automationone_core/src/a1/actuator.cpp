#include "a1/actuator.h"

namespace a1 {

namespace {
constexpr uint64_t kHourMs = 3600000ULL;
constexpr uint64_t kNever = UINT64_MAX;
}  // namespace

const char *reason_name(Reason r) {
  static const char *const kNames[] = {"command", "duration", "max_runtime", "emergency", "failsafe", "boot", "config"};
  return kNames[static_cast<int>(r)];
}

const char *refusal_name(Refusal r) {
  static const char *const kNames[] = {"", "cooldown", "rate_limit", "emergency", "max_runtime", "invalid", "unknown_gpio"};
  return kNames[static_cast<int>(r)];
}

void ActivationLog::prune(uint64_t now_ms) {
  uint32_t now = static_cast<uint32_t>(now_ms);
  while (this->len_ > 0 && now - this->at(0) >= kHourMs) {
    this->head_ = static_cast<uint16_t>((this->head_ + 1) % kCapacity);
    this->len_--;
  }
}

void ActivationLog::add(uint8_t gpio, uint64_t now_ms) {
  this->prune(now_ms);
  if (this->len_ == kCapacity) return;  // callers check full() first
  int slot = (this->head_ + this->len_) % kCapacity;
  this->ms_[slot] = static_cast<uint32_t>(now_ms);
  this->gpio_[slot] = gpio;
  this->len_++;
}

void ActivationLog::forget(uint8_t gpio) {
  int kept = 0;
  for (int i = 0; i < this->len_; i++) {
    int from = (this->head_ + i) % kCapacity;
    if (this->gpio_[from] == gpio) continue;
    int to = (this->head_ + kept++) % kCapacity;
    this->ms_[to] = this->ms_[from];
    this->gpio_[to] = this->gpio_[from];
  }
  this->len_ = static_cast<uint16_t>(kept);
}

uint32_t ActivationLog::count(uint8_t gpio, uint64_t now_ms, uint32_t limit, uint64_t &wait_ms) const {
  uint32_t now = static_cast<uint32_t>(now_ms);
  uint32_t n = 0;
  wait_ms = 0;
  for (int i = this->len_ - 1; i >= 0; i--) {
    uint32_t age = now - this->at(i);
    if (age >= kHourMs) break;
    if (this->gpio_[(this->head_ + i) % kCapacity] != gpio) continue;
    // A command may succeed once only limit - 1 are left: when the limit-th newest leaves.
    if (++n == limit) wait_ms = kHourMs - age;
  }
  return n;
}

bool ActivationLog::full(uint64_t now_ms, uint64_t &wait_ms) const {
  wait_ms = 0;
  if (this->len_ < kCapacity) return false;
  uint32_t age = static_cast<uint32_t>(now_ms) - this->at(0);
  if (age >= kHourMs) return false;  // add() prunes it
  wait_ms = kHourMs - age;
  return true;
}

uint8_t ActuatorSafety::safe_value() const {
  if (this->cfg_.safe_state == 0) return 0;
  return this->cfg_.type == ActuatorType::kPwm ? this->cfg_.safe_state : 255;
}

void ActuatorSafety::configure(const ActuatorConfig &cfg, ActivationLog &log, uint64_t now_ms, Reason reason) {
  bool emergency = this->emergency_;
  *this = ActuatorSafety();
  this->cfg_ = cfg;
  this->log_ = &log;
  log.forget(cfg.gpio);          // a new actuator on this pin starts without history
  this->emergency_ = emergency;  // an emergency outlives a config change
  this->set_state(cfg.safe_state > 0, this->safe_value(), reason, now_ms);
}

bool ActuatorSafety::reconfigure(const ActuatorConfig &cfg, uint64_t now_ms) {
  bool changed = this->fire_until(now_ms);  // due timers fire under the limits they were set by
  this->cfg_ = cfg;
  // A deadline the new limits put before now fires now, not in the past.
  if (this->mr_active_ && cfg.max_runtime_s > 0 && this->mr_start_ms_ + cfg.max_runtime_s * 1000ULL < now_ms) {
    this->mr_start_ms_ = now_ms - cfg.max_runtime_s * 1000ULL;
  }
  if (this->link_down_ && cfg.failsafe_s > 0 && this->link_down_since_ms_ + cfg.failsafe_s * 1000ULL < now_ms) {
    this->link_down_since_ms_ = now_ms - cfg.failsafe_s * 1000ULL;
  }
  // Held in a safe state by the device itself: follow a new safe_state.
  bool device_safe = this->reason_ == Reason::kBoot || this->reason_ == Reason::kConfig ||
                     this->reason_ == Reason::kEmergency || this->reason_ == Reason::kFailsafe;
  if (device_safe && this->value_ != this->safe_value()) {
    this->set_state(this->safe_value() > 0, this->safe_value(), this->reason_, now_ms);
    changed = true;
  }
  return this->fire_until(now_ms) || changed;
}

void ActuatorSafety::set_state(bool on, uint8_t value, Reason reason, uint64_t at_ms) {
  if (this->on_ && !on) {
    this->on_total_ms_ += at_ms - this->on_since_ms_;
    this->has_last_off_ = true;
    this->last_off_ms_ = at_ms;
  }
  if (!this->on_ && on) this->on_since_ms_ = at_ms;
  if (!on) this->has_duration_ = false;
  if (!on || reason != Reason::kCommand) this->mr_active_ = false;
  this->on_ = on;
  this->value_ = on ? value : 0;
  this->reason_ = reason;
}

bool ActuatorSafety::to_safe(Reason reason, uint64_t now_ms) {
  bool on = this->cfg_.safe_state > 0;
  uint8_t value = this->safe_value();
  bool changed = on != this->on_ || value != this->value_ || reason != this->reason_;
  this->set_state(on, value, reason, now_ms);
  this->has_duration_ = false;
  return changed;
}

double ActuatorSafety::runtime_s(uint64_t now_ms) const {
  uint64_t total = this->on_total_ms_ + (this->on_ ? now_ms - this->on_since_ms_ : 0);
  return static_cast<double>(total) / 1000.0;
}

uint64_t ActuatorSafety::next_deadline() const {
  uint64_t next = kNever;
  if (this->on_ && this->has_duration_) next = this->duration_end_ms_;
  if (this->on_ && this->mr_active_ && this->cfg_.max_runtime_s > 0) {
    uint64_t end = this->mr_start_ms_ + this->cfg_.max_runtime_s * 1000ULL;
    if (end < next) next = end;
  }
  if (this->link_down_ && !this->failsafe_done_ && this->cfg_.failsafe_s > 0) {
    uint64_t end = this->link_down_since_ms_ + this->cfg_.failsafe_s * 1000ULL;
    if (end < next) next = end;
  }
  return next;
}

bool ActuatorSafety::fire_until(uint64_t now_ms) {
  bool changed = false;
  // Timers fire in deadline order, each at its own instant (so cooldowns start on time).
  for (int guard = 0; guard < 4; guard++) {
    uint64_t due = this->next_deadline();
    if (due == kNever || due > now_ms) break;
    bool fired = false;
    if (this->link_down_ && !this->failsafe_done_ && this->cfg_.failsafe_s > 0 &&
        this->link_down_since_ms_ + this->cfg_.failsafe_s * 1000ULL == due) {
      this->failsafe_done_ = true;
      // During an emergency the actuator is already safe and the reason stays emergency.
      if (!this->emergency_) this->to_safe(Reason::kFailsafe, due);
      changed = fired = true;
    } else if (this->on_ && this->has_duration_ && this->duration_end_ms_ == due) {
      // A duration that ends together with max runtime reports duration (what was asked for).
      this->set_state(false, 0, Reason::kDuration, due);
      changed = fired = true;
    } else if (this->on_) {
      this->set_state(false, 0, Reason::kMaxRuntime, due);
      changed = fired = true;
    }
    if (!fired) break;
  }
  return changed;
}

bool ActuatorSafety::tick(uint64_t now_ms) {
  if (this->log_ != nullptr) this->log_->prune(now_ms);
  return this->fire_until(now_ms);
}

CommandResult ActuatorSafety::command(const ActuatorCommand &cmd, uint64_t now_ms) {
  CommandResult result;
  result.changed = this->fire_until(now_ms);
  bool is_pwm = this->cfg_.type == ActuatorType::kPwm;
  bool turn_off = cmd.action == Action::kOff || (cmd.action == Action::kSet && cmd.value == 0);
  if (turn_off) {
    // `off` is always accepted, in an emergency and in cooldown too.
    bool changed = this->on_ || this->reason_ != Reason::kCommand;
    this->set_state(false, 0, Reason::kCommand, now_ms);
    result.changed = result.changed || changed || true;
    return result;
  }
  if (this->emergency_) {
    result.refused = Refusal::kEmergency;
    return result;
  }
  uint8_t value = 255;
  if (cmd.action == Action::kSet && is_pwm) value = static_cast<uint8_t>(cmd.value);
  if (!this->on_) {
    // Refusal order: cooldown, then rate_limit; until_s is the wait until every limit allows it.
    uint64_t cool_wait = 0;
    uint64_t rate_wait = 0;
    bool rate_refused = false;
    if (this->cfg_.cooldown_s > 0 && this->has_last_off_) {
      uint64_t cool_ms = this->cfg_.cooldown_s * 1000ULL;
      uint64_t since = now_ms - this->last_off_ms_;
      if (since < cool_ms) cool_wait = cool_ms - since;
    }
    if (this->cfg_.max_per_hour > 0) {
      uint32_t count = this->log_->count(this->cfg_.gpio, now_ms, this->cfg_.max_per_hour, rate_wait);
      // A full log cannot record this activation: refused until its oldest entry leaves.
      uint64_t full_wait = 0;
      rate_refused = count >= this->cfg_.max_per_hour || this->log_->full(now_ms, full_wait);
      if (full_wait > rate_wait) rate_wait = full_wait;
    }
    if (cool_wait > 0 || rate_refused) {
      result.refused = cool_wait > 0 ? Refusal::kCooldown : Refusal::kRateLimit;
      uint64_t wait = cool_wait > rate_wait ? cool_wait : rate_wait;
      result.until_s = static_cast<double>(wait) / 1000.0;
      return result;
    }
    this->set_state(true, value, Reason::kCommand, now_ms);
    this->mr_active_ = true;
    this->mr_start_ms_ = now_ms;
    this->activations_++;
    if (this->cfg_.max_per_hour > 0) this->log_->add(this->cfg_.gpio, now_ms);
  } else {
    // Already on: not a new activation, the max-runtime clock keeps running (or starts, when a
    // command takes over from an on safe state).
    if (!this->mr_active_) {
      this->mr_active_ = true;
      this->mr_start_ms_ = now_ms;
    }
    this->value_ = value;
    this->reason_ = Reason::kCommand;
  }
  // Every accepted command that keeps or turns it on (on, set > 0, pulse) replaces the pending
  // duration with its own duration_s, or with none (rule 2, `set` included).
  this->has_duration_ = cmd.duration_s > 0;
  if (this->has_duration_) this->duration_end_ms_ = now_ms + static_cast<uint64_t>(cmd.duration_s * 1000.0 + 0.5);
  result.changed = true;
  return result;
}

bool ActuatorSafety::link(bool up, uint64_t now_ms) {
  bool changed = this->fire_until(now_ms);
  if (up) {
    this->link_down_ = false;
    this->failsafe_done_ = false;
  } else if (!this->link_down_) {
    this->link_down_ = true;
    this->failsafe_done_ = false;
    this->link_down_since_ms_ = now_ms;
  }
  return changed;
}

bool ActuatorSafety::emergency(bool stop, uint64_t now_ms) {
  bool changed = this->fire_until(now_ms);
  if (stop) {
    this->emergency_ = true;
    changed = this->to_safe(Reason::kEmergency, now_ms) || changed;
  } else {
    this->emergency_ = false;  // nothing turns on by itself
  }
  return changed;
}

}  // namespace a1
