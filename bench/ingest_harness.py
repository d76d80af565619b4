"""Ingest in process: raw readings fired through HA's MQTT into our sensors, against HA's own
MQTT sensor with a `value_template` doing the same linear conversion on the same messages.

HA's own floor is measured in the same run: its MQTT client dispatching the same messages to
one wildcard subscription with a counting callback, and bare SensorEntity state writes (no
attributes, no unit), one per reading. One reading per message cannot be faster than a
dispatch plus a state write; a batch message cannot be faster than its state writes. Every
message carries its `ts`, as the firmware sends it (until 2026-12 the bench's messages had none,
and so measured a parser shortcut the firmware's messages did not take).

Run by `make bench` through bench/bench_ingest.py, under pytest for HA's test harness (nothing
is asserted about speed). The last lines are `ingest-batch: ours=<readings/s> ...` and
`ingest: ours=<readings/s> anchor=<readings/s> floor=<readings/s> ratio=<x> of_floor=<x>`.
INGEST_PROFILE=<file> writes a cProfile of our single-reading run to <file>.

Every figure is the CPU time of the HA process (`time.process_time`), not wall time: the machine
is shared, and time spent descheduled says nothing about the code; each is the best of ROUNDS.
"""

from __future__ import annotations

import cProfile
import json
import logging
import math
import os
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import EntityPlatform, async_get_platforms
from paho.mqtt.client import MQTTMessage
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from bench.common import BareSensor, add_bare_sensors, linear_device
from custom_components.automationone.const import DOMAIN
from custom_components.automationone.processors import Quality, Result
from custom_components.automationone.sensor import ProcessedSensor

N_READINGS = 30_000
# Each figure is the best of this many runs: the machine is shared, and a run that met another
# process's burst says nothing about the code.
ROUNDS = int(os.environ.get("INGEST_ROUNDS", "3"))
SENSORS = 10
GPIOS = [32, 33, 34, 35, 36, 39, 25, 26, 27, 14][:SENSORS]
ESP_ID = "bench-01"
BASE = f"kaiser/god/esp/{ESP_ID}"
SCALE, OFFSET = 0.01, 0.5


def raw_values() -> list[tuple[int, int]]:
    """(gpio, raw) pairs: a slow wave plus ADC-like noise, round robin over the sensors."""
    return [
        (GPIOS[i % SENSORS], 2000 + int(300 * math.sin(i / 200)) + (i * 7919) % 7 - 3)
        for i in range(N_READINGS)
    ]


# A message without its time stamp: (topic, seq, the rest of its members). `fire` stamps it.
type Message = tuple[str, int, dict[str, Any]]


def single_messages() -> list[Message]:
    """One reading per message on `sensor/{gpio}/data`: what both sides receive."""
    return [
        (f"{BASE}/sensor/{gpio}/data", i, {"raw": raw})
        for i, (gpio, raw) in enumerate(raw_values())
    ]


def batch_messages() -> list[Message]:
    """The same readings, one sample cycle (all sensors) per `sensor/batch` message."""
    readings = raw_values()
    return [
        (
            f"{BASE}/sensor/batch",
            i,
            {"readings": [{"gpio": g, "raw": r} for g, r in readings[i : i + SENSORS]]},
        )
        for i in range(0, len(readings), SENSORS)
    ]


async def fire(hass: HomeAssistant, messages: list[Message]) -> float:
    """Seconds HA takes to handle every message (dispatch, parse, process, state writes).

    The messages enter where paho hands them to HA's MQTT client. They are built before the
    clock starts: the test helper `async_fire_mqtt_message` creates a Mock per message, which
    would cost more than what is measured. Each is stamped with the time now (`ts`, Unix ms,
    after `seq`), as the firmware stamps every message once it has the time.
    """
    # The harness wraps HA's MQTT client in a Mock that records every call; call the real
    # client's handler instead.
    client = hass.data["mqtt"].client._mock_wraps
    on_message = client._async_mqtt_on_message
    prepared = []
    now_ms = int(time.time() * 1000)
    for topic, seq, rest in messages:
        msg = MQTTMessage(topic=topic.encode())
        msg.payload = json.dumps(
            {"v": 1, "seq": seq, "ts": now_ms, **rest}, separators=(",", ":")
        ).encode()
        prepared.append(msg)
    start = time.process_time()
    for msg in prepared:
        msg.timestamp = time.monotonic()
        on_message(None, None, msg)
    await hass.async_block_till_done()
    return time.process_time() - start


async def dispatch_floor(hass: HomeAssistant, messages: list[Message]) -> float:
    """Seconds HA's MQTT client takes to hand the messages to one wildcard subscription whose
    callback only counts (bytes, as ours subscribes)."""
    count = 0

    @callback
    def counting(msg: mqtt.ReceiveMessage) -> None:
        nonlocal count
        count += 1

    unsubscribe = await mqtt.async_subscribe(
        hass, "kaiser/+/esp/+/#", counting, qos=1, encoding=None
    )
    await hass.async_block_till_done()
    seconds = min([await fire(hass, messages) for _ in range(ROUNDS)])
    unsubscribe()
    await hass.async_block_till_done()
    assert count == len(messages) * ROUNDS
    return seconds


async def bare_sensors(hass: HomeAssistant) -> tuple[EntityPlatform, dict[int, BareSensor]]:
    """One bare SensorEntity per GPIO on a platform of their own."""
    sensors = {gpio: BareSensor(f"floor {gpio}") for gpio in GPIOS}
    return await add_bare_sensors(hass, "bench_floor", sensors.values()), sensors


async def state_write_floor(
    hass: HomeAssistant, sensors: dict[int, BareSensor], readings: list[tuple[int, int]]
) -> float:
    """Seconds of one bare SensorEntity state write per reading (a new value each time)."""
    values = [(sensors[gpio], raw * SCALE + OFFSET) for gpio, raw in readings]
    start = time.process_time()
    for sensor, value in values:
        sensor._attr_native_value = value
        sensor.async_write_ha_state()
    await hass.async_block_till_done()
    return time.process_time() - start


async def our_state_writes(hass: HomeAssistant, readings: list[tuple[int, int]]) -> float:
    """Seconds of our processed sensors' state writes alone, one per reading (a new value each
    time, set on the channel as a reading would): what HA's state machine costs us."""
    sensors = {
        entity.channel.key[0]: entity
        for platform in async_get_platforms(hass, DOMAIN)
        if platform.domain == "sensor"
        for entity in platform.entities.values()
        if isinstance(entity, ProcessedSensor)
    }
    results = [
        (sensors[gpio], Result(raw * SCALE + OFFSET, "cm", Quality.GOOD), raw)
        for gpio, raw in readings
    ]
    start = time.process_time()
    for sensor, result, raw in results:
        sensor.channel.result = result
        sensor.channel.raw = raw
        sensor.async_write_ha_state()
    await hass.async_block_till_done()
    return time.process_time() - start


async def run_anchor(hass: HomeAssistant, messages: list[Message]) -> float:
    """HA's MQTT sensor (discovery + value_template) on the same topics."""
    for gpio in GPIOS:
        config = {
            "name": f"anchor {gpio}",
            "unique_id": f"anchor-{gpio}",
            "state_topic": f"{BASE}/sensor/{gpio}/data",
            "value_template": f"{{{{ value_json.raw | float * {SCALE} + {OFFSET} }}}}",
            "state_class": "measurement",
        }
        async_fire_mqtt_message(hass, f"homeassistant/sensor/a{gpio}/config", json.dumps(config))
    await hass.async_block_till_done()
    seconds = min([await fire(hass, messages) for _ in range(ROUNDS)])
    states = [hass.states.get(f"sensor.anchor_{gpio}") for gpio in GPIOS]
    assert all(s is not None and s.state not in ("unknown", "unavailable") for s in states)
    for gpio in GPIOS:  # remove them, so they do not also receive our run
        async_fire_mqtt_message(hass, f"homeassistant/sensor/a{gpio}/config", "")
    await hass.async_block_till_done()
    return seconds


async def setup_ours(hass: HomeAssistant) -> MockConfigEntry:
    """Our device with one linear sensor per GPIO doing the same conversion."""
    entry = linear_device(
        ESP_ID, "24:0a:c4:00:00:01", GPIOS, {"scale": SCALE, "offset": OFFSET, "unit": "cm"}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online")
    await hass.async_block_till_done()
    return entry


async def test_ingest(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, enable_custom_integrations: None
) -> None:
    """Print readings/s for the anchor and for ours (single and batch messages)."""
    # The test harness runs the loop in debug mode, which multiplies the cost of every task.
    hass.loop.set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    singles = single_messages()
    dispatch_s = await dispatch_floor(hass, singles)
    anchor_s = await run_anchor(hass, singles)
    floor_platform, floor_sensors = await bare_sensors(hass)
    entry = await setup_ours(hass)
    if profile_to := os.environ.get("INGEST_PROFILE"):
        profiler = cProfile.Profile()
        profiler.enable()
        await fire(hass, singles)
        profiler.disable()
        profiler.dump_stats(profile_to)
    batches = batch_messages()
    # The state-write floor runs between ours, so both meet the same machine.
    runs: list[tuple[float, float, float, float]] = [
        (
            await state_write_floor(hass, floor_sensors, raw_values()),
            await fire(hass, singles),
            await fire(hass, batches),
            await our_state_writes(hass, raw_values()),
        )
        for _ in range(ROUNDS)
    ]
    write_s, ours_s, batch_s, ours_write_s = (min(column) for column in zip(*runs, strict=True))
    await floor_platform.async_reset()
    device = entry.runtime_data.device
    assert device.readings_unrouted == 0
    assert device.late_readings == 0  # every reading live, so every one written
    assert not device.rejected
    anchor = N_READINGS / anchor_s
    ours = N_READINGS / ours_s
    batch = N_READINGS / batch_s
    dispatch = N_READINGS / dispatch_s
    write = N_READINGS / write_s
    floor = N_READINGS / (dispatch_s + write_s)
    print(
        f"\nreadings: {N_READINGS} over {SENSORS} sensors, every reading a new value;"
        f" each figure the best of {ROUNDS} runs, in CPU time of the HA process"
    )
    print(f"floor   HA MQTT dispatch to a counting callback:            {dispatch:,.0f} messages/s")
    print(f"floor   bare SensorEntity state write:                       {write:,.0f} writes/s")
    print(f"floor   1 reading/message (dispatch + state write):          {floor:,.0f} readings/s")
    print(f"anchor  HA MQTT sensor + value_template, 1 reading/message: {anchor:,.0f} readings/s")
    print(f"ours    sensor/{{gpio}}/data, 1 reading/message:             {ours:,.0f} readings/s")
    print(
        f"ours    sensor/batch, {SENSORS} readings/message:                {batch:,.0f} readings/s"
    )
    print(
        f"ours    state writes alone (value, quality, raw, unit):     "
        f"{N_READINGS / ours_write_s:,.0f} writes/s"
    )
    print(
        f"ingest-batch: ours={batch:.0f} anchor={anchor:.0f} floor={write:.0f}"
        f" ratio={batch / anchor:.2f} of_floor={batch / write:.2f}"
    )
    print(
        f"ingest: ours={ours:.0f} anchor={anchor:.0f} floor={floor:.0f}"
        f" ratio={ours / anchor:.2f} of_floor={ours / floor:.2f}"
    )
