"""The rules compiler's view of Home Assistant: pins and entities -> our devices and entities.

Targets carry the entity registry id (not the entity id), as the automation editor stores
device triggers, conditions and actions: a renamed entity keeps working and an imported rule
saves unchanged in the editor.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import CONF_ADDR, CONF_ESP_ID, CONF_GPIO, DOMAIN
from .registry import (
    config_entry_ids,
    connectivity_entity,
    esp_device,
    is_actuator,
    is_processed_sensor,
)
from .rules import DeviceRef, EntityRef, Ref, Target


def _same_addr(configured: object, wanted: str) -> bool:
    return isinstance(configured, str) and configured.lower() == wanted.lower()


class RegistryResolver:
    """The rules' view of the config entries and the device and entity registries, both ways:
    `rules.Resolver` for compiling, `rules.decompile.AutomationResolver` for reading back."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Resolve against the registries as they are now."""
        self.hass = hass
        self.entities = er.async_get(hass)

    def _main_entity(self, entry: er.RegistryEntry) -> bool:
        return is_processed_sensor(self.hass, entry) or is_actuator(self.hass, entry)

    def entity(self, ref: Ref) -> Target | None:
        """Our device and entity (registry id) of a pin or entity; None if not ours."""
        if isinstance(ref, EntityRef):
            found = self.entities.async_get(ref.entity_id)
            if found is None or found.platform != DOMAIN or not self._main_entity(found):
                return None
            return self._target(found)
        for config_entry in self.hass.config_entries.async_entries(DOMAIN):
            if config_entry.data.get(CONF_ESP_ID) != ref.esp_id:
                continue
            subentries = [
                subentry_id
                for subentry_id, subentry in config_entry.subentries.items()
                if subentry.data.get(CONF_GPIO) == ref.gpio
                and (
                    ref.addr is None
                    or str(subentry.data.get(CONF_ADDR, "")).lower() == ref.addr.lower()
                )
            ]
            if len(subentries) != 1:  # unknown, or a bus pin without an address
                return None
            for found in er.async_entries_for_config_entry(self.entities, config_entry.entry_id):
                if found.config_subentry_id == subentries[0] and self._main_entity(found):
                    return self._target(found)
        return None

    def _target(self, found: er.RegistryEntry) -> Target | None:
        return None if found.device_id is None else Target(found.device_id, found.id, found.domain)

    def device(self, esp_id: str) -> str | None:
        """The device id of an ESP."""
        for config_entry in self.hass.config_entries.async_entries(DOMAIN):
            if config_entry.data.get(CONF_ESP_ID) == esp_id:
                device = esp_device(self.hass, config_entry)
                return None if device is None else device.id
        return None

    def history_entity(self, ref: Ref | DeviceRef) -> str | None:
        """The entity id whose recorded states are the history of a reference.

        Ours and other integrations' entities alike; a device is its connectivity sensor.
        """
        if isinstance(ref, DeviceRef):
            device_id = self.device(ref.esp_id)
            return None if device_id is None else connectivity_entity(self.hass, device_id)
        target = self.entity(ref)
        if target is not None:
            return self.entity_id(target.entity_id)
        if isinstance(ref, EntityRef):
            return ref.entity_id
        return None

    # The other direction, for reading an automation back (rules.decompile.AutomationResolver).

    def entity_id(self, entity: str) -> str | None:
        """The entity id of an entity registry id or entity id."""
        return er.async_resolve_entity_id(self.entities, entity)

    def esp_id(self, device_id: str) -> str | None:
        """The ESP id of one of our devices."""
        device = dr.async_get(self.hass).async_get(device_id)
        for entry_id in config_entry_ids(device) if device is not None else ():
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if entry is not None and entry.domain == DOMAIN:
                esp_id = entry.data.get(CONF_ESP_ID)
                return esp_id if isinstance(esp_id, str) else None
        return None
