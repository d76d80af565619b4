"""Device triggers through HA's automation component."""

from __future__ import annotations

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import BASE, MAC, registered_device
from .test_sensors import PH_DATA, entry_with, reading, setup

LEVEL = {**PH_DATA, "sensor_type": "linear", "params": {"scale": 1.0, "offset": 0.0, "unit": "cm"}}


async def test_get_triggers(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Each processed sensor offers above/below/crossed; the device offers offline."""
    entry = await setup(hass, entry_with(("Level", LEVEL)))
    device = registered_device(hass)
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    ours = sorted(t["type"] for t in triggers if t["domain"] == DOMAIN)
    assert ours == [
        "device_offline",
        "quality_bad",
        "sensor_above",
        "sensor_below",
        "sensor_crossed",
    ]
    level = er.async_get(hass).async_get(
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"{MAC}-{next(iter(entry.subentries))}"
        )
    )
    assert {t.get("entity_id") for t in triggers if t["type"] == "sensor_above"} == {level.id}


async def test_sensor_above_with_hysteresis(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Fires when the value passes 10, again only after it fell to 8 or below."""
    entry = await setup(hass, entry_with(("Level", LEVEL)))
    device = registered_device(hass)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{MAC}-{next(iter(entry.subentries))}"
    )
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device.id,
                    "entity_id": entity_id,
                    "type": "sensor_above",
                    "above": 10,
                    "hysteresis": 2,
                },
                "actions": {
                    "action": "test.automation",
                    "data": {"value": "{{ trigger.to_state.state }}"},
                },
            }
        },
    )
    for seq, raw in enumerate([5, 12, 11, 9, 7, 12, 15], start=1):
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
    assert [float(c.data["value"]) for c in calls] == [12.0, 12.0]


async def test_device_offline(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Fires when the device's last will arrives."""
    await setup(hass, entry_with(("Level", LEVEL)))
    device = registered_device(hass)
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device.id,
                    "type": "device_offline",
                },
                "actions": {"action": "test.automation"},
            }
        },
    )
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    await hass.async_block_till_done()
    assert len(calls) == 1


async def test_conditions(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Range and online conditions gate an automation's actions."""
    entry = await setup(hass, entry_with(("Level", LEVEL)))
    device = registered_device(hass)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{MAC}-{next(iter(entry.subentries))}"
    )
    conditions = await async_get_device_automations(hass, DeviceAutomationType.CONDITION, device.id)
    assert sorted(c["type"] for c in conditions if c["domain"] == DOMAIN) == [
        "device_online",
        "sensor_in_range",
    ]
    calls = async_mock_service(hass, "test", "automation")
    base = {"condition": "device", "domain": DOMAIN, "device_id": device.id}
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {"trigger": "event", "event_type": "check"},
                "conditions": [
                    {**base, "type": "device_online"},
                    {
                        **base,
                        "type": "sensor_in_range",
                        "entity_id": entity_id,
                        "above": 5,
                        "below": 10,
                    },
                ],
                "actions": {"action": "test.automation"},
            }
        },
    )
    for seq, raw in enumerate([7, 12], start=1):
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
        hass.bus.async_fire("check")
        await hass.async_block_till_done()
    assert len(calls) == 1  # 7 is in (5, 10), 12 is not
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    reading(hass, 34, 7, seq=3)
    hass.bus.async_fire("check")
    await hass.async_block_till_done()
    assert len(calls) == 1  # offline
