"""Device, entities and lifecycle of one ESP, with HA's MQTT mocked."""

from __future__ import annotations

import json
import logging
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
    WebSocketGenerator,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.automationone.const import DOMAIN

from .common import (
    ANNOUNCE,
    BASE,
    ESP_ID,
    HEARTBEAT,
    MAC,
    announce,
    mock_entry,
    published,
    registered_device,
    setup_entry,
)

CONNECTIVITY = "binary_sensor.greenhouse_1_connectivity"
RSSI = "sensor.greenhouse_1_wifi_signal"
HEAP = "sensor.greenhouse_1_free_memory"
BOOT = "sensor.greenhouse_1_last_restart"
RESTART = "button.greenhouse_1_restart"


def online(hass: HomeAssistant, heartbeat: str = HEARTBEAT) -> None:
    """The device's retained messages and one heartbeat."""
    async_fire_mqtt_message(hass, f"{BASE}/announce", ANNOUNCE, retain=True)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", heartbeat)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR])
async def test_entities_snapshot(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    platform: Platform,
) -> None:
    """Registry entries and states of every entity of an online device."""
    freezer.move_to("2026-11-27 12:00:00+00:00")  # one clock from setup on
    with patch("custom_components.automationone.PLATFORMS", [platform]):
        entry = await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_device_registry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, device_registry: dr.DeviceRegistry
) -> None:
    """The ESP is one device with board, firmware and MAC; firmware follows announces."""
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    device = registered_device(hass)
    assert device is not None
    assert (device.manufacturer, device.model, device.model_id, device.name) == (
        "Espressif",
        "ESP32-WROOM-32",
        "esp32dev",
        "Greenhouse 1",
    )
    assert device.sw_version == "automationone 0.1.0"
    assert (dr.CONNECTION_NETWORK_MAC, MAC) in device.connections
    assert device.via_device_id is None

    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(fw_version="0.2.0"))
    await hass.async_block_till_done()
    device = registered_device(hass)
    assert device is not None
    assert device.sw_version == "automationone 0.2.0"


async def test_device_behind_relay(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, device_registry: dr.DeviceRegistry
) -> None:
    """A device behind a Kaiser relay hangs below the relay's device."""
    await setup_entry(hass, kaiser_id="relay1")
    relay = registered_device(hass, "kaiser-relay1")
    device = registered_device(hass)
    assert relay is not None
    assert device is not None
    assert device.via_device_id == relay.id


async def test_moving_behind_relay_updates_entry(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, device_registry: dr.DeviceRegistry
) -> None:
    """An announce under another kaiser moves the device there, commands follow."""
    entry = await setup_entry(hass)
    async_fire_mqtt_message(
        hass, f"kaiser/relay1/esp/{ESP_ID}/announce", announce(kaiser_id="relay1")
    )
    await hass.async_block_till_done()
    assert entry.data["kaiser_id"] == "relay1"
    device = registered_device(hass)
    relay = registered_device(hass, "kaiser-relay1")
    assert device is not None
    assert relay is not None
    assert device.via_device_id == relay.id
    async_fire_mqtt_message(hass, f"kaiser/relay1/esp/{ESP_ID}/status", "online")
    await hass.async_block_till_done()
    await hass.services.async_call("button", "press", {"entity_id": RESTART}, blocking=True)
    await hass.async_block_till_done()
    sent = published(mqtt_mock)
    commands = [p for p in sent if p[0].endswith("/system/command")]
    assert commands[-1] == (
        f"kaiser/relay1/esp/{ESP_ID}/system/command",
        b'{"v":1,"cmd":"restart"}',
        1,
        False,
    )
    # Nothing stays retained below the kaiser it left; its config is retained below the new one.
    assert (f"kaiser/god/esp/{ESP_ID}/announce", b"", 1, True) in sent
    assert (f"kaiser/god/esp/{ESP_ID}/config", b"", 1, True) in sent
    assert any(p[0] == f"kaiser/relay1/esp/{ESP_ID}/config" and p[1] for p in sent)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_availability_follows_lwt_and_broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Entities go unavailable on the LWT and when HA loses the broker."""
    await setup_entry(hass)
    assert hass.states.get(CONNECTIVITY).state == STATE_UNAVAILABLE
    assert hass.states.get(RSSI).state == STATE_UNAVAILABLE
    online(hass)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTIVITY).state == STATE_ON
    assert hass.states.get(RSSI).state == "-61"
    assert hass.states.get(HEAP).state == "177.734375"  # KiB

    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTIVITY).state == STATE_OFF
    assert hass.states.get(RSSI).state == STATE_UNAVAILABLE
    assert hass.states.get(RESTART).state == STATE_UNAVAILABLE

    async_fire_mqtt_message(hass, f"{BASE}/status", "online")
    await hass.async_block_till_done()
    assert hass.states.get(RSSI).state == "-61"

    async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTIVITY).state == STATE_OFF
    assert hass.states.get(RSSI).state == STATE_UNAVAILABLE
    async_dispatcher_send(hass, mqtt.MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert hass.states.get(CONNECTIVITY).state == STATE_ON


async def test_retained_status_before_entry_exists(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A second device's retained status, delivered before its entry, is not lost."""
    first = await setup_entry(hass)
    other = "esp-d4e5f6"
    async_fire_mqtt_message(hass, f"kaiser/god/esp/{other}/status", "online", retain=True)
    await hass.async_block_till_done()
    second = mock_entry()
    second.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        second,
        unique_id="24:0a:c4:d4:e5:f6",
        data={**second.data, "esp_id": other, "mac": "24:0a:c4:d4:e5:f6", "name": "Second"},
        title="Second",
    )
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.second_connectivity").state == STATE_ON
    assert first.state is ConfigEntryState.LOADED


async def test_uptime_moves_only_on_restart(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """The boot time ignores heartbeat jitter and jumps on a restart."""
    freezer.move_to("2026-11-27 12:00:00+00:00")
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    assert hass.states.get(BOOT).state == "2026-11-27T11:00:00+00:00"
    freezer.tick(65)
    beat = json.loads(HEARTBEAT) | {"uptime_s": 3600 + 60}
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", json.dumps(beat))
    await hass.async_block_till_done()
    assert hass.states.get(BOOT).state == "2026-11-27T11:00:00+00:00"
    beat["uptime_s"] = 10
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", json.dumps(beat))
    await hass.async_block_till_done()
    assert hass.states.get(BOOT).state == "2026-11-27T12:00:55+00:00"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_heartbeat_redraws_only_what_it_shows(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """A heartbeat writes the entities that show its fields; the buttons and the board's
    drawing, which only follow the device's availability, are not written again."""
    freezer.move_to("2026-11-27 12:00:00+00:00")
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    followers = [
        RESTART,
        "button.greenhouse_1_identify",
        "button.greenhouse_1_emergency_stop",
        "button.greenhouse_1_clear_emergency_stop",
        "image.greenhouse_1_board_pins",
    ]
    before = {entity_id: hass.states.get(entity_id).last_reported for entity_id in followers}
    rssi_before = hass.states.get(RSSI).last_reported
    freezer.tick(30)
    beat = json.loads(HEARTBEAT) | {"uptime_s": 3600 + 30}
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", json.dumps(beat))
    await hass.async_block_till_done()
    assert hass.states.get(RSSI).last_reported > rssi_before  # written, unchanged
    assert {entity_id: hass.states.get(entity_id).last_reported for entity_id in followers} == (
        before
    )
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    await hass.async_block_till_done()
    assert hass.states.get(RESTART).state == STATE_UNAVAILABLE
    assert hass.states.get("button.greenhouse_1_emergency_stop").state != STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{BASE}/heartbeat", "{broken"),
        (f"{BASE}/heartbeat", '{"v":1,"uptime_s":NaN,"heap_free":1,"rssi":-1}'),
        (f"{BASE}/heartbeat", json.dumps({"v": 1, "uptime_s": 1, "heap_free": 1, "rssi": 9})),
        (f"{BASE}/heartbeat", json.dumps({"v": 1, "pad": "x" * 2000})),
        (f"{BASE}/status", "maybe"),
        (f"{BASE}/announce", announce(esp_id="someone-else")),
    ],
    ids=["malformed", "nan", "out-of-range", "oversized", "bad-status", "foreign-announce"],
)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_bad_messages_change_nothing(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, topic: str, payload: str
) -> None:
    """A bad message is dropped and counted; the last good state stays."""
    entry = await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    assert hass.states.get(RSSI).state == "-61"
    assert hass.states.get(CONNECTIVITY).state == STATE_ON
    assert sum(entry.runtime_data.device.rejected.values()) == 1


@pytest.mark.parametrize(
    ("kind", "head"),
    [
        ("sensor/batch", '{"v":1,"seq":1,"readings":[{"gpio":34,"raw":1}],"zz":'),
        ("config/ack", '{"v":1,"version":1,"ok":true,"results":[],"zz":'),
    ],
)
@pytest.mark.parametrize("depth", [32, 1025, 1950])
async def test_deep_json_is_rejected_with_one_log_line(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    head: str,
    depth: int,
) -> None:
    """Nesting deeper than the protocol's limit is too_large, logged once, not a crash."""
    entry = await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    caplog.clear()
    for _ in range(5):
        async_fire_mqtt_message(hass, f"{BASE}/{kind}", head + "[" * depth + "]" * depth + "}")
    await hass.async_block_till_done()
    assert entry.runtime_data.device.rejected == {"too_large": 5}
    # asyncio's "Executing ... took 0.26 seconds" is about a loaded machine, not this message.
    logged = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and r.name != "asyncio"
    ]
    assert len(logged) == 1
    assert "nested deeper than 32 levels" in logged[0]
    assert hass.states.get(CONNECTIVITY).state == STATE_ON


async def test_wildcard_topics_are_ignored(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Messages on topics outside protocol v1 reach no device."""
    entry = await setup_entry(hass)
    async_fire_mqtt_message(hass, "kaiser/god/esp/esp-a1b2c3/sensor/99/data", "{}")
    async_fire_mqtt_message(hass, "kaiser/god/esp/esp-a1b2c3/whatever", "{}")
    await hass.async_block_till_done()
    assert not entry.runtime_data.device.rejected
    assert hass.states.get(CONNECTIVITY).state == STATE_UNAVAILABLE


async def test_restart_button(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """The restart button sends a system command."""
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    await hass.services.async_call("button", "press", {"entity_id": RESTART}, blocking=True)
    assert published(mqtt_mock)[-1] == (
        f"{BASE}/system/command",
        b'{"v":1,"cmd":"restart"}',
        1,
        False,
    )


async def test_rotate_button_of_an_unsecured_device_goes(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """Earlier versions gave every device a rotate-login button; without a login of its own
    there is nothing to rotate, so the one they registered is removed."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    stale = entity_registry.async_get_or_create(
        Platform.BUTTON, DOMAIN, f"{MAC}-rotate_broker_login", config_entry=entry
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get(stale.entity_id) is None
    assert entity_registry.async_get_entity_id(Platform.BUTTON, DOMAIN, f"{MAC}-restart")


async def test_diagnostics(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics redact the MAC and show what was dropped."""
    entry = await setup_entry(hass)
    online(hass)
    async_fire_mqtt_message(hass, f"{BASE}/heartbeat", "{broken")
    await hass.async_block_till_done()
    assert await get_diagnostics_for_config_entry(hass, hass_client, entry) == snapshot


async def test_unload_and_remove_clears_retained(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Unload stops following the device; removing it clears its retained topics."""
    entry = await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(CONNECTIVITY).state == STATE_UNAVAILABLE
    mqtt_mock.async_publish.reset_mock()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert published(mqtt_mock) == [
        (f"{BASE}/{kind}", b"", 1, True)
        for kind in ("announce", "status", "config", "config/ack", "emergency")
    ]


async def test_setup_retries_without_broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """No MQTT client yet: the entry retries later instead of failing."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    with patch(
        "custom_components.automationone.mqtt.async_wait_for_mqtt_client", return_value=False
    ):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_device_removal_rules(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The ESP itself is removed with its entry; a stale relay device can be deleted."""
    assert await async_setup_component(hass, "config", {})
    entry = await setup_entry(hass, kaiser_id="relay1")
    async_fire_mqtt_message(hass, f"kaiser/god/esp/{ESP_ID}/announce", announce(kaiser_id="god"))
    await hass.async_block_till_done()
    esp = registered_device(hass)
    relay = registered_device(hass, "kaiser-relay1")
    client = await hass_ws_client(hass)
    for device, allowed in ((esp, False), (relay, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is allowed


OTHER_MAC = "30:ae:a4:00:00:99"


async def test_another_board_on_the_same_topics_raises_a_repair(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An announce with another MAC is not this device's: a repair names both MACs."""
    entry = await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    mqtt_mock.async_publish.reset_mock()
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(mac=OTHER_MAC, fw_version="9.9.9"))
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"mac_conflict_{ESP_ID}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "device": "Greenhouse 1",
        "esp_id": ESP_ID,
        "mac": MAC,
        "other_mac": OTHER_MAC,
    }
    device = registered_device(hass)
    assert device is not None
    assert device.sw_version == "automationone 0.1.0"
    assert entry.runtime_data.device.announce is not None
    assert entry.runtime_data.device.announce.mac == MAC.upper()
    assert entry.runtime_data.device.rejected == {"mac_conflict": 1}
    mqtt_mock.async_publish.assert_not_called()  # the device's config is left alone

    async_fire_mqtt_message(hass, f"{BASE}/announce", ANNOUNCE)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, f"mac_conflict_{ESP_ID}") is None


async def test_two_entries_on_one_topic_root_follow_one_board(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """An older duplicate entry for the same id does not set up, and its removal leaves the
    first board's retained topics alone."""
    first = await setup_entry(hass)
    duplicate = MockConfigEntry(
        domain=DOMAIN,
        title="Impostor",
        unique_id=OTHER_MAC,
        data={**first.data, "mac": OTHER_MAC, "name": "Impostor"},
    )
    duplicate.add_to_hass(hass)
    mqtt_mock.async_publish.reset_mock()
    assert not await hass.config_entries.async_setup(duplicate.entry_id)
    assert duplicate.state is ConfigEntryState.SETUP_ERROR
    assert duplicate.reason is not None
    assert OTHER_MAC in duplicate.reason
    assert MAC in duplicate.reason
    await hass.config_entries.async_remove(duplicate.entry_id)
    await hass.async_block_till_done()
    mqtt_mock.async_publish.assert_not_called()
    assert first.state is ConfigEntryState.LOADED


async def test_identify_button_and_confirmed_factory_reset(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Identify is a button (the device blinks); the factory reset is in the entry's
    Configure dialog and is sent only once the user ticked the confirmation, never retained."""
    entry = await setup_entry(hass)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online")
    await hass.async_block_till_done()
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.greenhouse_1_identify"}, blocking=True
    )
    assert mqtt_mock.async_publish.call_args.args == (
        f"{BASE}/system/command",
        b'{"v":1,"cmd":"identify"}',
        1,
        False,
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "move",
        "factory_reset",
        "secure_login",
        "tls_certificates",
        "ai_service",
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "factory_reset"}
    )
    assert result["step_id"] == "factory_reset"
    mqtt_mock.async_publish.reset_mock()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"confirm": False}
    )
    assert result["errors"] == {"confirm": "not_confirmed"}
    assert mqtt_mock.async_publish.call_count == 0
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"confirm": True})
    assert result["errors"] == {"base": "device_offline"}
    async_fire_mqtt_message(hass, f"{BASE}/status", "online")
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"confirm": True})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [c.args for c in mqtt_mock.async_publish.call_args_list] == [
        (f"{BASE}/system/command", b'{"v":1,"cmd":"factory_reset"}', 1, False)
    ]


async def test_tls_certificates_from_the_configure_dialog(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The broker's CA and certificate are made from the UI (no script): written to
    <config>/automationone/tls with private keys 0600, and the certificate names the hosts."""
    from cryptography import x509

    entry = await setup_entry(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "tls_certificates"}
    )
    assert result["step_id"] == "tls_certificates"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tls_hosts": "mqtt.local, 192.168.1.10"}
    )
    assert result["step_id"] == "tls_written"
    folder = hass.config.path(DOMAIN, "tls")
    ca_pem = result["description_placeholders"]["ca"]

    def read() -> tuple[str, x509.Certificate, int]:
        with open(f"{folder}/broker.crt", "rb") as file:
            broker = x509.load_pem_x509_certificate(file.read())
        with open(f"{folder}/ca.crt", encoding="utf-8") as file:
            ca = file.read()
        import os

        return ca, broker, os.stat(f"{folder}/broker.key").st_mode & 0o777

    ca, broker, key_mode = await hass.async_add_executor_job(read)
    assert ca == ca_pem
    assert key_mode == 0o600
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mqtt.local" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.10"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
