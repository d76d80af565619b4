"""Actuators from the UI: subentry flow, state from the device, refusals, events, services,
runtime counters."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
    WebSocketGenerator,
)

from custom_components.automationone.const import DOMAIN, EVENT_ACTUATOR_STOPPED

from .common import BASE, ESP_ID, MAC, announce, mock_entry
from .test_sensors import PH_DATA, pushed_configs, setup

TRANSLATIONS = json.loads(
    (Path(__file__).parents[2] / "custom_components/automationone/translations/en.json").read_text(
        encoding="utf-8"
    )
)
PUMP = {
    "actuator_type": "pump",
    "gpio": 26,
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 30,
    "cooldown_s": 60,
    "max_per_hour": 0,
    "failsafe_s": 10,
}
# No limits of the pump's own in the way of what a test drives.
FREE_PUMP = {**PUMP, "max_runtime_s": 0, "cooldown_s": 0}
DIMMER = {**PUMP, "actuator_type": "pwm", "gpio": 25, "cooldown_s": 0, "max_runtime_s": 0}
SETTINGS = {
    "gpio": "26",
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 30,
    "cooldown_s": 60,
    "max_per_hour": 4,
    "failsafe_s": 10,
}

pytestmark = pytest.mark.usefixtures("short_answer_wait")


def entry_with(*subentries: tuple[str, str, dict[str, Any]]) -> MockConfigEntry:
    """The test device's entry with (type, title, data) subentries."""
    entry = mock_entry()
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=entry.unique_id,
        data=entry.data,
        subentries_data=[
            ConfigSubentryData(
                data=data,
                subentry_type=kind,
                title=title,
                unique_id=f"actuator:{data['gpio']}" if kind == "actuator" else f"{data['gpio']}:",
            )
            for kind, title, data in subentries
        ],
    )


def entity_of(hass: HomeAssistant, entry: MockConfigEntry, title: str, key: str = "") -> str:
    """Entity id of an actuator subentry's entity (`key`: runtime/activations sensors)."""
    subentry_id = next(s for s, sub in entry.subentries.items() if sub.title == title)
    platform = "sensor" if key else "switch"
    if not key and entry.subentries[subentry_id].data["actuator_type"] == "pwm":
        platform = "light"
    unique_id = f"{MAC}-{subentry_id}" + (f"-{key}" if key else "")
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


def message(err: HomeAssistantError) -> str:
    """The English text of a translated error."""
    assert err.translation_key is not None
    template = TRANSLATIONS["exceptions"][err.translation_key]["message"]
    return str(template.format(**(err.translation_placeholders or {})))


def status(hass: HomeAssistant, gpio: int, **fields: Any) -> None:
    """An actuator status from the device."""
    payload = {"v": 1, "state": False, "value": 0, "reason": "boot"} | fields
    async_fire_mqtt_message(hass, f"{BASE}/actuator/{gpio}/status", json.dumps(payload))


def last_publish(mqtt_mock: MqttMockHAClient, topic: str) -> Any:
    """The last call that published on `topic` (other publications may follow it)."""
    return next(c for c in reversed(mqtt_mock.async_publish.call_args_list) if c.args[0] == topic)


def commands(mqtt_mock: MqttMockHAClient, gpio: int) -> list[dict[str, Any]]:
    """Commands HA published for the actuator on `gpio` (all at QoS 1, not retained)."""
    calls = [
        c for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{BASE}/actuator/{gpio}/command"
    ]  # fmt: skip
    assert all(c.args[2:] == (1, False) for c in calls)
    return [json.loads(c.args[1]) for c in calls]


async def pump_on(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Set up the pump entry, device online, pump reported off then on."""
    await setup(hass, entry)
    status(hass, 26, state=False, value=0, reason="boot", runtime_s=0, activations=0)
    await hass.async_block_till_done()
    return entity_of(hass, entry, "Pump")


# --- subentry flow ----------------------------------------------------------------------


async def test_add_actuator_flow(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Type and name, then pin and limits: only free output pins; the device gets them."""
    entry = await setup(hass, entry_with(("sensor", "Tank pH", {**PH_DATA, "gpio": 32})))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "actuator"), context={"source": "user"}
    )
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"actuator_type": "pump", "name": "Pump"}
    )
    assert result["step_id"] == "settings"
    options = result["data_schema"].schema["gpio"].config["options"]
    assert "26" in options
    assert "34" not in options  # input only
    assert "6" not in options  # flash
    assert "32" not in options  # the pH sensor's pin
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], SETTINGS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    config = pushed_configs(mqtt_mock)[-1]
    assert config["actuators"] == [
        {
            "gpio": 26,
            "type": "pump",
            "inverted": False,
            "safe_state": 0,
            "max_runtime_s": 30,
            "cooldown_s": 60,
            "max_per_hour": 4,
            "failsafe_s": 10,
        }
    ]
    assert config["sensors"] == [{"gpio": 32, "type": "ph", "interval_ms": 10000}]
    status(hass, 26, state=False, value=0, reason="boot")
    await hass.async_block_till_done()
    assert hass.states.get(entity_of(hass, entry, "Pump")).state == STATE_OFF


async def test_actuator_pin_not_offered_to_sensors(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A sensor cannot take the pin of an actuator."""
    entry = await setup(hass, entry_with(("actuator", "Pump", {**PUMP, "gpio": 32})))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ph"}
    )
    assert "32" not in result["data_schema"].schema["gpio"].config["options"]
    assert "33" in result["data_schema"].schema["gpio"].config["options"]


async def test_flow_errors(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A digital safe state other than 0/255, a pin taken meanwhile, a pin not offered."""
    entry = await setup(hass, mock_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "actuator"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"actuator_type": "relay"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**SETTINGS, "safe_state": 128}
    )
    assert result["errors"] == {"safe_state": "safe_state_digital"}
    # another flow takes the pin while this form is open
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data={**PUMP, "gpio": 26}, subentry_type="actuator", title="Other", unique_id="x"
        ),
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], SETTINGS)
    assert result["errors"] == {"gpio": "gpio_in_use"}
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {**SETTINGS, "gpio": "34"}
        )


async def test_reconfigure_actuator(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """New limits reach the device; the entity stays the same."""
    entry = await setup(hass, entry_with(("actuator", "Pump", PUMP)))
    entity_id = entity_of(hass, entry, "Pump")
    (subentry_id,) = entry.subentries
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "actuator"), context={"source": "reconfigure", "subentry_id": subentry_id}
    )
    assert result["step_id"] == "reconfigure"
    assert "26" in result["data_schema"].schema["gpio"].config["options"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**SETTINGS, "gpio": "27", "safe_state": 3}
    )
    assert result["errors"] == {"safe_state": "safe_state_digital"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**SETTINGS, "gpio": "27", "max_runtime_s": 5}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    (actuator,) = pushed_configs(mqtt_mock)[-1]["actuators"]
    assert (actuator["gpio"], actuator["max_runtime_s"]) == (27, 5)
    assert entity_of(hass, entry, "Pump") == entity_id


async def test_refused_pin_is_a_repair(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """An actuator pin the device refuses becomes a repair issue; the switch is unavailable."""
    entry = entry_with(("actuator", "Pump", PUMP))
    await pump_on(hass, entry)
    version = pushed_configs(mqtt_mock)[-1]["version"]
    ack = {
        "v": 1,
        "version": version,
        "ok": False,
        "results": [{"kind": "actuator", "gpio": 26, "ok": False, "error": "gpio_in_use"}],
    }
    async_fire_mqtt_message(hass, f"{BASE}/config/ack", json.dumps(ack), retain=True)
    await hass.async_block_till_done()
    assert hass.states.get(entity_of(hass, entry, "Pump")).state == STATE_UNAVAILABLE
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pin_refused_{entry.entry_id}_actuator_26_")
    assert issue is not None
    assert issue.translation_key == "pin_refused_gpio_in_use"


# --- state, commands, refusals ----------------------------------------------------------


async def test_state_follows_status(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """The switch shows the device's status, never HA's guess; commands go out at QoS 1."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    assert hass.states.get(entity_id).state == STATE_OFF
    await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    (command,) = commands(mqtt_mock, 26)
    assert command["action"] == "on"
    assert command["source"] == "home_assistant"
    assert hass.states.get(entity_id).state == STATE_OFF  # the device has not answered
    status(hass, 26, state=True, value=255, reason="command", cmd_id=command["cmd_id"])
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert (state.state, state.attributes["reason"]) == (STATE_ON, "command")
    await hass.services.async_call("switch", "turn_off", {"entity_id": entity_id}, blocking=True)
    assert commands(mqtt_mock, 26)[-1]["action"] == "off"


async def test_pwm_is_a_light(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A PWM output is a dimmable light; brightness is the duty value."""
    entry = await setup(hass, entry_with(("actuator", "Fan", DIMMER)))
    entity_id = entity_of(hass, entry, "Fan")
    status(hass, 25, state=True, value=128, reason="command")
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert (state.state, state.attributes["brightness"]) == (STATE_ON, 128)
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": entity_id, "brightness": 64}, blocking=True
    )
    assert commands(mqtt_mock, 25)[-1] | {"cmd_id": None} == {
        "v": 1, "action": "set", "value": 64, "cmd_id": None, "source": "home_assistant"
    }  # fmt: skip


async def test_cooldown_refused_by_ha(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """Within the cooldown HA refuses with the limit and the time left; nothing is sent.

    One clock for the whole test (the frozen one, set before the entry is set up): the pump
    runs 10 s (inside its 30 s max runtime), then 15.2 s of its 60 s cooldown pass.
    """
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    logbook = async_capture_events(hass, "logbook_entry")
    status(hass, 26, state=True, value=255, reason="command")
    await hass.async_block_till_done()
    freezer.tick(10)
    status(hass, 26, state=False, value=0, reason="command")
    await hass.async_block_till_done()
    freezer.tick(15.2)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    assert err.value.translation_key == "refused_cooldown"
    assert err.value.translation_placeholders["seconds"] == "45"
    assert message(err.value) == (
        "Pump must stay off for 60 s after it stopped (cooldown). It may run again in 45 s."
    )
    assert commands(mqtt_mock, 26) == []
    assert logbook[-1].data["message"] == "refused a start (cooldown, may run again in 45 s)"


async def test_device_refusal_becomes_error(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A `refused` status answering the command raises the same error."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    with patch("custom_components.automationone.actuator.COMMAND_ANSWER_TIMEOUT", 5):
        call = hass.async_create_task(
            hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
        )
        for _ in range(100):  # let the call run until it has published
            if commands(mqtt_mock, 26):
                break
            await asyncio.sleep(0)
        (command,) = commands(mqtt_mock, 26)
        status(
            hass, 26, reason="boot", refused="rate_limit", until_s=1200.4, cmd_id=command["cmd_id"]
        )
        with pytest.raises(HomeAssistantError) as err:
            await call
    assert err.value.translation_key == "refused_rate_limit"
    assert err.value.translation_placeholders["seconds"] == "1201"
    assert hass.states.get(entity_id).state == STATE_OFF


async def test_refusal_is_a_user_error_and_logs_no_traceback(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused command is a translated ServiceValidationError: the frontend shows it and HA
    logs no "Unexpected exception"; a device HA cannot reach stays a HomeAssistantError."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    await hass.services.async_call(DOMAIN, "emergency_stop", {}, blocking=True)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    assert err.value.translation_key == "refused_emergency"
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "call_service", "domain": "switch", "service": "turn_on",
         "service_data": {"entity_id": entity_id}}
    )  # fmt: skip
    answer = await client.receive_json()
    assert answer["error"]["code"] == "service_validation_error"
    assert answer["error"]["translation_key"] == "refused_emergency"
    assert "Unexpected exception" not in caplog.text
    await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.actuators[next(iter(entry.subentries))].async_command("on")
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "device_unavailable"


async def test_device_stop_fires_event_and_logbook(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A stop the device made (max_runtime) fires the event; every change is in the logbook."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    stopped = async_capture_events(hass, EVENT_ACTUATOR_STOPPED)
    logbook = async_capture_events(hass, "logbook_entry")
    status(hass, 26, state=True, value=255, reason="command")
    await hass.async_block_till_done()
    status(hass, 26, state=False, value=0, reason="max_runtime")
    await hass.async_block_till_done()
    device_id = er.async_get(hass).async_get(entity_id).device_id
    assert [e.data for e in stopped] == [
        {"device_id": device_id, "entity_id": entity_id, "reason": "max_runtime"}
    ]
    assert [(e.data["message"], e.data["entity_id"]) for e in logbook] == [
        ("started (command)", entity_id),
        ("stopped (max_runtime)", entity_id),
    ]
    status(hass, 26, state=True, value=255, reason="command")
    status(hass, 26, state=False, value=0, reason="command")
    await hass.async_block_till_done()
    assert len(stopped) == 1  # a commanded stop is no device stop
    assert len(logbook) == 4


async def test_device_stop_event_without_an_enabled_entity(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The channel fires the event and writes the logbook: a disabled switch does not break
    the `actuator_stopped` device trigger."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    registry = er.async_get(hass)
    registry.async_update_entity(entity_id, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id) is None
    stopped = async_capture_events(hass, EVENT_ACTUATOR_STOPPED)
    logbook = async_capture_events(hass, "logbook_entry")
    status(hass, 26, state=False, value=0, reason="boot")
    status(hass, 26, state=True, value=255, reason="command")
    status(hass, 26, state=False, value=0, reason="failsafe")
    await hass.async_block_till_done()
    device_id = registry.async_get(entity_id).device_id
    assert [e.data for e in stopped] == [
        {"device_id": device_id, "entity_id": entity_id, "reason": "failsafe"}
    ]
    assert [e.data["message"] for e in logbook] == ["started (command)", "stopped (failsafe)"]


# --- services ---------------------------------------------------------------------------


async def test_pulse_service(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """`pulse` sends the duration to the device, which turns it off by itself."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    await hass.services.async_call(
        DOMAIN, "pulse", {"entity_id": entity_id, "duration": 2.5}, blocking=True
    )
    command = commands(mqtt_mock, 26)[-1]
    assert (command["action"], command["duration_s"]) == ("pulse", 2.5)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "pulse", {"entity_id": "sensor.greenhouse_1_wifi_signal", "duration": 1},
            blocking=True,
        )  # fmt: skip


async def test_emergency_stop_and_clear(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """The broadcast is retained per kaiser; commands are refused until cleared."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    await hass.services.async_call(DOMAIN, "emergency_stop", {"reason": "leak"}, blocking=True)
    stop = mqtt_mock.async_publish.call_args_list[-1]
    assert stop.args[0] == "kaiser/god/broadcast/emergency"
    assert stop.args[2:] == (1, True)
    assert json.loads(stop.args[1])["action"] == "stop"
    assert json.loads(stop.args[1])["reason"] == "leak"
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    assert err.value.translation_key == "refused_emergency"
    await hass.services.async_call("switch", "turn_off", {"entity_id": entity_id}, blocking=True)
    await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
    clear = mqtt_mock.async_publish.call_args_list[-1]
    assert (clear.args[0], json.loads(clear.args[1])["action"]) == (
        "kaiser/god/broadcast/emergency",
        "clear",
    )
    assert hass.states.get("binary_sensor.greenhouse_1_emergency_stop").state == STATE_OFF
    await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    assert commands(mqtt_mock, 26)[-1]["action"] == "on"


async def test_emergency_broadcast_from_elsewhere(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A retained stop on the broker (another HA, a wall button) holds the actuators too."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    async_fire_mqtt_message(
        hass, "kaiser/god/broadcast/emergency", '{"v": 1, "action": "stop"}', retain=True
    )
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)


async def test_a_moved_device_follows_its_new_kaisers_emergency(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The stop that holds is the broadcast of the kaiser the device announces under: moved
    behind a stopped relay HA refuses at once (as the device does), moved back it does not."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    sensor = "binary_sensor.greenhouse_1_emergency_stop"
    async_fire_mqtt_message(
        hass, "kaiser/gh1/broadcast/emergency", '{"v": 1, "action": "stop"}', retain=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_OFF  # another kaiser's stop
    relay_base = f"kaiser/gh1/esp/{ESP_ID}"
    # Live publications (a broker sets the retain flag only for a new subscription).
    async_fire_mqtt_message(hass, f"{relay_base}/announce", announce(kaiser_id="gh1"))
    async_fire_mqtt_message(hass, f"{relay_base}/status", "online")
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_ON
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce())
    async_fire_mqtt_message(hass, f"{BASE}/status", "online")
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_OFF
    await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    assert commands(mqtt_mock, 26)[-1]["action"] == "on"


async def test_emergency_buttons_stop_and_clear_this_device_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The device page's buttons publish this device's own retained stop and clear (not the
    kaiser's broadcast); the emergency sensor shows either stop, each cleared on its own."""
    entry = entry_with(("actuator", "Pump", PUMP))
    entity_id = await pump_on(hass, entry)
    sensor = "binary_sensor.greenhouse_1_emergency_stop"
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.greenhouse_1_emergency_stop"}, blocking=True
    )
    stop = last_publish(mqtt_mock, f"{BASE}/emergency")
    assert stop.args[2:] == (1, True)
    assert json.loads(stop.args[1])["action"] == "stop"
    assert hass.states.get(sensor).state == STATE_ON
    assert hass.states.get(sensor).attributes["device_stop"] is True
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call("switch", "turn_on", {"entity_id": entity_id}, blocking=True)
    await hass.services.async_call(DOMAIN, "emergency_stop", {}, blocking=True)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.greenhouse_1_clear_emergency_stop"}, blocking=True
    )
    clear = last_publish(mqtt_mock, f"{BASE}/emergency")
    assert json.loads(clear.args[1])["action"] == "clear"
    state = hass.states.get(sensor)
    assert (state.state, state.attributes["house_stop"]) == (STATE_ON, True)  # still held
    await hass.services.async_call(DOMAIN, "clear_emergency", {}, blocking=True)
    assert hass.states.get(sensor).state == STATE_OFF
    # Another client's retained stop on the device's topic holds it too, also after a reload
    # (the broker sends a retained message once; the hub remembers it).
    async_fire_mqtt_message(hass, f"{BASE}/emergency", '{"v": 1, "action": "stop"}')
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_ON
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == STATE_ON


async def test_emergency_services_for_chosen_devices(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """`device_id` turns the services into a stop / clear of those devices alone."""
    entry = await setup(hass, mock_entry(kaiser_id="relay1"))
    (device,) = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, MAC) in d.identifiers
    ]
    await hass.services.async_call(
        DOMAIN, "emergency_stop", {"device_id": device.id, "reason": "leak"}, blocking=True
    )
    stop = last_publish(mqtt_mock, "kaiser/relay1/esp/esp-a1b2c3/emergency")
    assert json.loads(stop.args[1])["reason"] == "leak"
    await hass.services.async_call(
        DOMAIN, "clear_emergency", {"device_id": [device.id]}, blocking=True
    )
    clear = last_publish(mqtt_mock, "kaiser/relay1/esp/esp-a1b2c3/emergency")
    assert json.loads(clear.args[1])["action"] == "clear"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "emergency_stop", {"device_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "not_a_device"


# --- runtime tracking -------------------------------------------------------------------


async def test_counters_add_deltas_and_survive_resets(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Totals add the device's increases; a counter going down is a device reboot."""
    entry = entry_with(("actuator", "Pump", PUMP))
    await pump_on(hass, entry)
    runtime = entity_of(hass, entry, "Pump", "runtime")
    activations = entity_of(hass, entry, "Pump", "activations")
    status(hass, 26, state=True, value=255, reason="command", runtime_s=0, activations=1)
    status(hass, 26, state=False, value=0, reason="command", runtime_s=12.5, activations=1)
    await hass.async_block_till_done()
    assert float(hass.states.get(runtime).state) == pytest.approx(12.5 / 3600)  # hours
    assert hass.states.get(runtime).attributes["state_class"] == "total_increasing"
    assert hass.states.get(runtime).attributes["device_class"] == "duration"
    assert hass.states.get(activations).state == "1"
    status(hass, 26, state=False, value=0, reason="boot", runtime_s=0, activations=0)
    status(hass, 26, state=True, value=255, reason="command", runtime_s=0, activations=1)
    status(hass, 26, state=False, value=0, reason="command", runtime_s=3, activations=1)
    await hass.async_block_till_done()
    assert float(hass.states.get(runtime).state) == pytest.approx(15.5 / 3600)
    assert hass.states.get(activations).state == "2"


async def test_counters_restored(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """After an HA restart the totals continue; the retained status is not counted twice."""
    entry = entry_with(("actuator", "Pump", PUMP))
    (subentry_id,) = entry.subentries
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.greenhouse_1_pump_runtime", "100.0"),
                {"native_value": 100.0, "native_unit_of_measurement": "s", "device_value": 12.5},
            ),
            (
                State("sensor.greenhouse_1_pump_activations", "7"),
                {"native_value": 7, "native_unit_of_measurement": None, "device_value": 1},
            ),
        ],
    )
    registry = er.async_get(hass)
    entry.add_to_hass(hass)
    for key in ("runtime", "activations"):
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{MAC}-{subentry_id}-{key}",
            suggested_object_id=f"greenhouse_1_pump_{key}",
            config_entry=entry,
            config_subentry_id=subentry_id,
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    runtime = entity_of(hass, entry, "Pump", "runtime")
    assert runtime == "sensor.greenhouse_1_pump_runtime"
    assert hass.states.get(runtime).state == "100.0"  # registered before: seconds
    # the retained status the restore already counted
    status(hass, 26, state=False, value=0, reason="command", runtime_s=12.5, activations=1)
    status(hass, 26, state=True, value=255, reason="command", runtime_s=12.5, activations=2)
    await hass.async_block_till_done()
    assert hass.states.get(runtime).state == "100.0"  # registered before: seconds
    assert hass.states.get(entity_of(hass, entry, "Pump", "activations")).state == "8"


async def test_remove_clears_actuator_statuses(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Removing the device also clears the retained statuses of its actuators."""
    entry = entry_with(("actuator", "Pump", PUMP), ("actuator", "Fan", DIMMER))
    await pump_on(hass, entry)
    mqtt_mock.async_publish.reset_mock()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    cleared = [
        c.args[0] for c in mqtt_mock.async_publish.call_args_list if c.args[1:] == (b"", 1, True)
    ]
    assert cleared[-2:] == [f"{BASE}/actuator/25/status", f"{BASE}/actuator/26/status"]


async def test_diagnostics_show_actuators(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics carry each actuator's limits and the device's last status."""
    entry = entry_with(("actuator", "Pump", PUMP))
    await pump_on(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    pump = diagnostics["actuators"]["Pump"]
    assert (pump["config"]["max_runtime_s"], pump["status"]["reason"]) == (30, "boot")
    assert diagnostics["device"]["emergency"] is False
