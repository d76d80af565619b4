"""Emergency stop latency: from the `automationone.emergency_stop` service call until every
device (real Mosquitto with `set_tcp_nodelay true`) has reported its pump stopped with reason
`emergency`.

The fleets of 1, 10 and 100 devices (simulator processes) sit on the main broker and get their
pump by a config published here. The fleet of 500 is the firmware core itself, one virtual-esp
process per device (it sleeps until its next timed work or a message, as a board idles), behind
two Kaiser relays (bench/relays.py: Mosquitto bridges), 250 devices each, configured as HA
entries with one pump each (HA pushes their config); the stop goes out as each relay's broadcast
and every confirmation comes back over the bridges.

Run by `make bench` through bench/bench_estop.py (pytest for HA's harness; nothing about
speed is asserted). The last line is `estop: devices=500 p50_ms=<x> p99_ms=<y>`.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.common import AS_THE_FLOW_MAKES_IT, p50_p99
from bench.relays import RelayBroker, wait_bridged
from custom_components.automationone.const import DOMAIN
from tests.broker import Broker
from tests.ha.realtime import simulator, virtual_esp
from tests.virtual_esp import virtual_esp_mac

FLEETS = (1, 10, 100)
ROUNDS = {1: 30, 10: 10, 100: 5, 500: 4}
PUMP = 5
HEARTBEAT_S = 30  # the relayed devices' (virtual-esp) heartbeat period
RELAYS = ("e1", "e2")
RELAYED_DEVICES = 500
NO_LIMITS = {
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 0,
    "cooldown_s": 0,
    "max_per_hour": 0,
    "failsafe_s": 0,
}


async def wait_until(condition: Any, within: float, what: str) -> None:
    """Poll `condition` (the loop keeps running HA meanwhile)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def run_fleet(hass: HomeAssistant, port: int, count: int) -> list[float]:
    """Latencies (ms) of every device's emergency stop over several rounds."""
    prefix = f"es{count}"
    statuses: dict[str, tuple[float, dict[str, Any]]] = {}
    online: set[str] = set()

    @callback
    def on_status(msg: mqtt.ReceiveMessage) -> None:
        esp_id = msg.topic.split("/")[3]
        if msg.payload:
            statuses[esp_id] = (time.monotonic(), json.loads(msg.payload))

    @callback
    def on_online(msg: mqtt.ReceiveMessage) -> None:
        if msg.payload == "online":
            online.add(msg.topic.split("/")[3])

    unsubscribe = [
        await mqtt.async_subscribe(hass, f"kaiser/god/esp/+/actuator/{PUMP}/status", on_status),
        await mqtt.async_subscribe(hass, "kaiser/god/esp/+/status", on_online),
    ]
    fleet = simulator(port, "--devices", str(count), "--prefix", prefix).start()
    try:
        ids = [f"{prefix}-{n:02d}" for n in range(1, count + 1)]
        await wait_until(lambda: online >= set(ids), 60, "devices online")
        config = {
            "v": 1,
            "version": 1,
            "sensors": [],
            "actuators": [{"gpio": PUMP, "type": "pump"}],
        }
        for esp_id in ids:
            await mqtt.async_publish(
                hass, f"kaiser/god/esp/{esp_id}/config", json.dumps(config), 1, True
            )
        await wait_until(lambda: all(i in statuses for i in ids), 30, "boot statuses")
        latencies: list[float] = []
        for _ in range(ROUNDS[count]):
            await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
            for esp_id in ids:
                await mqtt.async_publish(
                    hass,
                    f"kaiser/god/esp/{esp_id}/actuator/{PUMP}/command",
                    '{"v":1,"action":"on"}',
                    1,
                    False,
                )
            await wait_until(lambda: all(statuses[i][1]["state"] for i in ids), 30, "pumps on")
            start = time.monotonic()
            await hass.services.async_call(DOMAIN, "emergency_stop", {}, blocking=True)
            await wait_until(
                lambda: all(
                    statuses[i][1]["reason"] == "emergency" and not statuses[i][1]["state"]
                    for i in ids
                ),
                30,
                "every pump stopped",
            )
            latencies.extend((statuses[i][0] - start) * 1000 for i in ids)
        await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
        for esp_id in ids:  # leave nothing retained for the next fleet
            await mqtt.async_publish(hass, f"kaiser/god/esp/{esp_id}/config", "", 1, True)
        return latencies
    finally:
        fleet.stop()
        for remove in unsubscribe:
            remove()


async def test_estop(hass: HomeAssistant, broker: Any, mqtt_ready: None) -> None:
    """Print p50/p99 emergency-stop latency for 1, 10 and 100 devices."""
    assert await async_setup_component(hass, DOMAIN, {})
    lines = []
    for count in FLEETS:
        latencies = sorted(await run_fleet(hass, broker.port, count))
        p50, p99 = p50_p99(latencies)
        lines.append(
            f"estop: devices={count} p50_ms={p50:.1f} p99_ms={p99:.1f}"
            f" (max {latencies[-1]:.1f}, {len(latencies)} stops)"
        )
    print()
    for line in lines:
        print(line)


def pump_device(esp_id: str, kaiser_id: str, mac: str) -> MockConfigEntry:
    """The entry of a device behind relay `kaiser_id` with one pump, no limits."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=esp_id,
        unique_id=mac,
        **AS_THE_FLOW_MAKES_IT,
        data={
            "kind": "esp",
            "esp_id": esp_id,
            "kaiser_id": kaiser_id,
            "mac": mac,
            "board": "esp32dev",
            "name": esp_id,
        },
        subentries_data=[
            ConfigSubentryData(
                data={"actuator_type": "pump", "gpio": PUMP, **NO_LIMITS},
                subentry_type="actuator",
                title=f"{esp_id} pump",
                unique_id=str(PUMP),
            )
        ],
    )


device_side: list[float] = []  # ms from the service call until the device stopped


async def run_rounds(hass: HomeAssistant, commands: dict[str, str], rounds: int) -> list[float]:
    """Stop every device's pump `rounds` times; latencies (ms) from the service call until
    HA received each device's status saying stopped by the emergency."""
    statuses: dict[str, tuple[float, dict[str, Any]]] = {}

    @callback
    def on_status(msg: mqtt.ReceiveMessage) -> None:
        if msg.payload:
            statuses[msg.topic.split("/")[3]] = (time.monotonic(), json.loads(msg.payload))

    remove = await mqtt.async_subscribe(hass, f"kaiser/+/esp/+/actuator/{PUMP}/status", on_status)
    ids = list(commands)
    latencies: list[float] = []
    device_side.clear()
    try:
        await wait_until(lambda: all(i in statuses for i in ids), 60, "boot statuses")
        for _ in range(rounds):
            await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
            for topic in commands.values():
                await mqtt.async_publish(hass, topic, '{"v":1,"action":"on"}', 1, False)
            await wait_until(lambda: all(statuses[i][1]["state"] for i in ids), 60, "pumps on")
            start = time.monotonic()
            start_wall_ms = time.time() * 1000
            await hass.services.async_call(DOMAIN, "emergency_stop", {}, blocking=True)
            await wait_until(
                lambda: all(
                    statuses[i][1]["reason"] == "emergency" and not statuses[i][1]["state"]
                    for i in ids
                ),
                60,
                "every pump stopped",
            )
            latencies.extend((statuses[i][0] - start) * 1000 for i in ids)
            # The device stamps its status (wall clock, ms) when it stopped the pump.
            device_side.extend(statuses[i][1]["ts"] - start_wall_ms for i in ids)
        await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
    finally:
        remove()
    return latencies


@pytest.mark.timeout(600)
async def test_estop_relays(hass: HomeAssistant, broker: Broker, mqtt_ready: None) -> None:
    """Print p50/p99 emergency-stop latency for 500 devices behind two bridged relays."""
    assert await async_setup_component(hass, DOMAIN, {})
    per_relay = RELAYED_DEVICES // len(RELAYS)
    relays = [RelayBroker(kaiser_id, broker.port) for kaiser_id in RELAYS]
    fleets = []
    try:
        for relay in relays:
            relay.start()
            await hass.async_add_executor_job(wait_bridged, broker.port, relay)
        commands: dict[str, str] = {}
        entries = []
        for relay in relays:
            prefix = f"es{relay.kaiser_id}"
            for n in range(1, per_relay + 1):
                esp_id = f"{prefix}-{n:02d}"
                entries.append(pump_device(esp_id, relay.kaiser_id, virtual_esp_mac(esp_id)))
                commands[esp_id] = f"kaiser/{relay.kaiser_id}/esp/{esp_id}/actuator/{PUMP}/command"
                fleets.append(
                    virtual_esp(
                        relay.port, esp_id, "--kaiser-id", relay.kaiser_id, heartbeat_s=HEARTBEAT_S
                    ).start()
                )
        for entry in entries:
            entry.add_to_hass(hass)
        assert all(
            await asyncio.gather(*(hass.config_entries.async_setup(e.entry_id) for e in entries))
        )
        profiler = cProfile.Profile() if os.environ.get("ESTOP_PROFILE") else None
        if profiler is not None:
            profiler.enable()
        latencies = sorted(await run_rounds(hass, commands, ROUNDS[RELAYED_DEVICES]))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ["ESTOP_PROFILE"])
    finally:
        for fleet in fleets:
            fleet.stop()
        for relay in relays:
            relay.__exit__()
    p50, p99 = p50_p99(latencies)
    at_device = p50_p99(sorted(device_side))
    print(
        f"\nuntil the devices stopped (their status's time stamp): p50 {at_device[0]:.1f} ms"
        f" p99 {at_device[1]:.1f} ms; the rest is the way back to HA"
    )
    print(
        f"estop: devices={RELAYED_DEVICES} p50_ms={p50:.1f} p99_ms={p99:.1f}"
        f" (max {latencies[-1]:.1f}, {len(latencies)} stops, behind {len(RELAYS)} relays)"
    )
