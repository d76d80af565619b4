"""Runtime data of a config entry (one entry per ESP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers.device_registry import DeviceEntry, DeviceInfo

from .protocol.device import DeviceState

if TYPE_CHECKING:
    from .actuator import ActuatorChannel
    from .device_config import ConfigVersions
    from .prediction_runtime import PredictionRuntime
    from .recommendations import RecommendationManager
    from .sensor_channel import SensorChannel

type AutomationOneConfigEntry = ConfigEntry[AutomationOneData]
# A subentry's title and data (HA replaces, never changes, the mapping on an update).
type SubentrySnapshot = tuple[str, Mapping[str, Any]]


@dataclass(slots=True)
class AutomationOneData:
    """What the platforms of one entry share."""

    device: DeviceState
    # The ESP's entry in HA's device registry (registry.py), and the one DeviceInfo naming it
    # that its entities share (500 devices have ~13,000 entities).
    device_entry: DeviceEntry
    device_info: DeviceInfo
    versions: ConfigVersions
    # The subentries the entry was set up with, to reload only when they change.
    subentries: dict[str, SubentrySnapshot]
    channels: dict[str, SensorChannel]
    actuators: dict[str, ActuatorChannel]
    # Predictions of the opted-in sensor subentries (prediction_runtime.py).
    predictions: PredictionRuntime | None = None
    # Recommendations from predictions, their decisions and auto-actions (recommendations.py).
    recommendations: RecommendationManager | None = None
