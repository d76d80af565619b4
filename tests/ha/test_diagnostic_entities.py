"""entity-disabled-by-default: WiFi signal, free memory and raw readings start disabled; an
entity a user already has keeps its state."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import MAC, mock_entry

DISABLED = ("rssi", "heap_free")


async def test_new_diagnostic_entities_start_disabled(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """A new device: WiFi signal and free memory are registered, disabled by the integration;
    the last restart stays enabled."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    by_key = {
        e.unique_id.removeprefix(f"{MAC}-"): e
        for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    for key in DISABLED:
        assert by_key[key].disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(by_key[key].entity_id) is None
    assert by_key["uptime"].disabled_by is None


async def test_entities_of_an_existing_device_keep_their_state(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """Entities registered (enabled) by an earlier version stay enabled, with their ids."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    earlier = {
        key: entity_registry.async_get_or_create(
            "sensor", DOMAIN, f"{MAC}-{key}", config_entry=entry, suggested_object_id=f"old_{key}"
        )
        for key in DISABLED
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for key, before in earlier.items():
        after = entity_registry.async_get(before.entity_id)
        assert after is not None
        assert (after.entity_id, after.disabled_by) == (f"sensor.old_{key}", None)
        assert hass.states.get(after.entity_id) is not None
