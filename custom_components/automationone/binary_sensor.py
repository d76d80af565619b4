"""Connectivity of an ESP: its LWT status and HA's own broker link."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity

PARALLEL_UPDATES = 0

CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the connectivity sensor."""
    async_add_entities([ConnectivitySensor(entry, CONNECTIVITY)])


class ConnectivitySensor(AutomationOneEntity, BinarySensorEntity):
    """On while the device is online; it stays available to show 'disconnected'."""

    @property
    def available(self) -> bool:
        """Known once the device reported a status, or once HA lost the broker."""
        return self.device.online is not None or not self.device.broker_connected

    @property
    def is_on(self) -> bool:
        """Online and reachable through the broker."""
        return self.device.available
