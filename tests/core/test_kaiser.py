"""Kaiser relays without HA: relay payloads, the bridge config, the edge rule engine and the
spool of readings held while the bridge is down."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
import pwd
import subprocess
import sys
import time
from typing import Any

import paho.mqtt.client as paho
import pytest

from custom_components.automationone.protocol import ErrorCode, ProtocolError, relay as r
from custom_components.automationone.rules import PinRef, parse_rule
from custom_components.automationone.rules.edge import EdgeCommand, EdgeEngine, edge_scope
from kaiser.cli import main as kaiser_cli, spool_path
from kaiser.relay import Relay, RelayOptions
from kaiser.spool import RETRY_EVERY_S, Spool, SpoolInUseError, encode_line

PH = {"esp_id": "esp1", "gpio": 34}
PUMP = {"esp_id": "esp2", "gpio": 5}


def rule(**extra: Any) -> dict[str, Any]:
    """pH below 6 → pump on for 30 s."""
    return {
        "id": "ph_low",
        "name": "pH low",
        "triggers": [{"type": "sensor", "sensor": PH, "direction": "below", "threshold": 6.0}],
        "actions": [{"type": "on_for", "actuator": PUMP, "duration_s": 30}],
        **extra,
    }


def test_relay_payloads_round_trip() -> None:
    """Every relay payload parses back to what was encoded."""
    announce = r.RelayAnnounce("gh1", "0.1.0", "kaiser-gh1", "Greenhouse", "10.0.0.5", 1883)
    assert r.parse_relay_announce(announce.encode(), "gh1") == announce
    health = r.RelayHealth(True, 12, 35.5, 100, "standby", 2, 7, 1, "0f3a9c2e")
    assert r.parse_relay_health(health.encode()) == health
    sensor = r.EdgeSensor("esp1", 34, "ph", "raw", params={"adc": "esp32_11db"})
    rules = r.EdgeRules(3, (rule(),), (sensor,), "Europe/Berlin")
    assert r.parse_edge_rules(rules.encode()) == rules
    assert r.parse_fired(r.encode_fired({"a": 5, "b": 7})) == {"a": 5, "b": 7}
    assert r.parse_relay_topic("kaiser/gh1/relay/health") == ("gh1", r.RelayKind.HEALTH)


def health_from(instance: str | None) -> r.RelayHealth:
    """A health report as docs/protocol.md writes it, with `instance` when given."""
    payload: dict[str, Any] = {
        "v": 1, "bridge": True, "devices": 3, "msg_s": 1.5, "uptime_s": 10, "edge": "standby"
    }  # fmt: skip
    if instance is not None:
        payload["instance"] = instance
    return r.parse_relay_health(json.dumps(payload))


@pytest.mark.parametrize("instance", ["", "0F3A", "a/b", "a" * 33, 7])
def test_relay_health_refuses_a_bad_instance(instance: object) -> None:
    """`instance` is 1-32 lower-case hex digits."""
    with pytest.raises(ProtocolError):
        r.parse_relay_health(
            json.dumps({"v": 1, "bridge": True, "devices": 0, "msg_s": 0, "uptime_s": 0,
                        "edge": "standby", "instance": instance})
        )  # fmt: skip


def test_a_restarted_relay_is_not_a_second_relay() -> None:
    """Each restart draws a new instance: never a conflict, however many restarts."""
    seen = r.RelayInstances()
    t = 5.0  # any uptime
    for instance in ["aa", "aa", "bb", "bb", "cc", None, "dd", "ee"]:
        seen.see(health_from(instance).instance, t)
        t += 1.0
        assert not seen.conflict(t)
    assert seen.current == "ee"


def test_two_relays_alternating_are_a_conflict_until_they_stop() -> None:
    """An earlier instance reporting again twice within 10 minutes is a second relay; once the
    alternation stops the conflict ends 10 minutes after the last return."""
    seen = r.RelayInstances()
    t = 1e6  # any uptime
    seen.see("aa", t)
    seen.see("bb", t + 1)  # as a restart
    assert not seen.conflict(t + 1)
    seen.see("aa", t + 2)  # back: one return
    assert not seen.conflict(t + 2)
    seen.see("bb", t + 3)  # and again
    assert seen.conflict(t + 3)
    assert seen.conflict(t + 2 + r.CONFLICT_WINDOW_S)
    assert not seen.conflict(t + 3 + r.CONFLICT_WINDOW_S)


def test_returns_far_apart_are_not_a_conflict() -> None:
    """Two returns more than the window apart do not make a conflict."""
    seen = r.RelayInstances()
    seen.see("aa", 0.0)
    seen.see("bb", 1.0)
    seen.see("aa", 2.0)
    seen.see("bb", 3.0 + r.CONFLICT_WINDOW_S)
    assert not seen.conflict(3.0 + r.CONFLICT_WINDOW_S)


def test_relay_health_carries_its_instance() -> None:
    """The relay program sends one random instance in every health report."""
    relay = Relay(RelayOptions(kaiser_id="gh1"))
    first = r.parse_relay_health(relay.health().encode())
    again = r.parse_relay_health(relay.health().encode())
    other = Relay(RelayOptions(kaiser_id="gh1"))
    assert first.instance == again.instance == relay.instance
    assert first.instance != r.parse_relay_health(other.health().encode()).instance


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"v":1,"kaiser_id":"gh2","sw_version":"1","bridge":"kaiser-gh2"}', "id_mismatch"),
        (b'{"v":1,"kaiser_id":"g/h","sw_version":"1","bridge":"b"}', "bad_value"),
        (b'{"v":2,"kaiser_id":"gh1","sw_version":"1","bridge":"b"}', "unsupported_version"),
        (b'{"v":1,"kaiser_id":"gh1","bridge":"b"}', "missing_field"),
    ],
)
def test_relay_announce_rejected(payload: bytes, code: str) -> None:
    """A bad announce is rejected with the protocol's code."""
    with pytest.raises(ProtocolError) as err:
        r.parse_relay_announce(payload, "gh1")
    assert err.value.code == ErrorCode(code)


def test_edge_rules_reject_non_objects() -> None:
    """Rules and sensor parameters must be objects; unknown relay topics are refused."""
    with pytest.raises(ProtocolError) as err:
        r.parse_edge_rules(b'{"v":1,"version":1,"rules":[3],"sensors":[]}')
    assert (err.value.code, err.value.path) == (ErrorCode.WRONG_TYPE, "rules[0]")
    with pytest.raises(ProtocolError):
        r.parse_relay_topic("kaiser/gh1/relay/other")


def test_bridge_config_forwards_the_kaiser_both_ways() -> None:
    """The bridge carries the relay's whole tree both ways, HA's status in, with a
    persistent session and the bridge's state notifications."""
    lines = r.bridge_config("gh1", "192.168.1.2", 1884).splitlines()
    for line in (
        "connection kaiser-gh1",
        "address 192.168.1.2:1884",
        "cleansession false",
        "notifications true",
        "topic kaiser/gh1/# both 1",
        "topic homeassistant/status in 1",
        "set_tcp_nodelay true",
    ):
        assert line in lines
    assert r.bridge_state_topic(r.bridge_name("gh1")) == "$SYS/broker/connection/kaiser-gh1/state"


def test_bridge_config_without_a_login_has_no_login_lines() -> None:
    """No login, no TLS: nothing but a comment saying where they would go."""
    lines = r.bridge_config("gh1", "192.168.1.2").splitlines()
    assert not any(line.startswith(("remote_username", "remote_password")) for line in lines)
    assert [line for line in lines if line.startswith("bridge_")] == [
        "bridge_protocol_version mqttv311"
    ]
    assert lines[-1].startswith("# remote_password, bridge_cafile")


TLS_LOGIN = {
    "remote_username": "kaiser-gh1",
    "remote_password": "s3cret-0123456789",
    "cafile": "/etc/mosquitto/certs/ca.crt",
}


def test_bridge_config_with_login_and_tls() -> None:
    """The relay's own login and verified TLS 1.2+ to the main broker's TLS port; mTLS only
    with the user's own client certificate."""
    lines = r.bridge_config("gh1", "broker.lan", 8883, **TLS_LOGIN).splitlines()
    tail = lines[lines.index("topic homeassistant/status in 1") + 1 :]
    assert [line for line in tail if not line.startswith("#")] == [
        "remote_username kaiser-gh1",
        "remote_password s3cret-0123456789",
        "bridge_cafile /etc/mosquitto/certs/ca.crt",
        "bridge_insecure false",
        "bridge_tls_version tlsv1.2",
    ]
    assert "address broker.lan:8883" in lines
    mtls = r.bridge_config(
        "gh1", "h", 8883, cafile="/c/ca.crt", certfile="/c/relay.crt", keyfile="/c/relay.key"
    ).splitlines()
    assert mtls[-2:] == ["bridge_certfile /c/relay.crt", "bridge_keyfile /c/relay.key"]
    unknown = r.bridge_config("gh1", "h", remote_username="kaiser-gh1").splitlines()
    assert f"remote_password {r.PASSWORD_PLACEHOLDER}" in unknown
    assert not any(line.startswith("bridge_cafile") for line in unknown)


@pytest.mark.parametrize(
    "login",
    [
        {"certfile": "/c/relay.crt", "cafile": "/c/ca.crt"},  # no key
        {"certfile": "/c/relay.crt", "keyfile": "/c/relay.key"},  # no CA
        {"remote_password": "s3cret-0123456789"},  # no username
        {"remote_username": "kaiser-gh1", "remote_password": "x\nlistener 1"},  # a 2nd line
        {"remote_username": ""},
    ],
)
def test_bridge_config_refuses_half_a_login(login: dict[str, str]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        r.bridge_config("gh1", "h", **login)  # type: ignore[arg-type]


def test_cli_takes_the_password_from_a_file(tmp_path: Path) -> None:
    """`python -m kaiser bridge-config`: the password from --password-file (never argv); the
    file written with it is its owner's alone."""
    secret = tmp_path / "password"
    secret.write_text("s3cret-0123456789\n", encoding="utf-8")
    out = tmp_path / "kaiser.conf"
    out.write_text("", encoding="utf-8")
    out.chmod(0o644)
    kaiser_cli([
        "bridge-config", "--kaiser-id", "gh1", "--main-host", "broker.lan", "--main-port", "8883",
        "--username", "kaiser-gh1", "--password-file", str(secret),
        "--cafile", "/etc/mosquitto/certs/ca.crt", "--write", str(out),
    ])  # fmt: skip
    text = out.read_text(encoding="utf-8")
    assert text == r.bridge_config("gh1", "broker.lan", 8883, **TLS_LOGIN)
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "extra",
    [
        ["--password-file", "/nonexistent"],  # no --username
        ["--username", "kaiser-gh1", "--password-file", "/nonexistent/password"],
        ["--certfile", "/c/relay.crt"],  # no key, no CA
        ["--username", "kaiser-gh1", "--password", "s3cret-0123456789"],  # no such option
    ],
)
def test_cli_refuses_bad_login_options(extra: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        kaiser_cli(["bridge-config", "--kaiser-id", "gh1", "--main-host", "h", *extra])
    assert exited.value.code == 2


def test_bridge_config_with_a_tls_listener_for_devices() -> None:
    """A second listener for devices, with the certificate `kaiser tls` writes, before the
    bridge's section (Mosquitto reads listener options after their listener line)."""
    lines = r.bridge_config(
        "gh1", "h", device_tls_port=8883, device_certs="/etc/mosquitto/certs/relay/"
    ).splitlines()
    start = lines.index("listener 8883")
    assert lines[start : start + 4] == [
        "listener 8883",
        "certfile /etc/mosquitto/certs/relay/broker.crt",
        "keyfile /etc/mosquitto/certs/relay/broker.key",
        "tls_version tlsv1.2",
    ]
    assert lines.index("listener 1883") < start < lines.index("connection kaiser-gh1")
    bound = r.bridge_config("gh1", "h", device_tls_port=8883, device_tls_host="192.168.1.20")
    assert "listener 8883 192.168.1.20" in bound.splitlines()
    assert "certfile" not in r.bridge_config("gh1", "h")
    with pytest.raises(ValueError):  # noqa: PT011
        r.bridge_config("gh1", "h", device_tls_port=8883, device_certs="/c\nlistener 1")


def test_cli_tls_writes_the_relay_brokers_certificate(tmp_path: Path) -> None:
    """`python -m kaiser tls`: a CA and a broker certificate for the relay's names (the one
    certificate maker, broker_security/tls.py), keys 0600, the broker's files to `--owner`."""
    from cryptography import x509

    out = tmp_path / "certs"
    me = pwd.getpwuid(os.getuid()).pw_name
    kaiser_cli(["tls", "--host", "gh1.lan", "--host", "192.168.1.20", "--out", str(out),
                "--owner", me])  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["broker.crt", "broker.key", "ca.crt", "ca.key"]
    assert (out / "broker.key").stat().st_mode & 0o777 == 0o600
    assert (out / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (out / "broker.key").owner() == me
    cert = x509.load_pem_x509_certificate((out / "broker.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["gh1.lan"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.20"]
    with pytest.raises(SystemExit) as exited:  # no such user: nothing half done
        kaiser_cli(["tls", "--host", "h", "--out", str(tmp_path / "x"), "--owner", "no-such-user"])
    assert exited.value.code == 2
    assert not (tmp_path / "x").exists()


def engine(**extra: Any) -> EdgeEngine:
    return EdgeEngine((parse_rule(rule(**extra)),))


def test_engine_fires_only_while_active() -> None:
    """Standby follows the values (primed latches) but sends nothing; active fires once per
    crossing, with the duration for the device to enforce."""
    e = engine()
    ph = PinRef("esp1", 34)
    assert e.on_value(ph, 7.0, 0, 600) == []
    assert e.on_value(ph, 5.0, 1000, 600) == []  # standby: crossing seen, not acted on
    e.active = True
    assert e.on_value(ph, 5.5, 2000, 600) == []  # still below: no new crossing
    assert e.on_value(ph, 7.0, 3000, 600) == []
    assert e.on_value(ph, 5.0, 4000, 600) == [EdgeCommand("ph_low", "esp2", 5, "on", None, 30)]
    assert e.fired == {"ph_low": 4000}


def test_engine_cooldown_carries_over() -> None:
    """HA's last firing (ha_fired) holds the relay's cooldown."""
    e = engine(cooldown_s=600)
    e.active = True
    ph = PinRef("esp1", 34)
    e.merge_fired({"ph_low": 1_000_000})
    e.on_value(ph, 7.0, 1_000_000, 600)
    assert e.on_value(ph, 5.0, 1_100_000, 600) == []  # 100 s after HA fired
    e.on_value(ph, 7.0, 1_700_000, 600)
    assert len(e.on_value(ph, 5.0, 1_700_000, 600)) == 1  # 700 s after


def test_engine_conditions_and_priority() -> None:
    """A failed condition blocks; a higher-priority rule on the same actuator wins."""
    window = {"type": "time_window", "after": "08:00", "before": "20:00"}
    low = parse_rule(rule(conditions=[window]))
    high = parse_rule({**rule(), "id": "high", "priority": 10})
    e = EdgeEngine((low, high), active=True)
    ph = PinRef("esp1", 34)
    e.on_value(ph, 7.0, 0, 600)
    (command,) = e.on_value(ph, 5.0, 1000, 600)
    assert command.rule_id == "high"
    e2 = EdgeEngine((low,), active=True)
    e2.on_value(ph, 7.0, 0, 21 * 60)
    assert e2.on_value(ph, 5.0, 1000, 21 * 60) == []  # outside the window


def test_edge_scope() -> None:
    """Only rules of one relay's devices, with sensors it can compute, run on the relay."""
    kaisers = {"esp1": "gh1", "esp2": "gh1", "esp3": "gh2", "esp4": "god"}

    def scope(data: dict[str, Any], problem: str | None = None) -> tuple[str | None, str | None]:
        return edge_scope(parse_rule(data), kaisers.get, lambda ref: problem)

    assert scope(rule()) == ("gh1", None)
    assert scope(rule(), "filter") == (None, "filter")
    other = {"esp_id": "esp3", "gpio": 5}
    assert scope({**rule(), "actions": [{"type": "on", "actuator": other}]}) == (
        None,
        "several_relays",
    )
    main = {"esp_id": "esp4", "gpio": 5}
    assert scope({**rule(), "actions": [{"type": "on", "actuator": main}]}) == (
        None,
        "main_broker",
    )
    notify = {"type": "notify", "message": "pH {value}"}
    assert scope({**rule(), "actions": [notify]}) == (None, "notify")
    entity = {"type": "on", "actuator": {"entity_id": "switch.x"}}
    assert scope({**rule(), "actions": [entity]}) == (None, "entity")


# --- the spool (docs/kaiser.md "Readings while the bridge is down") -------------------------

ROOT = "kaiser/gh1/esp/esp1"


def reading(seq: int) -> tuple[str, bytes]:
    """A device's message `seq`: odd a batch, even one reading."""
    if seq % 2:
        payload = {"v": 1, "seq": seq, "ts": 1000 * seq, "readings": [{"gpio": 34, "raw": seq}]}
        return f"{ROOT}/sensor/batch", json.dumps(payload).encode()
    return f"{ROOT}/sensor/34/data", json.dumps({"v": 1, "seq": seq, "raw": seq}).encode()


def spooled(*seqs: int) -> bytes:
    return b"".join(encode_line(*reading(seq)) for seq in seqs)


class Published:
    """The relay's publishes, each with the mid paho gave it (nothing is connected)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.sent: list[tuple[int, str, dict[str, Any]]] = []
        publish = relay._client.publish

        def record(topic: str, payload: bytes, qos: int, retain: bool) -> paho.MQTTMessageInfo:
            info = publish(topic, payload, qos, retain)
            if "/sensor/" in topic:
                self.sent.append((info.mid, topic, json.loads(payload)))
            return info

        relay._client.publish = record  # type: ignore[method-assign]

    def ack(self) -> None:
        """The relay's broker acknowledges every resend so far."""
        for mid, _, _ in self.sent:
            self.relay._on_publish(self.relay._client, None, mid, None, None)


def relay_on(spool: Path | None, hold: int = 100) -> Relay:
    relay = Relay(RelayOptions("gh1", hold=hold, spool=spool))
    relay.load_spool()
    return relay


def deliver(relay: Relay, topic: str, payload: bytes) -> None:
    """A message from the relay's broker, through the relay's own callback."""
    message = paho.MQTTMessage(0, topic.encode())
    message.payload = payload
    relay._on_message(relay._client, None, message)


def bridge(relay: Relay, up: bool) -> None:
    deliver(relay, r.bridge_state_topic("kaiser-gh1"), b"1" if up else b"0")


def test_spool_keeps_what_is_held_and_resends_it_after_a_restart(tmp_path: Path) -> None:
    """Held readings are appended as they come; a relay started on the spool holds them again
    and resends them, as sent plus the resend flags, when the bridge is up; the spool is cut
    once the relay's broker acknowledged every resend, not before."""
    spool = tmp_path / "gh1-held.jsonl"
    first = relay_on(spool)
    bridge(first, up=False)
    for seq in (1, 2, 3):
        deliver(first, *reading(seq))
    assert spool.read_bytes() == spooled(1, 2, 3)  # flushed per message: a SIGKILL keeps them

    again = relay_on(spool)  # the first one was killed
    published = Published(again)
    bridge(again, up=True)
    assert [(topic, payload) for _, topic, payload in published.sent] == [
        (reading(seq)[0], json.loads(reading(seq)[1]) | {"replay": True, "resend": True})
        for seq in (1, 2, 3)
    ]
    assert spool.read_bytes() == spooled(1, 2, 3)  # a crash now resends them once more
    published.ack()
    assert spool.read_bytes() == b""
    assert not relay_on(spool).held


def test_spool_cut_keeps_what_was_held_meanwhile(tmp_path: Path) -> None:
    """The bridge drops again before the resends are acknowledged: the spool, cut, keeps the
    readings held since."""
    spool = tmp_path / "gh1-held.jsonl"
    relay = relay_on(spool)
    published = Published(relay)
    bridge(relay, up=False)
    deliver(relay, *reading(1))
    bridge(relay, up=True)
    bridge(relay, up=False)
    deliver(relay, *reading(2))
    assert spool.read_bytes() == spooled(1, 2)
    published.ack()
    assert spool.read_bytes() == spooled(2)


def test_resends_are_paced_to_what_the_bridge_queues() -> None:
    """A long outage's readings go on at `resend_per_s` (a tick's share at a time), not in one
    burst the bridge's bounded queue would drop; oldest first, each once."""
    relay = Relay(RelayOptions("gh1", hold=5000, resend_per_s=1000))
    published = Published(relay)
    bridge(relay, up=False)
    for seq in range(1, 2201):
        deliver(relay, *reading(seq))
    bridge(relay, up=True)
    assert len(published.sent) == 500  # 1000/s, ticks of 0.5 s
    relay._resend_held()  # the next ticks
    relay._resend_held()
    assert len(published.sent) == 1500
    bridge(relay, up=False)  # cut again: the rest stays held
    assert len(relay.held) == 700
    bridge(relay, up=True)
    relay._resend_held()
    assert [payload["seq"] for _, _, payload in published.sent] == list(range(1, 2201))
    assert not relay.held


def test_spool_skips_bad_lines_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Lines that are not a reading of this kaiser are skipped, counted and logged once; the
    spool is rewritten without them."""
    spool = tmp_path / "gh1-held.jsonl"
    bad = [
        b"not json\n",
        b"[1, 2]\n",
        b'{"topic": "kaiser/gh1/esp/esp1/sensor/batch"}\n',
        encode_line(f"{ROOT}/sensor/34/data", b'{"v": 1, "seq": "x", "raw": 1}'),
        encode_line(f"{ROOT}/sensor/34/data", b"\xff\xfe".decode("latin-1").encode()),
        encode_line("kaiser/gh2/esp/esp1/sensor/34/data", reading(2)[1]),  # another relay's
        encode_line(f"{ROOT}/status", b"online"),
    ]
    truncated = spooled(3)[:20]  # power cut in the middle of a line
    spool.write_bytes(spooled(1) + b"".join(bad) + spooled(2) + truncated)
    with caplog.at_level(logging.WARNING, "kaiser"):
        relay = relay_on(spool)
    assert [held.data.seq for held in relay.held] == [1, 2]
    assert relay.rejected["spool_bad_line"] == len(bad) + 1
    assert [m for m in caplog.messages if "spool_bad_line" in m] == [caplog.messages[0]]
    assert spool.read_bytes() == spooled(1, 2)


def test_spool_is_bounded_by_hold(tmp_path: Path) -> None:
    """`--hold` bounds the spool as it bounds memory: the oldest go, counted; the file is
    rewritten without them once it is twice what is held."""
    spool = tmp_path / "gh1-held.jsonl"
    spool.write_bytes(spooled(*range(1, 6)))
    relay = relay_on(spool, hold=3)
    assert [held.data.seq for held in relay.held] == [3, 4, 5]
    assert relay.held_dropped == 2
    assert spool.read_bytes() == spooled(3, 4, 5)
    bridge(relay, up=False)
    for seq in range(6, 30):
        deliver(relay, *reading(seq))
        assert len(spool.read_bytes().splitlines()) <= 2 * 3
    assert relay.held_dropped == 26
    assert relay_on(spool, hold=3).held == relay.held


def test_unwritable_spool_holds_in_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A spool that cannot be written does not stop the relay: it holds in memory, with one
    warning, and resends as without a spool."""
    (tmp_path / "file").write_text("", encoding="utf-8")
    with caplog.at_level(logging.WARNING, "kaiser"):
        relay = relay_on(tmp_path / "file" / "gh1-held.jsonl")
        published = Published(relay)
        bridge(relay, up=False)
        for seq in (1, 2, 3):
            deliver(relay, *reading(seq))
        bridge(relay, up=True)
        published.ack()
    assert [payload["seq"] for _, _, payload in published.sent] == [1, 2, 3]
    assert len(caplog.messages) == 1
    assert "Cannot write the spool" in caplog.messages[0]
    assert not relay.rejected


def test_unreadable_spool_is_left_alone(tmp_path: Path) -> None:
    """A spool that cannot be read at start is not used (it may hold readings)."""
    spool = tmp_path / "gh1-held.jsonl"
    spool.mkdir()
    relay = relay_on(spool)
    bridge(relay, up=False)
    deliver(relay, *reading(1))
    assert len(relay.held) == 1
    assert spool.is_dir()
    assert list(spool.iterdir()) == []


def test_spool_retries_once_a_minute(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """After a failed write the spool waits a minute before it tries a rewrite again."""
    now = [0.0]
    blocker = tmp_path / "state"
    blocker.write_text("", encoding="utf-8")
    spool = Spool(blocker / "gh1-held.jsonl", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "kaiser"):
        assert not spool.rewrite([b"a\n"])
        spool.append(b"b\n")
        assert not spool.rewrite([b"a\n"])  # not yet: no second warning
        assert len(caplog.messages) == 1
        blocker.unlink()  # the disk has room again
        now[0] += RETRY_EVERY_S
        assert spool.retry_due()
        assert spool.rewrite([b"a\n"])
    spool.append(b"b\n")
    assert (blocker / "gh1-held.jsonl").read_bytes() == b"a\nb\n"


def test_cli_spool_option() -> None:
    """`--spool`: a state file per kaiser by default, '' for memory only."""
    assert spool_path("gh1", None) == Path("/var/lib/kaiser/gh1-held.jsonl")
    assert spool_path("gh1", "") is None
    assert spool_path("gh1", "/tmp/x.jsonl") == Path("/tmp/x.jsonl")


def test_one_relay_program_per_spool(tmp_path: Path) -> None:
    """A second spool on the same file cannot lock it (and says whose it is) until the first
    is closed."""
    path = tmp_path / "gh1-held.jsonl"
    first, second = Spool(path), Spool(path)
    first.lock()
    with pytest.raises(
        SpoolInUseError, match=rf"in use by another relay program \(pid {os.getpid()}\)"
    ):
        second.lock()
    first.close()
    second.lock()
    second.close()


def test_a_second_relay_program_on_the_spool_does_not_start(tmp_path: Path) -> None:
    """`python -m kaiser run` twice on one spool: the second stops at once with an error naming
    the first one's pid; the first goes on."""
    spool = tmp_path / "gh1-held.jsonl"
    args = [
        sys.executable, "-m", "kaiser", "run", "--kaiser-id", "gh1", "--host", "127.0.0.1",
        "--port", "1", "--spool", str(spool),  # no broker there: it keeps trying
    ]  # fmt: skip
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    first = subprocess.Popen(args, cwd=repo, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        lock = spool.with_name(spool.name + ".lock")
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, "the first relay program stopped"
            assert time.monotonic() < deadline, "the first relay program took no lock"
            time.sleep(0.05)
        second = subprocess.run(
            args, cwd=repo, env=env, capture_output=True, timeout=30, check=False
        )
        assert second.returncode == 1
        assert f"in use by another relay program (pid {first.pid})" in second.stderr.decode()
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(10)
