"""Predictions in Home Assistant: per opted-in sensor, a scheduled refit on its recorded history.

For each sensor subentry whose data opts in (`data["prediction"]["enabled"]`), the runtime
- loads the last 7 days of the sensor entity's history from the recorder once (in the
  recorder's executor, as HA's statistics sensor does), then follows its state changes;
- every `refit_s` (default 5 min) fits the chosen predictor on that history in the executor
  (`predictions.cycle.fit_outcome`: forecast at the horizon, the warning/critical band edges it
  reaches, the anomaly state of the latest reading);
- keeps the outcome (`latest_prediction`) and sends it with the dispatcher signal
  `automationone_prediction_<entry_id>` (argument: the `PredictionOutcome`), which the
  prediction entities and the recommendations follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import functools
import logging
import math
from typing import Any

from homeassistant.const import CONF_MAC, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.util import dt as dt_util
import numpy as np

from .const import (
    CONF_HORIZON_S,
    CONF_PREDICT_ENABLED,
    CONF_PREDICTION,
    CONF_PREDICTOR,
    CONF_REFIT_S,
    DEFAULT_HORIZON_S,
    DEFAULT_PREDICTOR,
    DEFAULT_REFIT_S,
    DOMAIN,
    SIGNAL_PREDICTION,
    SUBENTRY_SENSOR,
)
from .data import AutomationOneConfigEntry
from .plugins import get_predictors
from .predictions import HISTORY_S, PredictionOutcome, Predictor, SeriesBuffer
from .predictions.cycle import BANDS, MAX_POINTS, bands_from, fit_outcome

_LOGGER = logging.getLogger(__name__)

# Keys of the prediction entities of a subentry (unique id `<mac>-<subentry_id>-<key>`).
FORECAST_KEY = "forecast"
ANOMALY_KEY = "anomaly"
TIME_UNTIL_KEYS = {band: f"time_until_{band}" for band in BANDS}
ENTITY_KEYS = (FORECAST_KEY, ANOMALY_KEY, *TIME_UNTIL_KEYS.values())


def prediction_signal(entry_id: str) -> str:
    """The dispatcher signal an entry's outcomes are sent with."""
    return SIGNAL_PREDICTION.format(entry_id)


@dataclass(frozen=True, slots=True)
class PredictionSettings:
    """A sensor subentry's prediction choices (the subentry flow's `predictions` step)."""

    predictor: str = DEFAULT_PREDICTOR
    horizon_s: int = DEFAULT_HORIZON_S
    refit_s: int = DEFAULT_REFIT_S

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> PredictionSettings | None:
        """The settings of an opted-in subentry's data; None when it has not opted in."""
        raw = data.get(CONF_PREDICTION)
        if not isinstance(raw, Mapping) or not raw.get(CONF_PREDICT_ENABLED):
            return None
        return cls(
            predictor=str(raw.get(CONF_PREDICTOR, DEFAULT_PREDICTOR)),
            horizon_s=int(raw.get(CONF_HORIZON_S, DEFAULT_HORIZON_S)),
            refit_s=int(raw.get(CONF_REFIT_S, DEFAULT_REFIT_S)),
        )


def reading_of(state: State | None) -> tuple[float, float] | None:
    """(time s, value) of a numeric state; None for unknown, unavailable or non-numeric."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return (state.last_updated_timestamp, value) if math.isfinite(value) else None


def _history(hass: HomeAssistant, entity_id: str, start: datetime) -> tuple[Any, Any]:
    """The entity's numeric states since `start`, as arrays (runs in the recorder's executor)."""
    from homeassistant.components.recorder import history

    # Newest first and at most what a buffer keeps (as HA's statistics sensor reads it).
    states = history.state_changes_during_period(
        hass,
        start,
        entity_id=entity_id,
        no_attributes=True,
        descending=True,
        limit=MAX_POINTS,
        include_start_time_state=False,
    ).get(entity_id, [])
    readings = [r for s in reversed(states) if (r := reading_of(s)) is not None]
    t = np.fromiter((r[0] for r in readings), dtype=np.float64, count=len(readings))
    y = np.fromiter((r[1] for r in readings), dtype=np.float64, count=len(readings))
    return t, y


class SensorPrediction:
    """One opted-in sensor: its history buffer, schedule and latest outcome."""

    def __init__(
        self,
        subentry_id: str,
        title: str,
        settings: PredictionSettings,
        bands: dict[tuple[str, str], float],
        predictor: Predictor | None,
    ) -> None:
        """Not started: no source entity, no history yet."""
        self.subentry_id = subentry_id
        self.title = title
        self.settings = settings
        self.bands = bands
        self.predictor = predictor  # None: a user predictor that is gone (its issue says why)
        self.buffer = SeriesBuffer(HISTORY_S)
        self.entity_id: str | None = None
        self.latest: PredictionOutcome | None = None
        self.error: str | None = None  # why the last fit gave no outcome
        self.failing = False  # the predictor raised on the last fit
        self.fitting = False

    def has_band(self, band: str) -> bool:
        """Whether the sensor has a warning or critical band edge."""
        return any(b == band for b, _ in self.bands)


class PredictionRuntime:
    """The prediction side of one config entry."""

    def __init__(self, hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
        """The opted-in sensors of the entry (with a channel: a processor that loaded)."""
        self.hass = hass
        self.entry = entry
        self.signal = prediction_signal(entry.entry_id)
        predictors = get_predictors(hass)
        self.sensors: dict[str, SensorPrediction] = {}
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_SENSOR:
                continue
            if subentry_id not in entry.runtime_data.channels:
                continue
            if (settings := PredictionSettings.of(subentry.data)) is None:
                continue
            self.sensors[subentry_id] = SensorPrediction(
                subentry_id,
                subentry.title,
                settings,
                bands_from(subentry.data),
                predictors.get(settings.predictor),
            )
        self._unsubs: list[Callable[[], None]] = []

    def latest(self, subentry_id: str) -> PredictionOutcome | None:
        """The newest outcome of a subentry."""
        sensor = self.sensors.get(subentry_id)
        return None if sensor is None else sensor.latest

    def wanted_unique_ids(self) -> set[str]:
        """Unique ids of the prediction entities the opted-in sensors have."""
        mac = self.entry.data[CONF_MAC]
        wanted = set()
        for sid, sensor in self.sensors.items():
            wanted |= {f"{mac}-{sid}-{FORECAST_KEY}", f"{mac}-{sid}-{ANOMALY_KEY}"}
            bands = [key for band, key in TIME_UNTIL_KEYS.items() if sensor.has_band(band)]
            wanted |= {f"{mac}-{sid}-{key}" for key in bands}
        return wanted

    @callback
    def remove_stale_entities(self) -> None:
        """Remove the prediction entities of sensors that opted out (or lost a band)."""
        registry = er.async_get(self.hass)
        mac = self.entry.data[CONF_MAC]
        wanted = self.wanted_unique_ids()
        suffixes = tuple(f"-{key}" for key in ENTITY_KEYS)
        for reg in er.async_entries_for_config_entry(registry, self.entry.entry_id):
            uid = reg.unique_id
            if uid.startswith(f"{mac}-") and uid.endswith(suffixes) and uid not in wanted:
                sid = uid.removeprefix(f"{mac}-").split("-", 1)[0]
                if sid in self.entry.subentries:
                    registry.async_remove(reg.entity_id)

    async def async_start(self) -> None:
        """Find each sensor's entity, load its history, fit once, then on its schedule."""
        self.remove_stale_entities()
        registry = er.async_get(self.hass)
        mac = self.entry.data[CONF_MAC]
        for sid, sensor in self.sensors.items():
            sensor.entity_id = registry.async_get_entity_id("sensor", DOMAIN, f"{mac}-{sid}")
            if sensor.entity_id is None:
                continue
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, [sensor.entity_id], functools.partial(self._on_state, sensor)
                )
            )
            self._unsubs.append(
                async_track_time_interval(
                    self.hass,
                    functools.partial(self._on_timer, sensor),
                    timedelta(seconds=sensor.settings.refit_s),
                    name=f"automationone prediction {sid}",
                )
            )
            self.entry.async_create_background_task(
                self.hass, self._async_first_fit(sensor), f"automationone prediction {sid}"
            )

    @callback
    def async_stop(self) -> None:
        """Stop following and fitting."""
        while self._unsubs:
            self._unsubs.pop()()

    @callback
    def _on_state(self, sensor: SensorPrediction, event: Event[EventStateChangedData]) -> None:
        if (reading := reading_of(event.data["new_state"])) is not None:
            sensor.buffer.append(*reading)

    @callback
    def _on_timer(self, sensor: SensorPrediction, now: datetime) -> None:
        if not sensor.fitting:
            self.entry.async_create_background_task(
                self.hass, self.async_refit(sensor), f"automationone refit {sensor.subentry_id}"
            )

    async def _async_first_fit(self, sensor: SensorPrediction) -> None:
        assert sensor.entity_id is not None
        if "recorder" in self.hass.config.components:
            from homeassistant.helpers.recorder import get_instance

            start = dt_util.utcnow() - timedelta(seconds=HISTORY_S)
            t, y = await get_instance(self.hass).async_add_executor_job(
                _history, self.hass, sensor.entity_id, start
            )
            held_t, held_y = sensor.buffer.snapshot()  # states that came in meanwhile
            sensor.buffer.extend(t, y)
            sensor.buffer.extend(held_t, held_y)
        await self.async_refit(sensor)

    async def async_refit(self, sensor: SensorPrediction) -> PredictionOutcome | None:
        """Fit the sensor's history now; publish and return the outcome (None: no fit)."""
        if sensor.predictor is None or sensor.fitting:
            return None
        # An unchanged value writes no state change: its last report is a reading too (or a
        # stuck sensor could never be told from a quiet one).
        current = self.hass.states.get(sensor.entity_id) if sensor.entity_id else None
        if current is not None and (reading := reading_of(current)) is not None:
            sensor.buffer.append(current.last_reported_timestamp, reading[1])
        t, y = sensor.buffer.snapshot()
        if t.size < 2:
            sensor.error = "too_few_readings"
            return None
        sensor.fitting = True
        try:
            outcome = await self.hass.async_add_executor_job(
                functools.partial(
                    fit_outcome,
                    sensor.predictor,
                    t,
                    y,
                    subentry_id=sensor.subentry_id,
                    horizon_s=float(sensor.settings.horizon_s),
                    bands=sensor.bands,
                )
            )
        except Exception as err:  # noqa: BLE001 - a user predictor may raise anything
            if not sensor.failing:  # logged when it starts failing, not every cycle
                _LOGGER.warning(
                    "Predictor %s could not fit %s: %s: %s",
                    sensor.predictor.id,
                    sensor.title,
                    type(err).__name__,
                    err,
                )
            sensor.error = f"{type(err).__name__}: {err}"[:200]
            sensor.failing = True
            return None
        finally:
            sensor.fitting = False
        if sensor.failing:
            _LOGGER.info("Predictor %s fits %s again", sensor.predictor.id, sensor.title)
        sensor.error = None
        sensor.failing = False
        sensor.latest = outcome
        async_dispatcher_send(self.hass, self.signal, outcome)
        return outcome


def latest_prediction(
    hass: HomeAssistant, entry_id: str, subentry_id: str
) -> PredictionOutcome | None:
    """The newest outcome of a sensor subentry (None: not opted in, or not fitted yet)."""
    entry: AutomationOneConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN or not hasattr(entry, "runtime_data"):
        return None
    runtime = entry.runtime_data.predictions
    return None if runtime is None else runtime.latest(subentry_id)
