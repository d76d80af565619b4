"""A Kaiser relay's bridge gets its own broker login from its entry's Configure menu
(docs/kaiser.md, docs/security.md), against a real Mosquitto with the dynamic-security plugin
and a TLS listener: the form's refusals, the admin login another entry stored, the
configuration shown with the password, a relay Mosquitto running exactly that configuration
(its paths set for the test) whose bridge HA sees come up over TLS, diagnostics without the
secrets, a renewal that ends the old password, and removal with the entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import pwd
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.automationone.broker_security.client import BrokerAddress, DynsecClient
from custom_components.automationone.broker_security.tls import Pem
from custom_components.automationone.const import DOMAIN
from custom_components.automationone.protocol.relay import PASSWORD_PLACEHOLDER, RELAY_CAFILE

from ..broker import Broker, Dynsec, dynsec_plugin, free_port
from ..security.mqtt_probe import LoginRefusedError, Probe
from .realtime import connect_mqtt, unload_all, wait_for
from .test_kaiser_flow import relay_entry

pytestmark = pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto")

ADMIN = "a1admin"
USERNAME = "kaiser-gh1"
# What HA's own login needs besides `#` to see its relays' bridges (docs/security.md, step 2):
# from Mosquitto 2.1 on, `#` in an ACL does not match `$SYS` topics.
BRIDGE_STATES = (
    {"acltype": "subscribePattern", "topic": "$SYS/broker/connection/+/state", "allow": True},
)


@pytest.fixture
def dynsec() -> Dynsec:
    """HA's login as docs/security.md sets it up for relays."""
    logins = Dynsec()
    clients = dict(logins.clients)
    clients["homeassistant"] = (logins.password("homeassistant"), ("all", "bridge_states"))
    return Dynsec(clients=clients, roles={"bridge_states": BRIDGE_STATES})


@pytest.fixture
async def relay(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    tls_dynsec_broker: Broker,
    dynsec: Dynsec,
) -> AsyncIterator[ConfigEntry]:
    """HA on the main broker with its own login, and the relay's entry set up."""
    await connect_mqtt(
        hass,
        tls_dynsec_broker,
        username="homeassistant",
        password=dynsec.password("homeassistant"),
    )
    entry = relay_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    yield entry
    await unload_all(hass)


class RelayMosquitto(Broker):
    """The relay's Mosquitto on the configuration HA showed, with the paths a user would set
    on the relay changed for a test (listener, persistence, where the CA was copied to)."""

    def __init__(self, config: str, cafile: Path) -> None:
        super().__init__()
        user = pwd.getpwuid(os.getuid()).pw_name  # started as root it would read as mosquitto
        self.text = f"user {user}\n" + (
            config.replace("listener 1883", f"listener {self.port} 127.0.0.1")
            .replace("persistence true", "persistence false")
            .replace("persistence_location /var/lib/mosquitto/", "")
            .replace(RELAY_CAFILE, str(cafile))
            .replace("restart_timeout 2 30", "restart_timeout 1 1")
        )

    def _config(self) -> str:
        return self.text


def broker_objects(broker: Broker, dynsec: Dynsec) -> list[str]:
    address = BrokerAddress(broker.host, broker.port, ADMIN, dynsec.password(ADMIN))
    with DynsecClient(address) as client:
        (listed,) = client.check([{"command": "listClients"}])
        (roles,) = client.check([{"command": "listRoles"}])
    return [*listed.data["clients"], *(f"role:{r}" for r in roles.data["roles"])]


async def login_form(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "relay_login"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "relay_login")
    return dict(result)


async def give_login(hass: HomeAssistant, entry: ConfigEntry, **data: object) -> dict[str, Any]:
    result = await login_form(hass, entry)
    return dict(await hass.config_entries.options.async_configure(result["flow_id"], data))


def stored(entry: ConfigEntry) -> dict[str, Any]:
    state = entry.data.get("broker_login")
    return state if isinstance(state, dict) else {}


def refused(broker: Broker, password: str) -> bool:
    try:
        Probe(broker.port, USERNAME, password, client_id=USERNAME).connect().close()
    except LoginRefusedError:
        return True
    return False


async def test_the_bridge_gets_its_own_login_over_tls(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    relay: ConfigEntry,
    tls_dynsec_broker: Broker,
    dynsec: Dynsec,
    broker_ca: Pem,
    tmp_path: Path,
) -> None:
    """Refusals, then the login with the admin login a device stored, the relay running the
    shown configuration (bridge up over TLS, seen by HA), diagnostics, renewal, removal."""
    broker, entry, ca = tls_dynsec_broker, relay, broker_ca
    tls = {"tls_port": broker.tls_port, "ca": ca.cert}
    some = {"admin_username": ADMIN, "admin_password": "x" * 16}
    for data, error in (
        ({"admin_username": ADMIN}, "admin_password_missing"),
        ({"admin_username": ADMIN, "admin_password": "wrong-password-0"}, "admin_refused"),
        ({**some, "tls_port": 8883}, "tls_port_and_ca"),
        ({**some, "ca": ca.cert}, "tls_port_and_ca"),
        ({**some, "tls_port": 8883, "ca": "junk"}, "bad_ca"),
    ):
        result = await give_login(hass, entry, **data)
        assert result["errors"] == {"base": error}, data
    assert "broker_login" not in entry.data

    # A secured device stored the admin login (and the CA and TLS port): the form offers it.
    device = MockConfigEntry(
        domain=DOMAIN,
        data={
            "kind": "esp",
            "broker_login": {
                "admin_username": ADMIN, "admin_password": dynsec.password(ADMIN), **tls,
            },
        },
    )  # fmt: skip
    device.add_to_hass(hass)
    result = await login_form(hass, entry)
    schema = result["data_schema"].schema
    defaults = {str(key): key.default() for key in schema if callable(key.default)}
    assert defaults["admin_username"] == ADMIN
    suggested = {str(key): (key.description or {}).get("suggested_value") for key in schema}
    assert (suggested["tls_port"], suggested["ca"]) == (broker.tls_port, ca.cert)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"admin_username": ADMIN, **tls}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "relay_login_done")
    password = stored(entry)["password"]
    assert stored(entry)["username"] == USERNAME
    placeholders = result["description_placeholders"]
    config = placeholders["config"].splitlines()
    for line in (
        f"address 127.0.0.1:{broker.tls_port}",
        f"remote_username {USERNAME}",
        f"remote_password {password}",
        f"bridge_cafile {RELAY_CAFILE}",
        "bridge_insecure false",
        "bridge_tls_version tlsv1.2",
    ):
        assert line in config
    assert placeholders["ca"] == ca.cert.strip()
    assert placeholders["cafile"] == RELAY_CAFILE
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    objects = await hass.async_add_executor_job(broker_objects, broker, dynsec)
    assert {USERNAME, "role:a1-relay-gh1"} <= set(objects)

    # The relay runs what HA showed: its bridge comes up over TLS with the login.
    cafile = tmp_path / "automationone-ca.crt"
    cafile.write_text(placeholders["ca"] + "\n", encoding="utf-8")
    with RelayMosquitto(placeholders["config"], cafile):
        await wait_for(hass, lambda: entry.runtime_data.bridge_up is True, 20, "the bridge up")

        # Diagnostics: neither password, the configuration with the placeholder.
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        dumped = json.dumps(diagnostics)
        assert password not in dumped
        assert dynsec.password(ADMIN) not in dumped
        assert f"remote_password {PASSWORD_PLACEHOLDER}" in diagnostics["bridge_config"]

        # Shown again (Show the bridge configuration), with the stored password.
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "relay_bridge"}
        )
        assert result["description_placeholders"]["config"] == placeholders["config"]

        # Again, with the stored admin login: a new password, the old one stops working.
        result = await give_login(hass, entry, admin_username=ADMIN, **tls)
        assert result["step_id"] == "relay_login_done"
        assert stored(entry)["password"] != password
        assert await hass.async_add_executor_job(refused, broker, password)
        assert not await hass.async_add_executor_job(refused, broker, stored(entry)["password"])

    # Removing the relay's entry removes its login and role from the broker.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    objects = await hass.async_add_executor_job(broker_objects, broker, dynsec)
    assert USERNAME not in objects
    assert "role:a1-relay-gh1" not in objects


@pytest.mark.parametrize("plugin", [False])
async def test_a_broker_without_the_plugin(hass: HomeAssistant, relay: ConfigEntry) -> None:
    """A plain broker: the form says the plugin is missing, nothing is stored."""
    result = await give_login(hass, relay, admin_username=ADMIN, admin_password="x" * 16)
    assert result["errors"] == {"base": "dynsec_unavailable"}
    assert "broker_login" not in relay.data


@pytest.mark.usefixtures("socket_enabled")
async def test_an_unreachable_broker(hass: HomeAssistant) -> None:
    """HA's MQTT entry names a port nobody listens on: the form says so."""
    MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": free_port()}).add_to_hass(
        hass
    )
    entry = relay_entry()
    entry.add_to_hass(hass)
    result = await give_login(hass, entry, admin_username=ADMIN, admin_password="x" * 16)
    assert result["errors"] == {"base": "broker_unreachable"}
