"""LogLimiter: a kind of bad message writes at most one log line per minute (a fake clock)."""

from __future__ import annotations

import logging

import pytest

from custom_components.automationone.protocol import parse_topic
from custom_components.automationone.protocol.device import DeviceState
from custom_components.automationone.protocol.log_limiter import LOG_INTERVAL_S, LogLimiter


class FakeClock:
    """Seconds, moved by the test; one per test."""

    def __init__(self, now: float) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> float:
        """The time."""
        return self.now


# Any uptime: a clock just started, a negative one, one of a machine up for years.
STARTS = [0.0, -1e6, 0.5, 1e9]


@pytest.mark.parametrize("start", STARTS)
def test_first_allowed_then_refused_within_the_interval(start: float) -> None:
    clock = FakeClock(start)
    limiter = LogLimiter(clock=clock)
    assert limiter.allow("malformed_json")
    assert not limiter.allow("malformed_json")
    clock.now += LOG_INTERVAL_S - 0.001
    assert not limiter.allow("malformed_json")


@pytest.mark.parametrize("start", STARTS)
def test_allowed_again_after_the_interval(start: float) -> None:
    clock = FakeClock(start)
    limiter = LogLimiter(clock=clock)
    assert limiter.allow("malformed_json")
    clock.now += LOG_INTERVAL_S
    assert limiter.allow("malformed_json")
    clock.now += 1.0  # the interval counts from the line let through last
    assert not limiter.allow("malformed_json")
    clock.now += LOG_INTERVAL_S
    assert limiter.allow("malformed_json")


def test_refused_repeats_do_not_push_the_next_line_back() -> None:
    clock = FakeClock(100.0)
    limiter = LogLimiter(clock=clock)
    allowed = []
    for i in range(1200):  # 10 a second for two minutes
        clock.now = 100.0 + i / 10
        allowed.append(limiter.allow("flood"))
    assert [i for i, ok in enumerate(allowed) if ok] == [0, 600]


def test_kinds_are_independent() -> None:
    clock = FakeClock(5.0)
    limiter = LogLimiter(clock=clock)
    assert limiter.allow("malformed_json")
    clock.now += 10.0
    assert limiter.allow("wrong_type")
    assert not limiter.allow("malformed_json")
    clock.now += LOG_INTERVAL_S - 10.0
    assert limiter.allow("malformed_json")
    assert not limiter.allow("wrong_type")


def test_its_own_interval() -> None:
    clock = FakeClock(0.0)
    limiter = LogLimiter(interval_s=2.0, clock=clock)
    assert limiter.allow(1)
    clock.now = 1.999
    assert not limiter.allow(1)
    clock.now = 2.0
    assert limiter.allow(1)


def test_memory_is_bounded_and_the_log_too() -> None:
    """More kinds than it keeps within one interval: new ones are refused (the log stays
    bounded, the kinds already kept keep their limit); once their interval is over, they are
    forgotten and new kinds log again."""
    clock = FakeClock(0.0)
    limiter = LogLimiter(clock=clock, max_kinds=4)
    assert all(limiter.allow(f"device-{i}") for i in range(4))
    assert not limiter.allow("device-4")
    assert not limiter.allow("device-0")
    clock.now += LOG_INTERVAL_S
    assert limiter.allow("device-4")
    assert limiter.allow("device-5")
    assert len(limiter._last) == 2
    for i in range(1000):
        clock.now += LOG_INTERVAL_S
        limiter.allow(i)
    assert len(limiter._last) <= 4


async def _publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
    """Nothing is published in this test."""


def test_a_device_warns_once_a_minute_per_code(caplog: pytest.LogCaptureFixture) -> None:
    """The device model's limiter on a fake clock: a warning a minute, debug lines between."""
    clock = FakeClock(0.0)
    device = DeviceState(
        esp_id="e1",
        kaiser_id="god",
        publish=_publish,
        spawn=lambda coro: None,
        log_limiter=LogLimiter(clock=clock),
    )
    topic = parse_topic("kaiser/god/esp/e1/heartbeat")
    with caplog.at_level(logging.DEBUG):
        for i in range(1200):
            clock.now = i / 10
            device.handle(topic, b"{broken")
    assert device.rejected == {"malformed_json": 1200}
    levels = [r.levelno for r in caplog.records if "Dropped heartbeat" in r.getMessage()]
    assert levels.count(logging.WARNING) == 2
    assert levels.count(logging.DEBUG) == 1198
