"""Ingest through the wire: a load generator publishes `sensor/batch` messages to a real
Mosquitto (`set_tcp_nodelay true`) at an offered rate; Home Assistant's real MQTT connection
receives them and our sensors write the states. Reports achieved readings/s and the p50/p99
latency from publish to state.

Run by `make bench` through bench/bench_ingest_wire.py (pytest for HA's harness; nothing about
speed is asserted). The last line is
`ingest-wire: offered=<n> achieved=<readings/s> p50_ms=<x> p99_ms=<y>`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import sys
import time

from homeassistant.components import mqtt
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.common import linear_device, p50_p99
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


async def test_ingest_wire(
    hass: HomeAssistant,
    broker: Broker,
    mqtt_ready: None,
    tmp_path: Path,
) -> None:
    """Offered readings through Mosquitto into HA; print achieved rate and latency."""
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
    device_of: dict[str, str] = {}
    for reg in er.async_get(hass).entities.values():
        if reg.platform == DOMAIN and reg.config_subentry_id:
            entry = hass.config_entries.async_get_entry(reg.config_entry_id)
            device_of[reg.entity_id] = entry.data["esp_id"]
    received: list[tuple[str, int, float]] = []

    @callback
    def on_state(event: Event[EventStateChangedData]) -> None:
        device = device_of.get(event.data["entity_id"])
        new = event.data["new_state"]
        if device is not None and new is not None and new.state not in ("unavailable", "unknown"):
            received.append((device, int(float(new.state)), time.monotonic()))

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    # Wait until HA's subscriptions reached the broker: the retained statuses come back.
    deadline = time.monotonic() + 30
    while not all(e.runtime_data.device.online for e in entries):
        assert time.monotonic() < deadline, "devices did not come online"
        await asyncio.sleep(0.05)

    results = []
    for change_every in CHANGE_EVERY:
        received.clear()
        results.append(await run_phase(hass, broker, entries, received, change_every, tmp_path))
    for line in results:
        print(line)


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


async def run_phase(
    hass: HomeAssistant,
    broker: Broker,
    entries: list[MockConfigEntry],
    received: list[tuple[str, int, float]],
    change_every: int,
    tmp_path: Path,
) -> str:
    """One load run; returns its result line."""
    devices = [e.runtime_data.device for e in entries]
    before = sum(d.readings_received for d in devices)
    log = tmp_path / f"sent-{change_every}.json"
    lag = LoopLag()
    lagging = hass.async_create_background_task(lag.run(), "loop lag")
    assert broker._proc is not None  # private, but only its pid is read
    cpu = CpuShare([broker._proc.pid])
    generator = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("wire_load.py")),
        "--port", str(broker.port), "--devices", str(DEVICES), "--sensors", str(SENSORS),
        "--readings-per-s", str(OFFERED), "--seconds", str(SECONDS), "--log", str(log),
        "--change-every", str(change_every), "--prefix", "wire",
    )  # fmt: skip
    await generator.wait()
    expected = int(OFFERED * SECONDS)
    settle = time.monotonic() + 15
    while sum(d.readings_received for d in devices) - before < expected:
        if time.monotonic() > settle:
            break
        await asyncio.sleep(0.05)
    await hass.async_block_till_done()
    cores_ours, cores_others = cpu.stop()
    lagging.cancel()
    processed = sum(d.readings_received for d in devices) - before
    sent = json.loads(log.read_text())
    # A state write belongs to the first message that carried its value.
    latencies = sorted(
        (at - sent["sent"][device][value * change_every]) * 1000
        for device, value, at in received
        if value * change_every < len(sent["sent"][device])
    )
    first = min(times[0] for times in sent["sent"].values())
    last = max((c.last_rx or 0.0) for e in entries for c in e.runtime_data.channels.values())
    achieved = processed / max(last - first, sent["elapsed"])
    p50, p99 = p50_p99(latencies)
    print(
        f"\nvalue changes every {change_every} reading(s): {expected} readings sent, "
        f"{processed} processed, {len(received)} states written"
    )
    lag_p50, lag_p99 = p50_p99(sorted(lag.lags_ms))
    print(
        f"HA's event loop lag (a 10 ms timer's lateness): p50 {lag_p50:.1f} ms p99 {lag_p99:.1f}"
        f" ms max {max(lag.lags_ms):.1f} ms; CPU: HA, the load and the broker"
        f" {cores_ours:.2f} cores, other processes {cores_others:.2f} cores (of 2)"
    )
    return (
        f"ingest-wire: offered={OFFERED} achieved={achieved:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f}"
        f" (state writes {len(received) / SECONDS:.0f}/s)"
    )
