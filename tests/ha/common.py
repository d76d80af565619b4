"""Shared helpers of the HA tests."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.const import CONF_MAC, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import (
    CONF_BOARD,
    CONF_ESP_ID,
    CONF_KAISER_ID,
    DOMAIN,
)
from custom_components.automationone.registry import device_by_identifier

from ..protocol_vectors import load

ESP_ID = "esp-a1b2c3"
MAC = "24:0a:c4:a1:b2:c3"
BASE = f"kaiser/god/esp/{ESP_ID}"


def vector_payload(name: str) -> str:
    """The payload of a named protocol vector (one source for test payloads)."""
    return next(v["payload"] for v in load("payloads") if v["name"] == name)


ANNOUNCE = vector_payload("announce full")
HEARTBEAT = vector_payload("heartbeat full")


def announce(**changes: Any) -> str:
    """The full announce vector with some fields changed (None removes a field)."""
    data = json.loads(ANNOUNCE) | changes
    return json.dumps({k: v for k, v in data.items() if v is not None})


def mock_entry(kaiser_id: str = "god") -> MockConfigEntry:
    """A config entry as the discovery flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Greenhouse 1",
        unique_id=MAC,
        data={
            CONF_ESP_ID: ESP_ID,
            CONF_KAISER_ID: kaiser_id,
            CONF_MAC: MAC,
            CONF_BOARD: "esp32dev",
            CONF_NAME: "Greenhouse 1",
        },
    )


async def setup_entry(hass: HomeAssistant, kaiser_id: str = "god") -> MockConfigEntry:
    """Add and set up an entry (MQTT must be mocked or connected)."""
    entry = mock_entry(kaiser_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def registered_device(hass: HomeAssistant, identifier: str = MAC) -> DeviceEntry | None:
    """Our device with this identifier (the ESP's MAC, or `kaiser-<id>` for a relay)."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if (found := device_by_identifier(hass, (DOMAIN, identifier), entry.entry_id)) is not None:
            return found
    return None


def published(mqtt_mock: MqttMockHAClient) -> list[tuple[Any, ...]]:
    """(topic, payload, qos, retain) of every publish, on any HA (newer ones add keywords)."""
    return [c.args[:4] for c in mqtt_mock.async_publish.call_args_list]
