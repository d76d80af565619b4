"""Two boards with one esp_id share one topic root: HA follows the configured MAC only.

The MAC is a device's identity (docs/protocol.md). A second board that announces on a
followed device's topics is never added as a device of its own (its config push would
overwrite the first board's, its removal would clear their shared retained topics); a repair
issue names both MACs and tells the user to give one board another id.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_MAC
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_ESP_ID, DOMAIN


def issue_id(esp_id: str) -> str:
    """Repair issue id of a MAC conflict on one esp_id."""
    return f"mac_conflict_{esp_id}"


@callback
def owner_of(hass: HomeAssistant, esp_id: str, mac: str) -> ConfigEntry | None:
    """The entry that follows `esp_id` for a board with a MAC other than `mac`, if any."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_ESP_ID) == esp_id and entry.data.get(CONF_MAC) != mac:
            return entry
    return None


def placeholders(owner: ConfigEntry, other_mac: str) -> dict[str, str]:
    """What the abort reason, the error and the repair issue say."""
    return {
        "device": owner.title,
        "esp_id": owner.data[CONF_ESP_ID],
        "mac": owner.data[CONF_MAC],
        "other_mac": other_mac,
    }


@callback
def sync_issue(hass: HomeAssistant, entry: ConfigEntry, other_mac: str | None) -> None:
    """Raise the conflict issue of `entry` for `other_mac`, or remove it (None)."""
    ident = issue_id(entry.data[CONF_ESP_ID])
    if other_mac is None:
        ir.async_delete_issue(hass, DOMAIN, ident)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ident,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="mac_conflict",
        translation_placeholders=placeholders(entry, other_mac),
    )
