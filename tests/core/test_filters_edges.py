"""Filters at their edges: bad options, non-finite input, reset; and the prediction outcome's
defaults (pure, no Home Assistant)."""

from __future__ import annotations

import math

import pytest

from custom_components.automationone.predictions.base import Anomaly, Forecast
from custom_components.automationone.predictions.outcome import (
    PredictionOutcome,
    ThresholdCrossing,
)
from custom_components.automationone.processors.filters import (
    HampelFilter,
    KalmanFilter1D,
    MedianFilter,
    make_filter,
)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MedianFilter(0),
        lambda: HampelFilter(2),
        lambda: HampelFilter(7, threshold=0),
        lambda: KalmanFilter1D(0, 1),
        lambda: KalmanFilter1D(1, -1),
    ],
)
def test_bad_options_are_refused(make: object) -> None:
    """A window too small, a threshold or variance not > 0: ValueError."""
    with pytest.raises(ValueError, match="must be"):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("kind", ["median", "hampel", "kalman"])
def test_non_finite_passes_through_and_reset_forgets(kind: str) -> None:
    """NaN and inf pass untouched without entering the state; reset starts over."""
    filt = make_filter(kind)
    assert filt is not None
    for value in (10.0, 10.0, 10.0, 10.0):
        filt.update(value)
    assert math.isnan(filt.update(math.nan))
    assert filt.update(math.inf) == math.inf
    assert filt.update(10.0) == pytest.approx(10.0)
    filt.reset()
    assert filt.update(50.0) == 50.0  # nothing of the earlier tens is left
    assert filt.rejected is False


def test_hampel_flags_a_spike_and_accepts_a_lasting_step() -> None:
    """A spike becomes the median (rejected); a step that fills the window is accepted."""
    filt = HampelFilter(window=5, threshold=3.0)
    for value in (10.0, 10.2, 9.8, 10.1):
        assert filt.update(value) == value
    assert filt.update(50.0) == pytest.approx(10.05)
    assert filt.rejected
    outputs = [filt.update(50.0) for _ in range(5)]
    assert outputs[-1] == 50.0
    assert not filt.rejected


def test_kalman_estimate_and_variance() -> None:
    """The first value initialises the state; later ones move it by the gain."""
    filt = KalmanFilter1D(process_variance=1.0, measurement_variance=1.0)
    assert filt.estimate is None
    assert filt.update(0.0) == 0.0
    assert filt.variance == 1.0
    # P = 1 + 1 = 2, K = 2/3: x = 0 + 2/3 * 3 = 2, P = 2/3.
    assert filt.update(3.0) == pytest.approx(2.0)
    assert filt.variance == pytest.approx(2 / 3)


def test_prediction_outcome_defaults() -> None:
    """No crossings and no samples unless the fit says so; frozen."""
    forecast = Forecast(t=3600.0, value=7.0, lower=6.5, upper=7.5)
    anomaly = Anomaly(score=0.0, reason=None)
    outcome = PredictionOutcome(
        "sub", "trend", t=0.0, horizon_s=3600, forecast=forecast, anomaly=anomaly
    )
    assert (outcome.crossings, outcome.samples) == ((), 0)
    crossing = ThresholdCrossing(band="warning", edge="high", threshold=8.0, in_s=600)
    assert crossing.in_s == 600
    with pytest.raises(AttributeError):
        outcome.samples = 3  # type: ignore[misc]
