"""One refit cycle (history buffer, fit, crossings) and user predictor plug-ins (pure)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from custom_components.automationone.predictions import (
    BUILTIN_PREDICTORS,
    LinearTrend,
    SeriesBuffer,
    bands_from,
    builtin_registry,
    fit_outcome,
    load_predictor_plugins,
)

T0 = 1_765_000_000.0


def test_buffer_keeps_the_newest_readings_within_age_and_count() -> None:
    """Older-than-held readings are ignored; age and count bound what is kept."""
    buffer = SeriesBuffer(max_age_s=600.0, max_points=5000)
    buffer.extend(T0 + np.arange(0.0, 3000.0, 60.0), np.arange(50.0))
    t, y = buffer.snapshot()
    assert t[0] == T0 + 2340.0
    assert t[-1] == T0 + 2940.0
    buffer.append(T0 + 100.0, -1.0)  # older than the newest: dropped
    buffer.append(T0 + 3000.0, 50.0)
    t, y = buffer.snapshot()
    assert y[-1] == 50.0
    assert -1.0 not in y
    assert t[0] == T0 + 2400.0
    small = SeriesBuffer(max_age_s=1e9, max_points=10)
    for k in range(3000):
        small.append(T0 + k, float(k))
    t, y = small.snapshot()
    assert len(small) == 10
    assert list(y) == [float(k) for k in range(2990, 3000)]


def test_bands_from_subentry_data() -> None:
    """Only numeric band edges count."""
    data = {"warning_low": 5.5, "warning_high": 7, "critical_high": None, "gpio": 34}
    assert bands_from(data) == {("warning", "low"): 5.5, ("warning", "high"): 7.0}


def test_rising_series_crosses_the_high_edges_soonest_first() -> None:
    """pH rising 0.1/h from 6.0: warning at 7.0 in 10 h, critical at 7.5 in 15 h."""
    t = T0 + np.arange(0.0, 6 * 3600.0, 60.0)
    y = 6.0 - 0.6 + (t - T0) / 36000.0  # ends at 6.0
    bands = bands_from({"warning_low": 5.0, "warning_high": 7.0, "critical_high": 7.5})
    outcome = fit_outcome(LinearTrend(), t, y, subentry_id="s1", horizon_s=20 * 3600.0, bands=bands)
    edges = [(c.band, c.edge) for c in outcome.crossings]
    assert edges == [("warning", "high"), ("critical", "high")]
    assert outcome.crossings[0].in_s == pytest.approx(10 * 3600.0, rel=0.01)
    assert outcome.crossings[1].in_s == pytest.approx(15 * 3600.0, rel=0.01)
    assert outcome.forecast.value == pytest.approx(8.0, abs=0.01)
    assert outcome.samples == t.size
    assert outcome.predictor == "linear_trend"
    short = fit_outcome(LinearTrend(), t, y, subentry_id="s1", horizon_s=3600.0, bands=bands)
    assert short.crossings == ()


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


GOOD = """
import numpy as np
from custom_components.automationone.predictions import Anomaly, BaseModel, BasePredictor

class MeanModel(BaseModel):
    def __init__(self, t_end, mean):
        self.t_end, self.mean = t_end, mean
        self._anomaly = Anomaly(0.0, None)
    def predict(self, t):
        return np.full(np.shape(t), self.mean), np.full(np.shape(t), 1.0)

class Mean(BasePredictor):
    id = "mean"
    name = "Mean"
    def fit(self, t, y, *, params=None):
        return MeanModel(float(t[-1]), float(np.nanmean(y)))

PREDICTOR = Mean()
"""


def test_user_predictors_load_and_broken_ones_are_reported(tmp_path: Path) -> None:
    """A valid plug-in registers; syntax errors, missing fit, bad results, clashes do not."""
    _write(tmp_path, "mean.py", GOOD)
    _write(tmp_path, "syntax.py", "def oops(:\n")
    _write(tmp_path, "nofit.py", "class P:\n    id = 'nofit'\n    name = 'x'\nPREDICTOR = P()\n")
    _write(tmp_path, "nothing.py", "X = 1\n")
    _write(
        tmp_path,
        "raises.py",
        "class P:\n    id = 'raises'\n    name = 'x'\n"
        "    def fit(self, t, y, *, params=None):\n        raise RuntimeError('no')\n"
        "PREDICTOR = P()\n",
    )
    _write(tmp_path, "clash.py", GOOD.replace('id = "mean"', 'id = "linear_trend"'))
    registry = builtin_registry()
    loaded, errors = load_predictor_plugins(tmp_path, registry)
    assert [p.id for p in loaded] == ["mean"]
    assert "mean" in registry
    assert not registry.is_builtin("mean")
    codes = {e.path.name: e.code for e in errors}
    assert codes == {
        "syntax.py": "syntax_error",
        "nofit.py": "missing_attribute",
        "nothing.py": "no_predictor",
        "raises.py": "trial_failed",
        "clash.py": "id_clash",
    }
    raised = next(e for e in errors if e.code == "trial_failed")
    assert raised.line == 5  # the plug-in's own line
    model = registry.get("mean").fit(np.array([T0, T0 + 60.0]), np.array([1.0, 3.0]))
    assert model.forecast(60.0).value == 2.0
    assert set(BUILTIN_PREDICTORS) == {"linear_trend", "seasonal_daily"}
