"""Restart and emergency-stop buttons of an ESP."""

from __future__ import annotations

from homeassistant.components.button import (
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .services import async_broadcast_emergency

PARALLEL_UPDATES = 1

RESTART = ButtonEntityDescription(
    key="restart",
    device_class=ButtonDeviceClass.RESTART,
    entity_category=EntityCategory.CONFIG,
)

EMERGENCY_STOP = ButtonEntityDescription(key="emergency_stop", translation_key="emergency_stop")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the restart and emergency-stop buttons."""
    async_add_entities([RestartButton(entry, RESTART), EmergencyStopButton(entry, EMERGENCY_STOP)])


class RestartButton(AutomationOneEntity, ButtonEntity):
    """Sends `system/command` restart."""

    async def async_press(self) -> None:
        """Ask the device to restart."""
        await self.device.restart()


class EmergencyStopButton(AutomationOneEntity, ButtonEntity):
    """Publishes the emergency stop of this device's kaiser (every device behind it stops)."""

    @property
    def available(self) -> bool:
        """Always pressable: the broadcast is retained and reaches the device when it returns."""
        return True

    async def async_press(self) -> None:
        """Stop every actuator of the kaiser."""
        await async_broadcast_emergency(
            self.hass, {self.device.kaiser_id}, True, f"button {self.device.esp_id}"
        )
