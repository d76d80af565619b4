"""Payloads of protocol v1: frozen dataclasses with parse_* and encode.

Parsing is strict about what it uses and ignores unknown fields (see docs/protocol.md,
"Unknown fields"). Nothing a device sends is evaluated or rendered as a template.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
import json
import math
from typing import TYPE_CHECKING, Any, Final

import orjson

from .errors import ErrorCode, ProtocolError
from .schema import Validator, compile_schema, load_schema, validate_fast

if TYPE_CHECKING:
    from .topics import Topic

PROTOCOL_VERSION: Final = 1
MAX_PAYLOAD: Final = 1024
MAX_LARGE_PAYLOAD: Final = 4096
MAX_DEPTH: Final = 32
"""Deepest nesting of arrays and objects (the root object is level 1); deeper is too_large."""
STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"


class Quality(StrEnum):
    """Quality flag of a reading."""

    GOOD = "good"
    SUSPECT = "suspect"
    BAD = "bad"
    UNCALIBRATED = "uncalibrated"
    STALE = "stale"


class Reason(StrEnum):
    """Why an actuator is in its state."""

    COMMAND = "command"
    DURATION = "duration"
    MAX_RUNTIME = "max_runtime"
    EMERGENCY = "emergency"
    FAILSAFE = "failsafe"
    BOOT = "boot"
    CONFIG = "config"


class Refusal(StrEnum):
    """Why a device refused an actuator command."""

    COOLDOWN = "cooldown"
    RATE_LIMIT = "rate_limit"
    EMERGENCY = "emergency"
    MAX_RUNTIME = "max_runtime"
    INVALID = "invalid"
    UNKNOWN_GPIO = "unknown_gpio"


# --- decoding ---------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ProtocolError(ErrorCode.NOT_FINITE, "", f"{name} is not a JSON number")


def _has_infinity(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_infinity(v) for v in value)
    return False


def _nested_too_deep(value: Any) -> bool:
    """Whether decoded `value` nests arrays/objects deeper than MAX_DEPTH (level by level)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        deeper: list[Any] = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) is dict or type(child) is list:
                    deeper.append(child)  # noqa: PERF401 (a generator is 3x slower here)
        if not deeper:
            return False
        level = deeper
    return True


def _text_too_deep(text: bytes) -> bool:
    """The same for text that does not decode: brackets outside strings, one pass."""
    depth = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _too_deep_error() -> ProtocolError:
    return ProtocolError(ErrorCode.TOO_LARGE, "", f"nested deeper than {MAX_DEPTH} levels")


def decode(payload: bytes | str, limit: int = MAX_PAYLOAD) -> dict[str, Any]:
    """Decode a JSON object payload of at most `limit` bytes and MAX_DEPTH levels."""
    raw = payload.encode() if isinstance(payload, str) else payload
    size = len(raw)
    if size > limit:
        raise ProtocolError(ErrorCode.TOO_LARGE, "", f"{size} bytes > {limit}")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        if _text_too_deep(raw):  # before json.loads, whose recursion could not take it
            raise _too_deep_error() from None
        # Only on the error path: tell non-finite numbers (NaN, 1e999) from broken JSON.
        try:
            lenient = json.loads(payload, parse_constant=_reject_constant)
        except ValueError as inner:
            if isinstance(inner, ProtocolError):
                raise inner from None
            raise ProtocolError(ErrorCode.MALFORMED_JSON, "", str(err)) from None
        if _has_infinity(lenient):
            raise ProtocolError(ErrorCode.NOT_FINITE, "", "number overflows") from None
        raise ProtocolError(ErrorCode.MALFORMED_JSON, "", str(err)) from None
    # Valid JSON nested deeper than MAX_DEPTH has more than MAX_DEPTH opening and as many
    # closing brackets: only larger payloads are counted, and walked if there are that many.
    if (
        size > 2 * MAX_DEPTH
        and raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
        and _nested_too_deep(data)
    ):
        raise _too_deep_error()
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.NOT_OBJECT, "", "payload must be a JSON object")
    version = data.get("v")
    if version is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "v", "required")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, "v", f"expected {PROTOCOL_VERSION}")
    return data


class _Kind:
    """A payload kind: its compiled schema and size limit."""

    def __init__(self, schema: str, limit: int = MAX_PAYLOAD) -> None:
        self.schema = schema
        self.limit = limit
        self.spec: dict[str, Any] = load_schema(schema)
        self.validate: Validator = compile_schema(self.spec)

    def parse(self, payload: bytes | str) -> dict[str, Any]:
        result: dict[str, Any] = validate_fast(self.validate, decode(payload, self.limit))
        del result["v"]
        return result


_ANNOUNCE = _Kind("announce")
_HEARTBEAT = _Kind("heartbeat")
_CONFIG = _Kind("config", MAX_LARGE_PAYLOAD)
_CONFIG_ACK = _Kind("config_ack", MAX_LARGE_PAYLOAD)
_SENSOR_DATA = _Kind("sensor_data")
_SENSOR_BATCH = _Kind("sensor_batch", MAX_LARGE_PAYLOAD)
_PROCESSED = _Kind("processed")
_ACTUATOR_COMMAND = _Kind("actuator_command")
_ACTUATOR_STATUS = _Kind("actuator_status")
_SYSTEM_COMMAND = _Kind("system_command", MAX_LARGE_PAYLOAD)  # a login may carry a CA
_EMERGENCY = _Kind("emergency")
_OTA_STATUS = _Kind("ota_status")


def encode(message: Any) -> bytes:
    """Serialise a top-level message dataclass: `v` first, None fields left out."""
    return orjson.dumps({"v": PROTOCOL_VERSION} | _to_json(message))


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            f.name: _to_json(item)
            for f in fields(value)
            if (item := getattr(value, f.name)) is not None
        }
    return value


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a device can do."""

    sensors: int | None = None
    actuators: int | None = None
    batch: bool | None = None
    buffer: int | None = None
    on_device: bool | None = None
    move: bool | None = None


@dataclass(frozen=True, slots=True)
class Announce:
    """Retained hello of a device (MQTT discovery)."""

    esp_id: str
    board: str
    fw: str
    fw_version: str
    mac: str
    kaiser_id: str | None = None
    name: str | None = None
    caps: Capabilities | None = None
    # The broker username of this connection, and why the last delivered login was not taken.
    login: str | None = None
    login_error: str | None = None
    # Why the last `move` (another broker and kaiser id) was not made.
    move_error: str | None = None


def parse_announce(payload: bytes | str, topic: Topic | None = None) -> Announce:
    """Parse an announce payload; with `topic`, its ids must match the topic's."""
    d = _ANNOUNCE.parse(payload)
    if topic is not None:
        if d["esp_id"] != topic.esp_id:
            raise ProtocolError(ErrorCode.ID_MISMATCH, "esp_id", "differs from the topic")
        if d.get("kaiser_id", topic.kaiser_id) != topic.kaiser_id:
            raise ProtocolError(ErrorCode.ID_MISMATCH, "kaiser_id", "differs from the topic")
    return Announce(
        esp_id=d["esp_id"],
        board=d["board"],
        fw=d["fw"],
        fw_version=d["fw_version"],
        mac=d["mac"],
        kaiser_id=d.get("kaiser_id"),
        name=d.get("name"),
        caps=Capabilities(**d["caps"]) if "caps" in d else None,
        login=d.get("login"),
        login_error=d.get("login_error"),
        move_error=d.get("move_error"),
    )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Periodic health report."""

    uptime_s: int
    heap_free: int
    rssi: int
    heap_min: int | None = None
    config_version: int | None = None
    buffered: int | None = None
    ts: int | None = None


def parse_heartbeat(payload: bytes | str) -> Heartbeat:
    """Parse a heartbeat payload."""
    return Heartbeat(**_HEARTBEAT.parse(payload))


@dataclass(frozen=True, slots=True)
class SensorProcessing:
    """What a device needs to process a reading itself (docs/protocol.md, On-device processing)."""

    kind: str
    adc: str | None = None
    k: tuple[float, ...] | None = None
    poly: tuple[float, ...] | None = None
    cal: bool | None = None
    temp: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """One sensor in a device config."""

    gpio: int
    type: str
    interval_ms: int
    mode: str | None = None
    addr: str | None = None
    scl: int | None = None
    proc: SensorProcessing | None = None


def _sensor_config(d: dict[str, Any]) -> SensorConfig:
    proc = d.pop("proc", None)
    if proc is not None:
        for key in ("k", "poly"):
            if key in proc:
                proc[key] = tuple(proc[key])
        d["proc"] = SensorProcessing(**proc)
    return SensorConfig(**d)


@dataclass(frozen=True, slots=True)
class ActuatorConfig:
    """One actuator in a device config, with its on-device safety limits."""

    gpio: int
    type: str
    inverted: bool | None = None
    safe_state: int | None = None
    max_runtime_s: int | None = None
    cooldown_s: int | None = None
    max_per_hour: int | None = None
    failsafe_s: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """Desired configuration HA pushes to a device (retained)."""

    version: int
    sensors: tuple[SensorConfig, ...] = ()
    actuators: tuple[ActuatorConfig, ...] = ()
    heartbeat_s: int | None = None


def parse_config(payload: bytes | str) -> DeviceConfig:
    """Parse a config payload."""
    d = _CONFIG.parse(payload)
    return DeviceConfig(
        version=d["version"],
        sensors=tuple(_sensor_config(s) for s in d["sensors"]),
        actuators=tuple(ActuatorConfig(**a) for a in d["actuators"]),
        heartbeat_s=d.get("heartbeat_s"),
    )


@dataclass(frozen=True, slots=True)
class PinResult:
    """The device's result for one pin of a config."""

    kind: str
    gpio: int
    ok: bool
    error: str | None = None
    addr: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigAck:
    """Per-pin result of applying a config."""

    version: int
    ok: bool
    results: tuple[PinResult, ...] = ()


def parse_config_ack(payload: bytes | str) -> ConfigAck:
    """Parse a config/ack payload."""
    d = _CONFIG_ACK.parse(payload)
    return ConfigAck(d["version"], d["ok"], tuple(PinResult(**r) for r in d["results"]))


@dataclass(slots=True)
class Reading:
    """One reading: `raw` for server-side processing, or `value` and `unit` from the device.

    Not frozen: it is made per reading on the ingest path, and a frozen dataclass costs about
    three times as much to construct. Treat it as read-only.
    """

    gpio: int
    raw: float | tuple[int, ...] | None = None
    value: float | None = None
    unit: str | None = None
    addr: str | None = None
    quality: str | None = None
    # Which quantity of a multi-value sensor a processed `value` is (None: the type's first).
    quantity: str | None = None


@dataclass(slots=True)
class SensorData:
    """Readings of one message (one for sensor/{gpio}/data, several for sensor/batch).

    Not frozen, for the same reason as Reading (one per message); treat it as read-only.
    """

    seq: int
    readings: tuple[Reading, ...]
    ts: int | None = None
    replay: bool = False
    # Sent again under its own seq after a reconnect (docs/protocol.md "Duplicates, replays,
    # floods"); always a replay too.
    resend: bool = False


def _reading(d: dict[str, Any], gpio: int) -> Reading:
    raw = d.get("raw")
    return Reading(
        gpio=gpio,
        raw=tuple(raw) if isinstance(raw, list) else raw,
        value=d.get("value"),
        unit=d.get("unit"),
        addr=d.get("addr"),
        quality=d.get("quality"),
        quantity=d.get("quantity"),
    )


def _bounds(
    kind: _Kind, *path: str, low: str = "minimum", high: str = "maximum"
) -> tuple[int, int]:
    """(minimum, maximum) of a property in a kind's schema file."""
    schema = kind.spec
    for key in path:
        schema = schema[key]
    return schema[low], schema[high]


# The common shapes of the ingest path, checked inline with the schema files' bounds before
# the general validator runs: `{"v": 1, "seq": <integer>, "raw": <integer>}`, with or without
# `"ts": <integer>` (the firmware stamps every message once it has the time), and a batch of
# `{"gpio": <integer>, "raw": <integer>}` items, `ts` likewise. Anything else (replays,
# values, addresses) takes the validator.
_SEQ_MIN, _SEQ_MAX = _bounds(_SENSOR_DATA, "properties", "seq")
_RAW_MIN, _RAW_MAX = _bounds(_SENSOR_DATA, "properties", "raw")
_TS_MIN, _TS_MAX = _bounds(_SENSOR_DATA, "properties", "ts")
_ITEM = ("properties", "readings", "items", "properties")
_BATCH_GPIO_MIN, _BATCH_GPIO_MAX = _bounds(_SENSOR_BATCH, *_ITEM, "gpio")
_BATCH_RAW_MIN, _BATCH_RAW_MAX = _bounds(_SENSOR_BATCH, *_ITEM, "raw")
_BATCH_SEQ = _bounds(_SENSOR_BATCH, "properties", "seq")
_BATCH_TS = _bounds(_SENSOR_BATCH, "properties", "ts")
_BATCH_ITEMS = _bounds(_SENSOR_BATCH, "properties", "readings", low="minItems", high="maxItems")
# Whether a fast-path message may have its `ts`, by its number of members (3: none, 4: `ts`).
_FAST_SIZES = (3, 4)


_DATA_LIMIT = _SENSOR_DATA.limit


def _plain_object(payload: bytes | str, limit: int) -> dict[str, Any] | None:
    """The ingest path's shortcut past decode(): a bytes payload within `limit` that is a JSON
    object of 3 or 4 members with `"v": 1`, else None (the caller takes decode()). The callers
    accept only shapes that cannot be nested deeper than MAX_DEPTH."""
    if type(payload) is not bytes or len(payload) > limit:
        return None
    try:
        d = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(d) is not dict or len(d) not in _FAST_SIZES:
        return None
    version = d.get("v")
    return d if type(version) is int and version == PROTOCOL_VERSION else None


def _plain_ts(d: dict[str, Any], low: int, high: int) -> int | None | bool:
    """The `ts` of a fast-path message: None for 3 members, the integer for 4 members of which
    `ts` is one (within bounds), else False (not the fast shape)."""
    if len(d) == 3:
        return None
    ts = d.get("ts")
    return ts if type(ts) is int and low <= ts <= high else False


def parse_sensor_data(payload: bytes | str, gpio: int) -> SensorData:
    """Parse `sensor/{gpio}/data` (the pin comes from the topic)."""
    fast = _plain_object(payload, _DATA_LIMIT)
    if (
        fast is not None
        and type(seq := fast.get("seq")) is int  # bool is not an int here
        and type(raw := fast.get("raw")) is int
        and _SEQ_MIN <= seq <= _SEQ_MAX
        and _RAW_MIN <= raw <= _RAW_MAX
        and (ts := _plain_ts(fast, _TS_MIN, _TS_MAX)) is not False
    ):
        return SensorData(seq, (Reading(gpio, raw),), ts)
    d = validate_fast(_SENSOR_DATA.validate, decode(payload, _DATA_LIMIT))
    resend = d.get("resend", False)
    return SensorData(
        d["seq"], (_reading(d, gpio),), d.get("ts"), d.get("replay", False) or resend, resend
    )


def _plain_batch(readings: Any) -> tuple[Reading, ...] | None:
    """The readings of a batch of only `{"gpio": <integer>, "raw": <integer>}` items."""
    if type(readings) is not list or not _BATCH_ITEMS[0] <= len(readings) <= _BATCH_ITEMS[1]:
        return None
    out = []
    for item in readings:
        if (
            type(item) is not dict
            or len(item) != 2
            or type(gpio := item.get("gpio")) is not int
            or type(raw := item.get("raw")) is not int
            or not _BATCH_GPIO_MIN <= gpio <= _BATCH_GPIO_MAX
            or not _BATCH_RAW_MIN <= raw <= _BATCH_RAW_MAX
        ):
            return None
        out.append(Reading(gpio, raw))
    return tuple(out)


_BATCH_LIMIT = _SENSOR_BATCH.limit


def parse_sensor_batch(payload: bytes | str) -> SensorData:
    """Parse `sensor/batch`."""
    fast = _plain_object(payload, _BATCH_LIMIT)
    if (
        fast is not None
        and type(seq := fast.get("seq")) is int
        and _BATCH_SEQ[0] <= seq <= _BATCH_SEQ[1]
        and (ts := _plain_ts(fast, *_BATCH_TS)) is not False
        and (plain := _plain_batch(fast.get("readings"))) is not None
    ):
        return SensorData(seq, plain, ts)
    d = validate_fast(_SENSOR_BATCH.validate, decode(payload, _BATCH_LIMIT))
    readings = tuple(_reading(r, r["gpio"]) for r in d["readings"])
    resend = d.get("resend", False)
    return SensorData(d["seq"], readings, d.get("ts"), d.get("replay", False) or resend, resend)


def _sensor_head(data: SensorData) -> dict[str, Any]:
    head: dict[str, Any] = {"v": PROTOCOL_VERSION, "seq": data.seq}
    if data.ts is not None:
        head["ts"] = data.ts
    if data.replay:
        head["replay"] = True
    if data.resend:
        head["resend"] = True
    return head


def encode_sensor_data(data: SensorData) -> bytes:
    """Payload for `sensor/{gpio}/data`: exactly one reading, its pin in the topic."""
    (reading,) = data.readings
    item = _to_json(reading)
    del item["gpio"]
    return orjson.dumps(_sensor_head(data) | item)


def encode_sensor_batch(data: SensorData) -> bytes:
    """Payload for `sensor/batch`: the readings of one sample cycle."""
    return orjson.dumps(_sensor_head(data) | {"readings": _to_json(data.readings)})


@dataclass(frozen=True, slots=True)
class Processed:
    """Processed value sent back to the device."""

    value: float
    unit: str
    quality: str
    seq: int | None = None
    addr: str | None = None


def parse_processed(payload: bytes | str) -> Processed:
    """Parse a processed-value payload."""
    return Processed(**_PROCESSED.parse(payload))


@dataclass(frozen=True, slots=True)
class ActuatorCommand:
    """Command for one actuator."""

    action: str
    value: int | None = None
    duration_s: float | None = None
    cmd_id: str | None = None
    source: str | None = None


def parse_actuator_command(payload: bytes | str) -> ActuatorCommand:
    """Parse an actuator command; `set` needs a value, `pulse` a duration."""
    d = _ACTUATOR_COMMAND.parse(payload)
    if d["action"] == "set" and "value" not in d:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "value", "required for action 'set'")
    if d["action"] == "pulse" and "duration_s" not in d:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "duration_s", "required for 'pulse'")
    return ActuatorCommand(**d)


@dataclass(frozen=True, slots=True)
class ActuatorStatus:
    """The device's actuator state: the truth HA follows."""

    state: bool
    value: int
    reason: str
    refused: str | None = None
    cmd_id: str | None = None
    runtime_s: float | None = None
    activations: int | None = None
    until_s: float | None = None
    ts: int | None = None


def parse_actuator_status(payload: bytes | str) -> ActuatorStatus:
    """Parse an actuator status payload."""
    return ActuatorStatus(**_ACTUATOR_STATUS.parse(payload))


@dataclass(frozen=True, slots=True)
class SystemCommand:
    """Device-wide command."""

    cmd: str
    url: str | None = None
    sha256: str | None = None
    board: str | None = None
    version: str | None = None
    size: int | None = None
    # login (docs/protocol.md, Device login): secret, never logged or retained
    username: str | None = None
    password: str | None = None
    ca: str | None = None
    port: int | None = None
    # move (docs/protocol.md, Moving to another broker); `port` too
    kaiser_id: str | None = None
    host: str | None = None
    cmd_id: str | None = None

    def __repr__(self) -> str:
        """Without the password (a command may end up in a log or a traceback)."""
        shown = ", ".join(
            f"{f.name}={'<redacted>' if f.name == 'password' else getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) is not None
        )
        return f"SystemCommand({shown})"


# The fields only these commands read (the others ignore them), and the ones they need.
_COMMAND_FIELDS = {
    "login": ({"username", "password", "ca", "port"}, ("username", "password")),
    "move": ({"kaiser_id", "host", "port"}, ("kaiser_id",)),
}
_OWNED_FIELDS = frozenset().union(*(owned for owned, _ in _COMMAND_FIELDS.values()))


def parse_system_command(payload: bytes | str) -> SystemCommand:
    """Parse a system command; `ota` needs a URL, `login` a username and password, `move` a
    kaiser id."""
    d = _SYSTEM_COMMAND.parse(payload)
    cmd = d["cmd"]
    if cmd == "ota" and "url" not in d:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "url", "required for 'ota'")
    owned, required = _COMMAND_FIELDS.get(cmd, (set(), ()))
    for key in required:
        if key not in d:
            raise ProtocolError(ErrorCode.MISSING_FIELD, key, f"required for {cmd!r}")
    for key in _OWNED_FIELDS - owned:  # another command's fields are ignored
        d.pop(key, None)
    return SystemCommand(**d)


@dataclass(frozen=True, slots=True)
class Emergency:
    """Broadcast emergency stop or clear."""

    action: str
    reason: str | None = None
    ts: int | None = None


def parse_emergency(payload: bytes | str) -> Emergency:
    """Parse an emergency broadcast."""
    return Emergency(**_EMERGENCY.parse(payload))


class OtaState(StrEnum):
    """Where a firmware update stands (`ota/status`)."""

    DOWNLOADING = "downloading"
    INSTALLED = "installed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OtaStatus:
    """Progress or result of a firmware update, reported by the device."""

    state: str
    progress: int | None = None
    error: str | None = None
    detail: str | None = None
    version: str | None = None
    cmd_id: str | None = None


def parse_ota_status(payload: bytes | str) -> OtaStatus:
    """Parse an `ota/status` payload; `failed` needs an error code."""
    d = _OTA_STATUS.parse(payload)
    if d["state"] == OtaState.FAILED and "error" not in d:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "error", "required for 'failed'")
    return OtaStatus(**d)


def parse_status(payload: bytes | str) -> bool:
    """Parse the retained LWT status: True for online."""
    text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
    if text == STATUS_ONLINE:
        return True
    if text == STATUS_OFFLINE:
        return False
    raise ProtocolError(ErrorCode.BAD_VALUE, "", "status must be 'online' or 'offline'")
