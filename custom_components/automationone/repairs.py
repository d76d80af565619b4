"""Repair issues with a fix flow: an open recommendation is approved or rejected in its dialog."""

from __future__ import annotations

from typing import Any

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .recommendations import ISSUE_PREFIX, async_decide


class RecommendationFlow(RepairsFlow):
    """Approve or reject one recommendation: one click in the issue's dialog."""

    def __init__(self, rec_id: str) -> None:
        """The recommendation of the issue."""
        self.rec_id = rec_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """What will happen and why (the issue's placeholders), and the two choices."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["approve", "reject"],
            description_placeholders=self._placeholders(),
        )

    def _placeholders(self) -> dict[str, str] | None:
        issue = ir.async_get(self.hass).async_get_issue(self.handler, self.issue_id)
        return dict(issue.translation_placeholders or {}) if issue is not None else None

    async def async_step_approve(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Run the action (the actuator's limits and dosing safety apply), then close."""
        return await self._async_decide(True)

    async def async_step_reject(
        self, user_input: dict[str, Any] | None = None
    ) -> data_entry_flow.FlowResult:
        """Close it; repeated rejections teach the sensor's margin."""
        return await self._async_decide(False)

    async def _async_decide(self, approved: bool) -> data_entry_flow.FlowResult:
        try:
            await async_decide(self.hass, self.rec_id, approved, "user")
        except HomeAssistantError as err:
            return self.async_abort(reason="refused", description_placeholders={"error": str(err)})
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a recommendation issue."""
    rec_id = str((data or {}).get("rec_id") or issue_id.removeprefix(ISSUE_PREFIX))
    return RecommendationFlow(rec_id)
