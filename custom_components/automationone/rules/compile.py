"""Compile rules into Home Assistant automation configs (plain dicts, as automations.yaml).

Only native HA constructs and this integration's device triggers, conditions and actions are
emitted, so a compiled rule opens and saves in the automation editor like a hand-built one.
HA is reached through a `Resolver` the integration implements (pin or entity -> our device and
entity ids), which keeps this module pure. Templates are emitted only for cooldown, hourly
limit and priority; they contain numbers and automation ids from the validated rule, never a
string a device sent. docs/rules.md explains every mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ..protocol.errors import ErrorCode
from . import vocabulary as vocab
from .model import (
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
    effective_actions,
)
from .parse import RuleError
from .vocabulary import DOMAIN

MIN_HOLD_S: Final = 1.0
"""A higher-priority rule holds its actuators at least this long after it fired."""
PRIORITY_SETTLE: Final = {"delay": {"milliseconds": 1}}
"""First action of a rule that a higher-priority rule can lock out: one turn of HA's event
loop, so every automation the same state change triggered has passed its conditions (and set
its `last_triggered`) before the lockout is checked again; docs/rules.md."""

COOLDOWN_TEMPLATE: Final = (
    "{{{{ this.attributes.last_triggered is none or "
    "(now() - this.attributes.last_triggered).total_seconds() >= {spacing} }}}}"
)
LOCKOUT_TEMPLATE: Final = (
    "{{% set hold = {{{holds}}} %}}{{% set ns = namespace(free=true) %}}"
    "{{% for a in states.automation if a.attributes.get('id') in hold"
    " and a.attributes.get('last_triggered') is not none"
    " and (now() - a.attributes.last_triggered).total_seconds() < hold[a.attributes.id] %}}"
    "{{% set ns.free = false %}}{{% endfor %}}{{{{ ns.free }}}}"
)


NOTIFY_PLACEHOLDERS: Final = {
    "{value}": "{{ trigger.to_state.state if trigger.to_state is defined else '' }}",
    "{sensor}": "{{ trigger.to_state.name if trigger.to_state is defined else '' }}",
    "{rule}": "{{ this.attributes.friendly_name }}",
}
"""A notify message's placeholders and the template each becomes: the triggering state, the
name of its entity, the automation's own name (the rule's name). The rest of the message has
no braces (rule.schema.json), so nothing but these is ever a template."""


def notify_template(message: str) -> str:
    """The notify message of a rule as HA's template text."""
    for placeholder, template in NOTIFY_PLACEHOLDERS.items():
        message = message.replace(placeholder, template)
    return message


@dataclass(frozen=True, slots=True)
class Target:
    """An entity of one of our devices, as the device automations address it."""

    device_id: str
    entity_id: str
    domain: str
    """The entity's domain (sensor, switch, light): plain on/off use HA's own actions of it."""


class Resolver(Protocol):
    """What the compiler needs from Home Assistant's registries."""

    def entity(self, ref: Ref) -> Target | None:
        """Our device and entity for a sensor or actuator; None if unknown or not ours."""

    def device(self, esp_id: str) -> str | None:
        """The device id of an ESP; None if unknown."""


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _time(hh_mm: str) -> str:
    return f"{hh_mm}:00"


def _duration(seconds: float) -> dict[str, int]:
    millis = round(seconds * 1000)
    whole, ms = divmod(millis, 1000)
    out = {"hours": whole // 3600, "minutes": whole % 3600 // 60, "seconds": whole % 60}
    if ms:
        out["milliseconds"] = ms
    return out


def _describe(ref: Ref) -> str:
    if isinstance(ref, EntityRef):
        return ref.entity_id
    addr = f" addr {ref.addr}" if ref.addr else ""
    return f"{ref.esp_id} gpio {ref.gpio}{addr}"


class _Compiler:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def ours(self, ref: Ref, path: str, what: str) -> Target | str:
        """Resolve a reference: our target, or the entity id of another integration's entity."""
        target = self.resolver.entity(ref)
        if target is not None:
            return target
        if isinstance(ref, PinRef):
            raise RuleError(ErrorCode.BAD_VALUE, path, f"unknown {what} {_describe(ref)}")
        return ref.entity_id

    def device(self, esp_id: str, path: str) -> str:
        device_id = self.resolver.device(esp_id)
        if device_id is None:
            raise RuleError(ErrorCode.BAD_VALUE, path, f"unknown device {esp_id}")
        return device_id

    def trigger(self, trigger: Trigger, path: str) -> list[dict[str, Any]]:
        match trigger:
            case SensorTrigger(sensor=ref, direction=direction, threshold=t, hysteresis=h):
                target = self.ours(ref, f"{path}.sensor", "sensor")
                if isinstance(target, str):
                    if h > 0:
                        raise RuleError(
                            ErrorCode.BAD_VALUE,
                            f"{path}.hysteresis",
                            "hysteresis needs an AutomationOne sensor",
                        )
                    keys = ["above", "below"] if direction is Direction.CROSSED else [direction]
                    return [
                        {"trigger": "numeric_state", "entity_id": target, key: _number(t)}
                        for key in keys
                    ]
                key = "threshold" if direction is Direction.CROSSED else direction.value
                return [
                    {
                        "trigger": "device",
                        "domain": DOMAIN,
                        "device_id": target.device_id,
                        "entity_id": target.entity_id,
                        "type": f"{vocab.SENSOR_TRIGGER_PREFIX}{direction.value}",
                        key: _number(t),
                        "hysteresis": _number(h),
                    }
                ]
            case TimeTrigger(at=at):
                return [{"trigger": "time", "at": _time(at)}]
            case DeviceOfflineTrigger(esp_id=esp_id):
                return [
                    {
                        "trigger": "device",
                        "domain": DOMAIN,
                        "device_id": self.device(esp_id, f"{path}.esp_id"),
                        "type": vocab.DEVICE_OFFLINE,
                    }
                ]

    def condition(self, condition: Condition, path: str) -> dict[str, Any]:
        match condition:
            case SensorInRange(sensor=ref, above=above, below=below):
                bounds = {
                    key: _number(value)
                    for key, value in (("above", above), ("below", below))
                    if value is not None
                }
                target = self.ours(ref, f"{path}.sensor", "sensor")
                if isinstance(target, str):
                    return {"condition": "numeric_state", "entity_id": target, **bounds}
                return {
                    "condition": "device",
                    "domain": DOMAIN,
                    "device_id": target.device_id,
                    "entity_id": target.entity_id,
                    "type": vocab.SENSOR_IN_RANGE,
                    **bounds,
                }
            case ActuatorState(actuator=ref, on=on):
                target = self.ours(ref, f"{path}.actuator", "actuator")
                if isinstance(target, str):
                    state = "on" if on else "off"
                    return {"condition": "state", "entity_id": target, "state": state}
                return {
                    "condition": "device",
                    "domain": DOMAIN,
                    "device_id": target.device_id,
                    "entity_id": target.entity_id,
                    "type": vocab.ACTUATOR_IS_ON if on else vocab.ACTUATOR_IS_OFF,
                }
            case DeviceOnline(esp_id=esp_id):
                return {
                    "condition": "device",
                    "domain": DOMAIN,
                    "device_id": self.device(esp_id, f"{path}.esp_id"),
                    "type": vocab.DEVICE_ONLINE,
                }
            case TimeWindow(after=after, before=before):
                return {"condition": "time", "after": _time(after), "before": _time(before)}
            case AllOf(conditions=inner) | AnyOf(conditions=inner):
                return {
                    "condition": "and" if isinstance(condition, AllOf) else "or",
                    "conditions": [
                        self.condition(c, f"{path}.conditions[{i}]") for i, c in enumerate(inner)
                    ],
                }

    def action(self, action: Action, path: str) -> dict[str, Any]:
        if isinstance(action, Notify):
            data = {"message": notify_template(action.message)}
            if action.title is not None:
                data["title"] = action.title
            return {"action": action.service, "data": data}
        target = self.ours(action.actuator, f"{path}.actuator", "actuator")
        if isinstance(target, str):
            raise RuleError(
                ErrorCode.BAD_VALUE,
                f"{path}.actuator",
                f"{_describe(action.actuator)} is not an AutomationOne actuator",
            )
        out: dict[str, Any] = {
            "domain": DOMAIN,
            "device_id": target.device_id,
            "entity_id": target.entity_id,
        }
        match action:
            case TurnOn() | TurnOff():
                # Plain on/off are HA's own switch/light device actions (the editor lists
                # those, not ours); they call the same entity and its limits.
                out["domain"] = target.domain
                out["type"] = vocab.TURN_ON if isinstance(action, TurnOn) else vocab.TURN_OFF
            case TurnOnFor(duration_s=duration):
                out["type"] = vocab.TURN_ON_FOR
                out["duration"] = _duration(duration)
            case SetPwm(value=value, duration_s=duration):
                out["type"] = vocab.SET_VALUE
                out["value"] = value
                if duration is not None:
                    out["duration"] = _duration(duration)
            case Pulse(duration_s=duration):
                out["type"] = vocab.PULSE
                out["duration"] = _duration(duration)
        return out


def compile_rule(
    rule: Rule, resolver: Resolver, *, lockout: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The automation config of one rule.

    `lockout` maps automation ids of higher-priority rules to how long (s) after firing they
    hold an actuator this rule also commands; compile_rules fills it in.
    Raises RuleError (path into the rule) for pins and devices the resolver does not know.
    """
    c = _Compiler(resolver)
    triggers = [
        item for i, t in enumerate(rule.triggers) for item in c.trigger(t, f"triggers[{i}]")
    ]
    conditions = [c.condition(cond, f"conditions[{i}]") for i, cond in enumerate(rule.conditions)]
    spacing = rule.min_spacing_s
    if spacing > 0:
        template = COOLDOWN_TEMPLATE.format(spacing=_number(spacing))
        conditions.append({"condition": "template", "value_template": template})
    actions = [c.action(a, f"actions[{i}]") for i, a in enumerate(effective_actions(rule))]
    config: dict[str, Any] = {
        "id": rule.automation_id,
        "alias": rule.name,
        "description": (
            f"AutomationOne rule '{rule.id}' (priority {rule.priority}). "
            "Importing the rule again replaces this automation."
        ),
        "triggers": triggers,
        "conditions": conditions,
        "actions": actions,
        # After the actions: the order in which the automation editor saves the keys.
        "mode": "single",
        "max_exceeded": "silent",
    }
    if not rule.enabled:
        config["initial_state"] = False
    return with_lockout(config, lockout or {})


def _lockout_condition(lockout: Mapping[str, float]) -> dict[str, Any]:
    holds = ", ".join(f"'{aid}': {_number(s)}" for aid, s in sorted(lockout.items()))
    return {"condition": "template", "value_template": LOCKOUT_TEMPLATE.format(holds=holds)}


_LOCKOUT_HEAD: Final = LOCKOUT_TEMPLATE.split("{holds}")[0].format()


def _is_lockout_step(item: Any) -> bool:
    if item == PRIORITY_SETTLE:
        return True
    if not isinstance(item, Mapping) or item.get("condition") != "template":
        return False
    text = item.get("value_template")
    return isinstance(text, str) and text.startswith(_LOCKOUT_HEAD)


def with_lockout(config: Mapping[str, Any], lockout: Mapping[str, float]) -> dict[str, Any]:
    """`config` with its priority lockout replaced by `lockout` (automation id -> hold s of
    each higher-priority rule on a shared actuator; empty: none).

    The lockout is a condition (a rule that fired earlier still holds the actuator) and, after
    `PRIORITY_SETTLE`, the same condition again as the first action: a higher-priority rule
    the same state change triggered has set its `last_triggered` by then, whichever of the two
    HA started first, so the lower rule sends nothing. Other conditions and actions are kept
    as they are (an automation edited in the editor keeps the user's changes).
    """
    out = dict(config)
    # The editor also accepts the singular keys: keep whichever the config uses.
    c_key = "conditions" if "conditions" in out or "condition" not in out else "condition"
    a_key = "actions" if "actions" in out or "action" not in out else "action"
    conditions = [c for c in _as_list(out.get(c_key)) if not _is_lockout_step(c)]
    actions = _as_list(out.get(a_key))
    while actions and _is_lockout_step(actions[0]):
        actions.pop(0)
    if lockout:
        conditions.append(_lockout_condition(lockout))
        actions = [dict(PRIORITY_SETTLE), _lockout_condition(lockout), *actions]
    out[c_key] = conditions
    out[a_key] = actions
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def hold_s(rule: Rule) -> float:
    """How long a rule owns the actuators it commands after it fired (priority lockout)."""
    durations = [
        d
        for a in effective_actions(rule)
        if isinstance(a, TurnOnFor | Pulse | SetPwm) and (d := a.duration_s) is not None
    ]
    return max([MIN_HOLD_S, rule.min_spacing_s, *durations])


@dataclass(frozen=True, slots=True)
class Claim:
    """What a rule's automation claims for priority lockouts: its priority, how long it holds
    the actuators it commands after firing, and those actuators (entity registry ids)."""

    priority: int
    hold_s: float
    actuators: frozenset[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the import keeps the claims of earlier imports)."""
        return {
            "priority": self.priority,
            "hold_s": self.hold_s,
            "actuators": sorted(self.actuators),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claim:
        """The inverse of to_dict."""
        return cls(int(data["priority"]), float(data["hold_s"]), frozenset(data["actuators"]))


def claim(rule: Rule, resolver: Resolver) -> Claim:
    """The claim of a rule."""
    targets = (resolver.entity(a.actuator) for a in rule.actions if not isinstance(a, Notify))
    actuators = frozenset(t.entity_id for t in targets if t is not None)
    return Claim(rule.priority, hold_s(rule), actuators)


def lockouts(claims: Mapping[str, Claim]) -> dict[str, dict[str, float]]:
    """For each automation id: the higher-priority automations that share an actuator with
    it, and how long each holds it (equal priorities do not lock each other out)."""
    return {
        aid: {
            other: theirs.hold_s
            for other, theirs in claims.items()
            if theirs.priority > mine.priority and theirs.actuators & mine.actuators
        }
        for aid, mine in claims.items()
    }


def compile_rules(
    rules: Iterable[Rule], resolver: Resolver, existing: Mapping[str, Claim] | None = None
) -> list[dict[str, Any]]:
    """Automation configs of a rule set, with priority lockouts between rules that share an
    actuator: a rule does not fire while a higher-priority one holds that actuator.
    `existing`: claims of rule automations imported earlier (by automation id), which lock
    out this set's rules too; a rule of this set replaces its own earlier claim."""
    rules = list(rules)
    claims = dict(existing or {})
    claims.update({r.automation_id: claim(r, resolver) for r in rules})
    locked = lockouts(claims)
    configs: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        lockout = locked[rule.automation_id]
        try:
            configs.append(compile_rule(rule, resolver, lockout=lockout))
        except RuleError as err:
            raise RuleError(err.code, f"[{i}].{err.path}", err.detail) from None
    return configs
