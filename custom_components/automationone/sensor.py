"""Health sensors of an ESP from its heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfInformation,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .protocol import Heartbeat

PARALLEL_UPDATES = 0

# The boot time computed from uptime jitters by the heartbeat's delivery time; only a shift
# larger than this (a restart) moves the state, so the recorder is not written every beat.
BOOT_TIME_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class HeartbeatSensorDescription(SensorEntityDescription):
    """A sensor that shows one heartbeat field."""

    value_fn: Callable[[Heartbeat], int | None]


HEARTBEAT_SENSORS = (
    HeartbeatSensorDescription(
        key="rssi",
        translation_key="rssi",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hb: hb.rssi,
    ),
    HeartbeatSensorDescription(
        key="heap_free",
        translation_key="heap_free",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.KIBIBYTES,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hb: hb.heap_free,
    ),
)

UPTIME = SensorEntityDescription(
    key="uptime",
    translation_key="uptime",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the heartbeat sensors."""
    entities: list[SensorEntity] = [HeartbeatSensor(entry, d) for d in HEARTBEAT_SENSORS]
    entities.append(BootTimeSensor(entry, UPTIME))
    async_add_entities(entities)


class HeartbeatSensor(AutomationOneEntity, SensorEntity):
    """A value from the latest heartbeat."""

    entity_description: HeartbeatSensorDescription

    @property
    def available(self) -> bool:
        """Available once a heartbeat arrived and while the device is online."""
        return super().available and self.device.heartbeat is not None

    @property
    def native_value(self) -> int | None:
        """The heartbeat field."""
        heartbeat = self.device.heartbeat
        return None if heartbeat is None else self.entity_description.value_fn(heartbeat)


class BootTimeSensor(AutomationOneEntity, SensorEntity):
    """When the device last started, from its uptime (HA's way to show an uptime)."""

    _boot_time: datetime | None = None

    @property
    def available(self) -> bool:
        """Available once a heartbeat arrived and while the device is online."""
        return super().available and self.device.heartbeat is not None

    @property
    def native_value(self) -> datetime | None:
        """Boot time, moved only when it shifts by more than the tolerance."""
        heartbeat = self.device.heartbeat
        if heartbeat is None:
            return self._boot_time
        boot_time = dt_util.utcnow().replace(microsecond=0) - timedelta(seconds=heartbeat.uptime_s)
        if self._boot_time is None or abs(boot_time - self._boot_time) > BOOT_TIME_TOLERANCE:
            self._boot_time = boot_time
        return self._boot_time
