"""The relay program's handling of `relay/login` requests, without a broker: payloads that
are not requests never raise out of the relay's message callback and are logged at most once
a minute per kind; requests it must not do are answered `bad_request`; a relay without a
dynsec admin answers `no_admin`; the broker's refusals become answers (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import logging
from types import SimpleNamespace, TracebackType
from typing import Any

import pytest

from custom_components.automationone.broker_security.client import (
    BrokerAddress,
    BrokerUnreachableError,
)
from custom_components.automationone.broker_security.dynsec import Response
from custom_components.automationone.protocol import relay as r
from kaiser.logins import LoginAgent, LoginRequestError, check_request
from kaiser.relay import Relay, RelayOptions

ADDRESS = BrokerAddress("127.0.0.1", 1, "a1admin", "admin-password-0123")
PASSWORD = "p" * 24


class FakeDynsec:
    """Answers every command with success (or `error` for commands named in `errors`)."""

    def __init__(self, errors: Mapping[str, str] | None = None) -> None:
        self.errors = dict(errors or {})
        self.commands: list[dict[str, Any]] = []

    def __call__(self, address: BrokerAddress) -> FakeDynsec:
        return self

    def __enter__(self) -> FakeDynsec:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def check(
        self, commands: Sequence[Mapping[str, Any]], *, tolerate: tuple[str, ...] = ()
    ) -> tuple[Response, ...]:
        from custom_components.automationone.broker_security.dynsec import DynsecError

        out = []
        for command in commands:
            self.commands.append(dict(command))
            error = self.errors.get(command["command"])
            if error is not None and not any(t in error for t in tolerate):
                raise DynsecError(command["command"], error)
            out.append(Response(command["command"], None, error, {}))
        return tuple(out)


def agent(fake: Any = None, address: BrokerAddress | None = ADDRESS) -> tuple[LoginAgent, list]:
    answers: list[r.RelayLoginAck] = []
    made = LoginAgent(
        "gh1", "kaiser-gh1", address, answers.append, client_factory=fake or FakeDynsec()
    )
    return made, answers


def test_create_confirm_remove_use_the_device_functions() -> None:
    fake = FakeDynsec()
    logins, answers = agent(fake)
    logins.handle(
        r.RelayLoginRequest("a", "create", "gh-01", generation=3, password=PASSWORD,
                            delete=("a1-gh-01-2",))
    )  # fmt: skip
    assert answers[-1] == r.RelayLoginAck("a", True, "a1-gh-01-3")
    created = [c for c in fake.commands if c["command"] == "createClient"]
    assert created[0]["username"] == "a1-gh-01-3"
    assert created[0]["password"] == PASSWORD
    assert created[0]["clientid"] == "gh-01"
    assert {"command": "deleteClient", "username": "a1-gh-01-2"} in fake.commands
    fake.commands.clear()
    logins.handle(r.RelayLoginRequest("b", "confirm", "gh-01", previous="a1-gh-01-2"))
    assert answers[-1].ok
    assert {"command": "getGroup", "groupname": "a1-anonymous"} in fake.commands
    fake.commands.clear()
    logins.handle(r.RelayLoginRequest("c", "remove", "gh-01", delete=("a1-gh-01-3",)))
    assert answers[-1].ok
    assert {"command": "deleteRole", "rolename": "a1-dev-gh1-gh-01"} in fake.commands


@pytest.mark.parametrize(
    "request_",
    [
        r.RelayLoginRequest("x", "remove", "gh-01", delete=("kaiser-gh1-relay",)),
        r.RelayLoginRequest("x", "remove", "gh-01", delete=("a1-gh-02-1",)),
        r.RelayLoginRequest("x", "remove", "gh-01", delete=("a1-gh-01-x",)),
        r.RelayLoginRequest("x", "confirm", "gh-01", previous="a1admin"),
        r.RelayLoginRequest("x", "confirm", "gh-01", delete=("a1-gh-01-1",)),
    ],
)
def test_only_the_devices_own_logins_are_deleted(request_: r.RelayLoginRequest) -> None:
    with pytest.raises(LoginRequestError):
        check_request(request_)
    fake = FakeDynsec()
    logins, answers = agent(fake)
    logins.handle(request_)
    assert answers == [r.RelayLoginAck("x", False, None, "bad_request", answers[0].detail)]
    assert fake.commands == []


def test_the_brokers_refusals_are_answers() -> None:
    logins, answers = agent(FakeDynsec({"createClient": "Client already exists"}))
    logins.handle(r.RelayLoginRequest("a", "create", "gh-01", generation=1, password=PASSWORD))
    assert answers[-1].error == "refused"
    assert answers[-1].detail == "createClient: Client already exists"

    def unreachable(address: BrokerAddress) -> Any:
        raise BrokerUnreachableError("ConnectionRefusedError")

    logins, answers = agent(unreachable)
    logins.handle(r.RelayLoginRequest("a", "confirm", "gh-01"))
    assert answers[-1].error == "unreachable"


def test_without_an_admin_every_request_is_no_admin() -> None:
    logins, answers = agent(address=None)
    request = r.RelayLoginRequest("a", "create", "gh-01", generation=1, password=PASSWORD)
    logins.submit(request.encode())
    assert answers == [r.RelayLoginAck("a", False, None, "no_admin", answers[0].detail)]


def test_the_password_is_never_in_a_repr() -> None:
    request = r.RelayLoginRequest("a", "create", "gh-01", generation=1, password=PASSWORD)
    assert PASSWORD not in repr(request)
    options = RelayOptions("gh1", dynsec_username="a1admin", dynsec_password=PASSWORD)
    assert PASSWORD not in repr(options)


BAD = [
    b"not json",
    b"[1]",
    b'{"v":1}',
    b'{"v":1,"req":"a","op":"create","esp_id":"gh-01"}',  # no generation, no password
    b'{"v":1,"req":"a","op":"drop","esp_id":"gh-01"}',
    b'{"v":1,"req":"a","op":"remove","esp_id":"gh/01"}',
    b'{"v":1,"req":"a","op":"create","esp_id":"gh-01","generation":1,"password":"short"}',
    # a password the schema refuses is not repeated in the log line
    b'{"v":1,"req":"a","op":"create","esp_id":"gh/01","generation":1,"password":"%s"}'
    % PASSWORD.encode(),
    b'{"v":1,"req":"a","op":"create","esp_id":"gh-01","generation":1,"password":"%s x"}'
    % PASSWORD.encode(),
    b'{"v":2,"req":"a","op":"confirm","esp_id":"gh-01"}',
    b"\xff\xfe",
    b"{" * 5000,
]


def test_bad_payloads_never_raise_and_are_logged_once_a_minute_per_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = Relay(RelayOptions("gh1"))
    topic = r.relay_topic("gh1", r.RelayKind.LOGIN)
    with caplog.at_level(logging.WARNING, logger="kaiser"):
        for _ in range(3):
            for payload in BAD:
                relay._on_message(None, None, SimpleNamespace(topic=topic, payload=payload))  # type: ignore[arg-type]
    assert sum(relay.rejected.values()) == 3 * len(BAD)
    assert len(caplog.records) == len(relay.rejected)  # one line per kind
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    # A good request still gets its answer (no admin here).
    answers: list[r.RelayLoginAck] = []
    relay.logins._answer = answers.append
    good = r.RelayLoginRequest("g", "remove", "gh-01", delete=("a1-gh-01-1",))
    relay._on_message(None, None, SimpleNamespace(topic=topic, payload=good.encode()))  # type: ignore[arg-type]
    assert [a.error for a in answers] == ["no_admin"]


def test_the_announce_says_whether_the_relay_makes_logins() -> None:
    announce = r.RelayAnnounce("gh1", "0.1.0", "kaiser-gh1", logins=True)
    assert r.parse_relay_announce(announce.encode(), "gh1") == announce
    assert b"logins" not in r.RelayAnnounce("gh1", "0.1.0", "kaiser-gh1").encode()


def test_the_bridge_config_of_a_broker_with_logins() -> None:
    text = r.bridge_config("gh1", "h", dynsec_file="/var/lib/mosquitto/dynamic-security.json")
    lines = text.splitlines()
    assert "plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json" in lines
    assert f"plugin {r.DYNSEC_PLUGIN}" in lines
    assert "allow_anonymous true" in lines
    closed = r.bridge_config(
        "gh1", "h", dynsec_file="/d.json", dynsec_plugin="/p.so", allow_anonymous=False
    ).splitlines()
    assert "plugin /p.so" in closed
    assert "allow_anonymous false" in closed
    assert "allow_anonymous true" not in closed
    with pytest.raises(ValueError, match="anonymous"):
        r.bridge_config("gh1", "h", allow_anonymous=False)
    with pytest.raises(ValueError, match="one non-empty line"):
        r.bridge_config("gh1", "h", dynsec_file="/d.json\nlistener 1")
