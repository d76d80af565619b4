"""The drawing of the device's board with each pin's role, on the device page."""

from __future__ import annotations

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .board_image import CONTENT_TYPE, entry_svg
from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity

PARALLEL_UPDATES = 0

BOARD = ImageEntityDescription(
    key="board", translation_key="board", entity_category=EntityCategory.DIAGNOSTIC
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One drawing per device."""
    async_add_entities([BoardImage(hass, entry)])


class BoardImage(AutomationOneEntity, ImageEntity):
    """The board's pins: used by which sensor or actuator, free, limited or unusable."""

    _attr_content_type = CONTENT_TYPE
    _follows_device_updates = False  # always available; drawn from the subentries

    def __init__(self, hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
        """Drawn from the subentries the entry was set up with (a change reloads the entry)."""
        AutomationOneEntity.__init__(self, entry, BOARD)
        ImageEntity.__init__(self, hass)
        self.entry = entry
        self._attr_image_last_updated = dt_util.utcnow()

    @property
    def available(self) -> bool:
        """HA's own drawing: shown while the device is away too."""
        return True

    async def async_image(self) -> bytes:
        """The SVG."""
        return entry_svg(self.hass, self.entry).encode()
