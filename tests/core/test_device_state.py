"""DeviceState, the pure device model: bad input and our own bugs never escape a message."""

from __future__ import annotations

import logging

import pytest

from custom_components.automationone.protocol import Reading, SensorData, parse_topic
from custom_components.automationone.protocol.device import INTERNAL_ERROR, DeviceState

BASE = "kaiser/god/esp/e1"


async def _publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
    """Nothing is published in these tests."""


def _device() -> DeviceState:
    return DeviceState(esp_id="e1", kaiser_id="god", publish=_publish, spawn=lambda coro: None)


def test_a_failing_handler_is_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """An exception in a reading handler (a bug) is counted and logged once, not raised."""
    device = _device()

    def broken(reading: Reading, message: SensorData, now: float) -> None:
        raise ZeroDivisionError

    device.add_reading_handler((34, None), broken)
    topic = parse_topic(f"{BASE}/sensor/34/data")
    for seq in range(3):
        device.handle(topic, f'{{"v":1,"seq":{seq},"raw":1}}'.encode())
    assert device.rejected == {INTERNAL_ERROR: 3}
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_bad_messages_warn_once_per_code(caplog: pytest.LogCaptureFixture) -> None:
    """A flood of one kind of bad message is one warning (per minute), then debug lines."""
    device = _device()
    topic = parse_topic(f"{BASE}/heartbeat")
    for _ in range(100):
        device.handle(topic, b"{broken")
    device.handle(topic, b'{"v":2}')
    assert device.rejected == {"malformed_json": 100, "unsupported_version": 1}
    assert [r.levelno for r in caplog.records if r.levelno >= logging.INFO] == [logging.WARNING] * 2
