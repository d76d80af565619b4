"""Device actions of AutomationOne (docs/rules.md): turn on, turn off, turn on for a duration,
pulse, set PWM value.

An action sends one protocol command and returns: a duration goes into the command's
`duration_s`, so the device stops the actuator itself (also when HA is gone) and the
automation run ends at once, which `mode: single` rules rely on. HA-side limits and the
device's refusals raise the same translated errors as the switch and light.
"""

from __future__ import annotations

from datetime import timedelta

from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_ENTITY_ID, CONF_TYPE
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.typing import ConfigType, TemplateVarsType
import voluptuous as vol

from .const import DOMAIN, LIMIT_MAX_S
from .registry import actuator_of, is_actuator, our_entities
from .rules.vocabulary import ACTION_TYPES, PULSE, SET_VALUE, TURN_OFF, TURN_ON, TURN_ON_FOR

CONF_DURATION = "duration"
CONF_VALUE = "value"

# The protocol's duration range (0.1 s to 24 h).
DURATION = vol.All(
    cv.positive_time_period_dict,
    vol.Range(min=timedelta(seconds=0.1), max=timedelta(seconds=LIMIT_MAX_S)),
)
PWM_VALUE = vol.All(vol.Coerce(int), vol.Range(min=0, max=255))


def _needs_fields(config: ConfigType) -> ConfigType:
    kind = config[CONF_TYPE]
    if kind in (TURN_ON_FOR, PULSE) and CONF_DURATION not in config:
        raise vol.Invalid(f"{kind} needs {CONF_DURATION}")
    if kind == SET_VALUE and CONF_VALUE not in config:
        raise vol.Invalid(f"{SET_VALUE} needs {CONF_VALUE}")
    if kind in (TURN_ON, TURN_OFF) and CONF_DURATION in config:
        raise vol.Invalid(f"{kind} takes no {CONF_DURATION} (use {TURN_ON_FOR})")
    return config


ACTION_SCHEMA = vol.All(
    cv.DEVICE_ACTION_BASE_SCHEMA.extend(
        {
            vol.Required(CONF_TYPE): vol.In(ACTION_TYPES),
            vol.Required(CONF_ENTITY_ID): cv.entity_id_or_uuid,
            vol.Optional(CONF_DURATION): DURATION,
            vol.Optional(CONF_VALUE): PWM_VALUE,
        }
    ),
    _needs_fields,
)


async def async_get_actions(hass: HomeAssistant, device_id: str) -> list[dict[str, str]]:
    """On for and pulse for every actuator of the device; set value for PWM outputs.

    Plain on/off are not listed: HA's own switch and light actions offer them for the same
    entities (the editor would show them twice). They are still accepted for automations
    written before.
    """
    base = {CONF_DEVICE_ID: device_id, CONF_DOMAIN: DOMAIN}
    actions: list[dict[str, str]] = []
    for entry in our_entities(hass, device_id):
        if not is_actuator(hass, entry):
            continue
        kinds = [TURN_ON_FOR, PULSE]
        if entry.domain == "light":
            kinds.append(SET_VALUE)
        actions.extend({**base, CONF_ENTITY_ID: entry.id, CONF_TYPE: kind} for kind in kinds)
    return actions


async def async_get_action_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The duration and value fields the editor shows."""
    kind = config[CONF_TYPE]
    # The editor gets plain fields (a range of timedeltas cannot be sent to the frontend);
    # ACTION_SCHEMA checks the range when the automation is saved and loaded.
    if kind in (TURN_ON_FOR, PULSE):
        return {
            "extra_fields": vol.Schema({vol.Required(CONF_DURATION): cv.positive_time_period_dict})
        }
    if kind == SET_VALUE:
        return {
            "extra_fields": vol.Schema(
                {
                    vol.Required(CONF_VALUE): PWM_VALUE,
                    vol.Optional(CONF_DURATION): cv.positive_time_period_dict,
                }
            )
        }
    return {}


async def async_call_action_from_config(
    hass: HomeAssistant,
    config: ConfigType,
    variables: TemplateVarsType,
    context: Context | None,
) -> None:
    """Send the command of one action (config validated by ACTION_SCHEMA already)."""
    registry_id = config[CONF_ENTITY_ID]
    entity_id = er.async_resolve_entity_id(er.async_get(hass), registry_id) or registry_id
    actuator = actuator_of(hass, entity_id)
    duration: timedelta | None = config.get(CONF_DURATION)
    duration_s = duration.total_seconds() if duration is not None else None
    action, value = {
        TURN_ON: ("on", None),
        TURN_OFF: ("off", None),
        TURN_ON_FOR: ("on", None),
        PULSE: ("pulse", None),
        SET_VALUE: ("set", config.get(CONF_VALUE)),
    }[config[CONF_TYPE]]
    await actuator.async_command(action, value=value, duration_s=duration_s)
