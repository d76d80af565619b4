#include "safety.h"

#include <algorithm>
#include <cmath>

namespace esphome {
namespace automationone {

static const uint64_t HOUR_MS = 3600000ULL;
static const uint64_t NEVER = UINT64_MAX;

const char *reason_str(Reason reason) {
  switch (reason) {
    case Reason::COMMAND:
      return "command";
    case Reason::DURATION:
      return "duration";
    case Reason::MAX_RUNTIME:
      return "max_runtime";
    case Reason::EMERGENCY:
      return "emergency";
    case Reason::FAILSAFE:
      return "failsafe";
    case Reason::BOOT:
      return "boot";
    case Reason::CONFIG:
      return "config";
  }
  return "command";
}

const char *refusal_str(Refusal refusal) {
  switch (refusal) {
    case Refusal::NONE:
      return nullptr;
    case Refusal::COOLDOWN:
      return "cooldown";
    case Refusal::RATE_LIMIT:
      return "rate_limit";
    case Refusal::EMERGENCY:
      return "emergency";
    case Refusal::MAX_RUNTIME:
      return "max_runtime";
    case Refusal::INVALID:
      return "invalid";
    case Refusal::UNKNOWN_GPIO:
      return "unknown_gpio";
  }
  return nullptr;
}

// --- Actuator --------------------------------------------------------------------------------

double Actuator::runtime_s(uint64_t now_ms) const {
  uint64_t total = this->runtime_ms_;
  if (this->value_ > 0 && now_ms > this->on_since_ms_)
    total += now_ms - this->on_since_ms_;
  return static_cast<double>(total) / 1000.0;
}

float Actuator::level() const {
  float level = static_cast<float>(this->value_) / 255.0f;
  return this->limits_.inverted ? 1.0f - level : level;
}

void Actuator::set_value_(uint8_t value, uint64_t at_ms) {
  if (this->value_ == 0 && value > 0) {
    this->on_since_ms_ = at_ms;
  } else if (this->value_ > 0 && value == 0) {
    // An on->off transition: on-time and the cooldown start.
    if (at_ms > this->on_since_ms_)
      this->runtime_ms_ += at_ms - this->on_since_ms_;
    this->has_off_ = true;
    this->last_off_ms_ = at_ms;
  }
  this->value_ = value;
}

void Actuator::clear_timers_() {
  this->held_ = false;
  this->has_duration_ = false;
}

void Actuator::to_safe(Reason reason, uint64_t now_ms) {
  uint8_t safe = this->limits_.safe_state;
  if (!this->limits_.pwm && safe > 0)
    safe = 255;
  this->set_value_(safe, now_ms);
  this->reason_ = reason;
  this->clear_timers_();
}

bool Actuator::fire_due(uint64_t now_ms, bool emergency, bool link_down, uint64_t link_down_ms) {
  bool changed = false;
  while (true) {
    uint64_t duration = NEVER, runtime = NEVER, failsafe = NEVER;
    if (this->held_ && this->value_ > 0) {
      if (this->has_duration_)
        duration = this->duration_end_ms_;
      if (this->limits_.max_runtime_s > 0)
        runtime = this->held_since_ms_ + uint64_t{this->limits_.max_runtime_s} * 1000;
    }
    if (link_down && this->limits_.failsafe_s > 0 && !this->failsafe_done_)
      failsafe = link_down_ms + uint64_t{this->limits_.failsafe_s} * 1000;
    uint64_t first = std::min(duration, std::min(runtime, failsafe));
    if (first == NEVER || first > now_ms)
      return changed;
    if (duration == first || runtime == first) {
      // A duration ending exactly at the max-runtime deadline reports `duration`.
      this->set_value_(0, first);
      this->reason_ = duration == first ? Reason::DURATION : Reason::MAX_RUNTIME;
      this->clear_timers_();
    } else {
      this->failsafe_done_ = true;
      if (!emergency)
        this->to_safe(Reason::FAILSAFE, first);
    }
    changed = true;
  }
}

CommandOutcome Actuator::command(const ActuatorCommand &cmd, bool emergency, uint64_t now_ms) {
  CommandOutcome outcome;
  outcome.cmd_id = cmd.cmd_id;
  uint8_t target = 255;
  if (cmd.action == Action::OFF) {
    target = 0;
  } else if (cmd.action == Action::SET) {
    target = cmd.value == 0 ? 0 : (this->limits_.pwm ? static_cast<uint8_t>(cmd.value) : 255);
  }
  if (target == 0) {
    // off and set 0: always accepted, even during an emergency.
    this->set_value_(0, now_ms);
    this->reason_ = Reason::COMMAND;
    this->clear_timers_();
    return outcome;
  }
  if (emergency) {
    outcome.accepted = false;
    outcome.refused = Refusal::EMERGENCY;
    return outcome;
  }
  bool turning_on = this->value_ == 0;
  if (turning_on) {
    uint64_t cooldown_left = 0, rate_left = 0;
    if (this->has_off_ && this->limits_.cooldown_s > 0) {
      uint64_t end = this->last_off_ms_ + uint64_t{this->limits_.cooldown_s} * 1000;
      if (now_ms < end)
        cooldown_left = end - now_ms;
    }
    while (!this->window_.empty() && this->window_.front() + HOUR_MS <= now_ms)
      this->window_.pop_front();
    uint32_t max = this->limits_.max_per_hour;
    if (max > 0 && this->window_.size() >= max) {
      // The oldest activations that must leave the window for one more to fit.
      rate_left = this->window_[this->window_.size() - max] + HOUR_MS - now_ms;
    }
    if (cooldown_left > 0 || rate_left > 0) {
      outcome.accepted = false;
      outcome.refused = cooldown_left > 0 ? Refusal::COOLDOWN : Refusal::RATE_LIMIT;
      outcome.until_s = static_cast<double>(std::max(cooldown_left, rate_left)) / 1000.0;
      return outcome;
    }
    this->activations_++;
    if (max > 0) {
      // Only needed with a rate limit, and never more than max_per_hour entries.
      this->window_.push_back(now_ms);
      while (this->window_.size() > max)
        this->window_.pop_front();
    }
  }
  if (!this->held_) {
    // Turned on, or taking over from an on safe state: the max-runtime clock starts.
    this->held_ = true;
    this->held_since_ms_ = now_ms;
  }
  this->set_value_(target, now_ms);
  this->reason_ = Reason::COMMAND;
  if (cmd.has_duration) {
    this->has_duration_ = true;
    this->duration_end_ms_ = now_ms + static_cast<uint64_t>(std::llround(cmd.duration_s * 1000.0));
  } else {
    this->has_duration_ = false;
  }
  return outcome;
}

// --- SafetyBank ------------------------------------------------------------------------------

Actuator &SafetyBank::add(int gpio, const ActuatorLimits &limits) {
  if (Actuator *existing = this->find(gpio)) {
    existing->set_limits(limits);
    return *existing;
  }
  this->actuators_.emplace_back(gpio, limits);
  return this->actuators_.back();
}

Actuator *SafetyBank::find(int gpio) {
  for (auto &a : this->actuators_) {
    if (a.gpio() == gpio)
      return &a;
  }
  return nullptr;
}

void SafetyBank::notify_(const Actuator &actuator, const CommandOutcome *outcome) {
  if (this->listener_)
    this->listener_(actuator, outcome);
}

void SafetyBank::boot(uint64_t now_ms) {
  for (auto &a : this->actuators_) {
    a.to_safe(Reason::BOOT, now_ms);
    this->notify_(a, nullptr);
  }
}

void SafetyBank::tick(uint64_t now_ms) {
  for (auto &a : this->actuators_) {
    if (a.fire_due(now_ms, this->emergency_, this->link_down_, this->link_down_ms_))
      this->notify_(a, nullptr);
  }
}

CommandOutcome SafetyBank::command(int gpio, const ActuatorCommand &cmd, uint64_t now_ms) {
  this->tick(now_ms);
  Actuator *a = this->find(gpio);
  if (a == nullptr) {
    CommandOutcome outcome;
    outcome.accepted = false;
    outcome.refused = Refusal::UNKNOWN_GPIO;
    outcome.cmd_id = cmd.cmd_id;
    return outcome;
  }
  CommandOutcome outcome = a->command(cmd, this->emergency_, now_ms);
  this->notify_(*a, &outcome);
  return outcome;
}

void SafetyBank::emergency(bool stop, uint64_t now_ms) {
  this->tick(now_ms);
  this->emergency_ = stop;
  if (!stop)
    return;  // clear changes no state and no reason
  for (auto &a : this->actuators_) {
    a.to_safe(Reason::EMERGENCY, now_ms);
    this->notify_(a, nullptr);
  }
}

void SafetyBank::link(bool up, uint64_t now_ms) {
  this->tick(now_ms);
  if (up) {
    this->link_down_ = false;
    return;
  }
  if (this->link_down_)
    return;  // repeated down keeps the first
  this->link_down_ = true;
  this->link_down_ms_ = now_ms;
  for (auto &a : this->actuators_)
    a.arm_failsafe();
}

}  // namespace automationone
}  // namespace esphome
