"""A broker login per device from Home Assistant (docs/security.md), against a real Mosquitto
with the dynamic-security plugin: secure (the options step), confirm on the device's
announce, revoke the shared login, rotate (button), remove with the entry, and the errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import json

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.automationone.broker_security.client import BrokerAddress, DynsecClient

from ..broker import Broker, Dynsec, dynsec_plugin
from ..security.mqtt_probe import Probe
from .realtime import (
    DeviceProcess,
    add_discovered_device,
    connect_mqtt,
    simulator,
    unload_all,
    wait_for,
)

pytestmark = pytest.mark.skipif(dynsec_plugin() is None, reason="needs Debian's mosquitto")

ADMIN = "a1admin"


@pytest.fixture
def secure_broker(dynsec: Dynsec, plugin: bool) -> Iterator[Broker]:
    """With the plugin (anonymous refused), or the same broker without it (anonymous allowed,
    logins unchecked); `dynsec` and `plugin`: tests/conftest.py."""
    with Broker(dynsec=dynsec, plugin=plugin) as running:
        yield running


@pytest.fixture
async def ha_on_secure_broker(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    secure_broker: Broker,
    dynsec: Dynsec,
) -> AsyncIterator[Broker]:
    """HA's MQTT entry with its own login `homeassistant` on the dynsec broker."""
    await connect_mqtt(
        hass, secure_broker, username="homeassistant", password=dynsec.password("homeassistant")
    )
    yield secure_broker
    await unload_all(hass)


@pytest.fixture
def shared_device(secure_broker: Broker, dynsec: Dynsec) -> Iterator[DeviceProcess]:
    """The simulator on the devices' shared login, as before anything was secured."""
    proc = simulator(
        secure_broker.port, "--devices", "1", "--prefix", "sec", "--heartbeat", "1",
        "--username", "devices", "--password", dynsec.password("devices"),
    )  # fmt: skip
    proc.start()
    yield proc
    proc.stop()


def clients(broker: Broker, dynsec: Dynsec) -> list[str]:
    address = BrokerAddress(broker.host, broker.port, ADMIN, dynsec.password(ADMIN))
    with DynsecClient(address) as client:
        (listed,) = client.check([{"command": "listClients"}])
        (roles,) = client.check([{"command": "listRoles"}])
    return [*listed.data["clients"], *(f"role:{r}" for r in roles.data["roles"])]


async def secure(hass: HomeAssistant, entry: ConfigEntry, **data: object) -> dict[str, object]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "secure_login" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "secure_login"}
    )
    assert result["step_id"] == "secure_login"
    return await hass.config_entries.options.async_configure(result["flow_id"], data)  # type: ignore[return-value]


def login_state(entry: ConfigEntry) -> dict[str, object]:
    state = entry.data.get("broker_login")
    return state if isinstance(state, dict) else {}


async def test_secure_rotate_and_remove(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    ha_on_secure_broker: Broker,
    dynsec: Dynsec,
    shared_device: DeviceProcess,
) -> None:
    """The whole life of a device's login, seen from the broker."""
    broker = ha_on_secure_broker
    entry = await add_discovered_device(hass)
    esp_id = entry.data["esp_id"]
    await wait_for(hass, lambda: entry.runtime_data.device.available, what="device online")

    # Refusals the form shows: a wrong admin password, HA's own login as the shared one.
    result = await secure(hass, entry, admin_username=ADMIN, admin_password="wrong-password-0")
    assert result["errors"] == {"base": "admin_refused"}
    result = await secure(
        hass, entry, admin_username=ADMIN, admin_password=dynsec.password(ADMIN),
        shared_login="homeassistant",
    )  # fmt: skip
    assert result["errors"] == {"base": "shared_is_ha"}
    assert "broker_login" not in entry.data

    result = await secure(
        hass, entry, admin_username=ADMIN, admin_password=dynsec.password(ADMIN),
        shared_login="devices",
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    first = f"a1-{esp_id}-1"
    assert login_state(entry)["pending"] == first
    await wait_for(
        hass, lambda: login_state(entry).get("current") == first, 30, "the device's confirmation"
    )
    assert login_state(entry)["pending"] is None
    announce = entry.runtime_data.device.announce
    assert announce is not None
    assert announce.login == first
    # The shared login lost this device's topics; the device goes on under its own login.
    rogue = Probe(broker.port, "devices", dynsec.password("devices"), client_id="rogue").connect()
    try:
        rogue.publish(f"kaiser/god/esp/{esp_id}/status", b"offline", retain=True)
    finally:
        rogue.close()
    heartbeat = entry.runtime_data.device.heartbeat
    await wait_for(
        hass, lambda: entry.runtime_data.device.heartbeat is not heartbeat, what="a new heartbeat"
    )
    assert entry.runtime_data.device.online

    # Nothing secret in diagnostics.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert dynsec.password(ADMIN) not in json.dumps(diagnostics)
    assert diagnostics["entry"]["broker_login"]["current"] == first

    # Rotate: a second login; once confirmed, the first is gone from the broker.
    await hass.services.async_call(
        "button", "press", {"entity_id": f"button.{esp_id.replace('-', '_')}_rotate_broker_login"},
        blocking=True,
    )  # fmt: skip
    second = f"a1-{esp_id}-2"
    await wait_for(
        hass, lambda: login_state(entry).get("current") == second, 30, "the rotated login"
    )
    names = await hass.async_add_executor_job(clients, broker, dynsec)
    assert second in names
    assert first not in names

    # Removal: the entry's login and role go with it.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    names = await hass.async_add_executor_job(clients, broker, dynsec)
    assert second not in names
    assert f"role:a1-dev-god-{esp_id}" not in names


async def test_rotate_only_once_secured(
    hass: HomeAssistant, ha_on_secure_broker: Broker, shared_device: DeviceProcess, dynsec: Dynsec
) -> None:
    """A device without a login of its own has nothing to rotate: the button comes with the
    login (without a reload of the entry)."""
    entry = await add_discovered_device(hass)
    await wait_for(hass, lambda: entry.runtime_data.device.available, what="device online")
    entity_id = f"button.{entry.data['esp_id'].replace('-', '_')}_rotate_broker_login"
    assert hass.states.get(entity_id) is None
    assert er.async_get(hass).async_get(entity_id) is None
    result = await secure(
        hass, entry, admin_username=ADMIN, admin_password=dynsec.password(ADMIN),
        shared_login="devices",
    )  # fmt: skip
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get(entity_id) is not None


@pytest.mark.parametrize("plugin", [False])
async def test_broker_without_the_plugin(
    hass: HomeAssistant, ha_on_secure_broker: Broker, shared_device: DeviceProcess
) -> None:
    """A plain broker: the form says the plugin is missing, nothing is stored."""
    entry = await add_discovered_device(hass)
    await wait_for(hass, lambda: entry.runtime_data.device.available, what="device online")
    result = await secure(hass, entry, admin_username=ADMIN, admin_password="x" * 16)
    assert result["errors"] == {"base": "dynsec_unavailable"}
    assert "broker_login" not in entry.data
    # The device goes on as before.
    device = entry.runtime_data.device
    heartbeat = device.heartbeat
    await wait_for(hass, lambda: device.heartbeat is not heartbeat, what="a heartbeat")
    assert device.available
    # Without a login there is nothing to remove on the broker: removal works as before.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_device_that_never_takes_its_login_keeps_the_old_access(
    hass: HomeAssistant, ha_on_secure_broker: Broker, dynsec: Dynsec
) -> None:
    """No lock-out: a device that does not switch (older firmware, ESPHome) keeps publishing
    and receiving under the shared login; HA records why and revokes nothing."""
    broker = ha_on_secure_broker
    esp_id = "legacy-01"
    root = f"kaiser/god/esp/{esp_id}/"
    device = Probe(broker.port, "devices", dynsec.password("devices"), client_id=esp_id).connect()
    try:
        assert device.subscribe(root + "system/command")
        assert device.subscribe(root + "config")
        announce = {
            "v": 1, "esp_id": esp_id, "board": "esp32dev", "fw": "esphome",
            "fw_version": "2025.1.0", "mac": "24:0A:C4:00:00:01", "login": "devices",
        }  # fmt: skip
        device.publish(root + "announce", json.dumps(announce).encode(), retain=True)
        device.publish(root + "status", b"online", retain=True)
        entry = await add_discovered_device(hass)
        await wait_for(hass, lambda: entry.runtime_data.device.available, what="device online")
        result = await secure(
            hass, entry, admin_username=ADMIN, admin_password=dynsec.password(ADMIN),
            shared_login="devices",
        )  # fmt: skip
        assert result["type"] is FlowResultType.CREATE_ENTRY
        # The device got the command (it may read its own system/command) and refuses it.
        ((_, payload),) = await hass.async_add_executor_job(
            device.wait_for_topic, root + "system/command"
        )
        command = json.loads(payload)
        assert command["cmd"] == "login"
        assert command["username"] == f"a1-{esp_id}-1"
        device.publish(
            root + "announce",
            json.dumps(announce | {"login_error": "unsupported"}).encode(),
            retain=True,
        )
        await wait_for(
            hass, lambda: login_state(entry).get("login_error") == "unsupported", what="refusal"
        )
        assert login_state(entry)["pending"] == f"a1-{esp_id}-1"
        assert login_state(entry)["current"] is None
        # Still in touch under the shared login, both ways.
        heartbeat = {"v": 1, "uptime_s": 5, "heap_free": 100000, "rssi": -50}
        device.publish(root + "heartbeat", json.dumps(heartbeat).encode())
        await wait_for(
            hass,
            lambda: entry.runtime_data.device.heartbeat is not None
            and entry.runtime_data.device.heartbeat.uptime_s == 5,
            what="the heartbeat under the shared login",
        )
        names = await hass.async_add_executor_job(clients, broker, dynsec)
        assert "role:a1-revoked" not in names
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        names = await hass.async_add_executor_job(clients, broker, dynsec)
        assert f"a1-{esp_id}-1" not in names
    finally:
        device.close()
