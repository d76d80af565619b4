"""User predictor plug-ins: Python files in a folder, loaded like the processor plug-ins.

Contract of a plug-in file `<name>.py` (any library the user installed may be imported):

    import numpy as np
    from custom_components.automationone.predictions import Anomaly, BaseModel, BasePredictor

    class MeanModel(BaseModel):
        def __init__(self, t_end, mean):
            self.t_end, self.mean = t_end, mean
            self._anomaly = Anomaly(0.0, None)
        def predict(self, t):
            return np.full(np.shape(t), self.mean), np.full(np.shape(t), 1.0)

    class Mean(BasePredictor):
        id = "mean"; name = "Mean of the history"
        def fit(self, t, y, *, params=None):
            return MeanModel(float(t[-1]), float(np.nanmean(y)))

    PREDICTOR = Mean()          # or PREDICTORS = [Mean(), ...]

A predictor needs `id` (`[a-z0-9_]{1,24}`, not a built-in's), `name` and a callable `fit`;
`params` defaults to (). The model `fit` returns must have the `Model` interface (`t_end`,
`predict`, `forecast`, `time_to_threshold`, `anomaly`); deriving from `BaseModel` gives all
but `predict` and `_anomaly`. A trial fit on two hours of a rising series must give finite
forecasts and an `Anomaly`. Plug-ins run in-process with the integration's rights; the loader
only keeps a broken file from breaking the rest. `load_predictor_plugins` does file I/O: call
it in an executor.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final

import numpy as np

from ..processors.base import Param, Params
from ..processors.plugins import PluginError, PluginKind, error_line, load_plugin_dir
from ..processors.registry import ID_PATTERN
from .base import Anomaly, FloatArray, Model, Predictor
from .registry import Registry, builtin_registry

MODULE_PREFIX: Final = "automationone_user_predictor_"
# The trial series: two hours of 1-minute readings rising by 1 per hour.
_TRIAL_T: Final = 1_700_000_000.0 + 60.0 * np.arange(120.0)
_TRIAL_Y: Final = 20.0 + (_TRIAL_T - _TRIAL_T[0]) / 3600.0


class PluginPredictor:
    """Wraps a duck-typed plug-in object so it has the full `Predictor` interface."""

    def __init__(self, inner: Any, source: Path) -> None:
        """Copy the plug-in's attributes (`params` defaults to ())."""
        self.inner = inner
        self.source = source
        self.id: str = inner.id
        self.name: str = inner.name
        self.params: tuple[Param, ...] = tuple(getattr(inner, "params", ()))

    def fit(self, t: FloatArray, y: FloatArray, *, params: Params | None = None) -> Model:
        """The plug-in's fit."""
        model: Model = self.inner.fit(t, y, params=params)
        return model


def check_predictor(obj: Any, path: Path) -> PluginError | None:
    """Why `obj` does not satisfy the predictor interface (None when it does)."""
    pid = getattr(obj, "id", None)
    label = pid if isinstance(pid, str) else None
    for attr in ("id", "name", "fit"):
        if not hasattr(obj, attr):
            return PluginError(path, "missing_attribute", f"no attribute {attr!r}", None, label)
    if not isinstance(pid, str) or not ID_PATTERN.match(pid):
        return PluginError(
            path, "bad_attribute", f"id {pid!r} must match {ID_PATTERN.pattern}", None, label
        )
    if not isinstance(obj.name, str) or not obj.name:
        return PluginError(path, "bad_attribute", "name must be a non-empty string", None, pid)
    if not callable(obj.fit):
        return PluginError(path, "not_callable", "'fit' is not callable", None, pid)
    try:
        params = tuple(getattr(obj, "params", ()))
    except TypeError:
        return PluginError(path, "bad_attribute", "params must be a sequence of Param", None, pid)
    if not all(isinstance(p, Param) for p in params):
        return PluginError(path, "bad_attribute", "params must be a sequence of Param", None, pid)
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _trial(predictor: Predictor, path: Path) -> PluginError | None:
    """Fit the trial series; the model must forecast, cross and score like a `Model`."""
    try:
        model: Any = predictor.fit(_TRIAL_T.copy(), _TRIAL_Y.copy())  # user code: unchecked
        forecast = model.forecast(600.0)
        crossing = model.time_to_threshold(1e9, rising=True, within_s=600.0)
        anomaly = model.anomaly()
    except Exception as err:  # noqa: BLE001 - a raising plug-in becomes its report
        return PluginError(
            path,
            "trial_failed",
            f"a trial fit raised {type(err).__name__}: {err}",
            error_line(err, path),
            predictor.id,
        )
    values = (getattr(forecast, k, None) for k in ("value", "lower", "upper"))
    if not all(_finite(v) for v in values):
        problem = f"forecast(600) returned {forecast!r}: expected finite value, lower, upper"
    elif crossing is not None and not _finite(crossing):
        problem = f"time_to_threshold returned {crossing!r}: expected seconds or None"
    elif not isinstance(anomaly, Anomaly):
        problem = f"anomaly() returned {anomaly!r}: expected an Anomaly"
    else:
        return None
    return PluginError(path, "bad_result", problem, None, predictor.id)


PREDICTOR_PLUGINS: Final = PluginKind[Predictor](
    noun="predictor",
    module_prefix=MODULE_PREFIX,
    check=check_predictor,
    wrap=PluginPredictor,
    trial=_trial,
)


def load_predictor_plugins(
    directory: Path, registry: Registry | None = None
) -> tuple[list[Predictor], list[PluginError]]:
    """Import every `*.py` in `directory`, check its predictors, and register the valid ones
    into `registry` (a new built-in registry when None). See `load_plugin_dir`."""
    target = builtin_registry() if registry is None else registry
    return load_plugin_dir(directory, target, PREDICTOR_PLUGINS)
