"""Linear trend over a recent window: forecasts and time until a threshold (pH drift, a tank
emptying, a battery draining)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from ..processors.base import Param, Params
from .anomaly import ANOMALY_PARAMS, detect_tail
from .base import BaseModel, BasePredictor, Decision, FloatArray, clean_series

BAND_Z: Final = 1.96  # 95 % band under normal errors


class LinearTrendModel(BaseModel):
    """`y = level + slope * (t - t_end)` with the OLS prediction band."""

    def __init__(
        self, *, t_end: float, level: float, slope: float, sigma: float, n: int, t_mean: float,
        sxx: float,
    ) -> None:  # fmt: skip
        """A fitted line (see `LinearTrend.fit`)."""
        self.t_end = t_end
        self.level = level
        self.slope = slope  # per second
        self.sigma = sigma
        self._n = n
        self._t_mean = t_mean
        self._sxx = sxx

    def predict(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Line values and 95 % prediction half-widths (growing away from the data)."""
        t = np.asarray(t, dtype=np.float64)
        mean = self.level + self.slope * (t - self.t_end)
        lever = 1.0 + 1.0 / self._n + (t - self._t_mean) ** 2 / max(self._sxx, 1e-300)
        return mean, BAND_Z * self.sigma * np.sqrt(lever)


class LinearTrend(BasePredictor):
    """Least-squares line through the readings of the last `window_s`."""

    id = "linear_trend"
    name = "Linear trend"
    params: tuple[Param, ...] = (
        Param("window_s", 6 * 3600.0, unit="s", minimum=60.0,
              description="how far back the line is fitted"),
        *ANOMALY_PARAMS,
    )  # fmt: skip

    def fit(
        self,
        t: FloatArray,
        y: FloatArray,
        *,
        params: Params | None = None,
        feedback: Sequence[Decision] = (),
    ) -> LinearTrendModel:
        """Fit the line; ValueError with fewer than two readings."""
        t, y = clean_series(t, y)
        t_end = float(t[-1])
        start = int(np.searchsorted(t, t_end - self.num(params, "window_s")))
        tw, yw = t[start:], y[start:]
        if tw.size < 2:
            tw, yw = t[-2:], y[-2:]
        t_mean = float(tw.mean())
        dt = tw - t_mean
        sxx = float(dt @ dt)
        slope = float(dt @ (yw - yw.mean()) / sxx) if sxx > 0 else 0.0
        level = float(yw.mean() + slope * (t_end - t_mean))
        resid = yw - (level + slope * (tw - t_end))
        dof = max(tw.size - 2, 1)
        sigma = float(np.sqrt(resid @ resid / dof))
        model = LinearTrendModel(
            t_end=t_end, level=level, slope=slope, sigma=sigma, n=int(tw.size), t_mean=t_mean,
            sxx=sxx,
        )  # fmt: skip
        model._anomaly = detect_tail(
            t, y, y,
            window=int(self.num(params, "anomaly_window")),
            flat_min_s=self.num(params, "flat_min_s"),
            threshold=self.num(params, "anomaly_threshold"),
            flat_tolerance=self.num(params, "flat_tolerance"),
        )  # fmt: skip
        return model
