"""PWM outputs (0-255): a dimmable light per actuator subentry of type pwm.

A light with brightness is HA's native model of a 0-255 output: on/off, a brightness slider,
transitions left out; scenes and voice assistants know it.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    LightEntity,
    LightEntityDescription,
)
from homeassistant.components.light.const import ColorMode
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import AutomationOneConfigEntry
from .entity import ActuatorEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One light per PWM actuator."""
    for channel in entry.runtime_data.actuators.values():
        if channel.config.type != "pwm":
            continue
        async_add_entities(
            [ActuatorLight(entry, channel, LightEntityDescription(key=channel.subentry_id))],
            config_subentry_id=channel.subentry_id,
        )


class ActuatorLight(ActuatorEntity, LightEntity):
    """A PWM output: brightness is the duty value 0-255 the device reports."""

    _attr_color_mode = ColorMode.BRIGHTNESS
    _attr_supported_color_modes = {ColorMode.BRIGHTNESS}

    @property
    def brightness(self) -> int | None:
        """The device's value."""
        status = self.channel.status
        return None if status is None else status.value

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Set the duty value (full without a brightness)."""
        if ATTR_BRIGHTNESS in kwargs:
            await self.channel.async_command("set", value=int(kwargs[ATTR_BRIGHTNESS]))
        else:
            await self.channel.async_command("on")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off (always accepted)."""
        await self.channel.async_command("off")
