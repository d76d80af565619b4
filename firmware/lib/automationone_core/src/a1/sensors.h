// Sensor scheduling and raw reading through the HAL: ADC, digital, DS18B20, SHT31.
#pragma once

#include <stdint.h>

#include "a1/boards.h"
#include "a1/component.h"
#include "a1/hal.h"
#include "a1/protocol.h"
#include "a1/readings.h"

namespace a1 {

enum class ReadMethod : uint8_t { kNone, kAdc, kDigital, kOneWire, kSht31 };

// The read method a sensor type needs; kNone for a type this firmware cannot read.
ReadMethod read_method_for(const char *type);
uint8_t dallas_crc8(const uint8_t *data, int len);
uint8_t sht31_crc8(const uint8_t *data, int len);

class ReadingSink {
 public:
  virtual ~ReadingSink() = default;
  virtual void on_reading(const Reading &r) = 0;
};

class SensorBank : public Component {
 public:
  static constexpr uint32_t kDs18b20ConversionMs = 750;
  static constexpr uint32_t kSht31MeasureMs = 20;

  SensorBank(const Hal &hal, ReadingSink &sink) : hal_(hal), sink_(sink) {}
  void clear() { this->count_ = 0; }
  // Adds a validated sensor; false when full.
  bool add(const SensorConfig &cfg, ReadMethod method, uint64_t now_ms);
  void loop() override;
  // The earliest sample or conversion end due (UINT64_MAX with no sensors).
  uint64_t next_due_ms() const;
  int count() const { return this->count_; }
  // Processed value sent back by HA (sensor/{gpio}/processed).
  void set_processed(uint8_t gpio, double value);
  bool processed(uint8_t gpio, double &value) const;
  // The latest temperature (°C) a DS18B20, SHT31 or on-device NTC on `gpio` measured.
  bool temperature(uint8_t gpio, double &celsius) const;

 private:
  struct Slot {
    SensorConfig cfg;
    ReadMethod method = ReadMethod::kNone;
    uint64_t next_due_ms = 0;
    uint64_t phase_due_ms = 0;  // second phase (conversion done) or 0
    uint8_t rom[8] = {0};
    bool has_rom = false;
    uint8_t i2c_addr = 0;
    bool has_processed = false;
    double processed = 0;
  };
  void sample(Slot &s, uint64_t now_ms);
  void finish(Slot &s, uint64_t now_ms);
  void onewire_select(const Slot &s);
  void emit(Reading &r, const Slot &s, uint64_t now_ms);
  void emit_processed(Reading &r, const Slot &s, double raw, uint64_t now_ms);
  void set_temperature(uint8_t gpio, double celsius);

  const Hal &hal_;
  ReadingSink &sink_;
  Slot slots_[kMaxSensors];
  int count_ = 0;
  // For temperature compensation on the device (proc.temp): the latest good °C per pin.
  double temp_c_[kMaxGpio + 1] = {0};
  bool has_temp_[kMaxGpio + 1] = {false};
};

}  // namespace a1
