"""Health sensors of an ESP from its heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS
from homeassistant.const import (
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfInformation,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .actuator import ActuatorChannel
from .const import CONF_KIND, KIND_RELAY
from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .prediction_entity import prediction_sensors
from .probe_sensor import probe_sensors
from .processors import RawKind, Result
from .protocol import ActuatorStatus, Heartbeat
from .relay_entities import add_relay_sensors
from .replay_statistics import replay_statistics
from .sensor_channel import SensorChannel

PARALLEL_UPDATES = 0

# The boot time computed from uptime jitters by the heartbeat's delivery time; only a shift
# larger than this (a restart) moves the state, so the recorder is not written every beat.
BOOT_TIME_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class HeartbeatSensorDescription(SensorEntityDescription):
    """A sensor that shows one heartbeat field."""

    value_fn: Callable[[Heartbeat], int | None]


# RSSI and free memory are for diagnosing a device, not for every dashboard: disabled by
# default (entity-disabled-by-default). Only new entities start disabled; one already in the
# registry keeps its enabled state (HA applies the default on first registration only).
HEARTBEAT_SENSORS = (
    HeartbeatSensorDescription(
        key="rssi",
        translation_key="rssi",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
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
        entity_registry_enabled_default=False,
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
    """Add the heartbeat sensors, and one processed sensor per sensor subentry."""
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        add_relay_sensors(entry, async_add_entities)  # type: ignore[arg-type]
        return
    entities: list[SensorEntity] = [HeartbeatSensor(entry, d) for d in HEARTBEAT_SENSORS]
    entities.append(BootTimeSensor(entry, UPTIME))
    async_add_entities(entities)
    for channel in entry.runtime_data.channels.values():
        async_add_entities(
            [ProcessedSensor(entry, channel), RawSensor(entry, channel)],
            config_subentry_id=channel.subentry_id,
        )
    for actuator in entry.runtime_data.actuators.values():
        async_add_entities(
            [ActuatorCounter(entry, actuator, d) for d in COUNTERS],
            config_subentry_id=actuator.subentry_id,
        )
    # Forecast and time-until sensors of the sensors with predictions (prediction_entity.py).
    for subentry_id, entities in prediction_sensors(entry, value_description).items():
        async_add_entities(entities, config_subentry_id=subentry_id)
    if (runtime := entry.runtime_data.predictions) is not None:

        def add_predictions(only: str) -> None:
            for sid, found in prediction_sensors(entry, value_description, only).items():
                async_add_entities(found, config_subentry_id=sid)

        runtime.entity_adders.append(add_predictions)
    # Probe slope of the pH sensors from their calibration history (probe_sensor.py).
    for subentry_id, probes in probe_sensors(entry).items():
        async_add_entities(probes, config_subentry_id=subentry_id)


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


class ProcessedSensor(AutomationOneEntity, SensorEntity):
    """The physical value of one configured sensor (raw reading through its processor)."""

    _unrecorded_attributes = frozenset({"raw"})

    def __init__(self, entry: AutomationOneConfigEntry, channel: SensorChannel) -> None:
        """Describe the sensor from its processor."""
        super().__init__(entry, value_description(channel), channel.subentry_id)
        self.channel = channel
        self._follows_device_updates = False
        # The user named the sensor when adding it (e.g. "Tank pH").
        self._attr_name = channel.title

    @property
    def available(self) -> bool:
        """Fresh readings, an online device, and a pin the device accepted."""
        return self.channel.available

    @property
    def native_value(self) -> float | None:
        """The processed value; None when the reading carried no usable value."""
        result = self.channel.result
        return None if result is None else result.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Quality flag and the raw reading it came from."""
        channel = self.channel
        result, raw = channel.result, channel.raw
        attributes: dict[str, Any] = {
            "quality": None if result is None else result.quality.value,
            "raw": list(raw) if type(raw) is tuple else raw,
        }
        if channel.compensation is not None:
            attributes["temperature_compensation"] = channel.compensation
        return attributes

    async def async_added_to_hass(self) -> None:
        """Follow the channel (and the device's availability)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.channel.add_listener(self.async_write_ha_state))
        if self.state_class is SensorStateClass.MEASUREMENT:
            self.async_on_remove(self.channel.add_replay_listener(self._on_replay))

    def _on_replay(self, ts_ms: int, result: Result) -> None:
        """A reading from the device's offline buffer: into statistics at its device time."""
        assert result.value is not None
        replay_statistics(self.hass).add(
            self.entity_id, self.unit_of_measurement, ts_ms, result.value
        )


class RawSensor(AutomationOneEntity, SensorEntity):
    """What the device measured before processing (an ADC count, a distance, a chip's words),
    recorded once enabled: to check a probe or a calibration against its history. The raw
    value is also an (unrecorded) attribute of the processed sensor."""

    def __init__(self, entry: AutomationOneConfigEntry, channel: SensorChannel) -> None:
        """Diagnostic and disabled by default; numeric raw values get statistics too."""
        words = channel.processor.raw_kind == RawKind.WORDS
        super().__init__(
            entry,
            SensorEntityDescription(
                key=f"{channel.subentry_id}-raw",
                translation_key="raw",
                entity_category=EntityCategory.DIAGNOSTIC,
                entity_registry_enabled_default=False,
                state_class=None if words else SensorStateClass.MEASUREMENT,
            ),
            channel.subentry_id,
        )
        self.channel = channel
        self.words = words
        self._follows_device_updates = False
        self._attr_translation_placeholders = {"sensor": channel.title}

    @property
    def available(self) -> bool:
        """With its sensor."""
        return self.channel.available

    @property
    def native_value(self) -> float | str | None:
        """The raw number; a chip's words as hex (`0x6e8c 0x5a21`)."""
        raw = self.channel.raw
        if isinstance(raw, tuple):
            return " ".join(f"0x{word:04x}" for word in raw)
        if self.words or isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        return raw

    async def async_added_to_hass(self) -> None:
        """Follow the channel."""
        await super().async_added_to_hass()
        self.async_on_remove(self.channel.add_listener(self.async_write_ha_state))


@dataclass(frozen=True, kw_only=True)
class CounterDescription(SensorEntityDescription):
    """A lifetime total of an actuator, from a counter the device resets at boot."""

    value_fn: Callable[[ActuatorStatus], float | None]
    digits: int


COUNTERS = (
    CounterDescription(
        key="runtime",
        translation_key="runtime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=2,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda status: status.runtime_s,
        digits=3,
    ),
    CounterDescription(
        key="activations",
        translation_key="activations",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda status: status.activations,
        digits=0,
    ),
)


@dataclass
class CounterStoredData(SensorExtraStoredData):
    """The total, and the device counter it was last advanced from."""

    device_value: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON for the restore cache."""
        return {**super().as_dict(), "device_value": self.device_value}


class ActuatorCounter(AutomationOneEntity, RestoreSensor):
    """Total runtime or activations of an actuator, kept across HA and device restarts.

    The device counts since its boot; HA adds the increase of every status to its total, and
    a counter that went down means the device restarted, so the new count is all increase.
    """

    entity_description: CounterDescription

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        actuator: ActuatorChannel,
        description: CounterDescription,
    ) -> None:
        """Key and name from the actuator."""
        super().__init__(
            entry,
            replace(description, key=f"{actuator.subentry_id}-{description.key}"),
            actuator.subentry_id,
        )
        self.actuator = actuator
        self._follows_device_updates = False
        self._attr_translation_placeholders = {"actuator": actuator.title}
        self._total: float = 0
        self._device_value: float | None = None

    @property
    def available(self) -> bool:
        """Totals stay readable while the device is away: they are HA's own."""
        return True

    @property
    def native_value(self) -> float:
        """The lifetime total."""
        digits = self.entity_description.digits
        return round(self._total, digits) if digits else int(self._total)

    @property
    def extra_restore_state_data(self) -> CounterStoredData:
        """Also keep the device counter, so a retained status is not counted twice."""
        return CounterStoredData(
            self.native_value, self.native_unit_of_measurement, self._device_value
        )

    async def async_added_to_hass(self) -> None:
        """Restore the total, then follow the statuses."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_extra_data()) is not None:
            stored = last.as_dict()
            if isinstance(stored.get("native_value"), int | float):
                self._total = float(stored["native_value"])
            if isinstance(stored.get("device_value"), int | float):
                self._device_value = float(stored["device_value"])
        self.async_on_remove(self.actuator.add_listener(self._on_status))
        if self.actuator.status is not None:
            self._advance(self.actuator.status)

    def _on_status(self) -> None:
        status = self.actuator.status
        if status is not None and self._advance(status):
            self.async_write_ha_state()

    def _advance(self, status: ActuatorStatus) -> bool:
        value = self.entity_description.value_fn(status)
        if value is None or value == self._device_value:
            return False
        last = self._device_value
        self._total += value if last is None or value < last else value - last
        self._device_value = value
        return True


def value_description(channel: SensorChannel, key: str | None = None) -> SensorEntityDescription:
    """How a sensor's value is shown (device class, unit, precision of its processor); the
    forecast of it (prediction_entity.py) is shown the same way, under its own `key`."""
    processor = channel.processor
    device_class = _enum_or_none(SensorDeviceClass, processor.device_class)
    return SensorEntityDescription(
        key=channel.subentry_id if key is None else key,
        device_class=device_class,
        state_class=_enum_or_none(SensorStateClass, processor.state_class),
        # Unitless device classes (pH, AQI) take no unit; the processor's "pH" still goes to
        # the device with an echoed value.
        native_unit_of_measurement=None
        if DEVICE_CLASS_UNITS.get(device_class) == {None}  # type: ignore[arg-type]
        else processor.unit,
        suggested_display_precision=processor.display_precision,
    )


def _enum_or_none[E: StrEnum](enum: type[E], value: str | None) -> E | None:
    return None if value is None else enum(value)
