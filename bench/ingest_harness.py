"""Ingest in process: raw readings fired through HA's MQTT into our sensors, against HA's own
MQTT sensor with a `value_template` doing the same linear conversion on the same messages.

Run by `make bench` through bench/bench_ingest.py, under pytest for HA's test harness (nothing
is asserted about speed). The last line is `ingest: ours=<readings/s> anchor=<readings/s>
ratio=<x>`.
"""

from __future__ import annotations

import json
import logging
import math
import time

from homeassistant.core import HomeAssistant
from paho.mqtt.client import MQTTMessage
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from bench.common import linear_device

N_READINGS = 30_000
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


def single_messages() -> list[tuple[str, str]]:
    """One reading per message on `sensor/{gpio}/data`: what both sides receive."""
    return [
        (f"{BASE}/sensor/{gpio}/data", json.dumps({"v": 1, "seq": i, "raw": raw}))
        for i, (gpio, raw) in enumerate(raw_values())
    ]


def batch_messages() -> list[tuple[str, str]]:
    """The same readings, one sample cycle (all sensors) per `sensor/batch` message."""
    readings = raw_values()
    return [
        (
            f"{BASE}/sensor/batch",
            json.dumps(
                {
                    "v": 1,
                    "seq": i,
                    "readings": [{"gpio": g, "raw": r} for g, r in readings[i : i + SENSORS]],
                }
            ),
        )
        for i in range(0, len(readings), SENSORS)
    ]


async def fire(hass: HomeAssistant, messages: list[tuple[str, str]]) -> float:
    """Seconds HA takes to handle every message (dispatch, parse, process, state writes).

    The messages enter where paho hands them to HA's MQTT client. They are built before the
    clock starts: the test helper `async_fire_mqtt_message` creates a Mock per message, which
    would cost more than what is measured.
    """
    # The harness wraps HA's MQTT client in a Mock that records every call; call the real
    # client's handler instead.
    client = hass.data["mqtt"].client._mock_wraps
    on_message = client._async_mqtt_on_message
    prepared = []
    for topic, payload in messages:
        msg = MQTTMessage(topic=topic.encode())
        msg.payload = payload.encode()
        prepared.append(msg)
    start = time.perf_counter()
    for msg in prepared:
        msg.timestamp = time.monotonic()
        on_message(None, None, msg)
    await hass.async_block_till_done()
    return time.perf_counter() - start


async def run_anchor(hass: HomeAssistant, messages: list[tuple[str, str]]) -> float:
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
    seconds = await fire(hass, messages)
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
    anchor_s = await run_anchor(hass, singles)
    entry = await setup_ours(hass)
    ours_s = await fire(hass, singles)
    batches = batch_messages()
    batch_s = await fire(hass, batches)
    device = entry.runtime_data.device
    assert device.readings_unrouted == 0
    assert not device.rejected
    anchor = N_READINGS / anchor_s
    ours = N_READINGS / ours_s
    batch = N_READINGS / batch_s
    print(f"\nreadings: {N_READINGS} over {SENSORS} sensors, every reading a new value")
    print(f"anchor  HA MQTT sensor + value_template, 1 reading/message: {anchor:,.0f} readings/s")
    print(f"ours    sensor/{{gpio}}/data, 1 reading/message:             {ours:,.0f} readings/s")
    print(
        f"ours    sensor/batch, {SENSORS} readings/message:                {batch:,.0f} readings/s"
    )
    print(f"ingest-batch: ours={batch:.0f} anchor={anchor:.0f} ratio={batch / anchor:.2f}")
    print(f"ingest: ours={ours:.0f} anchor={anchor:.0f} ratio={ours / anchor:.2f}")
