"""A Kaiser relay's bridge with its own login over TLS, against two real Mosquittos.

Written from docs/kaiser.md and docs/security.md: the main broker runs the dynamic-security
plugin and a TLS listener; the relay's Mosquitto runs the configuration `bridge_config`
generates with the login `create_relay_login` made and the main broker's CA. The bridge comes
up (Mosquitto's own `$SYS/broker/connection/kaiser-gh1/state` is `1` on the main broker, and
`0`, its last will, when the link drops), carries the relay's tree both ways and HA's status
in; the login itself may do nothing else.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
import queue
import time

import pytest

from custom_components.automationone.broker_security.client import BrokerAddress, DynsecClient
from custom_components.automationone.broker_security.devices import NewLogin
from custom_components.automationone.broker_security.relays import (
    create_relay_login,
    relay_username,
    remove_relay_login,
)
from custom_components.automationone.broker_security.tls import Pem
from custom_components.automationone.protocol.relay import (
    HA_STATUS_TOPIC,
    bridge_name,
    bridge_state_topic,
)

from ..broker import Broker, Dynsec, dynsec_plugin
from ..kaiser_net import Link, RelayBroker
from .mqtt_probe import LoginRefusedError, Probe

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto"),
]

KAISER = "gh1"
STATE = bridge_state_topic(bridge_name(KAISER))
ROGUE = b'{"v":1,"rogue":true}'


def admin(broker: Broker, dynsec: Dynsec) -> DynsecClient:
    return DynsecClient(
        BrokerAddress(broker.host, broker.port, "a1admin", dynsec.password("a1admin"))
    )


@pytest.fixture
def main(tls_dynsec_broker: Broker) -> Broker:
    """The main broker: dynamic security on both listeners, TLS on `tls_port`."""
    return tls_dynsec_broker


@pytest.fixture
def ca(broker_ca: Pem) -> Pem:
    return broker_ca


@pytest.fixture
def login(main: Broker, dynsec: Dynsec) -> NewLogin:
    with admin(main, dynsec) as client:
        create_relay_login(client, KAISER)  # twice: idempotent, the second password counts
        return create_relay_login(client, KAISER)


def watcher(main: Broker, dynsec: Dynsec) -> Probe:
    """The dynsec admin's login, which may read $SYS."""
    probe = Probe(main.port, "a1admin", dynsec.password("a1admin")).connect()
    assert probe.subscribe(STATE)
    return probe


def ha(main: Broker, dynsec: Dynsec) -> Probe:
    probe = Probe(main.port, "homeassistant", dynsec.password("homeassistant")).connect()
    assert probe.subscribe("kaiser/#")
    return probe


def wait_state(probe: Probe, payload: bytes) -> None:
    """The bridge state reaches `payload` (retained `1`/`0`) within 10 s. (Without the role's
    publish entry for it, the bridge still connects, but its `1` never arrives.)"""
    deadline = time.monotonic() + 10
    with contextlib.suppress(queue.Empty):
        while time.monotonic() < deadline:
            if probe.wait_for_topic(STATE)[0][1] == payload:
                return
    pytest.fail(f"the bridge state never became {payload!r}")


def test_the_bridge_runs_over_tls_with_its_own_login(
    main: Broker, dynsec: Dynsec, login: NewLogin, ca: Pem, tmp_path: Path
) -> None:
    """Up with the relay's login over verified TLS; both ways; HA's status in; its will."""
    assert login.username == relay_username(KAISER) == "kaiser-gh1"
    cafile = tmp_path / "ca.crt"
    cafile.write_text(ca.cert, encoding="utf-8")
    assert main.tls_port is not None
    link = Link(main.tls_port)
    relay = RelayBroker(
        KAISER,
        link.port,
        remote_username=login.username,
        remote_password=login.password,
        cafile=str(cafile),
    )
    assert "bridge_insecure false" in relay.config.splitlines()
    state = watcher(main, dynsec)
    ha_side = ha(main, dynsec)
    try:
        relay.start()
        wait_state(state, b"1")
        device = Probe(relay.port, None, None).connect()
        assert device.subscribe(f"kaiser/{KAISER}/#")
        assert device.subscribe(HA_STATUS_TOPIC)
        # The bridge's subscription on the main broker exists once HA's messages arrive.
        deadline = time.monotonic() + 10
        while not any(t.endswith("/config") for t, _ in device.drain()):
            assert time.monotonic() < deadline, "the bridge never carried main -> relay"
            ha_side.publish(f"kaiser/{KAISER}/esp/esp-1/config", b'{"v":1}')
            time.sleep(0.2)
        # relay -> main
        device.publish(f"kaiser/{KAISER}/esp/esp-1/heartbeat", b"up")
        ha_side.wait_for(f"kaiser/{KAISER}/esp/esp-1/heartbeat", b"up")
        # HA's status -> relay
        ha_side.publish(HA_STATUS_TOPIC, b"online")
        device.wait_for(HA_STATUS_TOPIC, b"online")
        device.close()
        # The link drops: the main broker publishes the bridge's last will.
        link.cut()
        wait_state(state, b"0")
        link.restore()
        wait_state(state, b"1")
    finally:
        relay.stop()
        link.close()
        state.close()
        ha_side.close()


def test_the_relay_login_is_confined_to_its_tree(
    main: Broker, dynsec: Dynsec, login: NewLogin
) -> None:
    """Used directly (paho), the relay's login publishes and subscribes only what the bridge
    needs, only with its own client id; removal ends it."""
    with pytest.raises(LoginRefusedError):  # bound to the client id kaiser-gh1
        Probe(main.port, login.username, login.password, client_id="someone").connect()
    ha_side = ha(main, dynsec)
    assert ha_side.subscribe("#")  # everything a rogue publish could reach
    state = watcher(main, dynsec)
    assert state.subscribe("$SYS/broker/connection/+/state")
    bridge = Probe(main.port, login.username, login.password, client_id=bridge_name(KAISER))
    bridge.connect()
    try:
        _check_confined(bridge, ha_side, state)
    finally:
        bridge.close()
        ha_side.close()
        state.close()

    with admin(main, dynsec) as client:
        remove_relay_login(client, KAISER)
        remove_relay_login(client, KAISER)  # idempotent
        (roles,) = client.check([{"command": "listRoles"}])
        (clients,) = client.check([{"command": "listClients"}])
    assert "a1-relay-gh1" not in roles.data["roles"]
    assert login.username not in clients.data["clients"]
    with pytest.raises(LoginRefusedError):
        Probe(main.port, login.username, login.password, client_id=bridge_name(KAISER)).connect()


def _check_confined(bridge: Probe, ha_side: Probe, state: Probe) -> None:
    """Forbidden publishes do not arrive (a barrier after them), forbidden filters are refused."""
    forbidden = [
        "kaiser/other/esp/esp-1/config",
        "kaiser/other/relay/announce",
        "kaiser/gh10/esp/esp-1/heartbeat",
        "kaiser/god/broadcast/emergency",
        HA_STATUS_TOPIC,
        "homeassistant/sensor/x/config",
        "$SYS/broker/connection/kaiser-other/state",
        "other",
    ]
    for topic in forbidden:
        bridge.publish(topic, ROGUE)
    bridge.publish(STATE, b"1")  # its own bridge state: allowed
    state.wait_for(STATE, b"1")
    barrier = f"kaiser/{KAISER}/esp/esp-1/heartbeat"
    bridge.publish(barrier, b"barrier")
    seen = ha_side.wait_for(barrier, b"barrier") + state.drain()
    assert [t for t, p in seen if p == ROGUE] == []

    filters = ["#", "kaiser/#", "kaiser/other/#", "kaiser/+/esp/+/config", "$SYS/#"]
    filters += [f"kaiser/{KAISER}/esp/#", "homeassistant/#"]
    assert [f for f in filters if bridge.subscribe(f)] == []
    assert bridge.subscribe(f"kaiser/{KAISER}/#")
    assert bridge.subscribe(HA_STATUS_TOPIC)
