"""End to end through a real Mosquitto: simulator → broker → HA's MQTT → AutomationOne."""

from __future__ import annotations

from collections.abc import Iterator
import json

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.automationone.const import DOMAIN

from ..broker import Broker
from .realtime import DeviceProcess, simulator, wait_for


@pytest.fixture
def device(broker: Broker) -> Iterator[DeviceProcess]:
    """One simulated ESP32 with a fast heartbeat."""
    proc = simulator(broker.port, "--devices", "1", "--prefix", "rb", "--heartbeat", "1").start()
    yield proc
    proc.stop()


def entity_id(hass: HomeAssistant, entry: ConfigEntry, key: str) -> str:
    """The entity id of one of the entry's entities, by its description key."""
    registry = er.async_get(hass)
    found = registry.async_get_entity_id(
        {"connectivity": "binary_sensor", "restart": "button"}.get(key, "sensor"),
        DOMAIN,
        f"{entry.unique_id}-{key}",
    )
    assert found is not None
    return found


async def test_discover_add_follow_and_lwt(
    hass: HomeAssistant, real_mqtt: Broker, device: DeviceProcess
) -> None:
    """The simulator is discovered and added; entities show its heartbeat; SIGKILL → LWT."""
    await wait_for(
        hass,
        lambda: hass.config_entries.flow.async_progress_by_handler(DOMAIN),
        what="the discovery flow of the simulator's announce",
    )
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    entry = result["result"]
    esp_id = entry.data["esp_id"]

    heartbeats: list[dict[str, int]] = []

    @callback
    def on_heartbeat(msg: mqtt.ReceiveMessage) -> None:
        heartbeats.append(json.loads(msg.payload))

    unsubscribe = await mqtt.async_subscribe(
        hass, f"kaiser/god/esp/{esp_id}/heartbeat", on_heartbeat
    )
    connectivity = entity_id(hass, entry, "connectivity")
    rssi = entity_id(hass, entry, "rssi")
    heap = entity_id(hass, entry, "heap_free")
    await wait_for(hass, lambda: hass.states.get(connectivity).state == STATE_ON, what="online")
    await wait_for(hass, lambda: len(heartbeats) >= 2, what="two heartbeats")
    await wait_for(
        hass,
        lambda: hass.states.get(rssi).state == str(heartbeats[-1]["rssi"]),
        what="RSSI state equal to the last heartbeat's",
    )
    assert float(hass.states.get(heap).state) == pytest.approx(heartbeats[-1]["heap_free"] / 1024)
    unsubscribe()

    device.kill()
    await wait_for(
        hass, lambda: hass.states.get(connectivity).state == STATE_OFF, what="LWT offline"
    )
    assert hass.states.get(rssi).state == STATE_UNAVAILABLE
