"""Per-device logins against a real Mosquitto with the dynamic-security plugin.

Written from docs/security.md: a device's login publishes only its own device -> HA topics and
subscribes only to its own HA -> device topics and its kaiser's broadcast; HA's login still
sees everything; anonymous clients are refused; rotation and removal end the old login.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from custom_components.automationone.broker_security import devices
from custom_components.automationone.broker_security.client import (
    AdminLoginRefusedError,
    BrokerAddress,
    DynsecClient,
    DynsecUnavailableError,
)
from custom_components.automationone.broker_security.dynsec import DEVICE_PUBLISHES

from ..broker import Broker, Dynsec, dynsec_plugin
from .mqtt_probe import LoginRefusedError, Probe

pytestmark = [
    pytest.mark.usefixtures("socket_enabled"),
    pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto"),
]

# HA -> device topics below a device's root (docs/protocol.md): a device must never send them.
COMMAND_TAILS = (
    "config",
    "actuator/5/command",
    "sensor/34/processed",
    "system/command",
    "emergency",
)
# device -> HA topics with their pins filled in
DEVICE_TAILS = tuple(t.replace("+", "34") for t in DEVICE_PUBLISHES)


@dataclass
class Device:
    kaiser_id: str
    esp_id: str
    username: str
    password: str

    @property
    def root(self) -> str:
        return f"kaiser/{self.kaiser_id}/esp/{self.esp_id}/"

    def probe(self, broker: Broker) -> Probe:
        return Probe(broker.port, self.username, self.password, client_id=self.esp_id).connect()


@pytest.fixture
def dynsec() -> Dynsec:
    return Dynsec()


@pytest.fixture
def broker(dynsec: Dynsec) -> Iterator[Broker]:
    with Broker(dynsec=dynsec) as running:
        yield running


def admin(broker: Broker, dynsec: Dynsec) -> DynsecClient:
    return DynsecClient(
        BrokerAddress(broker.host, broker.port, "a1admin", dynsec.password("a1admin"))
    )


def ha_probe(broker: Broker, dynsec: Dynsec) -> Probe:
    probe = Probe(broker.port, "homeassistant", dynsec.password("homeassistant")).connect()
    assert probe.subscribe("#")
    return probe


def make_device(client: DynsecClient, kaiser_id: str, esp_id: str, generation: int = 1) -> Device:
    login = devices.create_login(client, kaiser_id, esp_id, generation)
    return Device(kaiser_id, esp_id, login.username, login.password)


def test_device_logins_are_confined_to_their_own_topics(broker: Broker, dynsec: Dynsec) -> None:
    """Every forbidden publish and subscription of every device fails; allowed ones work."""
    with admin(broker, dynsec) as client:
        fleet = [
            make_device(client, "god", "esp-a1"),
            make_device(client, "god", "esp-b2"),
            make_device(client, "relay1", "esp-c3"),
        ]
    ha = ha_probe(broker, dynsec)
    attempts = succeeded = 0
    try:
        for me in fleet:
            others = [d for d in fleet if d is not me]
            probe = me.probe(broker)
            # Publishes: another device's readings and states, any command (also my own), the
            # kaiser broadcasts, and topics outside the protocol.
            forbidden = [o.root + tail for o in others for tail in DEVICE_TAILS + COMMAND_TAILS]
            forbidden += [me.root + tail for tail in COMMAND_TAILS]
            forbidden += [f"kaiser/{k}/broadcast/emergency" for k in ("god", "relay1")]
            forbidden += ["homeassistant/status", "kaiser/god/esp/esp-a1", "$SYS/x", "other"]
            for topic in forbidden:
                probe.publish(topic, b'{"v":1,"rogue":true}')
            # The barrier: an allowed publish after them; in-order delivery from one client
            # means any forbidden message that got through has arrived before it.
            barrier = me.root + "heartbeat"
            probe.publish(barrier, b"barrier")
            seen = ha.wait_for(barrier, b"barrier")
            leaked = [t for t, p in seen if p == b'{"v":1,"rogue":true}']
            attempts += len(forbidden)
            succeeded += len(leaked)
            assert leaked == [], f"{me.esp_id} published on {leaked}"

            # Subscriptions: wildcards and other devices' topics are refused by the broker.
            filters = ["#", "kaiser/#", "kaiser/+/esp/+/config", "$SYS/#", me.root + "#"]
            filters += [o.root + t for o in others for t in ("config", "actuator/+/command", "#")]
            granted = [f for f in filters if probe.subscribe(f)]
            attempts += len(filters)
            succeeded += len(granted)
            assert granted == [], f"{me.esp_id} may subscribe to {granted}"
            # ...and their traffic does not reach it: HA publishes on every other device's
            # command topics, then on mine (allowed) as the barrier.
            for sub in (
                "config",
                "actuator/+/command",
                "sensor/+/processed",
                "system/command",
                "emergency",
            ):
                assert probe.subscribe(me.root + sub), sub
            assert probe.subscribe(f"kaiser/{me.kaiser_id}/broadcast/emergency")
            for other in others:
                for tail in COMMAND_TAILS:
                    ha.publish(other.root + tail, b"for-" + other.esp_id.encode())
            ha.publish(me.root + "actuator/5/command", b"mine")
            got = probe.wait_for(me.root + "actuator/5/command", b"mine")
            foreign = [t for t, _ in got if not t.startswith(me.root)]
            attempts += len(others) * len(COMMAND_TAILS)
            succeeded += len(foreign)
            assert foreign == []
            probe.close()
        # Anonymous and wrong passwords are refused outright.
        for username, password in ((None, None), (fleet[0].username, "wrong-password-0123")):
            attempts += 1
            with pytest.raises(LoginRefusedError):
                Probe(broker.port, username, password).connect()
        # A device's login works only with its own client id.
        attempts += 1
        with pytest.raises(LoginRefusedError):
            Probe(broker.port, fleet[0].username, fleet[0].password, client_id="esp-b2").connect()
    finally:
        ha.close()
    print(f"acl: devices={len(fleet)} attempts={attempts} succeeded={succeeded}")
    assert succeeded == 0


def test_ha_still_sees_and_commands_everything(broker: Broker, dynsec: Dynsec) -> None:
    """HA's own login reads every device topic and reaches every device's command topics."""
    with admin(broker, dynsec) as client:
        me = make_device(client, "god", "esp-a1")
    ha = ha_probe(broker, dynsec)
    probe = me.probe(broker)
    assert probe.subscribe(me.root + "config")
    assert probe.subscribe("kaiser/god/broadcast/emergency")
    try:
        for tail in DEVICE_TAILS:
            probe.publish(me.root + tail, tail.encode())
            ha.wait_for(me.root + tail, tail.encode())
        ha.publish(me.root + "config", b"cfg", retain=True)
        probe.wait_for(me.root + "config", b"cfg")
        ha.publish("kaiser/god/broadcast/emergency", b"stop")
        probe.wait_for("kaiser/god/broadcast/emergency", b"stop")
    finally:
        probe.close()
        ha.close()


def test_rotation_and_removal_end_the_old_login(broker: Broker, dynsec: Dynsec) -> None:
    """A rotated password stops working once HA confirmed the new one; removal ends all."""
    with admin(broker, dynsec) as client:
        first = make_device(client, "god", "esp-a1", 1)
        second = make_device(client, "god", "esp-a1", 2)
        # Until the confirmation both work (the device may not have switched yet).
        first.probe(broker).close()
        second.probe(broker).close()
        devices.revoke_old_access(
            client, "god", "esp-a1", previous_username=first.username, shared_login=None
        )
        with pytest.raises(LoginRefusedError):
            first.probe(broker)
        second.probe(broker).close()
        devices.remove_device(client, "god", "esp-a1", [first.username, second.username])
        with pytest.raises(LoginRefusedError):
            second.probe(broker)
        # Removing twice (a retry) is fine.
        devices.remove_device(client, "god", "esp-a1", [second.username])
        (listed,) = client.check([{"command": "listRoles"}])
    assert "a1-dev-god-esp-a1" not in listed.data["roles"]


def test_shared_login_keeps_working_until_the_switch_is_confirmed(
    broker: Broker, dynsec: Dynsec
) -> None:
    """No lock-out: the shared login loses a device's topics only after the confirmation,
    and keeps every other device's."""
    shared = Probe(broker.port, "devices", dynsec.password("devices"), client_id="esp-a1")
    shared.connect()
    ha = ha_probe(broker, dynsec)
    try:
        with admin(broker, dynsec) as client:
            make_device(client, "god", "esp-a1")  # created, never delivered
            shared.publish("kaiser/god/esp/esp-a1/heartbeat", b"still-1")
            ha.wait_for("kaiser/god/esp/esp-a1/heartbeat", b"still-1")
            devices.revoke_old_access(
                client, "god", "esp-a1", previous_username=None, shared_login="devices"
            )
            devices.revoke_old_access(  # idempotent
                client, "god", "esp-a1", previous_username=None, shared_login="devices"
            )
        shared.close()
        shared = Probe(broker.port, "devices", dynsec.password("devices"), client_id="esp-b2")
        shared.connect()
        assert shared.subscribe("kaiser/#")
        shared.publish("kaiser/god/esp/esp-a1/heartbeat", b"revoked")
        shared.publish("kaiser/god/esp/esp-b2/heartbeat", b"other-device")
        seen = ha.wait_for("kaiser/god/esp/esp-b2/heartbeat", b"other-device")
        assert ("kaiser/god/esp/esp-a1/heartbeat", b"revoked") not in seen
        ha.publish("kaiser/god/esp/esp-a1/config", b"secret-config")
        ha.publish("kaiser/god/esp/esp-b2/config", b"b-config")
        got = shared.wait_for("kaiser/god/esp/esp-b2/config", b"b-config")
        assert ("kaiser/god/esp/esp-a1/config", b"secret-config") not in got
    finally:
        shared.close()
        ha.close()


def test_admin_login_refused(broker: Broker) -> None:
    with pytest.raises(AdminLoginRefusedError):
        DynsecClient(
            BrokerAddress(broker.host, broker.port, "a1admin", "wrong-password-01")
        ).__enter__()


def test_broker_without_the_plugin(dynsec: Dynsec) -> None:
    """Nothing answers on the control topic: a clear error, not a hang."""
    with Broker(dynsec=dynsec, plugin=False) as plain:
        client = DynsecClient(BrokerAddress(plain.host, plain.port, "a1admin", "x" * 16), timeout=1)
        with client, pytest.raises(DynsecUnavailableError):
            devices.check_plugin(client)
