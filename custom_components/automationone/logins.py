"""A broker login per device (docs/security.md): secure, confirm, rotate, remove; and the
login of a Kaiser relay's bridge: create, remove.

The broker side is `broker_security/` (no HA imports); this module keeps the state in the
entry's data under `broker_login`, talks to the broker in an executor with the stored
dynamic-security admin login, and never logs a password. A device's password is never shown;
a relay's is shown to the user (Configure on its entry), who copies it into the relay's
mosquitto.conf.

A device behind a Kaiser relay connects to the relay's broker, not HA's: its login lives
there. HA does not use an admin login for it; it asks the relay program, which is the agent of
its broker's dynamic security (`relay/login`, kaiser_relay.async_relay_login), and delivers
and confirms the login exactly as on the main broker (docs/security.md, "Devices behind a
relay").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
import secrets
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .broker_security import devices, relays
from .broker_security.client import (
    AdminLoginRefusedError,
    BrokerAddress,
    BrokerUnreachableError,
    DynsecClient,
    DynsecUnavailableError,
)
from .broker_security.dynsec import DynsecError, client_name, new_password, relay_role_name
from .const import CONF_ESP_ID, CONF_KAISER_ID, DOMAIN
from .data import AutomationOneConfigEntry
from .protocol import Announce, SystemCommand
from .protocol.relay import (
    LOGIN_CONFIRM,
    LOGIN_CREATE,
    LOGIN_REMOVE,
    RelayLoginRequest,
)

_LOGGER = logging.getLogger(__name__)

CONF_BROKER_LOGIN: Final = "broker_login"
CONF_ADMIN_USERNAME: Final = "admin_username"
CONF_ADMIN_PASSWORD: Final = "admin_password"  # noqa: S105 (a key, not a password)
CONF_SHARED_LOGIN: Final = "shared_login"
CONF_CA: Final = "ca"
CONF_TLS_PORT: Final = "tls_port"
CONF_TLS_HOSTS: Final = "tls_hosts"
CONF_USERNAME: Final = "username"
CONF_PASSWORD: Final = "password"  # noqa: S105 (a key, not a password)
# The kaiser id of the relay whose broker holds the device's logins (instead of the admin).
CONF_RELAY: Final = "relay"
# What diagnostics must never show.
REDACT: Final = {CONF_ADMIN_PASSWORD, CONF_PASSWORD}


class LoginSetupError(Exception):
    """A refusal the form shows: `key` is a translation key of options.error."""

    def __init__(self, key: str, detail: str = "") -> None:
        """`detail` goes into the `{error}` placeholder (never a secret)."""
        super().__init__(key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True, slots=True)
class AdminLogin:
    """The broker's dynamic-security admin login, as the user entered it."""

    username: str
    password: str

    def __repr__(self) -> str:
        """Never the password."""
        return f"AdminLogin(username={self.username!r})"


def _mqtt_data(hass: HomeAssistant) -> dict[str, Any]:
    entries = hass.config_entries.async_entries("mqtt")
    return dict(entries[0].data) if entries else {}


def ha_mqtt_username(hass: HomeAssistant) -> str | None:
    """The login of Home Assistant's own MQTT client."""
    username = _mqtt_data(hass).get("username")
    return str(username) if username else None


def _address(hass: HomeAssistant, admin: AdminLogin) -> BrokerAddress:
    data = _mqtt_data(hass)
    if "broker" not in data:
        raise LoginSetupError("broker_unreachable", "no MQTT entry")
    return BrokerAddress(
        host=str(data["broker"]),
        port=int(data.get("port", 1883)),
        username=admin.username,
        password=admin.password,
    )


def _run(address: BrokerAddress, job: Callable[[DynsecClient], Any]) -> Any:
    """In an executor: connect with the admin login, run `job`, map failures to form keys."""
    try:
        with DynsecClient(address) as client:
            return job(client)
    except BrokerUnreachableError as err:
        raise LoginSetupError("broker_unreachable", str(err)) from None
    except AdminLoginRefusedError as err:
        raise LoginSetupError("admin_refused", str(err)) from None
    except DynsecUnavailableError as err:
        raise LoginSetupError("dynsec_unavailable", str(err)) from None
    except DynsecError as err:
        raise LoginSetupError("dynsec_refused", f"{err.command}: {err.error}") from None


async def _async_create(
    hass: HomeAssistant, admin: AdminLogin, make: Callable[[DynsecClient], devices.NewLogin]
) -> devices.NewLogin:
    """In an executor, with the admin login: the plugin answers, then `make` the login."""

    def job(client: DynsecClient) -> devices.NewLogin:
        devices.check_plugin(client)
        return make(client)

    login: devices.NewLogin = await hass.async_add_executor_job(_run, _address(hass, admin), job)
    return login


def relay_kaiser(hass: HomeAssistant, kaiser_id: str) -> bool:
    """Whether devices of `kaiser_id` are behind a relay set up in HA (their logins are the
    relay's to make)."""
    from .kaiser_relay import relay_entry  # (kaiser_relay imports this module)

    return relay_entry(hass, kaiser_id) is not None


async def _relay_request(
    hass: HomeAssistant, kaiser_id: str, op: str, esp_id: str, **fields: Any
) -> str | None:
    """One login request to the relay (LoginSetupError); the username it made, if any."""
    from .kaiser_relay import async_relay_login

    request = RelayLoginRequest(f"{op}-{secrets.token_hex(6)}", op, esp_id, **fields)
    ack = await async_relay_login(hass, kaiser_id, request)
    return ack.username


def _admin_fields(admin: AdminLogin) -> dict[str, str]:
    """How an entry stores the admin login (for rotation and removal, and other entries)."""
    return {CONF_ADMIN_USERNAME: admin.username, CONF_ADMIN_PASSWORD: admin.password}


def _state(entry: ConfigEntry[Any]) -> dict[str, Any] | None:
    state = entry.data.get(CONF_BROKER_LOGIN)
    return dict(state) if isinstance(state, dict) else None


def has_login(entry: ConfigEntry[Any]) -> bool:
    """Whether the device was secured: it has (or is being given) a login of its own, made
    with the stored admin login or by its relay."""
    return _stored_admin(entry) is not None or _stored_relay(entry) is not None


def _save(hass: HomeAssistant, entry: ConfigEntry[Any], state: dict[str, Any]) -> None:
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_BROKER_LOGIN: state})


def known_admin(hass: HomeAssistant) -> AdminLogin | None:
    """The admin login a secured device (or relay) stored; one broker: HA's MQTT entry's."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        state = _state(entry)
        if state is not None and state.get(CONF_ADMIN_USERNAME):
            return AdminLogin(state[CONF_ADMIN_USERNAME], state[CONF_ADMIN_PASSWORD])
    return None


def known_tls(hass: HomeAssistant, *, relay: str | None = None) -> tuple[str | None, int | None]:
    """The CA and TLS port a secured device (or relay) stored, if any: of the main broker,
    or with `relay` of that relay's broker (each broker has its own certificate)."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        state = _state(entry) or {}
        if state.get(CONF_RELAY) != relay:
            continue
        if state.get(CONF_CA) and state.get(CONF_TLS_PORT):
            return str(state[CONF_CA]), int(state[CONF_TLS_PORT])
    return None, None


async def async_start_login(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    admin: AdminLogin | None,
    *,
    shared_login: str | None,
    ca: str | None = None,
    tls_port: int | None = None,
) -> str:
    """Create the device's next login on the broker and deliver it; returns its username.
    Behind a relay the relay makes it on its broker (`admin` is not needed there).

    Nothing is revoked here: the old access goes once the device announces under the new
    login (`async_setup_logins`).
    """
    device = entry.runtime_data.device
    if not device.available:
        raise LoginSetupError("device_offline")
    if shared_login and shared_login == ha_mqtt_username(hass):
        raise LoginSetupError("shared_is_ha")
    state = _state(entry) or {}
    generation = int(state.get("generation", 0)) + 1
    kaiser_id, esp_id = entry.data[CONF_KAISER_ID], entry.data[CONF_ESP_ID]
    stale = state.get("pending")
    where: dict[str, Any]
    if relay_kaiser(hass, kaiser_id):
        # The relay's broker: the relay makes the login, with the password made here.
        login = devices.NewLogin(client_name(esp_id, generation), new_password())
        await _relay_request(
            hass, kaiser_id, LOGIN_CREATE, esp_id, generation=generation,
            password=login.password, delete=(stale,) if stale else (),
        )  # fmt: skip
        where = {CONF_RELAY: kaiser_id}
    else:
        if admin is None:
            raise LoginSetupError("admin_password_missing")

        def make(client: DynsecClient) -> devices.NewLogin:
            if stale:  # delivered before, never confirmed: replaced by the new one
                devices.remove_logins(client, [stale])
            return devices.create_login(client, kaiser_id, esp_id, generation)

        login = await _async_create(hass, admin, make)
        where = _admin_fields(admin)
    _save(
        hass,
        entry,
        {
            **where,
            CONF_SHARED_LOGIN: shared_login or state.get(CONF_SHARED_LOGIN) or None,
            CONF_CA: ca if ca is not None else state.get(CONF_CA),
            CONF_TLS_PORT: tls_port if tls_port is not None else state.get(CONF_TLS_PORT),
            "generation": generation,
            "current": state.get("current"),
            "pending": login.username,
            "login_error": None,
        },
    )
    saved = _state(entry)
    assert saved is not None
    await device.send_system_command(
        SystemCommand(
            cmd="login",
            username=login.username,
            password=login.password,
            ca=saved[CONF_CA],
            port=saved[CONF_TLS_PORT],
            cmd_id=f"login-{secrets.token_hex(4)}",
        )
    )
    _LOGGER.info("Delivered broker login %s to %s", login.username, esp_id)
    return login.username


def _stored_admin(entry: ConfigEntry[Any]) -> AdminLogin | None:
    state = _state(entry)
    if state is None or not state.get(CONF_ADMIN_USERNAME):
        return None
    return AdminLogin(state[CONF_ADMIN_USERNAME], state[CONF_ADMIN_PASSWORD])


def _stored_relay(entry: ConfigEntry[Any]) -> str | None:
    """The relay whose broker holds the device's logins, if it is behind one."""
    state = _state(entry)
    relay = state.get(CONF_RELAY) if state is not None else None
    return str(relay) if relay else None


async def async_rotate(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
    """The rotate button: a new login with the stored admin login (or through the relay)."""
    admin = _stored_admin(entry)
    if admin is None and _stored_relay(entry) is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="login_not_secured")
    try:
        await async_start_login(hass, entry, admin, shared_login=None)
    except LoginSetupError as err:
        if err.key == "device_offline":
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="device_unavailable"
            ) from None
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=f"login_{err.key}",
            translation_placeholders={"error": err.detail},
        ) from None


async def async_confirm(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> bool:
    """The device announced under its pending login: revoke the old access, make it current."""
    state = _state(entry)
    admin = _stored_admin(entry)
    relay = _stored_relay(entry)
    if state is None or (admin is None and relay is None) or not state.get("pending"):
        return False
    kaiser_id, esp_id = entry.data[CONF_KAISER_ID], entry.data[CONF_ESP_ID]
    previous = state.get("current")
    if relay is not None:
        # The relay deletes `previous` and takes its anonymous devices' access away.
        await _relay_request(hass, relay, LOGIN_CONFIRM, esp_id, previous=previous)
    else:
        assert admin is not None
        # The shared login loses this device's topics on the first switch only.
        shared = state.get(CONF_SHARED_LOGIN) if previous is None else None

        def job(client: DynsecClient) -> None:
            devices.revoke_old_access(
                client, kaiser_id, esp_id, previous_username=previous, shared_login=shared
            )

        await hass.async_add_executor_job(_run, _address(hass, admin), job)
    _save(hass, entry, {**state, "current": state["pending"], "pending": None, "login_error": None})
    _LOGGER.info("%s runs under its own broker login %s", esp_id, state["pending"])
    return True


@callback
def async_setup_logins(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> Callable[[], None]:
    """Watch the device's announces for the confirmation (or refusal) of a delivered login."""
    device = entry.runtime_data.device
    busy = False

    async def confirm() -> None:
        nonlocal busy
        try:
            await async_confirm(hass, entry)
        except LoginSetupError as err:
            # Tried again on the next announce (every reconnect announces).
            _LOGGER.warning("Could not finish the broker login of %s: %s", device.esp_id, err.key)
        finally:
            busy = False

    @callback
    def on_announce(announce: Announce) -> None:
        nonlocal busy
        state = _state(entry)
        if state is None or not state.get("pending"):
            return
        if announce.login == state["pending"]:
            if not busy:
                busy = True
                entry.async_create_background_task(hass, confirm(), "automationone_login")
        elif announce.login_error and announce.login_error != state.get("login_error"):
            _LOGGER.warning(
                "%s did not take its broker login: %s", device.esp_id, announce.login_error
            )
            _save(hass, entry, {**state, "login_error": announce.login_error})

    if device.announce is not None:
        on_announce(device.announce)
    return device.add_announce_listener(on_announce)


async def async_remove_logins(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
    """The entry is deleted: its broker clients, role and revocation entries go too."""
    state = _state(entry)
    admin = _stored_admin(entry)
    relay = _stored_relay(entry)
    if state is None or (admin is None and relay is None):
        return
    usernames = [u for u in (state.get("current"), state.get("pending")) if u]
    kaiser_id, esp_id = entry.data[CONF_KAISER_ID], entry.data[CONF_ESP_ID]

    def job(client: DynsecClient) -> None:
        devices.remove_device(client, kaiser_id, esp_id, usernames)

    try:
        if relay is not None:
            await _relay_request(hass, relay, LOGIN_REMOVE, esp_id, delete=tuple(usernames))
        else:
            assert admin is not None
            await hass.async_add_executor_job(_run, _address(hass, admin), job)
    except LoginSetupError as err:
        _LOGGER.warning(
            "Could not remove the broker login of %s (%s): delete %s on the broker by hand",
            esp_id,
            err.key,
            ", ".join(usernames),
        )


# --- a Kaiser relay's bridge login (docs/security.md, "A relay's bridge") -------------------


@dataclass(frozen=True, slots=True)
class RelayLogin:
    """The relay's bridge login as stored in its entry, and how the bridge reaches the broker."""

    username: str
    password: str
    ca: str | None
    tls_port: int | None

    def __repr__(self) -> str:
        """Never the password."""
        return f"RelayLogin(username={self.username!r}, tls_port={self.tls_port!r})"


def relay_login(entry: ConfigEntry[Any]) -> RelayLogin | None:
    """The stored login of a relay's bridge."""
    state = _state(entry)
    if state is None or not state.get(CONF_USERNAME):
        return None
    port = state.get(CONF_TLS_PORT)
    return RelayLogin(
        state[CONF_USERNAME], state[CONF_PASSWORD], state.get(CONF_CA), int(port) if port else None
    )


async def async_create_relay_login(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    admin: AdminLogin,
    *,
    ca: str | None,
    tls_port: int | None,
) -> RelayLogin:
    """Create (or renew: a new password) the bridge login of the relay's entry and store it
    with the admin login, for showing it again and for removing it with the entry."""
    kaiser_id = entry.data[CONF_KAISER_ID]

    login = await _async_create(
        hass, admin, lambda client: relays.create_relay_login(client, kaiser_id)
    )
    _save(
        hass,
        entry,
        {
            **_admin_fields(admin),
            CONF_USERNAME: login.username,
            CONF_PASSWORD: login.password,
            CONF_CA: ca,
            CONF_TLS_PORT: tls_port,
        },
    )
    _LOGGER.info("Created the bridge login %s of relay %s", login.username, kaiser_id)
    stored = relay_login(entry)
    assert stored is not None
    return stored


async def async_remove_relay_login(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """The relay's entry is deleted: its bridge login and role go too."""
    admin = _stored_admin(entry)
    login = relay_login(entry)
    if admin is None or login is None:
        return
    kaiser_id = entry.data[CONF_KAISER_ID]

    def job(client: DynsecClient) -> None:
        relays.remove_relay_login(client, kaiser_id)

    try:
        await hass.async_add_executor_job(_run, _address(hass, admin), job)
    except LoginSetupError as err:
        _LOGGER.warning(
            "Could not remove the bridge login of relay %s (%s): delete the client %s and the "
            "role %s on the broker by hand",
            kaiser_id,
            err.key,
            login.username,
            relay_role_name(kaiser_id),
        )
