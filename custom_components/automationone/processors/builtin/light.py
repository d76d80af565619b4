"""Approximate illuminance from an LDR divider on an ADC pin (`light`)."""

from __future__ import annotations

from dataclasses import dataclass
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
from .common import ADC_PARAM, CachedProcessor, TempInput, correction, result_of
from .divider import divider_resistance, divider_resistances


@dataclass(frozen=True, slots=True)
class _LightModel:
    adc: str
    supply_mv: float
    series_ohm: float
    low_side: bool
    r10: float
    gamma: float
    poly: Polynomial | None


class LightProcessor(CachedProcessor[_LightModel]):
    """Approximate illuminance from an LDR (photoresistor) divider on an ADC pin.

    An LDR follows `R = R10 * (E / 10 lx)^(-gamma)` (GL55xx datasheets give R at 10 lx and the
    slope gamma of log R over log E, ~0.7 for the GL5528), so `E = 10 lx * (R10 / R)^(1/gamma)`.
    Default: GL5528 (R10 = 15 kΩ, gamma = 0.7) between 3.3 V and the pin, 10 kΩ to GND, so more
    light → higher count. This is an approximation (±50 % between parts); a calibration
    (polynomial correction of lux against a lux meter) tightens it. Rails → `suspect`
    (darkness or saturation beyond the divider's range).
    """

    id = "light"
    display_precision = 0
    name = "Light (LDR)"
    unit = "lx"
    device_class = "illuminance"
    device_type = "light"
    sample_raw = 2000
    params = (
        ADC_PARAM,
        Param("supply_mv", 3300.0, unit="mV"),
        Param("series_ohm", 10000.0, unit="Ω"),
        Param("ldr_position", "high", ParamKind.SELECT, options=("high", "low"),
              description="high: LDR between supply and pin; low: between pin and GND"),
        Param("r10_ohm", 15000.0, unit="Ω", description="LDR resistance at 10 lx"),
        Param("gamma", 0.7, minimum=0.3, maximum=1.5),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_LightModel, bool]:
        return (
            _LightModel(
                adc=adc.adc_model(self._str(params, "adc")),
                supply_mv=self._num(params, "supply_mv"),
                series_ohm=self._num(params, "series_ohm"),
                low_side=self._str(params, "ldr_position") == "low",
                r10=self._num(params, "r10_ohm"),
                gamma=self._num(params, "gamma"),
                poly=correction(calibration),
            ),
            True,
        )

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → lux."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        r = divider_resistance(adc.count_to_mv(count, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        if not r > 0.0:
            return Result(None, self.unit, Quality.SUSPECT)
        lux = 10.0 * (m.r10 / r) ** (1.0 / m.gamma)
        if m.poly is not None:
            lux = max(m.poly(lux), 0.0)
        return result_of(lux, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → lux."""
        m, _ = self.model(calibration, params)
        q = adc.counts_quality(raw)
        r = divider_resistances(adc.counts_to_mv(raw, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        with np.errstate(invalid="ignore", divide="ignore"):
            lux = 10.0 * (m.r10 / r) ** (1.0 / m.gamma)
        if m.poly is not None:
            lux = np.maximum(m.poly.apply(lux), 0.0)
        q[(q == Q_GOOD) & ~np.isfinite(lux)] = Q_SUSPECT
        lux[(q == Q_BAD) | ~np.isfinite(lux)] = np.nan
        return lux, q
