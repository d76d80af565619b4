"""Restart, identify, emergency-stop and clear-emergency buttons of an ESP (the factory
reset needs a confirmation: the entry's Configure dialog, config_flow.py).

The emergency buttons act on this device alone (its retained `emergency` topic); the house-wide
stop and clear are the `emergency_stop` / `clear_emergency` services (kaiser broadcasts).
"""

from __future__ import annotations

from homeassistant.components.button import (
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import CONF_MAC, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .logins import async_rotate, has_login
from .protocol import Emergency

PARALLEL_UPDATES = 1

RESTART = ButtonEntityDescription(
    key="restart",
    device_class=ButtonDeviceClass.RESTART,
    entity_category=EntityCategory.CONFIG,
)

IDENTIFY = ButtonEntityDescription(
    key="identify",
    device_class=ButtonDeviceClass.IDENTIFY,
    entity_category=EntityCategory.CONFIG,
)

ROTATE_LOGIN = ButtonEntityDescription(
    key="rotate_broker_login",
    translation_key="rotate_broker_login",
    entity_category=EntityCategory.CONFIG,
)
EMERGENCY_STOP = ButtonEntityDescription(key="emergency_stop", translation_key="emergency_stop")
CLEAR_EMERGENCY = ButtonEntityDescription(key="clear_emergency", translation_key="clear_emergency")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the restart and emergency buttons, and the rotate button once there is a login."""
    async_add_entities(
        [
            RestartButton(entry, RESTART),
            IdentifyButton(entry, IDENTIFY),
            EmergencyButton(entry, EMERGENCY_STOP, stop=True),
            EmergencyButton(entry, CLEAR_EMERGENCY, stop=False),
        ]
    )
    if has_login(entry):
        async_add_entities([RotateLoginButton(entry, ROTATE_LOGIN)])
        return
    # Earlier versions made it for every device: one that has nothing to rotate goes.
    registry = er.async_get(hass)
    unique_id = f"{entry.data[CONF_MAC]}-{ROTATE_LOGIN.key}"
    if entity_id := registry.async_get_entity_id(Platform.BUTTON, DOMAIN, unique_id):
        registry.async_remove(entity_id)

    added = False

    async def add_once_secured(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
        nonlocal added
        if not added and has_login(entry):
            added = True
            async_add_entities([RotateLoginButton(entry, ROTATE_LOGIN)])

    # Securing stores the login on the entry without reloading it (logins.py).
    entry.async_on_unload(entry.add_update_listener(add_once_secured))


class RotateLoginButton(AutomationOneEntity, ButtonEntity):
    """A new broker login for the device; the old one is deleted once it switched
    (docs/security.md). Only on a device that was secured (entry's Configure)."""

    _follows_device_updates = False

    def __init__(
        self, entry: AutomationOneConfigEntry, description: ButtonEntityDescription
    ) -> None:
        """Remember the entry: the login state lives in its data."""
        super().__init__(entry, description)
        self.entry = entry

    async def async_press(self) -> None:
        """Create, deliver and (on the device's announce) confirm a new login."""
        await async_rotate(self.hass, self.entry)


class RestartButton(AutomationOneEntity, ButtonEntity):
    """Sends `system/command` restart."""

    _follows_device_updates = False  # nothing it shows changes with a heartbeat

    async def async_press(self) -> None:
        """Ask the device to restart."""
        await self.device.restart()


class IdentifyButton(AutomationOneEntity, ButtonEntity):
    """Sends `system/command` identify: the device blinks its LED."""

    _follows_device_updates = False

    async def async_press(self) -> None:
        """Ask the device to blink."""
        await self.device.system_command("identify")


class EmergencyButton(AutomationOneEntity, ButtonEntity):
    """Stops or clears this device's own emergency stop (other devices keep running)."""

    _follows_device_updates = False

    def __init__(
        self, entry: AutomationOneConfigEntry, description: ButtonEntityDescription, *, stop: bool
    ) -> None:
        """A stop or a clear button."""
        super().__init__(entry, description)
        self.stop = stop

    @property
    def available(self) -> bool:
        """Always pressable: the message is retained and reaches the device when it returns."""
        return True

    async def async_press(self) -> None:
        """Publish the device's retained stop or clear."""
        await self.device.publish_emergency(
            Emergency(
                action="stop" if self.stop else "clear",
                reason="button",
                ts=int(dt_util.utcnow().timestamp() * 1000),
            )
        )
