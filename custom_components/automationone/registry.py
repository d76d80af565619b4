"""Our devices and entities in HA's device and entity registries, for every module.

The layout, on every HA we support: the ESP is one device of its config entry in no subentry;
the entities of sensor and actuator subentries belong to their subentry and sit on that device.
HA 2025.4 lets a device be in several subentries and attaches an entity through its
`device_info` only; HA >= 2026.8 keeps a device in one subentry (a `device_info` from another
subentry silently moves it, and HA then deletes the entities of the old subentry) and attaches
an entity through its `device_entry`. Which one runs is detected from the registry itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_MAC, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED

from .const import (
    BOARD_MODELS,
    CONF_BOARD,
    CONF_KAISER_ID,
    DOMAIN,
    MANUFACTURER,
    SUBENTRY_ACTUATOR,
    SUBENTRY_SENSOR,
)
from .protocol import DEFAULT_KAISER_ID, Announce
from .service_input import invalid

if TYPE_CHECKING:
    from .actuator import ActuatorChannel
    from .data import AutomationOneConfigEntry

# HA >= 2026.8: a device belongs to one config subentry (DeviceEntry.config_subentry_id).
ONE_SUBENTRY_PER_DEVICE = hasattr(dr.DeviceEntry, "config_subentry_id")
ACTUATOR_DOMAINS = ("switch", "light")


def esp_identifier(mac: str) -> tuple[str, str]:
    """Device registry identifier of an ESP."""
    return (DOMAIN, mac)


def relay_entry_unique_id(kaiser_id: str) -> str:
    """Unique id of a relay's config entry."""
    return f"kaiser-{kaiser_id}"


def relay_identifier(kaiser_id: str) -> tuple[str, str]:
    """Device registry identifier of a Kaiser relay node."""
    return (DOMAIN, f"kaiser-{kaiser_id}")


@callback
def config_entry_ids(device: dr.DeviceEntry) -> tuple[str, ...]:
    """The config entries of a device: one on current HA (which deprecates the set), a set on
    HA 2025.4."""
    if hasattr(device, "config_entry_id"):
        return (device.config_entry_id,)
    return tuple(device.config_entries)


def device_by_identifier(
    hass: HomeAssistant, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """The config entry's device with this identifier.

    Identifiers are unique per config entry only on current HA, which deprecates the global
    lookup; HA 2025.4 has only that one.
    """
    registry = dr.async_get(hass)
    if hasattr(registry, "async_get_device_by_identifier"):
        device: dr.DeviceEntry | None = registry.async_get_device_by_identifier(
            identifier, config_entry_id
        )
        return device
    device = registry.async_get_device(identifiers={identifier})
    return device if device is not None and config_entry_id in device.config_entries else None


@callback
def esp_device(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> dr.DeviceEntry | None:
    """The device of an ESP's config entry."""
    return device_by_identifier(hass, esp_identifier(entry.data[CONF_MAC]), entry.entry_id)


@callback
def register_esp_device(
    hass: HomeAssistant, entry: AutomationOneConfigEntry, announce: Announce | None
) -> dr.DeviceEntry:
    """Create or update the ESP's device (and its relay's), in no subentry."""
    registry = dr.async_get(hass)
    kaiser_id = entry.data[CONF_KAISER_ID]
    via_device_id = None
    if kaiser_id != DEFAULT_KAISER_ID and (relay := _relay_device_id(hass, kaiser_id)):
        via_device_id = relay  # the relay's own entry (kaiser_relay.py)
    elif kaiser_id != DEFAULT_KAISER_ID:
        via_device_id = registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=None,
            identifiers={relay_identifier(kaiser_id)},
            manufacturer="AutomationOne",
            model="Kaiser relay",
            name=f"Kaiser {kaiser_id}",
        ).id
    if (existing := esp_device(hass, entry)) is not None:
        move_to_main_entry(hass, entry, existing)
    board = entry.data[CONF_BOARD]
    mac = entry.data[CONF_MAC]
    device = registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=None,
        identifiers={esp_identifier(mac)},
        connections={(dr.CONNECTION_NETWORK_MAC, mac)},
        manufacturer=MANUFACTURER,
        model=BOARD_MODELS.get(board, board),
        model_id=board,
        name=entry.data[CONF_NAME],
        # Setup registers the device before the first announce: keep the version it knows.
        sw_version=f"{announce.fw} {announce.fw_version}" if announce else UNDEFINED,
    )
    # By id (HA 2025.4's async_get_or_create knows only the deprecated `via_device`).
    if device.via_device_id != via_device_id:
        updated = registry.async_update_device(device.id, via_device_id=via_device_id)
        device = updated if updated is not None else device
    return device


def _relay_device_id(hass: HomeAssistant, kaiser_id: str) -> str | None:
    from .kaiser_relay import relay_device_id

    return relay_device_id(hass, kaiser_id)


@callback
def move_to_main_entry(
    hass: HomeAssistant, entry: AutomationOneConfigEntry, device: dr.DeviceEntry
) -> None:
    """Put the ESP's device back into no subentry, keeping every entity on it.

    Earlier versions registered it from every subentry's entities: HA >= 2026.8 then keeps it in
    one subentry (the last one, or the first one when it migrated a 2025.4 registry). Moving it
    makes HA delete that subentry's entities from the device; they are taken off the device for
    the move and put back, so their ids, history and automations stay.
    """
    if not ONE_SUBENTRY_PER_DEVICE:
        return
    subentry_id: str | None = getattr(device, "config_subentry_id", None)
    if subentry_id is None:
        return
    entities = er.async_get(hass)
    riders = [
        reg.entity_id
        for reg in er.async_entries_for_device(entities, device.id, include_disabled_entities=True)
        if reg.config_entry_id == entry.entry_id and reg.config_subentry_id == subentry_id
    ]
    for entity_id in riders:
        entities.async_update_entity(entity_id, device_id=None)
    update_device: Any = dr.async_get(hass).async_update_device  # this argument is 2026.8+
    update_device(device.id, new_config_subentry_id=None)
    for entity_id in riders:
        entities.async_update_entity(entity_id, device_id=device.id)


def our_entities(hass: HomeAssistant, device_id: str) -> list[er.RegistryEntry]:
    """AutomationOne's registry entries of a device."""
    return [
        entry
        for entry in er.async_entries_for_device(er.async_get(hass), device_id)
        if entry.platform == DOMAIN
    ]


def is_subentry_main_entity(
    hass: HomeAssistant, entry: er.RegistryEntry, subentry_type: str, domains: tuple[str, ...]
) -> bool:
    """The main entity of a sensor or actuator subentry (not its counters or thresholds)."""
    if entry.domain not in domains or not entry.config_entry_id or not entry.config_subentry_id:
        return False
    config_entry = hass.config_entries.async_get_entry(entry.config_entry_id)
    subentry = config_entry.subentries.get(entry.config_subentry_id) if config_entry else None
    return (
        subentry is not None
        and subentry.subentry_type == subentry_type
        and entry.unique_id.endswith(f"-{entry.config_subentry_id}")
    )


def is_processed_sensor(hass: HomeAssistant, entry: er.RegistryEntry) -> bool:
    """The processed value of a sensor subentry."""
    return is_subentry_main_entity(hass, entry, SUBENTRY_SENSOR, ("sensor",))


def is_actuator(hass: HomeAssistant, entry: er.RegistryEntry) -> bool:
    """The switch or light of an actuator subentry."""
    return is_subentry_main_entity(hass, entry, SUBENTRY_ACTUATOR, ACTUATOR_DOMAINS)


def connectivity_entity(hass: HomeAssistant, device_id: str) -> str | None:
    """The device's connectivity binary sensor."""
    for entry in our_entities(hass, device_id):
        if entry.domain == "binary_sensor" and entry.unique_id.endswith("-connectivity"):
            return entry.entity_id
    return None


def subentry_of(
    hass: HomeAssistant, entity_id: str
) -> tuple[AutomationOneConfigEntry, str, er.RegistryEntry] | None:
    """The loaded AutomationOne entry, subentry id and registry entry of a subentry's entity."""
    entry_reg = er.async_get(hass).async_get(entity_id)
    if entry_reg is None or not entry_reg.config_entry_id or not entry_reg.config_subentry_id:
        return None
    entry: AutomationOneConfigEntry | None = hass.config_entries.async_get_entry(
        entry_reg.config_entry_id
    )
    if entry is None or entry.domain != DOMAIN or not hasattr(entry, "runtime_data"):
        return None
    return entry, entry_reg.config_subentry_id, entry_reg


def actuator_of(hass: HomeAssistant, entity_id: str) -> ActuatorChannel:
    """The actuator channel of a switch or light of ours (ServiceValidationError if not)."""
    if (found := subentry_of(hass, entity_id)) is not None:
        entry, subentry_id, entry_reg = found
        actuator = entry.runtime_data.actuators.get(subentry_id)
        if actuator is not None and entry_reg.domain in ACTUATOR_DOMAINS:
            return actuator
    raise invalid("not_an_actuator", entity_id=entity_id)
