"""Upgrading keeps a user's entities: a registry as HA 2025.4.4 wrote it for a device with a pH
sensor and a pump (tests/ha/fixtures/registry_2025_4.json: the ESP's device in its entry and
in both subentries, as HA 2025.4 records it). On HA >= 2026.8, HA's own registry migration
first puts that device into one subentry; the entry's 1.1 -> 1.2 migration and every setup put
it back into no subentry without HA deleting a subentry's entities."""

from __future__ import annotations

import copy
from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant import bootstrap
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    category_registry as cr,
    device_registry as dr,
    entity_registry as er,
    floor_registry as fr,
    issue_registry as ir,
    label_registry as lr,
    restore_state as rs,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.registry import ONE_SUBENTRY_PER_DEVICE

from .common import mock_entry, registered_device
from .test_actuators import PUMP
from .test_sensors import PH_DATA

LEGACY: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "registry_2025_4.json").read_text()
)
LEGACY_ENTITIES = LEGACY["core.entity_registry"]["data"]["entities"]
LEGACY_DEVICE = LEGACY["core.device_registry"]["data"]["devices"][0]
ENTRY_ID = "01JLEGACYENTRY0000000000AA"
SENSOR_ID = "01JLEGACYSENSOR000000000AA"
PUMP_ID = "01JLEGACYPUMP0000000000AAA"


# The test harness never loads registries from storage: these tests load them themselves.
pytestmark = pytest.mark.parametrize("load_registries", [False])


@pytest.fixture
async def legacy_entry_loaded(hass: HomeAssistant, hass_storage: dict[str, Any]) -> MockConfigEntry:
    """That install's config entry, and its stored registries loaded (HA migrates them)."""
    hass_storage.update(copy.deepcopy(LEGACY))
    entry = legacy_entry()
    entry.add_to_hass(hass)  # first: HA drops devices of unknown entries after loading
    await load_registries_from_storage(hass)
    return entry


async def load_registries_from_storage(hass: HomeAssistant) -> None:
    """What HA's start does (and the harness, from an empty store)."""
    if hasattr(dr, "async_setup"):  # HA >= 2026.8
        dr.async_setup(hass)
    with patch("homeassistant.helpers.restore_state.start.async_at_start"):
        for registry in (ar, cr, dr, er, fr, ir, lr, rs):
            await registry.async_load(hass)
    hass.data[bootstrap.DATA_REGISTRIES_LOADED] = None


def legacy_entry(version: int = 1) -> MockConfigEntry:
    """The config entry of that install: version 1.1, same ids."""
    base = mock_entry()
    return MockConfigEntry(
        domain=DOMAIN,
        title=base.title,
        unique_id=base.unique_id,
        data=base.data,
        entry_id=ENTRY_ID,
        version=version,
        minor_version=1,
        subentries_data=[
            ConfigSubentryDataWithId(
                data=PH_DATA,
                subentry_type="sensor",
                title="Tank pH",
                unique_id="34:",
                subentry_id=SENSOR_ID,
            ),
            ConfigSubentryDataWithId(
                data=PUMP,
                subentry_type="actuator",
                title="Pump",
                unique_id="actuator:26",
                subentry_id=PUMP_ID,
            ),
        ],
    )


def assert_everything_kept(hass: HomeAssistant) -> None:
    """Every entity keeps its registry id, entity id, subentry and device; none deleted."""
    entities = er.async_get(hass)
    device = registered_device(hass)
    assert device is not None
    assert device.id == LEGACY_DEVICE["id"]
    for old in LEGACY_ENTITIES:
        now = entities.async_get(old["entity_id"])
        assert now is not None, old["entity_id"]
        assert (now.id, now.device_id, now.config_subentry_id) == (
            old["id"],
            device.id,
            old["config_subentry_id"],
        )
        assert hass.states.get(old["entity_id"]) is not None
    assert not [e for e in entities.deleted_entities.values() if e.platform == DOMAIN]
    if ONE_SUBENTRY_PER_DEVICE:
        assert device.config_subentry_id is None
    else:
        assert None in device.config_entries_subentries[ENTRY_ID]


async def test_upgrade_keeps_entities_and_automations(
    hass: HomeAssistant, legacy_entry_loaded: MockConfigEntry, mqtt_mock: MqttMockHAClient
) -> None:
    """Migration to 1.2, setup, and a reload afterwards: nothing is lost, and the device
    triggers an automation stored (device id + entity registry id) still point at the same
    entities."""
    entry = legacy_entry_loaded
    assert len(er.async_get(hass).entities) == len(LEGACY_ENTITIES)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (1, 4)
    assert entry.data["kind"] == "esp"  # 1.3: entries have a kind (an ESP, or a relay)
    assert_everything_kept(hass)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert_everything_kept(hass)

    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, LEGACY_DEVICE["id"]
    )
    ph_id = next(
        e["id"] for e in LEGACY_ENTITIES if e["entity_id"] == "sensor.greenhouse_1_tank_ph"
    )
    pump_id = next(e["id"] for e in LEGACY_ENTITIES if e["entity_id"] == "switch.greenhouse_1_pump")
    ours = {(t.get("entity_id"), t["type"]) for t in triggers if t["domain"] == DOMAIN}
    assert {(ph_id, "sensor_below"), (pump_id, "actuator_stopped")} <= ours

    # HA's registry cleanup (debounced after entities changed device) keeps them all too.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done()
    assert_everything_kept(hass)
    # Registries loaded while HA runs do not cancel that cleanup at stop: let it run now.
    assert await hass.config_entries.async_unload(entry.entry_id)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))
    await hass.async_block_till_done()


async def test_newer_entry_is_refused(hass: HomeAssistant) -> None:
    """An entry written by a newer major version is not set up (no downgrade damage)."""
    await load_registries_from_storage(hass)
    entry = legacy_entry(version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
