"""Readings a device replays from its offline buffer, into the recorder's long-term statistics.

HA's state history cannot be written for the past: a state is always recorded at the moment it
is set. Long-term statistics can: the recorder's own `async_import_statistics` upserts an
hourly row (mean, min, max) of an entity's statistic. So once the recorder has compiled the
hour a replayed reading belongs to, that hour is computed again the way the recorder computes
it (time-weighted mean, min, max of the sensor's numeric states in the hour), with the
replayed readings as states at their device time, and imported over the compiled row: the
hour looks as if there had been no outage. The 5-minute statistics and the state history keep
the gap (see docs/protocol.md, "Replays").
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
import math

from homeassistant.components.recorder import history
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    STATISTIC_UNIT_TO_UNIT_CONVERTER,
    async_import_statistics,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .protocol.log_limiter import LogLimiter

_LOGGER = logging.getLogger(__name__)

DATA_REPLAYS: HassKey[ReplayStatistics] = HassKey(f"{DOMAIN}_replays")
HOUR = timedelta(hours=1)
# The recorder compiles an hour a few seconds after it ends (with its 5-minute run at :55);
# rewrite it only after that, or the recorder's own row would later collide with ours.
COMPILE_MARGIN = timedelta(minutes=12)
# Bound on replayed readings waiting for their hour, 16 bytes each (8 MB): a relay resends up
# to 50,000 held batch messages of ~10 readings after a bridge outage (docs/kaiser.md); a
# device alone replays ~100.
MAX_PENDING = 500_000

type Point = tuple[float, float]
"""(Unix time in s, value)."""


def hour_statistics(start: datetime, points: Iterable[Point]) -> StatisticData | None:
    """Time-weighted mean, min and max over [start, start + 1 h) as the recorder computes
    them: each value holds until the next one; the value before the hour holds from its start.
    """
    begin = start.timestamp()
    end = begin + HOUR.total_seconds()
    ordered = sorted(points, key=lambda point: point[0])  # stable: equal times keep their order
    inside = [(t, v) for t, v in ordered if begin <= t < end]
    before = [(t, v) for t, v in ordered if t < begin][-1:]
    timeline = [(begin, v) for _, v in before] + inside
    if not timeline:
        return None
    weighted = 0.0
    for (t, v), (t_next, _) in zip(timeline, [*timeline[1:], (end, 0.0)], strict=True):
        weighted += v * (t_next - t)
    values = [v for _, v in timeline]
    duration = end - timeline[0][0]
    if duration <= 0:
        return None
    return StatisticData(start=start, mean=weighted / duration, min=min(values), max=max(values))


def _numeric(state: str) -> float | None:
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(slots=True)
class _Hour:
    unit: str | None
    # The points as two arrays of doubles: a list of tuples costs ~7x as much.
    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))
    cancel: CALLBACK_TYPE | None = None

    def points(self) -> list[Point]:
        return list(zip(self.times, self.values, strict=True))


@dataclass(slots=True)
class ReplayStatistics:
    """Replayed readings per (entity, hour), written once their hour has been compiled."""

    hass: HomeAssistant
    pending: dict[tuple[str, datetime], _Hour] = field(default_factory=dict)
    buffered: int = 0
    imported: int = 0  # replayed readings written into statistics rows
    dropped: int = 0  # no recorder, or more than MAX_PENDING waiting
    _log_limiter: LogLimiter = field(default_factory=LogLimiter)

    @callback
    def add(self, entity_id: str, unit: str | None, ts_ms: int, value: float) -> None:
        """Keep one replayed reading for the statistics of its hour."""
        if "recorder" not in self.hass.config.components:
            self.dropped += 1
            return
        if self.buffered >= MAX_PENDING:
            self.dropped += 1
            if self._log_limiter.allow("dropped"):
                _LOGGER.warning(
                    "%d replayed readings wait for their hour's statistics: dropping more "
                    "(%d so far); those hours keep their gap",
                    MAX_PENDING,
                    self.dropped,
                )
            return
        when = dt_util.utc_from_timestamp(ts_ms / 1000)
        start = when.replace(minute=0, second=0, microsecond=0)
        hour = self.pending.get((entity_id, start))
        if hour is None:
            hour = self.pending[(entity_id, start)] = _Hour(unit)
            due = max(start + HOUR + COMPILE_MARGIN, dt_util.utcnow())
            hour.cancel = async_track_point_in_utc_time(self.hass, self._due(entity_id, start), due)
        hour.times.append(ts_ms / 1000)
        hour.values.append(value)
        self.buffered += 1

    def _due(self, entity_id: str, start: datetime) -> Callable[[datetime], None]:
        @callback
        def run(now: datetime) -> None:
            self.hass.async_create_task(
                self.async_write(entity_id, start), "automationone replay statistics"
            )

        return run

    async def async_write(self, entity_id: str, start: datetime) -> None:
        """Recompute one hour of `entity_id` with its replayed readings and import it."""
        hour = self.pending.pop((entity_id, start), None)
        if hour is None:
            return
        if hour.cancel is not None:
            hour.cancel()
        self.buffered -= len(hour.times)
        states = await get_instance(self.hass).async_add_executor_job(
            self._states, entity_id, start
        )
        row = hour_statistics(start, states + hour.points())
        if row is None:
            return
        metadata = StatisticMetaData(
            has_sum=False,
            name=None,
            source="recorder",
            statistic_id=entity_id,
            unit_of_measurement=hour.unit,
            mean_type=StatisticMeanType.ARITHMETIC,
        )
        if (
            "unit_class" in StatisticMetaData.__annotations__
        ):  # HA 2025.11+ wants it; 2025.4 has none
            converter = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(hour.unit)
            metadata["unit_class"] = None if converter is None else converter.UNIT_CLASS  # type: ignore[typeddict-unknown-key]
        async_import_statistics(self.hass, metadata, [row])
        self.imported += len(hour.times)

    def _states(self, entity_id: str, start: datetime) -> list[Point]:
        """The entity's numeric states in the hour, and the one before it."""
        # From just before the hour: a state set exactly at its start is one of its own.
        found = history.state_changes_during_period(
            self.hass,
            start - timedelta(milliseconds=1),
            start + HOUR,
            entity_id,
            include_start_time_state=True,
        )
        return [
            (state.last_updated.timestamp(), value)
            for state in found.get(entity_id, [])
            if (value := _numeric(state.state)) is not None
        ]

    async def async_flush(self) -> None:
        """Write every waiting hour now (tests and the benchmark, after forcing a compile)."""
        for entity_id, start in list(self.pending):
            await self.async_write(entity_id, start)


@callback
def replay_statistics(hass: HomeAssistant) -> ReplayStatistics:
    """The one collector of this HA instance."""
    if (found := hass.data.get(DATA_REPLAYS)) is None:
        found = hass.data[DATA_REPLAYS] = ReplayStatistics(hass)
    return found
