"""One refit cycle of one sensor: its recent history in, a `PredictionOutcome` out (pure).

The HA runtime (`prediction_runtime.py`) keeps one `SeriesBuffer` per opted-in sensor (loaded
from the recorder, then fed from the sensor's state changes), takes a `snapshot` on the event
loop and runs `fit_outcome` in the executor. The benchmark times the same two calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from ..processors.base import Params
from .base import FloatArray, Predictor
from .outcome import PredictionOutcome, ThresholdCrossing

BANDS: Final = ("warning", "critical")
EDGES: Final = ("low", "high")
HISTORY_S: Final = 7 * 86400.0  # how far back a sensor's history is fitted
MAX_POINTS: Final = 100_000  # readings kept per sensor at most (oldest dropped first)

type Bands = Mapping[tuple[str, str], float]


def bands_from(data: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """`{(band, edge): threshold}` from a sensor subentry's data (`warning_low`, ...)."""
    found: dict[tuple[str, str], float] = {}
    for band in BANDS:
        for edge in EDGES:
            value = data.get(f"{band}_{edge}")
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[(band, edge)] = float(value)
    return found


class SeriesBuffer:
    """A sensor's readings (time s, value), oldest first, at most `max_age_s` old."""

    def __init__(self, max_age_s: float = HISTORY_S, max_points: int = MAX_POINTS) -> None:
        """An empty buffer."""
        self.max_age_s = max_age_s
        self.max_points = max_points
        self._t: FloatArray = np.empty(1024)
        self._y: FloatArray = np.empty(1024)
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        """Number of readings held."""
        return self._end - self._start

    @property
    def last_t(self) -> float | None:
        """Time of the newest reading."""
        return float(self._t[self._end - 1]) if self._end > self._start else None

    def extend(self, t: FloatArray, y: FloatArray) -> None:
        """Add readings (ascending `t`, newer than those held; older ones are dropped)."""
        t = np.asarray(t, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if (last := self.last_t) is not None:
            newer = t > last
            t, y = t[newer], y[newer]
        if t.size == 0:
            return
        t, y = t[-self.max_points :], y[-self.max_points :]
        if self._end + t.size > self._t.size:
            self._compact(t.size)
        self._t[self._end : self._end + t.size] = t
        self._y[self._end : self._end + t.size] = y
        self._end += t.size
        self._trim()

    def append(self, t: float, y: float) -> None:
        """Add one reading (ignored unless newer than the newest held)."""
        if self._end > self._start and t <= self._t[self._end - 1]:
            return
        if self._end == self._t.size:
            self._compact(1)
        self._t[self._end] = t
        self._y[self._end] = y
        self._end += 1
        if self._end - self._start > self.max_points or t - self._t[self._start] > self.max_age_s:
            self._trim()

    def snapshot(self) -> tuple[FloatArray, FloatArray]:
        """Copies of the readings (cheap: call on the event loop, fit in the executor)."""
        return self._t[self._start : self._end].copy(), self._y[self._start : self._end].copy()

    def _trim(self) -> None:
        newest = self._t[self._end - 1]
        keep_from = int(np.searchsorted(self._t[self._start : self._end], newest - self.max_age_s))
        self._start += keep_from
        self._start = max(self._start, self._end - self.max_points)

    def _compact(self, extra: int) -> None:
        n = self._end - self._start
        size = max(1024, 2 * (n + extra))
        t, y = np.empty(size), np.empty(size)
        t[:n], y[:n] = self._t[self._start : self._end], self._y[self._start : self._end]
        self._t, self._y, self._start, self._end = t, y, 0, n


def crossings(model: Any, bands: Bands, horizon_s: float) -> tuple[ThresholdCrossing, ...]:
    """Band edges the forecast reaches within `horizon_s`, soonest first.

    A high edge is crossed upwards, a low edge downwards; one already crossed is 0 s away.
    """
    found = []
    for (band, edge), threshold in bands.items():
        in_s = model.time_to_threshold(threshold, rising=edge == "high", within_s=horizon_s)
        if in_s is not None:
            found.append(ThresholdCrossing(band, edge, threshold, float(in_s)))
    return tuple(sorted(found, key=lambda c: (c.in_s, c.band != "critical")))


def fit_outcome(
    predictor: Predictor,
    t: FloatArray,
    y: FloatArray,
    *,
    subentry_id: str,
    horizon_s: float,
    bands: Bands,
    params: Params | None = None,
) -> PredictionOutcome:
    """Fit `predictor` on (t, y) and say what it forecasts; ValueError when it cannot fit."""
    model = predictor.fit(t, y, params=params)
    return PredictionOutcome(
        subentry_id=subentry_id,
        predictor=predictor.id,
        t=float(model.t_end),
        horizon_s=horizon_s,
        forecast=model.forecast(horizon_s),
        anomaly=model.anomaly(),
        crossings=crossings(model, bands, horizon_s),
        samples=int(np.count_nonzero(np.isfinite(y))),
    )
