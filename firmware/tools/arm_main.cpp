// Link target for the embedded size check: the whole portable core with no-op HAL stubs on a
// Cortex-M4 (arm-none-eabi-g++ + picolibc). What the ESP32 build adds on top is the Arduino HAL
// and the Arduino/ESP-IDF libraries, which this does not measure.
#include "a1/device.h"

namespace {
class StubClock : public a1::Clock {
 public:
  uint64_t millis() override { return this->t_ += 10; }
  uint64_t unix_ms() override { return 0; }

 private:
  uint64_t t_ = 0;
};
class StubGpio : public a1::Gpio {
 public:
  void mode(uint8_t, a1::PinMode) override {}
  void write(uint8_t, bool) override {}
  bool read(uint8_t) override { return false; }
};
class StubAdc : public a1::Adc {
 public:
  int read(uint8_t) override { return 2048; }
};
class StubPwm : public a1::Pwm {
 public:
  bool attach(uint8_t, uint8_t) override { return true; }
  void write(uint8_t, uint8_t) override {}
  void detach(uint8_t) override {}
};
class StubOneWire : public a1::OneWireBus {
 public:
  bool reset(uint8_t) override { return true; }
  void write_byte(uint8_t, uint8_t) override {}
  uint8_t read_byte(uint8_t) override { return 0; }
};
class StubI2c : public a1::I2cBus {
 public:
  bool begin(uint8_t, uint8_t) override { return true; }
  bool write(uint8_t, const uint8_t *, size_t) override { return true; }
  bool read(uint8_t, uint8_t *, size_t) override { return true; }
};
class StubStorage : public a1::Storage {
 public:
  bool load(const char *, uint8_t *, size_t, size_t &) override { return false; }
  bool save(const char *, const uint8_t *, size_t) override { return true; }
  void erase_all() override {}
};
class StubMqtt : public a1::MqttTransport {
 public:
  bool connect(const char *, const a1::Will &) override { return true; }
  bool connected() override { return true; }
  bool publish(const char *, const uint8_t *, size_t, int, bool) override { return true; }
  bool subscribe(const char *, int) override { return true; }
  void loop() override {}
  void deliver(const char *topic, const char *payload, size_t len) {
    this->handler_->on_message(topic, reinterpret_cast<const uint8_t *>(payload), len);
  }
};
class StubWifi : public a1::Wifi {
 public:
  bool connected() override { return true; }
  int rssi() override { return -50; }
  void mac(uint8_t out[6]) override {
    for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(i);
  }
};
class StubSystem : public a1::System {
 public:
  uint32_t heap_free() override { return 0; }
  uint32_t heap_min() override { return 0; }
  void restart() override {}
  void identify() override {}
  void log(const char *) override {}
};

StubClock g_clock;
StubGpio g_gpio;
StubAdc g_adc;
StubPwm g_pwm;
StubOneWire g_onewire;
StubI2c g_i2c;
StubStorage g_storage;
StubMqtt g_mqtt;
StubWifi g_wifi;
StubSystem g_system;
a1::Hal g_hal{&g_clock, &g_gpio, &g_adc, &g_pwm, &g_onewire, &g_i2c, &g_storage, &g_mqtt, &g_wifi, &g_system};
a1::DeviceOptions g_options;
a1::Device g_device(g_hal, g_options);
}  // namespace

// No heap in the core: deleting destructors are never called on these static objects.
void operator delete(void *) noexcept {}
void operator delete(void *, unsigned int) noexcept {}

extern "C" int main() {
  g_device.setup();
  static const char kConfig[] = "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[]}";
  g_mqtt.deliver("kaiser/god/esp/esp-030405/config", kConfig, sizeof(kConfig) - 1);
  for (;;) g_device.loop();
}
