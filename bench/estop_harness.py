"""Emergency stop latency: from the `automationone.emergency_stop` service call until every
simulated device (simulator processes, real Mosquitto with `set_tcp_nodelay true`) has
reported its pump stopped with reason `emergency`.

Run by `make bench` through bench/bench_estop.py (pytest for HA's harness; nothing about
speed is asserted). The last line is `estop: devices=100 p50_ms=<x> p99_ms=<y>`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.setup import async_setup_component

from bench.common import p50_p99
from custom_components.automationone.const import DOMAIN
from tests.ha.realtime import simulator

FLEETS = (1, 10, 100)
ROUNDS = {1: 30, 10: 10, 100: 5}
PUMP = 5


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
