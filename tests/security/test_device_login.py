"""Devices take a delivered login over their current session (docs/protocol.md, Device login),
against a real Mosquitto with dynamic security: the simulator and the firmware core
(virtual-esp), over plain MQTT and over verified TLS with a generated CA."""

from __future__ import annotations

from collections.abc import Iterator
import datetime as dt
import json
import subprocess
import sys
import time

import pytest

from custom_components.automationone.broker_security import devices, tls
from custom_components.automationone.broker_security.client import BrokerAddress, DynsecClient

from ..broker import Broker, Dynsec, dynsec_plugin
from ..ha.realtime import REPO, VIRTUAL_ESP, DeviceProcess
from .mqtt_probe import Probe

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto"),
]


@pytest.fixture(scope="module")
def certificates() -> tuple[tls.Pem, tls.Pem]:
    now = dt.datetime.now(dt.UTC)
    ca = tls.generate_ca(now=now)
    return ca, tls.generate_broker_cert(ca, ["127.0.0.1", "localhost"], now=now)


@pytest.fixture
def dynsec() -> Dynsec:
    return Dynsec()


@pytest.fixture
def broker(dynsec: Dynsec, certificates: tuple[tls.Pem, tls.Pem]) -> Iterator[Broker]:
    _, cert = certificates
    with Broker(dynsec=dynsec, tls=(cert.cert, cert.key)) as running:
        yield running


def start_device(kind: str, broker: Broker, dynsec: Dynsec, esp_id: str) -> DeviceProcess:
    """A device on the shared login `devices`, as set up before anything was secured."""
    shared = ["--username", "devices", "--password", dynsec.password("devices")]
    if kind == "simulator":
        args = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port",
                str(broker.port), "--devices", "1", "--prefix", esp_id.rsplit("-", 1)[0],
                "--heartbeat", "1", "--log-level", "warning", *shared]  # fmt: skip
    else:
        if not VIRTUAL_ESP.exists():
            subprocess.run(["make", "-s", "-f", "firmware/firmware.mk", "firmware-virtual-esp"],
                           cwd=REPO, check=True)  # fmt: skip
        args = [str(VIRTUAL_ESP), "--host", "127.0.0.1", "--port", str(broker.port),
                "--esp-id", esp_id, "--heartbeat", "1", "--quiet", *shared]  # fmt: skip
    return DeviceProcess(args).start()


def announce_where(
    ha: Probe, esp_id: str, check: object, within: float = 20.0
) -> dict[str, object]:
    """The first announce of `esp_id` for which `check(announce)` holds."""
    topic = f"kaiser/god/esp/{esp_id}/announce"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            got, payload = ha.messages.get(timeout=0.5)
        except Exception:  # noqa: BLE001 (queue.Empty)
            continue
        if got == topic and payload:
            announce = json.loads(payload)
            if check(announce):  # type: ignore[operator]
                return announce  # type: ignore[no-any-return]
    raise AssertionError(f"no matching announce of {esp_id} within {within} s")


DEVICES = {"simulator": "simlogin-01", "virtual-esp": "velogin-01"}


@pytest.mark.parametrize("transport", ["plain", "tls"])
@pytest.mark.parametrize("kind", list(DEVICES))
def test_device_switches_to_its_own_login(
    broker: Broker,
    dynsec: Dynsec,
    certificates: tuple[tls.Pem, tls.Pem],
    kind: str,
    transport: str,
) -> None:
    """Delivered over the shared session, taken, announced; then the shared login is revoked
    for the device's topics and it keeps working (heartbeats, commands) under its own."""
    esp_id = DEVICES[kind]
    ha = Probe(broker.port, "homeassistant", dynsec.password("homeassistant")).connect()
    assert ha.subscribe("kaiser/#")
    device = start_device(kind, broker, dynsec, esp_id)
    try:
        announce_where(ha, esp_id, lambda a: a.get("login") == "devices")
        address = BrokerAddress(broker.host, broker.port, "a1admin", dynsec.password("a1admin"))
        with DynsecClient(address) as client:
            login = devices.create_login(client, "god", esp_id, 1)
            command: dict[str, object] = {
                "v": 1, "cmd": "login", "username": login.username, "password": login.password,
            }  # fmt: skip
            if transport == "tls":
                command |= {"ca": certificates[0].cert, "port": broker.tls_port}
            ha.publish(f"kaiser/god/esp/{esp_id}/system/command", json.dumps(command).encode())
            announce = announce_where(ha, esp_id, lambda a: a.get("login") == login.username)
            assert "login_error" not in announce
            devices.revoke_old_access(
                client, "god", esp_id, previous_username=None, shared_login="devices"
            )
        # Still in touch under its own login: heartbeats arrive, commands reach it.
        ha.drain()
        heartbeat = f"kaiser/god/esp/{esp_id}/heartbeat"
        deadline = time.monotonic() + 10
        while (item := ha.messages.get(timeout=10))[0] != heartbeat:
            assert time.monotonic() < deadline
        ha.publish(f"kaiser/god/esp/{esp_id}/actuator/7/command", b'{"v":1,"action":"on"}')
        deadline = time.monotonic() + 10
        while (item := ha.messages.get(timeout=10))[
            0
        ] != f"kaiser/god/esp/{esp_id}/actuator/7/status":
            assert time.monotonic() < deadline
        assert json.loads(item[1])["refused"] == "unknown_gpio"  # it answered: it got the command
        if transport == "tls":
            assert f"on port {broker.tls_port}" in broker.log
    finally:
        device.stop()
        ha.close()


@pytest.mark.parametrize("kind", list(DEVICES))
def test_a_login_the_broker_refuses_is_not_taken(broker: Broker, dynsec: Dynsec, kind: str) -> None:
    """No lock-out: a wrong password or a CA the broker's certificate does not chain to ->
    the device is back on its old login and says why."""
    esp_id = DEVICES[kind]
    ha = Probe(broker.port, "homeassistant", dynsec.password("homeassistant")).connect()
    assert ha.subscribe("kaiser/#")
    device = start_device(kind, broker, dynsec, esp_id)
    try:
        announce_where(ha, esp_id, lambda a: a.get("login") == "devices")
        wrong = {"v": 1, "cmd": "login", "username": "a1-nobody-1", "password": "x" * 24}
        ha.publish(f"kaiser/god/esp/{esp_id}/system/command", json.dumps(wrong).encode())
        announce = announce_where(ha, esp_id, lambda a: "login_error" in a)
        assert announce["login_error"] == "refused"
        assert announce["login"] == "devices"
        other_ca = tls.generate_ca("someone else", now=dt.datetime.now(dt.UTC))
        with DynsecClient(
            BrokerAddress(broker.host, broker.port, "a1admin", dynsec.password("a1admin"))
        ) as client:
            login = devices.create_login(client, "god", esp_id, 1)
        bad_tls = {
            "v": 1,
            "cmd": "login",
            "username": login.username,
            "password": login.password,
            "ca": other_ca.cert,
            "port": broker.tls_port,
        }
        ha.publish(f"kaiser/god/esp/{esp_id}/system/command", json.dumps(bad_tls).encode())
        announce = announce_where(ha, esp_id, lambda a: a.get("login_error") == "tls", within=40)
        assert announce["login"] == "devices"
    finally:
        device.stop()
        ha.close()
