"""A blocking MQTT client for probing a broker's ACLs (paho, its own network thread)."""

from __future__ import annotations

import queue
import secrets
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

WAIT_S = 5.0


class LoginRefusedError(Exception):
    """CONNACK with an error code."""


class Probe:
    """Connect with a login, publish, subscribe, collect messages."""

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        *,
        client_id: str | None = None,
        host: str = "127.0.0.1",
        tls_ca: str | None = None,
    ) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{secrets.token_hex(4)}",
            protocol=paho.MQTTv311,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls_ca is not None:
            self.client.tls_set_context(_context(tls_ca))
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connack: queue.Queue[int] = queue.Queue()
        self._subacks: dict[int, queue.Queue[list[int]]] = {}
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.host, self.port = host, port

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        self._connack.put(reason.value)

    def _on_subscribe(self, c: Any, u: Any, mid: int, reasons: list[ReasonCode], p: Any) -> None:
        with self._lock:
            slot = self._subacks.setdefault(mid, queue.Queue())
        slot.put([r.value for r in reasons])

    def _on_message(self, c: Any, u: Any, message: paho.MQTTMessage) -> None:
        self.messages.put((message.topic, bytes(message.payload)))

    def connect(self) -> Probe:
        """Connect; LoginRefusedError if the broker says no."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        code = self._connack.get(timeout=WAIT_S)
        if code:
            self.close()
            raise LoginRefusedError(code)
        return self

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, topic: str) -> bool:
        """Whether the broker granted the subscription (SUBACK < 0x80)."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == paho.MQTT_ERR_SUCCESS
        with self._lock:
            slot = self._subacks.setdefault(mid, queue.Queue())
        codes = slot.get(timeout=WAIT_S)
        return all(code < 0x80 for code in codes)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """QoS 1 publish, acknowledged (the broker acknowledges denied publishes too)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)

    def wait_for(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Messages received up to and including (topic, payload); raises if it never comes."""
        seen = []
        while True:
            item = self.messages.get(timeout=WAIT_S)
            seen.append(item)
            if item == (topic, payload):
                return seen

    def wait_for_topic(self, topic: str) -> list[tuple[str, bytes]]:
        """Messages up to and including the first one on `topic`, that one alone."""
        while True:
            item = self.messages.get(timeout=WAIT_S)
            if item[0] == topic:
                return [item]

    def drain(self) -> list[tuple[str, bytes]]:
        """What arrived so far."""
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out


def _context(ca: str) -> Any:
    import ssl

    return ssl.create_default_context(cadata=ca)
