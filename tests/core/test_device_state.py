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


def test_resent_messages_count_once_per_seq() -> None:
    """docs/protocol.md "Duplicates, replays, floods": a message sent again after a reconnect
    (`resend`) is taken in only if its seq was not; a lower seq that is not a resend is a new
    boot; the same seq again is a redelivery."""
    device = _device()
    taken: list[tuple[int, float]] = []
    device.add_reading_handler((34, None), lambda r, m, now: taken.append((m.seq, r.raw)))
    topic = parse_topic(f"{BASE}/sensor/34/data")

    def send(seq: int, raw: int, extra: str = "") -> None:
        device.handle(
            topic, f'{{"v":1,"seq":{seq},"ts":1795000000000,"raw":{raw}{extra}}}'.encode()
        )

    resend = ',"replay":true,"resend":true'
    send(10, 1)
    send(11, 2)
    send(11, 2)  # redelivered
    send(11, 2, resend)  # it had arrived: dropped
    send(13, 4)  # 12 lost on the way
    send(12, 3, resend)  # so its resend is taken in, once
    send(12, 3, resend)
    send(13, 4, resend)
    assert taken == [(10, 1), (11, 2), (13, 4), (12, 3)]
    assert device.resends_dropped == 3
    assert device.readings_received == 4
    # A new boot starts at seq 0 again, first with what it buffered before it could connect.
    send(0, 5, ',"replay":true')
    send(1, 6)
    send(0, 5, resend)
    send(1, 6, resend)
    send(2, 7, resend)  # newer than anything seen: taken, and only once
    send(2, 7, resend)
    send(3, 8)
    assert taken[4:] == [(0, 5), (1, 6), (2, 7), (3, 8)]
    assert device.resends_dropped == 6
    assert device.last_reading_seq == 3


def test_seq_window_survives_long_gaps() -> None:
    """A jump far beyond the window (a wrapped or reset counter) starts it afresh."""
    device = _device()
    topic = parse_topic(f"{BASE}/sensor/34/data")
    device.handle(topic, b'{"v":1,"seq":5,"raw":1}')
    device.handle(topic, b'{"v":1,"seq":4294967295,"raw":1}')
    device.handle(topic, b'{"v":1,"seq":4294967295,"ts":1,"raw":1,"replay":true,"resend":true}')
    device.handle(topic, b'{"v":1,"seq":5,"ts":1,"raw":1,"replay":true,"resend":true}')
    assert device.readings_received == 3
    assert device.resends_dropped == 1
    assert device.seen_seqs.bit_length() <= 256
