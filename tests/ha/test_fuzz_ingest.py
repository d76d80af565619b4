"""A short fuzz run of the ingest (the bench runs >= 1,000,000 payloads): no exception escapes,
no entity shows garbage, and a kind of bad message logs at most once a minute."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.protocol import ErrorCode

from .fuzz_ingest import run
from .test_actuators import PUMP, entry_with
from .test_sensors import PH_DATA, setup

SENSORS = [
    ("sensor", "Tank pH", PH_DATA),
    (
        "sensor",
        "Water",
        {**PH_DATA, "sensor_type": "ds18b20", "gpio": 4, "addr": "28ff641e8316c3a1"},
    ),
    (
        "sensor",
        "Air",
        {**PH_DATA, "sensor_type": "sht31_temperature", "gpio": 21, "addr": "0x44", "scl": 22},
    ),
    ("sensor", "Device pH", {**PH_DATA, "gpio": 35, "mode": "processed"}),
    ("actuator", "Pump", PUMP),
]

pytestmark = pytest.mark.usefixtures("short_answer_wait")


async def fuzz_device(hass: HomeAssistant) -> None:
    """The device every fuzz run talks to: raw and processed sensors, a bus sensor, a pump."""
    await setup(hass, entry_with(*SENSORS))


async def test_fuzzed_ingest(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """3,000 fuzzed payloads on every topic kind."""
    await fuzz_device(hass)
    counts = await run(hass, 3000, seed=13, check_every=100)
    print(counts.line)
    assert (counts.unhandled, counts.state_garbage) == (0, 0)
    # Ours: one warning per error code (and MAC conflict) at most within a minute. HA's MQTT
    # client adds one warning per announce that is not UTF-8 (its discovery subscription
    # decodes the payload before we see it): not ours to limit.
    assert counts.own_lines <= len(ErrorCode) + 2, counts.records
