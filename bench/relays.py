"""Kaiser relays for the benchmarks: local Mosquitto brokers bridged to the main broker with
Mosquitto's own bridge (`kaiser/{id}/#` both ways, persistent session), as docs/protocol.md
describes a relay's broker."""

from __future__ import annotations

import threading
import time

from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.broker import Broker

# QoS 1 both ways (queued while the link is down) on one connection: Mosquitto's default of
# 20 messages in flight would cap the bridge at 20 per round trip, which a loaded machine
# stretches to tens of milliseconds.
BRIDGE_CONFIG = """\
max_inflight_messages 1000
connection relay-{kaiser_id}
address 127.0.0.1:{main_port}
topic kaiser/{kaiser_id}/# both 1
clientid relay-{kaiser_id}
cleansession false
restart_timeout 1
keepalive_interval 30
"""


class RelayBroker(Broker):
    """A relay's broker: its devices connect here; the bridge carries their topics."""

    def __init__(self, kaiser_id: str, main_port: int) -> None:
        """Bridge `kaiser/{kaiser_id}/#` to the broker on `main_port`."""
        super().__init__()
        self.kaiser_id = kaiser_id
        self.bridge = BRIDGE_CONFIG.format(kaiser_id=kaiser_id, main_port=main_port)

    def _config(self) -> str:
        return super()._config() + self.bridge


def wait_bridged(main_port: int, relay: RelayBroker, within: float = 20.0) -> None:
    """Block until a message published on the relay arrives on the main broker (the bridge
    is up and subscribed). Run it in an executor."""
    arrived = threading.Event()
    topic = f"kaiser/{relay.kaiser_id}/bench/bridge-probe"
    main = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-main-{relay.kaiser_id}")
    main.on_message = lambda _c, _u, _m: arrived.set()
    main.connect("127.0.0.1", main_port)
    main.loop_start()
    sender = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{relay.kaiser_id}")
    sender.connect("127.0.0.1", relay.port)
    sender.loop_start()
    try:
        main.subscribe(topic, 1)
        deadline = time.monotonic() + within
        while not arrived.wait(0.2):
            if time.monotonic() > deadline:
                raise AssertionError(f"the bridge of relay {relay.kaiser_id} did not come up")
            sender.publish(topic, b"1", 1)
    finally:
        for client in (main, sender):
            client.loop_stop()
            client.disconnect()
