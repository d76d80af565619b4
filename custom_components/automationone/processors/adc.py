"""ESP32 SAR ADC: 12-bit counts to millivolts, with attenuation and non-linearity correction.

Model (ESP-IDF v4 `esp_adc_cal`, ESP32, characterised with the default Vref of 1100 mV when the
eFuse holds no calibration):

- linear part for every attenuation: `mV = Vref * scale[atten] / 4096 / 65536 * count +
  offset[atten]` with `scale = 57431, 76236, 105481, 196602` and `offset = 75, 78, 107, 142` mV
  for 0, 2.5, 6 and 11 dB (ADC1);
- at 11 dB the top of the range compresses: from count 2880 on, ESP-IDF interpolates a lookup
  table measured at Vref 1000 and 1200 mV in steps of 64 counts (`lut_adc1_low/high`), blending
  from the linear line over the first step (2880-2944). We use the table at Vref 1100 mV (the
  mean of both) the same way.

The recommended input ranges (ESP32 datasheet section 4.1.2 / ESP-IDF ADC docs) are 100-950 mV
(0 dB), 100-1250 mV (2.5 dB), 150-1750 mV (6 dB) and 150-2450 mV (11 dB). Counts 0 and 4095
are the rails: the true voltage is at or beyond the end of the range, so such a reading is
`suspect` (sensor-specific processors may escalate it to `bad`). A count outside 0-4095 or not
finite is `bad`.

All 4096 integer counts are tabulated once per attenuation (`millivolt_table`), so one reading
is a table lookup and a batch is one `np.take`. Processors select the model with their `adc`
parameter (ADC_MODELS).
"""

from __future__ import annotations

from functools import cache
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .base import Q_BAD, Q_GOOD, Q_SUSPECT, FloatArray, QualityArray

ADC_MAX: Final = 4095
ADC_COUNTS: Final = 4096
DEFAULT_VREF_MV: Final = 1100.0
IDEAL_FULL_SCALE_MV: Final = 3300.0
# ADC models a processor's `adc` parameter selects: the ESP32 at each attenuation (esp32_11db:
# ESP32-WROOM-32 / DevKit boards with Arduino's or ESPHome's default attenuation), the ESP32-C3
# at 11 dB (XIAO ESP32-C3), or an ideal linear 0-3.3 V converter (external ADCs that report
# count / 4095 * 3300 mV).
ADC_MODELS: Final = (
    "esp32_11db",
    "esp32_6db",
    "esp32_2_5db",
    "esp32_0db",
    "esp32c3_11db",
    "linear_3v3",
)
# ESP32-C3 datasheet section 5 "ADC characteristics": at 11 dB the measuring range is
# 0-2500 mV; its eFuse-calibrated characteristic is close to linear, so the model is
# count / 4095 * 2500 mV (approximate: calibrate for accuracy).
C3_FULL_SCALE_MV: Final = 2500.0
DEFAULT_ADC_MODEL: Final = "esp32_11db"
_MODEL_ATTENUATION: Final = {
    "esp32_0db": 0.0,
    "esp32_2_5db": 2.5,
    "esp32_6db": 6.0,
    "esp32_11db": 11.0,
}
_SCALE: Final = {0.0: 57431, 2.5: 76236, 6.0: 105481, 11.0: 196602}
_OFFSET_MV: Final = {0.0: 75.0, 2.5: 78.0, 6.0: 107.0, 11.0: 142.0}
RECOMMENDED_RANGE_MV: Final = {
    0.0: (100.0, 950.0),
    2.5: (100.0, 1250.0),
    6.0: (150.0, 1750.0),
    11.0: (150.0, 2450.0),
}
_LUT_LOW_THRESH: Final = 2880
_LUT_STEP: Final = 64
_LUT_ADC1_LOW: Final = (
    2240, 2297, 2352, 2405, 2457, 2512, 2564, 2616, 2664, 2709,
    2754, 2795, 2832, 2868, 2903, 2937, 2969, 3000, 3030, 3060,
)  # fmt: skip
_LUT_ADC1_HIGH: Final = (
    2667, 2706, 2745, 2780, 2813, 2844, 2873, 2901, 2928, 2956,
    2982, 3006, 3032, 3059, 3084, 3110, 3135, 3160, 3184, 3209,
)  # fmt: skip


def adc_model(value: object) -> str:
    """Validate an `adc` parameter (one of ADC_MODELS)."""
    if value is None:
        return DEFAULT_ADC_MODEL
    if not isinstance(value, str) or value not in ADC_MODELS:
        raise ValueError(f"adc must be one of {ADC_MODELS}, not {value!r}")
    return value


@cache
def millivolt_table(model: str = DEFAULT_ADC_MODEL) -> FloatArray:
    """Millivolts of every count 0-4095 for an ADC model (read-only array)."""
    counts = np.arange(ADC_COUNTS, dtype=np.float64)
    if adc_model(model) in ("linear_3v3", "esp32c3_11db"):
        full = IDEAL_FULL_SCALE_MV if model == "linear_3v3" else C3_FULL_SCALE_MV
        mv = counts * (full / ADC_MAX)
        mv.setflags(write=False)
        return mv
    att = _MODEL_ATTENUATION[model]
    slope = DEFAULT_VREF_MV * _SCALE[att] / ADC_COUNTS / 65536.0
    mv = slope * counts + _OFFSET_MV[att]
    if att == 11.0:
        lut = (np.asarray(_LUT_ADC1_LOW, float) + np.asarray(_LUT_ADC1_HIGH, float)) / 2.0
        grid = _LUT_LOW_THRESH + _LUT_STEP * np.arange(len(lut), dtype=np.float64)
        high = counts >= _LUT_LOW_THRESH
        lut_mv = np.interp(counts[high], grid, lut)
        # blend from the linear line to the table over the first step, as ESP-IDF does
        w = np.clip((counts[high] - _LUT_LOW_THRESH) / _LUT_STEP, 0.0, 1.0)
        mv[high] = (1.0 - w) * mv[high] + w * lut_mv
    mv.setflags(write=False)
    return mv


def adc_model_for(board: str | None) -> str:
    """The `adc` parameter that fits a device, from its announced `board`.

    An ESP32-C3 board reads with its own ADC; everything else is taken to be an ESP32 at 11 dB
    (Arduino's and ESPHome's default attenuation). Simulated devices (the simulator and the
    virtual ESP) make their counts with the same model as the board they pretend to be.
    """
    if board == "seeed_xiao_esp32c3":
        return "esp32c3_11db"
    return DEFAULT_ADC_MODEL


def adc_quality(count: float) -> int:
    """Quality code of one raw count: bad outside 0-4095, suspect at a rail, else good."""
    if not math.isfinite(count) or count < 0 or count > ADC_MAX:
        return Q_BAD
    if count in (0, ADC_MAX):
        return Q_SUSPECT
    return Q_GOOD


def count_to_mv(count: float, model: str = DEFAULT_ADC_MODEL) -> float:
    """Millivolts of one count (clamped to 0-4095; fractional counts interpolate)."""
    table = millivolt_table(model)
    if not math.isfinite(count):
        return math.nan
    c = min(max(count, 0.0), float(ADC_MAX))
    i = int(c)
    if i == c:
        return float(table[i])
    frac = c - i
    return float(table[i] * (1.0 - frac) + table[i + 1] * frac)


def counts_to_mv(counts: npt.NDArray[Any], model: str = DEFAULT_ADC_MODEL) -> FloatArray:
    """Millivolts of an array of counts (integer arrays: one table lookup)."""
    table = millivolt_table(model)
    if np.issubdtype(counts.dtype, np.integer):
        out: FloatArray = np.take(table, np.clip(counts, 0, ADC_MAX))
        return out
    c = counts.astype(np.float64, copy=False)
    return np.interp(c, np.arange(ADC_COUNTS, dtype=np.float64), table).astype(np.float64)


def counts_quality(counts: npt.NDArray[Any]) -> QualityArray:
    """Quality codes of an array of counts (see `adc_quality`)."""
    q = np.zeros(counts.shape, dtype=np.uint8)
    if np.issubdtype(counts.dtype, np.integer):
        q[(counts == 0) | (counts == ADC_MAX)] = Q_SUSPECT
        q[(counts < 0) | (counts > ADC_MAX)] = Q_BAD
        return q
    c = counts.astype(np.float64, copy=False)
    q[(c == 0) | (c == ADC_MAX)] = Q_SUSPECT
    with np.errstate(invalid="ignore"):
        q[~((c >= 0) & (c <= ADC_MAX))] = Q_BAD
    return q


def mv_to_count(mv: float, model: str = DEFAULT_ADC_MODEL) -> float:
    """Inverse of `count_to_mv` (fractional count; clamped to 0-4095). For tests and tools."""
    table = millivolt_table(model)
    return float(np.interp(mv, table, np.arange(ADC_COUNTS, dtype=np.float64)))
