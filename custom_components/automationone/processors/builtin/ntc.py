"""NTC thermistor in a divider on an ADC pin (`ntc`): beta or Steinhart-Hart."""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ...protocol import Quality
from .. import adc
from ..base import (
    Q_BAD,
    Q_GOOD,
    Q_SUSPECT,
    Calibration,
    FloatArray,
    Param,
    ParamKind,
    Params,
    QualityArray,
    RawValue,
    Result,
)
from ..calibration import Polynomial
from .common import ADC_PARAM, ZERO_C_IN_K, CachedProcessor, TempInput, correction, result_of
from .divider import divider_resistance, divider_resistances


def steinhart_hart_coefficients(
    resistances_ohm: tuple[float, float, float], temperatures_c: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Steinhart-Hart a, b, c through three (R, T) points: 1/T = a + b ln R + c (ln R)^3."""
    ln_r = np.log(np.asarray(resistances_ohm, dtype=np.float64))
    inv_t = 1.0 / (np.asarray(temperatures_c, dtype=np.float64) + ZERO_C_IN_K)
    matrix = np.column_stack([np.ones(3), ln_r, ln_r**3])
    a, b, c = np.linalg.solve(matrix, inv_t)
    return float(a), float(b), float(c)


@dataclass(frozen=True, slots=True)
class _NtcModel:
    adc: str
    supply_mv: float
    series_ohm: float
    low_side: bool
    r0: float
    t0_k: float
    beta: float
    sh: tuple[float, float, float] | None
    poly: Polynomial | None


class NtcProcessor(CachedProcessor[_NtcModel]):
    """NTC thermistor in a voltage divider on an ADC pin.

    Beta model: `1/T = 1/T0 + ln(R/R0)/B`; Steinhart-Hart when `sh_a`, `sh_b`, `sh_c` are all
    non-zero: `1/T = a + b ln R + c (ln R)^3` (T in kelvin; `steinhart_hart_coefficients`
    fits them from three points). Default: 10 kΩ/3950 NTC to GND, 10 kΩ to 3.3 V.
    Quality: rails or a voltage outside the supply (open/short) → `bad`; outside -40..125 °C
    → `suspect`. Optional calibration: polynomial correction of °C.
    """

    id = "ntc"
    display_precision = 1
    name = "NTC thermistor"
    unit = "°C"
    device_class = "temperature"
    device_type = "analog"
    sample_raw = 1700
    params = (
        ADC_PARAM,
        Param("supply_mv", 3300.0, unit="mV"),
        Param("series_ohm", 10000.0, unit="Ω"),
        Param("ntc_position", "low", ParamKind.SELECT, options=("low", "high"),
              description="low: NTC between pin and GND; high: between supply and pin"),
        Param("r0_ohm", 10000.0, unit="Ω", description="NTC resistance at t0"),
        Param("t0_c", 25.0, unit="°C"),
        Param("beta", 3950.0, unit="K"),
        Param("sh_a", 0.0), Param("sh_b", 0.0), Param("sh_c", 0.0),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_NtcModel, bool]:
        sh = (self._num(params, "sh_a"), self._num(params, "sh_b"), self._num(params, "sh_c"))
        return (
            _NtcModel(
                adc=adc.adc_model(self._str(params, "adc")),
                supply_mv=self._num(params, "supply_mv"),
                series_ohm=self._num(params, "series_ohm"),
                low_side=self._str(params, "ntc_position") != "high",
                r0=self._num(params, "r0_ohm"),
                t0_k=self._num(params, "t0_c") + ZERO_C_IN_K,
                beta=self._num(params, "beta"),
                sh=sh if all(sh) else None,
                poly=correction(calibration),
            ),
            True,
        )

    def _uncorrected(self, m: _NtcModel, count: float) -> float:
        r = divider_resistance(adc.count_to_mv(count, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        if not r > 0.0:
            return math.nan
        ln_r = math.log(r)
        if m.sh is not None:
            inv_t = m.sh[0] + m.sh[1] * ln_r + m.sh[2] * ln_r**3
        else:
            inv_t = 1.0 / m.t0_k + (ln_r - math.log(m.r0)) / m.beta
        return 1.0 / inv_t - ZERO_C_IN_K

    def calibration_value(self, raw: RawValue) -> float:
        """The uncorrected °C of a count."""
        m, _ = self.model(None, None)
        return math.nan if isinstance(raw, tuple) else self._uncorrected(m, float(raw))

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → °C."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        if adc.adc_quality(count) != Q_GOOD:
            return Result(None, self.unit, Quality.BAD)
        celsius = self._uncorrected(m, count)
        if not math.isfinite(celsius):
            return Result(None, self.unit, Quality.BAD)
        if m.poly is not None:
            celsius = m.poly(celsius)
        q = Q_GOOD if -40.0 <= celsius <= 125.0 else Q_SUSPECT
        return result_of(celsius, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → °C."""
        m, _ = self.model(calibration, params)
        r = divider_resistances(adc.counts_to_mv(raw, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        with np.errstate(invalid="ignore", divide="ignore"):
            ln_r = np.log(r)
            if m.sh is not None:
                inv_t = m.sh[0] + m.sh[1] * ln_r + m.sh[2] * ln_r**3
            else:
                inv_t = 1.0 / m.t0_k + (ln_r - math.log(m.r0)) / m.beta
            celsius = 1.0 / inv_t - ZERO_C_IN_K
        if m.poly is not None:
            celsius = m.poly.apply(celsius)
        q = np.where((celsius >= -40.0) & (celsius <= 125.0), Q_GOOD, Q_SUSPECT).astype(np.uint8)
        bad = (adc.counts_quality(raw) != Q_GOOD) | ~np.isfinite(celsius)
        q[bad] = Q_BAD
        celsius[bad] = np.nan
        return celsius, q
