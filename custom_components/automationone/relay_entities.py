"""Entities of a Kaiser relay: bridge connected, devices behind it, messages per second,
uptime, and whether it runs its edge rules (with which rules are its own and which HA only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .kaiser_relay import RelayConfigEntry, RelayData, relay_device_identifier
from .protocol.relay import EDGE_ACTIVE, EDGE_STANDBY

_LOGGER = logging.getLogger(__name__)


class RelayEntity(Entity):
    """Base of a relay's entities: one device, state from RelayData."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: RelayConfigEntry, description: EntityDescription) -> None:
        """Name and ids from the relay's kaiser id (the entry's unique id)."""
        self.entity_description = description
        self.relay: RelayData = entry.runtime_data
        self._attr_unique_id = f"{entry.unique_id}-{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={relay_device_identifier(self.relay.kaiser_id)}
        )
        self._unavailable_logged = False

    @property
    def available(self) -> bool:
        """The relay reports and its bridge is up."""
        return self.relay.available

    async def async_added_to_hass(self) -> None:
        """Follow the relay."""
        self.async_on_remove(self.relay.add_listener(self._changed))

    def _changed(self) -> None:
        if not self.available and not self._unavailable_logged:
            _LOGGER.info("Kaiser relay %s is unavailable", self.relay.kaiser_id)
            self._unavailable_logged = True
        elif self.available and self._unavailable_logged:
            _LOGGER.info("Kaiser relay %s is back", self.relay.kaiser_id)
            self._unavailable_logged = False
        self.async_write_ha_state()


class BridgeSensor(RelayEntity, BinarySensorEntity):
    """On while the relay's bridge to the main broker is up (Mosquitto's own state)."""

    @property
    def available(self) -> bool:
        """Known once Mosquitto or the relay said something about the bridge."""
        return self.relay.bridge_connected is not None

    @property
    def is_on(self) -> bool | None:
        """The bridge state."""
        return self.relay.bridge_connected


@dataclass(frozen=True, kw_only=True)
class RelaySensorDescription(SensorEntityDescription):
    """A sensor of the relay's health."""

    value: Callable[[RelayData], Any]


HEALTH_SENSORS = (
    RelaySensorDescription(
        key="relay_devices",
        translation_key="relay_devices",
        state_class=SensorStateClass.MEASUREMENT,
        value=lambda r: r.health.devices if r.health else None,
    ),
    RelaySensorDescription(
        key="relay_msg_rate",
        translation_key="relay_msg_rate",
        native_unit_of_measurement="msg/s",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=lambda r: r.health.msg_s if r.health else None,
    ),
    RelaySensorDescription(
        key="relay_uptime",
        translation_key="relay_uptime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value=lambda r: r.health.uptime_s if r.health else None,
    ),
    RelaySensorDescription(
        key="relay_edge",
        translation_key="relay_edge",
        device_class=SensorDeviceClass.ENUM,
        options=[EDGE_STANDBY, EDGE_ACTIVE],
        value=lambda r: r.health.edge if r.health else None,
    ),
)


class RelaySensor(RelayEntity, SensorEntity):
    """One figure of the relay's health."""

    entity_description: RelaySensorDescription
    _unrecorded_attributes = frozenset({"edge_rules", "ha_only", "rules_version"})

    @property
    def native_value(self) -> Any:
        """From the latest health report."""
        return self.entity_description.value(self.relay)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The edge sensor lists the relay's rules and the ones that stay with HA."""
        if self.entity_description.key != "relay_edge":
            return None
        return {
            "edge_rules": sorted(self.relay.edge.automations.values()),
            "ha_only": dict(sorted(self.relay.edge.ha_only.items())),
            "rules_version": self.relay.health.rules_version if self.relay.health else None,
        }


BRIDGE = BinarySensorEntityDescription(
    key="relay_bridge",
    translation_key="relay_bridge",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


def add_relay_binary_sensors(
    entry: RelayConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The bridge sensor."""
    async_add_entities([BridgeSensor(entry, BRIDGE)])


def add_relay_sensors(
    entry: RelayConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The health sensors."""
    async_add_entities([RelaySensor(entry, d) for d in HEALTH_SENSORS])
