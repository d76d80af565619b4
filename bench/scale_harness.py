"""Scale: 500 devices x 10 sensors behind two bridged Kaiser relays, against HA's own MQTT
discovery of 5,000 sensors.

Ours: two relay brokers (bench/relays.py: Mosquitto bridges `kaiser/{id}/#` both ways to the
main broker), one simulator process per relay with 250 devices each, every device sending its
sample cycle (10 readings) as one `sensor/batch` message. HA starts with the 500
configured devices (10 linear sensors each, processed in HA) while the devices come up: the
clock runs from starting the devices (they connect and announce) and setting up the 500 entries
together, as on a power cut, until every one of the 5,000 sensors has a value. RSS growth of
the HA process over the same span (after a full collection).
Anchor: HA's MQTT discovery of 500 devices x 10 sensors (bench/scale_discovery.py publishes a
discovery config and a retained state per sensor to the main broker), from the first publish
until every sensor has its state, and the RSS growth.
Floor: what as many sensors cost HA itself, with no integration at all: 5,000 bare registered
SensorEntities, each with one state (its entity-registry entry, entity object and state).

Each side runs in its own HA process (bench/bench_scale.py runs this file once per test, so
the RSS figures do not share a heap) and prints `scale-part: {json}`; bench_scale.py prints
`scale: devices=500 sensors=5000 ready_s=.. rss_mb=.. anchor_ready_s=.. anchor_rss_mb=..`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib
import cProfile
import gc
import json
import os
from pathlib import Path
import sys
import time
import tracemalloc

from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest

from bench.common import BareSensor, add_bare_sensors, linear_device
from bench.relays import RelayBroker, wait_bridged
from custom_components.automationone.const import DOMAIN
from simulator.device import mac_for
from tests.broker import Broker
from tests.ha.realtime import DeviceProcess, simulator

DEVICES = 500
SENSORS = 10
RELAYS = ("k1", "k2")
GPIOS = [32, 33, 34, 35, 36, 39, 25, 26, 27, 14][:SENSORS]
BENCH = Path(__file__).parent
WITHIN_S = 300.0


def rss_mb() -> float:
    """Resident set size of this (the HA) process, after a full collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def write_memory_profile(path: Path) -> None:
    """What the Python heap gained since tracing started, by file and by line (SCALE_MEMORY)."""
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    lines = []
    for key in ("filename", "lineno"):
        stats = snapshot.statistics(key)
        lines.append(f"== by {key}: {sum(s.size for s in stats) / 2**20:.1f} MiB in all")
        lines.extend(str(stat) for stat in stats[:60])
    for stat in snapshot.statistics("traceback")[:8]:  # with SCALE_MEMORY_FRAMES > 1
        lines.append(f"== {stat}")
        lines.extend(stat.traceback.format())
    path.write_text("\n".join(lines) + "\n")


def device_ids(kaiser_id: str) -> list[str]:
    """The simulator's ids of the devices behind one relay."""
    return [f"sc{kaiser_id}-{n:02d}" for n in range(1, DEVICES // len(RELAYS) + 1)]


class Ready:
    """When each entity first had a value (state_changed events)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.at: dict[str, float] = {}
        self.remove = hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_state)

    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and new.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            self.at.setdefault(event.data["entity_id"], time.monotonic())

    async def wait(self, targets: Iterator[str] | set[str], what: str) -> float:
        """The time the last of `targets` got a value."""
        wanted = set(targets)
        deadline = time.monotonic() + WITHIN_S
        while not wanted <= self.at.keys():
            if time.monotonic() > deadline:
                missing = len(wanted - self.at.keys())
                raise AssertionError(f"{missing} of {len(wanted)} {what} without a value")
            await asyncio.sleep(0.05)
        return max(self.at[e] for e in wanted)


def report(**fields: object) -> None:
    """The line bench_scale.py reads."""
    print(f"\nscale-part: {json.dumps(fields)}")


@contextlib.contextmanager
def relay_brokers(main: Broker) -> Iterator[list[RelayBroker]]:
    """The relays' brokers, bridged to `main`."""
    relays = [RelayBroker(kaiser_id, main.port) for kaiser_id in RELAYS]
    try:
        for relay in relays:
            relay.start()
        yield relays
    finally:
        for relay in relays:
            relay.__exit__()


@pytest.mark.timeout(600)
async def test_anchor(hass: HomeAssistant, broker: Broker, mqtt_ready: None) -> None:
    """HA's own MQTT discovery of DEVICES x SENSORS sensors."""
    ready = Ready(hass)
    await hass.async_block_till_done()
    before = rss_mb()
    start = time.monotonic()
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "scale_discovery.py"), "--port", str(broker.port),
        "--devices", str(DEVICES), "--sensors", str(SENSORS),
    )  # fmt: skip
    registry = er.async_get(hass)
    deadline = time.monotonic() + WITHIN_S
    while (found := sum(e.platform == "mqtt" for e in registry.entities.values())) < (
        DEVICES * SENSORS
    ):
        assert time.monotonic() < deadline, f"only {found} discovered sensors appeared"
        await asyncio.sleep(0.05)
    targets = {e.entity_id for e in registry.entities.values() if e.platform == "mqtt"}
    last = await ready.wait(targets, "discovered sensors")
    ready_s = last - start
    rss = rss_mb() - before
    assert await publisher.wait() == 0
    report(side="anchor", ready_s=round(ready_s, 2), rss_mb=round(rss, 1))


@pytest.mark.timeout(600)
async def test_floor(hass: HomeAssistant) -> None:
    """What DEVICES x SENSORS sensors cost HA itself: bare SensorEntities (registered, so in the
    entity registry as any sensor a user can manage) with one state each, and nothing else."""
    ready = Ready(hass)
    await hass.async_block_till_done()
    before = rss_mb()
    start = time.monotonic()
    sensors = [BareSensor(f"floor {n}") for n in range(DEVICES * SENSORS)]
    for n, sensor in enumerate(sensors):
        sensor._attr_native_value = n
    await add_bare_sensors(hass, "bench_floor", sensors)
    last = await ready.wait({sensor.entity_id for sensor in sensors}, "bare")
    ready_s = last - start
    rss = rss_mb() - before
    report(side="floor", ready_s=round(ready_s, 2), rss_mb=round(rss, 1))


@pytest.mark.timeout(600)
async def test_ours(hass: HomeAssistant, broker: Broker, mqtt_ready: None) -> None:
    """DEVICES x SENSORS of ours behind the relays."""
    assert await async_setup_component(hass, DOMAIN, {})
    with relay_brokers(broker) as relays:
        for relay in relays:
            await hass.async_add_executor_job(wait_bridged, broker.port, relay)
        entries = [
            linear_device(esp_id, mac_for(esp_id).lower(), GPIOS, kaiser_id=kaiser_id)
            for kaiser_id in RELAYS
            for esp_id in device_ids(kaiser_id)
        ]
        ready = Ready(hass)
        await hass.async_block_till_done()
        before = rss_mb()
        if os.environ.get("SCALE_MEMORY"):
            tracemalloc.start(int(os.environ.get("SCALE_MEMORY_FRAMES", "1")))
        fleets: list[DeviceProcess] = []
        start = time.monotonic()
        try:
            fleets.extend(
                simulator(
                    relay.port, "--devices", str(DEVICES // len(RELAYS)),
                    "--prefix", f"sc{relay.kaiser_id}", "--kaiser", relay.kaiser_id,
                    "--log-level", "warning", "--batch",
                ).start()
                for relay in relays
            )  # fmt: skip
            profiler = cProfile.Profile() if os.environ.get("SCALE_PROFILE") else None
            if profiler is not None:
                profiler.enable()
            for entry in entries:
                entry.add_to_hass(hass)
            results = await asyncio.gather(
                *(hass.config_entries.async_setup(entry.entry_id) for entry in entries)
            )
            assert all(results)
            setup_s = time.monotonic() - start
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(os.environ["SCALE_PROFILE"])
            registry = er.async_get(hass)
            targets = {
                e.entity_id
                for e in registry.entities.values()
                if e.platform == DOMAIN
                and e.domain == "sensor"
                and e.config_subentry_id
                and e.disabled_by is None  # not the raw sensors (disabled by default)
            }
            assert len(targets) == DEVICES * SENSORS
            last = await ready.wait(targets, "sensors of ours")
            ready_s = last - start
            rss = rss_mb() - before
            if tracemalloc.is_tracing():
                write_memory_profile(Path(os.environ["SCALE_MEMORY"]))
            devices = [entry.runtime_data.device for entry in entries]
            assert all(not d.rejected for d in devices), "a device's message was rejected"
            entities = len([e for e in registry.entities.values() if e.platform == DOMAIN])
        finally:
            for fleet in fleets:
                fleet.stop()
    report(
        side="ours",
        ready_s=round(ready_s, 2),
        rss_mb=round(rss, 1),
        setup_s=round(setup_s, 2),
        entities=entities,
    )
