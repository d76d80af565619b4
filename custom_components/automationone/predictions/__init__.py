"""Predictions: forecasts, time-to-threshold and anomalies from a sensor's history (pure, numpy).

No Home Assistant imports. `base.Predictor` is the plug-in interface; built-ins are
`linear_trend` (`trend`) and `seasonal_daily` (`seasonal`); every fitted model also scores
the latest reading for outliers, spikes and flatlines (`anomaly`). `probe.probe_ageing`
follows a pH probe's slope over its calibration history. `cycle` is one refit of one sensor
(history buffer in, `outcome.PredictionOutcome` out); `plugins` loads user predictors.
"""

from .anomaly import ANOMALY_PARAMS, REASONS, Detection, detect, flat_runs, robust_scores
from .base import Anomaly, BaseModel, BasePredictor, Forecast, Model, Predictor
from .cycle import HISTORY_S, SeriesBuffer, bands_from, crossings, fit_outcome
from .outcome import PredictionOutcome, ThresholdCrossing
from .plugins import PluginPredictor, check_predictor, load_predictor_plugins
from .probe import ProbeAgeing, probe_ageing, slope_percent
from .registry import BUILTIN_PREDICTORS, Registry, builtin_registry
from .seasonal import SeasonalModel, SeasonalSmoothing
from .trend import LinearTrend, LinearTrendModel

__all__ = [
    "ANOMALY_PARAMS",
    "BUILTIN_PREDICTORS",
    "HISTORY_S",
    "REASONS",
    "Anomaly",
    "BaseModel",
    "BasePredictor",
    "Detection",
    "Forecast",
    "LinearTrend",
    "LinearTrendModel",
    "Model",
    "PluginPredictor",
    "PredictionOutcome",
    "Predictor",
    "ProbeAgeing",
    "Registry",
    "SeasonalModel",
    "SeasonalSmoothing",
    "SeriesBuffer",
    "ThresholdCrossing",
    "bands_from",
    "builtin_registry",
    "check_predictor",
    "crossings",
    "detect",
    "fit_outcome",
    "flat_runs",
    "load_predictor_plugins",
    "probe_ageing",
    "robust_scores",
    "slope_percent",
]
