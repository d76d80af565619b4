// On-device processing (docs/protocol.md "On-device processing"): the physical value and quality
// of a raw reading, from the `proc` object HA pushes in the config. HA derives every number
// (calibration fits, parameters); the device only evaluates, exactly as the integration's
// processors do (custom_components/automationone/processors/builtin.py), pinned by
// tests/vectors/processors/on_device.json.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

enum class ProcKind : uint8_t { kNone, kAnalog, kLinear, kPh, kEc, kNtc, kLight, kSoil, kLevel };
enum class AdcModel : uint8_t { kEsp32_11db, kEsp32_6db, kEsp32_2_5db, kEsp32_0db, kEsp32c3_11db, kLinear3v3 };
// Ordered by severity, as the integration's quality codes.
enum class Quality : uint8_t { kGood, kUncalibrated, kSuspect, kStale, kBad };

const char *quality_name(Quality q);
bool proc_kind_from_name(const char *name, size_t len, ProcKind &out);
bool adc_model_from_name(const char *name, size_t len, AdcModel &out);

struct Processing {
  static constexpr int kMaxK = 16;
  static constexpr int kMaxPoly = 8;
  ProcKind kind = ProcKind::kNone;
  AdcModel adc = AdcModel::kEsp32_11db;
  double k[kMaxK] = {0};
  double poly[kMaxPoly] = {0};  // highest degree first (numpy.polyval order)
  uint8_t nk = 0;
  uint8_t npoly = 0;
  bool calibrated = true;
  int8_t temp_gpio = -1;  // the device's temperature sensor for compensation, -1: none
  char unit[65] = {0};  // up to 16 code points
};

struct ProcResult {
  bool has_value = false;
  double value = 0;
  Quality quality = Quality::kBad;
};

// Millivolts at the pin for an ADC count (ESP-IDF's esp_adc_cal model for the ESP32, ideal
// linear for the others), as the integration's processors/adc.py computes them.
double adc_mv(double count, AdcModel model);
// `temp_c` is used by pH and EC when `has_temp` (the latest value of proc.temp's sensor).
ProcResult process_reading(const Processing &p, double raw, bool has_temp, double temp_c);

}  // namespace a1
