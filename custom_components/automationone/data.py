"""Runtime data of a config entry (one entry per ESP)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .protocol.device import DeviceState

type AutomationOneConfigEntry = ConfigEntry[AutomationOneData]


@dataclass(slots=True)
class AutomationOneData:
    """What the platforms of one entry share."""

    device: DeviceState
