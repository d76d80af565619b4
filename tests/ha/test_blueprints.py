"""Shipped blueprints: they load, setup installs them, and each one drives a real actuator.

The automations are made with `use_blueprint` from the installed copies, sensors are real
entities of the integration or plain states, and the assertions are on the commands the
integration publishes for the actuator (a simulated device answers them with its status).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import BASE, registered_device
from .test_actuators import FREE_PUMP, entity_of, entry_with
from .test_device_trigger import LEVEL
from .test_sensors import entity, reading, setup

SHIPPED = Path(__file__).parents[2] / "custom_components/automationone/blueprints/automation"
NAMES = {
    "threshold_hysteresis.yaml",
    "ph_dosing_pulse.yaml",
    "irrigation_soil_moisture.yaml",
    "actuator_off_when_offline.yaml",
    "recommendation_notify.yaml",
}
# Blueprints that wait for an answer per run: each recommendation gets its own run.
PARALLEL = {"recommendation_notify.yaml"}
OTHER_MAC, OTHER_ID = "24:0a:c4:d4:e5:f6", "esp-d4e5f6"

pytestmark = pytest.mark.usefixtures("short_answer_wait")


@pytest.fixture
def answer_wait_s() -> float:
    """A command does not wait for the device's answer (the frozen clock would never end it)."""
    return 0


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A fresh config dir per test (the shared testing_config would carry earlier copies)."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


class Device:
    """The ESP side of one actuator: records HA's commands and reports the new state."""

    def __init__(self, hass: HomeAssistant, mqtt_mock: MqttMockHAClient, gpio: int, base: str):
        self.hass, self.mqtt_mock, self.gpio, self.base = hass, mqtt_mock, gpio, base
        self.seen = 0

    def status(self, state: bool, reason: str = "command", **extra: Any) -> None:
        """Publish the actuator status."""
        payload = {"v": 1, "state": state, "value": 255 if state else 0, "reason": reason}
        topic = f"{self.base}/actuator/{self.gpio}/status"
        async_fire_mqtt_message(self.hass, topic, json.dumps(payload | extra))

    async def answer(self, running: bool = False) -> list[dict[str, Any]]:
        """The commands since the last call, each answered like the firmware does.

        `running`: an automation run is still waiting (block_till_done would wait for it).
        """
        await self.settle(running)
        topic = f"{self.base}/actuator/{self.gpio}/command"
        sent = [
            json.loads(c.args[1])
            for c in self.mqtt_mock.async_publish.call_args_list
            if c.args[0] == topic
        ]
        new, self.seen = sent[self.seen :], len(sent)
        for command in new:
            self.status(command["action"] in ("on", "pulse"), cmd_id=command["cmd_id"])
        await self.settle(running)
        return new

    async def settle(self, running: bool) -> None:
        """Let HA process what was sent."""
        if not running:
            await self.hass.async_block_till_done()
            return
        for _ in range(100):
            await asyncio.sleep(0)


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> str:
    """Set up one automation from an installed blueprint; its entity id."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": name,
                "alias": name,
                "use_blueprint": {"path": f"{DOMAIN}/{name}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    (entity_id,) = hass.states.async_entity_ids(automation.DOMAIN)
    assert hass.states.get(entity_id).state == STATE_ON  # a broken config leaves it off
    return entity_id


async def pump_device(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entry: MockConfigEntry
) -> tuple[str, Device]:
    """Set up `entry` (online) with its pump reported off; the pump and its device."""
    await setup(hass, entry)
    device = Device(hass, mqtt_mock, 26, BASE)
    device.status(False, reason="boot")
    await hass.async_block_till_done()
    return entity_of(hass, entry, "Pump"), device


async def stop(hass: HomeAssistant, automation_id: str) -> None:
    """Turn the automation off: detaches its minute timer, which would outlive the test."""
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {"entity_id": automation_id}, blocking=True
    )


def at_local(hour: int, minute: int = 0) -> datetime:
    """A fixed local time of the test's time zone."""
    return datetime(2026, 6, 1, hour, minute, tzinfo=dt_util.get_default_time_zone())


# --- the files and their installation ----------------------------------------------------


def test_shipped_blueprints_are_valid() -> None:
    """Each file passes HA's automation blueprint schema; inputs are described and filtered."""
    assert {p.name for p in SHIPPED.glob("*.yaml")} == NAMES
    for path in SHIPPED.glob("*.yaml"):
        data = yaml_util.load_yaml_dict(path)
        blueprint = Blueprint(
            data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
        )
        assert blueprint.name.startswith("AutomationOne ")
        assert blueprint.metadata["description"]
        mode = "parallel" if path.name in PARALLEL else "single"
        assert (data["mode"], data["max_exceeded"]) == (mode, "silent")
        for key, spec in blueprint.inputs.items():
            assert spec["name"], f"{path.name}: {key}"
            assert spec["description"], f"{path.name}: {key}"
            selector = spec["selector"]
            for kind in ("entity", "device"):
                if kind in selector:
                    filters = selector[kind]["filter"]
                    assert [f["integration"] for f in filters] == [DOMAIN], f"{path.name}: {key}"


async def test_setup_installs_blueprints_and_ha_examples(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """A fresh config dir gets our blueprints and still HA's own examples."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    ours = config_dir / "blueprints/automation" / DOMAIN
    assert {p.name for p in ours.iterdir()} == NAMES
    for name in NAMES:
        assert (ours / name).read_bytes() == (SHIPPED / name).read_bytes()
    assert (config_dir / "blueprints/automation/homeassistant/motion_light.yaml").exists()


async def test_setup_keeps_an_edited_copy(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """An existing copy is the user's: setup adds only the missing files."""
    ours = config_dir / "blueprints/automation" / DOMAIN
    ours.mkdir(parents=True)
    edited = ours / "ph_dosing_pulse.yaml"
    edited.write_text("# my own version\n", encoding="utf-8")
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert edited.read_text(encoding="utf-8") == "# my own version\n"
    assert {p.name for p in ours.iterdir()} == NAMES
    assert (ours / "threshold_hysteresis.yaml").read_bytes() == (
        SHIPPED / "threshold_hysteresis.yaml"
    ).read_bytes()


# --- behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "values"),
    [
        # on above 10; 11 and 9 are in the dead band; off at 8 (10 - 2); on again above 10
        ("above", [5, 12, 11, 9, 8, 9, 12]),
        # mirrored: on below 10; off at 12 (10 + 2)
        ("below", [15, 8, 9, 11, 12, 11, 8]),
    ],
)
async def test_threshold_hysteresis(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    config_dir: Path,
    direction: str,
    values: list[int],
) -> None:
    """A real sensor's values switch the real pump on and off with the dead band."""
    entry = entry_with(("sensor", "Level", LEVEL), ("actuator", "Pump", FREE_PUMP))
    pump, device = await pump_device(hass, mqtt_mock, entry)
    await use_blueprint(
        hass,
        "threshold_hysteresis.yaml",
        {
            "sensor": entity(hass, entry, "Level"),
            "actuator": pump,
            "direction": direction,
            "threshold": 10,
            "hysteresis": 2,
        },
    )
    actions = []
    for seq, raw in enumerate(values, start=1):
        reading(hass, 34, raw, seq=seq)
        actions.append([c["action"] for c in await device.answer()])
    assert actions == [[], ["on"], [], [], ["off"], [], ["on"]]
    assert hass.states.get(pump).state == STATE_ON


async def test_ph_dosing_pulse_with_cooldown(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    config_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Out of range: one pulse; none within the cooldown; again after it while still high."""
    freezer.move_to(at_local(12))
    pump, device = await pump_device(hass, mqtt_mock, entry_with(("actuator", "Pump", FREE_PUMP)))
    hass.states.async_set("sensor.tank_ph", "6.2")
    automation_id = await use_blueprint(
        hass,
        "ph_dosing_pulse.yaml",
        {
            "ph_sensor": "sensor.tank_ph",
            "pump": pump,
            "direction": "above",
            "limit": 6.5,
            "dose_seconds": 2.5,
            "cooldown_minutes": 10,
        },
    )

    async def step(minutes: float, ph: str | None = None) -> list[tuple[str, float]]:
        freezer.tick(timedelta(minutes=minutes))
        if ph is not None:
            hass.states.async_set("sensor.tank_ph", ph)
        else:
            async_fire_time_changed(hass)
        sent = await device.answer()
        if sent:  # the device ends the pulse by itself
            device.status(False, reason="duration")
        return [(c["action"], c["duration_s"]) for c in sent]

    assert await step(1, "6.4") == []  # in range
    assert await step(1, "7.0") == [("pulse", 2.5)]
    assert await step(1, "7.1") == []  # cooldown
    assert await step(5) == []  # cooldown, the minute check
    assert await step(4) == [("pulse", 2.5)]  # 10 min after the first dose, still high
    assert await step(11, "unavailable") == []  # no value, no dose
    assert await step(1, "6.3") == []
    assert await step(1) == []
    await stop(hass, automation_id)


async def test_irrigation_by_soil_moisture(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    config_dir: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Dry starts a pulse of max runtime inside the window; wet stops; a pause between runs."""
    freezer.move_to(at_local(5, 50))
    pump, device = await pump_device(hass, mqtt_mock, entry_with(("actuator", "Pump", FREE_PUMP)))
    hass.states.async_set("sensor.bed_moisture", "35")
    automation_id = await use_blueprint(
        hass,
        "irrigation_soil_moisture.yaml",
        {
            "moisture_sensor": "sensor.bed_moisture",
            "pump": pump,
            "dry": 30,
            "wet": 45,
            "max_runtime_seconds": 90,
            "pause_minutes": 30,
            "window_start": "06:00:00",
            "window_end": "20:00:00",
        },
    )

    async def step(
        until: datetime, moisture: str | None = None, running: bool = False
    ) -> list[tuple[str, Any]]:
        freezer.move_to(until)
        if moisture is not None:
            hass.states.async_set("sensor.bed_moisture", moisture)
        else:
            async_fire_time_changed(hass)
        return [(c["action"], c.get("duration_s")) for c in await device.answer(running)]

    assert await step(at_local(5, 55), "20") == []  # dry, but before the window
    # The window opens: the run starts and waits for "wet".
    assert await step(at_local(6, 0), running=True) == [("pulse", 90)]
    assert await step(at_local(6, 1), "40", running=True) == []  # not wet yet
    assert await step(at_local(6, 1), "46") == [("off", None)]  # wet: off before max runtime
    assert await step(at_local(6, 10), "25") == []  # dry again, the pause is not over
    assert await step(at_local(6, 31)) == []  # 90 s + 30 min after 06:00 is 06:31:30
    assert await step(at_local(6, 32), running=True) == [("pulse", 90)]
    # No "wet": the run ends at max runtime, the device stops the pump by itself.
    assert await step(at_local(6, 34)) == []
    device.status(False, reason="duration")
    assert await step(at_local(7, 30), "28", running=True) == [("pulse", 90)]  # still dry
    assert await step(at_local(7, 32)) == []
    device.status(False, reason="duration")
    assert await step(at_local(20, 30), "27") == []  # after the window
    await stop(hass, automation_id)


async def test_actuators_off_when_device_offline(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """The watched device's last will turns off the pump on another device."""
    watched_entry = entry_with(("actuator", "Heater", {**FREE_PUMP, "gpio": 27}))
    await setup(hass, watched_entry)
    heater, heater_device = (
        entity_of(hass, watched_entry, "Heater"),
        Device(hass, mqtt_mock, 27, BASE),
    )
    other = entry_with(("actuator", "Pump", FREE_PUMP))
    other_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Greenhouse 2",
        unique_id=OTHER_MAC,
        data={**other.data, "esp_id": OTHER_ID, "mac": OTHER_MAC, "name": "Greenhouse 2"},
        subentries_data=[
            ConfigSubentryData(
                data=sub.data,
                subentry_type=sub.subentry_type,
                title=sub.title,
                unique_id=sub.unique_id,
            )
            for sub in other.subentries.values()
        ],
    )
    other_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other_entry.entry_id)
    other_base = f"kaiser/god/esp/{OTHER_ID}"
    async_fire_mqtt_message(hass, f"{other_base}/status", "online", retain=True)
    pump_device = Device(hass, mqtt_mock, 26, other_base)
    pump_device.status(True)
    heater_device.status(True)
    await hass.async_block_till_done()
    subentry_id = next(iter(other_entry.subentries))
    pump = er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{OTHER_MAC}-{subentry_id}")
    assert pump is not None
    assert (hass.states.get(pump).state, hass.states.get(heater).state) == (STATE_ON, STATE_ON)
    watched = registered_device(hass)
    assert watched is not None
    await use_blueprint(
        hass,
        "actuator_off_when_offline.yaml",
        {"device": watched.id, "actuators": [heater, pump]},
    )
    # Live messages (the retain flag is only set on what a new subscription gets).
    async_fire_mqtt_message(hass, f"{other_base}/status", "offline")
    async_fire_mqtt_message(hass, f"{other_base}/status", "online")
    assert await pump_device.answer() == []  # another device's flap is not watched
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    assert [c["action"] for c in await pump_device.answer()] == ["off"]
    # The offline device's own heater is unavailable and skipped; the firmware's fail-safe
    # handles it, and it did not keep the pump from being turned off.
    assert await heater_device.answer() == []


async def test_house_emergency_script_blueprint(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """The shipped script blueprint (valid for HA's script schema, installed at setup) makes
    dashboard-ready scripts that stop and clear the whole house."""
    shipped = SHIPPED.parent / "script" / "house_emergency.yaml"
    Blueprint(yaml_util.load_yaml_dict(shipped), expected_domain="script", schema=BLUEPRINT_SCHEMA)
    await setup(hass, entry_with(("actuator", "Pump", FREE_PUMP)))
    installed = config_dir / "blueprints/script" / DOMAIN / "house_emergency.yaml"
    assert installed.read_bytes() == shipped.read_bytes()
    path = f"{DOMAIN}/house_emergency.yaml"
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "stop_house": {"use_blueprint": {"path": path, "input": {"what": "stop"}}},
                "clear_house": {"use_blueprint": {"path": path, "input": {"what": "clear"}}},
            }
        },
    )
    await hass.async_block_till_done()
    sensor = "binary_sensor.greenhouse_1_emergency_stop"
    await hass.services.async_call("script", "stop_house", blocking=True)
    stop = mqtt_mock.async_publish.call_args_list[-1]
    assert (stop.args[0], stop.args[2:]) == ("kaiser/god/broadcast/emergency", (1, True))
    assert json.loads(stop.args[1])["reason"] == "house-wide stop"
    assert hass.states.get(sensor).state == STATE_ON
    await hass.services.async_call("script", "clear_house", blocking=True)
    clear = mqtt_mock.async_publish.call_args_list[-1]
    assert json.loads(clear.args[1])["action"] == "clear"
    assert hass.states.get(sensor).state == "off"
