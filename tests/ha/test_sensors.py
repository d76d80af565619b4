"""Sensors from the UI: subentry flows, processing, staleness, thresholds, acks, calibration."""

from __future__ import annotations

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
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

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
    payload = {"v": 1, "seq": seq, "raw": raw, **extra}
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
    """The simulator's ideal ADC and a real ESP32's curve give different voltages."""
    entry = await setup(hass, entry_with(("Volts", {**PH_DATA, "sensor_type": "analog"})))
    volts = entity(hass, entry, "Volts")
    reading(hass, 34, 2048, seq=1)
    await hass.async_block_till_done()
    esp32 = float(hass.states.get(volts).state)
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(fw="simulator"))
    reading(hass, 34, 2048, seq=2)
    await hass.async_block_till_done()
    ideal = float(hass.states.get(volts).state)
    assert ideal == pytest.approx(2048 / 4095 * 3.3, abs=0.01)
    assert esp32 != pytest.approx(ideal, abs=0.01)


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
