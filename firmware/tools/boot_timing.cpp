// Power-up timing of the boot sequence (a1/boot) on the host build, measured from outside like
// a logic analyser would: from the call of Boot::setup() to the last actuator pin written to its
// safe state (safe_pins_ms) and to the first network call, when the stored config has been
// applied (config_applied_ms). A full stored config (16 actuators, 6 sensors), no WiFi, real
// clock; the median of 51 power-ups (the worst one mostly measures the machine's scheduler). Prints `firmware-boot: safe_pins_ms=.. config_applied_ms=..`.
// On a board the same sequence logs "boot: actuators safe, stored config applied after N ms".
#include <stdio.h>
#include <string.h>

#include <algorithm>

#include "a1/boot.h"
#include "a1/device.h"
#include "full_config.h"
#include "posix_hal.h"


int main() {
  static char config[4096];
  size_t len = a1_tools::build_full_config(config, sizeof(config), 7);
  constexpr int kRuns = 51;
  static double safe_ms[kRuns];
  static double applied_ms[kRuns];
  for (int run = 0; run < kRuns; run++) {
    static a1::posix::FakeMqtt mqtt;
    a1::posix::PosixBoard *board = new a1::posix::PosixBoard(false, "boot-timing", mqtt);
    board->system.set_quiet(true);
    board->wifi.set_connected(false);
    board->storage.save("config", reinterpret_cast<const uint8_t *>(config), len);
    a1::Hal hal = board->hal();
    a1::DeviceOptions options;
    options.esp_id = "esp-timing";
    a1::Device *device = new a1::Device(hal, options);
    a1::Boot *boot = new a1::Boot(hal, *device, board->network);
    uint64_t t0 = a1::posix::monotonic_us();
    if (!boot->setup()) return 2;
    uint64_t safe = 0;
    for (int pin : a1_tools::kFullActuatorPins) {
      uint64_t w = board->gpio.last_write_us(static_cast<uint8_t>(pin));
      uint64_t p = board->pwm.last_write_us(static_cast<uint8_t>(pin));
      if (w == 0 && p == 0) {
        printf("actuator pin %d was never driven\n", pin);
        return 1;
      }
      if (w > safe) safe = w;
      if (p > safe) safe = p;
    }
    uint64_t net = board->network.first_call_us();
    if (device->actuator_count() != a1_tools::kFullActuators || net == 0 || net < safe) {
      printf("boot order broken: %d actuators, network at %llu us, pins at %llu us\n", device->actuator_count(),
             static_cast<unsigned long long>(net), static_cast<unsigned long long>(safe));
      return 1;
    }
    safe_ms[run] = static_cast<double>(safe - t0) / 1000.0;
    applied_ms[run] = static_cast<double>(net - t0) / 1000.0;
    delete boot;
    delete device;
    delete board;
  }
  std::sort(safe_ms, safe_ms + kRuns);
  std::sort(applied_ms, applied_ms + kRuns);
  printf("firmware-boot: safe_pins_ms=%.3f config_applied_ms=%.3f\n", safe_ms[kRuns / 2], applied_ms[kRuns / 2]);
  return 0;
}
