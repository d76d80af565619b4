"""Readings replayed after an outage land in the recorder's long-term statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone import replay_statistics as replays_module
from custom_components.automationone.replay_statistics import (
    COMPILE_MARGIN,
    HOUR,
    ReplayStatistics,
    hour_statistics,
    replay_statistics,
)

from .common import BASE
from .test_device_trigger import LEVEL
from .test_sensors import entity, entry_with, setup

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # the top of an hour, as statistics rows start
INTERVAL_S = 2
OUTAGE_START_S = 1200
OUTAGE_S = 30


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database comes before `hass` (see test_simulate_rule.py)."""


@dataclass
class Outage:
    """What one run of the outage scenario measured."""

    buffered: int
    replayed: int
    in_statistics: int
    compiled_max: float  # the recorder's own row for the hour, before the replays
    row: dict[str, float]
    expected: dict[str, float]

    @property
    def line(self) -> str:
        """The figure the issue asks for."""
        lost = self.buffered - self.in_statistics
        return (
            f"outage: buffered={self.buffered} replayed={self.replayed} "
            f"in_statistics={self.in_statistics} lost={lost}"
        )


def _value(i: int) -> float:
    """Reading i of the hour: every reading differs from the one before; the outage's
    readings hold the hour's maximum, so a row without them shows it."""
    in_outage = OUTAGE_START_S <= i * INTERVAL_S < OUTAGE_START_S + OUTAGE_S
    return 5000.0 + i if in_outage else 1000.0 + i % 50


async def _row(hass: HomeAssistant, entity_id: str) -> dict[str, float]:
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        T0,
        T0 + HOUR,
        {entity_id},
        "hour",
        None,
        {"mean", "min", "max"},
    )
    (row,) = stats[entity_id]
    return {k: float(row[k]) for k in ("mean", "min", "max")}  # type: ignore[literal-required]


async def run_outage(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Outage:
    """One hour of 2 s readings with a 30 s broker outage: the device buffers the outage's
    readings and replays them (device timestamps) when the broker is back."""
    freezer.move_to(T0 - timedelta(seconds=10))
    entry = await setup(hass, entry_with(("Level", LEVEL | {"interval_s": INTERVAL_S})))
    entity_id = entity(hass, entry, "Level")
    topic = f"{BASE}/sensor/34/data"
    buffer: list[dict[str, object]] = []
    replayed = 0
    seq = 0
    for i in range(int(HOUR.total_seconds()) // INTERVAL_S):
        t = i * INTERVAL_S
        at = T0 + timedelta(seconds=t)
        freezer.move_to(at)
        ts = int(at.timestamp() * 1000)
        if t == OUTAGE_START_S:
            async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, False)
        if OUTAGE_START_S <= t < OUTAGE_START_S + OUTAGE_S:
            buffer.append({"v": 1, "raw": _value(i), "ts": ts, "replay": True})
            continue
        if t == OUTAGE_START_S + OUTAGE_S:
            async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, True)
            for replay in buffer:  # the firmware replays its buffer in order after reconnecting
                seq += 1
                async_fire_mqtt_message(hass, topic, json.dumps(replay | {"seq": seq}))
                replayed += 1
        seq += 1
        async_fire_mqtt_message(hass, topic, json.dumps({"v": 1, "seq": seq, "raw": _value(i)}))
        await hass.async_block_till_done()
    # The recorder compiles the hour (12 five-minute runs, the hour with the last one).
    freezer.move_to(T0 + HOUR)
    await async_wait_recording_done(hass)
    for minute in range(0, 60, 5):
        do_adhoc_statistics(hass, start=T0 + timedelta(minutes=minute))
        await async_wait_recording_done(hass)
    compiled = await _row(hass, entity_id)
    # Our rewrite of the hour is due once the recorder has compiled it (the loop's clock
    # does not follow the frozen one: fire the timers that are due by then).
    assert replay_statistics(hass).buffered == len(buffer)
    freezer.move_to(T0 + HOUR + COMPILE_MARGIN + timedelta(seconds=1))
    async_fire_time_changed(hass, fire_all=True)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    row = await _row(hass, entity_id)
    values = [_value(i) for i in range(int(HOUR.total_seconds()) // INTERVAL_S)]
    # Readings every 2 s over the whole hour: the time-weighted mean is the plain mean.
    expected = {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}
    matches = row == pytest.approx(expected, rel=1e-9)
    assert replay_statistics(hass).buffered == 0
    return Outage(
        buffered=len(buffer),
        replayed=replayed,
        in_statistics=replay_statistics(hass).imported if matches else 0,
        compiled_max=compiled["max"],
        row=row,
        expected=expected,
    )


async def test_replayed_readings_are_in_long_term_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a 30 s outage the hour's mean, min and max are as if there had been none."""
    outage = await run_outage(hass, freezer)
    print(outage.line)
    assert outage.compiled_max < 5000  # the recorder alone has a gap
    assert outage.row == pytest.approx(outage.expected, rel=1e-9)
    assert (outage.buffered, outage.replayed, outage.in_statistics) == (15, 15, 15)


def test_hour_statistics_is_time_weighted() -> None:
    """A value holds until the next; the one before the hour holds from its start."""
    begin = T0.timestamp()
    row = hour_statistics(T0, [(begin - 100, 10.0), (begin + 900, 20.0), (begin + 3600, 99.0)])
    assert row is not None
    assert (row["mean"], row["min"], row["max"]) == (10 * 0.25 + 20 * 0.75, 10.0, 20.0)


async def test_too_many_waiting_replays_are_dropped_with_one_warning(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Replays beyond the bound are counted and said once a minute, the ones kept are intact."""
    monkeypatch.setattr(replays_module, "MAX_PENDING", 3)
    hass.config.components.add("recorder")
    replays = ReplayStatistics(hass)
    ts_ms = int(T0.timestamp() * 1000)
    for n in range(6):
        replays.add("sensor.ph", "pH", ts_ms + 1000 * n, 6.0 + n)
    assert (replays.buffered, replays.dropped) == (3, 3)
    warnings = [r for r in caplog.records if "replayed readings wait" in r.getMessage()]
    assert len(warnings) == 1
    (hour,) = replays.pending.values()
    assert hour.points() == [(T0.timestamp() + n, 6.0 + n) for n in range(3)]
    for waiting in replays.pending.values():
        assert waiting.cancel is not None
        waiting.cancel()
