"""End to end through a real Mosquitto: simulator → broker → HA's MQTT → AutomationOne."""

from __future__ import annotations

from collections.abc import Iterator
import json

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.automationone.const import DOMAIN

from ..broker import Broker
from .realtime import (
    DeviceProcess,
    TopicRecorder,
    add_discovered_device,
    add_ph_sensor,
    simulator,
    virtual_esp,
    wait_for,
)


@pytest.fixture(params=["simulator", "virtual-esp"])
def device(broker: Broker, request: pytest.FixtureRequest) -> Iterator[DeviceProcess]:
    """One device with a fast heartbeat: the Python simulator, or the firmware core on the host."""
    if request.param == "simulator":
        proc = simulator(broker.port, "--devices", "1", "--prefix", "rb", "--heartbeat", "1")
    else:
        proc = virtual_esp(broker.port, "rb-ve-01")
    proc.start()
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_discover_add_follow_and_lwt(
    hass: HomeAssistant, real_mqtt: Broker, device: DeviceProcess
) -> None:
    """The simulator is discovered and added; entities show its heartbeat; SIGKILL → LWT."""
    entry = await add_discovered_device(hass)
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


async def test_add_sensor_then_move_it(
    hass: HomeAssistant, real_mqtt: Broker, device: DeviceProcess
) -> None:
    """Add a pH sensor in HA → the device gets the config → raw readings → processed state;
    move it to another pin → the old pin stops, the new one reports, same entity."""
    entry = await add_discovered_device(hass)
    esp_id = entry.data["esp_id"]
    readings = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/sensor/+/data")
    acks = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/config/ack")

    ph = await add_ph_sensor(hass, entry)
    (subentry_id,) = entry.subentries
    state = hass.states.get(ph)
    assert 0 <= float(state.state) <= 14
    assert state.attributes["device_class"] == "ph"
    assert "unit_of_measurement" not in state.attributes  # HA: the pH class has no unit
    assert state.attributes["quality"] == "uncalibrated"
    assert f"kaiser/god/esp/{esp_id}/sensor/34/data" in readings.topics()

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "reconfigure", "subentry_id": subentry_id}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_settings"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gpio": "35", "interval_s": 2, "mode": "raw", "echo_processed": False}
    )
    assert result["reason"] == "reconfigure_successful"
    acks_before = len(acks.messages)
    await wait_for(hass, lambda: len(acks.messages) > acks_before, what="the ack of the move")
    moved_at = len(readings.messages)
    await wait_for(
        hass,
        lambda: f"kaiser/god/esp/{esp_id}/sensor/35/data" in readings.topics(moved_at),
        what="readings from the new pin",
    )
    assert f"kaiser/god/esp/{esp_id}/sensor/34/data" not in readings.topics(moved_at)
    await wait_for(
        hass,
        lambda: hass.states.get(ph).state not in (STATE_UNAVAILABLE, STATE_UNKNOWN),
        what="the moved sensor's value",
    )
    readings.stop()
    acks.stop()
