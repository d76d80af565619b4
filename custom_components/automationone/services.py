"""Services of AutomationOne: `calibrate` for scripts (the UI has a guided dialog), `pulse`,
`emergency_stop`, `clear_emergency`, `import_rules` (rule_import.py) and `simulate_rule`
(simulate.py)."""

from __future__ import annotations

from typing import Any

from homeassistant.components import mqtt
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, CONF_MAC
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import CONF_CALIBRATION, CONF_KAISER_ID, DOMAIN
from .data import AutomationOneConfigEntry
from .hub import DATA_HUB
from .processors import Calibration, CalibrationPoint, calibration_problem, new_calibration
from .protocol import DEFAULT_KAISER_ID, Emergency, emergency_topic, encode
from .protocol.device import DeviceState
from .recommendations import async_setup_recommendation_services
from .registry import actuator_of, config_entry_ids, subentry_of
from .rule_import import IMPORT_RULES_SCHEMA, SERVICE_IMPORT_RULES, async_import_rules
from .sensor_channel import SensorChannel
from .service_input import invalid
from .simulate import SERVICE_SIMULATE_RULE, SIMULATE_RULE_SCHEMA, async_simulate_rule

SERVICE_CALIBRATE = "calibrate"
ATTR_REFERENCE = "reference"
ATTR_POINTS = "points"
ATTR_CLEAR = "clear"
ATTR_TEMPERATURE = "temperature"

CALIBRATE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Required(ATTR_ENTITY_ID): cv.entity_id,
            vol.Exclusive(ATTR_REFERENCE, "how"): vol.Coerce(float),
            vol.Exclusive(ATTR_POINTS, "how"): vol.All(
                [vol.ExactSequence([vol.Coerce(float), vol.Coerce(float)])], vol.Length(min=1)
            ),
            vol.Exclusive(ATTR_CLEAR, "how"): True,
            vol.Optional(ATTR_TEMPERATURE): vol.Coerce(float),
        }
    ),
    cv.has_at_least_one_key(ATTR_REFERENCE, ATTR_POINTS, ATTR_CLEAR),
)


def _channel(hass: HomeAssistant, entity_id: str) -> tuple[AutomationOneConfigEntry, SensorChannel]:
    if (found := subentry_of(hass, entity_id)) is not None:
        entry, subentry_id, _ = found
        if (channel := entry.runtime_data.channels.get(subentry_id)) is not None:
            return entry, channel
    raise invalid("not_a_sensor", entity_id=entity_id)


async def _async_calibrate(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    entry, channel = _channel(hass, call.data[ATTR_ENTITY_ID])
    subentry = entry.subentries[channel.subentry_id]
    data = dict(subentry.data)
    if call.data.get(ATTR_CLEAR):
        data.pop(CONF_CALIBRATION, None)
        hass.config_entries.async_update_subentry(entry, subentry, data=data)
        return {"calibration": None}
    if ATTR_POINTS in call.data:
        points = [CalibrationPoint(raw=r, reference=ref) for r, ref in call.data[ATTR_POINTS]]
    else:
        if channel.raw is None or not channel.available:
            raise invalid("no_reading", entity_id=call.data[ATTR_ENTITY_ID])
        reference = call.data[ATTR_REFERENCE]
        live = channel.processor.calibration_value(channel.raw)  # type: ignore[arg-type]
        previous = channel.calibration.points if channel.calibration else ()
        points = [p for p in previous if p.reference != reference]
        points.append(CalibrationPoint(raw=live, reference=reference))
    if (problem := calibration_problem(Calibration(points=tuple(points)))) is not None:
        raise invalid(f"calibration_{problem}", entity_id=call.data[ATTR_ENTITY_ID])
    temperature = call.data.get(ATTR_TEMPERATURE)
    if temperature is None:
        temperature = channel.temperature_c()
    calibration = new_calibration(
        points, temperature_c=temperature, created=dt_util.utcnow().isoformat(timespec="seconds")
    )
    data[CONF_CALIBRATION] = calibration.to_dict()
    hass.config_entries.async_update_subentry(entry, subentry, data=data)
    result: dict[str, Any] = {"calibration": calibration.to_dict()}
    return result


SERVICE_PULSE = "pulse"
SERVICE_EMERGENCY_STOP = "emergency_stop"
SERVICE_CLEAR_EMERGENCY = "clear_emergency"
ATTR_DURATION = "duration"
ATTR_REASON = "reason"

PULSE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ENTITY_ID): cv.entity_id,
        vol.Required(ATTR_DURATION): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=86400)),
    }
)
EMERGENCY_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_REASON): vol.All(str, vol.Length(max=64)),
        vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    }
)
CLEAR_EMERGENCY_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])}
)


async def _async_pulse(call: ServiceCall) -> None:
    actuator = actuator_of(call.hass, call.data[ATTR_ENTITY_ID])
    await actuator.async_command("pulse", duration_s=call.data[ATTR_DURATION])


def kaisers_in_use(hass: HomeAssistant) -> set[str]:
    """Kaiser ids of every configured device (and the main broker's)."""
    return {DEFAULT_KAISER_ID} | {
        entry.data[CONF_KAISER_ID] for entry in hass.config_entries.async_entries(DOMAIN)
    }


async def async_broadcast_emergency(
    hass: HomeAssistant, kaiser_ids: set[str], stop: bool, reason: str | None = None
) -> None:
    """Publish the retained emergency broadcast of each kaiser; actuators refuse at once."""
    message = Emergency(
        action="stop" if stop else "clear",
        reason=reason,
        ts=int(dt_util.utcnow().timestamp() * 1000),
    )
    payload = encode(message)
    hub = hass.data.get(DATA_HUB)
    for kaiser_id in sorted(kaiser_ids):
        if hub is not None:
            hub.set_emergency(kaiser_id, stop)  # do not wait for the broker's echo
        await mqtt.async_publish(hass, emergency_topic(kaiser_id), payload, 1, True)


def _devices_of(hass: HomeAssistant, device_ids: list[str]) -> list[DeviceState]:
    """The loaded devices of registry device ids (ServiceValidationError for another)."""
    registry = dr.async_get(hass)
    devices = []
    for device_id in device_ids:
        device_entry = registry.async_get(device_id)
        entries = [
            entry
            for entry_id in (config_entry_ids(device_entry) if device_entry else ())
            if (entry := hass.config_entries.async_get_entry(entry_id)) is not None
            and entry.domain == DOMAIN
            and hasattr(entry, "runtime_data")
            and device_entry is not None
            and (DOMAIN, entry.data[CONF_MAC]) in device_entry.identifiers
        ]
        if not entries:
            raise invalid("not_a_device", device_id=device_id)
        devices.append(entries[0].runtime_data.device)
    return devices


async def _async_emergency(call: ServiceCall, stop: bool) -> None:
    """With `device_id`: those devices' own stop or clear; without: every kaiser's broadcast
    (house-wide). Each is cleared only on its own topic, as the devices enforce it."""
    reason = call.data.get(ATTR_REASON) or "service"
    if ATTR_DEVICE_ID not in call.data:
        await async_broadcast_emergency(call.hass, kaisers_in_use(call.hass), stop, reason)
        return
    message = Emergency(
        action="stop" if stop else "clear",
        reason=reason,
        ts=int(dt_util.utcnow().timestamp() * 1000),
    )
    for device in _devices_of(call.hass, call.data[ATTR_DEVICE_ID]):
        await device.publish_emergency(message)


async def _async_emergency_stop(call: ServiceCall) -> None:
    await _async_emergency(call, True)


async def _async_clear_emergency(call: ServiceCall) -> None:
    await _async_emergency(call, False)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services (once, in async_setup)."""
    hass.services.async_register(DOMAIN, SERVICE_PULSE, _async_pulse, schema=PULSE_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_EMERGENCY_STOP, _async_emergency_stop, schema=EMERGENCY_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_CLEAR_EMERGENCY, _async_clear_emergency, schema=CLEAR_EMERGENCY_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CALIBRATE,
        _async_calibrate,
        schema=CALIBRATE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_IMPORT_RULES,
        async_import_rules,
        schema=IMPORT_RULES_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SIMULATE_RULE,
        async_simulate_rule,
        schema=SIMULATE_RULE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    async_setup_recommendation_services(hass)
