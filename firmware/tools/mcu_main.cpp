// Link target for the embedded size figures: the whole portable core with no-op HAL stubs
// (stub_hal.h), built for Cortex-M4 (arm-none-eabi + picolibc) and rv32imc (riscv64-unknown-elf
// + picolibc). main() runs what a board runs: the boot sequence, a config, the loop. What the
// ESP32 image adds on top is the Arduino HAL and the Arduino/ESP-IDF libraries.
#include "stub_hal.h"

namespace {
a1_tools::StubBoard g_board;
a1::DeviceOptions g_options;
a1::Device g_device(g_board.hal, g_options);
a1::Boot g_boot(g_board.hal, g_device, g_board.network);
}  // namespace

extern "C" int main() {
  g_boot.setup();
  static const char kConfig[] = "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[]}";
  g_board.mqtt.deliver("kaiser/god/esp/esp-030405/config", kConfig, sizeof(kConfig) - 1);
  for (;;) g_boot.loop();
}
