"""The external AI service's wire formats (docs/ai_service.md), validated with bounds; pure.

Two versioned JSON documents:
- `automationone.recommendations/1`: what a service posts to the entry's webhook
  (`parse_recommendations`; a `SchemaError` names the first problem and nothing is taken);
- `automationone.readings/1`: the batches of readings HA posts to the service
  (`readings_batch` builds one, `parse_readings` reads one: the reference service uses it).
`RateLimiter` is the token bucket in front of the webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import math
from typing import Any, Final

from .recommend import KINDS

RECOMMENDATIONS_SCHEMA: Final = "automationone.recommendations/1"
READINGS_SCHEMA: Final = "automationone.readings/1"
MAX_BODY_BYTES: Final = 16384
MAX_RECOMMENDATIONS: Final = 20
MAX_SUMMARY: Final = 200
MAX_ENTITY_ID: Final = 255
EXPIRES_MIN_S: Final = 60.0
EXPIRES_MAX_S: Final = 86400.0
DURATION_MIN_S: Final = 0.1
DURATION_MAX_S: Final = 3600.0
MAX_BATCH: Final = 5000

_TOP_KEYS: Final = frozenset({"schema", "recommendations"})
_REC_KEYS: Final = frozenset({"sensor", "kind", "summary", "confidence", "expires_in_s", "action"})
_ACTION_KEYS: Final = frozenset({"actuator", "duration_s"})
_READING_KEYS: Final = frozenset({"sensor", "t", "value", "unit", "quality"})


class SchemaError(ValueError):
    """The document breaks the schema; the message says where and how."""


@dataclass(frozen=True, slots=True)
class ExternalAction:
    """A pulse of an actuator (by entity id) the service recommends."""

    actuator: str
    duration_s: float


@dataclass(frozen=True, slots=True)
class ExternalRecommendation:
    """One recommendation of the external service (sensor and actuator by entity id)."""

    sensor: str
    kind: str
    summary: str
    confidence: float
    expires_in_s: float
    action: ExternalAction | None


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """One reading of a batch."""

    sensor: str
    t: float
    value: float
    unit: str | None
    quality: str


def _object(
    value: object, where: str, keys: frozenset[str], required: frozenset[str]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{where}: must be an object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise SchemaError(f"{where}: unknown key {unknown[0]!r}")
    missing = sorted(required - set(value))
    if missing:
        raise SchemaError(f"{where}: missing key {missing[0]!r}")
    return value


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"{where}: must be a number")
    if not low <= value <= high:
        raise SchemaError(f"{where}: must be between {low:g} and {high:g}")
    return float(value)


def _text(value: object, where: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SchemaError(f"{where}: must be a non-empty string")
    if len(value) > longest:
        raise SchemaError(f"{where}: longer than {longest} characters")
    return value


def _entity_id(value: object, where: str) -> str:
    text = _text(value, where, MAX_ENTITY_ID)
    domain, dot, name = text.partition(".")
    if not dot or not domain or not name or text != text.strip().lower():
        raise SchemaError(f"{where}: must be an entity id like sensor.ph")
    return text


def _load(body: bytes) -> object:
    if len(body) > MAX_BODY_BYTES:
        raise SchemaError(f"body: larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SchemaError(f"body: not JSON ({err.__class__.__name__})") from None


def parse_recommendations(body: bytes) -> list[ExternalRecommendation]:
    """The recommendations of a webhook body; SchemaError on the first problem."""
    doc = _object(_load(body), "body", _TOP_KEYS, _TOP_KEYS)
    if doc["schema"] != RECOMMENDATIONS_SCHEMA:
        raise SchemaError(f"schema: must be {RECOMMENDATIONS_SCHEMA!r}")
    items = doc["recommendations"]
    if not isinstance(items, list) or not items:
        raise SchemaError("recommendations: must be a non-empty list")
    if len(items) > MAX_RECOMMENDATIONS:
        raise SchemaError(f"recommendations: more than {MAX_RECOMMENDATIONS}")
    out = []
    for i, item in enumerate(items):
        where = f"recommendations[{i}]"
        rec = _object(item, where, _REC_KEYS, _REC_KEYS - {"action"})
        kind = rec["kind"]
        if kind not in KINDS:
            raise SchemaError(f"{where}.kind: must be one of {', '.join(KINDS)}")
        action = None
        if rec.get("action") is not None:
            raw = _object(rec["action"], f"{where}.action", _ACTION_KEYS, _ACTION_KEYS)
            action = ExternalAction(
                actuator=_entity_id(raw["actuator"], f"{where}.action.actuator"),
                duration_s=_number(
                    raw["duration_s"], f"{where}.action.duration_s", DURATION_MIN_S, DURATION_MAX_S
                ),
            )
            if kind == "check_sensor":
                raise SchemaError(f"{where}.action: check_sensor takes no action")
        out.append(
            ExternalRecommendation(
                sensor=_entity_id(rec["sensor"], f"{where}.sensor"),
                kind=kind,
                summary=_text(rec["summary"], f"{where}.summary", MAX_SUMMARY),
                confidence=_number(rec["confidence"], f"{where}.confidence", 0.0, 1.0),
                expires_in_s=_number(
                    rec["expires_in_s"], f"{where}.expires_in_s", EXPIRES_MIN_S, EXPIRES_MAX_S
                ),
                action=action,
            )
        )
    return out


def recommendations_body(recs: list[ExternalRecommendation]) -> bytes:
    """A webhook body for `recs` (what a service sends)."""
    items = []
    for rec in recs:
        item: dict[str, Any] = {
            "sensor": rec.sensor,
            "kind": rec.kind,
            "summary": rec.summary,
            "confidence": rec.confidence,
            "expires_in_s": rec.expires_in_s,
        }
        if rec.action is not None:
            item["action"] = {"actuator": rec.action.actuator, "duration_s": rec.action.duration_s}
        items.append(item)
    return json.dumps({"schema": RECOMMENDATIONS_SCHEMA, "recommendations": items}).encode()


def readings_batch(rows: list[ReadingRow], *, device: str, sent: float) -> dict[str, Any]:
    """The document HA posts to the service: one device's readings, oldest first."""
    return {
        "schema": READINGS_SCHEMA,
        "device": device,
        "sent": sent,
        "readings": [
            {"sensor": r.sensor, "t": r.t, "value": r.value, "unit": r.unit, "quality": r.quality}
            for r in rows
        ],
    }


def parse_readings(body: bytes, max_bytes: int = 4 * 1024 * 1024) -> tuple[str, list[ReadingRow]]:
    """(device, rows) of a readings batch; SchemaError on the first problem."""
    if len(body) > max_bytes:
        raise SchemaError(f"body: larger than {max_bytes} bytes")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SchemaError(f"body: not JSON ({err.__class__.__name__})") from None
    keys = frozenset({"schema", "device", "sent", "readings"})
    doc = _object(doc, "body", keys, keys)
    if doc["schema"] != READINGS_SCHEMA:
        raise SchemaError(f"schema: must be {READINGS_SCHEMA!r}")
    device = _text(doc["device"], "device", 200)
    items = doc["readings"]
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        raise SchemaError(f"readings: must be a list of at most {MAX_BATCH}")
    rows = []
    for i, item in enumerate(items):
        where = f"readings[{i}]"
        row = _object(item, where, _READING_KEYS, _READING_KEYS)
        unit = row["unit"]
        if unit is not None and not isinstance(unit, str):
            raise SchemaError(f"{where}.unit: must be a string or null")
        rows.append(
            ReadingRow(
                sensor=_entity_id(row["sensor"], f"{where}.sensor"),
                t=_number(row["t"], f"{where}.t", 0.0, 1e11),
                value=_number(row["value"], f"{where}.value", -1e12, 1e12),
                unit=unit,
                quality=_text(row["quality"], f"{where}.quality", 32),
            )
        )
    return device, rows


class RateLimiter:
    """A token bucket: `burst` requests at once, refilled at `per_minute` (explicit clock)."""

    def __init__(self, burst: int, per_minute: float, now: float) -> None:
        """Full at `now`."""
        self.burst = burst
        self.rate = per_minute / 60.0
        self.tokens = float(burst)
        self.at = now

    def allow(self, now: float) -> bool:
        """Take a token at `now` if there is one."""
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = max(self.at, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the next token."""
        return max(0.0, (1.0 - self.tokens) / self.rate) if self.rate > 0 else math.inf


class PushQueue:
    """Readings waiting to be pushed, oldest first, at most `limit` (the oldest are dropped),
    and the retry delay after failures (doubling from `base_s` up to `max_s`)."""

    def __init__(self, limit: int, base_s: float = 30.0, max_s: float = 1800.0) -> None:
        """Empty, no failures."""
        self.limit = limit
        self.base_s = base_s
        self.max_s = max_s
        self.rows: list[ReadingRow] = []
        self.failures = 0
        self.dropped = 0

    def add(self, row: ReadingRow) -> None:
        """Queue a reading; past the limit the oldest goes."""
        self.rows.append(row)
        if len(self.rows) > self.limit:
            over = len(self.rows) - self.limit
            del self.rows[:over]
            self.dropped += over

    def batch(self, size: int = MAX_BATCH) -> list[ReadingRow]:
        """The oldest `size` rows (they stay queued until `sent`)."""
        return self.rows[:size]

    def sent(self, count: int) -> None:
        """The first `count` rows arrived: drop them, the failures are over."""
        del self.rows[:count]
        self.failures = 0

    def failed(self) -> float:
        """A push failed: the seconds to wait before the next try."""
        self.failures += 1
        return float(min(self.max_s, self.base_s * 2 ** (self.failures - 1)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the rows and the failure count)."""
        return {
            "rows": [[r.sensor, r.t, r.value, r.unit, r.quality] for r in self.rows],
            "failures": self.failures,
        }

    def load(self, data: dict[str, Any]) -> None:
        """Restore from `to_dict`, keeping at most `limit` newest rows."""
        self.rows = [
            ReadingRow(str(s), float(t), float(v), None if u is None else str(u), str(q))
            for s, t, v, u, q in data.get("rows", [])
        ][-self.limit :]
        self.failures = int(data.get("failures", 0))
