"""Water level (`water_level`) from an ADC level sensor or an ultrasonic distance."""

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
    Q_UNCALIBRATED,
    Calibration,
    FloatArray,
    Param,
    ParamKind,
    Params,
    QualityArray,
    RawKind,
    RawValue,
    Result,
)
from ..calibration import Polynomial, fit_polynomial
from .common import CachedProcessor, TempInput, result_of


@dataclass(frozen=True, slots=True)
class _LevelModel:
    distance: bool
    poly: Polynomial  # count -> cm (adc source)
    full_cm: float
    tank_cm: float
    blind_cm: float


class WaterLevelProcessor(CachedProcessor[_LevelModel]):
    """Water level in cm, from an ADC level sensor or an ultrasonic distance.

    `source = adc`: a linear level sensor (pressure or resistive strip): the calibration's
    least-squares line (points: count → cm), else `empty_count` → 0 cm and `full_count` →
    `full_cm` (without calibration and without both counts set: `uncalibrated`). Outside
    0..full_cm → `suspect`.
    `source = distance`: raw is the distance in cm from an ultrasonic sensor above the water
    (device-side measured): `level = tank_height_cm - distance`. A distance inside the blind
    zone (`min_distance_cm`, e.g. 20 cm for a JSN-SR04T) or beyond the tank bottom → `suspect`;
    zero, negative or non-finite → `bad`.
    """

    id = "water_level"
    display_precision = 1
    name = "Water level"
    unit = "cm"
    device_class = "distance"
    raw_kind = RawKind.NUMBER
    device_type = "water_level"
    needs_calibration = True
    sample_raw = 2048
    params = (
        Param("source", "adc", ParamKind.SELECT, options=("adc", "distance")),
        Param("empty_count", 0.0, minimum=0, maximum=4095),
        Param("full_count", 4095.0, minimum=0, maximum=4095),
        Param("full_cm", 100.0, unit="cm", description="level at full_count"),
        Param("tank_height_cm", 100.0, unit="cm", description="sensor to tank bottom"),
        Param("min_distance_cm", 20.0, unit="cm", description="ultrasonic blind zone"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_LevelModel, bool]:
        distance = self._str(params, "source") == "distance"
        full_cm = self._num(params, "full_cm")
        tank = self._num(params, "tank_height_cm")
        blind = self._num(params, "min_distance_cm")
        poly: Polynomial | None = None
        calibrated = distance
        if not distance and calibration is not None and len(calibration.points) >= 2:
            try:
                poly = fit_polynomial(
                    [p.raw for p in calibration.points],
                    [p.reference for p in calibration.points],
                    1,
                )
                calibrated = True
            except ValueError:
                poly = None
        if poly is None:
            empty, full = self._num(params, "empty_count"), self._num(params, "full_count")
            if empty == full:
                empty, full = 0.0, 4095.0
            slope = full_cm / (full - empty)
            poly = Polynomial((slope, -slope * empty))
            if not distance:
                calibrated = (
                    params is not None and "empty_count" in params and "full_count" in params
                )
        return _LevelModel(distance, poly, full_cm, tank, blind), calibrated

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count or distance → cm."""
        m, calibrated = self.model(calibration, params)
        if isinstance(raw, tuple) or not math.isfinite(raw):
            return Result(None, self.unit, Quality.BAD)
        x = float(raw)
        if m.distance:
            if x <= 0.0:
                return Result(None, self.unit, Quality.BAD)
            q = Q_SUSPECT if x < m.blind_cm or x > m.tank_cm else Q_GOOD
            return result_of(m.tank_cm - x, self.unit, q)
        q = adc.adc_quality(x)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        level = m.poly(x)
        if not 0.0 <= level <= m.full_cm:
            q = Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return result_of(level, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts or distances → cm."""
        m, calibrated = self.model(calibration, params)
        x = raw.astype(np.float64)
        if m.distance:
            level = m.tank_cm - x
            q = np.where((x < m.blind_cm) | (x > m.tank_cm), Q_SUSPECT, Q_GOOD).astype(np.uint8)
            with np.errstate(invalid="ignore"):
                bad = ~(x > 0.0)
        else:
            level = m.poly.apply(x)
            q = adc.counts_quality(x)
            q[(q == Q_GOOD) & ~((level >= 0.0) & (level <= m.full_cm))] = Q_SUSPECT
            if not calibrated:
                q[q == Q_GOOD] = Q_UNCALIBRATED
            bad = q == Q_BAD
        q[bad] = Q_BAD
        level[bad] = np.nan
        return level, q
