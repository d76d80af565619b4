"""Robust anomaly detection: rolling median/MAD scores, spikes, flatlines (vectorised).

All detectors are causal (a reading is judged only by the readings before it), so the state
of the latest reading is the same whether the whole history or only its tail is scored.

- outlier: `|e - median(previous w)| / (1.4826 * MAD(previous w))` >= `threshold`, where `e`
  is the residual the predictor leaves (the deseasonalised series for the seasonal predictor);
- spike: an outlier that arrives as a sudden jump from the previous reading;
- flatline (stuck sensor): the raw value repeats (within `flat_tolerance`) for at least
  `flat_min_s` while the series normally changes from reading to reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
import numpy.typing as npt

from ..processors.base import Param
from .base import Anomaly, FloatArray

R_NONE: Final = 0
R_OUTLIER: Final = 1
R_SPIKE: Final = 2
R_FLATLINE: Final = 3
REASONS: Final[tuple[str | None, ...]] = (None, "outlier", "spike", "flatline")
MAD_TO_SIGMA: Final = 1.4826

ANOMALY_PARAMS: Final = (
    Param("anomaly_window", 60, minimum=8, maximum=2000,
          description="readings the rolling median/MAD looks back"),
    Param("anomaly_threshold", 6.0, minimum=2.0, maximum=50.0,
          description="robust z-score from which a reading is an outlier"),
    Param("flat_min_s", 900.0, unit="s", minimum=60.0,
          description="a value repeated this long is a stuck sensor"),
    Param("flat_tolerance", 0.0, minimum=0.0,
          description="changes up to this size count as repeats"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Detection:
    """Per reading: robust score and reason code (index into REASONS)."""

    score: FloatArray
    reason: npt.NDArray[np.int8]

    @property
    def flagged(self) -> npt.NDArray[np.bool_]:
        """Whether each reading is anomalous."""
        flagged: npt.NDArray[np.bool_] = self.reason != R_NONE
        return flagged

    def latest(self) -> Anomaly:
        """The state of the last reading."""
        return Anomaly(float(self.score[-1]), REASONS[int(self.reason[-1])])


def noise_scale(e: FloatArray) -> float:
    """Robust noise sigma from first differences (insensitive to trend and seasonality)."""
    if e.size < 3:
        return 0.0
    d = np.diff(e)
    return float(MAD_TO_SIGMA * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def robust_scores(e: FloatArray, window: int, floor: float) -> tuple[FloatArray, FloatArray]:
    """Trailing median/MAD z-scores of `e` (0 for the first `window` readings) and the
    trailing medians; the scale never drops below `floor` (quantised or constant sensors)."""
    n = e.size
    score = np.zeros(n)
    centre = e.copy()
    if n <= window:
        return score, centre
    win = sliding_window_view(e, window)[:-1]  # win[k] = e[k : k + window], judges e[k+window]
    med = np.median(win, axis=1)
    mad = np.median(np.abs(win - med[:, None]), axis=1)
    scale = np.maximum(MAD_TO_SIGMA * mad, floor)
    score[window:] = np.abs(e[window:] - med) / scale
    centre[window:] = med
    return score, centre


def flat_runs(
    t: FloatArray, y: FloatArray, tolerance: float, min_s: float
) -> npt.NDArray[np.bool_]:
    """Readings inside a run of repeats that has lasted at least `min_s` so far."""
    n = y.size
    same = np.zeros(n, dtype=np.bool_)
    same[1:] = np.abs(np.diff(y)) <= tolerance
    # Start time of the run each reading belongs to: the last reading that was not a repeat.
    starts = np.where(~same, np.arange(n), 0)
    run_start = np.maximum.accumulate(starts)
    flat: npt.NDArray[np.bool_] = same & (t - t[run_start] >= min_s)
    return flat


def detect(
    t: FloatArray,
    y: FloatArray,
    e: FloatArray,
    *,
    window: int = 60,
    threshold: float = 6.0,
    flat_min_s: float = 900.0,
    flat_tolerance: float = 0.0,
    noise: float | None = None,
) -> Detection:
    """Score every reading: `y` raw values (flatline), `e` residuals (outliers, spikes).

    `noise` is the series' noise sigma (estimated from `e` when None); it sets the scale floor
    and, for flatlines, whether the series normally moves at all.
    """
    sigma = noise_scale(e) if noise is None else noise
    floor = max(0.25 * sigma, 1e-9)
    score, centre = robust_scores(e, int(window), floor)
    reason = np.zeros(e.size, dtype=np.int8)
    out = score >= threshold
    reason[out] = R_OUTLIER
    jump = np.zeros(e.size, dtype=np.bool_)
    jump[1:] = np.abs(np.diff(e)) >= 0.5 * np.abs(e[1:] - centre[1:])
    reason[out & jump] = R_SPIKE
    if sigma > flat_tolerance:  # a series that never moves cannot be "stuck"
        reason[flat_runs(t, y, flat_tolerance, flat_min_s)] = R_FLATLINE
    return Detection(score, reason)


def detect_tail(
    t: FloatArray, y: FloatArray, e: FloatArray, *, window: int, flat_min_s: float, **kw: float
) -> Anomaly:
    """The latest reading's state, scoring only the tail the causal detectors need."""
    start = max(0, t.size - window - 1)
    flat_start = int(np.searchsorted(t, t[-1] - 2.0 * flat_min_s))
    start = min(start, flat_start)
    noise = noise_scale(e)
    det = detect(
        t[start:], y[start:], e[start:], window=window, flat_min_s=flat_min_s, noise=noise, **kw
    )
    return det.latest()
