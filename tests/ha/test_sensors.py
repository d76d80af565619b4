"""Sensors from the UI: subentry flows, processing, staleness, thresholds, acks, calibration."""

from __future__ import annotations

import ast
import copy
from datetime import timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir, selector
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.diagnostics import async_get_config_entry_diagnostics
from custom_components.automationone.processors import (
    CalibrationPoint,
    calibration_degree,
    count_to_mv,
    new_calibration,
)
from simulator.signals import sht31_words

from .common import BASE, MAC, announce, mock_entry

PH_DATA = {
    "sensor_type": "ph",
    "gpio": 34,
    "interval_s": 10,
    "mode": "raw",
    "echo_processed": False,
    "params": {},
}


def entry_with(*sensors: tuple[str, dict[str, Any]]) -> MockConfigEntry:
    """The test device's entry with sensor subentries (title, data)."""
    entry = mock_entry()
    subentries: list[ConfigSubentryData] = [
        ConfigSubentryData(
            data=data,
            subentry_type="sensor",
            title=title,
            unique_id=f"{data['gpio']}:{data.get('addr', '')}",
        )
        for title, data in sensors
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=entry.unique_id,
        data=entry.data,
        subentries_data=subentries,
    )


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Set up an entry and bring its device online."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    await hass.async_block_till_done()
    return entry


def entity(
    hass: HomeAssistant, entry: MockConfigEntry, title: str, platform: str = "sensor"
) -> str:
    """Entity id of the sensor entity of the subentry with `title`."""
    subentry_id = next(s for s, sub in entry.subentries.items() if sub.title == title)
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{MAC}-{subentry_id}")
    assert entity_id is not None
    return entity_id


def reading(hass: HomeAssistant, gpio: int, raw: Any, seq: int, **extra: Any) -> None:
    """A raw reading from the device."""
    payload = {"v": 1, "seq": seq, **({} if raw is None else {"raw": raw}), **extra}
    async_fire_mqtt_message(hass, f"{BASE}/sensor/{gpio}/data", json.dumps(payload))


def pushed_configs(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    """Configs HA published to the device, oldest first."""
    return [
        json.loads(c.args[1])
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{BASE}/config" and c.args[1]
    ]


async def test_add_sensor_flow(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Type, then pin: only valid, free pins are offered; the device gets the new config."""
    entry = await setup(hass, mock_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ph", "name": "Tank pH"}
    )
    assert result["step_id"] == "settings"
    options = result["data_schema"].schema["gpio"].config["options"]
    assert "34" in options  # ADC1, input only: fine for a probe
    assert "6" not in options  # flash
    assert "4" not in options  # ADC2: unusable while WiFi is on
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gpio": "34", "interval_s": 5, "mode": "raw", "echo_processed": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    assert subentry.title == "Tank pH"
    assert subentry.data["gpio"] == 34
    config = pushed_configs(mqtt_mock)[-1]
    assert config["sensors"] == [{"gpio": 34, "type": "ph", "interval_ms": 5000}]
    assert config["version"] == pushed_configs(mqtt_mock)[0]["version"] + 1


async def test_text_parameter_is_a_text_field(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A processor's text parameter (the linear type's unit) is a text field, stored as text."""
    entry = await setup(hass, mock_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "linear", "name": "Level"}
    )
    field = result["data_schema"].schema["param_unit"]
    assert isinstance(field, selector.TextSelector)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"gpio": "34", "interval_s": 5, "mode": "raw", "echo_processed": False, "param_unit": "cm"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.data["params"]["unit"] == "cm"
    await hass.async_block_till_done()  # the entry reloads with the new sensor


async def test_pin_in_use_is_not_offered(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A pin held by another sensor is neither offered nor accepted."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "soil_moisture"}
    )
    assert "34" not in result["data_schema"].schema["gpio"].config["options"]
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"gpio": "34", "interval_s": 5, "mode": "raw", "echo_processed": False},
        )


@pytest.mark.parametrize(
    ("extra", "field", "error"),
    [
        ({"warning_low": 8.0, "warning_high": 6.0}, "warning_high", "band_empty"),
        ({"critical_low": 5.0, "critical_high": 5.0}, "critical_high", "band_empty"),
    ],
)
async def test_settings_errors(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, extra: dict, field: str, error: str
) -> None:
    """Bad settings are form errors on the field."""
    entry = await setup(hass, mock_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ph"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"gpio": "34", "interval_s": 5, "mode": "raw", "echo_processed": False, **extra},
    )
    assert result["errors"] == {field: error}


async def test_two_ds18b20_on_one_bus(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Several DS18B20 share a OneWire pin by ROM code; the same ROM twice is refused."""
    ds = {**PH_DATA, "sensor_type": "ds18b20", "gpio": 4, "addr": "28ff641e8216c3a1"}
    entry = await setup(hass, entry_with(("Water", ds)))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ds18b20", "name": "Air"}
    )
    assert "4" in result["data_schema"].schema["gpio"].config["options"]
    form = {"gpio": "4", "interval_s": 5, "mode": "raw", "echo_processed": False}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "addr": "28ff641e8216c3a1"}
    )
    assert result["errors"] == {"addr": "addr_in_use"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "addr": "28FF"}
    )
    assert result["errors"] == {"addr": "invalid_addr"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "addr": "28aa000000000001"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the entry reloads with the new sensor


async def test_processed_state_quality_and_raw(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A raw reading becomes the physical value with quality and raw attributes."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    assert hass.states.get(ph).state == STATE_UNAVAILABLE  # no reading yet
    reading(hass, 34, 1800, seq=1)
    await hass.async_block_till_done()
    state = hass.states.get(ph)
    assert 0 < float(state.state) < 14
    assert state.attributes["device_class"] == "ph"
    assert "unit_of_measurement" not in state.attributes  # HA: the pH class has no unit
    assert state.attributes["quality"] == "uncalibrated"
    assert state.attributes["raw"] == 1800


@pytest.mark.parametrize(
    ("device_quality", "shown"),
    [("good", "uncalibrated"), ("suspect", "suspect"), ("stale", "stale"), ("bad", "bad")],
)
async def test_device_quality_of_a_raw_reading_is_kept(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, device_quality: str, shown: str
) -> None:
    """A raw reading shows the worse of the device's quality and the processor's."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    reading(hass, 34, 3000, seq=1, quality=device_quality)
    await hass.async_block_till_done()
    assert hass.states.get(ph).attributes["quality"] == shown


@pytest.mark.parametrize(
    ("mode", "payload", "path"),
    [
        ("raw", {"value": 99, "unit": "pH"}, "value"),
        ("processed", {"raw": 3000}, "raw"),
    ],
    ids=["value-on-raw-sensor", "raw-on-processed-sensor"],
)
async def test_reading_in_the_wrong_mode_is_rejected(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mode: str,
    payload: dict[str, Any],
    path: str,
) -> None:
    """A reading that does not match the sensor's mode is dropped with mode_mismatch."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA | {"mode": mode})))
    ph = entity(hass, entry, "Tank pH")
    async_fire_mqtt_message(
        hass, f"{BASE}/sensor/34/data", json.dumps({"v": 1, "seq": 1} | payload)
    )
    await hass.async_block_till_done()
    assert hass.states.get(ph).state == STATE_UNAVAILABLE
    device = entry.runtime_data.device
    assert device.rejected == {"mode_mismatch": 1}
    assert device.last_error == (
        f"sensor/data: mode_mismatch at '{path}': Tank pH (GPIO 34) is set to send "
        + ("raw" if mode == "raw" else "value")
    )


async def test_processed_reading_on_a_processed_sensor(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The device's value, unit and quality are shown as sent."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA | {"mode": "processed"})))
    ph = entity(hass, entry, "Tank pH")
    async_fire_mqtt_message(
        hass,
        f"{BASE}/sensor/34/data",
        json.dumps({"v": 1, "seq": 1, "value": 6.5, "unit": "pH", "quality": "suspect"}),
    )
    await hass.async_block_till_done()
    state = hass.states.get(ph)
    assert (state.state, state.attributes["quality"]) == ("6.5", "suspect")
    assert not entry.runtime_data.device.rejected


async def test_duplicates_and_replays(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A redelivered message counts once; replayed history never moves the live state."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    reading(hass, 34, 1800, seq=5)
    await hass.async_block_till_done()
    value = hass.states.get(ph).state
    reading(hass, 34, 2500, seq=5)  # same seq: a QoS 1 redelivery
    reading(hass, 34, 2500, seq=3, replay=True)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state == value
    reading(hass, 34, 2500, seq=6)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state != value


async def test_a_late_live_reading_is_history(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """docs/protocol.md "Late readings": a reading sent as live whose `ts` is older than the
    device's usual delay by more than 5 s (a bridge delivering an outage late) does not move
    the live state; it is counted in diagnostics. The next reading on time does."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    now_ms = int(dt_util.utcnow().timestamp() * 1000)
    reading(hass, 34, 1800, seq=1, ts=now_ms - 40)
    await hass.async_block_till_done()
    on_time = hass.states.get(ph).state
    freezer.tick(timedelta(seconds=2))
    reading(hass, 34, 2500, seq=2, ts=now_ms + 2000 - 60_000)  # a minute old
    await hass.async_block_till_done()
    assert hass.states.get(ph).state == on_time
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["device"]["late_readings"] == 1
    reading(hass, 34, 2500, seq=3, ts=now_ms + 2000 - 30)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state != on_time


async def test_stale_sensor_goes_unavailable(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """No reading for three intervals: unavailable; the next reading brings it back."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    reading(hass, 34, 1800, seq=1)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state != STATE_UNAVAILABLE
    freezer.tick(timedelta(seconds=25))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state != STATE_UNAVAILABLE
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state == STATE_UNAVAILABLE
    reading(hass, 34, 1800, seq=2)
    await hass.async_block_till_done()
    assert hass.states.get(ph).state != STATE_UNAVAILABLE


async def test_threshold_sensors(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Warning and critical bands become problem binary sensors."""
    data = {
        **PH_DATA,
        "sensor_type": "linear",
        "params": {"scale": 0.01, "offset": 0.0, "unit": "cm"},
        "warning_low": 10.0,
        "critical_low": 5.0,
    }
    entry = await setup(hass, entry_with(("Level", data)))
    registry = er.async_get(hass)
    warning = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{MAC}-{next(iter(entry.subentries))}-warning"
    )
    critical = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{MAC}-{next(iter(entry.subentries))}-critical"
    )
    assert warning is not None
    assert critical is not None
    reading(hass, 34, 2000, seq=1)  # 20 cm
    await hass.async_block_till_done()
    assert (hass.states.get(warning).state, hass.states.get(critical).state) == (
        STATE_OFF,
        STATE_OFF,
    )
    reading(hass, 34, 800, seq=2)  # 8 cm
    await hass.async_block_till_done()
    assert (hass.states.get(warning).state, hass.states.get(critical).state) == (
        STATE_ON,
        STATE_OFF,
    )
    reading(hass, 34, 300, seq=3)  # 3 cm
    await hass.async_block_till_done()
    assert (hass.states.get(warning).state, hass.states.get(critical).state) == (STATE_ON, STATE_ON)


async def test_refused_pin_becomes_repair_and_unavailable(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A config/ack refusal: repair issue, sensor unavailable; accepted again: both cleared."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    version = pushed_configs(mqtt_mock)[-1]["version"]
    reading(hass, 34, 1800, seq=1)
    ack = {
        "v": 1,
        "version": version,
        "ok": False,
        "results": [{"kind": "sensor", "gpio": 34, "ok": False, "error": "bus_error"}],
    }
    async_fire_mqtt_message(hass, f"{BASE}/config/ack", json.dumps(ack))
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"pin_refused_{entry.entry_id}_sensor_34_")
    assert issue is not None
    assert issue.translation_key == "pin_refused_bus_error"
    assert hass.states.get(ph).state == STATE_UNAVAILABLE
    ack["ok"] = True
    ack["results"] = [{"kind": "sensor", "gpio": 34, "ok": True}]
    async_fire_mqtt_message(hass, f"{BASE}/config/ack", json.dumps(ack))
    reading(hass, 34, 1800, seq=2)
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"pin_refused_{entry.entry_id}_sensor_34_")
        is None
    )
    assert hass.states.get(ph).state != STATE_UNAVAILABLE


async def test_ack_of_old_version_is_ignored(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """An ack for a config HA no longer wants does not mark pins refused."""
    await setup(hass, entry_with(("Tank pH", PH_DATA)))
    version = pushed_configs(mqtt_mock)[-1]["version"]
    ack = {
        "v": 1,
        "version": version - 1,
        "ok": False,
        "results": [{"kind": "sensor", "gpio": 34, "ok": False, "error": "gpio_in_use"}],
    }
    async_fire_mqtt_message(hass, f"{BASE}/config/ack", json.dumps(ack))
    await hass.async_block_till_done()
    assert not [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]


async def test_echo_processed(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """With echo on, the processed value goes back to the device."""
    entry = await setup(hass, entry_with(("Tank pH", {**PH_DATA, "echo_processed": True})))
    del entry
    reading(hass, 34, 1800, seq=9)
    await hass.async_block_till_done()
    (echo,) = [
        c
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{BASE}/sensor/34/processed"
    ]
    payload = json.loads(echo.args[1])
    assert (payload["seq"], payload["unit"], payload["quality"]) == (9, "pH", "uncalibrated")


async def test_calibration_dialog(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Buffer 7, capture; buffer 4, capture; save: stored with date; readings become good."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    (subentry_id,) = entry.subentries
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "reconfigure", "subentry_id": subentry_id}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "calibrate"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"reference": 7.0}
    )
    assert result["errors"] == {"base": "no_reading"}
    reading(hass, 34, 1750, seq=1)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"reference": 7.0}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "calibrate"}
    )
    reading(hass, 34, 1752, seq=2)  # the probe was not moved into the next buffer
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"reference": 4.0}
    )
    assert result["errors"] == {"base": "points_too_close"}
    reading(hass, 34, 2300, seq=3)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"reference": 4.0}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "calibrate_save"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    calibration = entry.subentries[subentry_id].data["calibration"]
    assert [p[1] for p in calibration["points"]] == [7.0, 4.0]
    assert calibration["created"]
    ph = entity(hass, entry, "Tank pH")
    reading(hass, 34, 1750, seq=4)
    await hass.async_block_till_done()
    state = hass.states.get(ph)
    assert state.attributes["quality"] == "good"
    assert float(state.state) == pytest.approx(7.0, abs=0.05)


async def test_calibrate_service(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Scripts calibrate with explicit points; bad targets are clear errors."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    ph = entity(hass, entry, "Tank pH")
    response = await hass.services.async_call(
        DOMAIN,
        "calibrate",
        {"entity_id": ph, "points": [[1750, 7.0], [2300, 4.0]], "temperature": 25},
        blocking=True,
        return_response=True,
    )
    assert response["calibration"]["points"] == [[1750.0, 7.0], [2300.0, 4.0]]
    await hass.async_block_till_done()
    reading(hass, 34, 2300, seq=1)
    await hass.async_block_till_done()
    assert float(hass.states.get(ph).state) == pytest.approx(4.0, abs=0.05)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "calibrate",
            {"entity_id": ph, "points": [[1750, 7.0], [1751, 4.0]]},
            blocking=True,
        )
    assert err.value.translation_key == "calibration_points_too_close"
    with pytest.raises(ServiceValidationError, match="not a sensor of an AutomationOne device"):
        await hass.services.async_call(
            DOMAIN, "calibrate", {"entity_id": "sensor.other", "reference": 7.0}, blocking=True
        )


async def test_calibration_updates_the_channel_in_place(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Saving a calibration reloads nothing: the device's other sensors stay available, their
    filters keep their state, and the next reading uses the new calibration."""
    entry = await setup(
        hass,
        entry_with(
            ("Tank pH", {**PH_DATA, "filter": "median"}), ("Sump pH", {**PH_DATA, "gpio": 35})
        ),
    )
    tank, sump = entity(hass, entry, "Tank pH"), entity(hass, entry, "Sump pH")
    for seq, raw in enumerate((2300, 2300, 1750), start=1):
        reading(hass, 34, raw, seq=seq)
        reading(hass, 35, raw, seq=seq)
    await hass.async_block_till_done()
    data = entry.runtime_data
    tank_channel, sump_channel = data.channels.values()
    window = tank_channel.filter
    assert window is not None
    twin = copy.deepcopy(window)
    changes = async_capture_events(hass, "state_changed")
    await hass.services.async_call(
        DOMAIN,
        "calibrate",
        {"entity_id": sump, "points": [[1750, 7.0], [2300, 4.0]], "temperature": 25},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is data  # not reloaded
    assert tank_channel.filter is window
    assert sump_channel.calibration is not None
    assert [
        e.data["entity_id"] for e in changes if e.data["new_state"].state == "unavailable"
    ] == []
    assert window.update(1750.0) == twin.update(1750.0)  # the window kept its values
    reading(hass, 35, 1750, seq=4)
    await hass.async_block_till_done()
    assert float(hass.states.get(sump).state) == pytest.approx(7.0, abs=0.05)
    assert hass.states.get(tank).state != STATE_UNAVAILABLE
    pushed = len(pushed_configs(mqtt_mock))
    await hass.services.async_call(
        DOMAIN, "calibrate", {"entity_id": sump, "clear": True}, blocking=True
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is data
    assert sump_channel.calibration is None
    assert len(pushed_configs(mqtt_mock)) == pushed  # the device's config did not change


def test_one_degree_rule() -> None:
    """The dialog and the service store the degree `calibration_degree` gives; neither has a
    rule of its own."""
    assert [calibration_degree(n) for n in range(1, 6)] == [1, 1, 2, 2, 2]
    points = [CalibrationPoint(raw=float(r), reference=r / 100) for r in (300, 100, 200)]
    made = new_calibration(points, temperature_c=None, created=None)
    assert ([p.raw for p in made.points], made.degree) == ([100.0, 200.0, 300.0], 2)
    code = Path(__file__).parents[2] / "custom_components/automationone"
    for name in ("subentry_flow.py", "services.py"):
        tree = ast.parse((code / name).read_text(encoding="utf-8"))
        keywords = [k.arg for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords]
        assert "degree" not in keywords, name


async def test_temperature_compensation_converts_the_source_unit(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """95 °F compensates as 35 °C; an unavailable or stale source compensates nothing, and the
    reading says so (quality suspect, `temperature_compensation` names the problem)."""
    fahrenheit = {"unit_of_measurement": "°F", "device_class": "temperature"}
    celsius = {"unit_of_measurement": "°C", "device_class": "temperature"}
    hass.states.async_set("sensor.water_f", "95", fahrenheit)
    hass.states.async_set("sensor.water_c", "35", celsius)
    hass.states.async_set("sensor.hot_c", "95", celsius)
    entry = await setup(
        hass,
        entry_with(
            ("F", {**PH_DATA, "gpio": 34, "temperature_entity": "sensor.water_f"}),
            ("C", {**PH_DATA, "gpio": 35, "temperature_entity": "sensor.water_c"}),
            ("Hot", {**PH_DATA, "gpio": 36, "temperature_entity": "sensor.hot_c"}),
            ("None", {**PH_DATA, "gpio": 39}),
        ),
    )
    for seq, gpio in enumerate((34, 35, 36, 39), start=1):
        reading(hass, gpio, 2600, seq=seq)
    await hass.async_block_till_done()
    f, c, hot, plain = (hass.states.get(entity(hass, entry, t)) for t in ("F", "C", "Hot", "None"))
    assert float(f.state) == pytest.approx(float(c.state), abs=1e-6)
    assert abs(float(hot.state) - float(c.state)) > 0.1  # compensation matters at this reading
    assert (f.attributes["quality"], f.attributes["temperature_compensation"]) == (
        "uncalibrated",
        "applied",
    )
    assert "temperature_compensation" not in plain.attributes

    hass.states.async_set("sensor.water_f", "unavailable", fahrenheit)
    reading(hass, 34, 2600, seq=5)
    await hass.async_block_till_done()
    f = hass.states.get(entity(hass, entry, "F"))
    assert f.state == plain.state != c.state  # no compensation: the reading is taken at 25 °C
    assert f.attributes["temperature_compensation"] == "unavailable"

    calibrated = {"calibration": {"points": [[1750, 7.0], [2300, 4.0]], "temperature_c": 25}}
    subentry = entry.subentries[next(iter(entry.subentries))]
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **calibrated})
    hass.states.async_set("sensor.water_f", "80", fahrenheit)
    reading(hass, 34, 2600, seq=6)
    await hass.async_block_till_done()
    assert hass.states.get(entity(hass, entry, "F")).attributes["quality"] == "good"
    freezer.tick(timedelta(hours=3))  # the source has said nothing since
    reading(hass, 34, 2600, seq=4)
    await hass.async_block_till_done()
    f = hass.states.get(entity(hass, entry, "F"))
    assert (f.attributes["quality"], f.attributes["temperature_compensation"]) == (
        "suspect",
        "stale",
    )


async def test_compensation_source_must_be_a_temperature(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The selector offers temperature sensors only; the flow refuses anything else sent."""
    hass.states.async_set("sensor.air_humidity", "55", {"unit_of_measurement": "%"})
    entry = await setup(hass, mock_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ph", "name": "Tank pH"}
    )
    field = result["data_schema"].schema["temperature_entity"]
    assert (field.config["domain"], field.config["device_class"]) == (["sensor"], ["temperature"])
    settings = {"gpio": "34", "interval_s": 5, "mode": "raw", "echo_processed": False}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**settings, "temperature_entity": "sensor.air_humidity"}
    )
    assert result["errors"] == {"temperature_entity": "not_temperature"}


async def _add_sht31(
    hass: HomeAssistant, entry: MockConfigEntry, sensor_type: str, name: str, mode: str
) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": sensor_type, "name": name}
    )
    settings = {"gpio": "21", "scl": "22", "addr": "0x44", "interval_s": 5, "mode": mode}
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**settings, "echo_processed": False}
    )


@pytest.mark.parametrize("mode", ["raw", "processed"])
async def test_one_sht31_gives_temperature_and_humidity(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, mode: str
) -> None:
    """Both outputs of one chip are added on the same pins and address; the device reads it
    once (one config entry); each entity shows its own quantity, in both processing modes, with
    its own calibration."""
    entry = await setup(hass, mock_entry())
    for sensor_type, name in (("sht31_temperature", "Air T"), ("sht31_humidity", "Air RH")):
        result = await _add_sht31(hass, entry, sensor_type, name, mode)
        assert result["type"] is FlowResultType.CREATE_ENTRY, result
        await hass.async_block_till_done()
    sensors = pushed_configs(mqtt_mock)[-1]["sensors"]
    assert [(s["gpio"], s["type"], s["addr"]) for s in sensors] == [(21, "sht31", "0x44")]
    temperature, humidity = entity(hass, entry, "Air T"), entity(hass, entry, "Air RH")
    if mode == "raw":
        reading(hass, 21, list(sht31_words(24.5, 61.0)), seq=1, addr="0x44")
    else:  # one reading per quantity; without `quantity` it is the first (temperature)
        reading(hass, 21, None, seq=1, addr="0x44", value=24.5, unit="°C")
        reading(hass, 21, None, seq=2, addr="0x44", value=61.0, unit="%", quantity="humidity")
    await hass.async_block_till_done()
    assert float(hass.states.get(temperature).state) == pytest.approx(24.5, abs=0.01)
    assert float(hass.states.get(humidity).state) == pytest.approx(61.0, abs=0.01)
    if mode == "processed":
        return
    response = await hass.services.async_call(
        DOMAIN,
        "calibrate",
        {"entity_id": humidity, "points": [[61.0, 58.0]]},  # one point: an offset of -3 %
        blocking=True,
        return_response=True,
    )
    assert response["calibration"]["points"] == [[61.0, 58.0]]
    reading(hass, 21, list(sht31_words(24.5, 61.0)), seq=2, addr="0x44")
    await hass.async_block_till_done()
    assert float(hass.states.get(humidity).state) == pytest.approx(58.0, abs=0.01)
    assert float(hass.states.get(temperature).state) == pytest.approx(24.5, abs=0.01)


async def test_broken_plugin_is_a_repair_and_good_one_a_type(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, tmp_path: Path
) -> None:
    """Plug-ins from <config>/automationone/processors: broken → repair, valid → sensor type."""
    hass.config.config_dir = str(tmp_path)
    folder = Path(hass.config.path("automationone", "processors"))
    folder.mkdir(parents=True)
    (folder / "broken.py").write_text("def oops(:\n")
    (folder / "double.py").write_text(
        "from custom_components.automationone.processors import BaseProcessor, Result\n"
        "from custom_components.automationone.protocol import Quality\n"
        "class Double(BaseProcessor):\n"
        "    id = 'double'\n"
        "    name = 'Double'\n"
        "    unit = 'x'\n"
        "    def process(self, raw, *, calibration=None, params=None, temperature_c=None):\n"
        "        return Result(float(raw) * 2, self.unit, Quality.GOOD)\n"
        "PROCESSOR = Double()\n"
    )
    assert await async_setup_component(hass, DOMAIN, {})
    entry = await setup(hass, mock_entry())
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "plugin_broken.py")
    assert issue is not None
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    options = [o["value"] for o in result["data_schema"].schema["sensor_type"].config["options"]]
    assert "double" in options


async def test_median_filter_drops_a_spike(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """With the median filter a single spike does not reach the state."""
    data = {
        **PH_DATA,
        "sensor_type": "linear",
        "params": {"scale": 1.0, "offset": 0.0, "unit": "cm"},
        "filter": "median",
    }
    entry = await setup(hass, entry_with(("Level", data)))
    level = entity(hass, entry, "Level")
    for seq, raw in enumerate([100, 101, 100, 4000, 100], start=1):
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
        assert float(hass.states.get(level).state) < 200


async def test_adc_model_follows_the_announce(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """An ESP32-C3's ADC and an ESP32's curve give different voltages; whichever firmware."""
    entry = await setup(hass, entry_with(("Volts", {**PH_DATA, "sensor_type": "analog"})))
    volts = entity(hass, entry, "Volts")
    reading(hass, 34, 2048, seq=1)
    await hass.async_block_till_done()
    esp32 = float(hass.states.get(volts).state)
    assert esp32 == pytest.approx(count_to_mv(2048, "esp32_11db") / 1000, abs=0.001)
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(fw="simulator"))
    reading(hass, 34, 2048, seq=2)
    await hass.async_block_till_done()
    assert float(hass.states.get(volts).state) == esp32  # a simulated ESP32 reads as one
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(board="seeed_xiao_esp32c3"))
    reading(hass, 34, 2048, seq=3)
    await hass.async_block_till_done()
    c3 = float(hass.states.get(volts).state)
    assert c3 == pytest.approx(2048 / 4095 * 2.5, abs=0.001)


async def test_processed_on_device_pushes_proc(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A pH sensor processed on the device gets its proc, compensated by the DS18B20 there."""
    ph = {**PH_DATA, "mode": "processed", "temperature_entity": "sensor.water"}
    water = {
        "sensor_type": "ds18b20",
        "gpio": 4,
        "interval_s": 10,
        "mode": "processed",
        "echo_processed": False,
        "params": {},
    }
    await setup(hass, entry_with(("Tank pH", ph), ("Water", water)))
    sensors = {s["gpio"]: s for s in pushed_configs(mqtt_mock)[-1]["sensors"]}
    proc = sensors[34]["proc"]
    assert (proc["kind"], proc["adc"], proc["temp"], proc["unit"]) == ("ph", "esp32_11db", 4, "pH")
    assert proc["cal"] is False  # no calibration yet: the device sends `uncalibrated`
    assert proc["k"] == [298.15, 1500.0, -177.5]  # 25 °C, neutral mV and slope defaults
    assert "proc" not in sensors[4]  # the DS18B20 driver decodes °C itself
