"""The relay program as the agent of its broker's dynamic security (docs/security.md,
"Devices behind a relay").

With its broker's dynamic-security admin login (`kaiser run --dynsec-username
--dynsec-password-file`) the relay program sets its broker up at its start
(`relays.setup_relay_broker`: its own login, anonymous devices confined to the device topics
of its kaiser) and does HA's `relay/login` requests there with the same `broker_security`
functions HA uses on the main broker: create a device's login, confirm it (the old login and
the anonymous access to the device's topics go), remove the device. It answers each on
`relay/login_ack`. Requests run one at a time in a thread of their own (a dynsec command waits
for its answer; the relay's message loop must not). Nothing here logs a password.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from custom_components.automationone.broker_security import devices, relays
from custom_components.automationone.broker_security.client import (
    AdminLoginRefusedError,
    BrokerAddress,
    BrokerUnreachableError,
    DynsecClient,
    DynsecUnavailableError,
)
from custom_components.automationone.broker_security.dynsec import (
    ANONYMOUS_GROUP,
    DynsecError,
    is_client_name_of,
)
from custom_components.automationone.protocol.log_limiter import LogLimiter
from custom_components.automationone.protocol.relay import (
    LOGIN_BAD_REQUEST,
    LOGIN_CONFIRM,
    LOGIN_CREATE,
    LOGIN_NO_ADMIN,
    LOGIN_REFUSED,
    LOGIN_REMOVE,
    LOGIN_UNREACHABLE,
    RelayLoginAck,
    RelayLoginRequest,
    parse_relay_login,
)

_LOGGER = logging.getLogger("kaiser.logins")
SETUP_RETRY_S = 2.0


class LoginRequestError(Exception):
    """A request the relay does not do: `code` is the answer's `error`."""

    def __init__(self, code: str, detail: str) -> None:
        """`detail`: for HA's form and the log (never a secret)."""
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_request(request: RelayLoginRequest) -> None:
    """Only this device's own logins may be deleted (never the relay's or another's)."""
    names = [*request.delete, *([request.previous] if request.previous else [])]
    for name in names:
        if not is_client_name_of(request.esp_id, name):
            raise LoginRequestError(LOGIN_BAD_REQUEST, f"{name} is not a login of {request.esp_id}")
    if request.op == LOGIN_CONFIRM and request.delete:
        raise LoginRequestError(LOGIN_BAD_REQUEST, "confirm deletes only `previous`")


def run_request(client: DynsecClient, kaiser_id: str, request: RelayLoginRequest) -> str | None:
    """Do one request on the relay's broker; the login made (create) or None."""
    check_request(request)
    if request.op == LOGIN_CREATE:
        assert request.generation is not None
        assert request.password is not None
        devices.remove_logins(client, list(request.delete))  # delivered, never confirmed
        login = devices.create_login(
            client, kaiser_id, request.esp_id, request.generation, password=request.password
        )
        return login.username
    if request.op == LOGIN_CONFIRM:
        devices.revoke_old_access(
            client,
            kaiser_id,
            request.esp_id,
            previous_username=request.previous,
            shared_login=None,
            shared_group=ANONYMOUS_GROUP,
        )
        return None
    if request.op == LOGIN_REMOVE:
        devices.remove_device(client, kaiser_id, request.esp_id, list(request.delete))
        return None
    raise LoginRequestError(LOGIN_BAD_REQUEST, f"unknown op {request.op}")


class LoginAgent:
    """Set up the relay's broker, then do HA's login requests one at a time."""

    def __init__(
        self,
        kaiser_id: str,
        bridge: str,
        address: BrokerAddress | None,
        answer: Callable[[RelayLoginAck], None],
        *,
        client_factory: Callable[[BrokerAddress], DynsecClient] = DynsecClient,
    ) -> None:
        """`address`: the relay's broker with the admin login (None: no admin, every request
        is answered `no_admin`). `answer` publishes an answer (thread-safe)."""
        self.kaiser_id = kaiser_id
        self.bridge = bridge
        self.address = address
        self._answer = answer
        self._client_factory = client_factory
        self._queue: queue.Queue[RelayLoginRequest | None] = queue.Queue(maxsize=64)
        self._thread: threading.Thread | None = None

    @property
    def has_admin(self) -> bool:
        """Whether the relay can make logins on its broker."""
        return self.address is not None

    def setup(self, stop: threading.Event) -> devices.NewLogin | None:
        """The relay's broker set up (blocking, retried while the broker is unreachable);
        the relay program's own login, or None without an admin login or when the broker
        refuses it (then the relay runs without a login and answers `no_admin`)."""
        if self.address is None:
            return None
        unreachable = LogLimiter()  # one warning a minute while the broker is not reachable
        while not stop.is_set():
            try:
                with self._client_factory(self.address) as client:
                    return relays.setup_relay_broker(client, self.kaiser_id, self.bridge)
            except BrokerUnreachableError as err:
                if unreachable.allow("unreachable"):
                    _LOGGER.warning(
                        "%s: own broker not reachable (%s), retrying", self.kaiser_id, err
                    )
            except (AdminLoginRefusedError, DynsecUnavailableError, DynsecError) as err:
                _LOGGER.error(  # noqa: TRY400 (no traceback: the reason is the message)
                    "%s: cannot use the broker's dynamic security (%s: %s): running without "
                    "logins, device logins are refused",
                    self.kaiser_id,
                    type(err).__name__,
                    err,
                )
                self.address = None
                return None
            stop.wait(SETUP_RETRY_S)
        return None

    def anonymous_allowed(self, timeout_s: float = 5.0) -> bool | None:
        """Whether the broker lets a client in without a login (`allow_anonymous`), found by
        trying once (Mosquitto does not show it through dynamic security); None without an
        admin login or when the broker did not answer."""
        if self.address is None:
            return None
        answers: list[bool] = []

        def on_connect(
            client: paho.Client, userdata: Any, flags: Any, reason: Any, *_: Any
        ) -> None:
            answers.append(not reason.is_failure)

        probe = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"kaiser-{self.kaiser_id}-anonymous-check",
            protocol=paho.MQTTv311,
        )
        probe.on_connect = on_connect
        try:
            probe.connect(self.address.host, self.address.port, keepalive=10)
            deadline = time.monotonic() + timeout_s
            while not answers and time.monotonic() < deadline:
                probe.loop(0.1)
            probe.disconnect()
        except OSError:
            return None
        return answers[0] if answers else None

    def start(self) -> None:
        """The worker thread (only with an admin login)."""
        if self.address is not None and self._thread is None:
            self._thread = threading.Thread(target=self._work, name="kaiser-logins", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the worker thread after the request it is doing."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(5)
            self._thread = None

    def submit(self, payload: bytes) -> None:
        """A `relay/login` message (in the relay's message callback); ProtocolError for a
        payload that is not a request (the caller counts and logs it)."""
        request = parse_relay_login(payload)
        if self.address is None:
            self._reply(request, error=LOGIN_NO_ADMIN, detail="the relay has no dynsec admin")
            return
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            self._reply(request, error=LOGIN_UNREACHABLE, detail="too many requests")

    def _reply(
        self,
        request: RelayLoginRequest,
        *,
        username: str | None = None,
        error: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._answer(RelayLoginAck(request.req, error is None, username, error, detail))

    def _work(self) -> None:
        while (request := self._queue.get()) is not None:
            self.handle(request)

    def handle(self, request: RelayLoginRequest) -> None:
        """Do one request and answer it (the worker thread; tests call it directly)."""
        assert self.address is not None
        try:
            with self._client_factory(self.address) as client:
                username = run_request(client, self.kaiser_id, request)
        except LoginRequestError as err:
            self._reply(request, error=err.code, detail=err.detail)
        except (BrokerUnreachableError, DynsecUnavailableError) as err:
            self._reply(request, error=LOGIN_UNREACHABLE, detail=f"{type(err).__name__}: {err}")
        except AdminLoginRefusedError as err:
            self._reply(request, error=LOGIN_NO_ADMIN, detail=f"admin login refused: {err}")
        except DynsecError as err:
            self._reply(request, error=LOGIN_REFUSED, detail=f"{err.command}: {err.error}")
        except Exception as err:
            _LOGGER.exception("%s: login request %s failed", self.kaiser_id, request.req)
            self._reply(request, error=LOGIN_REFUSED, detail=type(err).__name__)
        else:
            self._reply(request, username=username)
            _LOGGER.info(
                "%s: %s login of %s done%s",
                self.kaiser_id,
                request.op,
                request.esp_id,
                f" ({username})" if username else "",
            )
