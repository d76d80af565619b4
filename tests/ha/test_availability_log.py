"""log-when-unavailable: one info line when a device or a sensor goes away, one when it is back
(and none for each heartbeat or reading in between)."""

from __future__ import annotations

from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from .common import BASE, ESP_ID, HEARTBEAT, setup_entry
from .test_sensors import PH_DATA, entry_with, reading, setup


def _info(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Our info lines so far (the MQTT integration logs its own)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and r.name.startswith("custom_components.automationone")
    ]


async def _status(hass: HomeAssistant, status: str) -> None:
    async_fire_mqtt_message(hass, f"{BASE}/status", status)
    await hass.async_block_till_done()


async def test_device_offline_and_back_is_logged_once_each(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The last will says offline: one line; heartbeats change nothing; online: one line."""
    caplog.set_level(logging.INFO)
    await setup_entry(hass)
    await _status(hass, "online")
    assert _info(caplog) == []  # a device seen for the first time is not "back"
    await _status(hass, "offline")
    await _status(hass, "offline")
    assert _info(caplog) == [f"{ESP_ID} is offline (its status or last will says so)"]
    await _status(hass, "online")
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", HEARTBEAT)
    await _status(hass, "online")
    assert _info(caplog)[1:] == [f"{ESP_ID} is back online"]


async def test_device_offline_at_start_is_logged(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A retained offline status at setup is an outage too."""
    caplog.set_level(logging.INFO)
    await setup_entry(hass)
    await _status(hass, "offline")
    await _status(hass, "online")
    assert _info(caplog) == [
        f"{ESP_ID} is offline (its status or last will says so)",
        f"{ESP_ID} is back online",
    ]


async def test_broker_link_is_logged_once_for_all_devices(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, caplog: pytest.LogCaptureFixture
) -> None:
    """HA losing the broker is one line (not one per device), and its return one."""
    caplog.set_level(logging.INFO)
    await setup_entry(hass)
    await _status(hass, "online")
    for _ in range(2):
        async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, False)
        await hass.async_block_till_done()
    assert _info(caplog) == [
        "Lost the MQTT broker: 1 AutomationOne devices are unavailable until it is back"
    ]
    for _ in range(2):
        async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, True)
        await hass.async_block_till_done()
    assert _info(caplog)[1:] == ["The MQTT broker is back: following 1 devices again"]


async def test_stale_sensor_is_logged_once_each_way(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No reading for three intervals: one line; the next reading: one line."""
    caplog.set_level(logging.INFO)
    await setup(hass, entry_with(("Tank pH", PH_DATA)))
    reading(hass, 34, 1800, seq=1)
    await hass.async_block_till_done()
    for _ in range(3):
        freezer.tick(timedelta(seconds=20))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert _info(caplog) == [
        f"Tank pH (GPIO 34) of {ESP_ID} sent no reading for 30 s: unavailable until it does"
    ]
    reading(hass, 34, 1800, seq=2)
    reading(hass, 34, 1801, seq=3)
    await hass.async_block_till_done()
    assert _info(caplog)[1:] == [f"Tank pH (GPIO 34) of {ESP_ID} sends readings again"]


async def test_sensors_of_an_offline_device_are_not_logged_each(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The device's own line says it all: its sensors going stale add none."""
    caplog.set_level(logging.INFO)
    await setup(hass, entry_with(("Tank pH", PH_DATA)))
    reading(hass, 34, 1800, seq=1)
    await _status(hass, "offline")
    freezer.tick(timedelta(seconds=60))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _info(caplog) == [f"{ESP_ID} is offline (its status or last will says so)"]
