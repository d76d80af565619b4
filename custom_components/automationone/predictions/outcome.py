"""What one prediction cycle says about one sensor: the contract between fitting and recommending.

The HA runtime fits a sensor's history and publishes a `PredictionOutcome`; the recommendations
layer (and the prediction entities) read it. Pure data, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Anomaly, Forecast


@dataclass(frozen=True, slots=True)
class ThresholdCrossing:
    """A warning/critical band edge the forecast reaches within the horizon."""

    band: str  # "warning" or "critical"
    edge: str  # "low" or "high"
    threshold: float
    in_s: float  # seconds from `PredictionOutcome.t` until it is crossed


@dataclass(frozen=True, slots=True)
class PredictionOutcome:
    """One fit of one opted-in sensor (a sensor subentry)."""

    subentry_id: str
    predictor: str
    t: float  # POSIX time of the newest reading the fit saw
    horizon_s: float
    forecast: Forecast
    anomaly: Anomaly
    crossings: tuple[ThresholdCrossing, ...] = field(default=())
    samples: int = 0
