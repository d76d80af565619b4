"""Device triggers and conditions refuse incomplete configs with a translated error (triggers)
or a schema error (conditions), and a condition on a missing or non-numeric state is false."""

from __future__ import annotations

from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import voluptuous as vol

from custom_components.automationone import device_condition, device_trigger
from custom_components.automationone.const import DOMAIN

from .common import MAC, registered_device
from .test_actuators import PUMP, entry_with
from .test_sensors import PH_DATA, reading, setup

BASE = {"platform": "device", "domain": DOMAIN, "device_id": "abc"}
CONDITION = {"condition": "device", "domain": DOMAIN, "device_id": "abc"}
GONE = "0123456789abcdef0123456789abcdef"  # an entity registry id nobody has


@pytest.mark.parametrize(
    ("config", "key", "placeholders"),
    [
        ({"type": "quality_bad"}, "trigger_needs_entity", {"type": "quality_bad"}),
        ({"type": "actuator_stopped"}, "trigger_needs_entity", {"type": "actuator_stopped"}),
        (
            {"type": "sensor_above", "entity_id": "sensor.x"},
            "trigger_needs_threshold",
            {"type": "sensor_above", "field": "above"},
        ),
        (
            {"type": "sensor_crossed", "entity_id": "sensor.x"},
            "trigger_needs_threshold",
            {"type": "sensor_crossed", "field": "threshold"},
        ),
    ],
)
async def test_incomplete_trigger_is_a_translated_error(
    hass: HomeAssistant, config: dict[str, str], key: str, placeholders: dict[str, str]
) -> None:
    """The editor's error names the missing field in the user's language."""
    with pytest.raises(InvalidDeviceAutomationConfig) as err:
        await device_trigger.async_validate_trigger_config(hass, {**BASE, **config})
    assert (err.value.translation_domain, err.value.translation_key) == (DOMAIN, key)
    assert err.value.translation_placeholders == placeholders


async def test_trigger_on_what_is_not_there(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A device without a connectivity sensor, or an entity that is gone: translated errors."""
    for config, key in (
        ({"type": "device_offline"}, "trigger_no_connectivity"),
        (
            {"type": "sensor_above", "entity_id": GONE, "above": 1},
            "trigger_unknown_entity",
        ),
    ):
        validated = await device_trigger.async_validate_trigger_config(hass, {**BASE, **config})
        with pytest.raises(InvalidDeviceAutomationConfig) as err:
            await device_trigger.async_attach_trigger(hass, validated, None, {})  # type: ignore[arg-type]
        assert err.value.translation_key == key


@pytest.mark.parametrize(
    "config",
    [
        {"type": "sensor_in_range"},
        {"type": "actuator_is_on"},
        {"type": "sensor_in_range", "entity_id": "sensor.x"},
    ],
)
def test_incomplete_condition_is_refused(config: dict[str, str]) -> None:
    """A range needs its entity and a bound; an actuator condition its entity."""
    complete = {"type": "sensor_in_range", "entity_id": "sensor.x", "below": 1}
    assert device_condition.CONDITION_SCHEMA({**CONDITION, **complete})["below"] == 1
    with pytest.raises(vol.Invalid):
        device_condition.CONDITION_SCHEMA({**CONDITION, **config})


async def test_condition_capabilities() -> None:
    """Only the range condition has extra fields (its bounds)."""
    found = await device_condition.async_get_condition_capabilities(
        None,  # type: ignore[arg-type]
        {"type": "sensor_in_range"},
    )
    assert set(found["extra_fields"].schema) == {"above", "below"}
    assert (
        await device_condition.async_get_condition_capabilities(None, {"type": "device_online"})
        == {}
    )  # type: ignore[arg-type]


async def test_actuator_conditions_and_states_that_are_no_number(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """An actuator offers on and off; a range on an unavailable sensor is false."""
    entry = await setup(
        hass, entry_with(("sensor", "Tank pH", PH_DATA), ("actuator", "Pump", PUMP))
    )
    device = registered_device(hass)
    conditions = await device_condition.async_get_conditions(hass, device.id)
    assert sorted(c["type"] for c in conditions) == [
        "actuator_is_off",
        "actuator_is_on",
        "device_online",
        "sensor_in_range",
    ]
    sensor_id = next(
        subentry_id for subentry_id, s in entry.subentries.items() if s.title == "Tank pH"
    )
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{MAC}-{sensor_id}")
    check = device_condition.async_condition_from_config(
        hass,
        {
            **CONDITION,
            "device_id": device.id,
            "type": "sensor_in_range",
            "entity_id": entity_id,
            "below": 100,
        },
    )
    assert check(hass) is False  # no reading yet: unknown is no number
    reading(hass, 34, 1800, seq=1)
    await hass.async_block_till_done()
    assert check(hass) is True
    missing = device_condition.async_condition_from_config(
        hass,
        {
            **CONDITION,
            "type": "actuator_is_on",
            "entity_id": GONE,
        },
    )
    assert missing(hass) is False
