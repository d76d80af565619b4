"""MQTT topics of protocol v1: `kaiser/{kaiser_id}/esp/{esp_id}/...`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import re

from .errors import ErrorCode, ProtocolError

DEFAULT_KAISER_ID = "god"
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_GPIO = 63


class TopicKind(StrEnum):
    """What a topic carries; the value is the topic's tail with `{gpio}` left out."""

    ANNOUNCE = "announce"
    STATUS = "status"
    HEARTBEAT = "heartbeat"
    CONFIG = "config"
    CONFIG_ACK = "config/ack"
    SENSOR_DATA = "sensor/data"
    SENSOR_BATCH = "sensor/batch"
    PROCESSED = "sensor/processed"
    ACTUATOR_COMMAND = "actuator/command"
    ACTUATOR_STATUS = "actuator/status"
    SYSTEM_COMMAND = "system/command"
    OTA_STATUS = "ota/status"
    EMERGENCY = "broadcast/emergency"  # every device of a kaiser
    DEVICE_EMERGENCY = "emergency"  # one device


_PER_GPIO = {
    ("sensor", "data"): TopicKind.SENSOR_DATA,
    ("sensor", "processed"): TopicKind.PROCESSED,
    ("actuator", "command"): TopicKind.ACTUATOR_COMMAND,
    ("actuator", "status"): TopicKind.ACTUATOR_STATUS,
}
_DEVICE_WIDE = {
    kind.value: kind
    for kind in (
        TopicKind.ANNOUNCE,
        TopicKind.STATUS,
        TopicKind.HEARTBEAT,
        TopicKind.CONFIG,
        TopicKind.CONFIG_ACK,
        TopicKind.SENSOR_BATCH,
        TopicKind.SYSTEM_COMMAND,
        TopicKind.OTA_STATUS,
        TopicKind.DEVICE_EMERGENCY,
    )
}


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic. `esp_id` is empty for the broadcast topic, `gpio` None if not per pin."""

    kind: TopicKind
    kaiser_id: str
    esp_id: str = ""
    gpio: int | None = None


def validate_id(value: str, what: str = "id") -> str:
    """Return `value` if it is a valid kaiser or ESP id (no `+ # /`, 1-32 characters)."""
    if not isinstance(value, str) or ID_PATTERN.fullmatch(value) is None:
        raise ProtocolError(
            ErrorCode.INVALID_ID, what, "1-32 characters of A-Z a-z 0-9 _ - (no + # /)"
        )
    return value


def _parse_gpio(text: str) -> int:
    # Canonical decimal only: int() would also accept " 5", "+5", "05" and non-ASCII digits.
    if not (text.isascii() and text.isdigit()) or str(int(text)) != text or int(text) > MAX_GPIO:
        raise ProtocolError(ErrorCode.UNKNOWN_TOPIC, "gpio", f"not a GPIO number: {text!r}")
    return int(text)


def parse_topic(topic: str) -> Topic:
    """Parse a protocol topic; raise ProtocolError for anything else."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != "kaiser":
        raise ProtocolError(ErrorCode.UNKNOWN_TOPIC, "topic", topic[:120])
    kaiser_id = validate_id(parts[1], "kaiser_id")
    if parts[2:] == ["broadcast", "emergency"]:
        return Topic(TopicKind.EMERGENCY, kaiser_id)
    if len(parts) < 5 or parts[2] != "esp":
        raise ProtocolError(ErrorCode.UNKNOWN_TOPIC, "topic", topic[:120])
    esp_id = validate_id(parts[3], "esp_id")
    tail = parts[4:]
    if len(tail) == 3 and (kind := _PER_GPIO.get((tail[0], tail[2]))) is not None:
        return Topic(kind, kaiser_id, esp_id, _parse_gpio(tail[1]))
    if (kind := _DEVICE_WIDE.get("/".join(tail))) is not None:
        return Topic(kind, kaiser_id, esp_id)
    raise ProtocolError(ErrorCode.UNKNOWN_TOPIC, "topic", topic[:120])


def device_base(kaiser_id: str, esp_id: str) -> str:
    """`kaiser/{kaiser_id}/esp/{esp_id}`, with both ids validated."""
    return f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/esp/{validate_id(esp_id, 'esp_id')}"


def device_topic(kaiser_id: str, esp_id: str, kind: TopicKind, gpio: int | None = None) -> str:
    """Build the topic of `kind` for a device (and pin)."""
    base = device_base(kaiser_id, esp_id)
    if kind is TopicKind.EMERGENCY:
        raise ValueError("the emergency topic is per kaiser: use emergency_topic()")
    per_gpio = kind in _PER_GPIO.values()
    if per_gpio != (gpio is not None):
        raise ValueError(f"{kind} {'needs' if per_gpio else 'takes no'} gpio")
    if gpio is None:
        return f"{base}/{kind.value}"
    if not 0 <= gpio <= MAX_GPIO:
        raise ValueError(f"gpio out of range: {gpio}")
    group, leaf = kind.value.split("/")
    return f"{base}/{group}/{gpio}/{leaf}"


def emergency_topic(kaiser_id: str = DEFAULT_KAISER_ID) -> str:
    """The broadcast emergency topic of a kaiser."""
    return f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/broadcast/emergency"


def device_subscription(esp_id: str = "+") -> str:
    """Wildcard for everything a device (or every device) sends, under any kaiser."""
    return f"kaiser/+/esp/{esp_id if esp_id == '+' else validate_id(esp_id, 'esp_id')}/#"


ANNOUNCE_SUBSCRIPTION = "kaiser/+/esp/+/announce"
