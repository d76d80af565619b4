"""Kaiser relays for the benchmarks: each a Mosquitto running the bridge configuration the
relay program generates (docs/kaiser.md: `kaiser/{id}/#` both ways, persistent session), the
same as the tests' (tests/kaiser_net.py), bridged straight to the main broker."""

from __future__ import annotations

import threading
import time

from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.kaiser_net import RelayBroker

__all__ = ["RelayBroker", "wait_bridged"]


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
