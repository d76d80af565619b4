// On-device actuator safety (docs/protocol.md "Actuator safety on the device"): a pure state
// machine on a millisecond clock. It never touches hardware; ActuatorBank drives the pins.
#pragma once

#include <stdint.h>

#include "a1/protocol.h"

namespace a1 {

enum class Reason : uint8_t { kCommand, kDuration, kMaxRuntime, kEmergency, kFailsafe, kBoot, kConfig };
enum class Refusal : uint8_t { kNone, kCooldown, kRateLimit, kEmergency, kMaxRuntime, kInvalid, kUnknownGpio };
const char *reason_name(Reason r);
const char *refusal_name(Refusal r);

struct CommandResult {
  Refusal refused = Refusal::kNone;
  double until_s = 0;  // with refused: seconds until a command may succeed (0: unknown)
  bool changed = false;
};

// Activation times of a device's rate-limited actuators, newest last: one log for all of them,
// so max_per_hour is exact up to its maximum (3600) without 3600 slots per actuator. Times are
// kept as 32-bit ms and pruned after an hour (prune() runs on every tick, long before they wrap).
class ActivationLog {
 public:
  static constexpr int kCapacity = 4096;
  void prune(uint64_t now_ms);
  void add(uint8_t gpio, uint64_t now_ms);
  void forget(uint8_t gpio);
  // Activations of `gpio` in the hour before `now_ms`; `wait_ms` is the time until fewer than
  // `limit` are left (0 when already fewer).
  uint32_t count(uint8_t gpio, uint64_t now_ms, uint32_t limit, uint64_t &wait_ms) const;
  // Full of activations younger than an hour: a new one could not be recorded.
  bool full(uint64_t now_ms, uint64_t &wait_ms) const;

 private:
  uint32_t at(int i) const { return this->ms_[(this->head_ + i) % kCapacity]; }
  uint32_t ms_[kCapacity] = {0};
  uint8_t gpio_[kCapacity] = {0};
  uint16_t head_ = 0;
  uint16_t len_ = 0;
};

class ActuatorSafety {
 public:
  // Starts in safe_state with `reason` (boot or config); activations are recorded in `log`.
  void configure(const ActuatorConfig &cfg, ActivationLog &log, uint64_t now_ms, Reason reason);
  // New limits for the same pin and type (docs/protocol.md "Limit changes"): state, runtime,
  // activations, cooldown, rate history, timers, link and emergency survive; a deadline the new
  // limits put in the past fires now. True if the state changed.
  bool reconfigure(const ActuatorConfig &cfg, uint64_t now_ms);
  const ActuatorConfig &config() const { return this->cfg_; }

  // Fire due timers (duration, max runtime, fail-safe) up to `now_ms`; true if the state changed.
  bool tick(uint64_t now_ms);
  // Caller ticks first (due timers fire before the event at the same instant).
  CommandResult command(const ActuatorCommand &cmd, uint64_t now_ms);
  bool link(bool up, uint64_t now_ms);
  bool emergency(bool stop, uint64_t now_ms);
  bool to_safe(Reason reason, uint64_t now_ms);

  bool on() const { return this->on_; }
  uint8_t value() const { return this->value_; }
  Reason reason() const { return this->reason_; }
  bool in_emergency() const { return this->emergency_; }
  uint32_t activations() const { return this->activations_; }
  double runtime_s(uint64_t now_ms) const;
  // Earliest pending deadline in ms, or UINT64_MAX.
  uint64_t next_deadline() const;

 private:
  void set_state(bool on, uint8_t value, Reason reason, uint64_t at_ms);
  uint8_t safe_value() const;
  bool fire_until(uint64_t now_ms);

  ActuatorConfig cfg_;
  ActivationLog *log_ = nullptr;
  bool on_ = false;
  uint8_t value_ = 0;
  Reason reason_ = Reason::kBoot;
  bool emergency_ = false;
  uint64_t on_since_ms_ = 0;
  // The max-runtime clock runs only while a command keeps the actuator on (not a safe state).
  bool mr_active_ = false;
  uint64_t mr_start_ms_ = 0;
  bool has_duration_ = false;
  uint64_t duration_end_ms_ = 0;
  bool has_last_off_ = false;
  uint64_t last_off_ms_ = 0;
  bool link_down_ = false;
  bool failsafe_done_ = false;
  uint64_t link_down_since_ms_ = 0;
  uint32_t activations_ = 0;
  uint64_t on_total_ms_ = 0;
};

}  // namespace a1
