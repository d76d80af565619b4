"""The seed's rule format (cross_esp_logic) as frozen dataclasses.

A rule is what the seed's logic engine evaluated: triggers, AND/OR conditions with time
windows, actuator actions and the rule's own limits (cooldown, max runtime, activations per
hour, priority). `rule.schema.json` beside this file is the JSON form; `parse.py` turns it into
these classes and back. Nothing here knows Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

RATE_WINDOW_S: Final = 3600.0
AUTOMATION_ID_PREFIX: Final = "automationone_rule_"


@dataclass(frozen=True, slots=True)
class PinRef:
    """A sensor or actuator of an ESP: its GPIO, plus the bus address of a bus sensor."""

    esp_id: str
    gpio: int
    addr: str | None = None


@dataclass(frozen=True, slots=True)
class EntityRef:
    """Any Home Assistant entity (ours or another integration's)."""

    entity_id: str


type Ref = PinRef | EntityRef


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """An ESP as a whole (online/offline); a key of backtest history."""

    esp_id: str


class Direction(StrEnum):
    """When a sensor trigger fires."""

    ABOVE = "above"
    BELOW = "below"
    CROSSED = "crossed"


# --- triggers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorTrigger:
    """Fires when the value passes `threshold` (above: > T, below: < T, crossed: either).

    After firing `above` re-arms once the value is <= T - hysteresis, `below` once it is
    >= T + hysteresis; `crossed` is both, each with its own arming.
    """

    sensor: Ref
    direction: Direction
    threshold: float
    hysteresis: float = 0.0


@dataclass(frozen=True, slots=True)
class TimeTrigger:
    """Fires every day at `at` (HH:MM, local time)."""

    at: str


@dataclass(frozen=True, slots=True)
class DeviceOfflineTrigger:
    """Fires when the ESP goes offline."""

    esp_id: str


type Trigger = SensorTrigger | TimeTrigger | DeviceOfflineTrigger


# --- conditions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorInRange:
    """above < value < below (exclusive, like HA's numeric_state); at least one bound."""

    sensor: Ref
    above: float | None = None
    below: float | None = None


@dataclass(frozen=True, slots=True)
class ActuatorState:
    """The actuator is on (`on` True) or off."""

    actuator: Ref
    on: bool


@dataclass(frozen=True, slots=True)
class DeviceOnline:
    """The ESP is online."""

    esp_id: str


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """after <= local time < before (HH:MM); after > before is a window over midnight."""

    after: str
    before: str


@dataclass(frozen=True, slots=True)
class AllOf:
    """AND of the conditions."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """OR of the conditions."""

    conditions: tuple[Condition, ...]


type Condition = SensorInRange | ActuatorState | DeviceOnline | TimeWindow | AllOf | AnyOf


# --- actions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnOn:
    """Switch the actuator on (until something switches it off or max runtime stops it)."""

    actuator: Ref


@dataclass(frozen=True, slots=True)
class TurnOnFor:
    """Switch the actuator on; the device switches it off after `duration_s`."""

    actuator: Ref
    duration_s: float


@dataclass(frozen=True, slots=True)
class SetPwm:
    """Set a PWM actuator to `value` (0-255, 0 is off), for `duration_s` if given."""

    actuator: Ref
    value: int
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Pulse:
    """One pulse of `duration_s` (a dosing pump's shot)."""

    actuator: Ref
    duration_s: float


@dataclass(frozen=True, slots=True)
class TurnOff:
    """Switch the actuator off."""

    actuator: Ref


DEFAULT_NOTIFY: Final = "notify.notify"


@dataclass(frozen=True, slots=True)
class Notify:
    """Send a notification through HA's notify action `service`. The message may name the
    triggering values: `{value}` (the state that triggered), `{sensor}` (its name), `{rule}`."""

    message: str
    title: str | None = None
    service: str = DEFAULT_NOTIFY


type ActuatorAction = TurnOn | TurnOnFor | SetPwm | Pulse | TurnOff
type Action = ActuatorAction | Notify


# --- the rule ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. `conditions` must all hold (AND); `AnyOf` nests alternatives."""

    id: str
    name: str
    triggers: tuple[Trigger, ...]
    actions: tuple[Action, ...]
    conditions: tuple[Condition, ...] = ()
    enabled: bool = True
    priority: int = 0
    cooldown_s: float = 0.0
    max_runtime_s: float | None = None
    max_activations_per_hour: int | None = None

    @property
    def automation_id(self) -> str:
        """The id of the compiled automation: stable, derived from the rule id only."""
        return AUTOMATION_ID_PREFIX + self.id

    @property
    def min_spacing_s(self) -> float:
        """Minimum seconds between two firings: cooldown and the hourly limit as a spacing.

        A spacing of 3600/N allows at most N firings in any hour window (half-open), so the
        compiled automation needs only its own last_triggered, no counter (docs/rules.md).
        """
        spacing = self.cooldown_s
        if self.max_activations_per_hour is not None:
            spacing = max(spacing, RATE_WINDOW_S / self.max_activations_per_hour)
        return spacing


def effective_actions(rule: Rule) -> tuple[Action, ...]:
    """The commands the rule sends, with its max runtime applied.

    With `max_runtime_s`, `on` becomes `on_for` max runtime, a PWM value above 0 gets max
    runtime as its duration and longer durations are capped, so the device itself stops the
    actuator even when HA is gone.
    """
    limit = rule.max_runtime_s
    if limit is None:
        return rule.actions
    out: list[Action] = []
    for action in rule.actions:
        match action:
            case TurnOn(actuator=ref):
                out.append(TurnOnFor(ref, limit))
            case TurnOnFor(actuator=ref, duration_s=d) if d > limit:
                out.append(TurnOnFor(ref, limit))
            case Pulse(actuator=ref, duration_s=d) if d > limit:
                out.append(Pulse(ref, limit))
            case SetPwm(actuator=ref, value=v, duration_s=d) if v > 0 and (d is None or d > limit):
                out.append(SetPwm(ref, v, limit))
            case _:
                out.append(action)
    return tuple(out)


def minute_of_day(hh_mm: str) -> int:
    """'08:30' -> 510."""
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)
