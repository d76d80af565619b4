"""Relays, pumps and valves: a switch per actuator subentry."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import AutomationOneConfigEntry
from .entity import ActuatorEntity
from .recommendation_switch import auto_switches

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One switch per digital actuator; the auto-action switches of recommendations."""
    async_add_entities(auto_switches(entry))
    for channel in entry.runtime_data.actuators.values():
        if channel.config.type == "pwm":
            continue
        async_add_entities(
            [ActuatorSwitch(entry, channel, SwitchEntityDescription(key=channel.subentry_id))],
            config_subentry_id=channel.subentry_id,
        )


class ActuatorSwitch(ActuatorEntity, SwitchEntity):
    """On/off through `actuator/{gpio}/command`; the state is the device's status."""

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn on, unless a limit or an emergency stop forbids it."""
        await self.channel.async_command("on")

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off (always accepted)."""
        await self.channel.async_command("off")
