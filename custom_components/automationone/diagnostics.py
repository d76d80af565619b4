"""Diagnostics of one ESP: its entry and subentries, what the device last said, the config HA
pushed and the device's answer, the state of every sensor and actuator, and what the device
sent that was rejected (by reason, counted across entry reloads). MACs and any URL or token
are redacted."""

from __future__ import annotations

from dataclasses import asdict
import time
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_MAC
from homeassistant.core import HomeAssistant

from .const import CONF_FILTER, CONF_KIND, KIND_RELAY
from .data import AutomationOneConfigEntry
from .kaiser_relay import relay_diagnostics
from .logins import REDACT as LOGIN_REDACT
from .replay_statistics import replay_statistics
from .sensor_channel import SensorChannel

TO_REDACT = {
    CONF_MAC,
    "mac",
    "other_mac",
    "url",
    "token",
    "password",
    "webhook_id",
    "push_url",
    *LOGIN_REDACT,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AutomationOneConfigEntry
) -> dict[str, Any]:
    """Everything a bug report about one device needs, redacted."""
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        return async_redact_data(relay_diagnostics(hass, entry), TO_REDACT)  # type: ignore[arg-type]
    data = entry.runtime_data
    device = data.device
    diagnostics: dict[str, Any] = {
        "entry": dict(entry.data),
        "subentries": [
            {
                "subentry_id": subentry_id,
                "type": subentry.subentry_type,
                "title": subentry.title,
                "unique_id": subentry.unique_id,
                "data": dict(subentry.data),
            }
            for subentry_id, subentry in entry.subentries.items()
        ],
        "device": {
            "online": device.online,
            "broker_connected": device.broker_connected,
            "available": device.available,
            "kaiser_id": device.kaiser_id,
            "announce": asdict(device.announce) if device.announce else None,
            "heartbeat": asdict(device.heartbeat) if device.heartbeat else None,
            "rejected_messages": dict(sorted(device.rejected.items())),
            "last_error": device.last_error,
            "readings_received": device.readings_received,
            "readings_unrouted": device.readings_unrouted,
            "emergency": device.emergency,
            # The seq of the last sensor message taken in since HA started.
            "last_reading_seq": device.last_reading_seq,
            # Resent messages (sent again after a reconnect) already taken in, so dropped.
            "resends_dropped": device.resends_dropped,
            # Readings sent as live that came late (a bridge's outage): taken in as replays.
            "late_readings": device.late_readings,
            "device_emergency": device.device_emergency,
            "house_emergency": device.kaiser_emergency,
            "ota": asdict(device.ota) if device.ota else None,
        },
        "config": {
            "version": data.versions.version,
            "pushed": asdict(device.pushed_config) if device.pushed_config else None,
            "ack": asdict(device.config_ack) if device.config_ack else None,
        },
        "sensors": {channel.title: _sensor(channel) for channel in data.channels.values()},
        "actuators": {
            actuator.title: {
                "config": asdict(actuator.config),
                "available": actuator.available,
                "status": asdict(actuator.status) if actuator.status else None,
                "refused_pin": actuator.refused_pin,
            }
            for actuator in data.actuators.values()
        },
        "recommendations": _recommendations(entry),
        "replay_statistics": _replays(hass),
    }
    predictions = data.predictions
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
    return async_redact_data(diagnostics, TO_REDACT)


def _replays(hass: HomeAssistant) -> dict[str, int]:
    """Replayed readings of all devices (docs/protocol.md "Replays"): waiting for their hour,
    written into statistics, dropped (no recorder, or too many waiting)."""
    replays = replay_statistics(hass)
    return {"waiting": replays.buffered, "imported": replays.imported, "dropped": replays.dropped}


def _sensor(channel: SensorChannel) -> dict[str, Any]:
    """One sensor channel's state: why it is (un)available and what it last computed."""
    result = channel.result
    raw = channel.raw
    return {
        "subentry_id": channel.subentry_id,
        "type": channel.processor.id,
        "gpio": channel.key[0],
        "addr": channel.key[1],
        "available": channel.available,
        "stale": channel.stale,
        "seconds_since_reading": None
        if channel.last_rx is None
        else round(time.monotonic() - channel.last_rx, 1),
        "refused": channel.refused,
        "value": None if result is None else result.value,
        "unit": None if result is None else result.unit,
        "quality": None if result is None else result.quality.value,
        "raw": list(raw) if isinstance(raw, tuple) else raw,
        "filter": channel.data.get(CONF_FILTER, "none"),
        "filter_rejected": bool(channel.filter is not None and channel.filter.rejected),
        "calibration_points": 0 if channel.calibration is None else len(channel.calibration.points),
        "temperature_compensation": channel.compensation,
    }


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
