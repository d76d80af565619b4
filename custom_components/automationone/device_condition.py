"""Device conditions of AutomationOne (docs/rules.md): sensor in range, actuator on/off,
device online."""

from __future__ import annotations

from homeassistant.const import (
    CONF_ABOVE,
    CONF_BELOW,
    CONF_CONDITION,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_TYPE,
    STATE_ON,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.condition import ConditionCheckerType
from homeassistant.helpers.typing import ConfigType, TemplateVarsType
import voluptuous as vol

from .const import DOMAIN
from .registry import connectivity_entity, is_actuator, is_processed_sensor, our_entities
from .rules.vocabulary import (
    ACTUATOR_IS_OFF,
    ACTUATOR_IS_ON,
    CONDITION_TYPES,
    DEVICE_ONLINE,
    SENSOR_IN_RANGE,
)


def _needs_entity_and_bound(config: ConfigType) -> ConfigType:
    """Range and actuator conditions need their entity; a range needs a bound."""
    if config[CONF_TYPE] == DEVICE_ONLINE:
        return config
    if CONF_ENTITY_ID not in config:
        raise vol.Invalid(f"{config[CONF_TYPE]} needs {CONF_ENTITY_ID}")
    if (
        config[CONF_TYPE] == SENSOR_IN_RANGE
        and CONF_ABOVE not in config
        and CONF_BELOW not in config
    ):
        raise vol.Invalid(f"{SENSOR_IN_RANGE} needs {CONF_ABOVE} or {CONF_BELOW}")
    return config


CONDITION_SCHEMA = vol.All(
    cv.DEVICE_CONDITION_BASE_SCHEMA.extend(
        {
            vol.Required(CONF_TYPE): vol.In(CONDITION_TYPES),
            vol.Optional(CONF_ENTITY_ID): cv.entity_id_or_uuid,
            vol.Optional(CONF_ABOVE): vol.Coerce(float),
            vol.Optional(CONF_BELOW): vol.Coerce(float),
        }
    ),
    _needs_entity_and_bound,
)


async def async_get_conditions(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """Range conditions per sensor, on/off per actuator, and device online."""
    base = {CONF_CONDITION: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    conditions: list[dict[str, str]] = []
    for entry in our_entities(hass, device_id):
        if is_processed_sensor(hass, entry):
            conditions.append({**base, CONF_ENTITY_ID: entry.id, CONF_TYPE: SENSOR_IN_RANGE})
        elif is_actuator(hass, entry):
            conditions.extend(
                {**base, CONF_ENTITY_ID: entry.id, CONF_TYPE: kind}
                for kind in (ACTUATOR_IS_ON, ACTUATOR_IS_OFF)
            )
    if connectivity_entity(hass, device_id) is not None:
        conditions.append({**base, CONF_TYPE: DEVICE_ONLINE})
    return conditions


async def async_get_condition_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The bounds the editor shows for a range condition."""
    if config[CONF_TYPE] != SENSOR_IN_RANGE:
        return {}
    return {
        "extra_fields": vol.Schema(
            {
                vol.Optional(CONF_ABOVE): vol.Coerce(float),
                vol.Optional(CONF_BELOW): vol.Coerce(float),
            }
        )
    }


@callback
def async_condition_from_config(hass: HomeAssistant, config: ConfigType) -> ConditionCheckerType:
    """A checker for one condition."""
    config = CONDITION_SCHEMA(config)
    kind = config[CONF_TYPE]
    if kind == DEVICE_ONLINE:
        entity_id = connectivity_entity(hass, config[CONF_DEVICE_ID])
    else:
        entity_id = er.async_resolve_entity_id(er.async_get(hass), config[CONF_ENTITY_ID])
    above, below = config.get(CONF_ABOVE), config.get(CONF_BELOW)

    @callback
    def check(hass: HomeAssistant, variables: TemplateVarsType = None) -> bool:
        state = hass.states.get(entity_id) if entity_id else None
        if state is None:
            return False
        if kind == SENSOR_IN_RANGE:
            try:
                value = float(state.state)
            except ValueError:
                return False
            return (above is None or value > above) and (below is None or value < below)
        if kind == ACTUATOR_IS_OFF:
            return state.state == "off"
        return state.state == STATE_ON  # actuator on, device online

    return check
