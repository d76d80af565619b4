"""A short-lived MQTT connection with the broker's dynamic-security admin login (no HA imports).

Blocking (paho's network thread does the I/O): HA runs it in an executor, tests call it
directly. The admin login is never HA's own MQTT login and never logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import secrets
import ssl
import threading
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from .dynsec import (
    CONTROL_TOPIC,
    RESPONSE_TOPIC,
    DynsecError,
    Response,
    encode_commands,
    parse_responses,
)

DEFAULT_TIMEOUT_S = 5.0


class BrokerUnreachableError(Exception):
    """No MQTT connection to the broker (host, port, TLS)."""


class AdminLoginRefusedError(Exception):
    """The broker refused the admin login, or it may not use the control topic."""


class DynsecUnavailableError(Exception):
    """Nothing answers on the control topic: the broker has no dynamic-security plugin."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is and how to log in as its dynamic-security admin."""

    host: str
    port: int
    username: str
    password: str
    ca_pem: str | None = None  # TLS, verified against this CA
    tls_insecure: bool = False  # TLS without verification (the user's choice in HA's MQTT entry)


class DynsecClient:
    """`with DynsecClient(address) as client: client.execute([...])`."""

    def __init__(self, address: BrokerAddress, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Not connected until entered."""
        self._address = address
        self._timeout = timeout
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"a1-admin-{secrets.token_hex(4)}",
            protocol=paho.MQTTv311,
        )
        self._client.username_pw_set(address.username, address.password)
        if address.ca_pem is not None or address.tls_insecure:
            context = ssl.create_default_context(cadata=address.ca_pem)
            if address.tls_insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._client.tls_set_context(context)
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._connect_code: int | None = None
        self._subscribed = threading.Event()
        self._sub_ok = False
        self._waiting: dict[str, Response | None] = {}
        self._answered = threading.Condition(self._lock)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # paho callbacks (its network thread)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        self._connect_code = reason.value
        self._connected.set()

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        self._sub_ok = all(r.value < 0x80 for r in reasons)
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            responses = parse_responses(message.payload)
        except DynsecError:
            return
        with self._answered:
            for response in responses:
                if response.correlation in self._waiting:
                    self._waiting[response.correlation] = response
            self._answered.notify_all()

    # lifecycle

    def __enter__(self) -> Self:
        """Connect with the admin login and subscribe to the answers."""
        try:
            self._client.connect(self._address.host, self._address.port, keepalive=30)
        except (OSError, ssl.SSLError) as err:
            raise BrokerUnreachableError(type(err).__name__) from None
        self._client.loop_start()
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise
        return self

    def _handshake(self) -> None:
        if not self._connected.wait(self._timeout):
            raise BrokerUnreachableError("no CONNACK")
        if self._connect_code:
            # 4: bad user name or password, 5: not authorised (MQTT 3.1.1)
            raise AdminLoginRefusedError(f"connack {self._connect_code}")
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        if not self._subscribed.wait(self._timeout):
            raise BrokerUnreachableError("no SUBACK")
        if not self._sub_ok:
            raise AdminLoginRefusedError("may not subscribe to the dynamic-security answers")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Disconnect."""
        self.close()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    # commands

    def execute(self, commands: Sequence[Mapping[str, Any]]) -> tuple[Response, ...]:
        """Send `commands` in one message; their answers in order (errors included)."""
        correlation = secrets.token_hex(6)
        keys = [f"{correlation}-{index}" for index in range(len(commands))]
        with self._answered:
            for key in keys:
                self._waiting[key] = None
        try:
            info = self._client.publish(
                CONTROL_TOPIC, encode_commands(commands, correlation), qos=1
            )
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise BrokerUnreachableError(f"publish rc {info.rc}")
            with self._answered:
                done = self._answered.wait_for(
                    lambda: all(self._waiting[key] is not None for key in keys), self._timeout
                )
                if not done:
                    raise DynsecUnavailableError("no answer on the dynamic-security control topic")
                out = tuple(self._waiting[key] for key in keys)
        finally:
            with self._answered:
                for key in keys:
                    self._waiting.pop(key, None)
        return tuple(r for r in out if r is not None)

    def check(
        self, commands: Sequence[Mapping[str, Any]], *, tolerate: tuple[str, ...] = ()
    ) -> tuple[Response, ...]:
        """`execute`, raising DynsecError for an error not listed in `tolerate`."""
        responses = self.execute(commands)
        for response in responses:
            if response.error is not None and not any(
                t in response.error.lower() for t in tolerate
            ):
                raise DynsecError(response.command, response.error)
        return responses
