"""The desired config of a device, built from its subentries, pushed with a version."""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_ACTUATOR_TYPE,
    CONF_ADDR,
    CONF_COOLDOWN_S,
    CONF_FAILSAFE_S,
    CONF_GPIO,
    CONF_INTERVAL_S,
    CONF_INVERTED,
    CONF_MAX_PER_HOUR,
    CONF_MAX_RUNTIME_S,
    CONF_MODE,
    CONF_SAFE_STATE,
    CONF_SCL,
    CONF_TEMPERATURE_ENTITY,
    DOMAIN,
    MODE_PROCESSED,
    MODE_RAW,
    SUBENTRY_ACTUATOR,
)
from .data import AutomationOneConfigEntry
from .entry_records import entry_records
from .processors.on_device import device_program
from .protocol import ActuatorConfig, ConfigAck, DeviceConfig, SensorConfig, SensorProcessing


def sensor_config(
    data: Mapping[str, Any], device_type: str, proc: SensorProcessing | None = None
) -> SensorConfig:
    """The protocol's view of one sensor subentry; `device_type` tells how to read the pin."""
    return SensorConfig(
        gpio=data[CONF_GPIO],
        type=device_type,
        interval_ms=int(data[CONF_INTERVAL_S] * 1000),
        mode=None if data.get(CONF_MODE, MODE_RAW) == MODE_RAW else data[CONF_MODE],
        addr=data.get(CONF_ADDR) or None,
        scl=data.get(CONF_SCL),
        proc=proc,
    )


def _temperature_gpio(entry: AutomationOneConfigEntry) -> int | None:
    """The pin of the device's own temperature sensor (°C), for compensation on the device."""
    pins = sorted(
        channel.data[CONF_GPIO]
        for channel in entry.runtime_data.channels.values()
        if channel.processor.unit == "°C"
    )
    return pins[0] if pins else None


def desired_sensors(entry: AutomationOneConfigEntry) -> tuple[SensorConfig, ...]:
    """Sensors of every sensor subentry HA can process, in a stable order.

    A sensor processed on the device also gets what the device needs to compute it (`proc`:
    docs/protocol.md, On-device processing); one with a temperature source compensates with
    the device's own temperature sensor, when it has one.
    """
    by_pin: dict[tuple[int, str], SensorConfig] = {}
    for channel in entry.runtime_data.channels.values():
        proc = None
        if channel.data.get(CONF_MODE) == MODE_PROCESSED:
            temp_gpio = (
                _temperature_gpio(entry) if channel.data.get(CONF_TEMPERATURE_ENTITY) else None
            )
            proc = device_program(
                channel.processor, channel.calibration, channel.params(), temp_gpio
            )
        sensor = sensor_config(channel.data, channel.processor.device_type, proc)
        key = (sensor.gpio, sensor.addr or "")
        # Two outputs of one chip (SHT31 temperature and humidity) are one read on the device.
        if key not in by_pin or sensor.interval_ms < by_pin[key].interval_ms:
            by_pin[key] = sensor
    return tuple(by_pin[key] for key in sorted(by_pin))


def actuator_config(data: Mapping[str, Any]) -> ActuatorConfig:
    """The protocol's view of one actuator subentry, with the limits the device enforces."""
    return ActuatorConfig(
        gpio=data[CONF_GPIO],
        type=data[CONF_ACTUATOR_TYPE],
        inverted=bool(data.get(CONF_INVERTED, False)),
        safe_state=int(data.get(CONF_SAFE_STATE, 0)),
        max_runtime_s=int(data.get(CONF_MAX_RUNTIME_S, 0)),
        cooldown_s=int(data.get(CONF_COOLDOWN_S, 0)),
        max_per_hour=int(data.get(CONF_MAX_PER_HOUR, 0)),
        failsafe_s=int(data.get(CONF_FAILSAFE_S, 0)),
    )


def desired_actuators(entry: AutomationOneConfigEntry) -> tuple[ActuatorConfig, ...]:
    """Actuators of every actuator subentry, by pin."""
    actuators = [
        actuator_config(sub.data)
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_ACTUATOR
    ]
    return tuple(sorted(actuators, key=lambda a: a.gpio))


VERSIONS_FILE = f"{DOMAIN}.config_versions"


class ConfigVersions:
    """The version of the config last pushed to a device, kept across restarts in one file
    for every device. A version is on disk before it is pushed (a version reused after a
    crash with other content would be ignored by the device)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One device's record in the shared file."""
        self._entry_id = entry_id
        self._file = entry_records(hass, VERSIONS_FILE)
        self.version = 0
        self._digest = ""

    async def async_load(self) -> None:
        """Read the last version."""
        await self._file.async_load()
        if (record := self._file.get(self._entry_id)) is not None:
            self.version = record["version"]
            self._digest = record["digest"]

    async def async_next(self, config_without_version: DeviceConfig) -> int:
        """The version for this content: the same as last time, or one more if it changed."""
        content = json.dumps(
            [config_without_version.sensors, config_without_version.actuators], default=repr
        )
        digest = hashlib.sha256(content.encode()).hexdigest()
        if digest != self._digest or self.version == 0:
            self.version += 1
            self._digest = digest
            self._file.records[self._entry_id] = {"version": self.version, "digest": digest}
            await self._file.async_write()
        return self.version

    async def async_remove(self) -> None:
        """Forget the device."""
        await self._file.async_forget(self._entry_id)


def refused_pins(ack: ConfigAck | None, version: int) -> dict[tuple[str, int, str | None], str]:
    """(kind, gpio, addr) -> error code of the pins the device refused in `version`."""
    if ack is None or ack.version != version:
        return {}
    return {(r.kind, r.gpio, r.addr): r.error or "bad_config" for r in ack.results if not r.ok}


def issue_id(entry_id: str, kind: str, gpio: int, addr: str | None) -> str:
    """Repair issue id of one refused pin."""
    return f"pin_refused_{entry_id}_{kind}_{gpio}_{addr or ''}"


def sync_repairs(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    refused: Mapping[tuple[str, int, str | None], str],
) -> None:
    """One repair issue per refused pin; issues of pins now accepted are removed."""
    prefix = f"pin_refused_{entry.entry_id}_"
    wanted = {issue_id(entry.entry_id, *key): (key, error) for key, error in refused.items()}
    registry = ir.async_get(hass)
    for (domain, existing), _ in list(registry.issues.items()):
        if domain == DOMAIN and existing.startswith(prefix) and existing not in wanted:
            ir.async_delete_issue(hass, DOMAIN, existing)
    for ident, ((kind, gpio, addr), error) in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            ident,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=f"pin_refused_{error}"
            if error in KNOWN_PIN_ERRORS
            else "pin_refused_other",
            translation_placeholders={
                "device": entry.title,
                "kind": kind,
                "gpio": str(gpio),
                "addr": addr or "-",
                "error": error,
            },
        )


# config/ack error codes with their own explanation in the translations.
KNOWN_PIN_ERRORS = frozenset(
    {
        "gpio_invalid",
        "gpio_reserved",
        "gpio_input_only",
        "gpio_in_use",
        "gpio_adc2_wifi",
        "type_unsupported",
        "too_many",
        "bus_error",
    }
)
