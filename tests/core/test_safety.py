"""Actuator safety: the shared timeline vectors and Hypothesis properties of the machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
import orjson
import pytest

from custom_components.automationone import protocol as p
from custom_components.automationone.safety import ActuatorSafety

TIMELINES = json.loads(
    (Path(__file__).parent.parent / "vectors" / "safety" / "timelines.json").read_text()
)
VECTORS: list[dict[str, Any]] = TIMELINES["vectors"]


def _config(entry: dict[str, Any]) -> p.ActuatorConfig:
    payload = {"v": 1, "version": 1, "sensors": [], "actuators": [entry]}
    return p.parse_config(orjson.dumps(payload)).actuators[0]


def _run_step(machine: ActuatorSafety, step: dict[str, Any]) -> list[p.ActuatorStatus]:
    t = step["t"]
    if "config" in step:
        return machine.reconfigure(_config(step["config"]), t)
    if "command" in step:
        command = p.parse_actuator_command(orjson.dumps(step["command"]))
        expected = step["refused"]
        assert machine.check(command, t) == expected
        out = machine.apply(command, t)
        answer = out[-1]
        assert answer.refused == expected
        assert answer.cmd_id == command.cmd_id
        if "until_s" in step:
            assert answer.until_s == pytest.approx(step["until_s"])
        return out
    if "link" in step:
        return machine.link_down(t) if step["link"] == "down" else machine.link_up(t)
    if "emergency" in step:
        if step["emergency"] == "stop":
            return machine.emergency_stop(t)
        return machine.emergency_clear(t)
    expect = step["expect"]
    out = machine.tick(t)
    assert machine.state is expect["state"]
    assert machine.value == expect["value"]
    assert machine.reason == expect["reason"]
    if "activations" in expect:
        assert machine.activations == expect["activations"]
    if "runtime_s" in expect:
        assert machine.runtime_s(t) == pytest.approx(expect["runtime_s"])
    return out


def test_vector_file_covers_the_rules() -> None:
    """At least 20 timelines with unique names; every reason and refusal code appears."""
    assert len(VECTORS) >= 20
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)
    steps = [s for v in VECTORS for s in v["steps"]]
    reasons = {s["expect"]["reason"] for s in steps if "expect" in s}
    assert reasons >= {"boot", "command", "duration", "max_runtime", "emergency", "failsafe"}
    refusals = {s["refused"] for s in steps if "command" in s}
    assert refusals >= {None, "cooldown", "rate_limit", "emergency"}
    assert all(a["t"] <= b["t"] for v in VECTORS for a, b in pairwise(v["steps"]))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_timeline(vector: dict[str, Any]) -> None:
    """Every shared timeline vector gives the expected states and refusals."""
    machine = ActuatorSafety(_config(vector["actuator"]), 0.0)
    for step in vector["steps"]:
        if "config" in step and not machine.same_actuator(_config(step["config"])):
            # Another pin or type: a new actuator, in its safe state with reason config.
            machine = ActuatorSafety(_config(step["config"]), step["t"], p.Reason.CONFIG)
            continue
        for status in _run_step(machine, step):
            # Every status the machine produces is a valid protocol payload.
            assert p.parse_actuator_status(p.encode(status)) == status


def test_boot_status_and_statuses_of_timers() -> None:
    """Boot state, and one status per self-made change, with runtime and activations."""
    machine = ActuatorSafety(_config({"gpio": 5, "type": "pump", "max_runtime_s": 10}), 100.0)
    assert machine.status(100.0) == p.ActuatorStatus(
        state=False, value=0, reason="boot", runtime_s=0.0, activations=0
    )
    on = p.ActuatorCommand("on", cmd_id="x1")
    assert machine.apply(on, 100.0) == [
        p.ActuatorStatus(True, 255, "command", cmd_id="x1", runtime_s=0.0, activations=1)
    ]
    assert machine.next_deadline() == 110.0
    assert machine.tick(109.0) == []
    assert machine.tick(125.0) == [
        p.ActuatorStatus(False, 0, "max_runtime", runtime_s=10.0, activations=1)
    ]
    assert machine.next_deadline() is None
    assert machine.runtime_s(200.0) == 10.0


def test_config_reason_and_invalid_commands() -> None:
    """A reconfigured actuator starts with reason config; malformed commands are invalid."""
    machine = ActuatorSafety(_config({"gpio": 5, "type": "relay"}), 0.0, p.Reason.CONFIG)
    assert machine.reason == "config"
    for command in (
        p.ActuatorCommand("blink"),
        p.ActuatorCommand("set"),
        p.ActuatorCommand("set", value=300),
        p.ActuatorCommand("pulse"),
        p.ActuatorCommand("on", duration_s=0),
    ):
        assert machine.check(command, 1.0) == p.Refusal.INVALID
        assert machine.apply(command, 1.0)[-1].refused == "invalid"
    assert machine.state is False


def test_check_is_pure_and_sees_due_timers() -> None:
    """check() considers timers due at `now` without firing them on the machine."""
    machine = ActuatorSafety(
        _config({"gpio": 5, "type": "pump", "max_runtime_s": 10, "cooldown_s": 5}), 0.0
    )
    machine.apply(p.ActuatorCommand("on"), 0.0)
    assert machine.check(p.ActuatorCommand("on"), 9.0) is None
    refused = machine.refusal(p.ActuatorCommand("on"), 12.0)
    assert refused is not None
    assert refused.code == p.Refusal.COOLDOWN
    assert refused.until_s == 3.0
    assert machine.state is True  # not fired by check
    assert machine.tick(12.0)[0].reason == "max_runtime"


def test_emergency_twice_publishes_once() -> None:
    """A repeated stop (retained broadcast on reconnect) changes nothing and says nothing."""
    machine = ActuatorSafety(_config({"gpio": 5, "type": "relay"}), 0.0)
    machine.apply(p.ActuatorCommand("on"), 0.0)
    assert len(machine.emergency_stop(1.0)) == 1
    assert machine.emergency_stop(2.0) == []
    assert machine.emergency_clear(3.0) == []


# --- properties ---------------------------------------------------------------------------


@dataclass
class _Trace:
    """What happened to an actuator over time, sampled at every change."""

    on_periods: list[tuple[float, float]] = field(default_factory=list)
    activations: list[float] = field(default_factory=list)
    offs: list[float] = field(default_factory=list)
    off_gaps: list[float] = field(default_factory=list)
    on_since: float | None = None
    count: int = 0
    emergency_on: list[float] = field(default_factory=list)

    def sample(self, machine: ActuatorSafety, t: float) -> None:
        if machine.state and self.on_since is None:
            self.on_since = t
        elif not machine.state and self.on_since is not None:
            self.on_periods.append((self.on_since, t))
            self.offs.append(t)
            self.on_since = None
        if machine.activations != self.count:
            assert machine.activations == self.count + 1
            if self.offs and machine.state:
                self.off_gaps.append(t - self.offs[-1])
            self.activations.append(t)
            self.count = machine.activations
        if machine.emergency and machine.state:
            self.emergency_on.append(t)


_HALVES = st.integers(0, 200).map(lambda n: n / 2)
_COMMANDS = st.one_of(
    st.just(p.ActuatorCommand("on")),
    st.just(p.ActuatorCommand("off")),
    st.builds(lambda d: p.ActuatorCommand("on", duration_s=d), _HALVES.filter(bool)),
    st.builds(lambda d: p.ActuatorCommand("pulse", duration_s=d), _HALVES.filter(bool)),
    st.builds(lambda v: p.ActuatorCommand("set", value=v), st.integers(0, 255)),
)
_EVENTS = st.one_of(
    _COMMANDS,
    st.sampled_from(["down", "up", "stop", "clear"]),
)
_GAPS = st.one_of(_HALVES, st.integers(0, 8).map(lambda n: n * 500.0))


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[p.ActuatorConfig, list[tuple[float, Any]]]:
    config = p.ActuatorConfig(
        gpio=5,
        type=draw(st.sampled_from(["relay", "pump", "valve", "pwm"])),
        max_runtime_s=draw(st.integers(0, 40)),
        cooldown_s=draw(st.integers(0, 30)),
        max_per_hour=draw(st.integers(0, 4)),
        failsafe_s=draw(st.integers(0, 20)),
    )
    t = 0.0
    events: list[tuple[float, Any]] = []
    for gap, event in draw(st.lists(st.tuples(_GAPS, _EVENTS), max_size=40)):
        t += gap
        events.append((t, event))
    return config, events


def _play(
    config: p.ActuatorConfig, events: list[tuple[float, Any]]
) -> tuple[ActuatorSafety, _Trace]:
    machine = ActuatorSafety(config, 0.0)
    trace = _Trace()
    trace.sample(machine, 0.0)
    for t, event in [*events, (events[-1][0] + 4000.0 if events else 4000.0, None)]:
        while (deadline := machine.next_deadline()) is not None and deadline <= t:
            machine.tick(deadline)
            trace.sample(machine, deadline)
        if isinstance(event, p.ActuatorCommand):
            expected = machine.check(event, t)
            answer = machine.apply(event, t)[-1]
            assert answer.refused == expected
        elif event == "down":
            machine.link_down(t)
        elif event == "up":
            machine.link_up(t)
        elif event == "stop":
            machine.emergency_stop(t)
        elif event == "clear":
            machine.emergency_clear(t)
        trace.sample(machine, t)
    return machine, trace


@settings(max_examples=200, deadline=None)
@given(_scenario())
def test_never_on_longer_than_max_runtime(scenario: Any) -> None:
    """With safe_state 0, no on-period lasts longer than max_runtime_s."""
    config, events = scenario
    _, trace = _play(config, events)
    if config.max_runtime_s:
        assert trace.on_since is None
        for start, end in trace.on_periods:
            assert end - start <= config.max_runtime_s + 1e-9


@settings(max_examples=200, deadline=None)
@given(_scenario())
def test_rate_limit_and_cooldown_hold(scenario: Any) -> None:
    """No 3600 s window holds more than max_per_hour activations; no turn-on in a cooldown."""
    config, events = scenario
    _, trace = _play(config, events)
    if config.max_per_hour:
        for start in trace.activations:
            in_window = [a for a in trace.activations if start <= a < start + 3600]
            assert len(in_window) <= config.max_per_hour
    if config.cooldown_s:
        assert all(gap >= config.cooldown_s - 1e-9 for gap in trace.off_gaps)


@settings(max_examples=100, deadline=None)
@given(_scenario())
def test_never_on_during_emergency(scenario: Any) -> None:
    """Between stop and clear an actuator with safe_state 0 is never on."""
    config, events = scenario
    _, trace = _play(config, events)
    assert trace.emergency_on == []


@settings(max_examples=100, deadline=None)
@given(_scenario())
def test_runtime_matches_on_periods(scenario: Any) -> None:
    """runtime_s is the sum of the on-periods; activations count the off->on transitions."""
    config, events = scenario
    machine, trace = _play(config, events)
    end = events[-1][0] + 4000.0 if events else 4000.0
    total = sum(b - a for a, b in trace.on_periods)
    if trace.on_since is not None:
        total += end - trace.on_since
    assert machine.runtime_s(end) == pytest.approx(total)
    assert machine.activations == len(trace.activations)
