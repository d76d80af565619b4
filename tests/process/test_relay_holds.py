"""A relay keeps the device readings its bridge could not carry and sends them on as resends
once the bridge is back (docs/kaiser.md "Bridge down", docs/protocol.md "Duplicates, replays,
floods").

Written from the docs: a device publishes QoS 0 sensor messages on the relay's broker; a client
on the main broker records what crosses the bridge. Processes: the main Mosquitto, the relay's
Mosquitto with the generated bridge config (through a link the test cuts), the relay program,
which keeps what it holds in its spool file (`--spool`) so that it survives a SIGKILL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from ..broker import running_broker
from ..ha.realtime import TopicRecorder
from ..kaiser_net import Link, RelayBroker, RelayProcess, bridged

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROOT = "kaiser/gh1/esp/esp-held"
TS = 1_795_000_000_000


Seen = list[tuple[str, dict[str, Any]]]


async def wait(recorder: TopicRecorder, condition: Callable[[Seen], bool], what: str) -> None:
    """Until `condition` holds for what `recorder` decoded so far."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if condition(decoded(recorder)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {recorder.messages}")


def decoded(recorder: TopicRecorder) -> Seen:
    return [(topic, json.loads(p) if p else {}) for topic, p in list(recorder.messages)]


def batch(seq: int) -> dict[str, Any]:
    return {
        "v": 1,
        "seq": seq,
        "ts": TS + seq * 1000,
        "readings": [{"gpio": 34, "raw": 2000 + seq}],
    }


def single(seq: int) -> dict[str, Any]:
    return {"v": 1, "seq": seq, "ts": TS + seq * 1000, "raw": 2000 + seq}


def sent(seq: int) -> tuple[str, dict[str, Any]]:
    """What the device sends as `seq`: odd a batch, even one reading."""
    if seq % 2:
        return f"{ROOT}/sensor/batch", batch(seq)
    return f"{ROOT}/sensor/34/data", single(seq)


class Device:
    """A device on the relay's broker: sensor messages at QoS 0, as the firmware sends them."""

    def __init__(self, broker: RelayBroker) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="esp-held")
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, *seqs: int) -> None:
        for seq in seqs:
            topic, payload = sent(seq)
            self.client.publish(topic, json.dumps(payload), 0)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bridge_is(up: bool) -> Callable[[Seen], bool]:
    """The relay's last health report says its bridge is `up`."""
    return lambda got: bool(got) and got[-1][1].get("bridge") is up


def resent(got: Seen) -> set[int]:
    """The seqs that crossed as resends."""
    return {payload["seq"] for _, payload in got if payload.get("resend")}


def assert_each_once(arrived: TopicRecorder, live: tuple[int, ...], held: range) -> None:
    """Every reading crossed once: the live ones as sent, the held ones as resends.

    Mosquitto's bridge subscribes locally at each reconnect attempt and delivers what came in
    during a failed one once it connects (docs/kaiser.md): such a held reading also crosses
    late as sent, once; HA takes the first copy in and drops the resend by its `seq`."""
    copies: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for topic, payload in decoded(arrived):
        copies.setdefault(payload["seq"], []).append((topic, payload))
    assert sorted(copies) == sorted([*live, *held])
    for seq in live:  # carried live by the bridge
        assert copies[seq] == [sent(seq)]
    for seq in held:  # held by the relay: as sent, plus the resend flags
        topic, payload = sent(seq)
        resend = (topic, payload | {"replay": True, "resend": True})
        assert copies[seq] in ([resend], [sent(seq), resend], [resend, sent(seq)])


@dataclass
class Scene:
    """The processes, a recorder of the relay's health (on its broker) and one of what
    crosses the bridge (on the main broker), the device."""

    relay_broker: RelayBroker
    link: Link
    relay: RelayProcess
    health: TopicRecorder
    arrived: TopicRecorder
    device: Device

    async def watch_health(self) -> None:
        """Record the health reports from now on only."""
        self.health.stop()
        self.health = await TopicRecorder().start(self.relay_broker, "kaiser/gh1/relay/health")


@contextlib.asynccontextmanager
async def scene(spool: Path | None = None) -> AsyncIterator[Scene]:
    with running_broker() as main, bridged("gh1", main) as (relay_broker, link):
        relay = RelayProcess(relay_broker, spool=spool).start()
        health = await TopicRecorder().start(relay_broker, "kaiser/gh1/relay/health")
        arrived = await TopicRecorder().start(main, f"{ROOT}/sensor/#")
        now = Scene(relay_broker, link, relay, health, arrived, Device(relay_broker))
        try:
            yield now
        finally:
            now.device.close()
            for recorder in (now.arrived, now.health):
                recorder.stop()
            now.relay.stop()


async def across_a_cut(now: Scene, during_the_cut: Callable[[], Awaitable[None]]) -> None:
    """Reading 1 live, the bridge cut, `during_the_cut` (readings 2-6), the bridge back,
    reading 7 live; then every reading crossed once, 2-6 as resends."""
    await wait(now.health, bridge_is(True), "the relay to see its bridge up")
    now.device.send(1)
    await wait(now.arrived, lambda got: len(got) == 1, "the live reading")
    now.link.cut()
    await wait(now.health, bridge_is(False), "the relay to see its bridge down")
    await during_the_cut()
    now.link.restore()
    await wait(now.arrived, lambda got: resent(got) >= set(range(2, 7)), "the held readings")
    now.device.send(7)
    await wait(now.arrived, lambda got: 7 in {p["seq"] for _, p in got}, "the live reading after")
    await asyncio.sleep(0.5)  # nothing more comes: each reading once
    assert_each_once(now.arrived, live=(1, 7), held=range(2, 7))


async def test_readings_sent_while_the_bridge_is_down_arrive_once_as_resends() -> None:
    async with scene() as now:

        async def send() -> None:
            now.device.send(*range(2, 7))
            await asyncio.sleep(0.3)

        await across_a_cut(now, send)


async def spooled(spool: Path, lines: int) -> None:
    """Until the spool holds `lines` readings (one line each, flushed as they come)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if spool.exists() and len(spool.read_bytes().splitlines()) >= lines:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the spool did not reach {lines} lines: {spool.read_bytes()!r}")


async def test_held_readings_survive_a_killed_relay(tmp_path: Path) -> None:
    """Bridge cut, readings held, the relay killed (SIGKILL) and started again on the same
    spool, more readings, bridge back: every reading of the cut crosses once, as a resend."""
    spool = tmp_path / "gh1-held.jsonl"
    async with scene(spool) as now:

        async def send_kill_restart_send() -> None:
            now.device.send(2, 3, 4)
            await spooled(spool, 3)
            now.relay.kill()
            now.relay.start()
            # Only the new process reports now; its second report comes well after it saw
            # the bridge's retained state (a reading before that would not be held).
            await now.watch_health()
            await wait(
                now.health,
                lambda got: bridge_is(False)(got) and got[-1][1]["uptime_s"] >= 2,
                "the restarted relay to see its bridge down",
            )
            now.device.send(5, 6)
            await spooled(spool, 5)

        await across_a_cut(now, send_kill_restart_send)
    assert spool.read_bytes() == b""  # cut once the resends were on the relay's broker


async def test_a_long_outage_is_resent_at_the_resend_rate_each_reading_once() -> None:
    """3,000 readings held: resent at `--resend-rate` (1,000/s by default, docs/kaiser.md), so
    the bridge's bounded queue is never flooded, and each crosses once."""
    held = range(2, 3002)
    async with scene() as now:
        await wait(now.health, bridge_is(True), "the relay to see its bridge up")
        now.device.send(1)
        await wait(now.arrived, lambda got: len(got) == 1, "the live reading")
        now.link.cut()
        await wait(now.health, bridge_is(False), "the relay to see its bridge down")
        now.device.send(*held)
        await asyncio.sleep(1.0)
        now.link.restore()
        await wait(now.arrived, lambda got: bool(resent(got)), "the first resends")
        first = time.monotonic()
        await wait(now.arrived, lambda got: resent(got) >= set(held), "every held reading")
        last = time.monotonic()
        await asyncio.sleep(0.5)
        assert_each_once(now.arrived, live=(1,), held=held)
        # A tick's share (500) at a time, a tick every 0.5 s: six slices, not one burst.
        assert last - first >= 2.0
