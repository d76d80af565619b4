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


class Clocks:
    """One clock for a test: monotonic seconds, and the wall clock as that plus an offset (a
    clock change moves the offset)."""

    def __init__(self) -> None:
        """Any uptime, any date."""
        self.now = 123_456.0
        self.wall_offset = 1_795_000_000.0 - self.now

    def wall(self) -> float:
        return self.now + self.wall_offset


def late_test_device(clocks: Clocks) -> tuple[DeviceState, list[tuple[int, bool]]]:
    """A device on `clocks`, and the (raw, replay) of each reading it hands on."""
    device = DeviceState(
        esp_id="e1", kaiser_id="god", publish=_publish, spawn=lambda coro: None,
        clock=lambda: clocks.now, wall_clock=clocks.wall,
    )  # fmt: skip
    taken: list[tuple[int, bool]] = []
    device.add_reading_handler((34, None), lambda r, m, now: taken.append((int(r.raw), m.replay)))
    return device, taken


def send_at(device: DeviceState, seq: int, ts_ms: float, raw: int, extra: str = "") -> None:
    """A reading as docs/protocol.md writes it, stamped `ts_ms` by the device."""
    device.handle(
        parse_topic(f"{BASE}/sensor/34/data"),
        f'{{"v":1,"seq":{seq},"ts":{int(ts_ms)},"raw":{raw}{extra}}}'.encode(),
    )


@pytest.mark.parametrize("gap_s", [20.0, 600.0])
def test_late_live_readings_are_taken_as_replays(gap_s: float) -> None:
    """docs/protocol.md "Late readings": a device whose clock is an hour behind sends every 2 s
    (all on time for it); after a gap (20 s, 10 minutes) readings of its end arrive at once, as
    live: the ones older than its usual delay by more than 5 s are replays, the rest and the
    next one live (the usual delay forgets at 1 ms a second: 0.6 s over the long gap)."""
    clocks = Clocks()
    device, taken = late_test_device(clocks)
    skew_ms = -3_600_000.0
    seq = 0
    for _ in range(10):
        clocks.now += 2.0
        seq += 1
        send_at(device, seq, clocks.wall() * 1000 + skew_ms - 30, 100 + seq)
    assert all(not replay for _, replay in taken)
    clocks.now += gap_s
    taken.clear()
    for age_s in (18, 14, 10, 6, 4, 1):  # sent in the gap, delivered now
        seq += 1
        send_at(device, seq, (clocks.wall() - age_s) * 1000 + skew_ms, age_s)
    seq += 1
    send_at(device, seq, clocks.wall() * 1000 + skew_ms, 0)
    assert taken == [(18, True), (14, True), (10, True), (6, True), (4, False), (1, False),
                     (0, False)]  # fmt: skip
    assert device.late_readings == 4


def test_a_drifting_device_clock_is_never_late() -> None:
    """A device clock falling behind by 500 ppm (five times a poor crystal) for two hours,
    reading every 2 s: every reading live."""
    clocks = Clocks()
    device, taken = late_test_device(clocks)
    for seq in range(1, 3601):
        clocks.now += 2.0
        send_at(device, seq, (clocks.wall() - 0.0005 * 2.0 * seq) * 1000, seq)
    assert all(not replay for _, replay in taken)
    assert device.late_readings == 0


def test_a_clock_change_makes_readings_late_for_30_s_at_most() -> None:
    """HA's clock set an hour ahead: the device's readings look an hour old; after 30 s of only
    such readings their delay is the usual one, and they are live again."""
    clocks = Clocks()
    device, taken = late_test_device(clocks)
    seq = 0
    for _ in range(5):
        clocks.now += 2.0
        seq += 1
        send_at(device, seq, clocks.wall() * 1000, seq)
    clocks.wall_offset += 3600.0
    taken.clear()
    for _ in range(30):
        clocks.now += 2.0
        seq += 1
        send_at(device, seq, (clocks.wall() - 3600.0) * 1000, seq)
    replays = [replay for _, replay in taken]
    assert replays[0] is True
    assert sum(replays) <= 16  # 30 s of 2 s readings
    assert replays[-10:] == [False] * 10


def test_replays_and_messages_without_a_time_are_never_judged_late() -> None:
    """A replay stays a replay (its age is expected), a message without `ts` is live."""
    clocks = Clocks()
    device, taken = late_test_device(clocks)
    send_at(device, 1, clocks.wall() * 1000, 1)
    clocks.now += 2.0
    send_at(device, 2, (clocks.wall() - 600) * 1000, 2, ',"replay":true')
    device.handle(parse_topic(f"{BASE}/sensor/34/data"), b'{"v":1,"seq":3,"raw":3}')
    assert taken == [(1, False), (2, True), (3, False)]
    assert device.late_readings == 0
