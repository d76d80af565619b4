"""Device actions, and the quality-bad and actuator-stopped triggers, through HA's automation
component."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, WebSocketGenerator
import voluptuous as vol

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.device_action import ACTION_SCHEMA

from .common import BASE, MAC, registered_device
from .test_actuators import DIMMER, FREE_PUMP, PUMP, commands, entity_of, entry_with, status
from .test_device_trigger import LEVEL
from .test_sensors import setup

pytestmark = pytest.mark.usefixtures("short_answer_wait")


def device_id(hass: HomeAssistant) -> str:
    device = registered_device(hass)
    assert device is not None
    return device.id


def essentials(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commands without their random cmd_id and source."""
    return [{k: v for k, v in c.items() if k in ("action", "value", "duration_s")} for c in sent]


async def run_on_event(hass: HomeAssistant, actions: list[dict[str, Any]]) -> None:
    """An automation running `actions` on the event `go`."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {"trigger": "event", "event_type": "go"},
                "actions": actions,
            }
        },
    )


async def test_get_actions(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Relays offer on for and pulse (plain on/off are HA's switch actions); PWM outputs also
    set value."""
    entry = await setup(hass, entry_with(("actuator", "Pump", PUMP), ("actuator", "Fan", DIMMER)))
    actions = await async_get_device_automations(hass, DeviceAutomationType.ACTION, device_id(hass))
    registry = er.async_get(hass)
    by_entity: dict[str, list[str]] = {}
    for action in actions:
        if action["domain"] == DOMAIN:
            by_entity.setdefault(action["entity_id"], []).append(action["type"])
    pump = registry.async_get(entity_of(hass, entry, "Pump"))
    fan = registry.async_get(entity_of(hass, entry, "Fan"))
    assert sorted(by_entity[pump.id]) == ["pulse", "turn_on_for"]
    assert sorted(by_entity[fan.id]) == ["pulse", "set_value", "turn_on_for"]
    native = {(a["domain"], a["type"]) for a in actions if a["entity_id"] == pump.id}
    assert {("switch", "turn_on"), ("switch", "turn_off")} <= native
    assert len(by_entity) == 2


async def test_actions_send_commands(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Each action type sends its protocol command, a duration as duration_s."""
    entry = await setup(
        hass, entry_with(("actuator", "Pump", FREE_PUMP), ("actuator", "Fan", DIMMER))
    )
    status(hass, 26, state=False, value=0, reason="boot")
    status(hass, 25, state=False, value=0, reason="boot")
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    pump = registry.async_get(entity_of(hass, entry, "Pump")).id
    fan = registry.async_get(entity_of(hass, entry, "Fan")).id
    base = {"domain": DOMAIN, "device_id": device_id(hass)}
    await run_on_event(
        hass,
        [
            {**base, "entity_id": pump, "type": "turn_on"},
            {**base, "entity_id": pump, "type": "turn_off"},
            {**base, "entity_id": pump, "type": "turn_on_for", "duration": {"seconds": 30}},
            {**base, "entity_id": pump, "type": "pulse", "duration": {"milliseconds": 1500}},
            {**base, "entity_id": fan, "type": "set_value", "value": 128},
            {
                **base,
                "entity_id": fan,
                "type": "set_value",
                "value": 200,
                "duration": {"minutes": 2},
            },
        ],
    )
    hass.bus.async_fire("go")
    await hass.async_block_till_done()
    assert essentials(commands(mqtt_mock, 26)) == [
        {"action": "on"},
        {"action": "off"},
        {"action": "on", "duration_s": 30},
        {"action": "pulse", "duration_s": 1.5},
    ]
    assert essentials(commands(mqtt_mock, 25)) == [
        {"action": "set", "value": 128},
        {"action": "set", "value": 200, "duration_s": 120},
    ]
    assert all(c["source"] == "home_assistant" for c in commands(mqtt_mock, 26))


async def test_refused_action_stops_the_run(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    """HA's copy of the limits refuses the second start within the cooldown; the run stops
    with the translated error and later actions are not sent."""
    entry = await setup(hass, entry_with(("actuator", "Pump", PUMP)))
    status(hass, 26, state=False, value=0, reason="boot")
    await hass.async_block_till_done()
    pump = entity_of(hass, entry, "Pump")
    base = {"domain": DOMAIN, "device_id": device_id(hass), "entity_id": pump}
    await run_on_event(hass, [{**base, "type": "pulse", "duration": {"seconds": 5}}])
    hass.bus.async_fire("go")
    await hass.async_block_till_done()
    status(hass, 26, state=True, value=255, reason="command")
    status(hass, 26, state=False, value=0, reason="duration")
    await hass.async_block_till_done()
    hass.bus.async_fire("go")
    await hass.async_block_till_done()
    assert [c["action"] for c in commands(mqtt_mock, 26)] == ["pulse"]
    assert "cooldown" in caplog.text


async def test_action_on_unknown_entity(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """An entity that is not one of our actuators is an error, nothing is sent."""
    await setup(hass, entry_with(("actuator", "Pump", FREE_PUMP)))
    base = {"domain": DOMAIN, "device_id": device_id(hass)}
    await run_on_event(hass, [{**base, "entity_id": "switch.nothing", "type": "turn_on"}])
    hass.bus.async_fire("go")
    await hass.async_block_till_done()
    assert commands(mqtt_mock, 26) == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"type": "turn_on_for"}, "needs duration"),
        ({"type": "pulse", "duration": {"seconds": 0}}, "value must be at least"),
        ({"type": "pulse", "duration": {"hours": 25}}, "value must be at most"),
        ({"type": "set_value"}, "needs value"),
        ({"type": "set_value", "value": 256}, "value must be at most 255"),
        ({"type": "turn_off", "duration": {"seconds": 5}}, "takes no duration"),
        ({"type": "explode"}, "value must be one of"),
    ],
)
def test_action_schema_errors(fields: dict[str, Any], error: str) -> None:
    """Missing or out-of-range fields are rejected with a clear message."""
    config = {"domain": DOMAIN, "device_id": "abc", "entity_id": "switch.pump", **fields}
    with pytest.raises(vol.Invalid, match=error):
        ACTION_SCHEMA(config)


async def test_quality_bad_trigger(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Fires when a sensor's quality becomes bad, once per change."""
    entry = await setup(hass, entry_with(("sensor", "Level", LEVEL)))
    subentry_id = next(iter(entry.subentries))
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{MAC}-{subentry_id}")
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device_id(hass)
    )
    assert "quality_bad" in {t["type"] for t in triggers}
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device_id(hass),
                    "entity_id": entity_id,
                    "type": "quality_bad",
                },
                "actions": {"action": "test.automation"},
            }
        },
    )
    for seq, quality in enumerate(["good", "bad", "bad", "good", "bad"], start=1):
        payload = {"v": 1, "seq": seq, "raw": 7 + seq, "quality": quality}
        async_fire_mqtt_message(hass, f"{BASE}/sensor/34/data", json.dumps(payload))
        await hass.async_block_till_done()
    assert len(calls) == 2


async def test_actuator_stopped_trigger(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Fires when the device stopped the actuator itself; a reason narrows it."""
    entry = await setup(hass, entry_with(("actuator", "Pump", PUMP)))
    pump = entity_of(hass, entry, "Pump")
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device_id(hass)
    )
    ours = {t["type"] for t in triggers if t["domain"] == DOMAIN and t.get("entity_id")}
    assert ours == {"actuator_stopped"}
    calls = async_mock_service(hass, "test", "automation")
    base = {"trigger": "device", "domain": DOMAIN, "device_id": device_id(hass)}
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "triggers": {**base, "entity_id": pump, "type": "actuator_stopped"},
                    "actions": {
                        "action": "test.automation",
                        "data": {"which": "any", "reason": "{{ trigger.event.data.reason }}"},
                    },
                },
                {
                    "triggers": {
                        **base,
                        "entity_id": pump,
                        "type": "actuator_stopped",
                        "reason": "max_runtime",
                    },
                    "actions": {"action": "test.automation", "data": {"which": "max_runtime"}},
                },
            ]
        },
    )
    status(hass, 26, state=False, value=0, reason="boot")
    for reason in ("max_runtime", "command", "failsafe"):
        status(hass, 26, state=True, value=255, reason="command")
        await hass.async_block_till_done()
        status(hass, 26, state=False, value=0, reason=reason)
        await hass.async_block_till_done()
    assert sorted((c.data["which"], c.data.get("reason")) for c in calls) == [
        ("any", "failsafe"),
        ("any", "max_runtime"),
        ("max_runtime", None),
    ]


async def test_editor_gets_the_extra_fields(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_ws_client: WebSocketGenerator
) -> None:
    """The automation editor's capability requests answer with serialisable fields for every
    action and trigger we list (a timedelta range in them once broke the duration field)."""
    assert await async_setup_component(hass, "device_automation", {})
    await setup(
        hass,
        entry_with(
            ("actuator", "Pump", PUMP), ("actuator", "Fan", DIMMER), ("sensor", "Level", LEVEL)
        ),
    )
    client = await hass_ws_client(hass)
    fields: dict[str, list[str]] = {}
    for kind in ("action", "trigger"):
        listed = await async_get_device_automations(
            hass, DeviceAutomationType[kind.upper()], device_id(hass)
        )
        for item in (i for i in listed if i["domain"] == DOMAIN):
            await client.send_json_auto_id(
                {"type": f"device_automation/{kind}/capabilities", kind: item}
            )
            answer = await client.receive_json()
            assert answer["success"], answer
            names = [f["name"] for f in answer["result"].get("extra_fields", [])]
            fields[f"{kind} {item['type']}"] = names
    assert fields["action turn_on_for"] == ["duration"]
    assert fields["action pulse"] == ["duration"]
    assert fields["action set_value"] == ["value", "duration"]
    assert fields["trigger sensor_crossed"] == ["threshold", "hysteresis"]
    assert fields["trigger actuator_stopped"] == ["reason"]
