"""Edge rules: who fires while HA is gone and after it is back, and how fast the relay takes
over and hands back. The setup of tests/ha/test_real_broker_kaiser.py (two bridged
Mosquittos with the generated configuration, the relay program, simulated devices on the
relay's broker, HA on the main broker through a cuttable link), then CYCLES times:

1. HA gone (its link cut: the main broker publishes HA's last will); takeover = from the cut
   until the relay's health says `active` (timestamped where it arrives, on the relay broker);
2. a crossing (pH 7 → 5): the relay should fire it (`ha_down_fired`);
3. HA back (the link restored); handback = from HA's MQTT being connected again until the
   relay's health says `standby`;
4. the value stays low (no crossing: nobody may fire), then a new crossing: HA alone fires.

`double_fired` counts crossings commanded more than once and commands for no crossing.
Run by `make bench` through bench/bench_edge_rules.py; nothing about speed is asserted. The
last line is `edge-rules: ha_down_fired=N/N double_fired=0 handover_ms=<worst takeover>`.
"""

from __future__ import annotations

import json
import threading
import time

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import p50_p99
from simulator.signals import Sample, ph_to_adc
from tests.ha.realtime import wait_for
from tests.ha.test_real_broker_kaiser import KAISER, Net, _set_up_rule, net  # noqa: F401

CYCLES = 10


class Stamped:
    """Messages on the relay's broker with the time they arrived."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.messages: list[tuple[float, str, dict[str, object]]] = []
        self._subscribed = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2)
        self._client.on_message = lambda _c, _u, msg: self.messages.append(
            (time.monotonic(), msg.topic, json.loads(msg.payload))
        )
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("no SUBACK")

    def since(self, start: int, tail: str) -> list[tuple[float, dict[str, object]]]:
        return [(t, p) for t, topic, p in self.messages[start:] if topic.endswith(tail)]

    def edge_at(self, start: int, state: str) -> float | None:
        return next((t for t, p in self.since(start, "health") if p["edge"] == state), None)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def test_edge_rules(hass: HomeAssistant, net: Net) -> None:  # noqa: F811
    """CYCLES outages of HA; prints the figures."""
    _, esp1, _, _, _ = await _set_up_rule(hass, net)
    seen = Stamped(
        net.relay_broker.port,
        [f"kaiser/{KAISER}/relay/health", f"kaiser/{KAISER}/esp/gh-02/actuator/26/command"],
    )

    def commands(start: int) -> list[dict[str, object]]:
        return [p for _, p in seen.since(start, "command")]

    async def reading(ph: float) -> None:
        esp1.force(34, Sample(raw=ph_to_adc(ph)))
        esp1.sample_now()

    ha_down_fired = double = 0
    takeover_ms: list[float] = []
    handback_ms: list[float] = []
    try:
        await reading(7.0)
        for _ in range(CYCLES):
            mark = len(seen.messages)
            cut_at = time.monotonic()
            net.ha_link.cut()
            await wait_for(hass, lambda m=mark: seen.edge_at(m, "active"), what="takeover")
            takeover_ms.append((seen.edge_at(mark, "active") - cut_at) * 1000)  # type: ignore[operator]
            mark = len(seen.messages)
            await reading(5.0)
            await wait_for(hass, lambda m=mark: commands(m), within=5, what="the relay's command")
            await hass.async_block_till_done()
            fired = commands(mark)
            ha_down_fired += fired[0]["source"] == "kaiser:ph_low_pump"
            double += len(fired) - 1

            mark = len(seen.messages)
            net.ha_link.restore()
            await wait_for(hass, lambda: mqtt.is_connected(hass), within=30, what="HA back")
            back_at = time.monotonic()
            await wait_for(hass, lambda m=mark: seen.edge_at(m, "standby"), what="handback")
            handback_ms.append((seen.edge_at(mark, "standby") - back_at) * 1000)  # type: ignore[operator]
            mark = len(seen.messages)
            await reading(5.2)  # still low: the relay handled this crossing
            await reading(7.0)
            await reading(5.0)  # a new crossing: HA's
            await wait_for(hass, lambda m=mark: commands(m), within=5, what="HA's command")
            await reading(7.0)
            await hass.async_block_till_done()
            double += len(commands(mark)) - 1
            double += sum(c["source"] == "kaiser:ph_low_pump" for c in commands(mark))
    finally:
        seen.stop()
    t50, _ = p50_p99(takeover_ms)
    h50, _ = p50_p99(handback_ms)
    print(
        f"edge-rules detail: cycles={CYCLES} takeover_p50_ms={t50:.1f} "
        f"takeover_max_ms={max(takeover_ms):.1f} handback_p50_ms={h50:.1f} "
        f"handback_max_ms={max(handback_ms):.1f}"
    )
    print(
        f"edge-rules: ha_down_fired={ha_down_fired}/{CYCLES} double_fired={double} "
        f"handover_ms={max(takeover_ms):.1f}"
    )
