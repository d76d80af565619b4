"""From recorded states to backtest history: which references a rule reads, and their series.

The HA side looks each reference up (`references`), loads the recorder's states of its entity
and turns them into a `Series` with `series_from_states`; `backtest` takes it from there.
Pure: states arrive as (epoch seconds, state string) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
import math
from typing import Any, Final

import numpy as np

from .backtest import Series
from .model import (
    Action,
    ActuatorState,
    AllOf,
    AnyOf,
    Condition,
    DeviceOfflineTrigger,
    DeviceOnline,
    DeviceRef,
    EntityRef,
    Ref,
    Rule,
    SensorInRange,
    SensorTrigger,
    TimeTrigger,
    TimeWindow,
)
from .parse import rule_to_dict

ON: Final = "on"
OFF: Final = "off"


def state_value(state: str) -> float:
    """The number a recorded state stands for in a backtest; NaN (a gap) if none.

    Numbers are values (sensors); `on` is 1 and `off` 0 (switches, lights, the device's
    connectivity sensor: > 0 is on / online); `unavailable`, `unknown`, other words and
    non-finite numbers are gaps. One mapping serves every reference: a numeric sensor is
    never `on` and a switch never a number.
    """
    if state == ON:
        return 1.0
    if state == OFF:
        return 0.0
    try:
        value = float(state)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def series_from_states(states: Iterable[tuple[float, str]]) -> Series:
    """(timestamps, values) of recorded (epoch seconds, state) pairs, in the given order."""
    pairs = list(states)
    t = np.fromiter((p[0] for p in pairs), dtype=np.float64, count=len(pairs))
    v = np.fromiter((state_value(p[1]) for p in pairs), dtype=np.float64, count=len(pairs))
    return t, v


def _condition_refs(
    condition: Condition, path: str, out: dict[Ref | DeviceRef, str]
) -> dict[Ref | DeviceRef, str]:
    match condition:
        case SensorInRange(sensor=ref):
            out.setdefault(ref, f"{path}.sensor")
        case ActuatorState(actuator=ref):
            out.setdefault(ref, f"{path}.actuator")
        case DeviceOnline(esp_id=esp_id):
            out.setdefault(DeviceRef(esp_id), f"{path}.esp_id")
        case TimeWindow():
            pass
        case AllOf(conditions=inner) | AnyOf(conditions=inner):
            for i, c in enumerate(inner):
                _condition_refs(c, f"{path}.conditions[{i}]", out)
    return out


def references(rule: Rule) -> dict[Ref | DeviceRef, str]:
    """Every history key the rule reads, with the path of its first use in the rule.

    Sensors of triggers and conditions, actuators of conditions, and `DeviceRef(esp_id)` for
    device offline / device online. Actuators the rule only commands need no history.
    """
    out: dict[Ref | DeviceRef, str] = {}
    for i, trigger in enumerate(rule.triggers):
        match trigger:
            case SensorTrigger(sensor=ref):
                out.setdefault(ref, f"triggers[{i}].sensor")
            case DeviceOfflineTrigger(esp_id=esp_id):
                out.setdefault(DeviceRef(esp_id), f"triggers[{i}].esp_id")
            case TimeTrigger():
                pass
    for i, condition in enumerate(rule.conditions):
        _condition_refs(condition, f"conditions[{i}]", out)
    return out


def ref_key(ref: Ref | DeviceRef) -> str:
    """A short text key of a reference: `esp1/34`, `esp2/4/28ff...`, `sensor.x`, `esp1`."""
    if isinstance(ref, EntityRef):
        return ref.entity_id
    if isinstance(ref, DeviceRef):
        return ref.esp_id
    addr = f"/{ref.addr}" if ref.addr else ""
    return f"{ref.esp_id}/{ref.gpio}{addr}"


def action_dict(action: Action, actuator: str | None) -> dict[str, Any]:
    """The JSON form of an action (as in the rule format) with the actuator as a text (None:
    a notification, which has none)."""
    probe = Rule(id="x", name="x", triggers=(), actions=(action,))
    out: dict[str, Any] = rule_to_dict(probe)["actions"][0]
    if actuator is not None:
        out["actuator"] = actuator
    return out
