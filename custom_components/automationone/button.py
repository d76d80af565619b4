"""Restart button of an ESP."""

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

PARALLEL_UPDATES = 1

RESTART = ButtonEntityDescription(
    key="restart",
    device_class=ButtonDeviceClass.RESTART,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the restart button."""
    async_add_entities([RestartButton(entry, RESTART)])


class RestartButton(AutomationOneEntity, ButtonEntity):
    """Sends `system/command` restart."""

    async def async_press(self) -> None:
        """Ask the device to restart."""
        await self.device.restart()
