"""pH probe ageing in HA: the calibration history of a sensor and its "probe slope" sensor.

Every saved calibration (the subentry flow's calibrate step and the `calibrate` service, both
through `with_calibration`) is also appended to the subentry's `calibration_history` (newest
last, at most `MAX_CALIBRATIONS`). For each pH sensor a diagnostic sensor shows the slope of
the latest multi-point calibration in % of Nernst (`predictions.probe.probe_ageing`), with the
trend per month and the estimated date it falls below the replacement point (85 %) as
attributes. A pH sensor without a two-point calibration shows unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .const import CONF_CALIBRATION, CONF_CALIBRATION_HISTORY
from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .predictions.probe import (
    DEFAULT_IDEAL_SLOPE_25C,
    REPLACE_BELOW_PERCENT,
    ProbeAgeing,
    probe_ageing,
)
from .processors.adc import DEFAULT_ADC_MODEL
from .processors.base import Calibration
from .sensor_channel import SensorChannel

MAX_CALIBRATIONS: Final = 24
PROBE_SLOPE_KEY: Final = "probe_slope"
PH_PROCESSOR: Final = "ph"
DAYS_PER_MONTH: Final = 365.25 / 12


def with_calibration(data: Mapping[str, Any], calibration: Calibration) -> dict[str, Any]:
    """The subentry data with `calibration` as the current one, appended to the history.

    A calibration saved before the history existed is kept as its first entry."""
    new = dict(data)
    history = [h for h in data.get(CONF_CALIBRATION_HISTORY, ()) if isinstance(h, Mapping)]
    current = data.get(CONF_CALIBRATION)
    if not history and isinstance(current, Mapping):
        history.append(dict(current))
    history.append(calibration.to_dict())
    new[CONF_CALIBRATION] = calibration.to_dict()
    new[CONF_CALIBRATION_HISTORY] = history[-MAX_CALIBRATIONS:]
    return new


def _timestamp(created: Any) -> float | None:
    if not isinstance(created, str) or (parsed := dt_util.parse_datetime(created)) is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def calibration_history(data: Mapping[str, Any]) -> list[tuple[float, Calibration]]:
    """(time s, calibration) of the stored calibrations with a date, oldest first; the current
    one counts too when it is not the history's last (saved before the history existed)."""
    stored = [h for h in data.get(CONF_CALIBRATION_HISTORY, ()) if isinstance(h, Mapping)]
    current = data.get(CONF_CALIBRATION)
    if isinstance(current, Mapping) and (not stored or dict(stored[-1]) != dict(current)):
        stored.append(current)
    found: list[tuple[float, Calibration]] = []
    for raw in stored:
        try:
            calibration = Calibration.from_dict(raw)
        except ValueError:
            continue  # a malformed entry: the others still tell the trend
        if (t := _timestamp(calibration.created)) is not None:
            found.append((t, calibration))
    return sorted(found, key=lambda pair: pair[0])


def ageing_of(channel: SensorChannel, data: Mapping[str, Any]) -> ProbeAgeing | None:
    """The probe's ageing from a pH channel's subentry data (its ADC model and amplifier)."""
    params = channel.params()
    slope = params.get("slope_mv_per_ph", DEFAULT_IDEAL_SLOPE_25C)
    return probe_ageing(
        calibration_history(data),
        adc=str(params.get("adc", DEFAULT_ADC_MODEL)),
        ideal_slope_25c=float(slope) if isinstance(slope, int | float) else DEFAULT_IDEAL_SLOPE_25C,
    )


class ProbeSlopeSensor(AutomationOneEntity, SensorEntity):
    """Slope of a pH probe's latest calibration in % of Nernst, its trend and replacement."""

    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 1

    def __init__(self, entry: AutomationOneConfigEntry, channel: SensorChannel) -> None:
        """Named after the sensor ("Tank pH probe slope")."""
        super().__init__(
            entry,
            SensorEntityDescription(
                key=f"{channel.subentry_id}-{PROBE_SLOPE_KEY}",
                translation_key=PROBE_SLOPE_KEY,
                entity_category=EntityCategory.DIAGNOSTIC,
            ),
            channel.subentry_id,
        )
        self.entry = entry
        self.channel = channel
        self._follows_device_updates = False
        self._attr_translation_placeholders = {"sensor": channel.title}
        self._seen: object = None
        self._ageing: ProbeAgeing | None = None

    @property
    def available(self) -> bool:
        """A calculation from stored calibrations: available while the device is known."""
        return True

    def _current(self) -> ProbeAgeing | None:
        subentry = self.entry.subentries.get(self.channel.subentry_id)
        data = {} if subentry is None else subentry.data
        if data is not self._seen:  # computed once per saved change of the subentry
            self._seen = data
            self._ageing = ageing_of(self.channel, data)
        return self._ageing

    @property
    def native_value(self) -> float | None:
        """Slope of the latest two-or-more-point calibration (% of Nernst)."""
        ageing = self._current()
        return None if ageing is None else round(ageing.percent_now, 2)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Trend per month, the replacement point and when it is expected to be reached."""
        ageing = self._current()
        if ageing is None:
            return {"calibrations": 0, "replace_below_percent": REPLACE_BELOW_PERCENT}
        rate = ageing.rate_percent_per_day
        return {
            "trend_percent_per_month": None if rate is None else round(rate * DAYS_PER_MONTH, 3),
            "replace_below_percent": REPLACE_BELOW_PERCENT,
            "replace_at": None
            if ageing.replace_at is None
            else datetime.fromtimestamp(ageing.replace_at, UTC).isoformat(timespec="seconds"),
            "calibrations": len(ageing.times),
            "last_calibration": datetime.fromtimestamp(ageing.times[-1], UTC).isoformat(
                timespec="seconds"
            ),
        }

    async def async_added_to_hass(self) -> None:
        """Redraw when the subentry's data changes (a calibration was saved)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.entry.add_update_listener(self._async_entry_updated))

    async def _async_entry_updated(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self._redraw()

    @callback
    def _redraw(self) -> None:
        self.async_write_ha_state()


def probe_sensors(entry: AutomationOneConfigEntry) -> dict[str, list[ProbeSlopeSensor]]:
    """A probe slope sensor per pH sensor subentry (by subentry id)."""
    return {
        sid: [ProbeSlopeSensor(entry, channel)]
        for sid, channel in entry.runtime_data.channels.items()
        if channel.processor.id == PH_PROCESSOR
    }
