"""Auto-action switches: per recommendation kind with an action, run it without approval.

Off by default; the state lives in the entry's recommendation store (it survives a restart).
Bounded by the actuator's limits and dosing safety like an approval; a refusal is in the
logbook and the recommendation stays open for the user.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory

from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .predictions.recommend import ACTION_KINDS
from .recommendations import RecommendationManager


def auto_switches(entry: AutomationOneConfigEntry) -> list[AutoActionSwitch]:
    """One switch per kind with an action, on the ESP's device; none on a device without
    actuators, where no recommendation has an action (adding one reloads the entry)."""
    manager = entry.runtime_data.recommendations
    if manager is None or not entry.runtime_data.actuators:
        return []
    return [
        AutoActionSwitch(
            entry,
            manager,
            SwitchEntityDescription(
                key=f"auto_{kind}",
                translation_key=f"auto_{kind}",
                entity_category=EntityCategory.CONFIG,
            ),
            kind,
        )
        for kind in ACTION_KINDS
    ]


class AutoActionSwitch(AutomationOneEntity, SwitchEntity):
    """Whether recommendations of one kind run without approval."""

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        manager: RecommendationManager,
        description: SwitchEntityDescription,
        kind: str,
    ) -> None:
        """Follow the manager's switch of `kind`."""
        super().__init__(entry, description)
        self.manager = manager
        self.kind = kind

    @property
    def available(self) -> bool:
        """A setting: available whether or not the device is online."""
        return True

    @property
    def is_on(self) -> bool:
        """Whether the kind runs without approval."""
        return self.manager.auto.get(self.kind, False)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let this kind run without approval."""
        self.manager.set_auto(self.kind, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Ask for approval again."""
        self.manager.set_auto(self.kind, False)

    async def async_added_to_hass(self) -> None:
        """Redraw when the manager's switches change."""
        await super().async_added_to_hass()
        self.async_on_remove(self.manager.add_listener(self.async_write_ha_state))
