"""`automationone.import_rules`: rules -> automations.yaml as the editor writes it, reloaded,
working, stable ids, nothing written on error, and an editor round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import json
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

from homeassistant.components import automation
from homeassistant.config import load_yaml_config_file
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, MqttMockHAClient

from custom_components.automationone import rule_import
from custom_components.automationone.const import DOMAIN
from custom_components.automationone.kaiser_edge import relay_rules

from .common import ESP_ID, registered_device
from .test_actuators import FREE_PUMP, commands, entry_with, message, status
from .test_device_trigger import LEVEL
from .test_sensors import reading, setup

LEVEL_HIGH = {
    "id": "level_high",
    "name": "Level high: pump out",
    "priority": 10,
    "triggers": [
        {
            "type": "sensor",
            "sensor": {"esp_id": ESP_ID, "gpio": 34},
            "direction": "above",
            "threshold": 10,
            "hysteresis": 2,
        }
    ],
    "conditions": [
        {
            "type": "or",
            "conditions": [
                {"type": "device_online", "esp_id": ESP_ID},
                {"type": "time_window", "after": "22:00", "before": "06:00"},
            ],
        }
    ],
    "actions": [{"type": "on_for", "actuator": {"esp_id": ESP_ID, "gpio": 26}, "duration_s": 30}],
    "cooldown_s": 60,
}
NIGHT_FLUSH = {
    "id": "night_flush",
    "name": "Night flush",
    "enabled": False,
    "triggers": [{"type": "time", "at": "03:00"}],
    "actions": [{"type": "pulse", "actuator": {"esp_id": ESP_ID, "gpio": 26}, "duration_s": 5}],
}
HAND_WRITTEN = {
    "id": "1700000000000",
    "alias": "Made in the editor",
    "triggers": [{"trigger": "event", "event_type": "x"}],
    "actions": [],
}

pytestmark = pytest.mark.usefixtures("short_answer_wait")


@pytest.fixture
def config_dir(hass: HomeAssistant, mqtt_mock: MqttMockHAClient, tmp_path: Path) -> Iterator[Path]:
    """A config directory whose configuration.yaml includes automations.yaml, as HA's
    default config does, with one automation made in the editor. The MQTT test fixtures
    stub out reading configuration.yaml; automation reloads need the real reader."""
    (tmp_path / "configuration.yaml").write_text(
        "automation: !include automations.yaml\n", encoding="utf-8"
    )
    (tmp_path / "automations.yaml").write_text(
        "- id: '1700000000000'\n  alias: Made in the editor\n"
        "  triggers:\n  - trigger: event\n    event_type: x\n  actions: []\n"
    )
    hass.config.config_dir = str(tmp_path)
    with patch("homeassistant.config.load_yaml_config_file", load_yaml_config_file):
        yield tmp_path


@pytest.fixture
async def device(hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path) -> None:
    """The test ESP with a level sensor on 34 and a pump on 26, automations loaded."""
    await setup(hass, entry_with(("sensor", "Level", LEVEL), ("actuator", "Pump", FREE_PUMP)))
    status(hass, 26, state=False, value=0, reason="boot")
    assert await async_setup_component(
        hass, automation.DOMAIN, {automation.DOMAIN: [dict(HAND_WRITTEN)]}
    )
    await hass.async_block_till_done()


async def import_rules(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "import_rules", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def automations_file(config_dir: Path) -> list[dict[str, Any]]:
    loaded = load_yaml(config_dir / "automations.yaml")
    assert isinstance(loaded, list)
    return loaded


@pytest.mark.usefixtures("device")
async def test_import_creates_working_automations(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """Both rules become automations with stable ids next to the hand-made one; the enabled
    rule turns the pump on for 30 s when the level passes 10; the disabled one is off."""
    response = await import_rules(hass, rules=[LEVEL_HIGH, NIGHT_FLUSH])
    ids = ["automationone_rule_level_high", "automationone_rule_night_flush"]
    assert response["created"] == ids
    assert response["updated"] == response["unchanged"] == []
    stored = automations_file(config_dir)
    assert [a["id"] for a in stored] == ["1700000000000", *ids]
    assert stored[0] == HAND_WRITTEN
    entity_ids = {a["id"]: a["entity_id"] for a in response["automations"]}
    assert hass.states.get(entity_ids[ids[0]]).state == STATE_ON
    assert hass.states.get(entity_ids[ids[1]]).state == STATE_OFF

    device = registered_device(hass)
    level_high = stored[1]
    assert level_high["triggers"][0]["device_id"] == device.id
    # Device automations refer to entity registry ids, as the editor saves them.
    assert er.async_get(hass).async_get(level_high["triggers"][0]["entity_id"]) is not None
    assert level_high["triggers"][0]["type"] == "sensor_above"

    for seq, raw in enumerate([5, 12, 11], start=1):
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
    sent = commands(mqtt_mock, 26)
    assert [(c["action"], c.get("duration_s")) for c in sent] == [("on", 30)]


@pytest.mark.usefixtures("device")
async def test_import_again_updates_in_place(hass: HomeAssistant, config_dir: Path) -> None:
    """The same rule again changes nothing; a changed rule replaces its automation."""
    await import_rules(hass, rules=LEVEL_HIGH)
    before = (config_dir / "automations.yaml").stat().st_mtime_ns
    response = await import_rules(hass, rules=LEVEL_HIGH)
    assert response["unchanged"] == ["automationone_rule_level_high"]
    assert (config_dir / "automations.yaml").stat().st_mtime_ns == before

    changed = {**LEVEL_HIGH, "triggers": [{**LEVEL_HIGH["triggers"][0], "threshold": 11.5}]}
    response = await import_rules(hass, rules={"rules": [changed]})
    assert response["updated"] == ["automationone_rule_level_high"]
    stored = automations_file(config_dir)
    assert [a["id"] for a in stored] == ["1700000000000", "automationone_rule_level_high"]
    assert stored[1]["triggers"][0]["above"] == 11.5


@pytest.mark.usefixtures("device")
async def test_priority_lockout_between_imported_rules(
    hass: HomeAssistant, config_dir: Path
) -> None:
    """The lower-priority rule on the same pump waits for the higher one."""
    low = {
        **NIGHT_FLUSH,
        "enabled": True,
        "priority": 1,
        "triggers": [{**LEVEL_HIGH["triggers"][0], "direction": "below", "threshold": 3}],
    }
    await import_rules(hass, rules=[LEVEL_HIGH, low])
    stored = {a["id"]: a for a in automations_file(config_dir)}
    templates = [
        c["value_template"]
        for c in stored["automationone_rule_night_flush"]["conditions"]
        if c["condition"] == "template"
    ]
    assert len(templates) == 1
    assert "'automationone_rule_level_high': 60" in templates[0]


@pytest.mark.usefixtures("device")
async def test_import_and_editor_save_do_not_lose_each_other(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, config_dir: Path
) -> None:
    """An editor save that comes while an import has read automations.yaml waits for the
    import (the editor's own lock), so the file keeps both."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    read_done, editor_done = threading.Event(), threading.Event()
    real_read = rule_import._read_automations

    def read_then_stall(path: str) -> list[dict[str, Any]]:
        current = real_read(path)
        read_done.set()
        editor_done.wait(1.0)  # give the editor's save every chance to slip in
        return current

    made_in_editor = {"alias": "Saved meanwhile", "triggers": [], "actions": []}
    with patch.object(rule_import, "_read_automations", read_then_stall):
        importing = hass.async_create_task(import_rules(hass, rules=LEVEL_HIGH))
        assert await hass.async_add_executor_job(read_done.wait, 5)
        saving = hass.async_create_task(
            client.post("/api/config/automation/config/meanwhile", json=made_in_editor)
        )
        done, _ = await asyncio.wait({saving}, timeout=0.5)
        if done:
            editor_done.set()
        await importing
        assert (await saving).status == 200
    await hass.async_block_till_done()
    ids = [a["id"] for a in automations_file(config_dir)]
    assert "automationone_rule_level_high" in ids
    assert "meanwhile" in ids


LEVEL_LOW_PRIORITY = {
    "id": "level_above_8_off",
    "name": "Level above 8: pump off",
    "priority": 1,
    "triggers": [{**LEVEL_HIGH["triggers"][0], "threshold": 8, "hysteresis": 0}],
    "actions": [{"type": "off", "actuator": {"esp_id": ESP_ID, "gpio": 26}}],
}


async def _both_fire(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> list[Any]:
    """One reading that triggers both rules; the commands the pump got."""
    mqtt_mock.async_publish.reset_mock()
    for seq, raw in enumerate([5, 12], start=1):
        reading(hass, 34, raw, seq=seq)
        await hass.async_block_till_done()
    await asyncio.sleep(0.05)  # past the lower rule's settle step
    await hass.async_block_till_done()
    return [(c["action"], c.get("duration_s")) for c in commands(mqtt_mock, 26)]


@pytest.mark.usefixtures("device")
async def test_higher_priority_decides_alone_on_the_same_change(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """The lower rule comes first in automations.yaml and the same reading triggers both:
    only the higher rule's command is sent (no off-then-on)."""
    await import_rules(hass, rules=[LEVEL_LOW_PRIORITY, LEVEL_HIGH])
    ids = [a["id"] for a in automations_file(config_dir)]
    assert ids.index("automationone_rule_level_above_8_off") < ids.index(
        "automationone_rule_level_high"
    )
    assert await _both_fire(hass, mqtt_mock) == [("on", 30)]


@pytest.mark.usefixtures("device")
async def test_lockout_between_rules_imported_at_different_times(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """A higher-priority rule imported later locks out the rule imported earlier: the
    earlier automation is updated in place."""
    await import_rules(hass, rules=LEVEL_LOW_PRIORITY)
    response = await import_rules(hass, rules=LEVEL_HIGH)
    assert response["created"] == ["automationone_rule_level_high"]
    assert response["updated"] == ["automationone_rule_level_above_8_off"]
    assert await _both_fire(hass, mqtt_mock) == [("on", 30)]
    again = await import_rules(hass, rules=LEVEL_HIGH)
    assert again["updated"] == []
    assert again["unchanged"] == ["automationone_rule_level_high"]


@pytest.mark.usefixtures("device")
async def test_editor_round_trip(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, config_dir: Path
) -> None:
    """An imported automation opens in the editor and saves back byte for byte."""
    assert await async_setup_component(hass, "config", {})
    await import_rules(hass, rules=[LEVEL_HIGH, NIGHT_FLUSH])
    before = (config_dir / "automations.yaml").read_bytes()
    client = await hass_client()
    for automation_id in ("automationone_rule_level_high", "automationone_rule_night_flush"):
        url = f"/api/config/automation/config/{automation_id}"
        opened = await client.get(url)
        assert opened.status == 200
        saved = await client.post(url, json=await opened.json())
        assert saved.status == 200, await saved.text()
        await hass.async_block_till_done()
    assert (config_dir / "automations.yaml").read_bytes() == before


@pytest.mark.usefixtures("device")
async def test_import_from_file(hass: HomeAssistant, config_dir: Path) -> None:
    """A JSON file in the config directory; paths outside it and missing files are errors."""
    (config_dir / "rules.json").write_text(json.dumps({"rules": [LEVEL_HIGH]}), encoding="utf-8")
    response = await import_rules(hass, file="rules.json")
    assert response["created"] == ["automationone_rule_level_high"]
    for name, key in (
        ("../../etc/passwd", "rules_file_not_allowed"),
        ("nope.json", "rules_file_missing"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await import_rules(hass, file=name)
        assert err.value.translation_key == key


def _invalid_vectors() -> list[dict[str, Any]]:
    path = Path(__file__).parents[1] / "vectors/rules/invalid.json"
    vectors: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["vectors"]
    return vectors[:3]


@pytest.mark.usefixtures("device")
@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ([LEVEL_HIGH, {**NIGHT_FLUSH, "cooldown": 5}], "[1].cooldown"),
        ([LEVEL_HIGH, {**LEVEL_HIGH}], "[1].id"),
        (
            [
                {
                    **NIGHT_FLUSH,
                    "actions": [{"type": "off", "actuator": {"esp_id": ESP_ID, "gpio": 27}}],
                }
            ],
            "[0].actions[0].actuator",
        ),
        ([{**LEVEL_HIGH, "triggers": [{"type": "time", "at": "25:00"}]}], "[0].triggers[0].at"),
    ],
)
async def test_invalid_rules_write_nothing(
    hass: HomeAssistant, config_dir: Path, rules: list[dict[str, Any]], path: str
) -> None:
    """A bad rule anywhere in the set is rejected with its path; the file is untouched."""
    before = (config_dir / "automations.yaml").read_bytes()
    with pytest.raises(ServiceValidationError) as err:
        await import_rules(hass, rules=rules)
    assert err.value.translation_key == "invalid_rule_named"
    assert err.value.translation_placeholders["path"] == path
    assert path in message(err.value)
    assert (config_dir / "automations.yaml").read_bytes() == before


@pytest.mark.usefixtures("device")
async def test_rejected_rule_named_by_id_and_name(hass: HomeAssistant, config_dir: Path) -> None:
    """The error names the rule by its id and name, not only by its index in the file; an
    item without an id falls back to the path."""
    unknown_pin = {**LEVEL_HIGH["triggers"][0], "sensor": {"esp_id": "esp9", "gpio": 34}}
    rules = [NIGHT_FLUSH, {**LEVEL_HIGH, "triggers": [unknown_pin]}]
    with pytest.raises(ServiceValidationError) as err:
        await import_rules(hass, rules=rules)
    assert message(err.value) == (
        "Rule level_high (Level high: pump out) rejected at [1].triggers[0].sensor: "
        "unknown sensor esp9 gpio 34"
    )
    with pytest.raises(ServiceValidationError) as err:
        await import_rules(hass, rules=[NIGHT_FLUSH, {"name": "no id"}])
    assert err.value.translation_key == "invalid_rule"
    (config_dir / "automations.yaml").write_text("not: a list\n")
    with pytest.raises(HomeAssistantError) as err:
        await import_rules(hass, rules=LEVEL_HIGH)
    assert err.value.translation_key == "automations_not_a_list"


@pytest.mark.usefixtures("device")
async def test_dry_run(hass: HomeAssistant, config_dir: Path) -> None:
    """A dry run returns the compiled automations and writes nothing."""
    before = (config_dir / "automations.yaml").read_bytes()
    response = await import_rules(hass, rules=LEVEL_HIGH, dry_run=True)
    assert [a["id"] for a in response["automations"]] == ["automationone_rule_level_high"]
    assert response["automations"][0]["actions"][0]["type"] == "turn_on_for"
    assert (config_dir / "automations.yaml").read_bytes() == before


async def test_needs_automations_loaded(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, config_dir: Path
) -> None:
    """Without the automation integration there is nothing to reload: a clear error."""
    await setup(hass, entry_with(("sensor", "Level", LEVEL), ("actuator", "Pump", FREE_PUMP)))
    with pytest.raises(ServiceValidationError) as err:
        await import_rules(hass, rules=LEVEL_HIGH)
    assert err.value.translation_key == "automation_not_loaded"


@pytest.mark.usefixtures("device")
async def test_entity_references(hass: HomeAssistant) -> None:
    """Our entity by entity id compiles to our device trigger (registry id); another
    integration's entity to native numeric_state; a bus pin without its address is unknown."""
    level = er.async_get(hass).async_get("sensor.greenhouse_1_level")
    assert level is not None
    rule = {
        **LEVEL_HIGH,
        "triggers": [
            {**LEVEL_HIGH["triggers"][0], "sensor": {"entity_id": "sensor.greenhouse_1_level"}},
            {"type": "sensor", "sensor": {"entity_id": "sensor.outside"}, "direction": "crossed",
             "threshold": 30},
        ],
    }  # fmt: skip
    response = await import_rules(hass, rules=rule, dry_run=True)
    triggers = response["automations"][0]["triggers"]
    assert (triggers[0]["trigger"], triggers[0]["entity_id"]) == ("device", level.id)
    assert triggers[1:] == [
        {"trigger": "numeric_state", "entity_id": "sensor.outside", "above": 30},
        {"trigger": "numeric_state", "entity_id": "sensor.outside", "below": 30},
    ]
    with pytest.raises(ServiceValidationError) as err:
        await import_rules(
            hass,
            rules={**LEVEL_HIGH, "triggers": [{**LEVEL_HIGH["triggers"][0], "sensor": {
                "esp_id": "esp-unknown", "gpio": 34}}]},
        )  # fmt: skip
    assert err.value.translation_placeholders["path"] == "[0].triggers[0].sensor"


@pytest.mark.usefixtures("device")
async def test_a_relays_edge_rule_keeps_its_priority(hass: HomeAssistant) -> None:
    """Read back from its automation (which has no place for it), a relay's edge rule has the
    priority it was imported with: the import keeps it, and it is read again after a restart."""
    await import_rules(hass, rules=[LEVEL_HIGH])
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    # The same ESP behind a relay: the rule becomes that relay's.
    hass.config_entries.async_update_entry(entry, data={**entry.data, "kaiser_id": "e1"})
    await hass.async_block_till_done()
    relay = relay_rules(hass)["e1"]
    assert [(rule.id, rule.priority) for rule in relay.rules] == [("level_high", 10)]
    assert relay.rule_dicts()[0]["priority"] == 10
    hass.data.pop(rule_import.DATA_CLAIMS)  # as after a restart: from the Store again
    await rule_import.async_load_claims(hass)
    assert [rule.priority for rule in relay_rules(hass)["e1"].rules] == [10]
