// Stack high-water of the core on the emulated Cortex-M4 (qemu mps2-an386, semihosting): the
// stack below main's frame is painted, one phase runs, the deepest overwritten word is found.
// Phases: setup (the boot sequence restoring the largest stored config), config (that config
// arriving over MQTT: parse, apply, ack), loop (2,000 passes: sensors, heartbeats, commands).
// Prints `firmware-stack: setup=.. config=.. loop=..` in bytes.
#include <stdint.h>
#include <stdio.h>

#include "full_config.h"
#include "stub_hal.h"

extern "C" char __stack[];       // top of the stack (picolibc.ld)
extern "C" char __stack_size[];  // its size (--defsym), as an absolute symbol

namespace {
constexpr uint32_t kPaint = 0xA5A5A5A5u;

a1_tools::StubBoard g_board;
a1::DeviceOptions g_options;
a1::Device g_device(g_board.hal, g_options);
a1::Boot g_boot(g_board.hal, g_device, g_board.network);
char g_config[4096];

__attribute__((always_inline)) inline uintptr_t stack_pointer() {
  uintptr_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

uint32_t *stack_bottom() { return reinterpret_cast<uint32_t *>(__stack - reinterpret_cast<uintptr_t>(__stack_size)); }

__attribute__((noinline)) void paint() {
  uintptr_t limit = stack_pointer() - 64;
  for (uint32_t *p = stack_bottom(); reinterpret_cast<uintptr_t>(p) < limit; p++) *p = kPaint;
}

__attribute__((noinline)) uint32_t used_below(uintptr_t base) {
  uint32_t *p = stack_bottom();
  while (*p == kPaint) p++;
  return static_cast<uint32_t>(base - reinterpret_cast<uintptr_t>(p));
}
}  // namespace

int main() {
  size_t len = a1_tools::build_full_config(g_config, sizeof(g_config), 7);
  if (len == 0) return 2;
  g_board.storage.set_config(g_config, len);
  uintptr_t base = stack_pointer();

  paint();
  bool ok = g_boot.setup();
  uint32_t setup = used_below(base);

  a1_tools::build_full_config(g_config, sizeof(g_config), 8);
  paint();
  g_board.mqtt.deliver("kaiser/god/esp/esp-030405/config", g_config, len);
  uint32_t config = used_below(base);

  static const char kOn[] = "{\"v\":1,\"action\":\"pulse\",\"duration_s\":5,\"cmd_id\":\"c-1\"}";
  paint();
  for (int i = 0; i < 2000; i++) {
    if (i % 100 == 0) g_board.mqtt.deliver("kaiser/god/esp/esp-030405/actuator/4/command", kOn, sizeof(kOn) - 1);
    g_boot.loop();
  }
  uint32_t loop = used_below(base);

  if (!ok || g_device.config_version() != 8 || g_device.actuator_count() != a1_tools::kFullActuators) {
    printf("stack_usage: the phases did not run (config %u, %d actuators)\n", static_cast<unsigned>(g_device.config_version()),
           g_device.actuator_count());
    return 1;
  }
  printf("firmware-stack: setup=%u config=%u loop=%u\n", static_cast<unsigned>(setup), static_cast<unsigned>(config),
         static_cast<unsigned>(loop));
  return 0;
}
