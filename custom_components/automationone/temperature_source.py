"""The compensation temperature a sensor reads from another entity, in °C.

The source's state is converted from its own unit with HA's converter (a °F sensor must not
compensate as if 77 °C). No value is used when the source is unavailable, has no temperature
unit, or has not reported for SOURCE_MAX_AGE: the processor then applies no compensation and
the channel notes why (`SourceTemperature.problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter

# Battery thermometers report on change and at least hourly; twice that is surely stale.
SOURCE_MAX_AGE: Final = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class SourceTemperature:
    """°C, or None and why: `unavailable`, `not_temperature` or `stale`."""

    celsius: float | None
    problem: str | None = None


def read_temperature(hass: HomeAssistant, entity_id: str) -> SourceTemperature:
    """The current temperature of `entity_id` in °C."""
    state = hass.states.get(entity_id)
    if state is None:
        return SourceTemperature(None, "unavailable")
    try:
        value = float(state.state)
    except ValueError:
        return SourceTemperature(None, "unavailable")  # unavailable, unknown, or not a number
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit not in TemperatureConverter.VALID_UNITS:
        return SourceTemperature(None, "not_temperature")
    if dt_util.utcnow() - state.last_reported > SOURCE_MAX_AGE:
        return SourceTemperature(None, "stale")
    return SourceTemperature(TemperatureConverter.convert(value, unit, UnitOfTemperature.CELSIUS))
