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

void ActuatorSafety::configure(const ActuatorConfig &cfg, uint64_t now_ms, Reason reason) {
  bool emergency = this->emergency_;
  *this = ActuatorSafety();
  this->cfg_ = cfg;
  this->emergency_ = emergency;  // an emergency outlives a config change
  this->set_state(cfg.safe_state > 0, cfg.safe_state == 0 ? 0 : (cfg.type == ActuatorType::kPwm ? cfg.safe_state : 255),
                  reason, now_ms);
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
  uint8_t value = on ? (this->cfg_.type == ActuatorType::kPwm ? this->cfg_.safe_state : 255) : 0;
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

bool ActuatorSafety::tick(uint64_t now_ms) { return this->fire_until(now_ms); }

uint32_t ActuatorSafety::activations_in_window(uint64_t now_ms, uint64_t &oldest_ms) const {
  uint32_t count = 0;
  oldest_ms = kNever;
  for (uint8_t i = 0; i < this->ring_len_; i++) {
    uint64_t t = this->ring_[(this->ring_head_ + kActivationRing - 1 - i) % kActivationRing];
    if (now_ms - t < kHourMs) {
      count++;
      oldest_ms = t;
    }
  }
  if (this->cfg_.max_per_hour > kActivationRing) {
    // Minute buckets: counts activations of the current and the previous 59 minutes.
    uint32_t minute = static_cast<uint32_t>(now_ms / 60000ULL);
    count = 0;
    for (int i = 0; i < 60; i++) {
      if (minute - this->minute_stamp_[i] < 60) count += this->minute_counts_[i];
    }
  }
  return count;
}

uint64_t ActuatorSafety::rate_wait_ms(uint64_t now_ms) const {
  // Activations inside the window, newest first; the command may succeed when only
  // max_per_hour - 1 of them are left, i.e. when the max_per_hour-th newest one leaves.
  uint32_t seen = 0;
  for (uint8_t i = 0; i < this->ring_len_; i++) {
    uint64_t t = this->ring_[(this->ring_head_ + kActivationRing - 1 - i) % kActivationRing];
    if (now_ms - t >= kHourMs) break;
    seen++;
    if (seen == this->cfg_.max_per_hour) return t + kHourMs - now_ms;
  }
  return 0;
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
      uint64_t oldest = 0;
      uint32_t count = this->activations_in_window(now_ms, oldest);
      if (count >= this->cfg_.max_per_hour) {
        rate_refused = true;
        // The window frees a slot when the (count - max + 1)-th oldest activation leaves it.
        if (this->cfg_.max_per_hour <= kActivationRing) rate_wait = this->rate_wait_ms(now_ms);
      }
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
    this->ring_[this->ring_head_] = now_ms;
    this->ring_head_ = static_cast<uint8_t>((this->ring_head_ + 1) % kActivationRing);
    if (this->ring_len_ < kActivationRing) this->ring_len_++;
    uint32_t minute = static_cast<uint32_t>(now_ms / 60000ULL);
    int slot = static_cast<int>(minute % 60);
    if (this->minute_stamp_[slot] != minute) {
      this->minute_stamp_[slot] = minute;
      this->minute_counts_[slot] = 0;
    }
    this->minute_counts_[slot]++;
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
