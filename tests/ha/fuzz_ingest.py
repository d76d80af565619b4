"""Fuzzing the integration's ingest through HA's MQTT entry point (its MQTT client's
`on_message`, what paho calls for a broker message), shared by tests/ha/test_fuzz_ingest.py
(a short run) and bench/fuzz_ingest_harness.py (>= 1,000,000 payloads).

Payloads: the shared vectors of every kind, mutated structurally (fields replaced by values of
other types, extremes, deep nesting, dropped or duplicated fields) and at the byte level (flips,
inserts, deletes, truncation, splices), on every topic kind a device uses, with valid and bad
pins and ids. After each round every entity of the integration must show a sane state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import itertools
import json
import logging
import math
import random
import time
from typing import Any

from homeassistant.core import HomeAssistant
from paho.mqtt.client import MQTTMessage

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.protocol import Quality

from ..protocol_vectors import load
from .common import BASE

TOPICS = [
    "announce", "status", "heartbeat", "config", "config/ack", "sensor/34/data",
    "sensor/4/data", "sensor/21/data", "sensor/35/data", "sensor/99/data", "sensor/batch",
    "sensor/34/processed", "actuator/26/status", "actuator/26/command", "actuator/7/status",
    "system/command", "emergency",
]  # fmt: skip
OTHER_TOPICS = [
    "kaiser/god/broadcast/emergency", "kaiser/god/esp/other/heartbeat",
    "kaiser/god/esp/a+b/announce", "kaiser/god/esp//status", "kaiser/god/esp/x/sensor/007/data",
]  # fmt: skip
EXTREMES: list[Any] = [
    None, True, False, 0, -1, 1, 4095, 4096, 70000, 2**31, 2**32, 2**63, -(2**63), 2**64,
    1e308, -1e308, 5e-324, 0.5, "", "x" * 300, "good", "bad", "ü\u0000\ud7ff", [], {},
    [3000], [0] * 70, {"v": 1}, "NaN", 3.14,
]  # fmt: skip
RAW_TOKENS = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-0", b"\x00", b"\xff\xfe", b"[" * 40]


def _seeds() -> list[str]:
    return [v["payload"] for v in load("payloads") if "payload" in v]


@dataclass
class Counts:
    """What a fuzz run saw."""

    payloads: int = 0
    unhandled: int = 0
    state_garbage: int = 0
    log_lines: int = 0
    own_lines: int = 0  # of these, the integration's own (the rest: HA's, e.g. its MQTT client)
    records: list[str] = field(default_factory=list)
    counter: LogCounter | None = None

    @property
    def line(self) -> str:
        """The figure the issue asks for."""
        return (
            f"fuzz-ingest: payloads={self.payloads} unhandled={self.unhandled} "
            f"state_garbage={self.state_garbage} log_lines={self.log_lines}"
        )


def _mutate_structure(rng: random.Random, value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and depth < 4:
        out = dict(value)
        key = rng.choice(list(out))
        match rng.randrange(5):
            case 0:
                out[key] = rng.choice(EXTREMES)
            case 1:
                del out[key]
            case 2:
                out[key] = _mutate_structure(rng, out[key], depth + 1)
            case 3:
                out[f"zz{rng.randrange(9)}"] = rng.choice(EXTREMES)
            case _:
                out[key] = _deep(rng)
        return out
    if isinstance(value, list) and value and depth < 4:
        out_list = list(value)
        i = rng.randrange(len(out_list))
        out_list[i] = _mutate_structure(rng, out_list[i], depth + 1)
        if rng.random() < 0.2:
            out_list *= rng.randrange(2, 40)
        return out_list
    return rng.choice(EXTREMES)


def _deep(rng: random.Random) -> Any:
    value: Any = 1
    for _ in range(rng.randrange(8, 40)):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = bytes([rng.randrange(256)])
        elif op == 2 and buf:
            del buf[pos : pos + rng.randrange(1, 8)]
        elif op == 3:
            del buf[pos:]
        elif op == 4:
            buf[pos:pos] = rng.choice(RAW_TOKENS)
        else:
            buf[pos:pos] = buf[rng.randrange(len(buf) + 1) :][:64]
    return bytes(buf)


def payloads(seed: int) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) pairs without end, deterministic for a seed."""
    rng = random.Random(seed)
    seeds = _seeds()
    parsed = [json.loads(s) for s in seeds if s.startswith("{") and _decodes(s)]
    while True:
        roll = rng.random()
        topic = rng.choice(OTHER_TOPICS) if roll < 0.02 else f"{BASE}/{rng.choice(TOPICS)}"
        kind = rng.random()
        if kind < 0.15:
            payload = rng.choice(seeds).encode()  # valid and invalid vectors as they are
        elif kind < 0.6:
            payload = json.dumps(_mutate_structure(rng, rng.choice(parsed))).encode()
        elif kind < 0.95:
            payload = _mutate_bytes(rng, rng.choice(seeds).encode())
        else:
            payload = rng.randbytes(rng.randrange(0, 64))
        yield topic, payload


def _decodes(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def garbage(hass: HomeAssistant) -> list[str]:
    """States of the integration's entities that no device message should be able to make."""
    bad: list[str] = []
    for state in hass.states.async_all():
        if not state.attributes.get("friendly_name", "").startswith("Greenhouse 1"):
            continue
        value = state.state
        domain = state.domain
        if value in ("unavailable", "unknown"):
            continue
        if domain in ("binary_sensor", "switch", "light") and value not in ("on", "off"):
            bad.append(f"{state.entity_id}={value}")
        elif domain == "sensor" and "state_class" in state.attributes:
            try:
                number = float(value)
            except ValueError:
                bad.append(f"{state.entity_id}={value[:40]}")
                continue
            if not math.isfinite(number) or abs(number) > 1e12:
                bad.append(f"{state.entity_id}={value}")
        quality = state.attributes.get("quality")
        if quality is not None and quality not in {q.value for q in Quality}:
            bad.append(f"{state.entity_id} quality={quality!r}")
        if len(value) > 255:
            bad.append(f"{state.entity_id} state of {len(value)} characters")
    return bad


type Kind = tuple[str, str, str]
"""A kind of log line: logger, message template, and the error code it reports (if any)."""


class LogCounter(logging.Handler):
    """Counts every log record at INFO and above, of every logger (HA's MQTT client too): what
    Home Assistant would write to its log. Remembers, per kind, the clock at each record."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """Count nothing yet; `clock` stamps the records (a fake one in the tests)."""
        super().__init__(logging.INFO)
        self.clock = clock
        self.lines = 0
        self.own = 0
        self.unhandled = 0
        self.records: list[str] = []
        self.times: dict[Kind, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Count a record; one with a traceback is an exception nobody handled."""
        self.lines += 1
        if record.name.startswith("custom_components.automationone"):
            self.own += 1
        if record.exc_info:
            self.unhandled += 1
        code = next((str(a.code.value) for a in _args(record) if hasattr(a, "code")), "")
        kind = (record.name, str(record.msg), code)
        self.times.setdefault(kind, []).append(self.clock())
        if len(self.records) < 1000:
            self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:150]}")

    def too_frequent(self, interval: float) -> list[str]:
        """Kinds that logged twice within `interval` seconds. A limiter that lets a line through
        `interval` after the last one reads its clock a little before the record reaches this
        handler: 1 ms of that is not counted."""
        return [
            f"{kind}: {len(times)} lines"
            for kind, times in self.times.items()
            if any(b - a < interval - 0.001 for a, b in itertools.pairwise(times))
        ]


def _args(record: logging.LogRecord) -> tuple[Any, ...]:
    args = record.args
    return args if isinstance(args, tuple) else ()


def entry_point(hass: HomeAssistant) -> Callable[[str, bytes], None]:
    """HA's MQTT client's `on_message`: what paho calls with every message from the broker
    (what `async_fire_mqtt_message` calls). Taken from under the test harness's spy, whose call
    log would grow by a million entries, with one paho message object reused (paho makes one
    per packet; building it is most of the cost of a tiny payload)."""
    client: Any = hass.data["mqtt"].client
    on_message = getattr(client, "_mock_wraps", None) or client
    on_message = on_message._async_mqtt_on_message
    msg = MQTTMessage(topic=b"")

    def fire(topic: str, payload: bytes) -> None:
        msg._topic = topic.encode()  # as paho's packet reader sets it
        msg.payload = payload
        msg.timestamp = time.monotonic()
        on_message(None, None, msg)

    return fire


async def run(
    hass: HomeAssistant,
    count: int,
    seed: int = 0,
    check_every: int = 1000,
    clock: Callable[[], float] = time.monotonic,
    tick: Callable[[], None] | None = None,
) -> Counts:
    """Fire `count` fuzzed payloads at the set-up test device; check states as it goes.
    `tick` is called after each payload (a test's fake clock moves on)."""
    counter = LogCounter(clock)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # what HA writes by default; DEBUG is not written
    root.handlers.insert(0, counter)  # first: stamped before any other handler writes
    fire = entry_point(hass)
    counts = Counts()
    try:
        for topic, payload in payloads(seed):
            if counts.payloads >= count:
                break
            fire(topic, payload)
            counts.payloads += 1
            if tick is not None:
                tick()
            if counts.payloads % check_every == 0:
                await hass.async_block_till_done()
                counts.state_garbage += len(garbage(hass))
        await hass.async_block_till_done()
        counts.state_garbage += len(garbage(hass))
    finally:
        root.removeHandler(counter)
        root.setLevel(level)
    entries = hass.config_entries.async_entries(DOMAIN)
    internal = sum(e.runtime_data.device.rejected.get("internal_error", 0) for e in entries)
    counts.unhandled = counter.unhandled + internal
    counts.log_lines = counter.lines
    counts.own_lines = counter.own
    counts.records = counter.records
    counts.counter = counter
    return counts
