"""Diagnostics of a device with sensors and actuators: subentries, pushed config and ack, each
channel's state, rejected messages kept across a reload, everything identifying redacted."""

from __future__ import annotations

from datetime import timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, MqttMockHAClient
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.automationone.hub import rejected_counter

from .common import ANNOUNCE, BASE, HEARTBEAT, MAC
from .test_actuators import PUMP, entry_with
from .test_sensors import PH_DATA, reading, setup

SOIL = {**PH_DATA, "sensor_type": "soil_moisture", "gpio": 35, "filter": "median"}


async def _device_with_history(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A device with two sensors and a pump that said a few things, one of them bad."""
    entry = await setup(
        hass,
        entry_with(
            ("sensor", "Tank pH", PH_DATA), ("sensor", "Bed soil", SOIL), ("actuator", "Pump", PUMP)
        ),
    )
    async_fire_mqtt_message(hass, f"{BASE}/announce", ANNOUNCE, retain=True)
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", HEARTBEAT)
    version = entry.runtime_data.versions.version
    ack = {
        "v": 1,
        "version": version,
        "ok": False,
        "results": [
            {"kind": "sensor", "gpio": 34, "ok": True},
            {"kind": "sensor", "gpio": 35, "ok": False, "error": "gpio_in_use"},
            {"kind": "actuator", "gpio": 26, "ok": True},
        ],
    }
    async_fire_mqtt_message(hass, f"{BASE}/config/ack", json.dumps(ack))
    async_fire_mqtt_message(
        hass,
        f"{BASE}/actuator/26/status",
        json.dumps(
            {"v": 1, "state": False, "value": 0, "reason": "boot", "runtime_s": 0, "activations": 0}
        ),
    )
    reading(hass, 34, 1800, seq=1)
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", "{broken")
    async_fire_mqtt_message(hass, f"{BASE}/sensor/34/data", '{"v":1,"seq":2,"value":7.0}')
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=4))
    return entry


async def test_diagnostics_of_a_configured_device(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """Subentries, config and ack, channel states, rejected messages; no MAC anywhere."""
    entry = await _device_with_history(hass, freezer)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert MAC not in text
    assert MAC.replace(":", "") not in text.lower()
    sensors = diagnostics["sensors"]
    assert sensors["Tank pH"]["stale"] is False
    assert sensors["Tank pH"]["seconds_since_reading"] == 4.0
    assert sensors["Bed soil"]["refused"] == "gpio_in_use"
    assert sensors["Bed soil"]["filter"] == "median"
    assert diagnostics["config"]["pushed"]["version"] == entry.runtime_data.versions.version
    assert diagnostics["config"]["ack"]["results"][1]["error"] == "gpio_in_use"
    assert diagnostics["device"]["rejected_messages"] == {"malformed_json": 1, "mode_mismatch": 1}
    assert diagnostics == snapshot(exclude=props("subentry_id"))


async def test_rejected_counts_survive_a_reload(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reload (a new sensor, a moved pin) keeps the counts; removing the device drops them."""
    entry = await _device_with_history(hass, freezer)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", "{broken")
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["device"]["rejected_messages"] == {"malformed_json": 2, "mode_mismatch": 1}
    counts = entry.runtime_data.device.rejected
    assert rejected_counter(hass, MAC) is counts
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert rejected_counter(hass, MAC) is not counts
    assert not rejected_counter(hass, MAC)
