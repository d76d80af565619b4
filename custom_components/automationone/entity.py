"""The one base entity of AutomationOne."""

from __future__ import annotations

from homeassistant.const import CONF_MAC
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .data import AutomationOneConfigEntry


class AutomationOneEntity(Entity):
    """An entity of one ESP, pushed by its DeviceState."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Entities that show device-level data redraw on every device update; the others only
    # when the device's availability changes.
    _follows_device_updates = True

    def __init__(self, entry: AutomationOneConfigEntry, description: EntityDescription) -> None:
        """Bind to the entry's device."""
        self.entity_description = description
        self.device = entry.runtime_data.device
        mac = entry.data[CONF_MAC]
        self._attr_unique_id = f"{mac}-{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, mac)})

    @property
    def available(self) -> bool:
        """Available while the device is online and HA is connected to the broker."""
        return self.device.available

    async def async_added_to_hass(self) -> None:
        """Follow the device's state changes."""
        if self._follows_device_updates:
            self.async_on_remove(self.device.add_listener(self.async_write_ha_state))
        else:
            self.async_on_remove(self.device.add_availability_listener(self.async_write_ha_state))
