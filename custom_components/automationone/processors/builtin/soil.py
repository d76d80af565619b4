"""Capacitive soil moisture (`soil_moisture`) between a dry and a wet count."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ...protocol import Quality
from .. import adc
from ..base import (
    Q_BAD,
    Q_GOOD,
    Q_SUSPECT,
    Q_UNCALIBRATED,
    Calibration,
    FloatArray,
    Param,
    Params,
    QualityArray,
    RawValue,
    Result,
)
from ..calibration import Polynomial, fit_polynomial
from .common import CachedProcessor, TempInput, result_of


class SoilMoistureProcessor(CachedProcessor[tuple[Polynomial, float, float]]):
    """Capacitive soil moisture: ADC count between the dry and wet points → % (0-100).

    `% = 100 * (dry - count) / (dry - wet)`, clamped to 0-100; a count outside the span
    (wetter than wet or drier than dry) → `suspect`. The span comes from a calibration (points:
    count → %, e.g. in air = 0 and in water = 100; a least-squares line) or the `dry_count` and
    `wet_count` parameters; with neither the defaults (3000/1300, typical v1.2 probes at 3.3 V)
    give a best-effort `uncalibrated` value.
    """

    id = "soil_moisture"
    display_precision = 1
    name = "Soil moisture (capacitive)"
    unit = "%"
    device_class = "moisture"
    device_type = "soil"
    needs_calibration = True
    sample_raw = 2150
    params = (
        Param("dry_count", 3000.0, minimum=0, maximum=4095, description="count in dry air"),
        Param("wet_count", 1300.0, minimum=0, maximum=4095, description="count in water"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[tuple[Polynomial, float, float], bool]:
        if calibration is not None and len(calibration.points) >= 2:
            try:
                poly = fit_polynomial(
                    [p.raw for p in calibration.points],
                    [p.reference for p in calibration.points],
                    1,
                )
                slope, offset = poly.coefficients
                if slope != 0:
                    dry, wet = -offset / slope, (100.0 - offset) / slope
                    return (poly, min(dry, wet), max(dry, wet)), True
            except ValueError:
                pass
        dry, wet = self._num(params, "dry_count"), self._num(params, "wet_count")
        explicit = params is not None and "dry_count" in params and "wet_count" in params
        if dry == wet:
            dry, wet, explicit = 3000.0, 1300.0, False
        slope = 100.0 / (wet - dry)
        poly = Polynomial((slope, -slope * dry))
        return (poly, min(dry, wet), max(dry, wet)), explicit

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → %."""
        (poly, lo, hi), calibrated = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        value = min(max(poly(count), 0.0), 100.0)
        if not lo <= count <= hi:
            q = Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return result_of(value, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → %."""
        (poly, lo, hi), calibrated = self.model(calibration, params)
        c = raw.astype(np.float64)
        q = adc.counts_quality(raw)
        value = np.clip(poly.apply(c), 0.0, 100.0)
        q[(q == Q_GOOD) & ((c < lo) | (c > hi))] = Q_SUSPECT
        if not calibrated:
            q[q == Q_GOOD] = Q_UNCALIBRATED
        value[q == Q_BAD] = np.nan
        return value, q
