"""A device behind a Kaiser relay gets its own login on the relay's broker from its entry's
Configure dialog (docs/security.md, "Devices behind a relay"), with real processes: the main
Mosquitto (HA's), the relay's Mosquitto with the dynamic-security plugin running the
generated configuration and bridged to it, the relay program with its broker's admin login,
the simulator as the device on the relay's broker (anonymous, as before), and HA.

Secure → the relay makes the login, HA delivers it, the device reconnects with it and
announces it, HA confirms through the relay: the anonymous access to the device's topics is
gone, so a rogue client on the relay's broker cannot act as the device; rotate, removal; and
the form's errors for a relay without an admin login and for a relay that is offline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
import json
import os
from pathlib import Path
import pwd
import re
import subprocess
import sys
from types import SimpleNamespace

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.automationone.broker_security.client import BrokerAddress, DynsecClient
from custom_components.automationone.kaiser_relay import generated_bridge_config
from custom_components.automationone.protocol.relay import RELAY_DYNSEC_FILE

from ..broker import Broker, Dynsec, dynsec_plugin, free_port
from ..kaiser_net import REPO, RelayBroker, RelayProcess, bridged
from ..security.mqtt_probe import Probe
from .realtime import DeviceProcess, connect_mqtt, simulator, unload_all, wait_for
from .test_real_broker_kaiser import add_flow

pytestmark = pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto")

KAISER = "gh1"
ESP = "gh-01"
ROOT = f"kaiser/{KAISER}/esp/{ESP}/"
ADMIN = Dynsec(clients={"a1admin": ("admin-password-0123", ("admin",))})


@dataclass
class Net:
    relay_broker: RelayBroker
    relay: RelayProcess
    device: DeviceProcess
    relay_entry: ConfigEntry
    entry: ConfigEntry


@pytest.fixture
def relay_dynsec() -> Dynsec | None:
    """The relay broker's logins (None: no plugin, and the relay program without an admin)."""
    return ADMIN


@pytest.fixture
def relay_tls() -> bool:
    """Whether the relay's broker also has its TLS listener for devices."""
    return False


@pytest.fixture
def relay_broker(
    broker: Broker, relay_dynsec: Dynsec | None, relay_tls: bool, tmp_path: Path
) -> Iterator[RelayBroker]:
    options: dict[str, object] = {}
    if relay_tls:
        # The certificate as the relay's owner makes it (docs/security.md): `kaiser tls`.
        certs = tmp_path / "relay-certs"
        subprocess.run(
            [sys.executable, "-m", "kaiser", "tls", "--host", "127.0.0.1", "--out", str(certs),
             "--owner", pwd.getpwuid(os.getuid()).pw_name],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        options = {
            "device_tls_port": free_port(),
            "device_tls_host": "127.0.0.1",
            "device_certs": str(certs),
        }
    with bridged(KAISER, broker, dynsec=relay_dynsec, **options) as (relay_broker, _):
        relay_broker.device_tls = options  # type: ignore[attr-defined]
        yield relay_broker


@pytest.fixture
async def net(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    enable_custom_integrations: None,
    broker: Broker,
    relay_broker: RelayBroker,
) -> AsyncIterator[Net]:
    """The relay and the device discovered through the bridge, both online in HA."""
    relay = RelayProcess(relay_broker).start()
    device = simulator(
        relay_broker.port, "--devices", "1", "--prefix", "gh", "--kaiser", KAISER,
        "--heartbeat", "1",
    ).start()  # fmt: skip
    await connect_mqtt(hass, SimpleNamespace(host="127.0.0.1", port=broker.port))  # type: ignore[arg-type]
    try:
        relay_entry = await add_flow(hass, "relay_confirm")
        entry = await add_flow(hass, "confirm")
        assert entry.data["esp_id"] == ESP
        await wait_for(hass, lambda: relay_entry.runtime_data.available, 30, "relay available")
        await wait_for(hass, lambda: entry.runtime_data.device.available, what="device online")
        # The relay program (on its own login when it has an admin) sees its devices.
        await wait_for(
            hass,
            lambda: relay_entry.runtime_data.health.devices == 1,
            what="the relay counting its device",
        )
        yield Net(relay_broker, relay, device, relay_entry, entry)
    finally:
        await unload_all(hass)
        device.stop()
        relay.stop()


async def secure(
    hass: HomeAssistant, entry: ConfigEntry, user_input: dict[str, object] | None = None
) -> dict[str, object]:
    """Configure → Secure this device's broker login → (behind a relay: nothing to enter,
    or the relay broker's CA and TLS port)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "secure_login"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "secure_login_relay"
    assert result["description_placeholders"]["kaiser_id"] == KAISER  # type: ignore[index]
    return await hass.config_entries.options.async_configure(result["flow_id"], user_input or {})  # type: ignore[return-value]


def login_state(entry: ConfigEntry) -> dict[str, object]:
    state = entry.data.get("broker_login")
    return state if isinstance(state, dict) else {}


def clients(broker: RelayBroker) -> list[str]:
    """The relay broker's clients and roles, as its admin sees them."""
    address = BrokerAddress(broker.host, broker.port, "a1admin", ADMIN.password("a1admin"))
    with DynsecClient(address) as client:
        (listed,) = client.check([{"command": "listClients"}])
        (roles,) = client.check([{"command": "listRoles"}])
    return [*listed.data["clients"], *(f"role:{r}" for r in roles.data["roles"])]


async def test_secure_a_device_behind_a_relay(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, net: Net
) -> None:
    entry = net.entry
    device = entry.runtime_data.device
    # The relay announced that it makes logins: the configuration HA shows for it keeps the
    # relay broker's dynamic security.
    assert net.relay_entry.runtime_data.announce.logins is True
    shown = generated_bridge_config(hass, net.relay_entry).splitlines()
    assert f"plugin_opt_config_file {RELAY_DYNSEC_FILE}" in shown
    result = await secure(hass, entry)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    first = f"a1-{ESP}-1"
    assert login_state(entry)["pending"] == first
    assert login_state(entry)["relay"] == KAISER
    assert "admin_password" not in login_state(entry)
    await wait_for(
        hass, lambda: login_state(entry).get("current") == first, 40, "the device's confirmation"
    )
    assert device.announce is not None
    assert device.announce.login == first

    # A rogue client on the relay's broker (anonymous, as the device was) cannot act as it.
    rogue = Probe(net.relay_broker.port, None, None, client_id="rogue").connect()
    try:
        rogue.publish(ROOT + "status", b"offline", retain=True)
        rogue.publish(ROOT + "announce", b'{"v":1,"rogue":true}', retain=True)
        assert not rogue.subscribe(ROOT + "system/command")
        assert not rogue.subscribe(f"kaiser/{KAISER}/relay/login")
    finally:
        rogue.close()
    heartbeat = device.heartbeat
    await wait_for(hass, lambda: device.heartbeat is not heartbeat, what="a new heartbeat")
    assert device.online
    assert device.announce.login == first

    # The password is in the entry (for nothing but the device), never in diagnostics.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["broker_login"]["current"] == first
    assert ADMIN.password("a1admin") not in json.dumps(diagnostics)

    # Rotate: the second login through the relay; once confirmed the first one is gone.
    await hass.services.async_call(
        "button", "press", {"entity_id": f"button.{ESP.replace('-', '_')}_rotate_broker_login"},
        blocking=True,
    )  # fmt: skip
    second = f"a1-{ESP}-2"
    await wait_for(hass, lambda: login_state(entry).get("current") == second, 40, "rotated")
    assert device.announce is not None
    assert device.announce.login == second
    names = await hass.async_add_executor_job(clients, net.relay_broker)
    assert second in names
    assert first not in names
    assert "kaiser-gh1-relay" in names  # the relay program's own login

    # Removal: the relay deletes the device's logins and role.
    net.device.stop()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    names = await hass.async_add_executor_job(clients, net.relay_broker)
    assert second not in names
    assert f"role:a1-dev-{KAISER}-{ESP}" not in names


@pytest.mark.parametrize("relay_dynsec", [None])
async def test_a_relay_without_admin_or_offline_is_a_form_error(
    hass: HomeAssistant, net: Net
) -> None:
    entry = net.entry
    assert net.relay_entry.runtime_data.announce.logins is None
    assert "plugin_opt_config_file" not in generated_bridge_config(hass, net.relay_entry)
    result = await secure(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "relay_no_admin"}
    assert "broker_login" not in entry.data

    net.relay.stop()  # says offline
    await wait_for(hass, lambda: not net.relay_entry.runtime_data.available, what="relay gone")
    result = await secure(hass, entry)
    assert result["errors"] == {"base": "relay_offline"}
    assert "broker_login" not in entry.data
    assert entry.runtime_data.device.available  # the device goes on as before


@pytest.mark.parametrize("relay_tls", [True])
async def test_a_device_behind_a_relay_switches_to_tls_on_the_relays_broker(
    hass: HomeAssistant, net: Net
) -> None:
    """The relay's own CA and TLS port in the Secure dialog: the device's login comes with
    them, the device reconnects to the relay's broker over verified TLS, and goes on through
    the bridge; the dialog then offers the relay's CA and port."""
    entry = net.entry
    device = entry.runtime_data.device
    options = net.relay_broker.device_tls  # type: ignore[attr-defined]
    port = options["device_tls_port"]
    ca = (Path(options["device_certs"]) / "ca.crt").read_text(encoding="utf-8")
    result = await secure(hass, entry, {"ca": ca})  # a CA without its port
    assert result["errors"] == {"base": "tls_port_and_ca"}
    assert "broker_login" not in entry.data

    result = await secure(hass, entry, {"ca": ca, "tls_port": port})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    first = f"a1-{ESP}-1"
    assert login_state(entry)["tls_port"] == port
    await wait_for(
        hass, lambda: login_state(entry).get("current") == first, 40, "the device's confirmation"
    )
    # The device is on the relay's TLS listener now, under its own login.
    log = net.relay_broker.log
    over_tls = re.findall(rf"New connection from (\S+) on port {port}\.", log)
    assert over_tls
    assert any(
        re.search(rf"New client connected from {re.escape(a)} as {ESP} .*u'{first}'", log)
        for a in over_tls
    )
    heartbeat = device.heartbeat
    await wait_for(hass, lambda: device.heartbeat is not heartbeat, what="a heartbeat over TLS")
    assert device.online
    assert device.announce is not None
    assert device.announce.login == first

    # The configuration HA shows for the relay keeps the devices' TLS listener.
    shown = generated_bridge_config(hass, net.relay_entry).splitlines()
    assert f"listener {port}" in shown
    assert "keyfile /etc/mosquitto/certs/relay/broker.key" in shown

    # The dialog now offers the relay's CA and port (to every device behind this relay; the
    # main broker's are offered only to devices on it).
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "secure_login"}
    )
    suggested = {
        str(key): key.description["suggested_value"]  # type: ignore[index]
        for key in flow["data_schema"].schema  # type: ignore[union-attr]
        if key.description
    }
    assert suggested == {"ca": ca, "tls_port": port}
    hass.config_entries.options.async_abort(flow["flow_id"])
