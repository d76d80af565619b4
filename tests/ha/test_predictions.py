"""Predictions in HA: opt-in from the sensor's subentry, fits on the recorder's history,
forecast/time-until/anomaly entities, the dispatcher signal, user predictors, opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.diagnostics import async_get_config_entry_diagnostics
from custom_components.automationone.prediction_runtime import latest_prediction
from custom_components.automationone.predictions import PredictionOutcome

from .common import MAC
from .test_device_trigger import LEVEL
from .test_sensors import entity, entry_with, reading, setup

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BANDED = LEVEL | {"interval_s": 60, "warning_high": 150.0, "critical_high": 200.0}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database comes before `hass` (see test_simulate_rule.py)."""


def prediction_entity(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str | None:
    """Entity id of a prediction entity of the Level sensor (`forecast`, `anomaly`, ...)."""
    (sid,) = entry.subentries
    platform = "binary_sensor" if key == "anomaly" else "sensor"
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{MAC}-{sid}-{key}")


async def feed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, values: list[float], seq: int = 0
) -> int:
    """One reading a minute from now on; returns the last seq."""
    for value in values:
        freezer.tick(timedelta(seconds=60))
        seq += 1
        reading(hass, 34, value, seq=seq)
        await hass.async_block_till_done()
    return seq


async def reconfigure(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str) -> Any:
    """The sensor subentry's reconfigure flow (its menu)."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "reconfigure", "subentry_id": subentry_id}
    )


async def set_predictions(hass: HomeAssistant, entry: MockConfigEntry, **form: Any) -> None:
    """The sensor's reconfigure menu → Predictions, submitted with `form`."""
    (subentry,) = entry.subentries.values()
    result = await reconfigure(hass, entry, subentry.subentry_id)
    assert result["type"] is FlowResultType.MENU
    assert "predictions" in result["menu_options"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "predictions"}
    )
    assert result["step_id"] == "predictions"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done(wait_background_tasks=True)


async def refit(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Let the refit timer fire (the loop's clock does not follow the frozen one on every HA:
    fire the timers that are due by then). A fit still running (a timer that came due while
    the readings came in) is waited for first: a tick during a fit is skipped, not queued."""
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass, fire_all=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_opt_in_fits_the_recorded_history_and_opt_out_removes_the_entities(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A level rising 1 cm a minute, recorded before the opt-in: the forecast, the time
    until the warning (150) and critical (200) bands and their crossings come from the
    recorder's history at once; each refit is sent on the entry's signal."""
    freezer.move_to(T0)
    entry = await setup(hass, entry_with(("Level", BANDED)))
    (sid,) = entry.subentries
    seq = await feed(hass, freezer, [float(v) for v in range(100)])  # ends at 99 cm
    await async_wait_recording_done(hass)
    assert prediction_entity(hass, entry, "forecast") is None

    await set_predictions(
        hass, entry, enabled=True, predictor="linear_trend", horizon_min=120, refit_min=5
    )
    forecast = prediction_entity(hass, entry, "forecast")
    assert forecast is not None
    state = hass.states.get(forecast)
    assert float(state.state) == pytest.approx(99 + 120, abs=0.5)
    assert state.attributes["lower"] <= float(state.state) <= state.attributes["upper"]
    assert state.attributes["predictor"] == "linear_trend"
    assert state.attributes["samples"] >= 100
    warning = hass.states.get(prediction_entity(hass, entry, "time_until_warning") or "")
    critical = hass.states.get(prediction_entity(hass, entry, "time_until_critical") or "")
    assert warning.attributes["device_class"] == "duration"
    assert warning.attributes["unit_of_measurement"] == "min"
    assert float(warning.state) == pytest.approx(51, abs=0.5)  # (150 - 99) cm at 1 cm/min
    assert float(critical.state) == pytest.approx(101, abs=0.5)
    assert warning.attributes["edge"] == "high"
    assert warning.attributes["threshold"] == 150.0
    anomaly = hass.states.get(prediction_entity(hass, entry, "anomaly") or "")
    assert anomaly.state == STATE_OFF
    outcome = latest_prediction(hass, entry.entry_id, sid)
    assert outcome is not None
    assert [(c.band, c.edge) for c in outcome.crossings] == [
        ("warning", "high"),
        ("critical", "high"),
    ]
    assert outcome.crossings[0].in_s == pytest.approx(51 * 60, abs=30)
    assert outcome.horizon_s == 7200

    # The prediction entities sit on the sensor's device, in its subentry.
    registry = er.async_get(hass)
    source = registry.async_get(entity(hass, entry, "Level"))
    predicted = registry.async_get(forecast)
    assert predicted.unit_of_measurement == source.unit_of_measurement
    assert predicted.original_device_class == source.original_device_class
    assert predicted.device_id == source.device_id
    assert predicted.config_subentry_id == sid

    # New readings follow the state; the refit timer fits them and sends the outcome.
    sent: list[PredictionOutcome] = []
    async_dispatcher_connect(hass, f"automationone_prediction_{entry.entry_id}", sent.append)
    await feed(hass, freezer, [float(v) for v in range(100, 110)], seq)
    await refit(hass, freezer, 300)
    assert sent  # the timer fires every 5 minutes while the readings come in, and after
    assert {o.subentry_id for o in sent} == {sid}
    assert sent[-1].crossings[0].in_s == pytest.approx((150 - 109) * 60, abs=60)
    assert float(hass.states.get(forecast).state) == pytest.approx(109 + 120, abs=1.0)

    await set_predictions(hass, entry, enabled=False, predictor="linear_trend", horizon_min=120,
                          refit_min=5)  # fmt: skip
    for key in ("forecast", "anomaly", "time_until_warning", "time_until_critical"):
        assert prediction_entity(hass, entry, key) is None
    assert hass.states.get(forecast) is None
    assert latest_prediction(hass, entry.entry_id, sid) is None
    assert entry.subentries[sid].data["prediction"]["enabled"] is False


async def test_a_spike_turns_the_anomaly_sensor_on(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Soil moisture that wobbles around 50 %, then one reading far off: the anomaly sensor
    turns on with the reason and score; the forecast has the source's unit and device class;
    without bands there is no time-until sensor."""
    freezer.move_to(T0)
    prediction = {"enabled": True, "predictor": "seasonal_daily", "horizon_s": 3600, "refit_s": 60}
    soil = {**BANDED, "sensor_type": "soil_moisture", "params": {}, "prediction": prediction}
    for key in ("warning_high", "critical_high"):
        del soil[key]
    entry = await setup(hass, entry_with(("Level", soil)))
    assert prediction_entity(hass, entry, "time_until_warning") is None
    anomaly = prediction_entity(hass, entry, "anomaly")
    assert anomaly is not None
    seq = await feed(hass, freezer, [2150.0 + 5 * (i % 3) for i in range(90)])
    await refit(hass, freezer, 0)
    state = hass.states.get(anomaly)
    assert state.state == STATE_OFF
    assert state.attributes["reason"] is None
    forecast = hass.states.get(prediction_entity(hass, entry, "forecast") or "")
    assert forecast.attributes["unit_of_measurement"] == "%"
    assert forecast.attributes["device_class"] == "moisture"
    assert float(forecast.state) == pytest.approx(50.0, abs=1.0)
    await feed(hass, freezer, [1500.0], seq)
    await refit(hass, freezer, 0)
    state = hass.states.get(anomaly)
    assert state.state == STATE_ON
    assert state.attributes["reason"] in ("spike", "outlier")
    assert state.attributes["score"] > 6
    diagnostics = json.loads(json.dumps(await async_get_config_entry_diagnostics(hass, entry)))
    shown = diagnostics["predictions"]["Level"]
    assert shown["latest"]["anomaly"]["reason"] == state.attributes["reason"]
    assert shown["settings"]["predictor"] == "seasonal_daily"
    assert shown["readings"] >= 91


async def test_user_predictor_is_offered_and_a_broken_one_is_a_repair(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
) -> None:
    """Predictors from <config>/automationone/predictors: broken → repair issue, valid →
    offered in the predictions step and fitted."""
    hass.config.config_dir = str(tmp_path)
    folder = Path(hass.config.path("automationone", "predictors"))
    folder.mkdir(parents=True)
    (folder / "broken.py").write_text("import numpy\nPREDICTOR = object()\n")
    (folder / "last.py").write_text(
        "import numpy as np\n"
        "from custom_components.automationone.predictions import Anomaly, BaseModel\n"
        "class Model(BaseModel):\n"
        "    def __init__(self, t_end, last):\n"
        "        self.t_end, self.last, self._anomaly = t_end, last, Anomaly(0.0, None)\n"
        "    def predict(self, t):\n"
        "        return np.full(np.shape(t), self.last), np.full(np.shape(t), 0.5)\n"
        "class Last:\n"
        "    id = 'last_value'\n"
        "    name = 'Last value'\n"
        "    def fit(self, t, y, *, params=None):\n"
        "        return Model(float(t[-1]), float(y[-1]))\n"
        "PREDICTOR = Last()\n"
    )
    assert await async_setup_component(hass, DOMAIN, {})
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "predictor_plugin_broken.py")
    assert issue is not None
    assert issue.translation_key == "predictor_plugin_broken"
    assert "missing_attribute" in issue.translation_placeholders["error"]
    freezer.move_to(T0)
    entry = await setup(hass, entry_with(("Level", LEVEL)))
    (subentry,) = entry.subentries.values()
    result = await reconfigure(hass, entry, subentry.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "predictions"}
    )
    options = [o["value"] for o in result["data_schema"].schema["predictor"].config["options"]]
    assert options == ["linear_trend", "seasonal_daily", "last_value"]
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"enabled": True, "predictor": "last_value", "horizon_min": 30, "refit_min": 1},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await feed(hass, freezer, [5.0, 7.0])
    await refit(hass, freezer, 60)
    forecast = hass.states.get(prediction_entity(hass, entry, "forecast") or "")
    assert float(forecast.state) == 7.0
    assert forecast.attributes["upper"] == 7.5


async def test_a_predictor_that_fails_at_runtime_is_logged_once(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A user predictor that passes its trial but raises on real data: its entities stay
    unavailable, one warning when it starts failing (not one per refit), none for others."""
    hass.config.config_dir = str(tmp_path)
    folder = Path(hass.config.path("automationone", "predictors"))
    folder.mkdir(parents=True)
    (folder / "picky.py").write_text(
        "from custom_components.automationone.predictions import LinearTrend\n"
        "class Picky(LinearTrend):\n"
        "    id = 'picky'\n"
        "    name = 'Picky'\n"
        "    def fit(self, t, y, *, params=None):\n"
        "        if t[-1] > 1.75e9:\n"
        "            raise RuntimeError('not after 2025')\n"
        "        return super().fit(t, y, params=params)\n"
        "PREDICTOR = Picky()\n"
    )
    assert await async_setup_component(hass, DOMAIN, {})
    assert ir.async_get(hass).async_get_issue(DOMAIN, "predictor_plugin_picky.py") is None
    freezer.move_to(T0)
    prediction = {"enabled": True, "predictor": "picky", "horizon_s": 3600, "refit_s": 60}
    entry = await setup(hass, entry_with(("Level", BANDED | {"prediction": prediction})))
    await feed(hass, freezer, [1.0, 2.0, 3.0])
    for _ in range(3):
        await refit(hass, freezer, 60)
    forecast = hass.states.get(prediction_entity(hass, entry, "forecast") or "")
    assert forecast.state == "unavailable"
    failures = [r for r in caplog.records if "could not fit" in r.getMessage()]
    assert len(failures) == 1
    assert "not after 2025" in failures[0].getMessage()
