"""Parse rules from their JSON form (rule.schema.json) and write them back.

The schema file is a complete JSON Schema (draft 2020-12) for editors and other tools. The
parser reuses the protocol's schema compiler for every node type: `$defs` that are plain
objects are compiled once (local `$ref`s to plain objects are inlined), the unions
(trigger, condition, action) are dispatched here on their `type`, and what the compiler's
subset cannot express is checked explicitly: `additionalProperties: false` (a misspelt
field is an error, not silently ignored), `anyOf` of required bounds, ordered bounds, the
nesting depth of AND/OR, distinct windows and ids. Every error carries the path of the bad
field, e.g. `triggers[0].sensor.gpio`.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from pathlib import Path
from typing import Any, Final

from ..protocol.errors import ErrorCode, ProtocolError
from ..protocol.schema import Validator, compile_schema
from .model import (
    DEFAULT_NOTIFY,
    Action,
    ActuatorState,
    AllOf,
    AnyOf,
    Condition,
    DeviceOfflineTrigger,
    DeviceOnline,
    Direction,
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
    Trigger,
    TurnOff,
    TurnOn,
    TurnOnFor,
)

SCHEMA_PATH: Final = Path(__file__).parent / "rule.schema.json"
MAX_DEPTH: Final = 4
"""AND/OR groups nest at most this deep (the top-level condition list is depth 1)."""
MAX_RULES: Final = 1000

# Keywords the walker checks itself; they are removed before compiling.
_WALKER_KEYWORDS: Final = frozenset({"additionalProperties", "anyOf", "default"})


class RuleError(ProtocolError):
    """A rule that breaks rule.schema.json or a rule the schema cannot express."""


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _ref_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix("#/$defs/") if isinstance(ref, str) else None


class _Schemas:
    """The compiled node validators of rule.schema.json and its union dispatch tables."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.defs: dict[str, dict[str, Any]] = document["$defs"]
        self.unions: dict[str, dict[str, str]] = {}
        for name, schema in self.defs.items():
            alternatives = [_ref_name(alt) for alt in schema.get("oneOf", ())]
            if alternatives and all(alternatives):
                self.unions[name] = {
                    self.defs[alt]["properties"]["type"]["const"]: alt
                    for alt in alternatives
                    if alt is not None
                }
        self.validators: dict[str, Validator] = {
            name: compile_schema(self._inline(schema))
            for name, schema in self.defs.items()
            if name not in self.unions
        }

    def _inline(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The schema in the compiler's subset: plain refs inlined, unions accept anything."""
        name = _ref_name(schema)
        if name is not None:
            return {} if name in self.unions else self._inline(self.defs[name])
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _WALKER_KEYWORDS:
                continue
            if key == "properties":
                out[key] = {k: self._inline(v) for k, v in value.items()}
            elif key == "items":
                out[key] = self._inline(value)
            else:
                out[key] = value
        return out

    def _closed(self, schema: Mapping[str, Any], value: Any, path: str) -> None:
        """Enforce additionalProperties: false and anyOf-of-required below a plain node."""
        name = _ref_name(schema)
        if name is not None:
            if name not in self.unions:  # unions are checked when they are dispatched
                self._closed(self.defs[name], value, path)
            return
        props: Mapping[str, Any] = schema.get("properties", {})
        if isinstance(value, dict):
            if schema.get("additionalProperties") is False:
                for key in value:
                    if key not in props:
                        raise RuleError(ErrorCode.BAD_VALUE, _join(path, key), "unknown field")
            any_of = [tuple(alt["required"]) for alt in schema.get("anyOf", ())]
            if any_of and not any(all(k in value for k in keys) for keys in any_of):
                names = "|".join(k for keys in any_of for k in keys)
                raise RuleError(ErrorCode.MISSING_FIELD, _join(path, names), "at least one")
            for key, sub in props.items():
                if key in value:
                    self._closed(sub, value[key], _join(path, key))
        elif isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self._closed(schema["items"], item, _join(path, i))

    def validate(self, name: str, value: Any, path: str) -> dict[str, Any]:
        """Validate `value` against the plain node `name`; errors carry the path."""
        validate = self.validators[name]
        try:
            out: dict[str, Any] = validate(value, None)
        except ProtocolError:
            try:
                validate(value, path)
            except ProtocolError as err:
                raise RuleError(err.code, err.path, err.detail) from None
            raise  # pragma: no cover - both passes see the same value
        self._closed(self.defs[name], value, path)
        return out

    def dispatch(self, union: str, value: Any, path: str) -> tuple[str, dict[str, Any]]:
        """Pick the alternative of `union` named by value['type'] and validate it."""
        if type(value) is not dict:
            raise RuleError(ErrorCode.WRONG_TYPE, path, "object")
        table = self.unions[union]
        kind = value.get("type")
        if kind is None:
            raise RuleError(ErrorCode.MISSING_FIELD, _join(path, "type"), "required")
        if not isinstance(kind, str) or kind not in table:
            raise RuleError(
                ErrorCode.BAD_VALUE, _join(path, "type"), f"must be one of {sorted(table)}"
            )
        name = table[kind]
        return name, self.validate(name, value, path)


def load_rule_schema() -> dict[str, Any]:
    """The JSON Schema of one rule."""
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


_SCHEMAS: Final = _Schemas(load_rule_schema())


# --- dict -> model ----------------------------------------------------------------------


def _ref(d: Mapping[str, Any]) -> Ref:
    if "entity_id" in d:
        return EntityRef(d["entity_id"])
    return PinRef(d["esp_id"], d["gpio"], d.get("addr"))


def _trigger(value: Any, path: str) -> Trigger:
    name, d = _SCHEMAS.dispatch("trigger", value, path)
    if name == "trigger_sensor":
        return SensorTrigger(
            _ref(d["sensor"]),
            Direction(d["direction"]),
            float(d["threshold"]),
            float(d.get("hysteresis", 0.0)),
        )
    if name == "trigger_time":
        return TimeTrigger(d["at"])
    return DeviceOfflineTrigger(d["esp_id"])


def _conditions(values: list[Any], path: str, depth: int) -> tuple[Condition, ...]:
    if depth > MAX_DEPTH:
        raise RuleError(ErrorCode.OUT_OF_RANGE, path, f"and/or nest at most {MAX_DEPTH} deep")
    return tuple(_condition(v, _join(path, i), depth) for i, v in enumerate(values))


def _condition(value: Any, path: str, depth: int) -> Condition:
    name, d = _SCHEMAS.dispatch("condition", value, path)
    if name == "condition_sensor_in_range":
        above = d.get("above")
        below = d.get("below")
        if above is not None and below is not None and above >= below:
            raise RuleError(ErrorCode.BAD_VALUE, _join(path, "below"), "must be > above")
        return SensorInRange(
            _ref(d["sensor"]),
            None if above is None else float(above),
            None if below is None else float(below),
        )
    if name == "condition_actuator_state":
        return ActuatorState(_ref(d["actuator"]), d["state"] == "on")
    if name == "condition_device_online":
        return DeviceOnline(d["esp_id"])
    if name == "condition_time_window":
        if d["after"] == d["before"]:
            raise RuleError(ErrorCode.BAD_VALUE, _join(path, "before"), "must differ from after")
        return TimeWindow(d["after"], d["before"])
    inner = _conditions(d["conditions"], _join(path, "conditions"), depth + 1)
    return AllOf(inner) if name == "condition_and" else AnyOf(inner)


def _action(value: Any, path: str) -> Action:
    name, d = _SCHEMAS.dispatch("action", value, path)
    if name == "action_notify":
        return Notify(d["message"], d.get("title"), d.get("service", DEFAULT_NOTIFY))
    ref = _ref(d["actuator"])
    if name == "action_on":
        return TurnOn(ref)
    if name == "action_on_for":
        return TurnOnFor(ref, float(d["duration_s"]))
    if name == "action_pwm":
        duration = d.get("duration_s")
        return SetPwm(ref, d["value"], None if duration is None else float(duration))
    if name == "action_pulse":
        return Pulse(ref, float(d["duration_s"]))
    return TurnOff(ref)


def _parse_rule(data: Any, path: str) -> Rule:
    d = _SCHEMAS.validate("rule", data, path)
    limit = d.get("max_activations_per_hour")
    runtime = d.get("max_runtime_s")
    return Rule(
        id=d["id"],
        name=d["name"],
        triggers=tuple(
            _trigger(v, _join(_join(path, "triggers"), i)) for i, v in enumerate(d["triggers"])
        ),
        actions=tuple(
            _action(v, _join(_join(path, "actions"), i)) for i, v in enumerate(d["actions"])
        ),
        conditions=_conditions(d.get("conditions", []), _join(path, "conditions"), 1),
        enabled=d.get("enabled", True),
        priority=d.get("priority", 0),
        cooldown_s=float(d.get("cooldown_s", 0.0)),
        max_runtime_s=None if runtime is None else float(runtime),
        max_activations_per_hour=limit,
    )


def parse_rule(data: Any) -> Rule:
    """Parse one rule (decoded JSON); raises RuleError with the path of the bad field."""
    return _parse_rule(data, "")


def parse_rules(data: Any) -> tuple[Rule, ...]:
    """Parse a list of rules with distinct ids; paths start with the index, e.g. `[2].id`."""
    if type(data) is not list:
        raise RuleError(ErrorCode.WRONG_TYPE, "", "array of rules")
    if len(data) > MAX_RULES:
        raise RuleError(ErrorCode.OUT_OF_RANGE, "", f"at most {MAX_RULES} rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        rule = _parse_rule(item, f"[{i}]")
        if rule.id in seen:
            raise RuleError(ErrorCode.BAD_VALUE, f"[{i}].id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


# --- model -> dict ----------------------------------------------------------------------


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _ref_dict(ref: Ref) -> dict[str, Any]:
    if isinstance(ref, EntityRef):
        return {"entity_id": ref.entity_id}
    out: dict[str, Any] = {"esp_id": ref.esp_id, "gpio": ref.gpio}
    if ref.addr is not None:
        out["addr"] = ref.addr
    return out


def _trigger_dict(trigger: Trigger) -> dict[str, Any]:
    match trigger:
        case SensorTrigger():
            return {
                "type": "sensor",
                "sensor": _ref_dict(trigger.sensor),
                "direction": trigger.direction.value,
                "threshold": _number(trigger.threshold),
                "hysteresis": _number(trigger.hysteresis),
            }
        case TimeTrigger():
            return {"type": "time", "at": trigger.at}
        case DeviceOfflineTrigger():
            return {"type": "device_offline", "esp_id": trigger.esp_id}


def _condition_dict(condition: Condition) -> dict[str, Any]:
    match condition:
        case SensorInRange():
            out: dict[str, Any] = {"type": "sensor_in_range", "sensor": _ref_dict(condition.sensor)}
            if condition.above is not None:
                out["above"] = _number(condition.above)
            if condition.below is not None:
                out["below"] = _number(condition.below)
            return out
        case ActuatorState():
            return {
                "type": "actuator_state",
                "actuator": _ref_dict(condition.actuator),
                "state": "on" if condition.on else "off",
            }
        case DeviceOnline():
            return {"type": "device_online", "esp_id": condition.esp_id}
        case TimeWindow():
            return {"type": "time_window", "after": condition.after, "before": condition.before}
        case AllOf():
            return {"type": "and", "conditions": [_condition_dict(c) for c in condition.conditions]}
        case AnyOf():
            return {"type": "or", "conditions": [_condition_dict(c) for c in condition.conditions]}


def _action_dict(action: Action) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(action, Notify):
        out = {"type": "notify", "message": action.message}
        if action.title is not None:
            out["title"] = action.title
        if action.service != DEFAULT_NOTIFY:
            out["service"] = action.service
        return out
    match action:
        case TurnOn():
            out = {"type": "on"}
        case TurnOnFor():
            out = {"type": "on_for", "duration_s": _number(action.duration_s)}
        case SetPwm():
            out = {"type": "pwm", "value": action.value}
            if action.duration_s is not None:
                out["duration_s"] = _number(action.duration_s)
        case Pulse():
            out = {"type": "pulse", "duration_s": _number(action.duration_s)}
        case TurnOff():
            out = {"type": "off"}
    return {"type": out.pop("type"), "actuator": _ref_dict(action.actuator), **out}


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The JSON form of a rule; parse_rule(rule_to_dict(r)) == r."""
    out: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "enabled": rule.enabled,
        "priority": rule.priority,
        "triggers": [_trigger_dict(t) for t in rule.triggers],
        "conditions": [_condition_dict(c) for c in rule.conditions],
        "actions": [_action_dict(a) for a in rule.actions],
        "cooldown_s": _number(rule.cooldown_s),
    }
    if rule.max_runtime_s is not None:
        out["max_runtime_s"] = _number(rule.max_runtime_s)
    if rule.max_activations_per_hour is not None:
        out["max_activations_per_hour"] = rule.max_activations_per_hour
    return out
