"""Entities of a sensor with predictions: forecast, time until a band, anomaly.

They show the latest `PredictionOutcome` of their subentry (prediction_runtime.py), follow
the entry's prediction signal, and sit on the sensor's device like the sensor itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import UnitOfTime
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .prediction_runtime import (
    ANOMALY_KEY,
    FORECAST_KEY,
    TIME_UNTIL_KEYS,
    PredictionRuntime,
    SensorPrediction,
)
from .predictions import PredictionOutcome
from .sensor_channel import SensorChannel


class PredictionEntity(AutomationOneEntity):
    """An entity showing one opted-in sensor's latest outcome."""

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        runtime: PredictionRuntime,
        sensor: SensorPrediction,
        description: Any,
    ) -> None:
        """Named after the sensor (e.g. "Tank pH forecast")."""
        super().__init__(entry, description, sensor.subentry_id)
        self.runtime = runtime
        self.sensor = sensor
        self._follows_device_updates = False
        self._attr_translation_placeholders = {"sensor": sensor.title}

    @property
    def outcome(self) -> PredictionOutcome | None:
        """The latest outcome of the sensor."""
        return self.sensor.latest

    @property
    def available(self) -> bool:
        """Available once the sensor's history was fitted."""
        return self.sensor.latest is not None

    async def async_added_to_hass(self) -> None:
        """Redraw on each outcome of this sensor."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self.runtime.signal, self._on_outcome)
        )

    @callback
    def _on_outcome(self, outcome: PredictionOutcome) -> None:
        if outcome.subentry_id == self.sensor.subentry_id:
            self.async_write_ha_state()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


class ForecastSensor(PredictionEntity, SensorEntity):
    """The value the sensor is expected to have at the horizon; the band in attributes."""

    @property
    def native_value(self) -> float | None:
        """Expected value at the horizon."""
        return None if self.outcome is None else round(self.outcome.forecast.value, 6)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Band, when the forecast is for, and what it was fitted on."""
        outcome = self.outcome
        if outcome is None:
            return {}
        return {
            "lower": round(outcome.forecast.lower, 6),
            "upper": round(outcome.forecast.upper, 6),
            "forecast_time": _iso(outcome.forecast.t),
            "horizon_s": outcome.horizon_s,
            "predictor": outcome.predictor,
            "samples": outcome.samples,
        }


class TimeUntilSensor(PredictionEntity, SensorEntity):
    """Time until the forecast leaves the warning (or critical) band; unknown when it does
    not within the horizon, 0 while it is already outside."""

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        runtime: PredictionRuntime,
        sensor: SensorPrediction,
        band: str,
    ) -> None:
        """One band of one sensor."""
        key = TIME_UNTIL_KEYS[band]
        super().__init__(
            entry,
            runtime,
            sensor,
            SensorEntityDescription(
                key=f"{sensor.subentry_id}-{key}",
                translation_key=key,
                device_class=SensorDeviceClass.DURATION,
                native_unit_of_measurement=UnitOfTime.SECONDS,
                suggested_unit_of_measurement=UnitOfTime.MINUTES,
                suggested_display_precision=0,
            ),
        )
        self.band = band

    def _crossing(self) -> Any:
        outcome = self.outcome
        if outcome is None:
            return None
        return next((c for c in outcome.crossings if c.band == self.band), None)

    @property
    def native_value(self) -> float | None:
        """Seconds until the first edge of the band is crossed."""
        crossing = self._crossing()
        return None if crossing is None else round(crossing.in_s)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Which edge is crossed, at which threshold, and when."""
        crossing = self._crossing()
        outcome = self.outcome
        return {
            "edge": None if crossing is None else crossing.edge,
            "threshold": None if crossing is None else crossing.threshold,
            "crossing_time": None
            if crossing is None or outcome is None
            else _iso(outcome.t + crossing.in_s),
        }


class AnomalySensor(PredictionEntity, BinarySensorEntity):
    """On (a problem) while the latest reading is an outlier, a spike or a flatline."""

    @property
    def is_on(self) -> bool | None:
        """The latest reading is anomalous."""
        return None if self.outcome is None else self.outcome.anomaly.is_anomaly

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Robust z-score and reason (`outlier`, `spike`, `flatline` or None)."""
        outcome = self.outcome
        if outcome is None:
            return {}
        return {"score": round(outcome.anomaly.score, 2), "reason": outcome.anomaly.reason}


def prediction_sensors(
    entry: AutomationOneConfigEntry,
    value_description: Callable[[SensorChannel, str], SensorEntityDescription],
) -> dict[str, list[SensorEntity]]:
    """The forecast and time-until sensors of each opted-in sensor, by subentry id."""
    runtime = entry.runtime_data.predictions
    if runtime is None:
        return {}
    found: dict[str, list[SensorEntity]] = {}
    for sid, sensor in runtime.sensors.items():
        channel = entry.runtime_data.channels[sid]
        forecast = replace(
            value_description(channel, f"{sid}-{FORECAST_KEY}"),
            translation_key=FORECAST_KEY,
            state_class=None,  # a forecast is not a measurement: no long-term statistics
        )
        entities: list[SensorEntity] = [ForecastSensor(entry, runtime, sensor, forecast)]
        entities += [
            TimeUntilSensor(entry, runtime, sensor, band)
            for band in TIME_UNTIL_KEYS
            if sensor.has_band(band)
        ]
        found[sid] = entities
    return found


def prediction_binary_sensors(entry: AutomationOneConfigEntry) -> dict[str, AnomalySensor]:
    """The anomaly sensor of each opted-in sensor, by subentry id."""
    runtime = entry.runtime_data.predictions
    if runtime is None:
        return {}
    return {
        sid: AnomalySensor(
            entry,
            runtime,
            sensor,
            BinarySensorEntityDescription(
                key=f"{sid}-{ANOMALY_KEY}",
                translation_key=ANOMALY_KEY,
                device_class=BinarySensorDeviceClass.PROBLEM,
            ),
        )
        for sid, sensor in runtime.sensors.items()
    }
