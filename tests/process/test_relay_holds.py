"""A relay keeps the device readings its bridge could not carry and sends them on as resends
once the bridge is back (docs/kaiser.md "Bridge down", docs/protocol.md "Duplicates, replays,
floods").

Written from the docs: a device publishes QoS 0 sensor messages on the relay's broker; a client
on the main broker records what crosses the bridge. Processes: the main Mosquitto, the relay's
Mosquitto with the generated bridge config (through a link the test cuts), the relay program.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from ..broker import Broker, running_broker
from ..kaiser_net import RelayProcess, bridged

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROOT = "kaiser/gh1/esp/esp-held"
TS = 1_795_000_000_000


class Recorder:
    """Every message on `topic` at a broker, decoded."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe(topic, 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(10), f"no subscription to {topic}"

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload) if msg.payload else {}))

    def wait(
        self, condition: Callable[[list[tuple[str, dict[str, Any]]]], bool], what: str
    ) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with self._lock:
                if condition(list(self.messages)):
                    return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.messages}")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def batch(seq: int) -> dict[str, Any]:
    return {
        "v": 1,
        "seq": seq,
        "ts": TS + seq * 1000,
        "readings": [{"gpio": 34, "raw": 2000 + seq}],
    }


def single(seq: int) -> dict[str, Any]:
    return {"v": 1, "seq": seq, "ts": TS + seq * 1000, "raw": 2000 + seq}


def test_readings_sent_while_the_bridge_is_down_arrive_once_as_resends() -> None:
    with running_broker() as main, bridged("gh1", main) as (relay_broker, link):
        relay = RelayProcess(relay_broker).start()
        health = Recorder(relay_broker, "kaiser/gh1/relay/health")
        arrived = Recorder(main, f"{ROOT}/sensor/#")
        device = paho.Client(CallbackAPIVersion.VERSION2, client_id="esp-held")
        device.connect(relay_broker.host, relay_broker.port)
        device.loop_start()

        def send(seq: int) -> None:
            if seq % 2:
                device.publish(f"{ROOT}/sensor/batch", json.dumps(batch(seq)), 0)
            else:
                device.publish(f"{ROOT}/sensor/34/data", json.dumps(single(seq)), 0)

        def bridge_is(up: bool) -> Callable[[list[tuple[str, dict[str, Any]]]], bool]:
            return lambda got: bool(got) and got[-1][1].get("bridge") is up

        try:
            health.wait(bridge_is(True), "the relay to see its bridge up")
            send(1)
            arrived.wait(lambda got: len(got) == 1, "the live reading")
            link.cut()
            health.wait(bridge_is(False), "the relay to see its bridge down")
            for seq in range(2, 7):
                send(seq)
            time.sleep(0.3)
            link.restore()
            arrived.wait(lambda got: len(got) == 6, "the held readings")
            send(7)
            arrived.wait(lambda got: len(got) == 7, "the live reading after")
            time.sleep(0.5)  # nothing more comes: each reading once
        finally:
            device.disconnect()
            device.loop_stop()
            for recorder in (arrived, health):
                recorder.stop()
            relay.stop()
        by_seq = {payload["seq"]: (topic, payload) for topic, payload in arrived.messages}
        assert sorted(by_seq) == list(range(1, 8))
        assert len(arrived.messages) == 7
        for seq in (1, 7):  # carried live by the bridge
            assert by_seq[seq][1] == batch(seq)
        for seq in range(2, 7):  # held by the relay: as sent, plus the resend flags
            topic, payload = by_seq[seq]
            sent = batch(seq) if seq % 2 else single(seq)
            assert topic == (f"{ROOT}/sensor/batch" if seq % 2 else f"{ROOT}/sensor/34/data")
            assert payload == sent | {"replay": True, "resend": True}
