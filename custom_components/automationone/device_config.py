"""The desired config of a device, built from its subentries, pushed with a version."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import hashlib
import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

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
from .processors.on_device import device_program
from .protocol import ActuatorConfig, ConfigAck, DeviceConfig, SensorConfig, SensorProcessing

STORAGE_VERSION = 1


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


class _VersionFile:
    """Every device's last pushed config version, in one file for all entries.

    A version is on disk before it is pushed (a version reused after a crash with other
    content would be ignored by the device); the entries set up together share one write.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._store: Store[dict[str, dict[str, Any]]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.config_versions"
        )
        self.records: dict[str, dict[str, Any]] = {}
        self._loading: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None

    async def async_load(self) -> None:
        """Read the file once, however many entries ask at the same time."""
        if self._loading is None:
            self._loading = self._hass.async_create_task(self._load(), eager_start=True)
        try:
            await asyncio.shield(self._loading)
        except Exception:
            self._loading = None  # the next entry set up tries again
            raise

    async def _load(self) -> None:
        self.records = await self._store.async_load() or {}

    async def async_write(self) -> None:
        """Write the records; returns once they (and what others changed meanwhile) are on
        disk."""
        if self._writing is None:
            self._writing = self._hass.async_create_task(self._write(), eager_start=False)
        await asyncio.shield(self._writing)

    async def _write(self) -> None:
        # Started on the next loop turn: every change made before it is in this write. One
        # made after it starts a write of its own.
        self._writing = None
        await self._store.async_save(dict(self.records))


_VERSION_FILE: HassKey[_VersionFile] = HassKey(f"{DOMAIN}_config_versions")


class ConfigVersions:
    """The version of the config last pushed to a device, kept across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One device's record in the shared file."""
        self._hass = hass
        self._entry_id = entry_id
        if (shared := hass.data.get(_VERSION_FILE)) is None:
            shared = hass.data[_VERSION_FILE] = _VersionFile(hass)
        self._file = shared
        self.version = 0
        self._digest = ""

    async def async_load(self) -> None:
        """Read the last version."""
        await self._file.async_load()
        if (record := self._file.records.get(self._entry_id)) is not None:
            self.version = record["version"]
            self._digest = record["digest"]

    async def async_migrate_own_file(self) -> None:
        """Entries made before 1.4 kept their version in a file of their own: move it into the
        shared file (config entry migration 1.3 -> 1.4)."""
        own: Store[dict[str, Any]] = Store(
            self._hass, STORAGE_VERSION, f"{DOMAIN}.config_version.{self._entry_id}"
        )
        if (record := await own.async_load()) is None:
            return
        await self._file.async_load()
        self._file.records[self._entry_id] = record
        await self._file.async_write()
        await own.async_remove()

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
        await self._file.async_load()
        if self._file.records.pop(self._entry_id, None) is not None:
            await self._file.async_write()


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
