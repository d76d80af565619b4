"""Predictions benchmark: forecast accuracy and fit time, anomaly detection, refit CPU.

- `forecast:` on a synthetic greenhouse temperature (5-min readings, day/night swing whose
  amplitude changes from day to day, slow weather wander, sensor noise; known truth), 14 days
  of history, forecast of the next day, averaged over 3 forecast origins; then on a real
  public series shipped by statsmodels (weekly CO2 at Mauna Loa, last year held out).
  MAE of ours (`seasonal_daily`) vs naive (last value), seasonal-naive (one period ago) and
  statsmodels' ExponentialSmoothing (additive trend + season) on the same split; fit time is
  the best of a few runs (statsmodels: one fit per origin).
- `anomaly:` 7 days of 1-min greenhouse readings with injected faults (spikes, stuck-sensor
  flatlines, offset steps); alarms are runs of flagged readings; an alarm is true when it
  overlaps a fault window; delay is from fault start to its first alarm.
- `predict-fit:` 100 sensors x 7 days at 1-minute resolution: CPU time of one refit cycle as
  the HA runtime runs it (`predictions.cycle`: buffer snapshot, fit, forecast, band crossings,
  latest-reading anomaly state for every sensor).
"""

from __future__ import annotations

from pathlib import Path
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.automationone.predictions import (
    SeasonalSmoothing,
    SeriesBuffer,
    bands_from,
    detect,
    fit_outcome,
)

DAY = 86400.0
START = 1_760_000_000.0


def greenhouse(days: float, step: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, readings, truth): 20 °C + daily swing (amplitude varies per day) + wander + noise."""
    rng = np.random.default_rng(seed)
    t = START + np.arange(0.0, days * DAY, step)
    day = ((t - START) // DAY).astype(int)
    amp = 5.0 + 0.8 * rng.standard_normal(day.max() + 1)
    swing = amp[day] * np.sin(2 * np.pi * (t - START) / DAY - 1.2)
    # Weather: AR(1) with a 6 h time constant, 0.6 °C spread.
    phi = np.exp(-step / (6 * 3600))
    shocks = 0.6 * np.sqrt(1 - phi**2) * rng.standard_normal(t.size)
    wander = np.zeros(t.size)
    for i in range(1, t.size):
        wander[i] = phi * wander[i - 1] + shocks[i]
    truth = 20.0 + swing + wander
    return t, truth + 0.2 * rng.standard_normal(t.size), truth


def statsmodels_fit(y: np.ndarray, period: int, horizon: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=period).fit()
    return np.asarray(fit.forecast(horizon))


def forecast_case(
    name: str,
    series: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    period: int,
    horizon: int,
    params: dict[str, float],
) -> None:
    """Print one `forecast:` line; `series` holds (t, y, truth) with the split at -horizon."""
    ours, naive, snaive, sm = [], [], [], []
    fit_ours, fit_sm = [], []
    predictor = SeasonalSmoothing()
    for t, y, truth in series:
        tt, yt = t[:-horizon], y[:-horizon]
        future, target = t[-horizon:], truth[-horizon:]
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            model = predictor.fit(tt, yt, params=params)
            best = min(best, time.perf_counter() - t0)
        fit_ours.append(best)
        mean, _ = model.predict(future)
        ours.append(np.abs(mean - target).mean())
        naive.append(np.abs(yt[-1] - target).mean())
        snaive.append(np.abs(yt[-period:][np.arange(horizon) % period] - target).mean())
        t0 = time.perf_counter()
        sm_pred = statsmodels_fit(yt, period, horizon)
        fit_sm.append(time.perf_counter() - t0)
        sm.append(np.abs(sm_pred - target).mean())
    print(
        f"forecast: series={name} mae_ours={np.mean(ours):.3f} mae_naive={np.mean(naive):.3f} "
        f"mae_seasonal_naive={np.mean(snaive):.3f} mae_statsmodels={np.mean(sm):.3f} "
        f"fit_ms_ours={1000 * np.mean(fit_ours):.1f} "
        f"fit_ms_statsmodels={1000 * np.mean(fit_sm):.1f}"
    )


def co2_series() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Weekly Mauna Loa CO2 (ppm, 1958-2001) from statsmodels' datasets; gaps interpolated."""
    try:
        from statsmodels.datasets import co2
    except ImportError:
        return None
    data = co2.load_pandas().data["co2"]
    y = data.to_numpy(dtype=np.float64)
    ok = np.isfinite(y)
    x = np.arange(y.size, dtype=np.float64)
    y = np.interp(x, x[ok], y[ok])
    t = data.index.to_numpy().astype("datetime64[s]").astype(np.float64)
    return t, y, y  # the truth of a real series is what was measured


def anomaly_case() -> None:
    """Print the `anomaly:` line."""
    rng = np.random.default_rng(42)
    t, y, _ = greenhouse(7, 60.0, seed=7)
    n = t.size
    faults: list[tuple[int, int]] = []  # (first index, last index of the window a hit counts)
    taken = np.zeros(n, dtype=bool)
    taken[:1440] = True  # the first day has no history to judge by

    def free(i: int, length: int) -> bool:
        return not taken[max(0, i - 120) : i + length + 120].any()

    kinds = ["spike"] * 20 + ["flatline"] * 6 + ["step"] * 6
    for kind in kinds:
        length = {"spike": 1, "flatline": int(rng.integers(30, 90)), "step": 60}[kind]
        while True:
            i = int(rng.integers(1440, n - 200))
            if free(i, length):
                break
        taken[i : i + length] = True
        if kind == "spike":
            y[i] += rng.choice([-1, 1]) * rng.uniform(2.0, 6.0)
            faults.append((i, i + 1))
        elif kind == "flatline":
            y[i : i + length] = y[i]
            faults.append((i, i + length - 1))
        else:  # offset step until it is repaired 3 h later
            y[i : i + 180] += rng.choice([-1, 1]) * rng.uniform(2.0, 4.0)
            faults.append((i, i + length))
    model = SeasonalSmoothing().fit(t, y)
    flagged = detect(t, y, y - model.season(t)).flagged
    # Alarms: runs of flagged readings, gaps up to 5 readings merged.
    idx = np.flatnonzero(flagged)
    alarms: list[tuple[int, int]] = []
    for i in idx:
        if alarms and i - alarms[-1][1] <= 5:
            alarms[-1] = (alarms[-1][0], int(i))
        else:
            alarms.append((int(i), int(i)))
    true_alarms = sum(any(a <= f1 and b >= f0 for f0, f1 in faults) for a, b in alarms)
    delays = []
    for f0, f1 in faults:
        hits = idx[(idx >= f0) & (idx <= f1)]
        if hits.size:
            delays.append(t[hits[0]] - t[f0])
    precision = true_alarms / len(alarms) if alarms else 0.0
    recall = len(delays) / len(faults)
    delay = float(np.mean(delays)) if delays else float("nan")
    print(f"anomaly: precision={precision:.3f} recall={recall:.3f} detection_delay_s={delay:.0f}")


def refit_case() -> None:
    """Print the `predict-fit:` line: the runtime's cycle (prediction_runtime.py) on every
    sensor: buffer snapshot, fit, forecast at the horizon, band crossings, anomaly state."""
    bands = bands_from({"warning_low": 12.0, "warning_high": 28.0, "critical_high": 32.0})
    buffers = []
    for k in range(100):
        t, y = greenhouse(7, 60.0, seed=100 + k)[:2]
        buffer = SeriesBuffer()
        buffer.extend(t, y)
        buffers.append(buffer)
    predictor = SeasonalSmoothing()

    def cycle() -> None:
        for k, buffer in enumerate(buffers):
            t, y = buffer.snapshot()
            fit_outcome(predictor, t, y, subentry_id=str(k), horizon_s=3600.0, bands=bands)

    fit_outcome(predictor, *buffers[0].snapshot(), subentry_id="0", horizon_s=3600.0, bands=bands)
    t0 = time.process_time()
    cycle()
    cpu = time.process_time() - t0
    print(f"predict-fit: sensors=100 days=7 cpu_s={cpu:.2f}")


def main() -> None:
    """Run the cases and print their lines."""
    step = 300.0
    per_day = int(DAY / step)
    series = [greenhouse(15, step, seed=s) for s in (1, 2, 3)]
    forecast_case("greenhouse_temperature", series, per_day, per_day, {"step_s": step})
    co2 = co2_series()
    if co2 is not None:
        week = 7 * DAY
        forecast_case(
            "co2_mauna_loa_weekly",
            [co2],
            52,
            52,
            {
                "period_s": 365.25 * DAY,
                "step_s": week,
                "season_bins": 52,
                "season_halflife_s": 3 * 365.25 * DAY,
                "level_halflife_s": 26 * week,
                "trend_damping_s": 20 * 365.25 * DAY,
            },
        )
    anomaly_case()
    refit_case()


if __name__ == "__main__":
    main()
