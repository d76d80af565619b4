"""Shared by the built-in processors: the cached-model base class, constants and helpers.

Every processor derives a *model* from its calibration and parameters once (cached per
processor, keyed by the frozen calibration and the parameter items) and applies it per reading.
A calibration that cannot be fitted (too few or duplicate points) is ignored: the reading is
then `uncalibrated` with the best-effort default model, never an exception.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .. import adc
from ..base import (
    QUALITY_CODES,
    BaseProcessor,
    Calibration,
    FloatArray,
    Param,
    ParamKind,
    Params,
    Result,
)
from ..calibration import Polynomial, fit_calibration

ZERO_C_IN_K: Final = 273.15
REFERENCE_C: Final = 25.0
NERNST_SLOPE_25C_MV: Final = 59.16  # 2.303 R T / F at 298.15 K, mV per pH unit
_MODEL_CACHE_SIZE: Final = 64
_IDENTITY_CACHE_SIZE: Final = 8192  # (calibration, params) pairs: one per sensor of a type


def nernst_slope(temperature_c: float) -> float:
    """Ideal glass-electrode slope in mV per pH at `temperature_c`: 59.16 mV * T / 298.15 K."""
    return NERNST_SLOPE_25C_MV * (temperature_c + ZERO_C_IN_K) / (REFERENCE_C + ZERO_C_IN_K)


ADC_PARAM: Final = Param(
    "adc",
    adc.DEFAULT_ADC_MODEL,
    ParamKind.SELECT,
    options=adc.ADC_MODELS,
    description="ADC model: ESP32 attenuation, or an ideal linear 0-3.3 V converter",
)

type TempInput = float | npt.NDArray[np.float64] | None


def _freeze(params: Params | None) -> tuple[tuple[str, Any], ...]:
    return () if not params else tuple(sorted(params.items()))


def result_of(value: float, unit: str | None, q: int) -> Result:
    return Result(value if math.isfinite(value) else None, unit, QUALITY_CODES[q])


def finite_temp(temperature_c: float | None) -> float | None:
    if temperature_c is None or not math.isfinite(temperature_c):
        return None
    return temperature_c


def temp_array(temperature_c: TempInput, n: int) -> FloatArray | None:
    if temperature_c is None:
        return None
    t = np.asarray(temperature_c, dtype=np.float64)
    return np.broadcast_to(t, (n,)) if t.ndim == 0 else t


class CachedProcessor[M](BaseProcessor):
    """A built-in: caches its model per (calibration, params)."""

    def __init__(self) -> None:
        self._models: dict[tuple[Any, ...], tuple[M, bool]] = {}
        # The live path calls with the same calibration and params objects every time (one
        # pair per sensor using this processor): look them up by identity first and skip
        # building the cache key (sorting the params) per reading. The objects are kept with
        # their model, so an id cannot be reused while it is cached.
        self._by_identity: dict[
            tuple[int, int], tuple[Calibration | None, Params | None, tuple[M, bool]]
        ] = {}

    def _build(self, calibration: Calibration | None, params: Params | None) -> tuple[M, bool]:
        """(model, calibrated) for these inputs."""
        raise NotImplementedError

    def model(self, calibration: Calibration | None, params: Params | None) -> tuple[M, bool]:
        """The cached model and whether it counts as calibrated."""
        ids = (id(calibration), id(params))
        known = self._by_identity.get(ids)
        if known is not None and known[0] is calibration and known[1] is params:
            return known[2]
        key = (calibration, _freeze(params))
        found = self._models.get(key)
        if found is None:
            if len(self._models) >= _MODEL_CACHE_SIZE:
                self._models.clear()
            found = self._models[key] = self._build(calibration, params)
        if len(self._by_identity) >= _IDENTITY_CACHE_SIZE:
            self._by_identity.clear()
        self._by_identity[ids] = (calibration, params, found)
        return found

    def _str(self, params: Params | None, key: str) -> str:
        return str(self.param(params, key))

    def _num(self, params: Params | None, key: str) -> float:
        value = self.param(params, key)
        if isinstance(value, str):
            return float(value)
        return float(value)


def correction(calibration: Calibration | None) -> Polynomial | None:
    """An optional polynomial correction of the processed value (digital sensors)."""
    if calibration is None or not calibration.points:
        return None
    try:
        return fit_calibration(calibration)
    except ValueError:
        return None
