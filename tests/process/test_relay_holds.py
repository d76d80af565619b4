"""A relay keeps the device readings its bridge could not carry and sends them on as resends
once the bridge is back (docs/kaiser.md "Bridge down", docs/protocol.md "Duplicates, replays,
floods").

Written from the docs: a device publishes QoS 0 sensor messages on the relay's broker; a client
on the main broker records what crosses the bridge. Processes: the main Mosquitto, the relay's
Mosquitto with the generated bridge config (through a link the test cuts), the relay program.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from ..broker import running_broker
from ..ha.realtime import TopicRecorder
from ..kaiser_net import RelayProcess, bridged

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


async def test_readings_sent_while_the_bridge_is_down_arrive_once_as_resends() -> None:
    with running_broker() as main, bridged("gh1", main) as (relay_broker, link):
        relay = RelayProcess(relay_broker).start()
        health = await TopicRecorder().start(relay_broker, "kaiser/gh1/relay/health")
        arrived = await TopicRecorder().start(main, f"{ROOT}/sensor/#")
        device = paho.Client(CallbackAPIVersion.VERSION2, client_id="esp-held")
        device.connect(relay_broker.host, relay_broker.port)
        device.loop_start()

        def send(seq: int) -> None:
            if seq % 2:
                device.publish(f"{ROOT}/sensor/batch", json.dumps(batch(seq)), 0)
            else:
                device.publish(f"{ROOT}/sensor/34/data", json.dumps(single(seq)), 0)

        def bridge_is(up: bool) -> Callable[[Seen], bool]:
            return lambda got: bool(got) and got[-1][1].get("bridge") is up

        try:
            await wait(health, bridge_is(True), "the relay to see its bridge up")
            send(1)
            await wait(arrived, lambda got: len(got) == 1, "the live reading")
            link.cut()
            await wait(health, bridge_is(False), "the relay to see its bridge down")
            for seq in range(2, 7):
                send(seq)
            await asyncio.sleep(0.3)
            link.restore()
            await wait(arrived, lambda got: len(got) == 6, "the held readings")
            send(7)
            await wait(arrived, lambda got: len(got) == 7, "the live reading after")
            await asyncio.sleep(0.5)  # nothing more comes: each reading once
        finally:
            device.disconnect()
            device.loop_stop()
            for recorder in (arrived, health):
                recorder.stop()
            relay.stop()
        by_seq = {payload["seq"]: (topic, payload) for topic, payload in decoded(arrived)}
        assert sorted(by_seq) == list(range(1, 8))
        assert len(arrived.messages) == 7
        for seq in (1, 7):  # carried live by the bridge
            assert by_seq[seq][1] == batch(seq)
        for seq in range(2, 7):  # held by the relay: as sent, plus the resend flags
            topic, payload = by_seq[seq]
            sent = batch(seq) if seq % 2 else single(seq)
            assert topic == (f"{ROOT}/sensor/batch" if seq % 2 else f"{ROOT}/sensor/34/data")
            assert payload == sent | {"replay": True, "resend": True}
