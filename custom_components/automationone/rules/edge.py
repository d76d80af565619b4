"""Edge rules: a relay's own rules, evaluated live on the relay while Home Assistant is away.

The same semantics as the compiled automations (docs/rules.md): sensor triggers with the
hysteresis latch of `live.ThresholdWatch` (the device trigger's), time and device-offline
triggers, the AND/OR conditions, `min_spacing_s` (cooldown and hourly limit) from the rule's
last firing, priority lockouts on shared actuators (`hold_s`), and the max runtime applied
to every command (`effective_actions`). The engine follows every value whether or not it is
active, so its latches are primed when it takes over and it never fires for a value it saw
before (docs/kaiser.md, "Edge rules"). Which rules may run on a relay: `edge_scope`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from ..protocol.topics import DEFAULT_KAISER_ID
from .compile import hold_s
from .live import ThresholdWatch
from .model import (
    Action,
    ActuatorState,
    AllOf,
    AnyOf,
    Condition,
    DeviceOfflineTrigger,
    DeviceOnline,
    EntityRef,
    Notify,
    PinRef,
    Pulse,
    Ref,
    Rule,
    SensorInRange,
    SensorTrigger,
    SetPwm,
    TimeTrigger,
    TimeWindow,
    TurnOff,
    TurnOn,
    TurnOnFor,
    effective_actions,
    minute_of_day,
)

SOURCE: Final = "kaiser"


@dataclass(frozen=True, slots=True)
class EdgeCommand:
    """An actuator command an edge rule sends: protocol `actuator_command` fields."""

    rule_id: str
    esp_id: str
    gpio: int
    action: str
    value: int | None = None
    duration_s: float | None = None


def _refs_of_condition(condition: Condition) -> Iterable[Ref | str]:
    match condition:
        case SensorInRange(sensor=ref):
            yield ref
        case ActuatorState(actuator=ref):
            yield ref
        case DeviceOnline(esp_id=esp_id):
            yield esp_id
        case AllOf(conditions=inner) | AnyOf(conditions=inner):
            for c in inner:
                yield from _refs_of_condition(c)


def rule_references(rule: Rule) -> list[Ref | str]:
    """Every sensor, actuator and device (esp id) a rule reads or commands."""
    refs: list[Ref | str] = []
    for trigger in rule.triggers:
        match trigger:
            case SensorTrigger(sensor=ref):
                refs.append(ref)
            case DeviceOfflineTrigger(esp_id=esp_id):
                refs.append(esp_id)
    for condition in rule.conditions:
        refs.extend(_refs_of_condition(condition))
    refs.extend(a.actuator for a in rule.actions if not isinstance(a, Notify))
    return refs


def edge_scope(
    rule: Rule,
    kaiser_of: Callable[[str], str | None],
    sensor_problem: Callable[[PinRef], str | None],
) -> tuple[str | None, str | None]:
    """(kaiser id, None) when the rule can run on that relay alone, else (None, why not).

    Why not: `notify` (a notification needs HA), `entity` (an HA entity), `unknown_device`,
    `main_broker` (a device on the main broker), `several_relays`, or what
    `sensor_problem(ref)` says of a sensor the relay cannot compute the way HA does.
    """
    if any(isinstance(a, Notify) for a in rule.actions):
        return None, "notify"
    kaisers: set[str] = set()
    sensors = {t.sensor for t in rule.triggers if isinstance(t, SensorTrigger)}
    sensors.update(ref for c in rule.conditions for ref in _condition_sensors(c))
    for ref in rule_references(rule):
        if isinstance(ref, EntityRef):
            return None, "entity"
        esp_id = ref if isinstance(ref, str) else ref.esp_id
        kaiser = kaiser_of(esp_id)
        if kaiser is None:
            return None, "unknown_device"
        kaisers.add(kaiser)
    if DEFAULT_KAISER_ID in kaisers:
        return None, "main_broker"
    if len(kaisers) > 1:
        return None, "several_relays"
    if not kaisers:
        return None, "time_only"
    (kaiser,) = kaisers
    for ref in sensors:
        if isinstance(ref, PinRef) and (problem := sensor_problem(ref)) is not None:
            return None, problem
    return kaiser, None


def _condition_sensors(condition: Condition) -> Iterable[Ref]:
    match condition:
        case SensorInRange(sensor=ref):
            yield ref
        case AllOf(conditions=inner) | AnyOf(conditions=inner):
            for c in inner:
                yield from _condition_sensors(c)


def _command(rule_id: str, action: Action) -> EdgeCommand | None:
    match action:
        case TurnOn(actuator=PinRef(esp_id=e, gpio=g)):
            return EdgeCommand(rule_id, e, g, "on")
        case TurnOnFor(actuator=PinRef(esp_id=e, gpio=g), duration_s=d):
            return EdgeCommand(rule_id, e, g, "on", duration_s=d)
        case SetPwm(actuator=PinRef(esp_id=e, gpio=g), value=v, duration_s=d):
            return EdgeCommand(rule_id, e, g, "set", value=v, duration_s=d)
        case Pulse(actuator=PinRef(esp_id=e, gpio=g), duration_s=d):
            return EdgeCommand(rule_id, e, g, "pulse", duration_s=d)
        case TurnOff(actuator=PinRef(esp_id=e, gpio=g)):
            return EdgeCommand(rule_id, e, g, "off")
    return None


def _actuators(rule: Rule) -> frozenset[tuple[str, int]]:
    return frozenset(
        (a.actuator.esp_id, a.actuator.gpio)
        for a in rule.actions
        if not isinstance(a, Notify) and isinstance(a.actuator, PinRef)
    )


@dataclass(slots=True)
class EdgeEngine:
    """Live evaluation of one relay's rules. Feed it values and states; it returns commands
    only while `active` (HA unreachable); `fired` holds each rule's last firing (Unix ms)."""

    rules: tuple[Rule, ...]
    active: bool = False
    fired: dict[str, int] = field(default_factory=dict)
    values: dict[PinRef, float | None] = field(default_factory=dict)
    actuator_on: dict[tuple[str, int], bool] = field(default_factory=dict)
    online: dict[str, bool] = field(default_factory=dict)
    _watches: dict[PinRef, list[tuple[Rule, ThresholdWatch]]] = field(default_factory=dict)
    _actuators: dict[str, frozenset[tuple[str, int]]] = field(default_factory=dict)
    _hold_ms: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in self.rules:
            self._actuators[rule.id] = _actuators(rule)
            self._hold_ms[rule.id] = hold_s(rule) * 1000
            for trigger in rule.triggers:
                if isinstance(trigger, SensorTrigger) and isinstance(trigger.sensor, PinRef):
                    watch = ThresholdWatch(trigger.direction, trigger.threshold, trigger.hysteresis)
                    self._watches.setdefault(trigger.sensor, []).append((rule, watch))

    @property
    def sensors(self) -> frozenset[PinRef]:
        """The sensors whose values the rules read (triggers and conditions)."""
        refs = set(self._watches)
        for rule in self.rules:
            for condition in rule.conditions:
                refs.update(r for r in _condition_sensors(condition) if isinstance(r, PinRef))
        return frozenset(refs)

    def merge_fired(self, other: Mapping[str, int]) -> None:
        """Take the later firing of each rule (HA's, or the relay's own from before)."""
        for rule_id, ts in other.items():
            if ts > self.fired.get(rule_id, -1):
                self.fired[rule_id] = ts

    def prime(self, values: Mapping[PinRef, float | None]) -> None:
        """Arm the triggers with values seen before (new rules start from the last value)."""
        for ref, value in values.items():
            self.values[ref] = value
            for _, watch in self._watches.get(ref, ()):
                watch.update(value)

    def reset_triggers(self) -> None:
        """Forget the latches: the next value of each sensor primes its trigger."""
        for watches in self._watches.values():
            for _, watch in watches:
                watch.reset()

    def on_value(
        self, ref: PinRef, value: float | None, now_ms: int, minute: int
    ) -> list[EdgeCommand]:
        """A new value of a sensor (None: a gap). `minute`: the local minute of the day."""
        self.values[ref] = value
        due = [rule for rule, watch in self._watches.get(ref, ()) if watch.update(value)]
        return self._fire(due, now_ms, minute)

    def on_actuator(self, esp_id: str, gpio: int, on: bool) -> None:
        """The actuator's reported state."""
        self.actuator_on[(esp_id, gpio)] = on

    def on_device(self, esp_id: str, online: bool, now_ms: int, minute: int) -> list[EdgeCommand]:
        """A device's status changed."""
        was = self.online.get(esp_id)
        self.online[esp_id] = online
        if online or was is not True:
            return []
        due = [
            rule
            for rule in self.rules
            if any(
                isinstance(t, DeviceOfflineTrigger) and t.esp_id == esp_id for t in rule.triggers
            )
        ]
        return self._fire(due, now_ms, minute)

    def on_minute(self, now_ms: int, minute: int) -> list[EdgeCommand]:
        """A new local minute of the day: time triggers at that minute."""
        due = [
            rule
            for rule in self.rules
            if any(
                isinstance(t, TimeTrigger) and minute_of_day(t.at) == minute for t in rule.triggers
            )
        ]
        return self._fire(due, now_ms, minute)

    def _fire(self, due: list[Rule], now_ms: int, minute: int) -> list[EdgeCommand]:
        if not due or not self.active:
            return []
        commands: list[EdgeCommand] = []
        passed: list[Rule] = []
        for rule in sorted(due, key=lambda r: -r.priority):
            if not rule.enabled or not self._conditions(rule.conditions, minute):
                continue
            last = self.fired.get(rule.id)
            if last is not None and now_ms - last < rule.min_spacing_s * 1000:
                continue
            if self._locked(rule, now_ms, passed):
                continue
            self.fired[rule.id] = now_ms
            passed.append(rule)
            commands.extend(
                command
                for action in effective_actions(rule)
                if (command := _command(rule.id, action)) is not None
            )
        return commands

    def _locked(self, rule: Rule, now_ms: int, passed: list[Rule]) -> bool:
        """A higher-priority rule on a shared actuator fired now or still holds it."""
        mine = self._actuators[rule.id]
        for other in self.rules:
            if other.priority <= rule.priority or not (self._actuators[other.id] & mine):
                continue
            if other in passed:
                return True
            last = self.fired.get(other.id)
            if last is not None and now_ms - last < self._hold_ms[other.id]:
                return True
        return False

    def _conditions(self, conditions: Iterable[Condition], minute: int) -> bool:
        return all(self._holds(c, minute) for c in conditions)

    def _holds(self, condition: Condition, minute: int) -> bool:
        match condition:
            case SensorInRange(sensor=ref, above=above, below=below):
                value = self.values.get(ref) if isinstance(ref, PinRef) else None
                return (
                    value is not None
                    and (above is None or value > above)
                    and (below is None or value < below)
                )
            case ActuatorState(actuator=PinRef(esp_id=e, gpio=g), on=on):
                state = self.actuator_on.get((e, g))
                return state is not None and state == on
            case DeviceOnline(esp_id=esp_id):
                return self.online.get(esp_id) is True
            case TimeWindow(after=after, before=before):
                start, end = minute_of_day(after), minute_of_day(before)
                if start <= end:
                    return start <= minute < end
                return minute >= start or minute < end
            case AllOf(conditions=inner):
                return self._conditions(inner, minute)
            case AnyOf(conditions=inner):
                return any(self._holds(c, minute) for c in inner)
        return False


def _map_condition(condition: Condition, fn: Callable[[Ref], Ref]) -> Condition:
    match condition:
        case SensorInRange(sensor=ref):
            return replace(condition, sensor=fn(ref))
        case ActuatorState(actuator=ref):
            return replace(condition, actuator=fn(ref))
        case AllOf(conditions=inner):
            return AllOf(tuple(_map_condition(c, fn) for c in inner))
        case AnyOf(conditions=inner):
            return AnyOf(tuple(_map_condition(c, fn) for c in inner))
    return condition


def map_refs(rule: Rule, fn: Callable[[Ref], Ref]) -> Rule:
    """The rule with every sensor and actuator reference replaced by `fn(ref)` (HA turns the
    entity ids of an automation read back into the pins a relay knows)."""
    triggers = tuple(
        replace(t, sensor=fn(t.sensor)) if isinstance(t, SensorTrigger) else t
        for t in rule.triggers
    )
    actions = tuple(
        a if isinstance(a, Notify) else replace(a, actuator=fn(a.actuator)) for a in rule.actions
    )
    conditions = tuple(_map_condition(c, fn) for c in rule.conditions)
    return replace(rule, triggers=triggers, conditions=conditions, actions=actions)
