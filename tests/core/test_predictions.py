"""Predictions: known-truth synthetic series (slope, seasonal amplitude, injected faults)."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.automationone.predictions import (
    BUILTIN_PREDICTORS,
    LinearTrend,
    Model,
    Predictor,
    Registry,
    SeasonalSmoothing,
    builtin_registry,
    detect,
    flat_runs,
    probe_ageing,
    slope_percent,
)
from custom_components.automationone.processors import Calibration, CalibrationPoint
from custom_components.automationone.processors.adc import mv_to_count
from custom_components.automationone.processors.builtin import nernst_slope

DAY = 86400.0
# Any epoch offset: the daily phase must come from the data, not from a midnight assumption.
STARTS = (0.0, 1_700_000_123.0, 1_234_567.0)


def greenhouse(start: float, days: float = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1-minute temperature: 22 °C + 5 °C daily swing (peak at a start-dependent phase) + noise."""
    rng = np.random.default_rng(seed)
    t = start + np.arange(0.0, days * DAY, 60.0)
    y = 22.0 + 5.0 * np.sin(2 * np.pi * (t - start) / DAY) + 0.15 * rng.standard_normal(t.size)
    return t, y


def truth(t: np.ndarray, start: float) -> np.ndarray:
    return 22.0 + 5.0 * np.sin(2 * np.pi * (t - start) / DAY)


def test_registry_holds_the_builtins_as_predictors() -> None:
    assert set(BUILTIN_PREDICTORS) == {"linear_trend", "seasonal_daily"}
    for p in BUILTIN_PREDICTORS.values():
        assert isinstance(p, Predictor)
    reg = builtin_registry()
    with pytest.raises(ValueError, match="already registered"):
        reg.register(LinearTrend())
    reg.unregister("linear_trend")  # built-ins stay
    assert "linear_trend" in reg
    with pytest.raises(ValueError, match="must match"):
        Registry([type("Bad", (LinearTrend,), {"id": "Bad Id"})()])


@pytest.mark.parametrize("start", STARTS)
def test_linear_trend_recovers_slope_and_time_to_threshold(start: float) -> None:
    rng = np.random.default_rng(1)
    t = start + np.arange(0.0, 6 * 3600.0, 60.0)
    slope = 0.05 / 3600  # pH +0.05 per hour
    y = 6.0 + slope * (t - start) + 0.01 * rng.standard_normal(t.size)
    model = LinearTrend().fit(t, y)
    assert isinstance(model, Model)
    assert model.slope == pytest.approx(slope, rel=0.05)
    level = 6.0 + slope * (t[-1] - start)
    assert model.level == pytest.approx(level, abs=0.005)
    expected = (6.5 - level) / slope
    got = model.time_to_threshold(6.5, rising=True, within_s=2 * DAY)
    assert got == pytest.approx(expected, rel=0.03)
    assert model.time_to_threshold(6.5, rising=False, within_s=2 * DAY) == 0.0
    assert model.time_to_threshold(5.0, rising=False, within_s=2 * DAY) is None
    assert model.time_to_threshold(6.5, rising=True, within_s=expected / 2) is None
    fc = model.forecast(3600.0)
    assert fc.lower < fc.value < fc.upper
    assert fc.value == pytest.approx(level + slope * 3600, abs=0.005)
    far = model.forecast(86400.0)
    assert far.upper - far.lower > fc.upper - fc.lower  # the band widens away from the data


@pytest.mark.parametrize("start", STARTS)
def test_seasonal_recovers_amplitude_and_forecasts_the_next_day(start: float) -> None:
    t, y = greenhouse(start)
    model = SeasonalSmoothing().fit(t, y)
    assert np.ptp(model.profile) == pytest.approx(10.0, rel=0.03)  # 2 x 5 °C amplitude
    assert model.level == pytest.approx(22.0, abs=0.15)
    future = t[-1] + np.arange(60.0, DAY, 60.0)
    mean, half = model.predict(future)
    err = np.abs(mean - truth(future, start))
    assert err.mean() < 0.1
    # The band covers the next day's readings about as often as it says (95 %).
    rng = np.random.default_rng(9)
    observed = truth(future, start) + 0.15 * rng.standard_normal(future.size)
    inside = np.mean(np.abs(observed - mean) <= half)
    assert 0.85 < inside <= 1.0
    assert model.anomaly().reason is None


def test_seasonal_without_a_full_cycle_has_no_season() -> None:
    t, y = greenhouse(0.0, days=1)
    model = SeasonalSmoothing().fit(t, y)
    assert not np.any(model.profile)


def test_seasonal_follows_a_level_change_faster_than_the_season() -> None:
    t, y = greenhouse(5000.0)
    y = y + np.where(t > t[-1] - DAY, 3.0, 0.0)  # heating set 3 °C higher for the last day
    model = SeasonalSmoothing().fit(t, y)
    new_level = truth(t[-1:] + 1800, 5000.0)[0] + 3
    # Within 1 °C of the new level (the old one is 3 °C off; the step also bends the profile).
    assert model.forecast(1800.0).value == pytest.approx(new_level, abs=1.0)


@pytest.mark.parametrize("start", STARTS)
def test_detectors_find_injected_faults_and_no_false_alarms(start: float) -> None:
    t, clean = greenhouse(start, seed=4)
    model = SeasonalSmoothing().fit(t, clean)
    resid = clean - model.season(t)
    assert not detect(t, clean, resid).flagged.any()  # no false alarm on clean data

    y = clean.copy()
    spikes = [1000, 3000, 5500, 8000]
    y[spikes] += [4.0, -3.0, 5.0, 3.5]
    flat = slice(6000, 6060)  # stuck for an hour
    y[flat] = y[6000]
    det = detect(t, y, y - model.season(t))
    reasons = det.reason
    for i in spikes:
        assert reasons[i] == 2  # spike
    assert (reasons[6000 + 16 : 6060] == 3).all()  # flatline once it lasted 15 min
    assert not det.flagged[6000:6015].any()
    others = np.ones(t.size, dtype=bool)
    others[spikes] = False
    others[flat] = False
    assert not det.flagged[others].any()


def test_latest_reading_anomaly_from_the_fit() -> None:
    t, y = greenhouse(0.0, days=3)
    y[-1] += 6.0
    assert SeasonalSmoothing().fit(t, y).anomaly().reason == "spike"
    t2, y2 = greenhouse(0.0, days=3)
    y2[-40:] = y2[-40]
    a = LinearTrend().fit(t2, y2).anomaly()
    assert a.reason == "flatline"
    assert a.is_anomaly


def test_flatline_needs_a_sensor_that_normally_moves() -> None:
    t = np.arange(0.0, 4 * 3600.0, 60.0)
    constant = np.full(t.size, 7.0)
    assert flat_runs(t, constant, 0.0, 900.0)[-1]  # the raw helper sees the run
    assert not detect(t, constant, constant).flagged.any()  # but a constant series is not stuck


def _calibration(percent: float, temp: float = 25.0) -> Calibration:
    slope = -177.5 * percent / 100 * nernst_slope(temp) / nernst_slope(25.0)
    pts = tuple(
        CalibrationPoint(mv_to_count(1500.0 + slope * (ph - 7.0)), ph) for ph in (4.0, 7.0, 10.0)
    )
    return Calibration(points=pts, temperature_c=temp)


def test_slope_percent_of_nernst() -> None:
    assert slope_percent(_calibration(97.0)) == pytest.approx(97.0, abs=0.3)
    assert slope_percent(_calibration(92.0, temp=15.0)) == pytest.approx(92.0, abs=0.3)
    one_point = Calibration(points=(CalibrationPoint(1861, 7.0),))
    assert slope_percent(one_point) is None


def test_probe_ageing_projects_the_replacement_date() -> None:
    # Monthly calibrations, slope falling 1 % per 30 days from 98 %.
    history = [(i * 30 * DAY, _calibration(98.0 - i)) for i in range(6)]
    ageing = probe_ageing(history)
    assert ageing is not None
    assert ageing.rate_percent_per_day == pytest.approx(-1 / 30, rel=0.05)
    assert ageing.percent_now == pytest.approx(93.0, abs=0.3)
    # 93 % -> 85 % at 1 %/30 days: 240 days after the last calibration.
    assert ageing.days_left(5 * 30 * DAY) == pytest.approx(240, rel=0.05)
    fresh = probe_ageing([(0.0, _calibration(99.0)), (DAY, _calibration(99.2))])
    assert fresh is not None
    assert fresh.replace_at is None
    worn = probe_ageing([(0.0, _calibration(84.0))])
    assert worn is not None
    assert worn.days_left(DAY) == 0.0
    assert probe_ageing([]) is None


def test_fit_rejects_unusable_series() -> None:
    with pytest.raises(ValueError, match="two finite"):
        SeasonalSmoothing().fit(np.array([0.0, 60.0]), np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="same length"):
        LinearTrend().fit(np.arange(3.0), np.arange(2.0))
