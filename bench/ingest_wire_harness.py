"""Ingest through the wire: a load generator publishes `sensor/batch` messages to a real
Mosquitto (`set_tcp_nodelay true`) at an offered rate; Home Assistant's real MQTT connection
receives them and our sensors write the states. Reports achieved readings/s and the p50/p99
latency from publish to state.

HA's floor is measured in the same run, before ours, on the same load: one MQTT subscription
whose callback decodes each message and writes one bare SensorEntity state per reading (what
any integration must do at least). Python's full (generation 2) garbage collections stop HA's
loop for hundreds of ms on this heap, and every state write leaves cyclic garbage (HA's
state_changed Event and its Context refer to each other), so the tail is printed with the
collections that happened during the run.

Run by `make bench` through bench/bench_ingest_wire.py (pytest for HA's harness; nothing about
speed is asserted). The last lines are
`ingest-wire: offered=<n> achieved=<readings/s> p50_ms=<x> p99_ms=<y> floor_p99_ms=<z> ...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import gc
import json
from pathlib import Path
import sys
import time

from homeassistant.components import mqtt
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import orjson
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.common import BareSensor, add_bare_sensors, linear_device, p50_p99
from bench.rule_latency_harness import CpuShare
from custom_components.automationone.const import DOMAIN
from tests.broker import Broker

DEVICES = 100
SENSORS = 10
OFFERED = 10_000
SECONDS = 10.0
CHANGE_EVERY = (1, 10)
GPIOS = [32, 33, 34, 35, 36, 39, 25, 26, 27, 14][:SENSORS]


def device_entry(index: int) -> MockConfigEntry:
    """One device with SENSORS linear sensors (value = raw)."""
    return linear_device(
        f"wire-{index:03d}", f"24:0a:c4:00:{index // 256:02x}:{index % 256:02x}", GPIOS
    )


@dataclass
class Recorder:
    """(device, value, time) of every state write of the followed entities."""

    device_of: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, int, float]] = field(default_factory=list)

    @callback
    def on_state(self, event: Event[EventStateChangedData]) -> None:
        """Record one state write."""
        device = self.device_of.get(event.data["entity_id"])
        new = event.data["new_state"]
        if device is not None and new is not None and new.state not in ("unavailable", "unknown"):
            self.received.append((device, int(float(new.state)), time.monotonic()))


async def run_floor(
    hass: HomeAssistant, broker: Broker, recorder: Recorder, tmp: Path
) -> PhaseResult:
    """HA's floor on the same load: decode + one bare state write per reading."""
    names = [f"floor-{d:03d}" for d in range(DEVICES)]
    sensors = {name: {gpio: BareSensor(f"{name} {gpio}") for gpio in GPIOS} for name in names}
    platform = await add_bare_sensors(
        hass, "wire_floor", (s for by_pin in sensors.values() for s in by_pin.values())
    )
    recorder.device_of = {
        sensor.entity_id: name for name, by_pin in sensors.items() for sensor in by_pin.values()
    }
    processed = 0
    last_rx = 0.0

    @callback
    def on_batch(msg: mqtt.ReceiveMessage) -> None:
        nonlocal processed, last_rx
        by_pin = sensors[msg.topic.split("/")[3]]
        for reading in orjson.loads(msg.payload)["readings"]:
            sensor = by_pin[reading["gpio"]]
            sensor._attr_native_value = reading["raw"]
            sensor.async_write_ha_state()
            processed += 1
        last_rx = time.monotonic()

    unsubscribe = await mqtt.async_subscribe(
        hass, "kaiser/god/esp/+/sensor/batch", on_batch, qos=0, encoding=None
    )
    await asyncio.sleep(0.5)  # the subscription reaches the broker
    result = await run_phase(
        hass, broker, recorder, 1, tmp, "floor", lambda: processed, lambda: last_rx
    )
    unsubscribe()
    await platform.async_reset()
    return result


async def test_ingest_wire(
    hass: HomeAssistant,
    broker: Broker,
    mqtt_ready: None,
    tmp_path: Path,
) -> None:
    """Offered readings through Mosquitto into HA; print achieved rate and latency."""
    recorder = Recorder()
    hass.bus.async_listen(EVENT_STATE_CHANGED, recorder.on_state)
    floor = await run_floor(hass, broker, recorder, tmp_path)
    entries = [device_entry(i) for i in range(DEVICES)]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for entry in entries:  # the devices are online (their retained status)
        await mqtt.async_publish(
            hass, f"kaiser/god/esp/{entry.data['esp_id']}/status", "online", 1, True
        )

    # entity id -> device id, then record (device, seq, time) of every state write.
    recorder.device_of = {}
    for reg in er.async_get(hass).entities.values():
        if reg.platform == DOMAIN and reg.config_subentry_id:
            entry = hass.config_entries.async_get_entry(reg.config_entry_id)
            recorder.device_of[reg.entity_id] = entry.data["esp_id"]
    # Wait until HA's subscriptions reached the broker: the retained statuses come back.
    deadline = time.monotonic() + 30
    while not all(e.runtime_data.device.online for e in entries):
        assert time.monotonic() < deadline, "devices did not come online"
        await asyncio.sleep(0.05)

    devices = [e.runtime_data.device for e in entries]
    channels = [c for e in entries for c in e.runtime_data.channels.values()]
    results = []
    for change_every in CHANGE_EVERY:
        before = sum(d.readings_received for d in devices)
        results.append(
            await run_phase(
                hass,
                broker,
                recorder,
                change_every,
                tmp_path,
                "wire",
                lambda before=before: sum(d.readings_received for d in devices) - before,
                lambda: max((c.last_rx or 0.0) for c in channels),
            )
        )
    print(floor.line())
    for result in results:
        print(result.line(floor.p99_ms))


@dataclass(frozen=True)
class PhaseResult:
    """The figures of one load run."""

    name: str
    achieved: float
    p50_ms: float
    p99_ms: float
    writes_per_s: float
    gc_figures: str

    def line(self, floor_p99_ms: float | None = None) -> str:
        """The printed line; ours also names the floor's p99 of the same run."""
        floor = "" if floor_p99_ms is None else f" floor_p99_ms={floor_p99_ms:.1f}"
        return (
            f"{self.name}: offered={OFFERED} achieved={self.achieved:.0f}"
            f" p50_ms={self.p50_ms:.1f} p99_ms={self.p99_ms:.1f}{floor}"
            f" (state writes {self.writes_per_s:.0f}/s, {self.gc_figures})"
        )


class LoopLag:
    """How late a 10 ms timer fires on HA's loop: the backlog a message waits behind (HA's
    MQTT client handles up to 500 packets per socket read, all at once)."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            due = time.monotonic() + 0.01
            await asyncio.sleep(0.01)
            self.lags_ms.append((time.monotonic() - due) * 1000)


class FullCollections:
    """Python's generation 2 collections while it runs: how many, the longest, their sum."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._started) * 1000)

    def stop(self) -> str:
        """The figures, as printed."""
        gc.callbacks.remove(self._on_gc)
        pauses = self.pauses_ms or [0.0]
        return f"gc_full={len(self.pauses_ms)} gc_max_ms={max(pauses):.0f} gc_ms={sum(pauses):.0f}"


async def run_phase(
    hass: HomeAssistant,
    broker: Broker,
    recorder: Recorder,
    change_every: int,
    tmp_path: Path,
    prefix: str,
    processed_count: Callable[[], int],
    last_rx: Callable[[], float],
) -> PhaseResult:
    """One load run."""
    recorder.received.clear()
    received = recorder.received
    log = tmp_path / f"sent-{prefix}-{change_every}.json"
    collections = FullCollections()
    lag = LoopLag()
    lagging = hass.async_create_background_task(lag.run(), "loop lag")
    assert broker._proc is not None  # private, but only its pid is read
    cpu = CpuShare([broker._proc.pid])
    generator = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("wire_load.py")),
        "--port", str(broker.port), "--devices", str(DEVICES), "--sensors", str(SENSORS),
        "--readings-per-s", str(OFFERED), "--seconds", str(SECONDS), "--log", str(log),
        "--change-every", str(change_every), "--prefix", prefix,
    )  # fmt: skip
    await generator.wait()
    expected = int(OFFERED * SECONDS)
    settle = time.monotonic() + 15
    while processed_count() < expected:
        if time.monotonic() > settle:
            break
        await asyncio.sleep(0.05)
    await hass.async_block_till_done()
    cores_ours, cores_others = cpu.stop()
    lagging.cancel()
    processed = processed_count()
    gc_figures = collections.stop()
    sent = json.loads(log.read_text())
    # A state write belongs to the first message that carried its value.
    latencies = sorted(
        (at - sent["sent"][device][value * change_every]) * 1000
        for device, value, at in received
        if value * change_every < len(sent["sent"][device])
    )
    first = min(times[0] for times in sent["sent"].values())
    achieved = processed / max(last_rx() - first, sent["elapsed"])
    p50, p99 = p50_p99(latencies)
    print(
        f"\n{prefix}: value changes every {change_every} reading(s): {expected} readings sent, "
        f"{processed} processed, {len(received)} states written"
    )
    lag_p50, lag_p99 = p50_p99(sorted(lag.lags_ms))
    print(
        f"HA's event loop lag (a 10 ms timer's lateness): p50 {lag_p50:.1f} ms p99 {lag_p99:.1f}"
        f" ms max {max(lag.lags_ms):.1f} ms; CPU: HA, the load and the broker"
        f" {cores_ours:.2f} cores, other processes {cores_others:.2f} cores (of 2)"
    )
    name = "ingest-wire-floor" if prefix == "floor" else "ingest-wire"
    return PhaseResult(name, achieved, p50, p99, len(received) / SECONDS, gc_figures)
