"""Kaiser relays without HA: relay payloads, the bridge config and the edge rule engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custom_components.automationone.protocol import ErrorCode, ProtocolError, relay as r
from custom_components.automationone.rules import PinRef, parse_rule
from custom_components.automationone.rules.edge import EdgeCommand, EdgeEngine, edge_scope
from kaiser.cli import main as kaiser_cli

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
    health = r.RelayHealth(True, 12, 35.5, 100, "standby", 2, 7, 1)
    assert r.parse_relay_health(health.encode()) == health
    sensor = r.EdgeSensor("esp1", 34, "ph", "raw", params={"adc": "esp32_11db"})
    rules = r.EdgeRules(3, (rule(),), (sensor,), "Europe/Berlin")
    assert r.parse_edge_rules(rules.encode()) == rules
    assert r.parse_fired(r.encode_fired({"a": 5, "b": 7})) == {"a": 5, "b": 7}
    assert r.parse_relay_topic("kaiser/gh1/relay/health") == ("gh1", r.RelayKind.HEALTH)


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
