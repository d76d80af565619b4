"""The one base entity of AutomationOne."""

from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING, Any

from homeassistant.components.logbook import async_log_entry
from homeassistant.const import CONF_MAC
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, EVENT_ACTUATOR_STOPPED
from .data import AutomationOneConfigEntry
from .registry import ONE_SUBENTRY_PER_DEVICE, esp_identifier

if TYPE_CHECKING:
    from .actuator import ActuatorChannel
    from .safety import Refused


class AutomationOneEntity(Entity):
    """An entity of one ESP, pushed by its DeviceState."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Entities that show device-level data redraw on every device update; the others only
    # when the device's availability changes.
    _follows_device_updates = True

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        description: EntityDescription,
        subentry_id: str | None = None,
    ) -> None:
        """Bind to the entry's device; an entity of a subentry (`subentry_id`) too."""
        self.entity_description = description
        self.device = entry.runtime_data.device
        mac = entry.data[CONF_MAC]
        self._attr_unique_id = f"{mac}-{description.key}"
        if subentry_id is not None and ONE_SUBENTRY_PER_DEVICE:
            # A device_info would move the device into this subentry (registry.py).
            self.device_entry = entry.runtime_data.device_entry
        else:
            self._attr_device_info = DeviceInfo(identifiers={esp_identifier(mac)})

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


# Reasons of a stop the device made by itself: these fire EVENT_ACTUATOR_STOPPED.
DEVICE_STOP_REASONS = frozenset({"max_runtime", "duration", "failsafe", "emergency"})


class ActuatorEntity(AutomationOneEntity):
    """An entity of one actuator subentry: state from the device's status, commands out."""

    _unrecorded_attributes = frozenset({"runtime_s", "activations"})

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        channel: ActuatorChannel,
        description: EntityDescription,
    ) -> None:
        """Name the entity as the user named the actuator."""
        super().__init__(entry, description, channel.subentry_id)
        self.channel = channel
        self._follows_device_updates = False
        self._attr_name = channel.title

    @property
    def available(self) -> bool:
        """An online device that accepted the pin (and has told its state)."""
        return self.channel.available and self.channel.status is not None

    @property
    def is_on(self) -> bool | None:
        """The device's logical state."""
        status = self.channel.status
        return None if status is None else status.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Why the actuator is in its state."""
        status = self.channel.status
        return {"reason": None if status is None else status.reason}

    async def async_added_to_hass(self) -> None:
        """Follow the actuator's statuses."""
        await super().async_added_to_hass()
        self.async_on_remove(self.channel.add_listener(self._on_status))
        self.channel.refusal_listener = self._on_refused

    async def async_will_remove_from_hass(self) -> None:
        """Stop logging refusals."""
        self.channel.refusal_listener = None

    @callback
    def _on_refused(self, refused: Refused) -> None:
        until = "" if refused.until_s is None else f", may run again in {ceil(refused.until_s)} s"
        async_log_entry(
            self.hass,
            self.channel.title,
            f"refused a start ({refused.code.value}{until})",
            DOMAIN,
            self.entity_id,
        )

    @callback
    def _on_status(self) -> None:
        self.async_write_ha_state()
        status, previous = self.channel.status, self.channel.previous
        if status is None or previous is None or status.refused is not None:
            return
        if previous is status or previous.state == status.state:
            return
        self.channel.previous = status  # log each change once
        verb = "started" if status.state else "stopped"
        async_log_entry(
            self.hass,
            self.channel.title,
            f"{verb} ({status.reason})",
            DOMAIN,
            self.entity_id,
        )
        if not status.state and status.reason in DEVICE_STOP_REASONS:
            self.hass.bus.async_fire(
                EVENT_ACTUATOR_STOPPED,
                {
                    "device_id": self.registry_entry.device_id if self.registry_entry else None,
                    "entity_id": self.entity_id,
                    "reason": status.reason,
                },
            )
