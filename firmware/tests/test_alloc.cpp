// Counts heap allocations in the steady-state loop: after setup, 10,000 loop iterations with
// readings, heartbeats, commands, processed values, a link loss with buffering and replay.
// Every operator new and malloc of the process is counted while `g_counting` is set.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "a1/device.h"
#include "posix_hal.h"

namespace {
volatile bool g_counting = false;
volatile unsigned long g_allocs = 0;
}  // namespace

void *operator new(size_t n) {
  if (g_counting) g_allocs = g_allocs + 1;
  void *p = malloc(n == 0 ? 1 : n);
  if (p == nullptr) abort();
  return p;
}
void *operator new[](size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }
void operator delete[](void *p, size_t) noexcept { free(p); }

// malloc family: glibc exports __libc_* so the counting wrappers need no dlsym.
extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n) {
  if (g_counting) g_allocs = g_allocs + 1;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (g_counting) g_allocs = g_allocs + 1;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (g_counting) g_allocs = g_allocs + 1;
  return __libc_realloc(p, n);
}
}

using namespace a1;

int main() {
  static posix::FakeMqtt mqtt;
  static posix::PosixBoard board(true, "alloc", mqtt);
  board.system.set_quiet(true);
  board.clock.set_unix_base(1795000000000ULL);
  Hal hal = board.hal();
  DeviceOptions options;
  options.esp_id = "esp-alloc";
  static Device device(hal, options);
  if (!device.setup()) return 2;
  device.loop();
  mqtt.inject("kaiser/god/esp/esp-alloc/config",
              "{\"v\":1,\"version\":1,\"heartbeat_s\":5,\"sensors\":["
              // pH processed on the device, compensated by the DS18B20; the SHT31 processed too.
              "{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000,\"mode\":\"processed\",\"proc\":{\"kind\":\"ph\","
              "\"adc\":\"esp32_11db\",\"k\":[298.15,1500,-177.5],\"cal\":false,\"temp\":4,\"unit\":\"pH\"}},"
              "{\"gpio\":4,\"type\":\"ds18b20\",\"interval_ms\":3000,\"addr\":\"28ff641e8216c3a1\"},"
              "{\"gpio\":21,\"type\":\"sht31\",\"interval_ms\":2000,\"scl\":22,\"mode\":\"processed\"},"
              "{\"gpio\":27,\"type\":\"digital\",\"interval_ms\":2000}],"
              "\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30,\"cooldown_s\":10,"
              "\"max_per_hour\":100,\"failsafe_s\":20},{\"gpio\":18,\"type\":\"pwm\"}]}");

  // Probe: the counter sees an allocation (so a 0 below means something).
  static void *volatile sink;
  g_allocs = 0;
  g_counting = true;
  sink = malloc(32);
  g_counting = false;
  free(sink);
  if (g_allocs != 1) {
    printf("allocation counter does not work (%lu)\n", static_cast<unsigned long>(g_allocs));
    return 1;
  }

  g_allocs = 0;
  g_counting = true;
  for (int i = 0; i < 10000; i++) {
    board.clock.advance(100);
    if (i % 500 == 0) mqtt.inject("kaiser/god/esp/esp-alloc/actuator/5/command", "{\"v\":1,\"action\":\"pulse\",\"duration_s\":5}");
    if (i % 700 == 0) mqtt.inject("kaiser/god/esp/esp-alloc/actuator/18/command", "{\"v\":1,\"action\":\"set\",\"value\":77}");
    if (i % 900 == 0) mqtt.inject("kaiser/god/esp/esp-alloc/sensor/34/processed", "{\"v\":1,\"value\":6.9,\"unit\":\"pH\",\"quality\":\"good\"}");
    if (i == 3000) mqtt.drop();                       // link loss: readings go to the buffer
    if (i == 3000) mqtt.set_accept(false);
    if (i == 4000) mqtt.set_accept(true);             // reconnect: replay
    if (i == 6000) mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"stop\"}");
    if (i == 6500) mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"clear\"}");
    device.loop();
  }
  g_counting = false;
  const DeviceStats &st = device.stats();
  printf("loop iterations: 10000, readings: %u, published: %u, replayed: %u, reconnects: %u\n", st.readings, st.published,
         st.replayed, st.connects);
  printf("steady-state-allocs: %lu\n", static_cast<unsigned long>(g_allocs));
  if (st.readings < 1000 || st.replayed == 0 || st.connects < 2) {
    printf("the loop did not exercise what it should\n");
    return 1;
  }
  return g_allocs == 0 ? 0 : 1;
}
