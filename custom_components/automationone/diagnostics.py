"""Diagnostics of one ESP, with the MAC redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_MAC
from homeassistant.core import HomeAssistant

from .data import AutomationOneConfigEntry
from .logins import REDACT as LOGIN_REDACT

TO_REDACT = {CONF_MAC, "mac", "webhook_id", "push_url", *LOGIN_REDACT}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AutomationOneConfigEntry
) -> dict[str, Any]:
    """Entry data, the last announce and heartbeat, what the device sent that we dropped, and
    each actuator's limits and last status."""
    device = entry.runtime_data.device
    diagnostics: dict[str, Any] = {
        "entry": async_redact_data(dict(entry.data), TO_REDACT),
        "device": {
            "online": device.online,
            "broker_connected": device.broker_connected,
            "kaiser_id": device.kaiser_id,
            "announce": async_redact_data(asdict(device.announce), TO_REDACT)
            if device.announce
            else None,
            "heartbeat": asdict(device.heartbeat) if device.heartbeat else None,
            "rejected_messages": dict(device.rejected),
            "last_error": device.last_error,
            "emergency": device.emergency,
        },
        "actuators": {
            actuator.title: {
                "config": asdict(actuator.config),
                "status": asdict(actuator.status) if actuator.status else None,
                "refused_pin": actuator.refused_pin,
            }
            for actuator in entry.runtime_data.actuators.values()
        },
        "recommendations": _recommendations(entry),
    }
    predictions = entry.runtime_data.predictions
    if predictions is not None and predictions.sensors:  # only sensors that opted in
        diagnostics["predictions"] = {
            sensor.title: {
                "settings": asdict(sensor.settings),
                "predictor_loaded": sensor.predictor is not None,
                "readings": len(sensor.buffer),
                "error": sensor.error,
                "latest": asdict(sensor.latest) if sensor.latest else None,
            }
            for sensor in predictions.sensors.values()
        }
    return diagnostics


def _recommendations(entry: AutomationOneConfigEntry) -> dict[str, Any] | None:
    """Open recommendations, auto switches and the AI service (its secrets redacted)."""
    manager = entry.runtime_data.recommendations
    if manager is None:
        return None
    return {
        "open": [rec.to_dict() for rec in manager.open.values()],
        "auto": dict(manager.auto),
        "decisions": len(manager.feedback.decisions),
        "ai_service": async_redact_data(manager.ai_service.diagnostics(), TO_REDACT)
        if manager.ai_service is not None
        else None,
    }
