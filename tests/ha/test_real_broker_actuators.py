"""Actuator safety end to end through a real Mosquitto and the simulator: the device enforces
the limits with HA gone, the emergency stop reaches every device, cooldown refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import json
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.automationone.const import DOMAIN, EVENT_ACTUATOR_STOPPED
from custom_components.automationone.protocol import ActuatorConfig, DeviceConfig, encode

from ..broker import Broker
from .realtime import (
    DeviceProcess,
    TopicRecorder,
    add_discovered_device,
    connect_mqtt,
    simulator,
    unload_all,
    wait_for,
)

LIMITS = {
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 0,
    "cooldown_s": 0,
    "max_per_hour": 0,
    "failsafe_s": 0,
}


@pytest.fixture
def one_device(broker: Broker) -> Iterator[DeviceProcess]:
    """One simulated device."""
    proc = simulator(broker.port, "--devices", "1", "--prefix", "ra", "--heartbeat", "1").start()
    yield proc
    proc.stop()


def statuses(recorder: TopicRecorder, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """Recorded actuator statuses (topic, payload), skipping cleared retained ones."""
    return [(t, json.loads(p)) for t, p in recorder.messages[since:] if p]


async def add_actuator(hass: HomeAssistant, entry: ConfigEntry, name: str, **settings: Any) -> str:
    """Add an actuator subentry through the flow; returns its entity id."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "actuator"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"actuator_type": settings.pop("type", "pump"), "name": name}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gpio": "26", **LIMITS, **settings}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry_id = next(s for s, sub in entry.subentries.items() if sub.title == name)
    entity_id = er.async_get(hass).async_get_entity_id(
        "switch", DOMAIN, f"{entry.unique_id}-{subentry_id}"
    )
    assert entity_id is not None
    await wait_for(
        hass,
        lambda: (state := hass.states.get(entity_id)) is not None and state.state == STATE_OFF,
        what="the device's first status of the new actuator",
    )
    return entity_id


async def test_pump_stops_at_max_runtime_with_ha_gone(
    hass: HomeAssistant, real_mqtt: Broker, one_device: DeviceProcess
) -> None:
    """A pump with max runtime 2 s is turned on, then AutomationOne is unloaded: the device
    turns it off by itself after 2 s and reports reason max_runtime."""
    entry = await add_discovered_device(hass)
    esp_id = entry.data["esp_id"]
    recorder = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/actuator/26/status")
    pump = await add_actuator(hass, entry, "Pump", max_runtime_s=2)
    await hass.services.async_call("switch", "turn_on", {"entity_id": pump}, blocking=True)
    await wait_for(hass, lambda: hass.states.get(pump).state == STATE_ON, what="pump on")
    started = time.monotonic()
    since = len(recorder.messages)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    def stopped() -> bool:
        return any(
            not s["state"] and s["reason"] == "max_runtime" for _, s in statuses(recorder, since)
        )

    await wait_for(hass, stopped, within=6, what="the device's own max_runtime stop")
    assert 1.5 <= time.monotonic() - started <= 4
    recorder.stop()


async def test_cooldown_refusal_through_the_broker(
    hass: HomeAssistant, real_mqtt: Broker, one_device: DeviceProcess
) -> None:
    """Off, then on within the cooldown: HA refuses with the time left; a command that
    bypasses HA is refused by the device with `cooldown`."""
    entry = await add_discovered_device(hass)
    esp_id = entry.data["esp_id"]
    recorder = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/actuator/26/status")
    valve = await add_actuator(hass, entry, "Valve", type="valve", cooldown_s=30)
    await hass.services.async_call("switch", "turn_on", {"entity_id": valve}, blocking=True)
    await wait_for(hass, lambda: hass.states.get(valve).state == STATE_ON, what="valve on")
    await hass.services.async_call("switch", "turn_off", {"entity_id": valve}, blocking=True)
    await wait_for(hass, lambda: hass.states.get(valve).state == STATE_OFF, what="valve off")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": valve}, blocking=True)
    assert err.value.translation_key == "refused_cooldown"
    assert 28 <= int(err.value.translation_placeholders["seconds"]) <= 30

    since = len(recorder.messages)
    await mqtt.async_publish(
        hass,
        f"kaiser/god/esp/{esp_id}/actuator/26/command",
        json.dumps({"v": 1, "action": "on", "cmd_id": "bypass"}),
        qos=1,
    )
    await wait_for(
        hass,
        lambda: any(s.get("cmd_id") == "bypass" for _, s in statuses(recorder, since)),
        what="the device's answer to the bypassing command",
    )
    answer = next(s for _, s in statuses(recorder, since) if s.get("cmd_id") == "bypass")
    assert answer["refused"] == "cooldown"
    assert 0 < answer["until_s"] <= 30
    assert answer["state"] is False
    assert hass.states.get(valve).state == STATE_OFF
    recorder.stop()


async def test_emergency_stop_reaches_every_device(
    hass: HomeAssistant, real_mqtt: Broker, broker: Broker
) -> None:
    """`automationone.emergency_stop` stops the relays of three devices; clear releases them."""
    devices = simulator(broker.port, "--devices", "3", "--prefix", "es").start()
    try:
        assert await async_setup_component(hass, DOMAIN, {})
        recorder = await TopicRecorder().start(real_mqtt, "kaiser/god/esp/+/actuator/26/status")
        esp_ids = [f"es-{n:02d}" for n in (1, 2, 3)]
        config = encode(DeviceConfig(version=1, actuators=(ActuatorConfig(gpio=26, type="relay"),)))
        for esp_id in esp_ids:
            await mqtt.async_publish(hass, f"kaiser/god/esp/{esp_id}/config", config, 1, True)
        await wait_for(
            hass,
            lambda: {t.split("/")[3] for t, _ in statuses(recorder)} == set(esp_ids),
            what="a relay status from every device",
        )
        for esp_id in esp_ids:
            await mqtt.async_publish(
                hass,
                f"kaiser/god/esp/{esp_id}/actuator/26/command",
                json.dumps({"v": 1, "action": "on"}),
                1,
            )
        await wait_for(
            hass,
            lambda: {t.split("/")[3] for t, s in statuses(recorder) if s["state"]} == set(esp_ids),
            what="every relay on",
        )
        since = len(recorder.messages)
        await hass.services.async_call(DOMAIN, "emergency_stop", {"reason": "test"}, blocking=True)
        await wait_for(
            hass,
            lambda: {
                t.split("/")[3]
                for t, s in statuses(recorder, since)
                if not s["state"] and s["reason"] == "emergency"
            }
            == set(esp_ids),
            what="every relay stopped with reason emergency",
        )
        await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
        since = len(recorder.messages)
        await mqtt.async_publish(
            hass,
            "kaiser/god/esp/es-01/actuator/26/command",
            json.dumps({"v": 1, "action": "on", "cmd_id": "after"}),
            1,
        )
        await wait_for(
            hass,
            lambda: any(s.get("cmd_id") == "after" for _, s in statuses(recorder, since)),
            what="the answer after the clear",
        )
        answer = next(s for _, s in statuses(recorder, since) if s.get("cmd_id") == "after")
        assert (answer["state"], answer.get("refused")) == (True, None)
        recorder.stop()
    finally:
        devices.stop()


@pytest.fixture
async def mqtt_without_birth(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, broker: Broker
) -> AsyncIterator[Broker]:
    """Like `real_mqtt`, without HA's birth message: HA 2025.4's birth task, started on a
    reconnect, raises unretrieved if the broker drops the link again while it waits."""
    await connect_mqtt(hass, broker, birth_message={})
    yield broker
    await unload_all(hass)


# HA's MQTT client arms its resubscribe debouncer on every reconnect; after the restart of the
# broker it may still be pending when the test ends (HA's timer, not ours).
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_failsafe_when_the_broker_stops(
    hass: HomeAssistant, mqtt_without_birth: Broker, one_device: DeviceProcess
) -> None:
    """Broker stopped while a valve is on: the device puts it into its safe state after the
    fail-safe timeout; once the broker is back HA shows it off, reason failsafe, with the event."""
    entry = await add_discovered_device(hass)
    valve = await add_actuator(hass, entry, "Valve", type="valve", failsafe_s=2)
    stopped = async_capture_events(hass, EVENT_ACTUATOR_STOPPED)
    await hass.services.async_call("switch", "turn_on", {"entity_id": valve}, blocking=True)
    await wait_for(hass, lambda: hass.states.get(valve).state == STATE_ON, what="valve on")
    mqtt_without_birth.stop()
    await asyncio.sleep(3)  # longer than the fail-safe timeout, with no broker at all
    mqtt_without_birth.start()
    await wait_for(
        hass,
        lambda: (state := hass.states.get(valve)).state == STATE_OFF
        and state.attributes["reason"] == "failsafe",
        within=40,
        what="the valve off with reason failsafe after the broker returned",
    )
    assert [e.data["reason"] for e in stopped] == ["failsafe"]


async def test_pulse_ends_on_the_device(
    hass: HomeAssistant, real_mqtt: Broker, one_device: DeviceProcess
) -> None:
    """`automationone.pulse` for 1 s: the device turns the relay off by itself, reason
    duration, and HA fires the stop event."""
    entry = await add_discovered_device(hass)
    relay = await add_actuator(hass, entry, "Relay", type="relay")
    stopped = async_capture_events(hass, EVENT_ACTUATOR_STOPPED)
    await hass.services.async_call(
        DOMAIN, "pulse", {"entity_id": relay, "duration": 1}, blocking=True
    )
    await wait_for(hass, lambda: hass.states.get(relay).state == STATE_ON, what="relay on")
    await wait_for(
        hass,
        lambda: hass.states.get(relay).state == STATE_OFF,
        within=5,
        what="the device's own off after the pulse",
    )
    assert hass.states.get(relay).attributes["reason"] == "duration"
    assert [e.data["reason"] for e in stopped] == ["duration"]
