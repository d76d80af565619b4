"""Rule latency: a raw sensor reading published on the broker until the actuator command of
the HA automation it triggers arrives at the broker's other side, through a real Mosquitto
(`set_tcp_nodelay true`) under 1,000 (or RULE_LATENCY_LOAD) readings/s of background load
from 100 other devices.

Ours: a processed sensor of a device (HA-side linear processing, one raw message -> one
state) -> our device trigger `sensor_above` / `sensor_below` with hysteresis -> our device
action `turn_on` / `turn_off` of a pump on a second device (the simulator, which answers every
command with its status, as a real device does).
Anchor, same HA, same broker, same load, events interleaved with ours: HA's own MQTT sensor
(discovery + `value_template`) -> native `numeric_state` automations -> `mqtt.publish` of the
same command to a second pump of the simulated device.
The load is one reading per message (1,000 messages/s, the anchor of docs/architecture.md,
"Latency and load"; 3,000 for the `rule-latency-3000` line), every reading a new value, so HA
writes that many states/s. Idle phases come first, for comparison.

bench/rule_latency_probe.py (its own process) publishes the readings and timestamps the
commands; bench/wire_load.py makes the background load. Run by `make bench` through
bench/bench_rule_latency.py (pytest for HA's harness; nothing about speed is asserted). The
last line is `rule-latency: p50_ms=<x> p99_ms=<y> anchor_p99_ms=<z>` (`rule-latency-3000: ..`
with RULE_LATENCY_LOAD=3000).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
import contextlib
import gc
import json
import os
from pathlib import Path
import resource
import sys
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.common import linear_device, p50_p99
from custom_components.automationone.const import DOMAIN
from tests.broker import Broker
from tests.ha.realtime import add_discovered_device, simulator, wait_for
from tests.ha.test_real_broker_actuators import LIMITS

BENCH = Path(__file__).parent
EVENTS = int(os.environ.get("RULE_LATENCY_EVENTS", "2000"))  # measured events per chain
WARMUP = 100
GAP_MS = (5.0, 10.0)  # pause between an event's device answer and the next reading
# Before the load starts (docs/architecture.md has an idle anchor too): readings as close as
# under load, and readings >= 50 ms apart. HA's MQTT socket has no TCP_NODELAY: with nothing
# else on the wire, a command sent within the broker's delayed-ACK time (40 ms) after HA's
# PUBACK of the device's status waits for that ACK (Nagle). Load traffic carries the ACK at
# once.
IDLE_EVENTS = 200
IDLE_SPACED_GAP_MS = (50.0, 60.0)
LOAD_DEVICES = 100
# 1,000 (the `rule-latency` line) or 3,000 (`rule-latency-3000`) readings/s of background load.
LOAD_READINGS_PER_S = int(os.environ.get("RULE_LATENCY_LOAD", "1000"))
LOAD_SENSOR_GPIO = 32  # wire_load's first sensor pin
SOURCE = "rl-src"
SOURCE_GPIO = 34
PUMP_GPIO = 26  # commanded by our device action
ANCHOR_PUMP_GPIO = 27  # commanded by the anchor's mqtt.publish
THRESHOLD = 50_000.0  # between the probe's low and high readings
HYSTERESIS = 1.0
ANCHOR_DATA = f"anchor/{SOURCE}/sensor/{SOURCE_GPIO}/data"  # outside kaiser/: ours ignores it


def sensor_device(esp_id: str, index: int, gpio: int) -> MockConfigEntry:
    """A device with one linear sensor processed in HA (value = raw)."""
    return linear_device(esp_id, f"24:0a:c4:01:{index // 256:02x}:{index % 256:02x}", (gpio,))


async def add_pump(hass: HomeAssistant, entry: ConfigEntry, name: str, gpio: int) -> str:
    """A pump without limits through the actuator subentry flow; returns its entity id."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "actuator"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"actuator_type": "pump", "name": name}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gpio": str(gpio), **LIMITS}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return subentry_entity(hass, entry, "switch", name)


def subentry_entity(hass: HomeAssistant, entry: ConfigEntry, domain: str, title: str) -> str:
    """The main entity of the entry's subentry titled `title`."""
    subentry_id = next(s for s, sub in entry.subentries.items() if sub.title == title)
    entity_id = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, f"{entry.unique_id}-{subentry_id}"
    )
    assert entity_id is not None
    return entity_id


def automations(
    hass: HomeAssistant, source_sensor: str, pump: str, anchor_sensor: str, anchor_command: str
) -> list[dict[str, Any]]:
    """Ours (device trigger + device action) and the anchor (numeric_state + mqtt.publish),
    each as an on and an off automation."""
    registry = er.async_get(hass)
    sensor_reg = registry.async_get(source_sensor)
    pump_reg = registry.async_get(pump)
    assert sensor_reg is not None
    assert pump_reg is not None
    configs: list[dict[str, Any]] = []
    for trigger_type, key, action in (
        ("sensor_above", "above", "on"),
        ("sensor_below", "below", "off"),
    ):
        configs.append(
            {
                "id": f"rl_ours_{action}",
                "alias": f"ours {action}",
                "triggers": [
                    {
                        "trigger": "device",
                        "domain": DOMAIN,
                        "device_id": sensor_reg.device_id,
                        "entity_id": sensor_reg.id,
                        "type": trigger_type,
                        key: THRESHOLD,
                        "hysteresis": HYSTERESIS,
                    }
                ],
                "actions": [
                    {
                        "domain": DOMAIN,
                        "device_id": pump_reg.device_id,
                        "entity_id": pump_reg.id,
                        "type": f"turn_{action}",
                    }
                ],
            }
        )
        configs.append(
            {
                "id": f"rl_anchor_{action}",
                "alias": f"anchor {action}",
                "triggers": [
                    {"trigger": "numeric_state", "entity_id": anchor_sensor, key: THRESHOLD}
                ],
                "actions": [
                    {
                        "action": "mqtt.publish",
                        "data": {
                            "topic": anchor_command,
                            "payload": json.dumps({"v": 1, "action": action, "source": "anchor"}),
                            "qos": 1,
                        },
                    }
                ],
            }
        )
    return configs


@contextlib.asynccontextmanager
async def background_load(port: int, tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """wire_load.py at 1,000 readings/s (one reading per message) until the block ends."""
    load = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "wire_load.py"),
        "--port", str(port), "--devices", str(LOAD_DEVICES), "--sensors", "1",
        "--readings-per-s", str(LOAD_READINGS_PER_S), "--seconds", "600",
        "--log", str(tmp_path / "load.json"), "--prefix", "rlload",
    )  # fmt: skip
    try:
        yield load
    finally:
        if load.returncode is None:
            load.terminate()
        await load.wait()


class GcPauses:
    """Garbage collections of the HA process (a suspect of tail latency), as diagnostics."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:  # the young generations take microseconds
            self.pauses_ms.append((time.perf_counter() - self._started) * 1000)


def cpu_seconds(pid: int | str) -> float:
    """CPU time (user + system) a live process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent busy."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """How much of the machine the benchmark's processes and everybody else used: the 2 cores
    are shared with other work, and its share is what makes tails noisy."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.wall = time.monotonic()
        self.busy = machine_busy_seconds()
        self.ours = self._ours()

    def _ours(self) -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped: the probe
        return (
            cpu_seconds("self")
            + sum(cpu_seconds(pid) for pid in self.pids)
            + children.ru_utime
            + children.ru_stime
        )

    def stop(self) -> tuple[float, float]:
        """Cores used by ours and by other processes since the start."""
        wall = time.monotonic() - self.wall
        ours = (self._ours() - self.ours) / wall
        return ours, (machine_busy_seconds() - self.busy) / wall - ours


QUIET_CORES = 0.25


class CpuSampler:
    """Other processes' CPU use every half second, to tell which events met a busy machine
    (other engineers share the 2 cores; their bursts, not HA, make most of the tail)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = set(pids)
        self.starts: list[float] = []
        self.others: list[float] = []  # cores used by other processes in each window

    def _sample(self) -> tuple[float, float, dict[int | str, float]]:
        used: dict[int | str, float] = {}
        pids: list[int | str] = ["self", *self.pids]
        for pid in pids:
            with contextlib.suppress(OSError):  # exited and reaped
                used[pid] = cpu_seconds(pid)
        return time.monotonic(), machine_busy_seconds(), used

    async def run(self) -> None:
        """Sample until cancelled."""
        then, busy, used = self._sample()
        while True:
            await asyncio.sleep(0.5)
            now, busy_now, used_now = self._sample()
            ours = sum(t - used[pid] for pid, t in used_now.items() if pid in used)
            self.starts.append(then)
            self.others.append((busy_now - busy - ours) / (now - then))
            then, busy, used = now, busy_now, used_now

    def quiet(self, at: float) -> bool:
        """Whether other processes left the machine alone around `at`."""
        index = bisect.bisect_right(self.starts, at) - 1
        return 0 <= index < len(self.others) and self.others[index] < QUIET_CORES


async def run_probe(
    port: int,
    chains: list[list[str]],
    events: int,
    gap_ms: tuple[float, float],
    out: Path,
    sampler: CpuSampler | None = None,
) -> dict[str, Any]:
    """bench/rule_latency_probe.py in its own process; its results."""
    args = [arg for chain in chains for arg in ("--chain", *chain)]
    probe = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "rule_latency_probe.py"),
        "--port", str(port), "--events", str(events), "--warmup", str(WARMUP),
        # seq goes on across runs: a device's seq only moves forward
        "--seq-start", str(int(time.monotonic() * 1000)), "--out", str(out), *args,
        "--gap-ms", *map(str, gap_ms),
    )  # fmt: skip
    if sampler is not None:
        sampler.pids.add(probe.pid)
    assert await probe.wait() == 0
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.mark.timeout(400)  # the suite's 120 s is for tests; this runs for 1.5-3 min
async def test_rule_latency(
    hass: HomeAssistant,
    broker: Broker,
    mqtt_ready: None,
    tmp_path: Path,
) -> None:
    """Print p50/p99 reading -> command latency of ours and of the anchor."""

    # The source device and the load devices: readings come from the probe and wire_load.
    source = sensor_device(SOURCE, 0, SOURCE_GPIO)
    loaded = [
        sensor_device(f"rlload-{n:03d}", n + 1, LOAD_SENSOR_GPIO) for n in range(LOAD_DEVICES)
    ]
    for entry in [source, *loaded]:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await mqtt.async_publish(
            hass, f"kaiser/god/esp/{entry.data['esp_id']}/status", "online", 1, True
        )
    await hass.async_block_till_done()

    # The actuator device: a simulator, discovered and given two pumps.
    device = simulator(
        broker.port, "--devices", "1", "--prefix", "rlact", "--log-level", "warning"
    ).start()
    try:
        actuated = await add_discovered_device(hass)
        pump = await add_pump(hass, actuated, "Pump", PUMP_GPIO)
        anchor_pump = await add_pump(hass, actuated, "Anchor pump", ANCHOR_PUMP_GPIO)
        await wait_for(
            hass,
            lambda: all(
                (state := hass.states.get(s)) is not None and state.state == STATE_OFF
                for s in (pump, anchor_pump)
            ),
            what="the device's first status of both pumps",
        )
        root = f"kaiser/god/esp/{actuated.data['esp_id']}/actuator"
        ours_command = f"{root}/{PUMP_GPIO}/command"
        anchor_command = f"{root}/{ANCHOR_PUMP_GPIO}/command"

        # The anchor's sensor: HA's MQTT discovery with a value_template.
        discovery = {
            "name": "RL anchor value",
            "unique_id": "rl_anchor_value",
            "state_topic": ANCHOR_DATA,
            "value_template": "{{ value_json.raw }}",
        }
        await mqtt.async_publish(
            hass, "homeassistant/sensor/rl_anchor/config", json.dumps(discovery), 1, True
        )
        registry = er.async_get(hass)
        await wait_for(
            hass,
            lambda: registry.async_get_entity_id("sensor", "mqtt", "rl_anchor_value"),
            what="the anchor's MQTT sensor",
        )
        anchor_sensor = registry.async_get_entity_id("sensor", "mqtt", "rl_anchor_value")
        assert anchor_sensor is not None

        source_sensor = subentry_entity(hass, source, "sensor", f"{SOURCE} s{SOURCE_GPIO}")
        assert await async_setup_component(
            hass,
            "automation",
            {"automation": automations(hass, source_sensor, pump, anchor_sensor, anchor_command)},
        )
        await hass.async_block_till_done()
        await wait_for(
            hass,
            lambda: all(e.runtime_data.device.online for e in [source, *loaded]),
            what="the sensor devices online (their retained status back through the broker)",
        )

        probe_chains = [
            ["ours", f"kaiser/god/esp/{SOURCE}/sensor/{SOURCE_GPIO}/data", ours_command],
            ["anchor", ANCHOR_DATA, anchor_command],
        ]
        idle = {
            f"idle, {gap[0]:.0f}-{gap[1]:.0f} ms apart": await run_probe(
                broker.port, probe_chains, IDLE_EVENTS, gap, tmp_path / f"idle-{gap[0]:.0f}.json"
            )
            for gap in (GAP_MS, IDLE_SPACED_GAP_MS)
        }
        loads = [e.runtime_data.device for e in loaded]
        async with background_load(broker.port, tmp_path) as load:
            await asyncio.sleep(2.0)  # the load reaches its rate
            gc_pauses = GcPauses()
            gc.callbacks.append(gc_pauses)
            mosquitto = broker._proc  # private, but only its pid is read
            assert device.proc is not None
            assert mosquitto is not None
            cpu = CpuShare([load.pid, device.proc.pid, mosquitto.pid])
            sampler = CpuSampler([load.pid, device.proc.pid, mosquitto.pid])
            sampling = hass.async_create_background_task(sampler.run(), "cpu sampler")
            before = sum(d.readings_received for d in loads)
            started = time.monotonic()
            result = await run_probe(
                broker.port, probe_chains, EVENTS, GAP_MS, tmp_path / "loaded.json", sampler
            )
            cores_ours, cores_others = cpu.stop()
            sampling.cancel()
            gc.callbacks.remove(gc_pauses)
            load_rate = (sum(d.readings_received for d in loads) - before) / (
                time.monotonic() - started
            )
    finally:
        device.stop()

    chains = result["chains"]
    ours_p50, ours_p99 = p50_p99(chains["ours"]["latencies_ms"])
    anchor_p50, anchor_p99 = p50_p99(chains["anchor"]["latencies_ms"])
    print()
    for phase, run in idle.items():
        for name in ("ours", "anchor"):
            chain = run["chains"][name]
            p50, p99 = p50_p99(chain["latencies_ms"])
            print(
                f"{phase}: {name:>6} {len(chain['latencies_ms'])} events p50 {p50:.2f} ms "
                f"p99 {p99:.2f} ms; missed {chain['missed']} wrong {chain['wrong']}"
            )
    print(
        f"under load: {load_rate:.0f} readings/s processed by HA from {LOAD_DEVICES} other "
        f"devices during the {result['elapsed_s']:.0f} s of measurement"
    )
    for name, p50, p99 in (("ours", ours_p50, ours_p99), ("anchor", anchor_p50, anchor_p99)):
        chain = chains[name]
        latencies = chain["latencies_ms"]
        print(
            f"{name:>6}: {len(latencies)} events p50 {p50:.2f} ms p99 {p99:.2f} ms "
            f"max {max(latencies):.2f} ms, {sum(x > 5 for x in latencies)} over 5 ms; "
            f"missed {chain['missed']} wrong {chain['wrong']} stray {chain['stray']}"
        )
    print(
        f"CPU meanwhile: the benchmark's processes {cores_ours:.2f} cores, other processes "
        f"{cores_others:.2f} cores (of {os.cpu_count()}; about: /proc/stat counts in ticks): "
        "tails move with the second figure"
    )
    quiet_windows = sum(o < QUIET_CORES for o in sampler.others)
    print(
        f"quiet half-seconds (other processes < {QUIET_CORES} cores): {quiet_windows} of "
        f"{len(sampler.others)}; the events sent in them:"
    )
    for name in ("ours", "anchor"):
        chain = chains[name]
        calm = [
            ms
            for ms, at in zip(chain["latencies_ms"], chain["sent_at"], strict=True)
            if sampler.quiet(at)
        ]
        if len(calm) >= 100:
            p50, p99 = p50_p99(calm)
            print(f"{name:>6}: {len(calm)} events p50 {p50:.2f} ms p99 {p99:.2f} ms")
        else:
            print(f"{name:>6}: {len(calm)} events, too few for a p99")
    pauses = gc_pauses.pauses_ms
    print(
        f"HA process during the measurement: {len(pauses)} full garbage collections"
        f" (max {max(pauses, default=0):.1f} ms)"
    )
    print(f"anchor: p50_ms={anchor_p50:.2f} p99_ms={anchor_p99:.2f}")
    print(f"ratio ours/anchor: p50 {ours_p50 / anchor_p50:.2f}x p99 {ours_p99 / anchor_p99:.2f}x")
    label = "rule-latency" if LOAD_READINGS_PER_S == 1000 else f"rule-latency-{LOAD_READINGS_PER_S}"
    print(f"{label}: p50_ms={ours_p50:.2f} p99_ms={ours_p99:.2f} anchor_p99_ms={anchor_p99:.2f}")
