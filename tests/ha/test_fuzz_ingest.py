"""A short fuzz run of the ingest (the bench runs >= 1,000,000 payloads): no exception escapes,
no entity shows garbage, and a kind of bad message logs at most once a minute (a fake clock)."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone import log_limit
from custom_components.automationone.const import DOMAIN
from custom_components.automationone.protocol import ErrorCode
from custom_components.automationone.protocol.log_limiter import LOG_INTERVAL_S

from .common import BASE
from .fuzz_ingest import LogCounter, run
from .test_actuators import PUMP, entry_with
from .test_sensors import PH_DATA, setup

SENSORS = [
    ("sensor", "Tank pH", PH_DATA),
    (
        "sensor",
        "Water",
        {**PH_DATA, "sensor_type": "ds18b20", "gpio": 4, "addr": "28ff641e8316c3a1"},
    ),
    (
        "sensor",
        "Air",
        {**PH_DATA, "sensor_type": "sht31_temperature", "gpio": 21, "addr": "0x44", "scl": 22},
    ),
    ("sensor", "Device pH", {**PH_DATA, "gpio": 35, "mode": "processed"}),
    ("actuator", "Pump", PUMP),
]

pytestmark = pytest.mark.usefixtures("short_answer_wait")


async def fuzz_device(hass: HomeAssistant) -> None:
    """The device every fuzz run talks to: raw and processed sensors, a bus sensor, a pump."""
    await setup(hass, entry_with(*SENSORS))


class FakeClock:
    """The clock of the integration's log limiters, moved by the test."""

    def __init__(self) -> None:
        """Start anywhere."""
        self.now = 5000.0

    def monotonic(self) -> float:
        """Seconds, as time.monotonic()."""
        return self.now

    def patch(self, hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
        """The clock of both limiters: the device model's and the one on HA's MQTT log."""
        limiters = [
            e.runtime_data.device.log_limiter for e in hass.config_entries.async_entries(DOMAIN)
        ]
        mqtt_log = logging.getLogger(log_limit.MQTT_CLIENT_LOGGER)
        limiters += [
            f.limiter
            for f in mqtt_log.filters
            if isinstance(f, log_limit.UndecodableAnnounceFilter)
        ]
        assert len(limiters) == 2
        for limiter in limiters:
            monkeypatch.setattr(limiter, "clock", self.monotonic)


async def test_fuzzed_ingest(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """6,000 fuzzed payloads on every topic kind, 10 ms apart on a fake clock, with a minute
    between the two halves: no exception escapes, no entity shows garbage, and no kind of log
    line (any logger, HA's MQTT client too) is written twice within a minute."""
    # asyncio's debug mode (on in HA's test harness, off in a running HA) warns about slow
    # callbacks on a busy machine: not a line HA would write.
    hass.loop.set_debug(False)
    await fuzz_device(hass)
    clock = FakeClock()
    clock.patch(hass, monkeypatch)
    fired = 0

    def tick() -> None:
        nonlocal fired
        fired += 1
        clock.now += 61.0 if fired == 3000 else 0.01

    counts = await run(hass, 6000, seed=13, check_every=100, clock=clock.monotonic, tick=tick)
    print(counts.line)
    assert (counts.unhandled, counts.state_garbage) == (0, 0)
    assert counts.counter is not None
    assert counts.counter.too_frequent(LOG_INTERVAL_S) == [], counts.records
    # The limiter lets a kind through again after its minute: kinds logged in both halves.
    again = [t for t in counts.counter.times.values() if t[0] < 5060 < t[-1]]
    assert again, counts.records
    assert counts.own_lines <= 2 * (len(ErrorCode) + 2), counts.records


async def test_rate_limit_per_kind(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad messages of one kind flooded for 5 minutes (10/s) write one line a minute: ours
    (malformed JSON on two topics: one code) and HA's MQTT client's (announces it cannot
    decode as UTF-8 before we see them)."""
    # asyncio's debug mode (on in HA's test harness, off in a running HA) warns about slow
    # callbacks on a busy machine: not a line HA would write.
    hass.loop.set_debug(False)
    await fuzz_device(hass)
    clock = FakeClock()
    clock.patch(hass, monkeypatch)
    counter = LogCounter(clock.monotonic)
    root = logging.getLogger()
    root.addHandler(counter)
    try:
        for i in range(3000):
            if i % 2:
                async_fire_mqtt_message(hass, f"{BASE}/heartbeat", b"{broken")
            else:
                async_fire_mqtt_message(hass, f"{BASE}/announce", b"\xff\xfe{")
            clock.now += 0.1
        await hass.async_block_till_done()
    finally:
        root.removeHandler(counter)
    ours = [t for kind, t in counter.times.items() if kind[2] == "malformed_json"]
    mqtt_client = [t for kind, t in counter.times.items() if kind[1] == log_limit.UNDECODABLE]
    # At 0, 60, 120, 180 and 240 s.
    assert [len(t) for t in ours] == [5]
    assert [len(t) for t in mqtt_client] == [5]
    assert counter.too_frequent(LOG_INTERVAL_S) == []
