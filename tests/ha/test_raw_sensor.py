"""The raw reading of each sensor as its own diagnostic entity: disabled by default, and once
enabled its values are in the recorder's history (the processed sensor's `raw` attribute is
not recorded)."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, history
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from simulator.signals import sht31_words

from .common import MAC
from .test_sensors import PH_DATA, entity, entry_with, reading, setup

SHT31_TEMPERATURE = {
    "sensor_type": "sht31_temperature",
    "gpio": 21,
    "scl": 22,
    "addr": "0x44",
    "interval_s": 10,
    "mode": "raw",
    "echo_processed": False,
    "params": {},
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As tests/ha/conftest.py, with the recorder's database before `hass` (recorder_mock)."""


def raw_entity(hass: HomeAssistant, entry: MockConfigEntry, title: str) -> str:
    """Entity id of a sensor subentry's raw entity."""
    subentry_id = next(s for s, sub in entry.subentries.items() if sub.title == title)
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{MAC}-{subentry_id}-raw")
    assert entity_id is not None
    return entity_id


async def test_raw_sensor_is_disabled_by_default(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Registered as a diagnostic entity, disabled, with no state."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    entity_id = raw_entity(hass, entry, "Tank pH")
    registered = er.async_get(hass).async_get(entity_id)
    assert registered is not None
    assert registered.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert registered.entity_category == "diagnostic"
    assert hass.states.get(entity_id) is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_enabled_raw_sensor_is_recorded(
    hass: HomeAssistant,
    recorder_mock: Recorder,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each raw count is a state in history, also when the processed value stays the same;
    it goes unavailable with its sensor."""
    start = dt_util.utcnow()
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    entity_id = raw_entity(hass, entry, "Tank pH")
    ph = entity(hass, entry, "Tank pH")
    for seq, raw in enumerate((1800, 1801, 2500), start=1):
        freezer.tick(timedelta(seconds=2))
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state.state == "2500"
    assert state.attributes["state_class"] == "measurement"
    await async_wait_recording_done(hass)
    changes = await recorder_mock.async_add_executor_job(
        history.state_changes_during_period, hass, start, None, entity_id
    )
    recorded = [s.state for s in changes[entity_id]]
    assert recorded[-3:] == ["1800", "1801", "2500"]
    # The processed sensor's raw attribute is not what keeps the history.
    ph_changes = await recorder_mock.async_add_executor_job(
        history.state_changes_during_period, hass, start, None, ph
    )
    assert all("raw" not in s.attributes for s in ph_changes[ph])
    freezer.tick(timedelta(seconds=40))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_raw_words_are_shown_in_hex(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A chip's words (SHT31) are text, without statistics."""
    entry = await setup(hass, entry_with(("Air", SHT31_TEMPERATURE)))
    entity_id = raw_entity(hass, entry, "Air")
    words = sht31_words(21.5, 40.0)
    reading(hass, 21, list(words), seq=1, addr="0x44")
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state.state == " ".join(f"0x{w:04x}" for w in words)
    assert "state_class" not in state.attributes
