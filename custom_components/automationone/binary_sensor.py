"""Connectivity of an ESP (its LWT status and HA's own broker link), its kaiser's emergency
stop, and sensor thresholds."""

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
from .prediction_entity import prediction_binary_sensors
from .sensor_channel import SensorChannel

PARALLEL_UPDATES = 0

CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)

EMERGENCY = BinarySensorEntityDescription(
    key="emergency",
    translation_key="emergency",
    device_class=BinarySensorDeviceClass.SAFETY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the connectivity sensor and the threshold sensors of each sensor subentry."""
    async_add_entities([ConnectivitySensor(entry, CONNECTIVITY), EmergencySensor(entry, EMERGENCY)])
    for channel in entry.runtime_data.channels.values():
        async_add_entities(
            [
                ThresholdSensor(entry, channel, level)
                for level in ("warning", "critical")
                if channel.has_thresholds(level)
            ],
            config_subentry_id=channel.subentry_id,
        )
    for subentry_id, anomaly in prediction_binary_sensors(entry).items():
        async_add_entities([anomaly], config_subentry_id=subentry_id)


class EmergencySensor(AutomationOneEntity, BinarySensorEntity):
    """On (unsafe) while an emergency stop holds the device's actuators: its own (the device
    page's button) or its kaiser's (the house-wide service)."""

    _unrecorded_attributes = frozenset({"device_stop", "house_stop"})

    @property
    def available(self) -> bool:
        """HA's own record of the retained broadcast: known while HA is on the broker."""
        return self.device.broker_connected

    @property
    def is_on(self) -> bool:
        """The emergency stop is in force."""
        return self.device.emergency

    @property
    def extra_state_attributes(self) -> dict[str, bool]:
        """Which stop holds it: each is cleared on its own."""
        return {
            "device_stop": self.device.device_emergency,
            "house_stop": self.device.kaiser_emergency,
        }


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


class ThresholdSensor(AutomationOneEntity, BinarySensorEntity):
    """On (a problem) while a sensor's value is outside its warning or critical band."""

    def __init__(self, entry: AutomationOneConfigEntry, channel: SensorChannel, level: str) -> None:
        """One level of one sensor."""
        super().__init__(
            entry,
            BinarySensorEntityDescription(
                key=f"{channel.subentry_id}-{level}",
                translation_key=level,
                device_class=BinarySensorDeviceClass.PROBLEM,
            ),
            channel.subentry_id,
        )
        self.channel = channel
        self._follows_device_updates = False
        self.level = level
        self._attr_translation_placeholders = {"sensor": channel.title}

    @property
    def available(self) -> bool:
        """Available with its sensor."""
        return self.channel.available

    @property
    def is_on(self) -> bool | None:
        """Outside the band."""
        return self.channel.threshold_state(self.level)

    async def async_added_to_hass(self) -> None:
        """Follow the channel."""
        await super().async_added_to_hass()
        self.async_on_remove(self.channel.add_listener(self.async_write_ha_state))
