"""Additive seasonal smoothing with a daily period (Holt-Winters style, vectorised).

The readings are averaged onto a regular grid. Then, as in additive Holt-Winters, the series
is level + trend + season, each smoothed with its own memory, but solved in closed form
instead of by the sequential recursion:
- season: a profile of `season_bins` phase bins over the period, each the exponentially
  discounted mean (half-life `season_halflife_s`, in days rather than hours) of the series
  minus its centred one-period moving average; centred to mean 0 and interpolated
  periodically between bins;
- level and trend: the exponentially discounted least-squares line (half-life
  `level_halflife_s`) through the deseasonalised series at its end (Brown's double
  smoothing); the trend is damped with time constant `trend_damping_s` when forecasting;
- band: how far the deseasonalised level wandered over the same lag in the history (robust
  spread of its changes, less their noise), plus the noise of one reading.
Anomalies are scored on the deseasonalised series (see `anomaly`).
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Final

import numpy as np
import numpy.typing as npt

from ..processors.base import Param, Params
from .anomaly import ANOMALY_PARAMS, MAD_TO_SIGMA, detect_tail, noise_scale
from .base import BaseModel, BasePredictor, Decision, FloatArray, clean_series

DAY_S: Final = 86400.0
BAND_Z: Final = 1.96
MAX_GRID: Final = 200_000  # grid points at most; a finer step is widened
_LAGS: Final = 24  # horizons (log-spaced grid lags) the band is measured at


def regularise(t: FloatArray, y: FloatArray, step_s: float) -> tuple[float, float, FloatArray]:
    """(grid start, step, bin means) with NaN for empty bins."""
    span = float(t[-1] - t[0])
    step = max(step_s, span / (MAX_GRID - 1), 1e-6)
    idx = np.floor((t - t[0]) / step + 0.5).astype(np.intp)
    n = int(idx[-1]) + 1
    sums = np.bincount(idx, weights=y, minlength=n)
    counts = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / counts, np.nan)
    return float(t[0]), step, values


def _fill(values: FloatArray) -> FloatArray:
    ok = np.isfinite(values)
    if ok.all():
        return values
    x = np.arange(values.size, dtype=np.float64)
    filled: FloatArray = np.interp(x, x[ok], values[ok])
    return filled


def _centred_mean(values: FloatArray, width: int) -> FloatArray:
    """Centred moving average over `width` points; edges take the nearest full window."""
    n = values.size
    if width < 2 or n < width:
        return np.full(n, float(values.mean()))
    c = np.concatenate(([0.0], np.cumsum(values)))
    full = (c[width:] - c[:-width]) / width  # full[k] = mean(values[k : k + width])
    out = np.empty(n)
    half = width // 2
    out[half : half + full.size] = full
    out[:half] = full[0]
    out[half + full.size :] = full[-1]
    return out


class SeasonalModel(BaseModel):
    """Level + damped trend + periodic profile, with a horizon-dependent band."""

    def __init__(
        self, *, t_end: float, level: float, trend: float, damping_s: float, period_s: float,
        profile: FloatArray, band_lags_s: FloatArray, band_sigma: FloatArray,
    ) -> None:  # fmt: skip
        """A fitted model (see `SeasonalSmoothing.fit`)."""
        self.t_end = t_end
        self.level = level
        self.trend = trend  # per second
        self.damping_s = damping_s
        self.period_s = period_s
        self.profile = profile
        self._band_lags_s = band_lags_s
        self._band_sigma = band_sigma

    def season(self, t: FloatArray) -> FloatArray:
        """The seasonal offset at times `t` (periodic linear interpolation between bins)."""
        bins = self.profile.size
        pos = np.mod(np.asarray(t, dtype=np.float64), self.period_s) / self.period_s * bins
        pos -= 0.5  # bin k is centred at phase (k + 0.5) / bins
        lo = np.floor(pos)
        frac = pos - lo
        i = lo.astype(np.intp) % bins
        return np.asarray(
            self.profile[i] * (1.0 - frac) + self.profile[(i + 1) % bins] * frac, dtype=np.float64
        )

    def predict(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Expected values and 95 % half-widths at `t`."""
        t = np.asarray(t, dtype=np.float64)
        h = np.maximum(t - self.t_end, 0.0)
        damped = self.damping_s * (1.0 - np.exp(-h / self.damping_s))
        mean = self.level + self.trend * damped + self.season(t)
        sigma = np.interp(h, self._band_lags_s, self._band_sigma)
        return mean, BAND_Z * sigma


class SeasonalSmoothing(BasePredictor):
    """Additive daily-seasonal smoothing (for temperature, humidity, light, CO2)."""

    id = "seasonal_daily"
    name = "Seasonal smoothing (daily)"
    params: tuple[Param, ...] = (
        Param("period_s", DAY_S, unit="s", minimum=600.0, description="length of one cycle"),
        Param("step_s", 60.0, unit="s", minimum=1.0, description="grid step of the fit"),
        Param("season_bins", 96, minimum=4, maximum=1440, description="phase bins per period"),
        Param("season_halflife_s", 3 * DAY_S, unit="s", minimum=600.0,
              description="memory of the seasonal profile"),
        Param("level_halflife_s", 3600.0, unit="s", minimum=60.0,
              description="memory of level and trend"),
        Param("trend_damping_s", 3600.0, unit="s", minimum=60.0,
              description="how long a trend is extrapolated"),
        *ANOMALY_PARAMS,
    )  # fmt: skip

    def fit(
        self,
        t: FloatArray,
        y: FloatArray,
        *,
        params: Params | None = None,
        feedback: Sequence[Decision] = (),
    ) -> SeasonalModel:
        """Fit on the history; without 1.5 periods of data the profile is flat (no season)."""
        t, y = clean_series(t, y)
        period = self.num(params, "period_s")
        t0, step, grid = regularise(t, y, min(self.num(params, "step_s"), period / 4))
        ok = np.isfinite(grid)
        values = _fill(grid)
        n = values.size
        tg = t0 + step * np.arange(n)
        t_end = float(tg[-1])
        per_pts = round(period / step)
        bins = int(max(2, min(self.num(params, "season_bins"), per_pts)))
        profile: FloatArray = np.zeros(bins)
        if (t_end - t0) >= 1.5 * period and per_pts >= 2:
            detrended = values - _centred_mean(values, per_pts)
            age = t_end - tg
            w = np.where(
                ok, np.exp(-math.log(2.0) * age / self.num(params, "season_halflife_s")), 0.0
            )
            phase = (np.mod(tg, period) / period * bins).astype(np.intp) % bins
            wsum = np.bincount(phase, weights=w, minlength=bins)
            psum = np.bincount(phase, weights=w * detrended, minlength=bins)
            profile = np.asarray(
                np.where(wsum > 0, psum / np.maximum(wsum, 1e-300), 0.0), dtype=np.float64
            )
            profile -= profile.mean()
        model = SeasonalModel(
            t_end=t_end, level=0.0, trend=0.0, damping_s=self.num(params, "trend_damping_s"),
            period_s=period, profile=profile, band_lags_s=np.zeros(1), band_sigma=np.zeros(1),
        )  # fmt: skip
        deseason = values - model.season(tg)
        # Discounted least-squares line at the end (Brown's double exponential smoothing).
        half = self.num(params, "level_halflife_s")
        start = int(np.searchsorted(tg, t_end - 10.0 * half))
        x = tg[start:] - t_end
        w = np.where(ok[start:], np.exp(math.log(2.0) * x / half), 0.0)
        sw = float(w.sum())
        xm = float(w @ x) / sw
        ym = float(w @ deseason[start:]) / sw
        sxx = float(w @ (x - xm) ** 2)
        trend = float(w @ ((x - xm) * (deseason[start:] - ym))) / sxx if sxx > 0 else 0.0
        model.level = ym - trend * xm
        model.trend = trend
        model._band_lags_s, model._band_sigma = _band(deseason, ok, step)
        model.search_step_s = step
        model._anomaly = detect_tail(
            t, y, y - model.season(t),
            window=int(self.num(params, "anomaly_window")),
            flat_min_s=self.num(params, "flat_min_s"),
            threshold=self.num(params, "anomaly_threshold"),
            flat_tolerance=self.num(params, "flat_tolerance"),
        )  # fmt: skip
        return model


def _band(
    deseason: FloatArray, ok: npt.NDArray[np.bool_], step: float
) -> tuple[FloatArray, FloatArray]:
    """Robust sigma of changes of the deseasonalised series at log-spaced lags."""
    n = deseason.size
    noise = noise_scale(deseason[ok]) if ok.sum() > 2 else 0.0
    max_lag = max(1, n // 2)
    lags = np.unique(np.geomspace(1, max_lag, _LAGS).astype(np.intp))
    sig: FloatArray = np.empty(lags.size + 1)
    sig[0] = noise
    for k, lag in enumerate(lags, start=1):
        d = deseason[lag:] - deseason[:-lag]
        d = d[ok[lag:] & ok[:-lag]]
        spread = MAD_TO_SIGMA * float(np.median(np.abs(d - np.median(d)))) if d.size else noise
        # Changes carry the noise twice; the level's wander over the lag is the rest.
        sig[k] = math.sqrt(max(spread**2 - 2.0 * noise**2, 0.0) + noise**2)
    sig = np.maximum.accumulate(sig)  # uncertainty never shrinks with the horizon
    return np.concatenate(([0.0], lags * step)), sig
