// No-op HAL for the microcontroller builds of the core (tools/mcu_main.cpp: the size image for
// Cortex-M4 and rv32imc; tools/stack_usage.cpp: stack figures on the emulated Cortex-M4). The
// MQTT stub is always connected and lets the caller deliver messages; the storage stub holds
// one blob the caller sets (the stored config).
#pragma once

#include <string.h>

#include "a1/boot.h"
#include "a1/device.h"

namespace a1_tools {

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
  bool read(uint8_t) override { return true; }
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
  void set_config(const char *blob, size_t len) {
    this->blob_ = blob;
    this->len_ = len;
  }
  bool load(const char *key, uint8_t *buf, size_t cap, size_t &len) override {
    if (this->blob_ == nullptr || strcmp(key, "config") != 0 || this->len_ > cap) return false;
    memcpy(buf, this->blob_, this->len_);
    len = this->len_;
    return true;
  }
  bool save(const char *, const uint8_t *, size_t) override { return true; }
  void erase_all() override {}

 private:
  const char *blob_ = nullptr;
  size_t len_ = 0;
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
class StubNetwork : public a1::Network {
 public:
  bool has_credentials() override { return true; }
  void start_station() override {}
  bool open_portal(const char *, const char *) override { return true; }
  a1::PortalEvent portal_loop() override { return a1::PortalEvent::kNone; }
  void close_portal() override {}
  void random(uint8_t *out, size_t len) override {
    for (size_t i = 0; i < len; i++) out[i] = static_cast<uint8_t>(i * 37 + 11);
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

// Everything wired together; static storage only (the device id is esp-030405).
struct StubBoard {
  StubClock clock;
  StubGpio gpio;
  StubAdc adc;
  StubPwm pwm;
  StubOneWire onewire;
  StubI2c i2c;
  StubStorage storage;
  StubMqtt mqtt;
  StubWifi wifi;
  StubNetwork network;
  StubSystem system;
  a1::Hal hal{&clock, &gpio, &adc, &pwm, &onewire, &i2c, &storage, &mqtt, &wifi, &system};
};

}  // namespace a1_tools

// No heap in the core: deleting destructors of these static objects are never called. The core
// is built without the C++ runtime library (rv32 has none in Debian), so it supplies these.
#if defined(__ARM_EABI__)
// Registers the static objects' destructors (never run: main does not return); libsupc++ has
// it on ARM, picolibc has the __cxa_atexit it forwards to.
extern "C" int __cxa_atexit(void (*dtor)(void *), void *obj, void *dso);
extern "C" int __aeabi_atexit(void *obj, void (*dtor)(void *), void *dso) { return __cxa_atexit(dtor, obj, dso); }
#endif
extern "C" void __cxa_pure_virtual() {
  for (;;) {
  }
}
void operator delete(void *) noexcept {}
void operator delete(void *, unsigned int) noexcept {}
