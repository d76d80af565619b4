"""AutomationOne: ESP32 sensor and actuator networks over MQTT."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components import mqtt
from homeassistant.const import CONF_MAC, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .actuator import ActuatorChannel
from .blueprint_install import async_install_blueprints
from .board_image import async_setup_board_view
from .const import (
    CONF_CALIBRATION,
    CONF_CALIBRATION_HISTORY,
    CONF_ESP_ID,
    CONF_GPIO,
    CONF_KAISER_ID,
    CONF_KIND,
    CONF_MODE,
    CONF_PREDICTION,
    CONF_SENSOR_TYPE,
    DOMAIN,
    KIND_ESP,
    KIND_RELAY,
    MODE_PROCESSED,
    SIGNAL_RELAYS_CHANGED,
    SUBENTRY_ACTUATOR,
    SUBENTRY_SENSOR,
)
from .data import AutomationOneConfigEntry, AutomationOneData, SubentrySnapshot
from .device_config import (
    VERSIONS_FILE,
    ConfigVersions,
    desired_actuators,
    desired_sensors,
    refused_pins,
    sync_repairs,
)
from .entry_records import entry_records
from .firmware_server import async_setup_firmware
from .gpio import boards
from .hub import async_register, following, forget_rejected, rejected_counter
from .kaiser_relay import (
    async_remove_relay_entry,
    async_setup_relay_entry,
    async_unload_relay_entry,
)
from .log_limit import async_install as async_limit_mqtt_log
from .logins import async_remove_logins, async_setup_logins
from .mac_conflict import owner_of, placeholders, sync_issue
from .plugins import async_load_predictors, async_load_processors, get_processors
from .prediction_runtime import PredictionRuntime
from .protocol import Announce, ConfigAck, DeviceConfig
from .protocol.device import DeviceState, PublishFn
from .recommendations import RECOMMENDATIONS_FILE, RecommendationManager
from .registry import (
    esp_device,
    esp_identifier,
    move_to_main_entry,
    register_esp_device,
    relay_identifier,
)
from .rule_import import async_load_claims
from .sensor_channel import SensorChannel
from .services import async_setup_services
from .temperature_source import SourceTemperature, read_temperature

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.IMAGE,
    Platform.LIGHT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# Staleness is checked on a timer rather than per reading, to keep the ingest path cheap.
STALE_CHECK_INTERVAL = timedelta(seconds=5)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Load the sensor types once (built-ins and the user's plug-ins); register services."""
    async_limit_mqtt_log(hass)
    await async_load_processors(hass)
    await async_load_predictors(hass)
    await hass.async_add_executor_job(boards)  # read boards.json once, off the event loop
    async_setup_services(hass)
    await async_install_blueprints(hass)
    await async_load_claims(hass)  # the relays' edge rules take their priorities from them
    await async_setup_firmware(hass)
    async_setup_board_view(hass)
    return True


def _publisher(hass: HomeAssistant) -> PublishFn:
    async def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
        await mqtt.async_publish(hass, topic, payload, qos, retain)

    return publish


async def async_migrate_entry(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> bool:
    """1.1 -> 1.2: the ESP's device moves into no subentry, its entities stay (registry.py).
    1.2 -> 1.3: entries have a kind (`esp`, or `relay` for a Kaiser relay's entry).
    1.3 -> 1.4: the config version and the recommendations move from the entry's own files
    into files shared by every entry (entry_records.py)."""
    if entry.version > 1:
        return False  # written by a newer version of the integration
    if entry.minor_version < 2:
        if (device := esp_device(hass, entry)) is not None:
            move_to_main_entry(hass, entry, device)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    if entry.minor_version < 3:
        hass.config_entries.async_update_entry(
            entry, data={CONF_KIND: KIND_ESP, **entry.data}, minor_version=3
        )
    if entry.minor_version < 4:
        for shared, own in (
            (VERSIONS_FILE, f"{DOMAIN}.config_version.{entry.entry_id}"),
            (RECOMMENDATIONS_FILE, f"{DOMAIN}.recommendations.{entry.entry_id}"),
        ):
            await entry_records(hass, shared).async_adopt(own, entry.entry_id)
        hass.config_entries.async_update_entry(entry, minor_version=4)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> bool:
    """Follow one ESP (or a Kaiser relay: kaiser_relay.py)."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        await async_setup_relay_entry(hass, entry)  # type: ignore[arg-type]
        return True
    followed = following(hass, entry.data[CONF_ESP_ID])
    if (
        followed is not None
        and followed.mac != entry.data[CONF_MAC]
        # Only then look for the owner: a scan of every entry, per entry set up.
        and (owner := owner_of(hass, entry.data[CONF_ESP_ID], entry.data[CONF_MAC])) is not None
    ):
        # Two entries for one topic root (made before this was refused): follow only one.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="esp_id_in_use",
            translation_placeholders=placeholders(owner, entry.data[CONF_MAC]),
        )
    device = DeviceState(
        esp_id=entry.data[CONF_ESP_ID],
        kaiser_id=entry.data[CONF_KAISER_ID],
        mac=entry.data[CONF_MAC].lower(),
        publish=_publisher(hass),
        spawn=lambda coro: entry.async_create_background_task(hass, coro, "automationone publish"),
        rejected=rejected_counter(hass, entry.data[CONF_MAC]),
    )
    versions = ConfigVersions(hass, entry.entry_id)
    await versions.async_load()
    entry.runtime_data = AutomationOneData(
        device=device,
        device_entry=register_esp_device(hass, entry, None),
        device_info=dr.DeviceInfo(identifiers={esp_identifier(entry.data[CONF_MAC])}),
        versions=versions,
        subentries=_subentry_snapshot(entry),
        channels=_build_channels(hass, entry, device),
        actuators={
            subentry_id: ActuatorChannel(
                hass, entry.entry_id, subentry_id, subentry.title, subentry.data, device
            )
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_ACTUATOR
        },
    )
    for channel in entry.runtime_data.channels.values():
        entry.async_on_unload(device.add_reading_handler(channel.key, channel.on_reading))
    for actuator in entry.runtime_data.actuators.values():
        entry.async_on_unload(device.add_actuator_handler(actuator.gpio, actuator.on_status))

    @callback
    def check_stale(now: object) -> None:
        for channel in entry.runtime_data.channels.values():
            channel.check_stale()

    entry.async_on_unload(async_track_time_interval(hass, check_stale, STALE_CHECK_INTERVAL))

    followed_kaiser = [entry.data[CONF_KAISER_ID]]

    @callback
    def on_announce(announce: Announce) -> None:
        # A device may move behind a relay or get new firmware: keep the registry current.
        # The discovery flow of the announce may have written the new kaiser id into the
        # entry already: compare with the kaiser this setup followed.
        if (old_kaiser := followed_kaiser[0]) != device.kaiser_id:
            followed_kaiser[0] = device.kaiser_id
            if entry.data[CONF_KAISER_ID] != device.kaiser_id:
                hass.config_entries.async_update_entry(
                    entry, data={**entry.data, CONF_KAISER_ID: device.kaiser_id}
                )
            # Nothing of the device may stay retained below the old kaiser: after a restart
            # HA would read both roots and could follow the old one.
            entry.async_create_background_task(
                hass,
                _async_clear_old_root(hass, entry, old_kaiser),
                "automationone_clear_old_root",
            )
            # Its retained config now belongs below the new kaiser (same version: the device
            # does not apply it again); the edge rules of both relays change.
            entry.async_create_background_task(
                hass, async_push_config(entry), "automationone_push_config"
            )
            async_dispatcher_send(hass, SIGNAL_RELAYS_CHANGED)
        entry.runtime_data.device_entry = register_esp_device(hass, entry, announce)
        if any(
            c.data.get(CONF_MODE) == MODE_PROCESSED for c in entry.runtime_data.channels.values()
        ):
            # The board sets the ADC model of on-device processing: a changed proc gets pushed
            # (an unchanged config keeps its version, and the device ignores it).
            entry.async_create_background_task(
                hass, async_push_config(entry), "automationone_push_config"
            )

    @callback
    def on_config_ack(ack: ConfigAck) -> None:
        refused = refused_pins(ack, versions.version)
        sync_repairs(hass, entry, refused)
        for channel in entry.runtime_data.channels.values():
            gpio, addr = channel.key
            channel.set_refused(refused.get((SUBENTRY_SENSOR, gpio, addr)))
        for actuator in entry.runtime_data.actuators.values():
            actuator.set_refused(refused.get((SUBENTRY_ACTUATOR, actuator.gpio, None)))

    @callback
    def on_conflict(other_mac: str | None) -> None:
        sync_issue(hass, entry, other_mac)

    entry.async_on_unload(device.add_conflict_listener(on_conflict))
    entry.async_on_unload(device.add_announce_listener(on_announce))
    entry.async_on_unload(device.add_ack_listener(on_config_ack))
    entry.async_on_unload(async_setup_logins(hass, entry))
    entry.async_on_unload(await async_register(hass, device))
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    recommendations = RecommendationManager(hass, entry)
    await recommendations.async_setup()
    entry.runtime_data.recommendations = recommendations
    predictions = entry.runtime_data.predictions = PredictionRuntime(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await predictions.async_start()
    entry.async_on_unload(predictions.async_stop)
    await async_push_config(entry)
    return True


def _build_channels(
    hass: HomeAssistant, entry: AutomationOneConfigEntry, device: DeviceState
) -> dict[str, SensorChannel]:
    processors = get_processors(hass)

    def temperature(entity_id: str) -> SourceTemperature:
        return read_temperature(hass, entity_id)

    channels = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_SENSOR:
            continue
        processor = processors.get(subentry.data[CONF_SENSOR_TYPE])
        if processor is None:
            # A plug-in that vanished or broke: its repair issue says so; skip the sensor.
            continue
        channels[subentry_id] = SensorChannel(
            subentry_id=subentry_id,
            title=subentry.title,
            data=subentry.data,
            processor=processor,
            device=device,
            temperature=temperature,
        )
    return channels


async def _async_clear_old_root(
    hass: HomeAssistant, entry: AutomationOneConfigEntry, kaiser_id: str
) -> None:
    """Clear the retained topics of the device's root below a kaiser it left."""
    old = DeviceState(
        esp_id=entry.data[CONF_ESP_ID],
        kaiser_id=kaiser_id,
        publish=_publisher(hass),
        spawn=hass.async_create_task,
    )
    await old.clear_retained(
        tuple(
            sorted(
                sub.data[CONF_GPIO]
                for sub in entry.subentries.values()
                if sub.subentry_type == SUBENTRY_ACTUATOR
            )
        )
    )


async def async_push_config(entry: AutomationOneConfigEntry) -> None:
    """Publish the config the subentries describe, with a new version if it changed."""
    data = entry.runtime_data
    sensors = desired_sensors(entry)
    actuators = desired_actuators(entry)
    version = await data.versions.async_next(
        DeviceConfig(version=1, sensors=sensors, actuators=actuators)
    )
    await data.device.push_config(
        DeviceConfig(version=version, sensors=sensors, actuators=actuators)
    )


async def _async_reload(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
    """Subentries changed: rebuild entities and push the new config.

    The entry is also updated for other reasons (HA records discovery keys on it whenever the
    device re-announces); those must not reload it.
    """
    snapshot = _subentry_snapshot(entry)
    data = entry.runtime_data
    if snapshot == data.subentries:
        return
    changed = {sid for sid in snapshot.keys() | data.subentries.keys()
               if snapshot.get(sid) != data.subentries.get(sid)}  # fmt: skip
    if all(_only_calibration(data.subentries.get(sid), snapshot.get(sid)) for sid in changed) and (
        changed <= data.channels.keys()
    ):
        # A new calibration changes one channel's math, not its entities: update it in place,
        # so the device's other sensors stay available and every filter keeps its state.
        pushed = desired_sensors(entry)
        for sid in changed:
            data.channels[sid].set_data(entry.subentries[sid].data)
        data.subentries = snapshot
        if desired_sensors(entry) != pushed:  # only if the device's own config holds it
            await async_push_config(entry)
        return
    predictions = data.predictions
    if (
        predictions is not None
        and predictions.can_apply
        and changed <= data.channels.keys()
        and all(_only_prediction(data.subentries.get(sid), snapshot.get(sid)) for sid in changed)
    ):
        # The Predictions step changes what is fitted and which prediction entities the sensor
        # has, nothing the device or the sensor's own entities use: apply it in place.
        data.subentries = snapshot
        for sid in changed:
            predictions.async_apply(sid)
        return
    await hass.config_entries.async_reload(entry.entry_id)


def _only_prediction(before: SubentrySnapshot | None, after: SubentrySnapshot | None) -> bool:
    """Whether a subentry's (title, data) changed in its prediction settings only."""
    if before is None or after is None or before[0] != after[0]:
        return False
    old, new = before[1], after[1]
    return {k: v for k, v in old.items() if k != CONF_PREDICTION} == {
        k: v for k, v in new.items() if k != CONF_PREDICTION
    }


def _only_calibration(before: SubentrySnapshot | None, after: SubentrySnapshot | None) -> bool:
    """Whether a subentry's (title, data) changed in its calibration (and its history) only."""
    if before is None or after is None or before[0] != after[0]:
        return False
    old, new = before[1], after[1]
    calibration = (CONF_CALIBRATION, CONF_CALIBRATION_HISTORY)
    return {k: v for k, v in old.items() if k not in calibration} == {
        k: v for k, v in new.items() if k not in calibration
    }


def _subentry_snapshot(entry: AutomationOneConfigEntry) -> dict[str, SubentrySnapshot]:
    return {sid: (sub.title, sub.data) for sid, sub in entry.subentries.items()}


async def async_unload_entry(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> bool:
    """Stop following an ESP."""
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        return await async_unload_relay_entry(hass, entry)  # type: ignore[arg-type]
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
    """Clear the device's retained topics, so it is not rediscovered from stale messages."""
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        await async_remove_relay_entry(hass, entry)
        return
    await ConfigVersions(hass, entry.entry_id).async_remove()
    forget_rejected(hass, entry.data[CONF_MAC])
    await RecommendationManager(hass, entry).async_remove()
    await async_remove_logins(hass, entry)  # its broker login, if it had one
    if owner_of(hass, entry.data[CONF_ESP_ID], entry.data[CONF_MAC]) is not None:
        return  # the topics (and their conflict issue) are another board's: leave them alone
    sync_issue(hass, entry, None)
    if not await mqtt.async_wait_for_mqtt_client(hass):
        return
    device = DeviceState(
        esp_id=entry.data[CONF_ESP_ID],
        kaiser_id=entry.data[CONF_KAISER_ID],
        publish=_publisher(hass),
        spawn=hass.async_create_task,
    )
    await device.clear_retained(
        tuple(
            sorted(
                sub.data[CONF_GPIO]
                for sub in entry.subentries.values()
                if sub.subentry_type == SUBENTRY_ACTUATOR
            )
        )
    )


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: AutomationOneConfigEntry, device_entry: dr.DeviceEntry
) -> bool:
    """Allow removing a relay device that no ESP of this entry uses any more."""
    if entry.data.get(CONF_KIND) == KIND_RELAY:
        return False  # the relay entry's own device goes with the entry
    return relay_identifier(entry.data[CONF_KAISER_ID]) not in device_entry.identifiers and (
        esp_identifier(entry.data[CONF_MAC]) not in device_entry.identifiers
    )
