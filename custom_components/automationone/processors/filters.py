"""Optional per-sensor filters: small stateful classes, one instance per sensor.

- `MedianFilter(window)`: running median of the last `window` values.
- `HampelFilter(window, threshold)`: outlier rejection by the median absolute deviation (MAD):
  a value farther than `threshold * 1.4826 * MAD` from the median of the window is replaced by
  that median and `rejected` is set (the entity can flag the reading `suspect`).
- `KalmanFilter1D(process_variance, measurement_variance)`: a scalar random-walk Kalman filter.

All take and return plain floats; a non-finite input passes through without touching the state.
"""

from __future__ import annotations

from collections import deque
import math
import statistics
from typing import Final, Protocol

MAD_TO_SIGMA: Final = 1.4826  # MAD of a normal distribution * 1.4826 = its standard deviation


class Filter(Protocol):
    """A stateful filter of one sensor's values."""

    rejected: bool

    def update(self, value: float) -> float:
        """Feed one value; return the filtered value."""
        ...

    def reset(self) -> None:
        """Forget the history (after a recalibration or a long gap)."""
        ...


class MedianFilter:
    """Running median of the last `window` values."""

    def __init__(self, window: int = 5) -> None:
        """Median over `window` (>= 1) values."""
        if window < 1:
            raise ValueError("window must be >= 1")
        self._values: deque[float] = deque(maxlen=window)
        self.rejected = False

    def update(self, value: float) -> float:
        """Median of the window including `value`."""
        if not math.isfinite(value):
            return value
        self._values.append(value)
        return float(statistics.median(self._values))

    def reset(self) -> None:
        """Empty the window."""
        self._values.clear()


class HampelFilter:
    """Median/MAD outlier filter (Hampel identifier) over the last `window` accepted values."""

    def __init__(self, window: int = 7, threshold: float = 3.5, min_values: int = 3) -> None:
        """Reject values farther than `threshold` robust sigmas from the window's median."""
        if window < 3 or threshold <= 0:
            raise ValueError("window must be >= 3 and threshold > 0")
        self._values: deque[float] = deque(maxlen=window)
        self._threshold = threshold
        self._min = min_values
        self.rejected = False

    def update(self, value: float) -> float:
        """`value`, or the window's median when `value` is an outlier (`rejected` = True)."""
        self.rejected = False
        if not math.isfinite(value):
            return value
        if len(self._values) >= self._min:
            median = statistics.median(self._values)
            mad = statistics.median(abs(v - median) for v in self._values)
            sigma = MAD_TO_SIGMA * mad
            if abs(value - median) > self._threshold * sigma and sigma > 0:
                self.rejected = True
                self._values.append(value)  # a lasting step is accepted once it fills the window
                return float(median)
        self._values.append(value)
        return value

    def reset(self) -> None:
        """Empty the window."""
        self._values.clear()
        self.rejected = False


class KalmanFilter1D:
    """Scalar Kalman filter for a slowly varying quantity (random-walk model).

    Predict: P += q. Update: K = P / (P + r); x += K (z - x); P *= (1 - K).
    `q` is how much the true value may change per reading (variance), `r` the sensor noise
    variance; the first value initialises the state.
    """

    def __init__(self, process_variance: float = 1e-3, measurement_variance: float = 1e-2) -> None:
        """Filter with process variance q and measurement variance r (both > 0)."""
        if process_variance <= 0 or measurement_variance <= 0:
            raise ValueError("variances must be > 0")
        self._q = process_variance
        self._r = measurement_variance
        self._x: float | None = None
        self._p = measurement_variance
        self.rejected = False

    @property
    def estimate(self) -> float | None:
        """Current estimate (None before the first value)."""
        return self._x

    @property
    def variance(self) -> float:
        """Current estimate variance P."""
        return self._p

    def update(self, value: float) -> float:
        """Fold one measurement into the estimate and return it."""
        if not math.isfinite(value):
            return value
        if self._x is None:
            self._x, self._p = value, self._r
            return value
        p = self._p + self._q
        k = p / (p + self._r)
        self._x += k * (value - self._x)
        self._p = (1.0 - k) * p
        return self._x

    def reset(self) -> None:
        """Forget the estimate."""
        self._x, self._p = None, self._r


FILTER_KINDS: Final = ("none", "median", "hampel", "kalman")


def make_filter(kind: str, **options: float) -> Filter | None:
    """A filter by kind (`none` → None); options go to the constructor.

    `median`: window; `hampel`: window, threshold; `kalman`: process_variance,
    measurement_variance.
    """
    if kind == "none":
        return None
    if kind == "median":
        return MedianFilter(int(options.get("window", 5)))
    if kind == "hampel":
        return HampelFilter(int(options.get("window", 7)), options.get("threshold", 3.5))
    if kind == "kalman":
        return KalmanFilter1D(
            options.get("process_variance", 1e-3), options.get("measurement_variance", 1e-2)
        )
    raise ValueError(f"unknown filter {kind!r}; one of {FILTER_KINDS}")
