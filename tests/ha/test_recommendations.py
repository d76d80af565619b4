"""Recommendations in HA: from a prediction's outcome to a repair issue, approved or rejected
with one click, executed through the actuator's command path, auto-action, dosing safety,
feedback, and the store across a restart. The outcomes are sent on the signal the fitting
runtime publishes on (the contract in predictions/outcome.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.prediction_runtime import prediction_signal
from custom_components.automationone.predictions import Anomaly, Forecast
from custom_components.automationone.predictions.outcome import (
    PredictionOutcome,
    ThresholdCrossing,
)
from custom_components.automationone.recommendations import EVENT_RECOMMENDATION

from .common import BASE, MAC, mock_entry
from .test_actuators import commands, message, status

pytestmark = pytest.mark.usefixtures("short_answer_wait")


@pytest.fixture
def answer_wait_s() -> float:
    """Nobody answers the commands: they count as sent at once (also on a frozen clock)."""
    return 0.0


PH = {
    "sensor_type": "ph",
    "gpio": 34,
    "interval_s": 10,
    "mode": "processed",
    "echo_processed": False,
    "params": {},
    "warning_low": 5.5,
    "warning_high": 7.0,
}
PUMP = {
    "actuator_type": "pump",
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 30,
    "cooldown_s": 0,
    "max_per_hour": 0,
    "failsafe_s": 0,
}
UP = PUMP | {
    "gpio": 26,
    "corrects": "ph",
    "direction": "up",
    "dose_s": 2.0,
    "max_doses_per_day": 2,
    "interlock_group": "ph",
    "interlock_min": 10,
}
DOWN = UP | {"gpio": 27, "direction": "down", "dose_s": 3.0}


def entry() -> MockConfigEntry:
    """The test device with a pH sensor and its up and down pumps (fixed subentry ids)."""
    base = mock_entry()
    subentries = [
        ConfigSubentryDataWithId(
            data=PH, subentry_type="sensor", title="Tank pH", unique_id="34:", subentry_id="ph"
        ),
        ConfigSubentryDataWithId(
            data=UP, subentry_type="actuator", title="pH up", unique_id="actuator:26",
            subentry_id="up",
        ),
        ConfigSubentryDataWithId(
            data=DOWN, subentry_type="actuator", title="pH down", unique_id="actuator:27",
            subentry_id="down",
        ),
    ]  # fmt: skip
    return MockConfigEntry(
        domain=DOMAIN,
        title=base.title,
        unique_id=base.unique_id,
        data=base.data,
        subentries_data=subentries,
    )


async def setup(
    hass: HomeAssistant, config_entry: MockConfigEntry | None = None
) -> MockConfigEntry:
    """Set up the entry, the device online, the pumps off, a good pH reading."""
    await async_setup_component(hass, "repairs", {})
    config_entry = config_entry or entry()
    if config_entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries()}:
        config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    for gpio in (26, 27):
        status(hass, gpio, state=False, value=0, reason="boot")
    ph_reading(hass, 6.0)
    await hass.async_block_till_done()
    return config_entry


SEQ = iter(range(1, 10_000))


def ph_reading(hass: HomeAssistant, value: float, quality: str = "good") -> None:
    """A processed pH reading from the device."""
    payload = {"v": 1, "seq": next(SEQ), "value": value, "unit": "pH", "quality": quality}
    async_fire_mqtt_message(hass, f"{BASE}/sensor/34/data", json.dumps(payload))


def outcome(
    t: float, *crossings: ThresholdCrossing, anomaly: Anomaly | None = None
) -> PredictionOutcome:
    """A fit of the pH sensor at `t` with a 2 h horizon and a 5.0..5.6 band at its end."""
    return PredictionOutcome(
        subentry_id="ph",
        predictor="linear_trend",
        t=t,
        horizon_s=7200.0,
        forecast=Forecast(t + 7200, 5.3, 5.0, 5.6),
        anomaly=anomaly or Anomaly(0.3, None),
        crossings=crossings,
        samples=700,
    )


LOW = ThresholdCrossing("warning", "low", 5.5, 1800.0)
HIGH = ThresholdCrossing("warning", "high", 7.0, 1800.0)


async def publish(
    hass: HomeAssistant, config_entry: MockConfigEntry, *o: PredictionOutcome
) -> None:
    """The fitting runtime's outcomes, on its signal."""
    for item in o:
        async_dispatcher_send(hass, prediction_signal(config_entry.entry_id), item)
    await hass.async_block_till_done()
    await hass.async_block_till_done()


def open_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    """Our open recommendation issues."""
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith("recommendation_")
    ]


def now() -> float:
    """HA's clock (POSIX)."""
    return dt_util.utcnow().timestamp()


async def fix(hass_client: ClientSessionGenerator, issue: ir.IssueEntry, choice: str) -> Any:
    """Open the issue's dialog and click `choice` (approve/reject): the result."""
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    assert resp.status == 200
    flow = await resp.json()
    assert flow["type"] == "menu"
    assert flow["menu_options"] == ["approve", "reject"]
    assert flow["description_placeholders"]["sensor"] == "Tank pH"
    resp = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": choice}
    )
    assert resp.status == 200
    return await resp.json()


async def test_forecast_crossing_is_a_fixable_issue_approved_with_one_click(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    config_entry = await setup(hass)
    logbook = async_capture_events(hass, "logbook_entry")
    made = async_capture_events(hass, EVENT_RECOMMENDATION)
    await publish(hass, config_entry, outcome(now(), LOW))
    (issue,) = open_issues(hass)
    assert issue.is_fixable
    assert issue.translation_key == "recommendation_raise_value"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["action"] == "pH up: 2 s"
    assert issue.translation_placeholders["confidence"] == "83"
    (event,) = made
    rec_id = event.data["id"]
    assert event.data["sensor"] == "sensor.greenhouse_1_tank_ph"
    assert event.data["action"] == {"actuator": "pH up", "duration_s": 2.0}
    assert "recommends: Tank pH will be below its warning limit 5.5" in logbook[-1].data["message"]
    assert logbook[-1].data["entity_id"] == "sensor.greenhouse_1_tank_ph"
    # The next fit with the same situation updates it: still one issue, one id.
    await publish(hass, config_entry, outcome(now(), LOW))
    assert [i.issue_id for i in open_issues(hass)] == [f"recommendation_{rec_id}"]

    result = await fix(hass_client, issue, "approve")
    await hass.async_block_till_done()
    assert result["type"] == "create_entry"
    assert commands(mqtt_mock, 26)[-1] | {"cmd_id": "-"} == {
        "v": 1, "action": "pulse", "duration_s": 2.0, "cmd_id": "-", "source": "home_assistant"
    }  # fmt: skip
    assert open_issues(hass) == []
    messages = [e.data["message"] for e in logbook]
    assert f"ran pH up for 2 s (user, {rec_id})" in messages
    assert f"recommendation {rec_id} approved (user)" in messages


async def test_services_approve_and_reject_and_unknown_ids(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    config_entry = await setup(hass)
    made = async_capture_events(hass, EVENT_RECOMMENDATION)
    await publish(hass, config_entry, outcome(now(), HIGH))
    rec_id = made[-1].data["id"]
    await hass.services.async_call(
        DOMAIN, "approve_recommendation", {"recommendation_id": rec_id}, blocking=True
    )
    assert commands(mqtt_mock, 27)[-1]["duration_s"] == 3.0
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "reject_recommendation", {"recommendation_id": rec_id}, blocking=True
        )
    assert message(err.value) == f"There is no open recommendation {rec_id}."


async def test_stale_bad_and_uncalibrated_inputs_never_dose(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    config_entry = await setup(hass)
    made = async_capture_events(hass, EVENT_RECOMMENDATION)
    logbook = async_capture_events(hass, "logbook_entry")
    await publish(hass, config_entry, outcome(now(), LOW))
    rec_id = made[-1].data["id"]
    for quality, text in (
        ("bad", "pH up does not dose: the reading of Tank pH is bad."),
        ("uncalibrated", "pH up does not dose: Tank pH is not calibrated."),
    ):
        ph_reading(hass, 5.9, quality)
        await hass.async_block_till_done()
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "approve_recommendation", {"recommendation_id": rec_id}, blocking=True
            )
        assert message(err.value) == text
    assert commands(mqtt_mock, 26) == []
    assert (
        "did not run pH up (service): the sensor is not calibrated" in logbook[-1].data["message"]
    )
    # The dialog explains the same refusal; the recommendation stays open.
    (issue,) = open_issues(hass)
    result = await fix(hass_client, issue, "approve")
    assert result["type"] == "abort"
    assert result["reason"] == "refused"
    assert len(open_issues(hass)) == 1


async def test_interlock_and_daily_maximum(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    config_entry = await setup(hass)
    made = async_capture_events(hass, EVENT_RECOMMENDATION)

    async def approve(*o: PredictionOutcome) -> None:
        await publish(hass, config_entry, *o)
        await hass.services.async_call(
            DOMAIN,
            "approve_recommendation",
            {"recommendation_id": made[-1].data["id"]},
            blocking=True,
        )

    await approve(outcome(now(), LOW))
    # The down pump is in the same interlock group (10 min).
    freezer.tick(120)
    ph_reading(hass, 6.0)
    with pytest.raises(ServiceValidationError) as err:
        await approve(outcome(now(), HIGH))
    assert message(err.value) == (
        "pH down is interlocked with pH up, which dosed recently. It may dose in 480 s."
    )
    assert commands(mqtt_mock, 27) == []
    await hass.services.async_call(
        DOMAIN, "reject_recommendation", {"recommendation_id": made[-1].data["id"]}, blocking=True
    )
    freezer.tick(600)
    ph_reading(hass, 6.0)
    await approve(outcome(now(), LOW))
    assert len(commands(mqtt_mock, 26)) == 2
    freezer.tick(600)
    ph_reading(hass, 6.0)
    with pytest.raises(ServiceValidationError) as err:
        await approve(outcome(now(), LOW))
    assert message(err.value).startswith("pH up has reached its maximum doses per 24 hours.")
    assert len(commands(mqtt_mock, 26)) == 2


async def test_repeated_rejections_stop_the_same_recommendation(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    config_entry = await setup(hass)
    logbook = async_capture_events(hass, "logbook_entry")
    for _ in range(3):
        await publish(hass, config_entry, outcome(now(), LOW))
        (issue,) = open_issues(hass)
        assert (await fix(hass_client, issue, "reject"))["type"] == "create_entry"
    assert "after repeated rejections, raise_value now asks only for crossings within 15 min" in [
        e.data["message"] for e in logbook
    ]
    await publish(hass, config_entry, outcome(now(), LOW))
    assert open_issues(hass) == []
    # A crossing much nearer than the rejected ones still asks; the pump never ran.
    await publish(hass, config_entry, outcome(now(), ThresholdCrossing("warning", "low", 5.5, 300)))
    assert len(open_issues(hass)) == 1
    assert commands(mqtt_mock, 26) == []


async def test_auto_action_runs_within_the_limits_and_explains_refusals(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    config_entry = await setup(hass)
    logbook = async_capture_events(hass, "logbook_entry")
    switch = er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{MAC}-auto_raise_value")
    assert switch is not None
    assert hass.states.get(switch).state == "off"
    await publish(hass, config_entry, outcome(now(), LOW))
    assert commands(mqtt_mock, 26) == []  # off by default: it waits for approval
    await hass.services.async_call(
        DOMAIN, "reject_recommendation",
        {"recommendation_id": next(iter(config_entry.runtime_data.recommendations.open))},
        blocking=True,
    )  # fmt: skip
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == "on"
    await publish(hass, config_entry, outcome(now(), LOW))
    assert len(commands(mqtt_mock, 26)) == 1
    assert open_issues(hass) == []
    assert any(e.data["message"].startswith("ran pH up for 2 s (auto") for e in logbook)
    # A bad input: no dose, the refusal in the logbook, the recommendation left to the user.
    ph_reading(hass, 6.0, "bad")
    await hass.async_block_till_done()
    await publish(hass, config_entry, outcome(now(), HIGH))
    assert commands(mqtt_mock, 27) == []  # lower_value's switch is off
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch.replace("raise", "lower")}, blocking=True
    )
    await publish(hass, config_entry, outcome(now(), HIGH))
    assert commands(mqtt_mock, 27) == []
    assert len(open_issues(hass)) == 1


async def test_auto_action_switches_come_with_the_first_actuator(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A device with sensors only has nothing a recommendation could run: no switches until
    an actuator is added (which reloads the entry)."""
    base = mock_entry()
    config_entry = MockConfigEntry(
        domain=DOMAIN, title=base.title, unique_id=base.unique_id, data=base.data,
        subentries_data=[
            ConfigSubentryDataWithId(
                data=PH, subentry_type="sensor", title="Tank pH", unique_id="34:",
                subentry_id="ph",
            )
        ],
    )  # fmt: skip
    await setup(hass, config_entry)
    registry = er.async_get(hass)
    auto = [f"{MAC}-auto_raise_value", f"{MAC}-auto_lower_value"]
    assert [registry.async_get_entity_id("switch", DOMAIN, u) for u in auto] == [None, None]
    hass.config_entries.async_add_subentry(
        config_entry,
        ConfigSubentry(data=UP, subentry_type="actuator", title="pH up", unique_id="actuator:26"),
    )
    await hass.async_block_till_done()
    switches = [registry.async_get_entity_id("switch", DOMAIN, u) for u in auto]
    assert None not in switches
    assert [hass.states.get(s).state for s in switches if s] == ["off", "off"]


async def test_anomaly_asks_to_check_the_sensor_without_an_action(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    config_entry = await setup(hass)
    await publish(hass, config_entry, outcome(now(), anomaly=Anomaly(0.0, "flatline")))
    (issue,) = open_issues(hass)
    assert issue.translation_key == "recommendation_check_sensor"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["action"] == "-"


async def test_open_recommendations_decisions_and_switches_survive_a_restart(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    config_entry = await setup(hass)
    manager = config_entry.runtime_data.recommendations
    assert manager is not None
    manager.set_auto("lower_value", True)
    await publish(hass, config_entry, outcome(now(), LOW))
    for _ in range(3):
        rec_id = next(iter(manager.open))
        await hass.services.async_call(
            DOMAIN, "reject_recommendation", {"recommendation_id": rec_id}, blocking=True
        )
        await publish(
            hass, config_entry, outcome(now(), ThresholdCrossing("warning", "low", 5.5, 600))
        )
    assert manager.open == {}  # the third rejection moved the margin past 600 s
    await publish(hass, config_entry, outcome(now(), ThresholdCrossing("warning", "low", 5.5, 200)))
    (kept,) = manager.open
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert open_issues(hass) == []  # nothing to decide while the entry is unloaded
    await setup(hass, config_entry)
    manager = config_entry.runtime_data.recommendations
    assert manager is not None
    assert list(manager.open) == [kept]
    assert [i.issue_id for i in open_issues(hass)] == [f"recommendation_{kept}"]
    assert manager.auto == {"raise_value": False, "lower_value": True}
    assert len(manager.feedback.decisions_for("ph")) == 3
    # The open one expires on its own: issue gone, logbook says so.
    logbook = async_capture_events(hass, "logbook_entry")
    freezer.tick(3700)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert open_issues(hass) == []
    assert f"recommendation {kept} expired" in [e.data["message"] for e in logbook]


async def test_actuator_subentry_links_the_sensor_it_corrects(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    config_entry = await setup(hass)
    result = await hass.config_entries.subentries.async_init(
        (config_entry.entry_id, "actuator"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"actuator_type": "pump", "name": "Nutrient A"}
    )
    schema_keys = {str(k) for k in result["data_schema"].schema}
    assert {"corrects", "direction", "dose_s", "max_doses_per_day"} <= schema_keys
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "gpio": "25",
            "inverted": False,
            "safe_state": 0,
            "max_runtime_s": 10,
            "cooldown_s": 0,
            "max_per_hour": 0,
            "failsafe_s": 0,
            "corrects": "ph",
            "direction": "up",
            "dose_s": 1.5,
            "max_doses_per_day": 4,
            "interlock_group": " ph ",
            "interlock_min": 5,
        },
    )
    assert result["type"] == "create_entry"
    assert result["data"] | {} == result["data"]
    added = next(s for s in config_entry.subentries.values() if s.title == "Nutrient A")
    assert added.data["corrects"] == "ph"
    assert added.data["dose_s"] == 1.5
    assert added.data["interlock_group"] == "ph"
    await hass.async_block_till_done()  # the entry reloads with the new actuator


async def test_blueprint_sends_an_actionable_notification_and_handles_the_answer(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, tmp_path: Path
) -> None:
    """The shipped blueprint notifies the phone with Approve/Reject; the phone's answer
    (`mobile_app_notification_action`) approves: the pump pulses."""
    hass.config.config_dir = str(tmp_path)
    config_entry = await setup(hass)  # installs the blueprints into the config dir
    notified = async_mock_service(hass, "notify", "mobile_app_pixel_8")
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": "phone",
                "alias": "phone",
                "use_blueprint": {
                    "path": f"{DOMAIN}/recommendation_notify.yaml",
                    "input": {
                        "notify_action": "notify.mobile_app_pixel_8",
                        "kinds": ["raise_value", "lower_value"],
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    signal = prediction_signal(config_entry.entry_id)

    async def settle() -> None:
        # A run waits for the phone's answer: block_till_done would wait for it.
        for _ in range(100):
            await asyncio.sleep(0)

    async_dispatcher_send(hass, signal, outcome(now(), anomaly=Anomaly(9.0, "spike")))
    await settle()
    assert notified == []  # check_sensor is not among the chosen kinds
    async_dispatcher_send(hass, signal, outcome(now(), LOW))
    await settle()
    (call,) = notified
    rec_id = next(r.id for r in config_entry.runtime_data.recommendations.open.values()
                  if r.kind == "raise_value")  # fmt: skip
    assert call.data["title"] == "AutomationOne recommendation"
    assert "pulse pH up 2 s" in call.data["message"]
    assert call.data["data"]["actions"] == [
        {"action": f"AUTOMATIONONE_APPROVE_{rec_id}", "title": "Approve"},
        {"action": f"AUTOMATIONONE_REJECT_{rec_id}", "title": "Reject"},
    ]
    assert commands(mqtt_mock, 26) == []
    hass.bus.async_fire("mobile_app_notification_action", {"action": "AUTOMATIONONE_OTHER_1"})
    await settle()
    assert commands(mqtt_mock, 26) == []
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": f"AUTOMATIONONE_APPROVE_{rec_id}"}
    )
    await hass.async_block_till_done()
    assert commands(mqtt_mock, 26)[-1]["duration_s"] == 2.0
    assert rec_id not in config_entry.runtime_data.recommendations.open
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {"entity_id": "automation.phone"}, blocking=True
    )


async def test_an_unreadable_dose_history_errs_on_the_safe_side(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """A broken stored dose history counts as a dose just given: the interlock holds."""
    config_entry = entry()
    hass_storage[f"{DOMAIN}.recommendations"] = {
        "version": 1,
        "key": f"{DOMAIN}.recommendations",
        "data": {
            config_entry.entry_id: {"guard": {"doses": {"up": "garbage"}, "groups": {"ph": [1]}}}
        },
    }
    await setup(hass, config_entry)
    made = async_capture_events(hass, EVENT_RECOMMENDATION)
    await publish(hass, config_entry, outcome(now(), LOW))
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "approve_recommendation", {"recommendation_id": made[-1].data["id"]},
            blocking=True,
        )  # fmt: skip
    assert err.value.translation_key == "dosing_interlock"
    assert commands(mqtt_mock, 26) == []
