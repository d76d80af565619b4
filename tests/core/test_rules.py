"""Rules: parser (paths of bad fields), compiler to HA automations, backtest (hand-computed
timelines and Hypothesis properties), round trips. Vectors: tests/vectors/rules/."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import jsonschema
import numpy as np
import pytest

from custom_components.automationone import rules as r
from custom_components.automationone.rules.backtest import threshold_events
from custom_components.automationone.rules.live import ThresholdWatch
from custom_components.automationone.rules.model import Direction
from custom_components.automationone.rules.parse import MAX_DEPTH

VECTORS = Path(__file__).parent.parent / "vectors" / "rules"
EXAMPLES: dict[str, dict[str, Any]] = {
    f.name.removesuffix(".json"): json.loads(f.read_text(encoding="utf-8"))
    for f in sorted((VECTORS / "examples").glob("*.json"))
}
INVALID: list[dict[str, Any]] = json.loads((VECTORS / "invalid.json").read_text(encoding="utf-8"))[
    "vectors"
]
REFERENCE = jsonschema.Draft202012Validator(r.load_rule_schema())

PH = r.PinRef("esp1", 34)
LEVEL = r.PinRef("esp1", 35)
TEMP = r.PinRef("esp2", 4, "28ff4a1b00000001")
PUMP = r.PinRef("esp3", 5)
DOSER = r.PinRef("esp3", 18)
SOIL = r.PinRef("esp4", 32)
VALVE = r.PinRef("esp4", 26)
FAN = r.PinRef("esp4", 27)
MOISTURE = r.EntityRef("sensor.garden_soil_moisture")


@dataclass
class FakeResolver:
    """The registries as dicts: what the HA side's resolver answers."""

    entities: dict[r.Ref, r.Target] = field(
        default_factory=lambda: {
            PH: r.Target("dev_esp1", "sensor.esp1_ph", "sensor"),
            LEVEL: r.Target("dev_esp1", "sensor.esp1_level", "sensor"),
            TEMP: r.Target("dev_esp2", "sensor.esp2_temperature", "sensor"),
            PUMP: r.Target("dev_esp3", "switch.esp3_pump", "switch"),
            DOSER: r.Target("dev_esp3", "switch.esp3_doser", "switch"),
            SOIL: r.Target("dev_esp4", "sensor.esp4_soil", "sensor"),
            VALVE: r.Target("dev_esp4", "switch.esp4_valve", "switch"),
            FAN: r.Target("dev_esp4", "light.esp4_fan", "light"),
            r.EntityRef("switch.esp3_pump"): r.Target("dev_esp3", "switch.esp3_pump", "switch"),
        }
    )
    devices: dict[str, str] = field(
        default_factory=lambda: {f"esp{i}": f"dev_esp{i}" for i in range(1, 5)}
    )

    def entity(self, ref: r.Ref) -> r.Target | None:
        return self.entities.get(ref)

    def device(self, esp_id: str) -> str | None:
        return self.devices.get(esp_id)


def _rule(**changes: Any) -> r.Rule:
    """A minimal valid rule with some fields replaced."""
    base: dict[str, Any] = {
        "id": "t",
        "name": "test",
        "triggers": (r.TimeTrigger("08:00"),),
        "actions": (r.TurnOff(PUMP),),
    }
    return r.Rule(**(base | changes))


def _patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """The JSON Patch subset the vectors use (add, replace, remove)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        if op["path"] == "":
            doc = op["value"]
            continue
        *parents, last = op["path"].lstrip("/").split("/")
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key: Any = int(last) if isinstance(node, list) else last
        if op["op"] == "remove":
            del node[key]
        else:
            node[key] = op["value"]
    return doc


# --- parser ------------------------------------------------------------------------------


def test_schema_is_valid_json_schema() -> None:
    """rule.schema.json is a valid draft 2020-12 schema that accepts every example."""
    schema = r.load_rule_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for example in EXAMPLES.values():
        validator.validate(example)


def test_examples_cover_every_construct() -> None:
    """Between them, the examples use every trigger, condition and action type."""
    text = json.dumps(list(EXAMPLES.values()))
    kinds = {
        "sensor", "time", "device_offline", "sensor_in_range", "actuator_state", "device_online",
        "time_window", "and", "or", "on", "on_for", "pwm", "pulse", "off", "above", "below",
        "crossed", "entity_id", "addr", "max_runtime_s", "max_activations_per_hour",
    }  # fmt: skip
    assert all(f'"{kind}"' in text for kind in kinds)


@pytest.mark.parametrize("name", EXAMPLES)
def test_round_trip(name: str) -> None:
    """rule -> dict -> JSON -> parse gives the same rule, and the dict is a fixed point."""
    rule = r.parse_rule(EXAMPLES[name])
    data = json.loads(json.dumps(r.rule_to_dict(rule)))
    assert r.parse_rule(data) == rule
    assert r.rule_to_dict(r.parse_rule(data)) == data


def test_parse_example() -> None:
    """The issue's example as a model."""
    assert r.parse_rule(EXAMPLES["ph_low_hot_pump"]) == r.Rule(
        id="ph_low_hot_pump",
        name="pH low and hot: run the pump",
        priority=10,
        triggers=(
            r.SensorTrigger(PH, r.Direction.BELOW, 6.0, 0.1),
            r.SensorTrigger(TEMP, r.Direction.ABOVE, 30.0, 0.5),
            r.TimeTrigger("08:00"),
        ),
        conditions=(
            r.SensorInRange(PH, below=6.0),
            r.SensorInRange(TEMP, above=30.0),
            r.TimeWindow("08:00", "20:00"),
        ),
        actions=(r.TurnOnFor(PUMP, 30.0),),
        cooldown_s=600.0,
    )


def test_defaults() -> None:
    """Optional fields default to enabled, priority 0, no cooldown and no limits."""
    data = {"id": "x", "name": "x", "triggers": [{"type": "time", "at": "00:00"}]}
    data["actions"] = [{"type": "off", "actuator": {"entity_id": "switch.esp3_pump"}}]
    rule = r.parse_rule(data)
    assert (rule.enabled, rule.priority, rule.cooldown_s, rule.conditions) == (True, 0, 0.0, ())
    assert (rule.max_runtime_s, rule.max_activations_per_hour) == (None, None)


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid(vector: dict[str, Any]) -> None:
    """Each invalid rule is rejected with its code and the path of the bad field."""
    data = _patch(EXAMPLES[vector["base"]], vector["patch"])
    with pytest.raises(r.RuleError) as caught:
        r.parse_rule(data)
    assert (caught.value.code.value, caught.value.path) == (
        vector["error"]["code"],
        vector["error"]["path"],
    )


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_against_reference(vector: dict[str, Any]) -> None:
    """The reference validator agrees, except where the vector names an explicit check."""
    data = _patch(EXAMPLES[vector["base"]], vector["patch"])
    valid = REFERENCE.is_valid(data)
    assert valid is not vector["json_schema_rejects"]


def test_parse_rules_paths_and_duplicates() -> None:
    """parse_rules prefixes paths with the index and refuses duplicate ids."""
    good = list(EXAMPLES.values())
    assert [rule.id for rule in r.parse_rules(good)] == sorted(EXAMPLES)
    bad = [good[0], _patch(good[1], [{"op": "replace", "path": "/priority", "value": 2000}])]
    with pytest.raises(r.RuleError, match=r"\[1\]\.priority"):
        r.parse_rules(bad)
    with pytest.raises(r.RuleError) as caught:
        r.parse_rules([good[0], good[0]])
    assert caught.value.path == "[1].id"
    with pytest.raises(r.RuleError) as caught:
        r.parse_rules(good[0])
    assert (caught.value.code.value, caught.value.path) == ("wrong_type", "")


def test_max_depth_is_accepted() -> None:
    """Groups nested up to MAX_DEPTH levels of lists parse."""
    condition: dict[str, Any] = {"type": "device_online", "esp_id": "esp1"}
    for _ in range(MAX_DEPTH - 1):
        condition = {"type": "and", "conditions": [condition]}
    data = EXAMPLES["ph_low_hot_pump"] | {"conditions": [condition]}
    nested = r.parse_rule(data).conditions[0]
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(nested, r.AllOf)
        nested = nested.conditions[0]
    assert nested == r.DeviceOnline("esp1")


# --- model -------------------------------------------------------------------------------


def test_effective_actions_apply_max_runtime() -> None:
    """max_runtime_s turns `on` into on_for and caps every longer duration."""
    actions = (
        r.TurnOn(PUMP),
        r.TurnOnFor(PUMP, 10.0),
        r.TurnOnFor(PUMP, 100.0),
        r.SetPwm(FAN, 128),
        r.SetPwm(FAN, 0),
        r.Pulse(DOSER, 90.0),
        r.TurnOff(PUMP),
    )
    rule = _rule(actions=actions, max_runtime_s=60.0)
    assert r.effective_actions(rule) == (
        r.TurnOnFor(PUMP, 60.0),
        r.TurnOnFor(PUMP, 10.0),
        r.TurnOnFor(PUMP, 60.0),
        r.SetPwm(FAN, 128, 60.0),
        r.SetPwm(FAN, 0),
        r.Pulse(DOSER, 60.0),
        r.TurnOff(PUMP),
    )
    assert r.effective_actions(_rule(actions=actions)) == actions


@pytest.mark.parametrize(
    ("cooldown", "limit", "spacing"),
    [(0.0, None, 0.0), (600.0, None, 600.0), (120.0, 6, 600.0), (900.0, 6, 900.0)],
)
def test_min_spacing(cooldown: float, limit: int | None, spacing: float) -> None:
    """Cooldown and the hourly limit become one minimum spacing."""
    rule = _rule(cooldown_s=cooldown, max_activations_per_hour=limit)
    assert rule.min_spacing_s == spacing


# --- compiler ----------------------------------------------------------------------------

COOLDOWN_600 = (
    "{{ this.attributes.last_triggered is none or "
    "(now() - this.attributes.last_triggered).total_seconds() >= 600 }}"
)


def test_compile_issue_example() -> None:
    """The issue's example, exactly."""
    rule = r.parse_rule(EXAMPLES["ph_low_hot_pump"])
    assert r.compile_rule(rule, FakeResolver()) == {
        "id": "automationone_rule_ph_low_hot_pump",
        "alias": "pH low and hot: run the pump",
        "description": (
            "AutomationOne rule 'ph_low_hot_pump' (priority 10). "
            "Importing the rule again replaces this automation."
        ),
        "mode": "single",
        "max_exceeded": "silent",
        "triggers": [
            {
                "trigger": "device",
                "domain": "automationone",
                "device_id": "dev_esp1",
                "entity_id": "sensor.esp1_ph",
                "type": "sensor_below",
                "below": 6,
                "hysteresis": 0.1,
            },
            {
                "trigger": "device",
                "domain": "automationone",
                "device_id": "dev_esp2",
                "entity_id": "sensor.esp2_temperature",
                "type": "sensor_above",
                "above": 30,
                "hysteresis": 0.5,
            },
            {"trigger": "time", "at": "08:00:00"},
        ],
        "conditions": [
            {
                "condition": "device",
                "domain": "automationone",
                "device_id": "dev_esp1",
                "entity_id": "sensor.esp1_ph",
                "type": "sensor_in_range",
                "below": 6,
            },
            {
                "condition": "device",
                "domain": "automationone",
                "device_id": "dev_esp2",
                "entity_id": "sensor.esp2_temperature",
                "type": "sensor_in_range",
                "above": 30,
            },
            {"condition": "time", "after": "08:00:00", "before": "20:00:00"},
            {"condition": "template", "value_template": COOLDOWN_600},
        ],
        "actions": [
            {
                "domain": "automationone",
                "device_id": "dev_esp3",
                "entity_id": "switch.esp3_pump",
                "type": "turn_on_for",
                "duration": {"hours": 0, "minutes": 0, "seconds": 30},
            }
        ],
    }


def _device(kind: str, device: str, entity: str | None, type_: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {kind: "device", "domain": "automationone", "device_id": device}
    if entity is not None:
        out["entity_id"] = entity
    return out | {"type": type_} | extra


TRIGGER_CASES: list[tuple[r.Trigger, list[dict[str, Any]]]] = [
    (
        r.SensorTrigger(PH, r.Direction.ABOVE, 7.5, 0.2),
        [
            _device(
                "trigger", "dev_esp1", "sensor.esp1_ph", "sensor_above", above=7.5, hysteresis=0.2
            )
        ],
    ),
    (
        r.SensorTrigger(PH, r.Direction.BELOW, 6.0),
        [_device("trigger", "dev_esp1", "sensor.esp1_ph", "sensor_below", below=6, hysteresis=0)],
    ),
    (
        r.SensorTrigger(LEVEL, r.Direction.CROSSED, 2.0, 0.25),
        [
            _device(
                "trigger",
                "dev_esp1",
                "sensor.esp1_level",
                "sensor_crossed",
                threshold=2,
                hysteresis=0.25,
            )  # fmt: skip
        ],
    ),
    (
        r.SensorTrigger(MOISTURE, r.Direction.BELOW, 25.0),
        [{"trigger": "numeric_state", "entity_id": "sensor.garden_soil_moisture", "below": 25}],
    ),
    (
        r.SensorTrigger(MOISTURE, r.Direction.CROSSED, 25.5),
        [
            {"trigger": "numeric_state", "entity_id": "sensor.garden_soil_moisture", "above": 25.5},
            {"trigger": "numeric_state", "entity_id": "sensor.garden_soil_moisture", "below": 25.5},
        ],
    ),
    (r.TimeTrigger("06:30"), [{"trigger": "time", "at": "06:30:00"}]),
    (r.DeviceOfflineTrigger("esp2"), [_device("trigger", "dev_esp2", None, "device_offline")]),
]


@pytest.mark.parametrize(("trigger", "expected"), TRIGGER_CASES)
def test_compile_trigger(trigger: r.Trigger, expected: list[dict[str, Any]]) -> None:
    """Each trigger kind: our device trigger, or native numeric_state/time triggers."""
    assert r.compile_rule(_rule(triggers=(trigger,)), FakeResolver())["triggers"] == expected


CONDITION_CASES: list[tuple[r.Condition, dict[str, Any]]] = [
    (
        r.SensorInRange(PH, 5.5, 6.5),
        _device("condition", "dev_esp1", "sensor.esp1_ph", "sensor_in_range", above=5.5, below=6.5),
    ),
    (
        r.SensorInRange(MOISTURE, below=25.0),
        {"condition": "numeric_state", "entity_id": "sensor.garden_soil_moisture", "below": 25},
    ),
    (
        r.ActuatorState(PUMP, on=True),
        _device("condition", "dev_esp3", "switch.esp3_pump", "actuator_is_on"),
    ),
    (
        r.ActuatorState(PUMP, on=False),
        _device("condition", "dev_esp3", "switch.esp3_pump", "actuator_is_off"),
    ),
    (
        r.ActuatorState(r.EntityRef("switch.other"), on=False),
        {"condition": "state", "entity_id": "switch.other", "state": "off"},
    ),
    (r.DeviceOnline("esp4"), _device("condition", "dev_esp4", None, "device_online")),
    (
        r.TimeWindow("08:00", "20:00"),
        {"condition": "time", "after": "08:00:00", "before": "20:00:00"},
    ),
    (
        r.TimeWindow("22:00", "06:00"),
        {"condition": "time", "after": "22:00:00", "before": "06:00:00"},
    ),
    (
        r.AnyOf(
            (r.DeviceOnline("esp1"), r.AllOf((r.DeviceOnline("esp2"), r.DeviceOnline("esp3"))))
        ),
        {
            "condition": "or",
            "conditions": [
                _device("condition", "dev_esp1", None, "device_online"),
                {
                    "condition": "and",
                    "conditions": [
                        _device("condition", "dev_esp2", None, "device_online"),
                        _device("condition", "dev_esp3", None, "device_online"),
                    ],
                },
            ],
        },
    ),
]


@pytest.mark.parametrize(("condition", "expected"), CONDITION_CASES)
def test_compile_condition(condition: r.Condition, expected: dict[str, Any]) -> None:
    """Each condition kind; time windows over midnight stay one native time condition."""
    compiled = r.compile_rule(_rule(conditions=(condition,)), FakeResolver())
    assert compiled["conditions"] == [expected]


ACTION_CASES: list[tuple[r.Action, float | None, dict[str, Any]]] = [
    (r.TurnOn(PUMP), None, {"domain": "switch", "type": "turn_on"}),
    (
        r.TurnOn(PUMP),
        900.0,
        {"type": "turn_on_for", "duration": {"hours": 0, "minutes": 15, "seconds": 0}},
    ),
    (
        r.TurnOnFor(PUMP, 3725.0),
        None,
        {"type": "turn_on_for", "duration": {"hours": 1, "minutes": 2, "seconds": 5}},
    ),
    (
        r.TurnOnFor(PUMP, 3725.0),
        60.0,
        {"type": "turn_on_for", "duration": {"hours": 0, "minutes": 1, "seconds": 0}},
    ),
    (r.SetPwm(PUMP, 128), None, {"type": "set_value", "value": 128}),
    (
        r.SetPwm(PUMP, 128),
        60.0,
        {"type": "set_value", "value": 128, "duration": {"hours": 0, "minutes": 1, "seconds": 0}},
    ),
    (
        r.Pulse(PUMP, 0.5),
        None,
        {
            "type": "pulse",
            "duration": {"hours": 0, "minutes": 0, "seconds": 0, "milliseconds": 500},
        },
    ),
    (r.TurnOff(PUMP), 60.0, {"domain": "switch", "type": "turn_off"}),
    (r.TurnOff(r.EntityRef("switch.esp3_pump")), None, {"domain": "switch", "type": "turn_off"}),
]


@pytest.mark.parametrize(("action", "max_runtime", "expected"), ACTION_CASES)
def test_compile_action(
    action: r.Action, max_runtime: float | None, expected: dict[str, Any]
) -> None:
    """Each action kind is our device action (plain on/off: HA's switch action), with the
    rule's max runtime applied."""
    rule = _rule(actions=(action,), max_runtime_s=max_runtime)
    head = {"domain": "automationone", "device_id": "dev_esp3", "entity_id": "switch.esp3_pump"}
    assert r.compile_rule(rule, FakeResolver())["actions"] == [head | expected]


@pytest.mark.parametrize(
    ("cooldown", "limit", "spacing"),
    [(600.0, None, "600"), (0.0, 6, "600"), (60.0, 7, "514.2857142857143"), (0.5, None, "0.5")],
)
def test_compile_cooldown_and_rate_limit(cooldown: float, limit: int | None, spacing: str) -> None:
    """Cooldown and hourly limit: one template condition on the automation's last_triggered."""
    rule = _rule(cooldown_s=cooldown, max_activations_per_hour=limit)
    template = COOLDOWN_600.replace("600", spacing)
    conditions = r.compile_rule(rule, FakeResolver())["conditions"]
    assert conditions == [{"condition": "template", "value_template": template}]


def test_compile_without_limits_has_no_template() -> None:
    """No cooldown and no limit: no template, no conditions."""
    assert r.compile_rule(_rule(), FakeResolver())["conditions"] == []


def test_compile_enabled_and_stable_id() -> None:
    """The id depends on the rule id only; a disabled rule starts off."""
    on = r.compile_rule(_rule(id="abc"), FakeResolver())
    off = r.compile_rule(_rule(id="abc", name="other", priority=7, enabled=False), FakeResolver())
    assert on["id"] == off["id"] == "automationone_rule_abc"
    assert "initial_state" not in on
    assert off["initial_state"] is False


@pytest.mark.parametrize(
    ("rule", "path", "detail"),
    [
        (
            _rule(
                triggers=(
                    r.TimeTrigger("01:00"),
                    r.SensorTrigger(r.PinRef("esp9", 1), r.Direction.ABOVE, 1.0),
                )
            ),
            "triggers[1].sensor",
            "unknown sensor esp9 gpio 1",
        ),
        (
            _rule(triggers=(r.SensorTrigger(MOISTURE, r.Direction.ABOVE, 1.0, 0.5),)),
            "triggers[0].hysteresis",
            "hysteresis needs an AutomationOne sensor",
        ),
        (
            _rule(triggers=(r.DeviceOfflineTrigger("esp9"),)),
            "triggers[0].esp_id",
            "unknown device esp9",
        ),
        (
            _rule(
                conditions=(
                    r.AnyOf(
                        (
                            r.DeviceOnline("esp1"),
                            r.SensorInRange(r.PinRef("esp1", 2, "0x44"), 1.0),
                        )
                    ),
                )
            ),
            "conditions[0].conditions[1].sensor",
            "unknown sensor esp1 gpio 2 addr 0x44",
        ),
        (
            _rule(actions=(r.TurnOff(PUMP), r.TurnOn(r.EntityRef("switch.kitchen")))),
            "actions[1].actuator",
            "switch.kitchen is not an AutomationOne actuator",
        ),
    ],
)  # fmt: skip
def test_compile_errors(rule: r.Rule, path: str, detail: str) -> None:
    """What the registries do not know is an error with the path into the rule."""
    with pytest.raises(r.RuleError) as caught:
        r.compile_rule(rule, FakeResolver())
    assert (caught.value.path, caught.value.detail) == (path, detail)


def test_compile_rules_priority_lockout() -> None:
    """A lower-priority rule sharing an actuator waits while a higher one holds it."""
    high = _rule(id="high", priority=50, actions=(r.TurnOnFor(PUMP, 900.0),), cooldown_s=60.0)
    mid = _rule(id="mid", priority=20, actions=(r.TurnOff(PUMP),), max_activations_per_hour=2)
    low = _rule(id="low", priority=10, actions=(r.TurnOn(r.EntityRef("switch.esp3_pump")),))
    peer = _rule(id="peer", priority=10, actions=(r.TurnOff(PUMP),))
    other = _rule(id="other", priority=0, actions=(r.TurnOff(VALVE),))
    configs = r.compile_rules([high, mid, low, peer, other], FakeResolver())
    lockouts = [
        [c for c in config["conditions"] if "states.automation" in str(c)] for config in configs
    ]
    assert lockouts[0] == lockouts[4] == []
    expected = (
        "{% set hold = {'automationone_rule_high': 900, 'automationone_rule_mid': 1800} %}"
        "{% set ns = namespace(free=true) %}"
        "{% for a in states.automation if a.attributes.get('id') in hold"
        " and a.attributes.get('last_triggered') is not none"
        " and (now() - a.attributes.last_triggered).total_seconds() < hold[a.attributes.id] %}"
        "{% set ns.free = false %}{% endfor %}{{ ns.free }}"
    )
    assert lockouts[2] == lockouts[3] == [{"condition": "template", "value_template": expected}]
    assert "'automationone_rule_mid'" not in lockouts[1][0]["value_template"]
    # The same check again after one settle step, before the rule's own actions.
    assert configs[2]["actions"][:2] == [
        {"delay": {"milliseconds": 1}},
        {"condition": "template", "value_template": expected},
    ]
    assert configs[0]["actions"][0]["type"] == "turn_on_for"  # the highest rule: no settle
    assert r.hold_s(high) == 900.0
    assert r.hold_s(mid) == 1800.0
    assert r.hold_s(other) == 1.0


def test_lockouts_from_earlier_claims_and_replaced_in_place() -> None:
    """Claims of rules imported earlier lock out a new rule; `with_lockout` replaces only the
    lockout steps of an automation (the rest, edited or not, stays)."""
    high = _rule(id="high", priority=50, actions=(r.TurnOnFor(PUMP, 900.0),))
    low = _rule(id="low", priority=10, actions=(r.TurnOff(PUMP),))
    earlier = {high.automation_id: r.claim(high, FakeResolver())}
    assert r.Claim.from_dict(earlier[high.automation_id].to_dict()) == earlier[high.automation_id]
    (config,) = r.compile_rules([low], FakeResolver(), earlier)
    assert config["actions"][0] == {"delay": {"milliseconds": 1}}
    assert r.lockouts({**earlier, low.automation_id: r.claim(low, FakeResolver())}) == {
        high.automation_id: {},
        low.automation_id: {high.automation_id: 900.0},
    }
    edited = {**config, "alias": "renamed"}
    freed = r.with_lockout(edited, {})
    assert freed == {**r.compile_rule(low, FakeResolver()), "alias": "renamed"}
    assert r.with_lockout(freed, {high.automation_id: 900.0}) == edited


def test_compile_rules_error_path() -> None:
    """compile_rules prefixes errors with the rule's index."""
    bad = _rule(actions=(r.TurnOff(r.PinRef("esp9", 3)),))
    with pytest.raises(r.RuleError, match=r"\[1\]\.actions\[0\]\.actuator"):
        r.compile_rules([_rule(), bad], FakeResolver())


@pytest.mark.parametrize("name", EXAMPLES)
def test_compiled_examples_are_json(name: str) -> None:
    """Compiled configs are plain JSON data (what automations.yaml stores)."""
    config = r.compile_rule(r.parse_rule(EXAMPLES[name]), FakeResolver())
    assert json.loads(json.dumps(config)) == config
    assert set(config) <= {
        "id", "alias", "description", "mode", "max_exceeded", "triggers", "conditions",
        "actions", "initial_state",
    }  # fmt: skip


# --- backtest: hand-computed -------------------------------------------------------------

DAY = datetime(2026, 6, 1, tzinfo=UTC).timestamp()


def _at(hh_mm: str, day: float = DAY) -> float:
    hours, minutes = hh_mm.split(":")
    return day + int(hours) * 3600 + int(minutes) * 60


def _series(*points: tuple[float, float]) -> r.Series:
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def test_threshold_events_by_hand() -> None:
    """below 6.0, hysteresis 0.1: fires at 1, 5, 8 (re-armed at 4, 7 and 9, not at 3)."""
    v = [7.0, 5.9, 5.95, 6.05, 6.2, 5.8, 5.7, 6.1, 5.9, 6.3]
    series = _series(*enumerate(v))
    assert r.threshold_events(series, r.Direction.BELOW, 6.0, 0.1).tolist() == [1, 5, 8]
    assert r.threshold_events(series, r.Direction.ABOVE, 6.0, 0.1).tolist() == [3, 7, 9]
    assert r.threshold_events(series, r.Direction.ABOVE, 6.0, 0.3).tolist() == [7]
    crossed = r.threshold_events(series, r.Direction.CROSSED, 6.0, 0.1)
    assert crossed.tolist() == [1, 3, 5, 7, 8, 9]


def test_threshold_events_first_sample_and_gaps() -> None:
    """The first sample never fires; NaN samples are gaps; unsorted input is sorted."""
    series = _series((2, 5.0), (0, 7.0), (1, float("nan")), (3, 7.0))
    assert r.threshold_events(series, r.Direction.ABOVE, 6.0).tolist() == [3]
    assert r.threshold_events(series, r.Direction.BELOW, 6.0).tolist() == [2]
    assert r.threshold_events(_series((0, 1.0)), r.Direction.BELOW, 6.0).size == 0


EXAMPLE_HISTORY: r.History = {
    PH: _series(
        (_at("06:00"), 6.5),
        (_at("07:30"), 5.8),  # fires, but before the window
        (_at("08:05"), 6.2),  # re-arms
        (_at("08:06"), 5.9),  # fires, inside the cooldown of the 08:00 firing
        (_at("08:20"), 6.3),
        (_at("08:30"), 5.7),  # fires: 30 min after 08:00
        (_at("12:00"), 6.5),
        (_at("15:30"), 5.5),  # fires, but temperature is 29
        (_at("19:00"), 6.5),
        (_at("20:30"), 5.0),  # fires, after the window
    ),
    TEMP: _series((_at("07:00"), 31.0), (_at("15:00"), 29.0), (_at("16:00"), 32.0)),
}


def test_backtest_issue_example_by_hand() -> None:
    """08:00 (time trigger), 08:30 (pH) and 16:00 (temperature); nothing else."""
    rule = r.parse_rule(EXAMPLES["ph_low_hot_pump"])
    firings = r.backtest(rule, EXAMPLE_HISTORY, DAY, DAY + 86400)
    run = (r.TurnOnFor(PUMP, 30.0),)
    assert firings == [
        r.Firing(_at("08:00"), 2, run),
        r.Firing(_at("08:30"), 0, run),
        r.Firing(_at("16:00"), 1, run),
    ]


def test_backtest_history_before_start_primes_cooldown() -> None:
    """A firing before start still holds the cooldown; only [start, end) is reported."""
    rule = r.parse_rule(EXAMPLES["ph_low_hot_pump"])
    firings = r.backtest(rule, EXAMPLE_HISTORY, _at("08:03"), _at("16:00"))
    assert [f.time for f in firings] == [_at("08:30")]


def test_backtest_rate_limit_and_actuator_condition_by_hand() -> None:
    """6/h with a 120 s cooldown is one firing per 600 s; the pump being on blocks 1860-2340."""
    rule = r.parse_rule(EXAMPLES["ph_dosing_pulse"])
    ph = _series(*((60.0 * i, 5.0 if i % 2 else 6.0) for i in range(61)))
    history: r.History = {
        PH: ph,
        r.DeviceRef("esp3"): _series((0, 1)),
        PUMP: _series((0, 0), (1800, 1), (2400, 0)),
    }
    firings = r.backtest(rule, history, 0, 3600)
    assert [f.time for f in firings] == [60, 660, 1260, 2460, 3060]
    assert {f.actions for f in firings} == {(r.Pulse(DOSER, 0.5),)}
    assert r.backtest(rule, {PH: ph}, 0, 3600) == []  # device state unknown: conditions fail


def test_backtest_device_offline_and_crossed_by_hand() -> None:
    """Offline at 100 with the pump on fires; offline at 300 with it off does not."""
    rule = r.parse_rule(EXAMPLES["pump_off_when_offline"])
    history: r.History = {
        r.DeviceRef("esp1"): _series((0, 1), (100, 0), (200, 1), (300, 0)),
        LEVEL: _series((0, 1.0), (50, 2.1), (60, 2.3), (70, 1.9)),
        PUMP: _series((0, 1), (250, 0)),
    }
    firings = r.backtest(rule, history, 0, 1000)
    assert [(f.time, f.trigger) for f in firings] == [(50, 1), (70, 1), (100, 0)]


def test_backtest_window_over_midnight_local_time() -> None:
    """22:00-06:00 in Berlin across the switch to summer time (29 March 2026)."""
    rule = r.parse_rule(EXAMPLES["night_irrigation"])
    utc = datetime(2026, 3, 28, tzinfo=UTC).timestamp()
    history: r.History = {
        SOIL: _series(
            (_at("12:00", utc), 20.0),
            (_at("26:00", utc), 40.0),  # 29 Mar 04:00 CEST: re-arms
            (_at("27:00", utc), 10.0),  # 05:00 CEST: inside the window
            (_at("28:30", utc), 40.0),
            (_at("29:00", utc), 10.0),  # 07:00 CEST: outside
        )
    }
    firings = r.backtest(rule, history, utc, utc + 3 * 86400, tz=ZoneInfo("Europe/Berlin"))
    assert [(f.time, f.trigger) for f in firings] == [
        (_at("21:00", utc), 1),  # 22:00 CET
        (_at("27:00", utc), 0),
        (_at("44:00", utc), 1),  # 22:00 CEST
        (_at("68:00", utc), 1),
    ]
    assert firings[0].actions == (r.TurnOnFor(VALVE, 900.0), r.SetPwm(FAN, 128, 900.0))


def test_daily_events_local_time() -> None:
    """A time trigger is local wall-clock time, also on the days DST begins and ends."""
    start = datetime(2026, 3, 28, tzinfo=UTC).timestamp()
    times = r.daily_events("02:30", start, start + 3 * 86400, ZoneInfo("Europe/Berlin"))
    as_utc = [datetime.fromtimestamp(t, UTC).strftime("%d %H:%M") for t in times]
    assert as_utc == ["28 01:30", "30 00:30"]  # 02:30 does not exist on the 29th: skipped
    autumn = datetime(2026, 10, 24, tzinfo=UTC).timestamp()
    times = r.daily_events("02:30", autumn, autumn + 2 * 86400, ZoneInfo("Europe/Berlin"))
    as_utc = [datetime.fromtimestamp(t, UTC).strftime("%d %H:%M") for t in times]
    assert as_utc == ["24 00:30", "25 00:30", "25 01:30"]  # 02:30 happens twice on the 25th


# --- properties --------------------------------------------------------------------------


def _naive_events(
    t: list[float], v: list[float], d: r.Direction, thr: float, h: float
) -> list[float]:
    out: list[float] = []
    kinds = {r.Direction.ABOVE: ["above"], r.Direction.BELOW: ["below"]}.get(d, ["above", "below"])
    for kind in kinds:
        state: bool | None = None
        for ti, vi in zip(t, v, strict=True):
            match = vi > thr if kind == "above" else vi < thr
            rearm = vi <= thr - h if kind == "above" else vi >= thr + h
            if state is None:
                state = match
            elif not state and match:
                out.append(ti)
                state = True
            elif state and rearm:
                state = False
    return sorted(out)


values = st.floats(0, 10).map(lambda x: round(x, 1))
gaps = st.integers(1, 900)


@st.composite
def series(draw: st.DrawFn, min_size: int = 0) -> tuple[list[float], list[float]]:
    steps = draw(st.lists(gaps, min_size=min_size, max_size=200))
    times = np.cumsum([0, *steps]).astype(float).tolist()
    return times, draw(st.lists(values, min_size=len(times), max_size=len(times)))


@given(
    series(),
    st.sampled_from(list(r.Direction)),
    values,
    st.sampled_from([0.0, 0.1, 0.5, 2.0]),
)
def test_threshold_events_match_a_plain_loop(
    data: tuple[list[float], list[float]], d: r.Direction, thr: float, h: float
) -> None:
    """The vectorised latch equals the obvious sample-by-sample loop."""
    t, v = data
    got = r.threshold_events((np.array(t), np.array(v)), d, thr, h).tolist()
    assert got == _naive_events(t, v, d, thr, h)


@settings(max_examples=200)
@given(
    series(min_size=1),
    st.sampled_from(list(r.Direction)),
    values,
    st.sampled_from([0.0, 0.3]),
    st.integers(0, 7200),
    st.none() | st.integers(1, 30),
    st.booleans(),
    st.integers(0, 20000),
)
def test_backtest_respects_cooldown_and_hourly_limit(
    data: tuple[list[float], list[float]],
    d: r.Direction,
    thr: float,
    h: float,
    cooldown: int,
    limit: int | None,
    with_time: bool,
    start: int,
) -> None:
    """No two firings closer than the cooldown, never more than the limit in any hour, and
    every firing is at a trigger's time inside [start, end)."""
    t, v = data
    triggers: list[r.Trigger] = [r.SensorTrigger(PH, d, thr, h)]
    if with_time:
        triggers.append(r.TimeTrigger("00:10"))
    rule = _rule(
        triggers=tuple(triggers),
        cooldown_s=float(cooldown),
        max_activations_per_hour=limit,
        conditions=(r.TimeWindow("23:00", "22:00"),),
    )
    end = t[-1] + 1
    firings = r.backtest(rule, {PH: (np.array(t), np.array(v))}, start, end)
    times = [f.time for f in firings]
    assert times == sorted(times)
    assert all(start <= x < end for x in times)
    assert all(b - a >= cooldown for a, b in pairwise(times))
    if limit is not None:
        arr = np.array(times)
        in_hour = np.searchsorted(arr, arr + 3600, side="left") - np.arange(arr.size)
        assert (in_hour <= limit).all()
    events = set(_naive_events(t, v, d, thr, h))
    for f in firings:
        window_ok = not 22 * 3600 <= f.time % 86400 < 23 * 3600
        assert window_ok
        assert f.time in events if f.trigger == 0 else f.time % 86400 == 600


# --- round trip and template hygiene over generated rules --------------------------------

esp_ids = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
entity_refs = st.from_regex(r"[a-z0-9_]{1,12}\.[a-z0-9_]{1,12}", fullmatch=True).map(r.EntityRef)
addrs = st.none() | st.from_regex(r"[0-9a-f]{16}|0x[0-9a-f]{2}", fullmatch=True)
sensors = st.builds(r.PinRef, esp_ids, st.integers(0, 63), addrs) | entity_refs
actuators = st.builds(r.PinRef, esp_ids, st.integers(0, 63)) | entity_refs
finite = st.floats(allow_nan=False, allow_infinity=False)
durations = st.floats(0.1, 86400)
clock = st.builds(lambda hh, mm: f"{hh:02d}:{mm:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def ranges(draw: st.DrawFn) -> r.SensorInRange:
    low, high = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
    keep = draw(st.sampled_from(["both", "above", "below"]))
    return r.SensorInRange(
        draw(sensors), low if keep != "below" else None, high if keep != "above" else None
    )


@st.composite
def windows(draw: st.DrawFn) -> r.TimeWindow:
    after, before = draw(st.lists(clock, min_size=2, max_size=2, unique=True))
    return r.TimeWindow(after, before)


def conditions(depth: int) -> st.SearchStrategy[r.Condition]:
    leaves: st.SearchStrategy[r.Condition] = st.one_of(
        ranges(),
        st.builds(r.ActuatorState, actuators, st.booleans()),
        st.builds(r.DeviceOnline, esp_ids),
        windows(),
    )
    if depth >= MAX_DEPTH:
        return leaves
    inner = st.lists(conditions(depth + 1), min_size=1, max_size=3).map(tuple)
    return leaves | st.builds(r.AllOf, inner) | st.builds(r.AnyOf, inner)


triggers_st: st.SearchStrategy[r.Trigger] = st.one_of(
    st.builds(
        r.SensorTrigger, sensors, st.sampled_from(list(r.Direction)), finite, st.floats(0, 1e6)
    ),
    st.builds(r.TimeTrigger, clock),
    st.builds(r.DeviceOfflineTrigger, esp_ids),
)
actions_st: st.SearchStrategy[r.Action] = st.one_of(
    st.builds(r.TurnOn, actuators),
    st.builds(r.TurnOnFor, actuators, durations),
    st.builds(r.SetPwm, actuators, st.integers(0, 255), st.none() | durations),
    st.builds(r.Pulse, actuators, durations),
    st.builds(r.TurnOff, actuators),
)
rules_st = st.builds(
    r.Rule,
    id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    name=st.text(min_size=1, max_size=100),
    triggers=st.lists(triggers_st, min_size=1, max_size=4).map(tuple),
    actions=st.lists(actions_st, min_size=1, max_size=4).map(tuple),
    conditions=st.lists(conditions(1), max_size=4).map(tuple),
    enabled=st.booleans(),
    priority=st.integers(0, 1000),
    cooldown_s=st.floats(0, 86400),
    max_runtime_s=st.none() | durations,
    max_activations_per_hour=st.none() | st.integers(1, 3600),
)


@settings(max_examples=100)
@given(rules_st)
def test_generated_round_trip(rule: r.Rule) -> None:
    """Any rule the model can hold survives rule -> dict -> JSON -> parse, and the
    reference validator accepts its JSON form."""
    data = json.loads(json.dumps(r.rule_to_dict(rule)))
    assert r.parse_rule(data) == rule
    assert REFERENCE.is_valid(data)


class EverythingResolver:
    """Resolves every reference to ids full of template syntax."""

    def entity(self, ref: r.Ref) -> r.Target | None:
        return r.Target("EVIL{{ x }}", f"switch.EVIL_{ref!r}{{% raw %}}", "switch")

    def device(self, esp_id: str) -> str | None:
        return f"EVIL{{{{ {esp_id} }}}}"


@settings(max_examples=50)
@given(st.lists(rules_st, min_size=1, max_size=3, unique_by=lambda rule: rule.id))
def test_templates_hold_only_rule_values(rules: list[r.Rule]) -> None:
    """Strings from the registries (and so from devices) never reach a template."""
    configs = r.compile_rules(rules, EverythingResolver())
    for config in configs:
        templates = [
            c["value_template"] for c in config["conditions"] if c["condition"] == "template"
        ]
        assert not any("EVIL" in t for t in templates)
        assert len(templates) <= 2


@given(
    values=st.lists(st.floats(-50, 50, allow_nan=False), min_size=0, max_size=60),
    threshold=st.floats(-10, 10, allow_nan=False),
    hysteresis=st.floats(0, 5, allow_nan=False),
    direction=st.sampled_from(list(Direction)),
)
def test_live_watch_fires_where_the_backtest_does(
    values: list[float], threshold: float, hysteresis: float, direction: Direction
) -> None:
    """The device trigger's sample-by-sample watch agrees with the vectorised backtest."""
    watch = ThresholdWatch(direction, threshold, hysteresis)
    live = [float(i) for i, v in enumerate(values) if watch.update(v)]
    series = (np.arange(len(values), dtype=np.float64), np.asarray(values, dtype=np.float64))
    assert live == threshold_events(series, direction, threshold, hysteresis).tolist()


def test_live_watch_gaps_and_first_value() -> None:
    """The first value never fires; None is a gap that keeps the latch."""
    watch = ThresholdWatch(Direction.ABOVE, 10.0, 2.0)
    assert [watch.update(v) for v in [12, None, 5, None, 12, 11, 9, 7.9, 12]] == [
        False, False, False, False, True, False, False, False, True,
    ]  # fmt: skip
