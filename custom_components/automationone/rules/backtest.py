"""Replay recorded history through a rule: when would it have fired, what would it command.

The replay follows the compiled automation (compile.py) and the device trigger semantics in
docs/rules.md: sensor triggers with hysteresis fire on transitions, never on the first sample;
conditions read the last sample at or before the trigger time (no sample yet: the condition is
false, like an unavailable entity); time windows use local time; a firing needs
`rule.min_spacing_s` since the previous one (cooldown and hourly limit); triggers at the same
instant fire once (mode: single).

Threshold crossings and conditions are vectorised with numpy over all samples and all trigger
times; only the cooldown walk over the surviving trigger times is a plain loop. History before
`start` primes hysteresis and cooldown but yields no firings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Final

import numpy as np
import numpy.typing as npt

from .model import (
    Action,
    ActuatorState,
    AllOf,
    AnyOf,
    Condition,
    DeviceOfflineTrigger,
    DeviceOnline,
    DeviceRef,
    Direction,
    Ref,
    Rule,
    SensorInRange,
    SensorTrigger,
    TimeTrigger,
    TimeWindow,
    Trigger,
    effective_actions,
    minute_of_day,
)

type FloatArray = npt.NDArray[np.float64]
type BoolArray = npt.NDArray[np.bool_]
type Series = tuple[FloatArray, FloatArray]
"""Timestamps (epoch seconds) and values. Sensors: the value; actuators: > 0 is on;
devices (keyed by DeviceRef): 1 online, 0 offline. NaN values are gaps and are skipped."""
type History = Mapping[Ref | DeviceRef, Series]

DAY_S: Final = 86400.0
_EMPTY: Final[FloatArray] = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Firing:
    """One firing: when, which trigger (index into rule.triggers), the commands sent."""

    time: float
    trigger: int
    actions: tuple[Action, ...]


def _clean(series: Series) -> Series:
    t = np.asarray(series[0], dtype=np.float64)
    v = np.asarray(series[1], dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("a series needs 1-d timestamps and values of the same length")
    keep = ~np.isnan(v) & np.isfinite(t)
    t, v = t[keep], v[keep]
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _transitions(t: FloatArray, fire: BoolArray, rearm: BoolArray) -> FloatArray:
    """Times where a latch set by `fire` and reset by `rearm` goes from reset to set.

    The first sample only sets the initial state. Vectorised: each sample's latch state is
    the code of the last sample that set or reset it (a forward fill by running maximum).
    """
    n = t.size
    if n < 2:
        return _EMPTY
    code = np.full(n, -1, dtype=np.int8)
    code[rearm] = 0
    code[fire] = 1
    code[0] = 1 if fire[0] else 0
    last = np.where(code >= 0, np.arange(n), 0)
    np.maximum.accumulate(last, out=last)
    state = code[last]
    return t[np.flatnonzero((state[1:] == 1) & (state[:-1] == 0)) + 1]


def threshold_events(
    series: Series, direction: Direction, threshold: float, hysteresis: float = 0.0
) -> FloatArray:
    """Times a sensor trigger fires (see SensorTrigger for the hysteresis rule)."""
    t, v = _clean(series)
    above = _transitions(t, v > threshold, v <= threshold - hysteresis)
    below = _transitions(t, v < threshold, v >= threshold + hysteresis)
    if direction is Direction.ABOVE:
        return above
    if direction is Direction.BELOW:
        return below
    return np.sort(np.concatenate([above, below]), kind="stable")


def daily_events(at: str, origin: float, end: float, tz: tzinfo) -> FloatArray:
    """Epoch times of local `at` (HH:MM) each day in [origin, end).

    Like HA's time trigger: a time that the switch to summer time skips does not occur that
    day; a time repeated by the switch back occurs twice.
    """
    minute = minute_of_day(at)
    wall = time(minute // 60, minute % 60)
    day = datetime.fromtimestamp(origin, tz).date()
    last = datetime.fromtimestamp(end, tz).date()
    out: list[float] = []
    while day <= last:
        local = datetime.combine(day, wall, tzinfo=tz)
        ts = local.timestamp()
        # As HA's time trigger: a wall time skipped by a DST switch does not fire that day,
        # a repeated one fires at both occurrences.
        if datetime.fromtimestamp(ts, tz).time() == wall:
            repeat = local.replace(fold=1).timestamp()
            out.extend(x for x in dict.fromkeys((ts, repeat)) if origin <= x < end)
        day += timedelta(days=1)
    return np.asarray(out, dtype=np.float64)


class _Replay:
    def __init__(self, history: History, tz: tzinfo) -> None:
        self.history = {key: _clean(series) for key, series in history.items()}
        self.tz = tz
        self._seconds: FloatArray | None = None
        self._seconds_of: FloatArray | None = None

    def origin(self, start: float) -> float:
        firsts = [t[0] for t, _ in self.history.values() if t.size]
        return float(min([start, *firsts]))

    def trigger_times(self, trigger: Trigger, origin: float, end: float) -> FloatArray:
        match trigger:
            case SensorTrigger(sensor=ref, direction=d, threshold=thr, hysteresis=h):
                series = self.history.get(ref)
                return _EMPTY if series is None else threshold_events(series, d, thr, h)
            case TimeTrigger(at=at):
                return daily_events(at, origin, end, self.tz)
            case DeviceOfflineTrigger(esp_id=esp_id):
                series = self.history.get(DeviceRef(esp_id))
                return _EMPTY if series is None else threshold_events(series, Direction.BELOW, 0.5)

    def values_at(self, key: Ref | DeviceRef, times: FloatArray) -> tuple[BoolArray, FloatArray]:
        """(known, value) of the last sample at or before each time."""
        series = self.history.get(key)
        if series is None or not series[0].size:
            return np.zeros(times.shape, dtype=np.bool_), np.zeros(times.shape)
        t, v = series
        pos = np.searchsorted(t, times, side="right") - 1
        return pos >= 0, v[np.maximum(pos, 0)]

    def local_seconds(self, times: FloatArray) -> FloatArray:
        if self._seconds is None or self._seconds_of is not times:
            self._seconds_of = times
            if self.tz is UTC:
                offsets = np.zeros(times.shape)
            else:
                offsets = np.asarray(
                    [
                        (
                            datetime.fromtimestamp(x, self.tz).utcoffset() or timedelta()
                        ).total_seconds()
                        for x in map(float, times)
                    ],
                    dtype=np.float64,
                )
            self._seconds = np.mod(times + offsets, DAY_S)
        return self._seconds

    def holds(self, condition: Condition, times: FloatArray) -> BoolArray:
        match condition:
            case SensorInRange(sensor=ref, above=above, below=below):
                known, v = self.values_at(ref, times)
                if above is not None:
                    known &= v > above
                if below is not None:
                    known &= v < below
                return known
            case ActuatorState(actuator=ref, on=on):
                known, v = self.values_at(ref, times)
                return known & (v > 0 if on else v <= 0)
            case DeviceOnline(esp_id=esp_id):
                known, v = self.values_at(DeviceRef(esp_id), times)
                return known & (v >= 0.5)
            case TimeWindow(after=after, before=before):
                s = self.local_seconds(times)
                a, b = minute_of_day(after) * 60.0, minute_of_day(before) * 60.0
                inside: BoolArray = (s >= a) & (s < b) if a < b else (s >= a) | (s < b)
                return inside
            case AllOf(conditions=inner):
                return self.all(inner, times)
            case AnyOf(conditions=inner):
                out = np.zeros(times.shape, dtype=np.bool_)
                for c in inner:
                    out |= self.holds(c, times)
                return out

    def all(self, conditions: tuple[Condition, ...], times: FloatArray) -> BoolArray:
        out = np.ones(times.shape, dtype=np.bool_)
        for c in conditions:
            out &= self.holds(c, times)
        return out


def backtest(
    rule: Rule, history: History, start: float, end: float, *, tz: tzinfo = UTC
) -> list[Firing]:
    """Firings of `rule` in [start, end) over `history` (epoch seconds, local time `tz`).

    `rule.enabled` is ignored: a backtest is how a user checks a rule before enabling it.
    """
    replay = _Replay(history, tz)
    origin = replay.origin(start)
    times_parts: list[FloatArray] = []
    index_parts: list[npt.NDArray[np.int64]] = []
    for i, trigger in enumerate(rule.triggers):
        ts = replay.trigger_times(trigger, origin, end)
        ts = ts[ts < end]
        times_parts.append(ts)
        index_parts.append(np.full(ts.size, i, dtype=np.int64))
    times = np.concatenate(times_parts) if times_parts else _EMPTY
    which = np.concatenate(index_parts) if index_parts else np.empty(0, dtype=np.int64)
    order = np.lexsort((which, times))
    times, which = times[order], which[order]
    first = np.ones(times.shape, dtype=np.bool_)
    first[1:] = times[1:] != times[:-1]  # one run per instant (mode: single)
    times, which = times[first], which[first]
    passed = replay.all(rule.conditions, times)
    times, which = times[passed], which[passed]

    actions = effective_actions(rule)
    spacing = rule.min_spacing_s
    firings: list[Firing] = []
    last = -np.inf
    for t, i in zip(map(float, times), map(int, which), strict=True):
        if t - last < spacing:
            continue
        last = t
        if t >= start:
            firings.append(Firing(t, i, actions))
    return firings
