"""A cross-ESP rule end to end through a real Mosquitto: simulated esp1's pH falls below the
rule's threshold -> the compiled automation (our device trigger and action) -> simulated
esp2's pump turns on, and the device turns it off at its max runtime."""

from __future__ import annotations

import json
import time
from typing import Any

from homeassistant.components import automation
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.automationone.const import DOMAIN, EVENT_ACTUATOR_STOPPED
from simulator.device import Fleet
from simulator.signals import Sample, ph_to_adc

from ..broker import Broker
from .realtime import TopicRecorder, add_discovered_device, add_ph_sensor, wait_for
from .test_real_broker_actuators import add_actuator


async def test_rule_across_two_devices(
    hass: HomeAssistant, real_mqtt: Broker, broker: Broker
) -> None:
    """pH 7 -> nothing; pH 5 -> the rule turns esp2's pump on; esp2 stops it after its 2 s
    max runtime by itself (reason max_runtime, the actuator-stopped event); pH staying low
    does not fire again (hysteresis), pH back up re-arms and a new drop fires again.
    The threshold sits between what HA shows for pH 7 and pH 5 (the probe is uncalibrated)."""
    fleet = Fleet(2, prefix="rr", host="127.0.0.1", port=broker.port, heartbeat_s=1.0)
    await fleet.start()
    try:
        entries = {}
        for _ in range(2):
            entry = await add_discovered_device(hass)
            entries[entry.data["esp_id"]] = entry
        esp1, esp2 = fleet.devices
        ph_sensor = await add_ph_sensor(hass, entries[esp1.esp_id])
        pump = await add_actuator(hass, entries[esp2.esp_id], "Pump", max_runtime_s=2)
        commands = await TopicRecorder().start(
            real_mqtt, f"kaiser/god/esp/{esp2.esp_id}/actuator/26/command"
        )
        statuses = await TopicRecorder().start(
            real_mqtt, f"kaiser/god/esp/{esp2.esp_id}/actuator/26/status"
        )
        stopped = async_capture_events(hass, EVENT_ACTUATOR_STOPPED)

        async def settle_at(ph_value: float) -> float:
            """esp1's probe reads `ph_value` (the simulator's electrode model); returns the
            pH HA shows for it (uncalibrated, so not exactly the same)."""
            raw = ph_to_adc(ph_value)
            esp1.force(34, Sample(raw=raw))
            esp1.sample_now()
            await wait_for(
                hass,
                lambda: hass.states.get(ph_sensor).attributes.get("raw") == raw,
                what=f"the reading of pH {ph_value}",
            )
            return float(hass.states.get(ph_sensor).state)

        high, low = await settle_at(7.0), await settle_at(5.0)
        assert low < high
        await settle_at(7.0)
        threshold = (high + low) / 2
        rule = {
            "id": "ph_low_pump",
            "name": "pH low: run the pump",
            "triggers": [
                {
                    "type": "sensor",
                    "sensor": {"esp_id": esp1.esp_id, "gpio": 34},
                    "direction": "below",
                    "threshold": round(threshold, 3),
                    "hysteresis": round((high - low) / 4, 3),
                }
            ],
            "conditions": [{"type": "device_online", "esp_id": esp2.esp_id}],
            "actions": [{"type": "on", "actuator": {"esp_id": esp2.esp_id, "gpio": 26}}],
        }
        compiled = await hass.services.async_call(
            DOMAIN, "import_rules", {"rules": rule, "dry_run": True}, blocking=True,
            return_response=True,
        )  # fmt: skip
        assert compiled is not None
        assert await async_setup_component(
            hass, automation.DOMAIN, {automation.DOMAIN: compiled["automations"]}
        )
        await settle_at(6.9)
        await hass.async_block_till_done()
        assert commands.messages == []

        started = time.monotonic()
        await settle_at(5.0)
        await wait_for(hass, lambda: hass.states.get(pump).state == STATE_ON, what="pump on")
        await wait_for(
            hass, lambda: hass.states.get(pump).state == STATE_OFF, within=6, what="pump off"
        )
        assert 1.5 <= time.monotonic() - started <= 5
        sent: list[dict[str, Any]] = [json.loads(p) for _, p in commands.messages]
        assert [c["action"] for c in sent] == ["on"]
        final = json.loads(statuses.messages[-1][1])
        assert (final["state"], final["reason"]) == (False, "max_runtime")
        await wait_for(hass, lambda: len(stopped) == 1, what="the actuator-stopped event")
        assert stopped[0].data["reason"] == "max_runtime"

        await settle_at(5.5)  # still below the threshold: no new firing
        await settle_at(5.2)
        assert len(commands.messages) == 1
        await settle_at(7.0)  # re-armed (at or above threshold + hysteresis)
        await settle_at(5.0)
        await wait_for(hass, lambda: len(commands.messages) == 2, what="the second firing")
        commands.stop()
        statuses.stop()
    finally:
        await fleet.stop()
