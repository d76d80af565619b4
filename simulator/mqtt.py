"""paho-mqtt 2.1 driven by the asyncio event loop (no thread per client).

paho's socket callbacks register its socket with the loop (`add_reader`/`add_writer`), so
hundreds of simulated devices share one thread; `loop_misc` runs once a second for keepalive.
Message callbacks run on the event loop, synchronously.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging
import socket
import ssl
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

_LOGGER = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0  # CONNACK, SUBACK
DISCONNECT_TIMEOUT_S = 2.0

type MessageHandler = Callable[[str, bytes, bool], None]
"""handler(topic, payload, retained)."""


class MqttError(Exception):
    """The broker refused the connection or a subscription, or did not answer in time."""

    def __init__(self, message: str, *, refused: bool = False, tls: bool = False) -> None:
        """`refused`: the broker refused the login; `tls`: the TLS handshake failed."""
        super().__init__(message)
        self.refused = refused
        self.tls = tls


class AsyncMqttClient:
    """One MQTT connection (client id, last will) on the running event loop."""

    def __init__(
        self,
        client_id: str,
        on_message: MessageHandler,
        on_disconnect: Callable[[], None],
        *,
        will: tuple[str, bytes, int, bool] | None = None,
        keepalive: int = 60,
        username: str | None = None,
        password: str | None = None,
        ca: str | None = None,
    ) -> None:
        """Prepare a client; `connect` opens the connection."""
        self._loop = asyncio.get_running_loop()
        self._on_message = on_message
        self._on_lost = on_disconnect
        self._keepalive = keepalive
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if will is not None:
            topic, payload, qos, retain = will
            self._client.will_set(topic, payload, qos, retain)
        if username is not None:
            self._client.username_pw_set(username, password)
        if ca is not None:
            # Verified TLS (docs/protocol.md "Device login"): chain to `ca`, host name checked.
            self._client.tls_set_context(ssl.create_default_context(cadata=ca))
        self._client.on_socket_open = self._socket_open
        self._client.on_socket_close = self._socket_close
        self._client.on_socket_register_write = self._register_write
        self._client.on_socket_unregister_write = self._unregister_write
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.on_subscribe = self._subscribed
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._suback: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._closed = asyncio.Event()
        self._misc: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.connected = False

    # --- public ------------------------------------------------------------------------

    async def connect(self, host: str, port: int) -> None:
        """Connect and wait for a successful CONNACK."""
        self._connack = self._loop.create_future()
        try:
            # A blocking TCP connect: quick on the LAN/loopback this simulator is made for.
            self._client.connect(host, port, self._keepalive)
        except ssl.SSLError as err:
            raise MqttError(f"TLS to {host}:{port} failed: {err}", tls=True) from err
        except (OSError, ValueError) as err:
            raise MqttError(f"connect to {host}:{port} failed: {err}") from err
        try:
            code = await asyncio.wait_for(self._connack, ANSWER_TIMEOUT_S)
        except TimeoutError:
            self.abort()
            raise MqttError("no CONNACK") from None
        if code.is_failure:
            self.abort()
            raise MqttError(f"connection refused: {code}", refused=True)
        if self._closed.is_set():
            raise MqttError("connection closed right after CONNACK")
        self.connected = True

    async def subscribe(self, topics: list[tuple[str, int]]) -> None:
        """Subscribe and wait until the broker granted every topic."""
        result, mid = self._client.subscribe(topics)
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            raise MqttError(f"subscribe failed: {paho.error_string(result)}")
        future = self._suback[mid] = self._loop.create_future()
        try:
            codes = await asyncio.wait_for(future, ANSWER_TIMEOUT_S)
        except TimeoutError:
            raise MqttError("no SUBACK") from None
        finally:
            self._suback.pop(mid, None)
        if any(code.is_failure for code in codes):
            raise MqttError(f"subscription refused: {codes}")

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> bool:
        """Queue a message; False when not connected."""
        if not self.connected:
            return False
        info = self._client.publish(topic, payload, qos, retain)
        return info.rc == paho.MQTT_ERR_SUCCESS

    async def disconnect(self) -> None:
        """Send DISCONNECT after everything queued (no last will) and wait for the close."""
        if self._sock is None:
            return
        self._client.disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), DISCONNECT_TIMEOUT_S)
        self.abort()

    def abort(self) -> None:
        """Drop the connection without DISCONNECT: the broker publishes the last will."""
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            # paho notices the closed socket on its next read and reports the disconnect.
            self._loop.call_soon(self._read)

    @property
    def closed(self) -> asyncio.Event:
        """Set once the connection is closed."""
        return self._closed

    # --- paho callbacks ----------------------------------------------------------------

    def _read(self) -> None:
        self._client.loop_read()

    def _socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        self._loop.add_reader(sock, self._read)
        self._misc = self._loop.create_task(self._misc_loop())

    def _socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._sock = None
        if self._misc is not None:
            self._misc.cancel()

    def _register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_writer(sock, self._client.loop_write)

    def _unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_writer(sock)

    async def _misc_loop(self) -> None:
        while True:
            if self._client.loop_misc() != paho.MQTT_ERR_SUCCESS:
                return
            await asyncio.sleep(1)

    def _connected(
        self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(code)

    def _disconnected(
        self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        was_connected = self.connected
        self.connected = False
        self._closed.set()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(MqttError(f"closed before CONNACK: {code}"))
        for future in self._suback.values():
            if not future.done():
                future.set_exception(MqttError("disconnected"))
        if was_connected:
            self._on_lost()

    def _subscribed(
        self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        future = self._suback.get(mid)
        if future is not None and not future.done():
            future.set_result(codes)

    def _message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._on_message(message.topic, message.payload, bool(message.retain))
