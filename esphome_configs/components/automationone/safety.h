#pragma once
// On-device actuator safety (docs/protocol.md, "Actuator safety on the device"), pinned by
// tests/vectors/safety/timelines.json. Plain C++ on an explicit millisecond clock: the ESPHome
// component feeds it millis(), the host tests a virtual clock.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "protocol.h"

namespace esphome {
namespace automationone {

enum class Reason : uint8_t { COMMAND, DURATION, MAX_RUNTIME, EMERGENCY, FAILSAFE, BOOT, CONFIG };
enum class Refusal : uint8_t { NONE, COOLDOWN, RATE_LIMIT, EMERGENCY, MAX_RUNTIME, INVALID, UNKNOWN_GPIO };

const char *reason_str(Reason reason);
const char *refusal_str(Refusal refusal);  // nullptr for NONE

struct ActuatorLimits {
  bool pwm{false};
  bool inverted{false};  // output level only
  uint8_t safe_state{0};
  uint32_t max_runtime_s{0};  // 0: no limit
  uint32_t cooldown_s{0};
  uint32_t max_per_hour{0};  // 0: no limit
  uint32_t failsafe_s{0};    // 0: no fail-safe
};

struct CommandOutcome {
  bool accepted{true};
  Refusal refused{Refusal::NONE};
  double until_s{-1.0};  // with a refusal: seconds until a command may succeed (< 0: not given)
  std::string cmd_id;
};

class Actuator {
 public:
  Actuator(int gpio, const ActuatorLimits &limits) : gpio_(gpio), limits_(limits) {}

  int gpio() const { return this->gpio_; }
  const ActuatorLimits &limits() const { return this->limits_; }
  /// Limits pushed by a config; the state is left as it is (the caller decides about `config`).
  void set_limits(const ActuatorLimits &limits) { this->limits_ = limits; }

  bool state() const { return this->value_ > 0; }
  uint8_t value() const { return this->value_; }
  Reason reason() const { return this->reason_; }
  uint32_t activations() const { return this->activations_; }
  double runtime_s(uint64_t now_ms) const;
  /// The output level: value/255, inverted if configured.
  float level() const;

  /// To safe_state with `reason` (boot, config, emergency, failsafe). Clears timers.
  void to_safe(Reason reason, uint64_t now_ms);
  /// Fires due timers, each at its own deadline. Returns true if the state or reason changed.
  bool fire_due(uint64_t now_ms, bool emergency, bool link_down, uint64_t link_down_ms);
  CommandOutcome command(const ActuatorCommand &cmd, bool emergency, uint64_t now_ms);
  /// A new link loss period starts: the fail-safe may fire again.
  void arm_failsafe() { this->failsafe_done_ = false; }

 protected:
  void set_value_(uint8_t value, uint64_t at_ms);
  void clear_timers_();

  int gpio_;
  ActuatorLimits limits_;
  uint8_t value_{0};
  Reason reason_{Reason::BOOT};
  uint32_t activations_{0};
  // On-time accounting.
  uint64_t on_since_ms_{0};
  uint64_t runtime_ms_{0};
  // Cooldown: time of the last on->off transition.
  bool has_off_{false};
  uint64_t last_off_ms_{0};
  // Held on by a command: the max-runtime clock and an optional duration.
  bool held_{false};
  uint64_t held_since_ms_{0};
  bool has_duration_{false};
  uint64_t duration_end_ms_{0};
  // Activations within the last 3600 s (bounded by max_per_hour).
  std::deque<uint64_t> window_;
  bool failsafe_done_{false};
};

/// All actuators of a device, the emergency flag and the broker link.
class SafetyBank {
 public:
  /// Called on every status change, accepted command and refusal (`outcome` null for timers,
  /// emergencies and the fail-safe).
  using Listener = std::function<void(const Actuator &, const CommandOutcome *)>;

  Actuator &add(int gpio, const ActuatorLimits &limits);
  Actuator *find(int gpio);
  std::vector<Actuator> &actuators() { return this->actuators_; }
  void set_listener(Listener listener) { this->listener_ = std::move(listener); }

  /// Every actuator to safe_state, reason boot.
  void boot(uint64_t now_ms);
  /// Fire due timers (call often; also called before every event).
  void tick(uint64_t now_ms);
  CommandOutcome command(int gpio, const ActuatorCommand &cmd, uint64_t now_ms);
  void emergency(bool stop, uint64_t now_ms);
  void link(bool up, uint64_t now_ms);
  bool emergency_active() const { return this->emergency_; }
  bool link_up() const { return !this->link_down_; }

 protected:
  void notify_(const Actuator &actuator, const CommandOutcome *outcome);

  std::vector<Actuator> actuators_;
  Listener listener_;
  bool emergency_{false};
  bool link_down_{false};
  uint64_t link_down_ms_{0};
};

}  // namespace automationone
}  // namespace esphome
