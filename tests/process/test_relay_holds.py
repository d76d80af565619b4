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
from collections.abc import Callable
import json
from pathlib import Path
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from ..broker import running_broker
from ..ha.realtime import TopicRecorder
from ..kaiser_net import RelayBroker, RelayProcess, bridged

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


def assert_each_once(arrived: TopicRecorder, live: tuple[int, ...], held: range) -> None:
    """Every reading crossed once: the live ones as sent, the held ones as resends."""
    by_seq = {payload["seq"]: (topic, payload) for topic, payload in decoded(arrived)}
    assert sorted(by_seq) == sorted([*live, *held])
    assert len(arrived.messages) == len(by_seq)
    for seq in live:  # carried live by the bridge
        assert by_seq[seq] == sent(seq)
    for seq in held:  # held by the relay: as sent, plus the resend flags
        topic, payload = sent(seq)
        assert by_seq[seq] == (topic, payload | {"replay": True, "resend": True})


async def test_readings_sent_while_the_bridge_is_down_arrive_once_as_resends() -> None:
    with running_broker() as main, bridged("gh1", main) as (relay_broker, link):
        relay = RelayProcess(relay_broker).start()
        health = await TopicRecorder().start(relay_broker, "kaiser/gh1/relay/health")
        arrived = await TopicRecorder().start(main, f"{ROOT}/sensor/#")
        device = Device(relay_broker)
        try:
            await wait(health, bridge_is(True), "the relay to see its bridge up")
            device.send(1)
            await wait(arrived, lambda got: len(got) == 1, "the live reading")
            link.cut()
            await wait(health, bridge_is(False), "the relay to see its bridge down")
            device.send(*range(2, 7))
            await asyncio.sleep(0.3)
            link.restore()
            await wait(arrived, lambda got: len(got) == 6, "the held readings")
            device.send(7)
            await wait(arrived, lambda got: len(got) == 7, "the live reading after")
            await asyncio.sleep(0.5)  # nothing more comes: each reading once
        finally:
            device.close()
            for recorder in (arrived, health):
                recorder.stop()
            relay.stop()
        assert_each_once(arrived, live=(1, 7), held=range(2, 7))


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
    with running_broker() as main, bridged("gh1", main) as (relay_broker, link):
        relay = RelayProcess(relay_broker, spool=spool).start()
        health = await TopicRecorder().start(relay_broker, "kaiser/gh1/relay/health")
        arrived = await TopicRecorder().start(main, f"{ROOT}/sensor/#")
        device = Device(relay_broker)
        try:
            await wait(health, bridge_is(True), "the relay to see its bridge up")
            device.send(1)
            await wait(arrived, lambda got: len(got) == 1, "the live reading")
            link.cut()
            await wait(health, bridge_is(False), "the relay to see its bridge down")
            device.send(2, 3, 4)
            await spooled(spool, 3)
            relay.kill()
            health.stop()
            relay.start()
            # Only the new process reports here; its second report comes well after it saw
            # the bridge's retained state (readings before that are not held).
            health = await TopicRecorder().start(relay_broker, "kaiser/gh1/relay/health")
            await wait(
                health,
                lambda got: bridge_is(False)(got) and got[-1][1]["uptime_s"] >= 2,
                "the restarted relay to see its bridge down",
            )
            device.send(5, 6)
            await spooled(spool, 5)
            link.restore()
            await wait(arrived, lambda got: len(got) == 6, "the held readings")
            device.send(7)
            await wait(arrived, lambda got: len(got) == 7, "the live reading after")
            await asyncio.sleep(0.5)  # nothing more comes: each reading once
        finally:
            device.close()
            for recorder in (arrived, health):
                recorder.stop()
            relay.stop()
        assert_each_once(arrived, live=(1, 7), held=range(2, 7))
        assert spool.read_bytes() == b""  # cut once the resends were on the relay's broker
