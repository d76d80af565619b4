"""Read an automation config back into a Rule, so that an automation can be backtested.

`rule_from_automation` understands what `compile_rule` emits, and the same constructs built
by hand in the automation editor: our device triggers (sensor above / below / crossed with
hysteresis, device offline), native `numeric_state` and `time` triggers; our device
conditions (sensor in range, actuator on / off, device online), native `numeric_state`,
`state` (on / off), `time`, `and`, `or`; the cooldown template (`COOLDOWN_TEMPLATE`) as
`cooldown_s`; our device actions. The priority lockout template is recognised and left out
(the backtest does not simulate lockouts between rules). Anything else raises `RuleError`
with its path in the automation config, e.g. `triggers[2].trigger`.

Every reference becomes an `EntityRef`: device automations store entity registry ids and
device ids, which the `AutomationResolver` (HA side) maps to entity ids and ESP ids. Items
with `enabled: false` are skipped, as HA skips them; trigger indices of a backtest then count
the enabled triggers only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import math
import re
from typing import Any, Final, Protocol

from ..protocol.errors import ErrorCode
from . import vocabulary as vocab
from .compile import (
    COOLDOWN_TEMPLATE,
    LOCKOUT_TEMPLATE,
    NOTIFY_PLACEHOLDERS,
    with_lockout,
)
from .model import (
    AUTOMATION_ID_PREFIX,
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
    Pulse,
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
from .parse import RuleError
from .vocabulary import DOMAIN

# Keys any trigger, condition or action may carry without changing when it runs.
_COMMON: Final = frozenset(
    {"id", "alias", "enabled", "metadata", "description", "continue_on_error", "variables"}
)
_HH_MM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::00)?")
_DURATION_TEXT: Final = re.compile(r"(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)")
_DURATION_UNITS: Final = {
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
}
_MARK: Final = "\x00"

ACTUATOR_DOMAINS = ("switch", "light")
"""Domains of our actuators, whose plain on/off compiled rules use HA's own actions for."""


def _template_pattern(template: str, field: str, group: str) -> re.Pattern[str]:
    head, tail = template.format(**{field: _MARK}).split(_MARK)
    return re.compile(re.escape(head) + group + re.escape(tail), re.DOTALL)


_COOLDOWN: Final = _template_pattern(COOLDOWN_TEMPLATE, "spacing", r"([0-9.eE+-]+)")
_LOCKOUT: Final = _template_pattern(LOCKOUT_TEMPLATE, "holds", r"(.*)")


class AutomationResolver(Protocol):
    """What reading an automation back needs from Home Assistant's registries."""

    def entity_id(self, entity: str) -> str | None:
        """The entity id of an entity registry id or entity id; None if unknown."""

    def esp_id(self, device_id: str) -> str | None:
        """The ESP id of one of our devices; None if unknown or not ours."""


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _unsupported(path: str, detail: str) -> RuleError:
    return RuleError(ErrorCode.BAD_VALUE, path, detail)


def _enabled(d: Mapping[str, Any], path: str) -> bool:
    enabled = d.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _unsupported(_join(path, "enabled"), "only true or false can be simulated")
    return enabled


def _only(d: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    for key in d:
        if key not in allowed and key not in _COMMON:
            raise _unsupported(_join(path, key), f"{key!r} cannot be simulated")


def _number(d: Mapping[str, Any], key: str, path: str, default: float | None = None) -> float:
    value = d.get(key, default)
    if value is None:
        raise RuleError(ErrorCode.MISSING_FIELD, _join(path, key), "required")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _unsupported(_join(path, key), "only a number can be simulated")
    return float(value)


def _hh_mm(value: Any, path: str) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _unsupported(path, "only a time of day HH:MM[:00] can be simulated")
    return f"{match[1]}:{match[2]}"


def _seconds(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise _unsupported(path, "not a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (match := _DURATION_TEXT.fullmatch(value)):
        return int(match[1]) * 3600.0 + int(match[2]) * 60.0 + float(match[3])
    if isinstance(value, Mapping) and value and set(value) <= set(_DURATION_UNITS):
        total = 0.0
        for unit, scale in _DURATION_UNITS.items():
            total += _number(value, unit, path, 0.0) * scale
        return total
    raise _unsupported(path, "not a duration")


class _Reader:
    def __init__(self, resolver: AutomationResolver) -> None:
        self.resolver = resolver
        self.spacing = 0.0

    def entities(self, d: Mapping[str, Any], path: str) -> list[EntityRef]:
        path = _join(path, "entity_id")
        value = d.get("entity_id")
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(n, str) for n in names):
            raise RuleError(ErrorCode.MISSING_FIELD, path, "an entity is required")
        refs: list[EntityRef] = []
        for name in names:
            entity_id = self.resolver.entity_id(name)
            if entity_id is None:
                raise _unsupported(path, f"unknown entity {name}")
            refs.append(EntityRef(entity_id))
        return refs

    def entity(self, d: Mapping[str, Any], path: str) -> EntityRef:
        refs = self.entities(d, path)
        if len(refs) != 1:
            raise _unsupported(_join(path, "entity_id"), "only one entity can be simulated")
        return refs[0]

    def esp(self, d: Mapping[str, Any], path: str) -> str:
        device_id = d.get("device_id")
        esp_id = self.resolver.esp_id(device_id) if isinstance(device_id, str) else None
        if esp_id is None:
            raise _unsupported(
                _join(path, "device_id"), f"not an AutomationOne device: {device_id}"
            )
        return esp_id

    def ours(self, d: Mapping[str, Any], path: str) -> str:
        """The `type` of one of our device automations."""
        if d.get("domain") != DOMAIN:
            raise _unsupported(
                _join(path, "domain"), f"{d.get('domain')} devices cannot be simulated"
            )
        kind = d.get("type")
        return kind if isinstance(kind, str) else ""

    # --- triggers ---------------------------------------------------------------------

    def trigger(self, d: Mapping[str, Any], path: str) -> Trigger:
        key = "trigger" if "trigger" in d else "platform"
        platform = d.get(key)
        if platform == "device":
            kind = self.ours(d, path)
            if kind.startswith(vocab.SENSOR_TRIGGER_PREFIX) and kind.removeprefix(
                vocab.SENSOR_TRIGGER_PREFIX
            ) in list(Direction):
                direction = Direction(kind.removeprefix(vocab.SENSOR_TRIGGER_PREFIX))
                threshold = "threshold" if direction is Direction.CROSSED else direction.value
                return SensorTrigger(
                    self.entity(d, path),
                    direction,
                    _number(d, threshold, path),
                    _number(d, "hysteresis", path, 0.0),
                )
            if kind == vocab.DEVICE_OFFLINE:
                return DeviceOfflineTrigger(self.esp(d, path))
            raise _unsupported(_join(path, "type"), f"device trigger {kind!r} cannot be simulated")
        if platform == "numeric_state":
            _only(d, path, {key, "entity_id", "above", "below"})
            bounds = [b for b in ("above", "below") if b in d]
            if len(bounds) != 1:
                raise _unsupported(path, "only one of above or below can be simulated")
            return SensorTrigger(
                self.entity(d, path), Direction(bounds[0]), _number(d, bounds[0], path)
            )
        if platform == "time":
            _only(d, path, {key, "at"})
            return TimeTrigger(_hh_mm(d.get("at"), _join(path, "at")))
        raise _unsupported(_join(path, key), f"{platform!r} triggers cannot be simulated")

    # --- conditions -------------------------------------------------------------------

    def template(self, d: Mapping[str, Any] | str, path: str, top: bool) -> None:
        """Fold our cooldown template into the spacing; skip a lockout; refuse the rest."""
        text = d if isinstance(d, str) else d.get("value_template")
        text = text.strip() if isinstance(text, str) else ""
        if top and (match := _COOLDOWN.fullmatch(text)):
            try:
                spacing = float(match[1])
            except ValueError:
                spacing = math.nan
            if math.isfinite(spacing) and spacing >= 0:
                self.spacing = max(self.spacing, spacing)
                return
        if top and _LOCKOUT.fullmatch(text):
            return  # priority lockouts between rules are not simulated
        raise _unsupported(path, "only the cooldown template of a compiled rule can be simulated")

    def conditions(self, values: Any, path: str, top: bool) -> tuple[Condition, ...]:
        out: list[Condition] = []
        for i, item in enumerate(_items(values)):
            item_path = _join(path, i)
            if isinstance(item, str):
                self.template(item, item_path, top)
                continue
            if not isinstance(item, Mapping):
                raise RuleError(ErrorCode.WRONG_TYPE, item_path, "object")
            if not _enabled(item, item_path):
                continue
            if item.get("condition") == "template":
                _only(item, item_path, {"condition", "value_template"})
                self.template(item, item_path, top)
                continue
            out.append(self.condition(item, item_path))
        return tuple(out)

    def condition(self, d: Mapping[str, Any], path: str) -> Condition:
        kind = d.get("condition")
        if kind == "device":
            ours = self.ours(d, path)
            if ours == vocab.SENSOR_IN_RANGE:
                if "above" not in d and "below" not in d:
                    raise RuleError(ErrorCode.MISSING_FIELD, _join(path, "above|below"), "one")
                return self.in_range(d, path, self.entity(d, path))
            if ours in (vocab.ACTUATOR_IS_ON, vocab.ACTUATOR_IS_OFF):
                return ActuatorState(self.entity(d, path), ours == vocab.ACTUATOR_IS_ON)
            if ours == vocab.DEVICE_ONLINE:
                return DeviceOnline(self.esp(d, path))
            raise _unsupported(
                _join(path, "type"), f"device condition {ours!r} cannot be simulated"
            )
        if kind == "numeric_state":
            _only(d, path, {"condition", "entity_id", "above", "below"})
            if "above" not in d and "below" not in d:
                raise RuleError(ErrorCode.MISSING_FIELD, _join(path, "above|below"), "one")
            return self.each(d, path, lambda ref: self.in_range(d, path, ref))
        if kind == "state":
            _only(d, path, {"condition", "entity_id", "state"})
            state = d.get("state")
            if isinstance(state, list) and len(state) == 1:
                state = state[0]
            if state not in ("on", "off"):
                raise _unsupported(_join(path, "state"), "only on or off can be simulated")
            return self.each(d, path, lambda ref: ActuatorState(ref, state == "on"))
        if kind == "time":
            _only(d, path, {"condition", "after", "before"})
            after = _hh_mm(d["after"], _join(path, "after")) if "after" in d else "00:00"
            before = _hh_mm(d["before"], _join(path, "before")) if "before" in d else "00:00"
            if after == before:
                if "after" in d and "before" in d:
                    raise _unsupported(_join(path, "before"), "an empty window")
                return AllOf(())  # no bound, or only midnight: always true
            return TimeWindow(after, before)
        if kind in ("and", "or"):
            _only(d, path, {"condition", "conditions"})
            inner = self.conditions(d.get("conditions"), _join(path, "conditions"), False)
            return AllOf(inner) if kind == "and" else AnyOf(inner)
        raise _unsupported(_join(path, "condition"), f"{kind!r} conditions cannot be simulated")

    def in_range(self, d: Mapping[str, Any], path: str, ref: EntityRef) -> SensorInRange:
        above = _number(d, "above", path) if "above" in d else None
        below = _number(d, "below", path) if "below" in d else None
        return SensorInRange(ref, above, below)

    def each(
        self, d: Mapping[str, Any], path: str, make: Callable[[EntityRef], Condition]
    ) -> Condition:
        """One condition per entity; several entities must all hold (as HA does)."""
        conditions: list[Condition] = [make(ref) for ref in self.entities(d, path)]
        return conditions[0] if len(conditions) == 1 else AllOf(tuple(conditions))

    # --- actions ----------------------------------------------------------------------

    def action(self, d: Mapping[str, Any], path: str) -> Action:
        service = d.get("action", d.get("service"))
        if isinstance(service, str) and service.startswith("notify."):
            return self.notify(service, d, path)
        if "device_id" not in d or "action" in d or "service" in d:
            raise _unsupported(path, "only AutomationOne device actions can be simulated")
        if d.get("domain") in ACTUATOR_DOMAINS and d.get("type") in (vocab.TURN_ON, vocab.TURN_OFF):
            kind = str(d["type"])  # HA's own on/off of our switch or light
        else:
            kind = self.ours(d, path)
        ref = self.entity(d, path)
        if kind == vocab.TURN_ON:
            return TurnOn(ref)
        if kind == vocab.TURN_OFF:
            return TurnOff(ref)
        if kind in (vocab.TURN_ON_FOR, vocab.PULSE):
            duration = _seconds(d.get("duration"), _join(path, "duration"))
            return TurnOnFor(ref, duration) if kind == vocab.TURN_ON_FOR else Pulse(ref, duration)
        if kind == vocab.SET_VALUE:
            value = d.get("value")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise _unsupported(_join(path, "value"), "a PWM value 0-255")
            raw = d.get("duration")
            seconds = None if raw is None else _seconds(raw, _join(path, "duration"))
            return SetPwm(ref, value, seconds)
        raise _unsupported(_join(path, "type"), f"device action {kind!r} cannot be simulated")

    def notify(self, service: str, d: Mapping[str, Any], path: str) -> Notify:
        """A notification: reported by the backtest, not simulated further. Our placeholders
        come back as `{value}` / `{sensor}` / `{rule}`; other template text is kept as text."""
        data = d.get("data", {})
        if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
            raise _unsupported(_join(path, "data"), "a notify action with a message")
        message = str(data["message"])
        for placeholder, template in NOTIFY_PLACEHOLDERS.items():
            message = message.replace(template, placeholder)
        title = data.get("title")
        return Notify(message, title if isinstance(title, str) else None, service)


def _read_enabled[T](
    config: Mapping[str, Any], plural: str, read: Callable[[Mapping[str, Any], str], T]
) -> list[T]:
    """Each enabled item of the `triggers` or `actions` section, read with its path."""
    key, raw = _section(config, plural)
    out: list[T] = []
    for i, item in enumerate(_items(raw)):
        path = _join(key, i)
        if not isinstance(item, Mapping):
            raise RuleError(ErrorCode.WRONG_TYPE, path, "object")
        if _enabled(item, path):
            out.append(read(item, path))
    return out


def _section(config: Mapping[str, Any], plural: str) -> tuple[str, Any]:
    singular = plural.removesuffix("s")
    if plural in config or singular not in config:
        return plural, config.get(plural)
    return singular, config.get(singular)


def rule_from_automation(config: Mapping[str, Any], resolver: AutomationResolver) -> Rule:
    """The rule an automation config (as automations.yaml stores it) stands for.

    Raises RuleError with the path (in the automation config) of the first thing that cannot
    be simulated. Limits come back as they act: the cooldown template as `cooldown_s` (the
    hourly limit was folded into it), max runtime already applied to the actions.
    """
    reader = _Reader(resolver)
    config = with_lockout(config, {})  # priority lockouts between rules are not simulated
    triggers = _read_enabled(config, "triggers", reader.trigger)
    key, raw = _section(config, "conditions")
    conditions = reader.conditions(raw, key, True)
    actions = _read_enabled(config, "actions", reader.action)
    automation_id = config.get("id")
    rule_id = (
        automation_id.removeprefix(AUTOMATION_ID_PREFIX)
        if isinstance(automation_id, str) and automation_id
        else "automation"
    )
    alias = config.get("alias")
    return Rule(
        id=rule_id,
        name=alias if isinstance(alias, str) and alias else rule_id,
        triggers=tuple(triggers),
        actions=tuple(actions),
        conditions=conditions,
        cooldown_s=reader.spacing,
    )
