"""Device logins on a Kaiser relay's own broker, against real processes: the main Mosquitto,
the relay's Mosquitto with the dynamic-security plugin running the configuration
`bridge_config` generates (`dynsec_file`), bridged to the main one, and the relay program
(`python -m kaiser run --dynsec-username --dynsec-password-file`).

Written from docs/security.md ("Devices behind a relay") and docs/protocol.md (`relay/login`,
`relay/login_ack`): HA's side is a plain client on the main broker here (the HA flow is
tests/ha/test_relay_device_login.py). The relay program logs in with a login of its own;
anonymous devices reach only the device topics of their kaiser (not the relay's requests);
a device's login is made, confirmed (then no one else can publish or read as that device)
and removed through the relay; bad requests are answered or dropped, never crash the relay.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import queue
import subprocess
import sys
import time

import pytest

from custom_components.automationone.protocol.relay import (
    RelayKind,
    RelayLoginRequest,
    parse_relay_login_ack,
    relay_topic,
)

from ..broker import Broker, Dynsec, dynsec_plugin, free_port
from ..kaiser_net import REPO, Link, RelayBroker, RelayProcess
from .mqtt_probe import WAIT_S, LoginRefusedError, Probe

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto"),
]

KAISER = "gh1"
ESP = "gh-01"
ROOT = f"kaiser/{KAISER}/esp/{ESP}/"
PASSWORD = "relay-device-password-0123"
ACK = relay_topic(KAISER, RelayKind.LOGIN_ACK)
REQUEST = relay_topic(KAISER, RelayKind.LOGIN)


@dataclass
class RelayNet:
    """The brokers, the relay program and HA's stand-in on the main broker."""

    main: Broker
    relay_broker: RelayBroker
    relay: RelayProcess
    ha: Probe

    def request(self, request: RelayLoginRequest) -> dict[str, object]:
        """Send a request as HA does and wait for its answer."""
        self.ha.publish(REQUEST, request.encode())
        while True:
            topic, payload = self.ha.messages.get(timeout=WAIT_S * 3)
            if topic == ACK:
                ack = parse_relay_login_ack(payload)
                if ack.req == request.req:
                    return {
                        "ok": ack.ok,
                        "username": ack.username,
                        "error": ack.error,
                        "detail": ack.detail,
                    }

    def on_main(self, topic: str) -> Probe:
        """A client on the main broker that records `topic` (HA's view)."""
        probe = Probe(self.main.port, None, None).connect()
        assert probe.subscribe(topic)
        return probe


ADMIN = Dynsec(clients={"a1admin": ("admin-password-0123", ("admin",))})


def _relay_net(dynsec: Dynsec | None, *, allow_anonymous: bool = True) -> Iterator[RelayNet]:
    with Broker() as main:
        link = Link(main.port)
        relay_broker = RelayBroker(
            KAISER, link.port, dynsec=dynsec, allow_anonymous=allow_anonymous
        ).start()
        relay = RelayProcess(relay_broker).start()
        ha = Probe(main.port, None, None).connect()
        try:
            assert ha.subscribe(ACK)
            assert ha.subscribe(relay_topic(KAISER, RelayKind.STATUS))
            # The relay is up behind the bridge (its retained status crossed it).
            ha.wait_for(relay_topic(KAISER, RelayKind.STATUS), b"online")
            yield RelayNet(main, relay_broker, relay, ha)
        finally:
            ha.close()
            relay.stop()
            relay_broker.stop()
            link.close()


@pytest.fixture
def net() -> Iterator[RelayNet]:
    """With the plugin and the admin login the relay program is given."""
    yield from _relay_net(ADMIN)


@pytest.fixture
def closed_net() -> Iterator[RelayNet]:
    """Every device has its own login: `allow_anonymous false`."""
    yield from _relay_net(ADMIN, allow_anonymous=False)


@pytest.fixture
def plain_net() -> Iterator[RelayNet]:
    """The relay's broker as before: anonymous, no plugin, the relay without an admin."""
    yield from _relay_net(None)


def anonymous(net: RelayNet, client_id: str | None = None) -> Probe:
    return Probe(net.relay_broker.port, None, None, client_id=client_id).connect()


def crosses(
    net: RelayNet, client: Probe, topic: str, payload: bytes, *, then: str | None = None
) -> bool:
    """Whether `client`'s publish on the relay's broker reaches the main broker. For a
    refusal, `then` is a topic the client may publish on: once that one crossed, the first
    would have (one client's messages keep their order)."""
    watcher = net.on_main(f"kaiser/{KAISER}/#")
    try:
        client.publish(topic, payload)
        if then is not None:
            client.publish(then, b'{"v":1,"marker":true}')
        try:
            seen = watcher.wait_for(then or topic, b'{"v":1,"marker":true}' if then else payload)
        except queue.Empty:
            return False
        return (topic, payload) in seen
    finally:
        watcher.close()


def received(client: Probe, topic: str, payload: bytes) -> bool:
    try:
        client.wait_for(topic, payload)
    except queue.Empty:
        return False
    return True


def test_device_login_made_confirmed_and_removed_through_the_relay(net: RelayNet) -> None:
    assert announced(net)["anonymous"] is True  # devices without a login still get in
    # Anonymous devices: their kaiser's device topics only, not the relay's requests.
    device = anonymous(net, ESP)
    assert crosses(net, device, ROOT + "heartbeat", b'{"v":1,"n":1}')
    assert not device.subscribe(REQUEST)
    assert not device.subscribe(f"kaiser/{KAISER}/relay/#")
    assert not device.subscribe("#")
    assert not crosses(net, device, f"kaiser/{KAISER}/relay/rules", b"x", then=ROOT + "heartbeat")

    answer = net.request(RelayLoginRequest("r1", "create", ESP, generation=1, password=PASSWORD))
    assert answer == {"ok": True, "username": f"a1-{ESP}-1", "error": None, "detail": None}
    # The request (with the password) went nowhere an anonymous client reads, and the
    # relay's broker log has no password in it.
    assert PASSWORD not in net.relay_broker.log

    # The device switches (as after a `login` command); until HA confirms, the old
    # (anonymous) access to its topics stays.
    device.close()
    device = Probe(net.relay_broker.port, f"a1-{ESP}-1", PASSWORD, client_id=ESP).connect()
    with pytest.raises(LoginRefusedError):  # bound to its client id
        Probe(net.relay_broker.port, f"a1-{ESP}-1", PASSWORD, client_id="thief").connect()
    assert crosses(net, device, ROOT + "heartbeat", b'{"v":1,"n":2}')
    assert not device.subscribe(REQUEST)  # nor with its own login
    rogue = anonymous(net, "rogue")
    assert crosses(net, rogue, ROOT + "heartbeat", b'{"v":1,"n":3}')

    assert net.request(RelayLoginRequest("r2", "confirm", ESP))["ok"] is True
    # Mosquitto 2.1 disconnects the anonymous group's clients when its roles change (2.0 does
    # not): the rogue comes back, as a device would.
    with contextlib.suppress(Exception):
        rogue.close()
    rogue = anonymous(net, "rogue")
    # Now nobody else may act as the device: not anonymously, not with another's login.
    free = f"kaiser/{KAISER}/esp/gh-09/heartbeat"  # a device not secured: still open
    assert not crosses(net, rogue, ROOT + "status", b"offline", then=free)
    assert not crosses(net, rogue, ROOT + "announce", b'{"v":1,"rogue":true}', then=free)
    assert not crosses(
        net, device, f"kaiser/{KAISER}/esp/gh-02/status", b"online", then=ROOT + "heartbeat"
    )
    assert crosses(net, device, ROOT + "status", b"online")
    # ... nor read what HA sends it; the device itself gets it.
    assert device.subscribe(ROOT + "system/command")
    assert not rogue.subscribe(ROOT + "system/command")
    assert rogue.subscribe(f"kaiser/{KAISER}/esp/+/system/command")  # the pattern is allowed
    command = b'{"v":1,"cmd":"identify"}'
    net.ha.publish(ROOT + "system/command", command)
    assert received(device, ROOT + "system/command", command)
    # ... but delivers nothing of the device's (once the device got it, the rogue would have)
    time.sleep(0.2)
    assert (ROOT + "system/command", command) not in rogue.drain()
    # A device without its own login yet goes on as before.
    other = anonymous(net, "gh-02")
    assert crosses(net, other, "kaiser/gh1/esp/gh-02/heartbeat", b'{"v":1,"n":4}')

    # Rotation: the next login, confirmed with the previous one named, ends the first.
    answer = net.request(
        RelayLoginRequest("r3", "create", ESP, generation=2, password=PASSWORD + "-2")
    )
    assert answer["username"] == f"a1-{ESP}-2"
    assert net.request(RelayLoginRequest("r4", "confirm", ESP, previous=f"a1-{ESP}-1"))["ok"]
    with pytest.raises(LoginRefusedError):
        Probe(net.relay_broker.port, f"a1-{ESP}-1", PASSWORD, client_id=ESP).connect()

    # Removal: the device's logins and role go.
    answer = net.request(RelayLoginRequest("r5", "remove", ESP, delete=(f"a1-{ESP}-2",)))
    assert answer["ok"] is True
    with pytest.raises(LoginRefusedError):
        Probe(net.relay_broker.port, f"a1-{ESP}-2", PASSWORD + "-2", client_id=ESP).connect()
    for client in (device, rogue, other):
        with contextlib.suppress(Exception):
            client.close()


def test_bad_requests_are_answered_or_dropped(net: RelayNet) -> None:
    """Another login than the device's own is never deleted (not the relay's); a payload
    that is no request is dropped; the relay goes on answering."""
    answer = net.request(
        RelayLoginRequest(
            "b1", "create", ESP, generation=1, password=PASSWORD, delete=("kaiser-gh1-relay",)
        )
    )
    assert answer["ok"] is False
    assert answer["error"] == "bad_request"
    answer = net.request(RelayLoginRequest("b2", "remove", ESP, delete=("a1-gh-02-1",)))
    assert answer["error"] == "bad_request"
    for garbage in (b"", b"not json", b'{"v":1,"op":"create"}', json.dumps([1]).encode()):
        net.ha.publish(REQUEST, garbage)
    net.ha.publish(REQUEST, b'{"v":1,"req":"b3","op":"create","esp_id":"gh-01"}')
    answer = net.request(RelayLoginRequest("b4", "create", ESP, generation=1, password=PASSWORD))
    assert answer["ok"] is True
    assert net.relay.proc is not None
    assert net.relay.proc.poll() is None


def announced(net: RelayNet) -> dict[str, object]:
    """The relay's retained announce as HA reads it on the main broker."""
    topic = relay_topic(KAISER, RelayKind.ANNOUNCE)
    probe = net.on_main(topic)
    try:
        ((_, payload),) = probe.wait_for_topic(topic)
    finally:
        probe.close()
    announce: dict[str, object] = json.loads(payload)
    return announce


def test_a_relay_without_an_admin_login_says_so(plain_net: RelayNet) -> None:
    # Written from docs/protocol.md: no `logins`, so no `anonymous` either.
    assert "logins" not in announced(plain_net)
    assert "anonymous" not in announced(plain_net)
    answer = plain_net.request(
        RelayLoginRequest("n1", "create", ESP, generation=1, password=PASSWORD)
    )
    assert answer["ok"] is False
    assert answer["error"] == "no_admin"


def test_without_anonymous_devices_the_relay_and_the_bridge_go_on(closed_net: RelayNet) -> None:
    """The relay program runs on its own login and the bridge is Mosquitto's own (the
    fixture saw the relay's status cross); only logins connect."""
    net = closed_net
    with pytest.raises(LoginRefusedError):
        anonymous(net, ESP)
    # The relay program found its broker closed to anonymous clients and announced it.
    assert announced(net)["logins"] is True
    assert announced(net)["anonymous"] is False
    answer = net.request(RelayLoginRequest("c1", "create", ESP, generation=1, password=PASSWORD))
    assert answer["ok"] is True
    device = Probe(net.relay_broker.port, f"a1-{ESP}-1", PASSWORD, client_id=ESP).connect()
    try:
        assert crosses(net, device, ROOT + "heartbeat", b'{"v":1,"n":1}')
        assert device.subscribe(ROOT + "config")
        config = b'{"v":1,"config":true}'
        net.ha.publish(ROOT + "config", config)
        assert received(device, ROOT + "config", config)
    finally:
        device.close()


def test_a_broker_restarted_closed_is_announced_closed(net: RelayNet) -> None:
    """Mosquitto restarted with `allow_anonymous false` (the configuration generated again
    with --no-anonymous): the relay program tries again after it reconnected and announces
    `anonymous: false`."""
    assert announced(net)["anonymous"] is True
    broker = net.relay_broker
    broker.config = broker.config.replace("allow_anonymous true", "allow_anonymous false")
    Broker.stop(broker)  # the process only: its folder (the logins) stays
    broker.start()
    deadline = time.monotonic() + 30
    while announced(net).get("anonymous") is not False:
        assert time.monotonic() < deadline, "the relay did not announce its closed broker"
        time.sleep(0.5)
    with pytest.raises(LoginRefusedError):
        anonymous(net, ESP)


def test_a_relay_waiting_for_its_broker_ends_on_sigterm(tmp_path: Path) -> None:
    """With an admin login the relay sets its broker up before it connects, retrying while
    the broker is not there; a SIGTERM ends that wait (and the relay) at once."""
    password = tmp_path / "admin.password"
    password.write_text("admin-password-0123", encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "kaiser", "run", "--kaiser-id", KAISER,
            "--host", "127.0.0.1", "--port", str(free_port()),
            "--dynsec-username", "a1admin", "--dynsec-password-file", str(password),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(1.5)
    proc.terminate()
    try:
        assert proc.wait(5) == 0
    finally:
        proc.kill()
    assert proc.stderr is not None
    log = proc.stderr.read().decode()
    assert "own broker not reachable" in log
    assert "admin-password-0123" not in log
