"""automationone.simulate_rule: recorded history replayed through a rule or an automation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.rule_resolver import RegistryResolver
from custom_components.automationone.rules import compile_rule, parse_rule

from .common import ESP_ID
from .test_actuators import entity_of, entry_with, message, status
from .test_device_trigger import LEVEL
from .test_sensors import entity, reading, setup

PUMP = {
    "actuator_type": "pump",
    "gpio": 26,
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 0,
    "cooldown_s": 0,
    "max_per_hour": 0,
    "failsafe_s": 10,
}
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
RULE: dict[str, Any] = {
    "id": "level_high",
    "name": "Level high: run the pump",
    "triggers": [
        {
            "type": "sensor",
            "sensor": {"esp_id": ESP_ID, "gpio": 34},
            "direction": "above",
            "threshold": 10,
            "hysteresis": 2,
        }
    ],
    "conditions": [
        {"type": "actuator_state", "actuator": {"esp_id": ESP_ID, "gpio": 26}, "state": "off"}
    ],
    "actions": [{"type": "on_for", "actuator": {"esp_id": ESP_ID, "gpio": 26}, "duration_s": 30}],
    "cooldown_s": 600,
}
# (seconds after T0, level) readings and pump statuses, hand-computed against RULE:
#   60 (5 -> 12) fires; 300 (re-armed at 240) is inside the 600 s cooldown; 900 (re-armed at
#   360) finds the pump on (800-1000); 1100 (re-armed at 960) fires.
READINGS = [(0, 5), (60, 12), (120, 11), (180, 9), (240, 7), (300, 12), (360, 7), (900, 13)]
READINGS += [(960, 7), (1100, 12)]
PUMP_STATES = [(800, True), (1000, False)]
FIRES = [60, 1100]

pytestmark = pytest.mark.usefixtures("short_answer_wait")


@pytest.fixture
def answer_wait_s() -> float:
    """Device actions do not wait for an answer (the loop's clock stands still here)."""
    return 0


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As tests/ha/conftest.py, but the recorder's database comes before `hass` (which
    `enable_custom_integrations` needs), so that tests can request `recorder_mock`."""


async def _device(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> tuple[str, str]:
    """The device with the level sensor and the pump (off), set up a minute before T0."""
    freezer.move_to(T0 - timedelta(seconds=60))
    entry = entry_with(("sensor", "Level", LEVEL), ("actuator", "Pump", PUMP))
    await setup(hass, entry)
    status(hass, 26, state=False, value=0, reason="boot", runtime_s=0, activations=0)
    await hass.async_block_till_done()
    return entity(hass, entry, "Level"), entity_of(hass, entry, "Pump")


async def _record(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Play READINGS and PUMP_STATES at their times; wait until the recorder has them."""
    events = [(t, "reading", v) for t, v in READINGS] + [(t, "pump", v) for t, v in PUMP_STATES]
    seq = 0
    for offset, kind, value in sorted(events):
        freezer.move_to(T0 + timedelta(seconds=offset))
        if kind == "reading":
            seq += 1
            reading(hass, 34, value, seq=seq)
        else:
            status(hass, 26, state=value, value=255 if value else 0, reason="command")
        await hass.async_block_till_done()
    await async_wait_recording_done(hass)


async def _simulate(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "simulate_rule", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _offsets(response: dict[str, Any]) -> list[float]:
    return [
        (dt_util.parse_datetime(f["time"]) - T0).total_seconds()  # type: ignore[operator]
        for f in response["firings"]
    ]


def _window(start: float, end: float) -> dict[str, str]:
    return {
        "start": (T0 + timedelta(seconds=start)).isoformat(),
        "end": (T0 + timedelta(seconds=end)).isoformat(),
    }


async def test_rule_over_recorded_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Hand-computed firings; history before start primes the cooldown; the response names
    the entities it read and the commands."""
    level, pump = await _device(hass, freezer)
    await _record(hass, freezer)
    freezer.move_to(T0 + timedelta(hours=1))

    response = await _simulate(hass, rule=RULE, **_window(-30, 2000))
    assert _offsets(response) == FIRES
    assert response["count"] == 2
    assert response["rule"] == "level_high"
    assert response["truncated"] is False
    assert dt_util.parse_datetime(response["start"]) == T0 - timedelta(seconds=30)
    assert dt_util.parse_datetime(response["end"]) == T0 + timedelta(seconds=2000)
    assert response["firings"][0]["trigger"] == 0
    assert response["firings"][0]["actions"] == [
        {"type": "on_for", "actuator": pump, "duration_s": 30}
    ]
    assert response["history"] == {
        f"{ESP_ID}/34": {"entity_id": level, "samples": len(READINGS)},
        f"{ESP_ID}/26": {"entity_id": pump, "samples": 1 + len(PUMP_STATES)},
    }

    # The firing at 60 is before start but still holds the cooldown over 300.
    assert _offsets(await _simulate(hass, rule=RULE, **_window(61, 2000))) == [1100]
    # Without the cooldown 300 fires; 900 still finds the pump on.
    no_cooldown = {**RULE, "cooldown_s": 0}
    assert _offsets(await _simulate(hass, rule=no_cooldown, **_window(61, 2000))) == [300, 1100]
    # Without the condition 900 fires too (cooldown from 300 has passed).
    bare = {**no_cooldown, "conditions": []}
    assert _offsets(await _simulate(hass, rule=bare, **_window(-30, 2000))) == [60, 300, 900, 1100]
    # The end is exclusive; default range is the last 7 days up to now.
    assert _offsets(await _simulate(hass, rule=RULE, **_window(-30, 1100))) == [60]
    assert _offsets(await _simulate(hass, rule=RULE)) == FIRES


async def test_automation_matches_live_run(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The compiled automation runs live while the history is recorded; simulating it
    afterwards (by entity id, config id or rule id) finds the same firings."""
    _, pump = await _device(hass, freezer)
    config = compile_rule(parse_rule(RULE), RegistryResolver(hass))
    assert await async_setup_component(hass, automation.DOMAIN, {automation.DOMAIN: [config]})
    await hass.async_block_till_done()
    triggered = async_capture_events(hass, automation.EVENT_AUTOMATION_TRIGGERED)
    await _record(hass, freezer)
    live = [(e.time_fired - T0).total_seconds() for e in triggered]
    assert live == FIRES
    freezer.move_to(T0 + timedelta(hours=1))

    (entity_id,) = hass.states.async_entity_ids(automation.DOMAIN)
    for wanted in (entity_id, config["id"], RULE["id"]):
        response = await _simulate(hass, automation=wanted, **_window(-30, 2000))
        assert _offsets(response) == live
        assert response["automation"] == entity_id
        assert response["rule"] == "level_high"
        assert response["firings"][1]["actions"] == [
            {"type": "on_for", "actuator": pump, "duration_s": 30}
        ]


async def test_notify_action_live_and_in_the_backtest(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A rule's `notify` action becomes HA's notify action with the triggering value in the
    message; the backtest reports it with each firing instead of refusing the automation."""
    _, pump = await _device(hass, freezer)
    notify = {"type": "notify", "message": "{sensor} is {value} ({rule})", "title": "Level"}
    rule = {**RULE, "actions": [*RULE["actions"], notify]}
    config = compile_rule(parse_rule(rule), RegistryResolver(hass))
    assert config["actions"][-1]["action"] == "notify.notify"
    sent = async_mock_service(hass, "notify", "notify")
    assert await async_setup_component(hass, automation.DOMAIN, {automation.DOMAIN: [config]})
    await hass.async_block_till_done()
    await _record(hass, freezer)
    assert [c.data for c in sent] == [
        {"message": "Greenhouse 1 Level is 12.0 (Level high: run the pump)", "title": "Level"},
        {"message": "Greenhouse 1 Level is 12.0 (Level high: run the pump)", "title": "Level"},
    ]
    freezer.move_to(T0 + timedelta(hours=1))
    (entity_id,) = hass.states.async_entity_ids(automation.DOMAIN)
    response = await _simulate(hass, automation=entity_id, **_window(-30, 2000))
    assert _offsets(response) == FIRES
    assert response["firings"][0]["actions"] == [
        {"type": "on_for", "actuator": pump, "duration_s": 30},
        {"type": "notify", "message": "{sensor} is {value} ({rule})", "title": "Level"},
    ]


async def test_errors(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Invalid rules, unknown pins and automations, bad ranges: translated errors."""
    await _device(hass, freezer)
    hand_made = {
        "id": "hand_made",
        "alias": "Hand-made",
        "triggers": [
            {"trigger": "numeric_state", "entity_id": "sensor.outside", "above": 30},
            {"trigger": "event", "event_type": "go"},
        ],
        "actions": [],
    }
    assert await async_setup_component(hass, automation.DOMAIN, {automation.DOMAIN: [hand_made]})
    await hass.async_block_till_done()
    bad_pin = {
        **RULE,
        "triggers": [{**RULE["triggers"][0], "sensor": {"esp_id": ESP_ID, "gpio": 5}}],
    }
    cases = [
        (
            {"rule": {**RULE, "cooldown": 5}},
            "invalid_rule",
            "Rule rejected at cooldown: unknown field",
        ),
        (
            {"rule": bad_pin},
            "simulate_unknown_reference",
            f"The rule refers at triggers[0].sensor to {ESP_ID}/5, which no AutomationOne "
            "device or entity provides.",
        ),
        (
            {"automation": "automation.nope"},
            "simulate_unknown_automation",
            "automation.nope is not an automation: give its entity id (automation.…), its id "
            "or the id of the imported rule.",
        ),
        (
            {"automation": "hand_made"},
            "simulate_unsupported_automation",
            "automation.hand_made cannot be simulated at triggers[1].trigger: 'event' triggers "
            "cannot be simulated",
        ),
        (
            {"rule": RULE, **_window(100, 100)},
            "simulate_bad_range",
            None,
        ),
        (
            {"rule": RULE, **_window(0, 32 * 86400)},
            "simulate_range_too_long",
            "At most 31 days can be simulated at once.",
        ),
    ]
    for data, key, text in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _simulate(hass, **data)
        assert err.value.translation_key == key, data
        if text is not None:
            assert message(err.value) == text


async def test_needs_the_recorder(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Without the recorder: a clear error, not a crash."""
    await setup(hass, entry_with(("sensor", "Level", LEVEL)))
    with pytest.raises(ServiceValidationError) as err:
        await _simulate(hass, rule=RULE)
    assert err.value.translation_key == "simulate_no_recorder"
