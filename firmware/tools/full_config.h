// The largest config the figures use: 16 actuators (every kind, limits set, half inverted) and
// 6 analog sensors on esp32dev pins the GPIO safe-mode accepts. Used by boot_timing (host) and
// stack_usage (emulated Cortex-M4).
#pragma once

#include <stddef.h>
#include <stdio.h>

namespace a1_tools {

constexpr int kFullActuatorPins[] = {2, 4, 5, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27};
constexpr int kFullActuators = sizeof(kFullActuatorPins) / sizeof(kFullActuatorPins[0]);
constexpr int kFullSensorPins[] = {32, 33, 34, 35, 36, 39};

inline size_t build_full_config(char *out, size_t cap, int version) {
  static const char *const kTypes[] = {"relay", "pump", "valve", "pwm"};
  size_t n = static_cast<size_t>(snprintf(out, cap, "{\"v\":1,\"version\":%d,\"sensors\":[", version));
  for (size_t i = 0; i < sizeof(kFullSensorPins) / sizeof(kFullSensorPins[0]) && n < cap; i++) {
    n += static_cast<size_t>(snprintf(out + n, cap - n, "%s{\"gpio\":%d,\"type\":\"ph\",\"interval_ms\":5000}",
                                      i ? "," : "", kFullSensorPins[i]));
  }
  if (n < cap) n += static_cast<size_t>(snprintf(out + n, cap - n, "],\"actuators\":["));
  for (int i = 0; i < kFullActuators && n < cap; i++) {
    n += static_cast<size_t>(snprintf(out + n, cap - n,
                                      "%s{\"gpio\":%d,\"type\":\"%s\",\"max_runtime_s\":600,\"cooldown_s\":30,"
                                      "\"max_per_hour\":20,\"failsafe_s\":60,\"inverted\":%s}",
                                      i ? "," : "", kFullActuatorPins[i], kTypes[i % 4], i % 2 ? "true" : "false"));
  }
  if (n < cap) n += static_cast<size_t>(snprintf(out + n, cap - n, "]}"));
  return n < cap ? n : 0;
}

}  // namespace a1_tools
