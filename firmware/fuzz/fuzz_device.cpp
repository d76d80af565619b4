// libFuzzer target: config intake and every message a device subscribes to, on the whole
// device (POSIX HAL, in-process MQTT, manual clock). The first byte picks the topic and how
// far the clock moves; the rest is the payload. One device lives across inputs, as on a board.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "a1/device.h"
#include "posix_hal.h"

namespace {
const char *const kTopics[] = {
    "kaiser/god/esp/esp-fuzz/config",
    "kaiser/god/esp/esp-fuzz/actuator/5/command",
    "kaiser/god/esp/esp-fuzz/actuator/18/command",
    "kaiser/god/esp/esp-fuzz/system/command",
    "kaiser/god/esp/esp-fuzz/emergency",
    "kaiser/god/broadcast/emergency",
    "kaiser/god/esp/esp-fuzz/sensor/34/processed",
    "kaiser/god/esp/esp-fuzz/actuator/99/command",
};
constexpr size_t kTopicCount = sizeof(kTopics) / sizeof(kTopics[0]);

struct Rig {
  a1::posix::FakeMqtt mqtt;
  a1::posix::PosixBoard board{true, "fuzz", mqtt};
  a1::Hal hal = board.hal();
  a1::Device *dev = nullptr;
  Rig() {
    this->board.system.set_quiet(true);
    this->board.clock.set_unix_base(1795000000000ULL);
    a1::DeviceOptions o;
    o.esp_id = "esp-fuzz";
    this->dev = new a1::Device(this->hal, o);  // lives for the whole run
    this->dev->setup();
    this->dev->loop();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Rig rig;
  if (size < 1) return 0;
  const char *topic = kTopics[data[0] % kTopicCount];
  rig.dev->on_message(topic, data + 1, size - 1);
  rig.board.clock.advance((data[0] >> 3) * 250u);  // 0-7.75 s: timers, fail-safe, heartbeats
  rig.dev->loop();
  // A `move` takes the device below another root, which the topics above no longer reach:
  // move it back (on its new root), or every later input would be ignored.
  if (strcmp(rig.dev->kaiser_id(), "god") != 0) {
    static const char kBack[] = "{\"v\":1,\"cmd\":\"move\",\"kaiser_id\":\"god\"}";
    char topic_back[a1::kTopicCap];
    if (a1::build_topic(topic_back, sizeof(topic_back), rig.dev->kaiser_id(), rig.dev->esp_id(),
                        a1::TopicKind::kSystemCommand)) {
      rig.dev->on_message(topic_back, reinterpret_cast<const uint8_t *>(kBack), sizeof(kBack) - 1);
      rig.dev->loop();
    }
  }
  return 0;
}
