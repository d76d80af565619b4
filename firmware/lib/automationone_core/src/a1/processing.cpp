#include "a1/processing.h"

#include <math.h>
#include <string.h>

namespace a1 {

namespace {
constexpr double kZeroCInK = 273.15;
constexpr double kReferenceC = 25.0;
constexpr int kAdcMax = 4095;

// ESP-IDF v4 esp_adc_cal (ADC1, default Vref 1100 mV): linear scale/offset per attenuation and,
// at 11 dB, the lookup table (mean of the 1000 and 1200 mV tables) from count 2880 on.
const double kScale[] = {196602, 105481, 76236, 57431};  // 11, 6, 2.5, 0 dB
const double kOffsetMv[] = {142, 107, 78, 75};
constexpr int kLutLow = 2880;
constexpr int kLutStep = 64;
const double kLutAdc1Low[] = {2240, 2297, 2352, 2405, 2457, 2512, 2564, 2616, 2664, 2709,
                              2754, 2795, 2832, 2868, 2903, 2937, 2969, 3000, 3030, 3060};
const double kLutAdc1High[] = {2667, 2706, 2745, 2780, 2813, 2844, 2873, 2901, 2928, 2956,
                               2982, 3006, 3032, 3059, 3084, 3110, 3135, 3160, 3184, 3209};
constexpr int kLutLen = 20;

const char *const kKindNames[] = {"", "analog", "linear", "ph", "ec", "ntc", "light", "soil", "level"};
const char *const kAdcNames[] = {"esp32_11db", "esp32_6db", "esp32_2_5db", "esp32_0db", "esp32c3_11db", "linear_3v3"};
const char *const kQualityNames[] = {"good", "uncalibrated", "suspect", "stale", "bad"};

bool name_is(const char *name, size_t len, const char *want) { return strlen(want) == len && memcmp(name, want, len) == 0; }

// The mV of an integer count: what processors/adc.py tabulates (same operations, same order).
double table_mv(int count, AdcModel model) {
  double c = count;
  if (model == AdcModel::kLinear3v3) return c * (3300.0 / kAdcMax);
  if (model == AdcModel::kEsp32c3_11db) return c * (2500.0 / kAdcMax);
  int att = static_cast<int>(model);
  double slope = 1100.0 * kScale[att] / 4096 / 65536.0;
  double mv = slope * c + kOffsetMv[att];
  if (model != AdcModel::kEsp32_11db || count < kLutLow) return mv;
  // numpy.interp on the grid 2880 + 64 i, then a blend from the line over the first step.
  int j = (count - kLutLow) / kLutStep;
  double lut_mv;
  if (j >= kLutLen - 1) {
    lut_mv = (kLutAdc1Low[kLutLen - 1] + kLutAdc1High[kLutLen - 1]) / 2.0;
  } else {
    double x0 = kLutLow + kLutStep * static_cast<double>(j);
    double x1 = kLutLow + kLutStep * static_cast<double>(j + 1);
    double y0 = (kLutAdc1Low[j] + kLutAdc1High[j]) / 2.0;
    double y1 = (kLutAdc1Low[j + 1] + kLutAdc1High[j + 1]) / 2.0;
    double s = (y1 - y0) / (x1 - x0);
    lut_mv = s * (c - x0) + y0;
  }
  double w = (c - kLutLow) / kLutStep;
  if (w > 1.0) w = 1.0;
  return (1.0 - w) * mv + w * lut_mv;
}

// The integration's adc_quality: bad outside 0-4095, suspect at the rails.
Quality adc_quality(double count) {
  if (!isfinite(count) || count < 0 || count > kAdcMax) return Quality::kBad;
  if (count == 0 || count == kAdcMax) return Quality::kSuspect;
  return Quality::kGood;
}

double horner(const double *c, int n, double x) {
  double y = 0.0;
  for (int i = 0; i < n; i++) y = y * x + c[i];
  return y;
}

double divider_resistance(double mv, double supply_mv, double series_ohm, bool low_side) {
  if (!(0.0 < mv && mv < supply_mv)) return NAN;
  if (low_side) return series_ohm * mv / (supply_mv - mv);
  return series_ohm * (supply_mv - mv) / mv;
}

ProcResult result(double value, Quality q) {
  ProcResult r;
  r.has_value = isfinite(value);
  r.value = r.has_value ? value : 0.0;
  r.quality = q;
  return r;
}

ProcResult bad() { return ProcResult(); }

Quality calibrated_or(const Processing &p, Quality q) {
  return q == Quality::kGood && !p.calibrated ? Quality::kUncalibrated : q;
}

double k_or(const Processing &p, int i) { return i < p.nk ? p.k[i] : 0.0; }
}  // namespace

const char *quality_name(Quality q) { return kQualityNames[static_cast<int>(q)]; }

bool proc_kind_from_name(const char *name, size_t len, ProcKind &out) {
  for (int i = 1; i < static_cast<int>(sizeof(kKindNames) / sizeof(kKindNames[0])); i++) {
    if (name_is(name, len, kKindNames[i])) {
      out = static_cast<ProcKind>(i);
      return true;
    }
  }
  return false;
}

bool adc_model_from_name(const char *name, size_t len, AdcModel &out) {
  for (int i = 0; i < static_cast<int>(sizeof(kAdcNames) / sizeof(kAdcNames[0])); i++) {
    if (name_is(name, len, kAdcNames[i])) {
      out = static_cast<AdcModel>(i);
      return true;
    }
  }
  return false;
}

double adc_mv(double count, AdcModel model) {
  if (!isfinite(count)) return NAN;
  double c = count < 0.0 ? 0.0 : (count > kAdcMax ? static_cast<double>(kAdcMax) : count);
  int i = static_cast<int>(c);
  if (i == c) return table_mv(i, model);
  double frac = c - i;
  return table_mv(i, model) * (1.0 - frac) + table_mv(i + 1, model) * frac;
}

ProcResult process_reading(const Processing &p, double raw, bool has_temp, double temp_c) {
  if (has_temp && !isfinite(temp_c)) has_temp = false;
  const double *poly = p.npoly > 0 ? p.poly : nullptr;
  switch (p.kind) {
    case ProcKind::kAnalog: {
      Quality q = adc_quality(raw);
      if (q == Quality::kBad) return bad();
      double volts = poly ? horner(poly, p.npoly, raw) : adc_mv(raw, p.adc) / 1000.0 * k_or(p, 0);
      return result(volts, q);
    }
    case ProcKind::kLinear: {
      if (!isfinite(raw)) return bad();
      double value = horner(p.poly, p.npoly, raw);
      return result(value, isfinite(value) ? Quality::kGood : Quality::kBad);
    }
    case ProcKind::kPh: {
      if (!(0 < raw && raw < kAdcMax)) return bad();
      double mv = adc_mv(raw, p.adc);
      // Segments: k = cal_k, e7_0, slope_0, then (break, e7, slope) per further segment.
      double off = (mv - k_or(p, 1)) / k_or(p, 2);
      for (int i = 3; i + 2 < p.nk; i += 3) {
        if (off + 7.0 > p.k[i]) off = (mv - p.k[i + 1]) / p.k[i + 2];
      }
      if (has_temp) off *= k_or(p, 0) / (temp_c + kZeroCInK);
      Quality q = p.calibrated ? Quality::kGood : Quality::kUncalibrated;
      if (!(fabs(off) <= 7.0)) q = Quality::kBad;
      return result(off + 7.0, q);
    }
    case ProcKind::kEc: {
      Quality q = adc_quality(raw);
      if (q == Quality::kBad) return bad();
      double ec = k_or(p, 0) * adc_mv(raw, p.adc) + k_or(p, 1);
      if (has_temp) ec = ec / (1.0 + k_or(p, 2) * (temp_c - kReferenceC));
      if (ec < 0.0) {
        ec = 0.0;
        q = Quality::kSuspect;
      }
      return result(ec * k_or(p, 3), calibrated_or(p, q));
    }
    case ProcKind::kNtc: {
      if (adc_quality(raw) != Quality::kGood) return bad();
      double r = divider_resistance(adc_mv(raw, p.adc), k_or(p, 0), k_or(p, 1), k_or(p, 2) != 0.0);
      if (!(r > 0.0)) return bad();
      double ln_r = log(r);
      double inv_t;
      if (k_or(p, 6) != 0.0 && k_or(p, 7) != 0.0 && k_or(p, 8) != 0.0) {
        inv_t = p.k[6] + p.k[7] * ln_r + p.k[8] * pow(ln_r, 3.0);  // Python's ln_r**3
      } else {
        inv_t = 1.0 / k_or(p, 4) + (ln_r - log(k_or(p, 3))) / k_or(p, 5);
      }
      double celsius = 1.0 / inv_t - kZeroCInK;
      if (!isfinite(celsius)) return bad();
      if (poly) celsius = horner(poly, p.npoly, celsius);
      return result(celsius, -40.0 <= celsius && celsius <= 125.0 ? Quality::kGood : Quality::kSuspect);
    }
    case ProcKind::kLight: {
      Quality q = adc_quality(raw);
      if (q == Quality::kBad) return bad();
      double r = divider_resistance(adc_mv(raw, p.adc), k_or(p, 0), k_or(p, 1), k_or(p, 2) != 0.0);
      if (!(r > 0.0)) {
        ProcResult none;
        none.quality = Quality::kSuspect;
        return none;
      }
      double lux = 10.0 * pow(k_or(p, 3) / r, 1.0 / k_or(p, 4));
      if (poly) {
        lux = horner(poly, p.npoly, lux);
        if (!(lux >= 0.0)) lux = lux != lux ? lux : 0.0;
      }
      return result(lux, q);
    }
    case ProcKind::kSoil: {
      Quality q = adc_quality(raw);
      if (q == Quality::kBad) return bad();
      double value = horner(p.poly, p.npoly, raw);
      value = value < 0.0 ? 0.0 : (value > 100.0 ? 100.0 : value);
      if (!(k_or(p, 0) <= raw && raw <= k_or(p, 1))) q = Quality::kSuspect;
      return result(value, calibrated_or(p, q));
    }
    case ProcKind::kLevel: {
      if (!isfinite(raw)) return bad();
      if (k_or(p, 0) != 0.0) {  // an ultrasonic distance below the sensor: tank height - distance
        if (raw <= 0.0) return bad();
        bool outside = raw < k_or(p, 3) || raw > k_or(p, 2);
        return result(k_or(p, 2) - raw, outside ? Quality::kSuspect : Quality::kGood);
      }
      Quality q = adc_quality(raw);
      if (q == Quality::kBad) return bad();
      double level = horner(p.poly, p.npoly, raw);
      if (!(0.0 <= level && level <= k_or(p, 1))) q = Quality::kSuspect;
      return result(level, calibrated_or(p, q));
    }
    case ProcKind::kNone:
      break;
  }
  return bad();
}

}  // namespace a1
