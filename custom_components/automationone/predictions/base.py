"""The predictor interface: fit on a sensor's history, then forecast, time-to-threshold, anomaly.

A predictor (`Predictor`) is fitted on one series (timestamps in seconds since the epoch,
values) and returns a `Model`. A model gives the forecast at a time with an uncertainty band,
the time until the forecast crosses a threshold, and the anomaly state of the latest reading.
No Home Assistant imports: the HA shell turns these into entities and recommendations.
Parameters use the processors' `Param` (the UI builds forms from them the same way).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..processors.base import Param, Params, ParamValue

type FloatArray = npt.NDArray[np.float64]

# Points a time-to-threshold search evaluates at most (the crossing is interpolated between).
_SEARCH_POINTS: Final = 2049


@dataclass(frozen=True, slots=True)
class Forecast:
    """The forecast at time `t` (s): expected `value` and the band `lower`..`upper`."""

    t: float
    value: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Anomaly state of the latest reading.

    `score` is a robust z-score (0 = typical; the reading is this many robust standard
    deviations from its recent neighbours); `reason` is None, `outlier`, `spike` (a sudden
    jump) or `flatline` (the sensor repeats one value for too long).
    """

    score: float
    reason: str | None

    @property
    def is_anomaly(self) -> bool:
        """Whether the latest reading is anomalous."""
        return self.reason is not None


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's (or the auto-action's) decision on a recommendation.

    Kept by `recommend.Feedback` and passed to the predictor's next fit of that sensor
    (`Predictor.fit(..., feedback=...)`): `t` (s) when it was decided, `kind` of the
    recommendation (`raise_value`, `lower_value`, `check_sensor`), `approved`, and what the
    recommendation saw (`in_s` until the crossing, `anomaly_score`).
    """

    rec_id: str
    sensor_id: str
    kind: str
    approved: bool
    t: float
    by: str  # "user", "service", "auto", "notification"
    in_s: float | None = None
    anomaly_score: float | None = None
    source: str = "builtin"  # or "external" (recommend.SOURCE_*)


@runtime_checkable
class Model(Protocol):
    """A fitted predictor."""

    t_end: float  # time of the last reading the model saw (s)

    def predict(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Expected values at times `t` and the half-width of the band there."""
        ...

    def forecast(self, horizon_s: float) -> Forecast:
        """The forecast `horizon_s` seconds after the last reading."""
        ...

    def time_to_threshold(self, threshold: float, *, rising: bool, within_s: float) -> float | None:
        """Seconds from the last reading until the forecast goes above (`rising`) or below
        `threshold`; 0 when it already is; None when not within `within_s`."""
        ...

    def anomaly(self) -> Anomaly:
        """Anomaly state of the latest reading."""
        ...


@runtime_checkable
class Predictor(Protocol):
    """What every predictor provides (built-ins and user plug-ins).

    `id` matches `[a-z0-9_]{1,24}`; `params` are offered in the UI with their defaults.
    `fit` raises ValueError when the series cannot be fitted (too short, no finite values).
    `feedback` is the sensor's decisions on its recommendations, oldest first (the built-ins
    ignore it: their margins adapt in `recommend.Feedback`; a user predictor may learn from it).
    """

    id: str
    name: str
    params: tuple[Param, ...]

    def fit(
        self,
        t: FloatArray,
        y: FloatArray,
        *,
        params: Params | None = None,
        feedback: Sequence[Decision] = (),
    ) -> Model:
        """Fit on timestamps `t` (s, ascending) and values `y` (NaN = missing)."""
        ...


class BaseModel(ABC):
    """Forecast and time-to-threshold from `predict`; subclasses set `t_end` and `_anomaly`."""

    t_end: float
    _anomaly: Anomaly
    search_step_s: float = 60.0

    @abstractmethod
    def predict(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Expected values and band half-widths at `t`."""

    def forecast(self, horizon_s: float) -> Forecast:
        """The forecast `horizon_s` after the last reading."""
        t = self.t_end + horizon_s
        mean, half = self.predict(np.array([t]))
        m, h = float(mean[0]), float(half[0])
        return Forecast(t, m, m - h, m + h)

    def time_to_threshold(self, threshold: float, *, rising: bool, within_s: float) -> float | None:
        """First crossing of the expected value, linearly interpolated between search points."""
        n = int(min(_SEARCH_POINTS, max(2, math.ceil(within_s / self.search_step_s) + 1)))
        h = np.linspace(0.0, max(within_s, 0.0), n)
        mean, _ = self.predict(self.t_end + h)
        beyond = mean >= threshold if rising else mean <= threshold
        if beyond[0]:
            return 0.0
        hits = np.flatnonzero(beyond)
        if hits.size == 0:
            return None
        i = int(hits[0])
        m0, m1 = float(mean[i - 1]), float(mean[i])
        frac = (threshold - m0) / (m1 - m0) if m1 != m0 else 1.0
        return float(h[i - 1] + frac * (h[i] - h[i - 1]))

    def anomaly(self) -> Anomaly:
        """Anomaly state of the latest reading (computed at fit time)."""
        return self._anomaly


class BasePredictor:
    """Convenience base: parameter lookup with declared defaults."""

    id: str = ""
    name: str = ""
    params: tuple[Param, ...] = ()

    def num(self, params: Params | None, key: str) -> float:
        """Numeric parameter `key` (its default when absent)."""
        value: ParamValue | None = None if params is None else params.get(key)
        if value is None:
            for p in self.params:
                if p.key == key:
                    value = p.default
                    break
            else:
                raise KeyError(key)
        return float(value)


def clean_series(t: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Finite (t, y) pairs sorted by time; ValueError on mismatched shapes or no data."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError("timestamps and values must be 1-D arrays of the same length")
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    if t.size < 2:
        raise ValueError("need at least two finite readings")
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
    return t, y
