"""Kaiser relays: the relay's own topics and payloads, and the Mosquitto bridge it needs.

A relay is a Mosquitto bridged to the main broker plus the relay program (`kaiser/` at the top
of the repository) next to it. Its topics sit beside its devices' below
`kaiser/{kaiser_id}/relay/` (docs/protocol.md, "Kaiser relays"), so the one bridge topic
`kaiser/{kaiser_id}/#` carries them both ways. Pure Python, no Home Assistant.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson

from .errors import ErrorCode, ProtocolError
from .messages import MAX_LARGE_PAYLOAD, MAX_PAYLOAD, PROTOCOL_VERSION, decode
from .schema import compile_schema, load_schema, validate_fast
from .topics import validate_id

MAX_RULES_PAYLOAD: Final = 65536
# HA's MQTT birth and last will (HA's defaults); the bridge carries them to the relay.
HA_STATUS_TOPIC: Final = "homeassistant/status"
EDGE_STANDBY: Final = "standby"
EDGE_ACTIVE: Final = "active"
# Two relay programs under one kaiser id: this many returns of an earlier instance within the
# window (RelayInstances).
CONFLICT_RETURNS: Final = 2
CONFLICT_WINDOW_S: Final = 600.0


class RelayKind(StrEnum):
    """A relay topic; the value is the tail below `kaiser/{kaiser_id}/relay/`."""

    ANNOUNCE = "announce"
    STATUS = "status"
    HEALTH = "health"
    RULES = "rules"
    FIRED = "fired"
    HA_FIRED = "ha_fired"
    HA = "ha"
    LOGIN = "login"
    LOGIN_ACK = "login_ack"


_KINDS = {kind.value: kind for kind in RelayKind}


def relay_topic(kaiser_id: str, kind: RelayKind) -> str:
    """`kaiser/{kaiser_id}/relay/{kind}`."""
    return f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/relay/{kind.value}"


def relay_subscription(kaiser_id: str = "+") -> str:
    """Everything below the relay topics of one (or every) kaiser."""
    return f"kaiser/{kaiser_id if kaiser_id == '+' else validate_id(kaiser_id)}/relay/#"


RELAY_ANNOUNCE_SUBSCRIPTION: Final = "kaiser/+/relay/announce"


def parse_relay_topic(topic: str) -> tuple[str, RelayKind]:
    """(kaiser_id, kind) of a relay topic; ProtocolError for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "kaiser" or parts[2] != "relay" or parts[3] not in _KINDS:
        raise ProtocolError(ErrorCode.UNKNOWN_TOPIC, "topic", topic[:120])
    return validate_id(parts[1], "kaiser_id"), _KINDS[parts[3]]


def bridge_name(kaiser_id: str) -> str:
    """The Mosquitto connection name (and remote client id) of a relay's bridge."""
    return f"kaiser-{validate_id(kaiser_id, 'kaiser_id')}"


def bridge_state_topic(name: str) -> str:
    """Where Mosquitto publishes a bridge's state, `1` up and `0` down, retained, on both
    brokers (on the main broker as the bridge's last will, so a relay that vanishes reads 0)."""
    return f"$SYS/broker/connection/{name}/state"


def parse_bridge_state(payload: bytes | str) -> bool:
    """Mosquitto's bridge state payload: True for `1`."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    if text in ("0", "1"):
        return text == "1"
    raise ProtocolError(ErrorCode.BAD_VALUE, "", "bridge state must be '0' or '1'")


class _Kind:
    def __init__(self, name: str, limit: int) -> None:
        self.limit = limit
        self.validate = compile_schema(load_schema(f"relay/{name}"))

    def parse(self, payload: bytes | str) -> dict[str, Any]:
        result: dict[str, Any] = validate_fast(self.validate, decode(payload, self.limit))
        del result["v"]
        return result


_ANNOUNCE = _Kind("announce", MAX_PAYLOAD)
_HEALTH = _Kind("health", MAX_PAYLOAD)
_RULES = _Kind("rules", MAX_RULES_PAYLOAD)
_FIRED = _Kind("fired", MAX_LARGE_PAYLOAD * 16)
_LOGIN = _Kind("login", MAX_PAYLOAD)
_LOGIN_ACK = _Kind("login_ack", MAX_PAYLOAD)


def _dumps(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps({"v": PROTOCOL_VERSION} | {k: v for k, v in data.items() if v is not None})


@dataclass(frozen=True, slots=True)
class RelayAnnounce:
    """Retained hello of a relay: the MQTT discovery trigger of its HA entry."""

    kaiser_id: str
    sw_version: str
    bridge: str
    name: str | None = None
    host: str | None = None
    port: int | None = None
    # The relay program has its broker's dynsec admin login: it makes device logins there.
    logins: bool | None = None
    # With logins: whether its broker lets devices in without one (allow_anonymous), tried.
    anonymous: bool | None = None

    def encode(self) -> bytes:
        """The payload."""
        return _dumps(
            {
                "kaiser_id": self.kaiser_id,
                "name": self.name,
                "sw_version": self.sw_version,
                "bridge": self.bridge,
                "host": self.host,
                "port": self.port,
                "logins": self.logins,
                "anonymous": self.anonymous,
            }
        )


def parse_relay_announce(payload: bytes | str, kaiser_id: str | None = None) -> RelayAnnounce:
    """Parse a relay announce; with `kaiser_id` (the topic's), its id must match."""
    d = _ANNOUNCE.parse(payload)
    if kaiser_id is not None and d["kaiser_id"] != kaiser_id:
        raise ProtocolError(ErrorCode.ID_MISMATCH, "kaiser_id", "differs from the topic")
    return RelayAnnounce(**d)


@dataclass(frozen=True, slots=True)
class RelayHealth:
    """Periodic health of a relay."""

    bridge: bool
    devices: int
    msg_s: float
    uptime_s: int
    edge: str
    rules: int | None = None
    rules_version: int | None = None
    ts: int | None = None
    # Random per start of the relay program: tells a restart from a second relay (RelayInstances).
    instance: str | None = None

    def encode(self) -> bytes:
        """The payload."""
        return _dumps(
            {
                "instance": self.instance,
                "bridge": self.bridge,
                "devices": self.devices,
                "msg_s": round(self.msg_s, 2),
                "uptime_s": self.uptime_s,
                "edge": self.edge,
                "rules": self.rules,
                "rules_version": self.rules_version,
                "ts": self.ts,
            }
        )


def parse_relay_health(payload: bytes | str) -> RelayHealth:
    """Parse a relay health report."""
    return RelayHealth(**_HEALTH.parse(payload))


@dataclass(slots=True)
class RelayInstances:
    """Which relay program sends a kaiser id's health.

    A restart changes the instance once. Two programs under one id take each other's place on
    the broker (the main broker's bridge client id, or the relay's own on one broker), so their
    health alternates: an instance that came before the current one sending again is a second
    relay. Health is not retained and each broker keeps its order, so a restart alone never
    brings an old instance back; CONFLICT_RETURNS within CONFLICT_WINDOW_S still make sure.
    """

    current: str | None = None
    earlier: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    returns: deque[float] = field(default_factory=lambda: deque(maxlen=CONFLICT_RETURNS))

    def see(self, instance: str | None, now: float) -> None:
        """The instance of a health report that came at `now` (monotonic s)."""
        if instance is None or instance == self.current:
            return
        if instance in self.earlier:
            self.returns.append(now)
            self.earlier.remove(instance)
        if self.current is not None:
            self.earlier.append(self.current)
        self.current = instance

    def conflict(self, now: float) -> bool:
        """Two relay programs use this kaiser id (seen within the window before `now`)."""
        return len(self.returns) == CONFLICT_RETURNS and now - self.returns[0] <= (
            CONFLICT_WINDOW_S
        )


@dataclass(frozen=True, slots=True)
class EdgeSensor:
    """How the relay turns one sensor's readings into the values its rules compare.

    `processor` is a built-in processor id; `mode` `processed` means the device sends values.
    """

    esp_id: str
    gpio: int
    processor: str
    mode: str
    addr: str | None = None
    quantity: str | None = None
    params: Mapping[str, Any] | None = None
    calibration: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class EdgeRules:
    """The rules HA hands one relay: rule dicts (docs/rules.md) and the sensors they read."""

    version: int
    rules: tuple[Mapping[str, Any], ...]
    sensors: tuple[EdgeSensor, ...] = ()
    # HA's time zone (IANA name): time triggers and windows are in HA's local time.
    tz: str | None = None

    def encode(self) -> bytes:
        """The payload (raises ProtocolError when it exceeds its size limit)."""
        sensors = [
            {
                "esp_id": s.esp_id,
                "gpio": s.gpio,
                "addr": s.addr,
                "quantity": s.quantity,
                "processor": s.processor,
                "mode": s.mode,
                "params": dict(s.params) if s.params is not None else None,
                "calibration": dict(s.calibration) if s.calibration is not None else None,
            }
            for s in self.sensors
        ]
        payload = _dumps(
            {
                "version": self.version,
                "tz": self.tz,
                "rules": [dict(r) for r in self.rules],
                "sensors": [{k: v for k, v in s.items() if v is not None} for s in sensors],
            }
        )
        if len(payload) > MAX_RULES_PAYLOAD:
            raise ProtocolError(ErrorCode.TOO_LARGE, "", f"{len(payload)} bytes")
        return payload


def _object(value: Any, path: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.WRONG_TYPE, path, "object")
    return value


def parse_edge_rules(payload: bytes | str) -> EdgeRules:
    """Parse the rules payload (the rules themselves are checked by `rules.parse_rules`)."""
    d = _RULES.parse(payload)
    for i, rule in enumerate(d["rules"]):
        _object(rule, f"rules[{i}]")
    sensors = []
    for i, s in enumerate(d["sensors"]):
        params = _object(s.pop("params", None), f"sensors[{i}].params")
        calibration = _object(s.pop("calibration", None), f"sensors[{i}].calibration")
        sensors.append(EdgeSensor(**s, params=params, calibration=calibration))
    return EdgeRules(d["version"], tuple(d["rules"]), tuple(sensors), d.get("tz"))


def encode_fired(fired: Mapping[str, int]) -> bytes:
    """`relay/fired` and `relay/ha_fired`: rule id -> Unix ms of its last firing."""
    return _dumps({"fired": [{"rule": r, "ts": ts} for r, ts in sorted(fired.items())]})


def parse_fired(payload: bytes | str) -> dict[str, int]:
    """Inverse of `encode_fired`."""
    return {item["rule"]: item["ts"] for item in _FIRED.parse(payload)["fired"]}


def parse_presence(payload: bytes | str) -> bool:
    """`online`/`offline` of HA's status, the integration's presence or a relay's status."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    if text in ("online", "offline"):
        return text == "online"
    raise ProtocolError(ErrorCode.BAD_VALUE, "", "must be 'online' or 'offline'")


# --- device logins on the relay's broker (docs/security.md, "Devices behind a relay") ------

LOGIN_CREATE: Final = "create"
LOGIN_CONFIRM: Final = "confirm"
LOGIN_REMOVE: Final = "remove"
# Why a relay did not do a login request (relay/login_ack `error`).
LOGIN_NO_ADMIN: Final = "no_admin"  # the relay program runs without a dynsec admin login
LOGIN_UNREACHABLE: Final = "unreachable"  # it could not reach its broker's control topic
LOGIN_REFUSED: Final = "refused"  # its broker refused a command
LOGIN_BAD_REQUEST: Final = "bad_request"  # fields missing or not this device's logins


@dataclass(frozen=True, slots=True)
class RelayLoginRequest:
    """HA → relay (`relay/login`): create, confirm or remove a device's login on the relay's
    broker. `create` carries the password HA made; never logged (repr hides it)."""

    req: str
    op: str
    esp_id: str
    generation: int | None = None
    password: str | None = None
    previous: str | None = None
    delete: tuple[str, ...] = ()

    def __repr__(self) -> str:
        """Never the password."""
        return (
            f"RelayLoginRequest(req={self.req!r}, op={self.op!r}, esp_id={self.esp_id!r}, "
            f"generation={self.generation!r}, previous={self.previous!r}, delete={self.delete!r})"
        )

    def encode(self) -> bytes:
        """The payload."""
        return _dumps(
            {
                "req": self.req,
                "op": self.op,
                "esp_id": self.esp_id,
                "generation": self.generation,
                "password": self.password,
                "previous": self.previous,
                "delete": list(self.delete) or None,
            }
        )


def parse_relay_login(payload: bytes | str) -> RelayLoginRequest:
    """Parse a login request; `create` needs `generation` and `password`."""
    d = _LOGIN.parse(payload)
    request = RelayLoginRequest(**{**d, "delete": tuple(d.get("delete", ()))})
    if request.op == LOGIN_CREATE:
        for name in ("generation", "password"):
            if d.get(name) is None:
                raise ProtocolError(ErrorCode.MISSING_FIELD, name, "create needs it")
    return request


@dataclass(frozen=True, slots=True)
class RelayLoginAck:
    """Relay → HA (`relay/login_ack`): the answer to request `req`; no secrets."""

    req: str
    ok: bool
    username: str | None = None
    error: str | None = None
    detail: str | None = None

    def encode(self) -> bytes:
        """The payload."""
        return _dumps(
            {
                "req": self.req,
                "ok": self.ok,
                "username": self.username,
                "error": self.error,
                "detail": None if self.detail is None else self.detail[:200],
            }
        )


def parse_relay_login_ack(payload: bytes | str) -> RelayLoginAck:
    """Parse a relay's answer to a login request."""
    return RelayLoginAck(**_LOGIN_ACK.parse(payload))


# --- the bridge -------------------------------------------------------------------------

BRIDGE_KEEPALIVE_S: Final = 15


# What the generated configuration says where the relay login's password is not known (the
# command line without --password-file, diagnostics): the bridge's login fails until replaced.
PASSWORD_PLACEHOLDER: Final = "<password>"  # noqa: S105 (a placeholder, not a password)
# Where the relay keeps the main broker's CA, when HA generates the config for it.
RELAY_CAFILE: Final = "/etc/mosquitto/certs/automationone-ca.crt"
# The relay broker's dynamic-security file, when HA generates the config (docs/security.md).
RELAY_DYNSEC_FILE: Final = "/var/lib/mosquitto/dynamic-security.json"


# Debian's (and Raspberry Pi OS's) path of Mosquitto's dynamic-security plugin on arm64.
DYNSEC_PLUGIN: Final = "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so"


def _local_login_lines(
    dynsec_file: str | None, plugin: str | None, allow_anonymous: bool
) -> list[str]:
    """Who may connect to the relay's broker: anyone, or logins of dynamic security."""
    if dynsec_file is None:
        if not allow_anonymous:
            raise ValueError("without dynamic security only anonymous devices can connect")
        return ["allow_anonymous true"]
    for value in (dynsec_file, plugin):
        if value is not None and (not value or any(c in value for c in "\r\n\0")):
            raise ValueError("the plugin and its file must be one non-empty line each")
    return [
        "# Logins on this broker: dynamic security, its admin login the relay program's",
        '# (kaiser run --dynsec-username), docs/security.md "Devices behind a relay"',
        f"plugin {plugin or DYNSEC_PLUGIN}",
        f"plugin_opt_config_file {dynsec_file}",
        *(
            [
                "# Devices without their own login yet: only their kaiser's device topics",
                "allow_anonymous true",
            ]
            if allow_anonymous
            else ["allow_anonymous false"]
        ),
    ]


# Where `python -m kaiser tls` writes the relay broker's certificate (docs/security.md).
RELAY_CERTS_DIR: Final = "/etc/mosquitto/certs/relay"


def _device_tls_lines(port: int | None, host: str | None, certs: str) -> list[str]:
    """A second listener for devices with TLS: the certificate `kaiser tls` made for this
    relay (devices check it against its CA; they bring no certificate of their own)."""
    if port is None:
        return []
    if not certs or any(c in certs for c in "\r\n\0"):
        raise ValueError("the certificate folder must be one non-empty line")
    folder = certs.rstrip("/")
    return [
        "# Devices with TLS (their login's `port`); docs/security.md \"TLS on a relay's broker\"",
        f"listener {port}" + (f" {host}" if host else ""),
        f"certfile {folder}/broker.crt",
        f"keyfile {folder}/broker.key",
        "tls_version tlsv1.2",
    ]


def _bridge_login_lines(
    username: str | None,
    password: str | None,
    cafile: str | None,
    certfile: str | None,
    keyfile: str | None,
) -> list[str]:
    """The bridge's login and TLS lines; without any, the comment of how to add them."""
    if (certfile is None) != (keyfile is None):
        raise ValueError("a client certificate needs its key, and the key its certificate")
    if certfile is not None and cafile is None:
        raise ValueError("a client certificate (mTLS) needs the CA of the main broker too")
    if password is not None and username is None:
        raise ValueError("a password needs its username")
    for value in (username, password, cafile, certfile, keyfile):
        if value is not None and (not value or any(c in value for c in "\r\n\0")):
            raise ValueError("login and TLS values must be one non-empty line each")
    if username is None and cafile is None:
        return [
            "# The main broker's login and TLS for this bridge: docs/kaiser.md (remote_username,",
            "# remote_password, bridge_cafile, bridge_insecure false, bridge_tls_version tlsv1.2)",
        ]
    lines = []
    if username is not None:
        lines += ["# The relay's own login on the main broker (docs/security.md)"]
        lines += [f"remote_username {username}"]
        lines += [f"remote_password {PASSWORD_PLACEHOLDER if password is None else password}"]
    if cafile is not None:
        lines += [
            "# TLS: the main broker's certificate is checked against this CA and its host name",
            f"bridge_cafile {cafile}",
            "bridge_insecure false",
            "bridge_tls_version tlsv1.2",
        ]
    if certfile is not None:
        lines += [f"bridge_certfile {certfile}", f"bridge_keyfile {keyfile}"]
    return lines


def bridge_config(
    kaiser_id: str,
    main_host: str,
    main_port: int = 1883,
    *,
    listener_port: int = 1883,
    listener_host: str | None = None,
    ha_status_topic: str = HA_STATUS_TOPIC,
    persistence_dir: str | None = "/var/lib/mosquitto/",
    remote_username: str | None = None,
    remote_password: str | None = None,
    cafile: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    dynsec_file: str | None = None,
    dynsec_plugin: str | None = None,
    allow_anonymous: bool = True,
    device_tls_port: int | None = None,
    device_tls_host: str | None = None,
    device_certs: str = RELAY_CERTS_DIR,
) -> str:
    """The mosquitto.conf of a relay: its listener for devices and the bridge to the main
    broker (docs/kaiser.md explains every line).

    `remote_username` (with `remote_password`, else PASSWORD_PLACEHOLDER): the relay's own
    login on the main broker. `cafile` (a path on the relay): TLS, verified, TLS 1.2 or
    newer; `main_port` is then the main broker's TLS port. `certfile` and `keyfile`: a client
    certificate (mTLS) the user made; AutomationOne generates none. `dynsec_file`: the
    relay's broker runs the dynamic-security plugin (`dynsec_plugin`, Debian's arm64 path by
    default) with that file; `allow_anonymous` False once every device has its own login.
    `device_tls_port` (bound to `device_tls_host`, else every address): a TLS listener for
    devices with `broker.crt` and `broker.key` from `device_certs`.
    """
    name = bridge_name(kaiser_id)
    listen = f"listener {listener_port}" + (f" {listener_host}" if listener_host else "")
    return "\n".join(
        [
            f"# Kaiser relay {kaiser_id}: generated by AutomationOne (docs/kaiser.md)",
            listen,
            *_local_login_lines(dynsec_file, dynsec_plugin, allow_anonymous),
            *_device_tls_lines(device_tls_port, device_tls_host, device_certs),
            "set_tcp_nodelay true",
            *(
                ["persistence true", f"persistence_location {persistence_dir}"]
                if persistence_dir is not None
                else ["persistence false"]
            ),
            "# Messages for devices that are away, and for the bridge while the link is down",
            "max_queued_messages 10000",
            "max_inflight_messages 100",
            "queue_qos0_messages false",
            "",
            f"connection {name}",
            f"address {main_host}:{main_port}",
            f"remote_clientid {name}",
            f"local_clientid {name}-local",
            "# Persistent session: the main broker keeps our subscriptions and queues QoS 1",
            "cleansession false",
            "bridge_protocol_version mqttv311",
            "try_private true",
            "notifications true",
            f"keepalive_interval {BRIDGE_KEEPALIVE_S}",
            "restart_timeout 2 30",
            "start_type automatic",
            f"topic kaiser/{kaiser_id}/# both 1",
            f"topic {ha_status_topic} in 1",
            *_bridge_login_lines(remote_username, remote_password, cafile, certfile, keyfile),
            "",
        ]
    )
