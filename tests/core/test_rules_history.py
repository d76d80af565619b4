"""Rules backtest plumbing: recorded states -> series, the references a rule reads, and
reading compiled (or hand-built) automations back into rules (decompile)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from custom_components.automationone import rules as r
from custom_components.automationone.rules.compile import COOLDOWN_TEMPLATE
from custom_components.automationone.rules.decompile import rule_from_automation
from custom_components.automationone.rules.history import (
    action_dict,
    ref_key,
    references,
    series_from_states,
    state_value,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "rules"
EXAMPLES: dict[str, dict[str, Any]] = {
    f.name.removesuffix(".json"): json.loads(f.read_text(encoding="utf-8"))
    for f in sorted((VECTORS / "examples").glob("*.json"))
}
DAY = datetime(2026, 6, 1, tzinfo=UTC).timestamp()

PH = r.PinRef("esp1", 34)
LEVEL = r.PinRef("esp1", 35)
TEMP = r.PinRef("esp2", 4, "28ff4a1b00000001")
PUMP = r.PinRef("esp3", 5)
DOSER = r.PinRef("esp3", 18)
SOIL = r.PinRef("esp4", 32)
VALVE = r.PinRef("esp4", 26)
FAN = r.PinRef("esp4", 27)
MOISTURE = r.EntityRef("sensor.garden_soil_moisture")

ENTITY_IDS = {
    PH: "sensor.esp1_ph",
    LEVEL: "sensor.esp1_level",
    TEMP: "sensor.esp2_temperature",
    PUMP: "switch.esp3_pump",
    DOSER: "switch.esp3_doser",
    SOIL: "sensor.esp4_soil",
    VALVE: "switch.esp4_valve",
    FAN: "light.esp4_fan",
}
# Device automations store entity registry ids, not entity ids.
REGISTRY_IDS = {ref: f"0123abcd{i:024x}" for i, ref in enumerate(ENTITY_IDS)}
ENTITY_OF_REGISTRY_ID = {REGISTRY_IDS[ref]: entity_id for ref, entity_id in ENTITY_IDS.items()}


class Registries:
    """Both directions of the HA side's registries: compile's Resolver, decompile's."""

    def entity(self, ref: r.Ref) -> r.Target | None:
        if isinstance(ref, r.EntityRef):
            pins = [pin for pin, entity_id in ENTITY_IDS.items() if entity_id == ref.entity_id]
            if not pins:
                return None  # another integration's entity
            ref = pins[0]
        if ref not in REGISTRY_IDS:
            return None
        return r.Target(f"dev_{ref.esp_id}", REGISTRY_IDS[ref], ENTITY_IDS[ref].split(".")[0])

    def device(self, esp_id: str) -> str | None:
        return f"dev_{esp_id}"

    def entity_id(self, entity: str) -> str | None:
        if "." in entity:
            return entity
        return ENTITY_OF_REGISTRY_ID.get(entity)

    def esp_id(self, device_id: str) -> str | None:
        return device_id.removeprefix("dev_") if device_id.startswith("dev_") else None


def as_entity(key: r.Ref | r.DeviceRef) -> r.Ref | r.DeviceRef:
    """The history key a decompiled rule uses for a pin."""
    return r.EntityRef(ENTITY_IDS[key]) if isinstance(key, r.PinRef) else key


def as_entity_firing(firing: r.Firing) -> r.Firing:
    actions = tuple(replace(a, actuator=as_entity(a.actuator)) for a in firing.actions)
    return replace(firing, actions=actions)


# --- states -> series --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "value"),
    [
        ("12.5", 12.5),
        ("-3", -3.0),
        ("0", 0.0),
        ("on", 1.0),
        ("off", 0.0),
        ("unavailable", math.nan),
        ("unknown", math.nan),
        ("", math.nan),
        ("open", math.nan),
        ("nan", math.nan),
        ("inf", math.nan),
        ("ON", math.nan),
    ],
)
def test_state_value(state: str, value: float) -> None:
    """Numbers, on/off; everything else (unavailable, words, non-finite) is a gap."""
    got = state_value(state)
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_series_from_states_feeds_backtest_with_gaps() -> None:
    """unavailable between 12 and 9 is a gap: 9 does not re-arm... 7 does, 12 fires again."""
    states = [(0.0, "5"), (10.0, "12"), (20.0, "unavailable"), (30.0, "9"), (40.0, "7")]
    states += [(50.0, "unknown"), (60.0, "12")]
    t, v = series_from_states(states)
    assert t.tolist() == [0, 10, 20, 30, 40, 50, 60]
    assert v.dtype == np.float64
    assert np.isnan(v).tolist() == [False, False, True, False, False, True, False]
    fired = r.threshold_events((t, v), r.Direction.ABOVE, 10.0, 2.0)
    assert fired.tolist() == [10, 60]
    empty_t, empty_v = series_from_states([])
    assert empty_t.shape == empty_v.shape == (0,)


def test_references_with_paths() -> None:
    """Each key once, at its first use; actuators the rule only commands are not history."""
    refs = references(r.parse_rule(EXAMPLES["night_irrigation"]))
    assert refs == {
        SOIL: "triggers[0].sensor",
        MOISTURE: "conditions[1].conditions[1].conditions[0].sensor",
        TEMP: "conditions[1].conditions[1].conditions[1].sensor",
    }
    refs = references(r.parse_rule(EXAMPLES["pump_off_when_offline"]))
    assert refs == {
        r.DeviceRef("esp1"): "triggers[0].esp_id",
        LEVEL: "triggers[1].sensor",
        PUMP: "conditions[0].actuator",
    }
    refs = references(r.parse_rule(EXAMPLES["ph_dosing_pulse"]))
    assert refs == {
        PH: "triggers[0].sensor",
        r.DeviceRef("esp3"): "conditions[0].esp_id",
        PUMP: "conditions[1].actuator",
    }


def test_ref_key_and_action_dict() -> None:
    assert [ref_key(k) for k in (PH, TEMP, MOISTURE, r.DeviceRef("esp1"))] == [
        "esp1/34",
        "esp2/4/28ff4a1b00000001",
        "sensor.garden_soil_moisture",
        "esp1",
    ]
    assert action_dict(r.TurnOnFor(PUMP, 30.0), "switch.pump") == {
        "type": "on_for",
        "actuator": "switch.pump",
        "duration_s": 30,
    }
    assert action_dict(r.SetPwm(FAN, 128), "light.fan") == {
        "type": "pwm",
        "actuator": "light.fan",
        "value": 128,
    }


# --- decompile: round trip ----------------------------------------------------------------

VALUES = [0.0, 1.0, 1.8, 2.1, 2.3, 5.3, 5.9, 6.05, 6.2, 25.0, 29.0, 30.6, 31.0, 35.0, math.nan]


@st.composite
def histories(
    draw: st.DrawFn, keys: list[r.Ref | r.DeviceRef]
) -> tuple[float, dict[r.Ref | r.DeviceRef, r.Series]]:
    """A span (minutes to two days, at a time of day some example's window covers) and a
    random series in it for each key, values near every example's thresholds."""
    origin = DAY + draw(st.sampled_from([0.0, 8.5 * 3600, 22.5 * 3600]))
    span = draw(st.sampled_from([1200, 7200, 2 * 86400]))
    out: dict[r.Ref | r.DeviceRef, r.Series] = {}
    for key in keys:
        n = draw(st.integers(0, 25))
        times = draw(st.lists(st.integers(0, span), min_size=n, max_size=n, unique=True))
        values = draw(st.lists(st.sampled_from(VALUES), min_size=n, max_size=n))
        out[key] = (origin + np.sort(np.asarray(times, dtype=np.float64)), np.asarray(values))
    return origin + draw(st.integers(0, span // 2)), out


@pytest.mark.parametrize("name", EXAMPLES)
def test_decompile_compiled_examples_structurally(name: str) -> None:
    """Read back, every reference is an entity; compiling it again gives the same automation
    (limits come back folded: max runtime in the actions, the hourly limit in the spacing)."""
    rule = r.parse_rule(EXAMPLES[name])
    config = r.compile_rule(rule, Registries())
    back = rule_from_automation(json.loads(json.dumps(config)), Registries())
    assert back.id == rule.id
    assert back.name == rule.name
    assert back.cooldown_s == rule.min_spacing_s
    assert back.actions == tuple(
        replace(a, actuator=as_entity(a.actuator)) for a in r.effective_actions(rule)
    )
    assert all(isinstance(k, r.EntityRef | r.DeviceRef) for k in references(back))
    again = r.compile_rule(back, Registries())
    assert {k: v for k, v in again.items() if k != "description"} == {
        k: v for k, v in config.items() if k not in ("description", "initial_state")
    }


@pytest.mark.parametrize("name", EXAMPLES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_decompile_backtests_like_the_rule(name: str, data: st.DataObject) -> None:
    """backtest(decompile(compile(rule))) == backtest(rule) over any history, with pins
    replaced by their entities."""
    rule = r.parse_rule(EXAMPLES[name])
    back = rule_from_automation(r.compile_rule(rule, Registries()), Registries())
    start, history = data.draw(histories(list(references(rule))))
    end = start + data.draw(st.integers(1, 2 * 86400))
    expected = [as_entity_firing(f) for f in r.backtest(rule, history, start, end)]
    mapped = {as_entity(k): v for k, v in history.items()}
    assert r.backtest(back, mapped, start, end) == expected


def test_round_trip_fires_at_all() -> None:
    """A guard against a vacuous round trip: the issue's example fires on a known history."""
    rule = r.parse_rule(EXAMPLES["ph_low_hot_pump"])
    back = rule_from_automation(r.compile_rule(rule, Registries()), Registries())
    ph = r.EntityRef(ENTITY_IDS[PH])
    temp = r.EntityRef(ENTITY_IDS[TEMP])
    history: r.History = {
        ph: (DAY + np.array([7, 9, 10]) * 3600.0, np.array([5.9, 6.5, 5.8])),
        temp: (DAY + np.array([7 * 3600.0]), np.array([31.0])),
    }
    firings = r.backtest(back, history, DAY, DAY + 86400)
    pump = r.EntityRef(ENTITY_IDS[PUMP])
    assert firings == [
        r.Firing(DAY + 8 * 3600, 2, (r.TurnOnFor(pump, 30.0),)),
        r.Firing(DAY + 10 * 3600, 0, (r.TurnOnFor(pump, 30.0),)),
    ]


# --- decompile: hand-built automations ------------------------------------------------------

SOIL_ID = ENTITY_IDS[SOIL]
VALVE_REG = REGISTRY_IDS[VALVE]


def _automation(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "1700000000000",
        "alias": "Hand-made",
        "triggers": [{"trigger": "time", "at": "07:30:00"}],
        "conditions": [],
        "actions": [
            {"device_id": "dev_esp4", "domain": "automationone", "entity_id": VALVE_REG,
             "type": "turn_off", "metadata": {}},
        ],
    }  # fmt: skip
    return base | changes


def test_decompile_native_and_editor_constructs() -> None:
    """numeric_state, time (after only, before only), state, disabled items, template
    shorthand of the cooldown, legacy singular keys and `platform:`."""
    valve = r.EntityRef(ENTITY_IDS[VALVE])
    config = {
        "id": "1700000000000",
        "alias": "Hand-made",
        "trigger": [
            {"platform": "numeric_state", "entity_id": [SOIL_ID], "below": 20},
            {"platform": "time", "at": "06:00", "enabled": False},
            {"platform": "numeric_state", "entity_id": "sensor.outside", "above": 30.5},
            {"platform": "time", "at": "22:15:00", "id": "evening"},
        ],
        "condition": [
            {"condition": "time", "after": "20:00:00"},
            {"condition": "time", "before": "06:00"},
            {"condition": "state", "entity_id": ["switch.a", "switch.b"], "state": "off"},
            {"condition": "numeric_state", "entity_id": "sensor.x", "above": 1, "enabled": False},
            {"condition": "or", "conditions": [
                {"condition": "numeric_state", "entity_id": "sensor.outside", "above": 5},
                {"condition": "device", "domain": "automationone", "device_id": "dev_esp4",
                 "entity_id": VALVE_REG, "type": "actuator_is_on"},
            ]},
            COOLDOWN_TEMPLATE.format(spacing=90),
        ],
        "action": {
            "device_id": "dev_esp4", "domain": "automationone", "entity_id": VALVE_REG,
            "type": "turn_on_for", "duration": "00:01:30",
        },
    }  # fmt: skip
    rule = rule_from_automation(config, Registries())
    assert rule == r.Rule(
        id="1700000000000",
        name="Hand-made",
        triggers=(
            r.SensorTrigger(r.EntityRef(SOIL_ID), r.Direction.BELOW, 20.0),
            r.SensorTrigger(r.EntityRef("sensor.outside"), r.Direction.ABOVE, 30.5),
            r.TimeTrigger("22:15"),
        ),
        conditions=(
            r.TimeWindow("20:00", "00:00"),
            r.TimeWindow("00:00", "06:00"),
            r.AllOf(
                (
                    r.ActuatorState(r.EntityRef("switch.a"), on=False),
                    r.ActuatorState(r.EntityRef("switch.b"), on=False),
                )
            ),
            r.AnyOf(
                (
                    r.SensorInRange(r.EntityRef("sensor.outside"), above=5.0),
                    r.ActuatorState(valve, on=True),
                )
            ),
        ),
        actions=(r.TurnOnFor(valve, 90.0),),
        cooldown_s=90.0,
    )


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ({"hours": 1, "minutes": 2, "seconds": 3, "milliseconds": 500}, 3723.5),
        ({"seconds": 0.5}, 0.5),
        (45, 45.0),
        ("01:00:00", 3600.0),
    ],
)
def test_decompile_durations(duration: Any, seconds: float) -> None:
    action = {"device_id": "dev_esp4", "domain": "automationone", "entity_id": VALVE_REG,
              "type": "pulse", "duration": duration}  # fmt: skip
    rule = rule_from_automation(_automation(actions=[action]), Registries())
    assert rule.actions == (r.Pulse(r.EntityRef(ENTITY_IDS[VALVE]), seconds),)


def test_decompile_lockout_is_left_out() -> None:
    """compile_rules' priority lockout is recognised (not simulated), not an error."""
    low = r.parse_rule(EXAMPLES["ph_low_hot_pump"])
    high = replace(r.parse_rule(EXAMPLES["pump_off_when_offline"]), priority=200)
    configs = r.compile_rules([low, high], Registries())
    assert len(configs[0]["conditions"]) == 5  # 3 + cooldown + lockout
    back = rule_from_automation(configs[0], Registries())
    assert len(back.conditions) == 3
    assert back.cooldown_s == 600


DEVICE = {"trigger": "device", "domain": "automationone", "device_id": "dev_esp1"}


@pytest.mark.parametrize(
    ("changes", "path", "detail"),
    [
        (
            {"triggers": [{"trigger": "time", "at": "08:00"}, {"trigger": "time", "at": "09:00"},
                          {"trigger": "state", "entity_id": "switch.a"}]},
            "triggers[2].trigger", "'state' triggers cannot be simulated",
        ),
        (
            {"triggers": [{"trigger": "numeric_state", "entity_id": "sensor.a", "above": 1,
                           "for": {"minutes": 5}}]},
            "triggers[0].for", "'for' cannot be simulated",
        ),
        (
            {"triggers": [{"trigger": "numeric_state", "entity_id": "sensor.a", "above": 1,
                           "below": 5}]},
            "triggers[0]", "only one of above or below can be simulated",
        ),
        (
            {"triggers": [{"trigger": "numeric_state", "entity_id": "sensor.a",
                           "above": "input_number.x"}]},
            "triggers[0].above", "only a number can be simulated",
        ),
        (
            {"triggers": [{"trigger": "time", "at": "08:00:30"}]},
            "triggers[0].at", "only a time of day HH:MM[:00] can be simulated",
        ),
        (
            {"triggers": [{**DEVICE, "type": "quality_bad", "entity_id": REGISTRY_IDS[PH]}]},
            "triggers[0].type", "device trigger 'quality_bad' cannot be simulated",
        ),
        (
            {"triggers": [{**DEVICE, "type": "sensor_above", "entity_id": "nope", "above": 1}]},
            "triggers[0].entity_id", "unknown entity nope",
        ),
        (
            {"triggers": [{**DEVICE, "domain": "zha", "type": "remote_button_short_press"}]},
            "triggers[0].domain", "zha devices cannot be simulated",
        ),
        (
            {"triggers": [{**DEVICE, "device_id": "other", "type": "device_offline"}]},
            "triggers[0].device_id", "not an AutomationOne device: other",
        ),
        (
            {"triggers": [{"trigger": "time", "at": "08:00", "enabled": "{{ true }}"}]},
            "triggers[0].enabled", "only true or false can be simulated",
        ),
        (
            {"conditions": [{"condition": "and", "conditions": [
                {"condition": "template", "value_template": "{{ is_state('sun.sun', 'up') }}"}]}]},
            "conditions[0].conditions[0]",
            "only the cooldown template of a compiled rule can be simulated",
        ),
        (
            {"conditions": [{"condition": "or", "conditions": [
                COOLDOWN_TEMPLATE.format(spacing=60)]}]},
            "conditions[0].conditions[0]",
            "only the cooldown template of a compiled rule can be simulated",
        ),
        (
            {"conditions": [{"condition": "state", "entity_id": "cover.x", "state": "open"}]},
            "conditions[0].state", "only on or off can be simulated",
        ),
        (
            {"conditions": [{"condition": "time", "after": "08:00", "weekday": "mon"}]},
            "conditions[0].weekday", "'weekday' cannot be simulated",
        ),
        (
            {"conditions": [{"condition": "not", "conditions": []}]},
            "conditions[0].condition", "'not' conditions cannot be simulated",
        ),
        (
            {"actions": [{"action": "script.turn_on", "target": {"entity_id": "script.x"}}]},
            "actions[0]", "only AutomationOne device actions can be simulated",
        ),
        (
            {"actions": [{"device_id": "dev_esp4", "domain": "automationone",
                          "entity_id": VALVE_REG, "type": "set_value", "value": 300}]},
            "actions[0].value", "a PWM value 0-255",
        ),
        (
            {"actions": [{"device_id": "dev_esp4", "domain": "automationone",
                          "entity_id": VALVE_REG, "type": "pulse", "duration": "soon"}]},
            "actions[0].duration", "not a duration",
        ),
    ],
)  # fmt: skip
def test_decompile_errors(changes: dict[str, Any], path: str, detail: str) -> None:
    """What cannot be simulated is an error with its path in the automation config."""
    with pytest.raises(r.RuleError) as err:
        rule_from_automation(_automation(**changes), Registries())
    assert (err.value.path, err.value.detail) == (path, detail)


def test_notify_action_compiles_to_notify_and_reads_back() -> None:
    """`notify` becomes HA's notify action; only the placeholders become templates, anything
    else with braces is rejected by the schema; the automation reads back to the same rule."""
    data = {
        "id": "n",
        "name": "N",
        "triggers": [{"type": "time", "at": "06:00"}],
        "actions": [
            {"type": "notify", "message": "{sensor}: {value}", "service": "notify.mobile_app_x"}
        ],
    }
    rule = r.parse_rule(data)
    assert rule.actions == (r.Notify("{sensor}: {value}", None, "notify.mobile_app_x"),)
    assert r.rule_to_dict(rule)["actions"] == data["actions"]
    config = r.compile_rule(rule, Registries())
    (action,) = config["actions"]
    assert action == {
        "action": "notify.mobile_app_x",
        "data": {
            "message": "{{ trigger.to_state.name if trigger.to_state is defined else '' }}: "
            "{{ trigger.to_state.state if trigger.to_state is defined else '' }}"
        },
    }
    assert rule_from_automation(config, Registries()).actions == rule.actions
    for bad in ("{{ states('x') }}", "{% if 1 %}", "{other}", "{#", ""):
        with pytest.raises(r.RuleError, match=r"actions\[0\]\.message"):
            r.parse_rule({**data, "actions": [{"type": "notify", "message": bad}]})
    with pytest.raises(r.RuleError, match=r"actions\[0\]\.service"):
        r.parse_rule(
            {**data, "actions": [{"type": "notify", "message": "x", "service": "light.x"}]}
        )
