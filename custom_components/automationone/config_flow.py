"""Config flow: MQTT discovery of announcing ESPs, or a manual ESP id."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_MAC, CONF_NAME, CONF_PORT
from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import format_mac
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.util import dt as dt_util
import voluptuous as vol
from yarl import URL

from .ai_service import (
    CONF_PUSH_INTERVAL_MIN,
    CONF_PUSH_URL,
    DEFAULT_PUSH_INTERVAL_MIN,
    webhook_url,
)
from .broker_security.tls import check_ca_pem, write_certificates
from .const import (
    ANNOUNCE_WAIT_S,
    BOARD_MODELS,
    CONF_BOARD,
    CONF_BRIDGE,
    CONF_ESP_ID,
    CONF_KAISER_ID,
    CONF_KIND,
    DOMAIN,
    KIND_ESP,
    KIND_RELAY,
)
from .device_move import async_move_device, can_move, move_targets
from .hub import payload_bytes
from .logins import (
    CONF_ADMIN_PASSWORD,
    CONF_ADMIN_USERNAME,
    CONF_CA,
    CONF_SHARED_LOGIN,
    CONF_TLS_HOSTS,
    CONF_TLS_PORT,
    AdminLogin,
    LoginSetupError,
    async_create_relay_login,
    async_start_login,
    known_admin,
    known_tls,
    relay_kaiser,
    relay_login,
)
from .mac_conflict import owner_of, placeholders
from .protocol import (
    DEFAULT_KAISER_ID,
    Announce,
    ProtocolError,
    TopicKind,
    device_topic,
    parse_announce,
    parse_topic,
    validate_id,
)
from .protocol.relay import (
    RELAY_CAFILE,
    RelayAnnounce,
    parse_relay_announce,
    parse_relay_topic,
)
from .registry import relay_entry_unique_id
from .subentry_flow import SUBENTRY_FLOWS

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_ESP_ID): str,
        vol.Required(CONF_KAISER_ID, default=DEFAULT_KAISER_ID): str,
    }
)


class AutomationOneConfigFlow(ConfigFlow, domain=DOMAIN):
    """One config entry per ESP, keyed by its MAC."""

    VERSION = 1
    # 2: the ESP's device is in no subentry; 3: entries have a kind; 4: config versions and
    # recommendations in files shared by all entries (async_migrate_entry).
    MINOR_VERSION = 4

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Sensors (and later actuators) are subentries of the ESP's entry."""
        if config_entry.data.get(CONF_KIND) == KIND_RELAY:
            return {}
        return dict(SUBENTRY_FLOWS)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Device maintenance (Configure on the entry); for a relay's entry: its Mosquitto
        bridge configuration."""
        if config_entry.data.get(CONF_KIND) == KIND_RELAY:
            return RelayBridgeFlow()
        return DeviceMaintenanceFlow()

    def __init__(self) -> None:
        """Start with no device."""
        self._announce: Announce | None = None
        self._relay: RelayAnnounce | None = None
        self._kaiser_id = DEFAULT_KAISER_ID

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A device announced itself on `kaiser/+/esp/+/announce`."""
        if not discovery_info.payload:
            # An empty retained announce is a device being removed, not a new one.
            return self.async_abort(reason="device_removed")
        payload = discovery_info.payload
        if "/relay/" in discovery_info.topic:
            return await self._async_found_relay(discovery_info.topic, payload)
        try:
            topic = parse_topic(discovery_info.topic)
            announce = parse_announce(payload if isinstance(payload, bytes | str) else b"", topic)
        except ProtocolError as err:
            return self.async_abort(
                reason="invalid_announce", description_placeholders={"error": str(err)}
            )
        return await self._async_found(announce, topic.kaiser_id)

    async def _async_found_relay(self, topic: str, payload: object) -> ConfigFlowResult:
        """A Kaiser relay announced itself on `kaiser/+/relay/announce`."""
        try:
            kaiser_id, _ = parse_relay_topic(topic)
            relay = parse_relay_announce(
                payload if isinstance(payload, bytes | str) else b"", kaiser_id
            )
        except ProtocolError as err:
            return self.async_abort(
                reason="invalid_announce", description_placeholders={"error": str(err)}
            )
        await self.async_set_unique_id(relay_entry_unique_id(kaiser_id))
        self._abort_if_unique_id_configured(updates={CONF_BRIDGE: relay.bridge})
        self._relay = relay
        self.context["title_placeholders"] = {"name": self._relay_name}
        return await self.async_step_relay_confirm()

    @property
    def _relay_name(self) -> str:
        assert self._relay is not None
        return self._relay.name or f"Kaiser {self._relay.kaiser_id}"

    async def async_step_relay_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user to add the discovered relay."""
        assert self._relay is not None
        relay = self._relay
        if user_input is not None:
            return self.async_create_entry(
                title=self._relay_name,
                data={
                    CONF_KIND: KIND_RELAY,
                    CONF_KAISER_ID: relay.kaiser_id,
                    CONF_BRIDGE: relay.bridge,
                    CONF_NAME: self._relay_name,
                },
            )
        self._set_confirm_only()
        return self.async_show_form(
            step_id="relay_confirm",
            description_placeholders={
                "name": self._relay_name,
                "kaiser_id": relay.kaiser_id,
                "version": relay.sw_version,
            },
        )

    async def _async_found(
        self, announce: Announce, kaiser_id: str, *, manual: bool = False
    ) -> ConfigFlowResult:
        if announce.board not in BOARD_MODELS:
            return self.async_abort(
                reason="unsupported_board", description_placeholders={"board": announce.board}
            )
        # The device's retained announce may have started a discovery flow already; a user who
        # enters the id by hand should not be turned away by it.
        await self.async_set_unique_id(format_mac(announce.mac), raise_on_progress=not manual)
        if (conflict := self._abort_if_id_in_use(announce)) is not None:
            return conflict
        # A loaded entry follows a move to another kaiser by itself (on_announce): no reload.
        self._abort_if_unique_id_configured(
            updates={CONF_ESP_ID: announce.esp_id, CONF_KAISER_ID: kaiser_id},
            reload_on_update=False,
        )
        self._announce = announce
        self._kaiser_id = kaiser_id
        self.context["title_placeholders"] = {"name": self._device_name}
        return await self.async_step_confirm()

    def _abort_if_id_in_use(self, announce: Announce) -> ConfigFlowResult | None:
        """Another board already uses this esp_id: never follow two boards on one root."""
        mac = format_mac(announce.mac)
        owner = owner_of(self.hass, announce.esp_id, mac)
        if owner is None:
            return None
        return self.async_abort(
            reason="esp_id_in_use", description_placeholders=placeholders(owner, mac)
        )

    @property
    def _device_name(self) -> str:
        assert self._announce is not None
        return self._announce.name or self._announce.esp_id

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user to add the discovered device."""
        assert self._announce is not None
        if user_input is not None:
            # Another board with this id may have been added while this form was open.
            if (conflict := self._abort_if_id_in_use(self._announce)) is not None:
                return conflict
            return self._async_create()
        self._set_confirm_only()
        announce = self._announce
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                "name": self._device_name,
                "esp_id": announce.esp_id,
                "board": BOARD_MODELS[announce.board],
                "firmware": f"{announce.fw} {announce.fw_version}",
            },
        )

    @callback
    def _async_create(self) -> ConfigFlowResult:
        assert self._announce is not None
        announce = self._announce
        return self.async_create_entry(
            title=self._device_name,
            data={
                CONF_KIND: KIND_ESP,
                CONF_ESP_ID: announce.esp_id,
                CONF_KAISER_ID: self._kaiser_id,
                CONF_MAC: format_mac(announce.mac),
                CONF_BOARD: announce.board,
                CONF_NAME: self._device_name,
            },
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a device by its ESP id: HA looks for its retained announce on the broker."""
        if not self.hass.config_entries.async_entries("mqtt"):
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            esp_id = user_input[CONF_ESP_ID].strip()
            kaiser_id = user_input[CONF_KAISER_ID].strip()
            try:
                validate_id(esp_id, CONF_ESP_ID)
                validate_id(kaiser_id, CONF_KAISER_ID)
            except ProtocolError:
                errors["base"] = "invalid_id"
            else:
                if not await mqtt.async_wait_for_mqtt_client(self.hass):
                    errors["base"] = "mqtt_not_connected"
                else:
                    result = await self._async_fetch_announce(kaiser_id, esp_id, errors)
                    if result is not None:
                        return await self._async_found(result, kaiser_id, manual=True)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def _async_fetch_announce(
        self, kaiser_id: str, esp_id: str, errors: dict[str, str]
    ) -> Announce | None:
        """Read the device's retained announce; fill `errors` if there is none or it is bad."""
        topic = device_topic(kaiser_id, esp_id, TopicKind.ANNOUNCE)
        received: asyncio.Future[bytes] = self.hass.loop.create_future()

        @callback
        def on_message(msg: mqtt.ReceiveMessage) -> None:
            if not received.done() and msg.payload:
                received.set_result(payload_bytes(msg.payload))

        unsubscribe = await mqtt.async_subscribe(self.hass, topic, on_message, qos=1, encoding=None)
        try:
            async with asyncio.timeout(ANNOUNCE_WAIT_S):
                payload = await received
        except TimeoutError:
            errors["base"] = "no_announce"
            return None
        finally:
            unsubscribe()
        try:
            return parse_announce(payload, parse_topic(topic))
        except ProtocolError:
            errors["base"] = "invalid_announce"
            return None


CONF_CONFIRM = "confirm"


def _is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host."""
    try:
        parsed = URL(url)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def _admin_schema(known: AdminLogin | None) -> vol.Schema:
    """The dynamic-security admin login; its password may stay empty when one is stored."""
    return vol.Schema(
        {
            vol.Required(
                CONF_ADMIN_USERNAME, default=known.username if known else vol.UNDEFINED
            ): str,
            vol.Optional(CONF_ADMIN_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
        }
    )


def _admin_from_form(user_input: dict[str, Any], known: AdminLogin | None) -> AdminLogin:
    """The admin login entered, or the stored one for an empty password; LoginSetupError."""
    username = user_input[CONF_ADMIN_USERNAME].strip()
    password = user_input.get(CONF_ADMIN_PASSWORD) or ""
    if not password and known is not None and known.username == username:
        password = known.password  # the admin login another device stored
    if not password:
        raise LoginSetupError("admin_password_missing")
    return AdminLogin(username, password)


def _ca_from_form(user_input: dict[str, Any]) -> str | None:
    """The CA PEM entered (checked, with its final newline), or None; LoginSetupError."""
    ca = (user_input.get(CONF_CA) or "").strip() or None
    if ca is None:
        return None
    try:
        return check_ca_pem(ca + "\n")
    except ValueError as err:
        raise LoginSetupError("bad_ca", str(err)) from None


def _tls_from_form(user_input: dict[str, Any]) -> tuple[str | None, int | None]:
    """The broker's CA and TLS port entered: both or neither; LoginSetupError."""
    ca, port = _ca_from_form(user_input), user_input.get(CONF_TLS_PORT)
    if (ca is None) != (not port):
        raise LoginSetupError("tls_port_and_ca")
    return ca, int(port) if port else None


# A secured device's broker CA and TLS port (optional: TLS).
_TLS_FIELDS = {
    vol.Optional(CONF_CA): TextSelector(TextSelectorConfig(multiline=True)),
    vol.Optional(CONF_TLS_PORT): NumberSelector(
        NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
    ),
}


class DeviceMaintenanceFlow(OptionsFlow):
    """Actions too destructive for a button: a form the user must confirm (HA has no
    confirmation on a button press). Identify and restart are buttons on the device page."""

    _tls_error = ""
    _tls_ca = ""
    _move: tuple[str, str | None, int | None] | None = None
    _move_task: asyncio.Task[str | None] | None = None
    _move_error = ""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What to do with the device."""
        return self.async_show_menu(
            step_id="init",
            menu_options=[
                "move",
                "factory_reset",
                "secure_login",
                "tls_certificates",
                "ai_service",
            ],
        )

    async def async_step_move(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Move the device behind a relay or back to the main broker (docs/kaiser.md)."""
        entry = self.config_entry
        if not hasattr(entry, "runtime_data"):
            return self.async_abort(reason="device_not_loaded")
        if entry.runtime_data.device.announce is None:
            return self.async_abort(
                reason="device_offline", description_placeholders={"name": entry.title}
            )
        if not can_move(entry):
            return self.async_abort(
                reason="move_unsupported", description_placeholders={"name": entry.title}
            )
        targets = move_targets(self.hass)
        current = entry.runtime_data.device.kaiser_id
        errors: dict[str, str] = {}
        if user_input is not None:
            target = targets.get(user_input[CONF_KAISER_ID])
            host = (user_input.get(CONF_HOST) or "").strip() or None
            port = int(user_input[CONF_PORT]) if user_input.get(CONF_PORT) else None
            if target is None:
                errors[CONF_KAISER_ID] = "unknown_relay"
            elif not entry.runtime_data.device.available:
                errors["base"] = "device_offline"
            elif target.kaiser_id != DEFAULT_KAISER_ID and host is None and target.host is None:
                errors[CONF_HOST] = "relay_host_unknown"
            elif target.kaiser_id == current and host is None:
                errors[CONF_KAISER_ID] = "already_there"
            else:
                self._move = (target.kaiser_id, host or target.host, port or target.port)
                return await self.async_step_moving()
        options = [
            SelectOptionDict(value=t.kaiser_id, label=t.title or t.kaiser_id)
            for t in targets.values()
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_KAISER_ID): SelectSelector(
                    SelectSelectorConfig(
                        options=options,
                        mode=SelectSelectorMode.LIST,
                        translation_key="move_target",
                    )
                ),
                vol.Optional(CONF_HOST): str,
                vol.Optional(CONF_PORT): NumberSelector(
                    NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="move",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_KAISER_ID: current}
            ),
            errors=errors,
            description_placeholders={"name": entry.title, "kaiser_id": current},
        )

    async def async_step_moving(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Wait for the device to announce below its new root, or to say why not."""
        assert self._move is not None
        kaiser_id, host, port = self._move
        if self._move_task is None:
            self._move_task = self.hass.async_create_task(
                async_move_device(self.config_entry, kaiser_id, host, port)
            )
        if not self._move_task.done():
            return self.async_show_progress(
                step_id="moving",
                progress_action="moving",
                progress_task=self._move_task,
                description_placeholders={"name": self.config_entry.title, "kaiser_id": kaiser_id},
            )
        try:
            error = self._move_task.result()
        except HomeAssistantError as err:
            error = str(err)
        self._move_error = error or ""
        return self.async_show_progress_done(next_step_id="move_failed" if error else "moved")

    async def async_step_moved(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The device announced below its new root; its entry follows it."""
        assert self._move is not None
        return self.async_abort(
            reason="moved",
            description_placeholders={"name": self.config_entry.title, "kaiser_id": self._move[0]},
        )

    async def async_step_move_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device went back to where it was, or did not answer."""
        assert self._move is not None
        known = ("refused", "timeout", "busy", "no_answer", "unsupported")
        return self.async_abort(
            reason=f"move_{self._move_error}" if self._move_error in known else "move_failed",
            description_placeholders={
                "name": self.config_entry.title,
                "kaiser_id": self._move[0],
                "error": self._move_error,
            },
        )

    async def async_step_secure_login(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give the device its own broker login (docs/security.md)."""
        entry = self.config_entry
        if relay_kaiser(self.hass, entry.data[CONF_KAISER_ID]):
            return await self.async_step_secure_login_relay()
        errors: dict[str, str] = {}
        placeholders = {"name": entry.title, "error": ""}
        known = known_admin(self.hass)
        if user_input is not None:
            port = user_input.get(CONF_TLS_PORT)
            try:
                admin = _admin_from_form(user_input, known)
                ca = _ca_from_form(user_input)
                if not hasattr(entry, "runtime_data"):
                    raise LoginSetupError("device_offline")  # noqa: TRY301
                await async_start_login(
                    self.hass,
                    entry,
                    admin,
                    shared_login=(user_input.get(CONF_SHARED_LOGIN) or "").strip() or None,
                    ca=ca,
                    tls_port=int(port) if port else None,
                )
            except LoginSetupError as err:
                errors["base"] = err.key
                placeholders["error"] = err.detail
            else:
                return self.async_create_entry(data=dict(entry.options))
        schema = _admin_schema(known).extend({vol.Optional(CONF_SHARED_LOGIN): str, **_TLS_FIELDS})
        return self.async_show_form(
            step_id="secure_login",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_secure_login_relay(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Behind a relay: the relay makes the login on its broker (docs/security.md,
        "Devices behind a relay"); nothing to enter."""
        entry = self.config_entry
        kaiser_id = entry.data[CONF_KAISER_ID]
        errors: dict[str, str] = {}
        placeholders = {"name": entry.title, "kaiser_id": kaiser_id, "error": ""}
        if user_input is not None:
            try:
                ca, tls_port = _tls_from_form(user_input)
                if not hasattr(entry, "runtime_data"):
                    raise LoginSetupError("device_offline")  # noqa: TRY301
                await async_start_login(
                    self.hass, entry, None, shared_login=None, ca=ca, tls_port=tls_port
                )
            except LoginSetupError as err:
                errors["base"] = err.key
                placeholders["error"] = err.detail
            else:
                return self.async_create_entry(data=dict(entry.options))
        # The relay's broker has its own CA (`kaiser tls`): offered from its other devices.
        known_ca, known_port = known_tls(self.hass, relay=kaiser_id)
        suggested = {CONF_CA: known_ca, CONF_TLS_PORT: known_port} if known_port else {}
        return self.async_show_form(
            step_id="secure_login_relay",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_TLS_FIELDS), user_input or suggested
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_tls_certificates(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A CA and a broker certificate for Mosquitto's TLS listener, written to the config."""
        folder = Path(self.hass.config.path(DOMAIN, "tls"))
        errors: dict[str, str] = {}
        if user_input is not None:
            hosts = [h.strip() for h in str(user_input[CONF_TLS_HOSTS]).split(",") if h.strip()]
            try:
                ca = await self.hass.async_add_executor_job(
                    partial(write_certificates, folder, hosts, now=dt_util.utcnow())
                )
            except (OSError, ValueError) as err:
                errors["base"] = "tls_failed"
                self._tls_error = str(err)
            else:
                self._tls_ca = ca.cert
                return await self.async_step_tls_written()
        mqtt = self.hass.config_entries.async_entries("mqtt")
        default_host = str(mqtt[0].data.get("broker", "")) if mqtt else ""
        schema = vol.Schema({vol.Required(CONF_TLS_HOSTS, default=default_host): str})
        return self.async_show_form(
            step_id="tls_certificates",
            data_schema=schema,
            errors=errors,
            description_placeholders={"folder": str(folder), "error": self._tls_error},
        )

    async def async_step_tls_written(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Where the files are and the listener lines for mosquitto.conf."""
        if user_input is not None:
            return self.async_create_entry(data=dict(self.config_entry.options))
        folder = self.hass.config.path(DOMAIN, "tls")
        return self.async_show_form(
            step_id="tls_written",
            data_schema=vol.Schema({}),
            description_placeholders={"folder": folder, "ca": self._tls_ca},
        )

    async def async_step_ai_service(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The external AI service: its webhook (shown) and the optional push of readings."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            url = (user_input.get(CONF_PUSH_URL) or "").strip()
            if url and not _is_http_url(url):
                errors[CONF_PUSH_URL] = "invalid_url"
            else:
                options = {
                    **entry.options,
                    CONF_PUSH_INTERVAL_MIN: int(user_input[CONF_PUSH_INTERVAL_MIN]),
                }
                options[CONF_PUSH_URL] = url or None
                return self.async_create_entry(data=options)
        manager = getattr(getattr(entry, "runtime_data", None), "recommendations", None)
        hook = webhook_url(self.hass, manager.webhook_id) if manager is not None else "-"
        schema = vol.Schema(
            {
                vol.Optional(CONF_PUSH_URL): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL)
                ),
                vol.Required(
                    CONF_PUSH_INTERVAL_MIN, default=DEFAULT_PUSH_INTERVAL_MIN
                ): NumberSelector(
                    NumberSelectorConfig(min=1, max=1440, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="ai_service",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or dict(entry.options)
            ),
            errors=errors,
            description_placeholders={"name": entry.title, "webhook_url": hook},
        )

    async def async_step_factory_reset(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Erase the device's WiFi, MQTT and config once the user ticked the confirmation."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            device = entry.runtime_data.device if hasattr(entry, "runtime_data") else None
            if not user_input[CONF_CONFIRM]:
                errors[CONF_CONFIRM] = "not_confirmed"
            elif device is None or not device.available:
                errors["base"] = "device_offline"
            else:
                await device.system_command("factory_reset")
                return self.async_create_entry(data=dict(entry.options))
        return self.async_show_form(
            step_id="factory_reset",
            data_schema=vol.Schema({vol.Required(CONF_CONFIRM, default=False): bool}),
            errors=errors,
            description_placeholders={"name": entry.title},
        )


class RelayBridgeFlow(OptionsFlow):
    """Configure on a relay's entry: the Mosquitto bridge configuration to copy to the relay,
    and the bridge's own broker login (docs/kaiser.md, docs/security.md)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The relay's menu (its own step id: `init` is the device's menu in the strings)."""
        return await self.async_step_relay()

    async def async_step_relay(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What to do with the relay."""
        return self.async_show_menu(step_id="relay", menu_options=["relay_bridge", "relay_login"])

    def _show_config(self, step_id: str, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """The configuration (and the CA, with TLS) to copy; closed after copying."""
        from .kaiser_relay import generated_bridge_config

        if user_input is not None:
            return self.async_create_entry(data=dict(self.config_entry.options))
        login = relay_login(self.config_entry)
        return self.async_show_form(
            step_id=step_id,
            description_placeholders={
                "name": self.config_entry.title,
                "config": generated_bridge_config(self.hass, self.config_entry),
                "cafile": RELAY_CAFILE,
                "ca": (login.ca or "").strip() if login is not None and login.tls_port else "-",
            },
            last_step=True,
        )

    async def async_step_relay_bridge(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the generated configuration (with the bridge's login once it has one)."""
        return self._show_config("relay_bridge", user_input)

    async def async_step_relay_login(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create the bridge's own login on the main broker with the dynsec admin login."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        placeholders = {"name": entry.title, "error": ""}
        known = known_admin(self.hass)
        known_ca, known_port = known_tls(self.hass)
        if user_input is not None:
            try:
                admin = _admin_from_form(user_input, known)
                ca, tls_port = _tls_from_form(user_input)
                await async_create_relay_login(self.hass, entry, admin, ca=ca, tls_port=tls_port)
            except LoginSetupError as err:
                errors["base"] = err.key
                placeholders["error"] = err.detail
            else:
                return await self.async_step_relay_login_done()
        suggested = {CONF_TLS_PORT: known_port, CONF_CA: known_ca} if known_port else {}
        return self.async_show_form(
            step_id="relay_login",
            data_schema=self.add_suggested_values_to_schema(
                _admin_schema(known).extend(_TLS_FIELDS), user_input or suggested
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_relay_login_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The new login is on the broker: the configuration with its password, to copy."""
        return self._show_config("relay_login_done", user_input)
