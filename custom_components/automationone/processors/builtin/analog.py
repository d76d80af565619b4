"""ADC voltage (`analog`) and the generic linear processor (`linear`)."""

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
    Calibration,
    Evaluator,
    FloatArray,
    Param,
    ParamKind,
    Params,
    QualityArray,
    RawKind,
    RawValue,
    Result,
)
from ..calibration import Polynomial
from .common import ADC_PARAM, CachedProcessor, TempInput, correction, result_of


@dataclass(frozen=True, slots=True)
class _AnalogModel:
    adc: str
    ratio: float
    poly: Polynomial | None  # counts -> volts when calibrated


class AnalogProcessor(CachedProcessor[_AnalogModel]):
    """ADC count → volts at the pin (times an external divider ratio).

    Without calibration: the ADC model of the `adc` parameter (ESP32 non-linearity corrected).
    With calibration (points: count → true volts): a least-squares polynomial instead.
    Rails (0/4095) are `suspect`, impossible counts `bad`.
    """

    id = "analog"
    display_precision = 3
    name = "Analog voltage"
    unit = "V"
    device_class = "voltage"
    device_type = "analog"
    params = (
        ADC_PARAM,
        Param("divider_ratio", 1.0, unit="x", minimum=0.01, maximum=1000.0,
              description="input voltage / pin voltage of an external divider"),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_AnalogModel, bool]:
        poly = correction(calibration)
        model = adc.adc_model(self._str(params, "adc"))
        return _AnalogModel(model, self._num(params, "divider_ratio"), poly), True

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → volts."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        volts = m.poly(count) if m.poly else adc.count_to_mv(count, m.adc) / 1000.0 * m.ratio
        return result_of(volts, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → volts."""
        m, _ = self.model(calibration, params)
        q = adc.counts_quality(raw)
        if m.poly:
            volts = m.poly.apply(raw.astype(np.float64))
        else:
            volts = adc.counts_to_mv(raw, m.adc) / 1000.0 * m.ratio
        volts[q == Q_BAD] = np.nan
        return volts, q


class LinearProcessor(CachedProcessor[tuple[Polynomial, Evaluator]]):
    """Generic: `value = raw * scale + offset`, or a least-squares polynomial from calibration.

    Takes any number (ADC count, pulse count, level). The unit comes from the `unit` parameter
    (the Result carries it). Non-finite raw values are `bad`.
    """

    id = "linear"
    name = "Linear (generic)"
    unit = None
    device_class = None
    raw_kind = RawKind.NUMBER
    device_type = "analog"
    params = (
        Param("scale", 1.0, description="value per raw unit"),
        Param("offset", 0.0, description="value at raw 0"),
        Param("unit", "", ParamKind.TEXT, description="unit of the value (free text)"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[tuple[Polynomial, Evaluator], bool]:
        poly = correction(calibration)
        if poly is None:
            poly = Polynomial((self._num(params, "scale"), self._num(params, "offset")))
        unit = self._unit(params)
        good, bad = Quality.GOOD, Quality.BAD
        isfinite = math.isfinite
        # Degree 1 (every uncalibrated sensor) as Horner does it: 0 * x + a, then a * x + b.
        straight = poly.coefficients if len(poly.coefficients) == 2 else None

        def evaluate(raw: RawValue, temperature_c: float | None = None) -> Result:
            """One raw number → value (the model resolved once, not per reading)."""
            if isinstance(raw, tuple) or not isfinite(raw):
                return Result(None, unit, bad)
            if straight is not None:
                value = straight[0] * float(raw) + straight[1]
            else:
                value = poly(float(raw))
            return Result(value, unit, good) if isfinite(value) else Result(None, unit, bad)

        return (poly, evaluate), True

    def _unit(self, params: Params | None) -> str | None:
        return self._str(params, "unit") or None

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One raw number → value."""
        return self.model(calibration, params)[0][1](raw, None)

    def evaluator(self, calibration: Calibration | None, params: Params | None) -> Evaluator:
        """The model's own function: no cache lookup per reading."""
        return self.model(calibration, params)[0][1]

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Raw numbers → values."""
        (poly, _), _ = self.model(calibration, params)
        values = poly.apply(raw.astype(np.float64))
        q = np.where(np.isfinite(values), Q_GOOD, Q_BAD).astype(np.uint8)
        return values, q
