"""Device triggers of AutomationOne for the automation editor (and compiled rules).

Sensor triggers follow docs/rules.md: `sensor_above`, `sensor_below` and `sensor_crossed` with
hysteresis, evaluated by the same rule the backtest uses (`rules.live.ThresholdWatch`);
`device_offline` fires when the device's connectivity goes from on to off, `quality_bad` when a
processed sensor's quality becomes bad, `actuator_stopped` when the device stopped an actuator
by itself (max runtime, duration, fail-safe, emergency; optionally one reason).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import (
    event as event_trigger,
    state as state_trigger,
)
from homeassistant.const import (
    CONF_ABOVE,
    CONF_ATTRIBUTE,
    CONF_BELOW,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HassJob,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .actuator import DEVICE_STOP_REASONS
from .const import (
    CONF_ESP_ID,
    CONF_KAISER_ID,
    DOMAIN,
    EVENT_ACTUATOR_STOPPED,
    SIGNAL_RELAY_HANDBACK,
)
from .registry import (
    config_entry_ids,
    connectivity_entity,
    is_actuator,
    is_processed_sensor,
    our_entities,
)
from .rules.live import ThresholdWatch
from .rules.model import Direction
from .rules.vocabulary import (
    ACTUATOR_STOPPED,
    DEVICE_OFFLINE,
    QUALITY_BAD,
    SENSOR_ABOVE,
    SENSOR_BELOW,
    SENSOR_CROSSED,
)

CONF_THRESHOLD = "threshold"
CONF_HYSTERESIS = "hysteresis"
SENSOR_TRIGGERS = {
    SENSOR_ABOVE: (Direction.ABOVE, CONF_ABOVE),
    SENSOR_BELOW: (Direction.BELOW, CONF_BELOW),
    SENSOR_CROSSED: (Direction.CROSSED, CONF_THRESHOLD),
}
CONF_REASON = "reason"
STOP_REASON = vol.In(sorted(DEVICE_STOP_REASONS))

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(
            [*SENSOR_TRIGGERS, DEVICE_OFFLINE, QUALITY_BAD, ACTUATOR_STOPPED]
        ),
        vol.Optional(CONF_ENTITY_ID): cv.entity_id_or_uuid,
        vol.Optional(CONF_ABOVE): vol.Coerce(float),
        vol.Optional(CONF_BELOW): vol.Coerce(float),
        vol.Optional(CONF_THRESHOLD): vol.Coerce(float),
        vol.Optional(CONF_HYSTERESIS, default=0.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(CONF_REASON): STOP_REASON,
    }
)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """Sensor triggers and quality bad per processed sensor, actuator stopped per actuator,
    and device offline."""
    base = {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    triggers: list[dict[str, Any]] = []
    for entry in our_entities(hass, device_id):
        if is_processed_sensor(hass, entry):
            kinds = [*SENSOR_TRIGGERS, QUALITY_BAD]
        elif is_actuator(hass, entry):
            kinds = [ACTUATOR_STOPPED]
        else:
            continue
        triggers.extend({**base, CONF_ENTITY_ID: entry.id, CONF_TYPE: kind} for kind in kinds)
    if connectivity_entity(hass, device_id) is not None:
        triggers.append({**base, CONF_TYPE: DEVICE_OFFLINE})
    return triggers


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The threshold and hysteresis fields the editor shows; the stop reason filter."""
    trigger_type = config[CONF_TYPE]
    if trigger_type == ACTUATOR_STOPPED:
        return {"extra_fields": vol.Schema({vol.Optional(CONF_REASON): STOP_REASON})}
    if trigger_type not in SENSOR_TRIGGERS:
        return {}
    _, key = SENSOR_TRIGGERS[trigger_type]
    return {
        "extra_fields": vol.Schema(
            {
                vol.Required(key): vol.Coerce(float),
                vol.Optional(CONF_HYSTERESIS, default=0): vol.All(
                    vol.Coerce(float), vol.Range(min=0)
                ),
            }
        )
    }


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """A sensor trigger needs its entity and its threshold, the others their entity."""
    config = TRIGGER_SCHEMA(config)
    if config[CONF_TYPE] in (QUALITY_BAD, ACTUATOR_STOPPED) and CONF_ENTITY_ID not in config:
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="trigger_needs_entity",
            translation_placeholders={"type": config[CONF_TYPE]},
        )
    spec = SENSOR_TRIGGERS.get(config[CONF_TYPE])
    if spec is not None and (CONF_ENTITY_ID not in config or spec[1] not in config):
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="trigger_needs_threshold",
            translation_placeholders={"type": config[CONF_TYPE], "field": spec[1]},
        )
    return config


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Watch the sensor (or the device's connectivity) and run the automation's actions."""
    if config[CONF_TYPE] == DEVICE_OFFLINE:
        connectivity = connectivity_entity(hass, config[CONF_DEVICE_ID])
        if connectivity is None:
            raise InvalidDeviceAutomationConfig(
                translation_domain=DOMAIN, translation_key="trigger_no_connectivity"
            )
        state_config = state_trigger.TRIGGER_STATE_SCHEMA(
            {
                CONF_PLATFORM: "state",
                CONF_ENTITY_ID: connectivity,
                state_trigger.CONF_FROM: STATE_ON,
                state_trigger.CONF_TO: STATE_OFF,
            }
        )
        return await state_trigger.async_attach_trigger(
            hass, state_config, action, trigger_info, platform_type="device"
        )

    entity_id = er.async_resolve_entity_id(er.async_get(hass), config[CONF_ENTITY_ID])
    if entity_id is None:
        raise InvalidDeviceAutomationConfig(
            translation_domain=DOMAIN,
            translation_key="trigger_unknown_entity",
            translation_placeholders={"entity_id": str(config[CONF_ENTITY_ID])},
        )
    if config[CONF_TYPE] == QUALITY_BAD:
        state_config = state_trigger.TRIGGER_STATE_SCHEMA(
            {
                CONF_PLATFORM: "state",
                CONF_ENTITY_ID: entity_id,
                CONF_ATTRIBUTE: "quality",
                state_trigger.CONF_TO: "bad",
            }
        )
        return await state_trigger.async_attach_trigger(
            hass, state_config, action, trigger_info, platform_type="device"
        )
    if config[CONF_TYPE] == ACTUATOR_STOPPED:
        event_data = {CONF_ENTITY_ID: entity_id}
        if CONF_REASON in config:
            event_data[CONF_REASON] = config[CONF_REASON]
        event_config = event_trigger.TRIGGER_SCHEMA(
            {
                CONF_PLATFORM: "event",
                event_trigger.CONF_EVENT_TYPE: EVENT_ACTUATOR_STOPPED,
                CONF_EVENT_DATA: event_data,
            }
        )
        return await event_trigger.async_attach_trigger(
            hass, event_config, action, trigger_info, platform_type="device"
        )
    direction, key = SENSOR_TRIGGERS[config[CONF_TYPE]]
    watch = ThresholdWatch(direction, config[key], config[CONF_HYSTERESIS])
    watch.update(_value(hass.states.get(entity_id)))  # the first value only arms
    job = HassJob(action, f"automationone {config[CONF_TYPE]} trigger")
    trigger_data = trigger_info["trigger_data"]

    @callback
    def on_change(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        if not watch.update(_value(new_state)):
            return
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    CONF_PLATFORM: "device",
                    CONF_DOMAIN: DOMAIN,
                    CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                    CONF_TYPE: config[CONF_TYPE],
                    CONF_ENTITY_ID: entity_id,
                    "from_state": event.data["old_state"],
                    "to_state": new_state,
                    "description": f"{entity_id} {direction.value} {config[key]}",
                }
            },
            event.context,
        )

    @callback
    def on_handback(kaiser_id: str) -> None:
        # A relay ran this device's rules while HA was away and acted on values HA did not
        # see: the next value arms the trigger again instead of firing (docs/kaiser.md).
        if _kaiser_of(hass, config[CONF_DEVICE_ID]) == kaiser_id:
            watch.reset()

    unsubscribe_handback = async_dispatcher_connect(hass, SIGNAL_RELAY_HANDBACK, on_handback)
    unsubscribe_state = async_track_state_change_event(hass, entity_id, on_change)

    @callback
    def detach() -> None:
        unsubscribe_handback()
        unsubscribe_state()

    return detach


def _kaiser_of(hass: HomeAssistant, device_id: str) -> str | None:
    """The kaiser id of one of our ESP devices."""
    device = dr.async_get(hass).async_get(device_id)
    for entry_id in config_entry_ids(device) if device is not None else ():
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None and entry.domain == DOMAIN and CONF_ESP_ID in entry.data:
            kaiser_id = entry.data.get(CONF_KAISER_ID)
            return kaiser_id if isinstance(kaiser_id, str) else None
    return None


def _value(state: Any) -> float | None:
    """A numeric state, or None (unknown, unavailable, not a number) as a gap."""
    if state is None:
        return None
    try:
        return float(state.state)
    except ValueError:
        return None
