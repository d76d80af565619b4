"""Config flow: MQTT discovery, confirm, manual id, and every abort and error."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_MQTT, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import ANNOUNCE, BASE, ESP_ID, MAC, announce, mock_entry

EXPECTED_DATA = {
    "kind": "esp",
    "esp_id": ESP_ID,
    "kaiser_id": "god",
    "mac": MAC,
    "board": "esp32dev",
    "name": "Greenhouse 1",
}


def discovery(payload: str | bytes, topic: str = f"{BASE}/announce") -> MqttServiceInfo:
    """Discovery info as HA's MQTT integration hands it over."""
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=1,
        retain=True,
        subscribed_topic="kaiser/+/esp/+/announce",
        timestamp=0,
    )


async def test_discovery_confirm_creates_entry(hass: HomeAssistant) -> None:
    """A valid announce leads to a confirm form and then one entry keyed by the MAC."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(ANNOUNCE)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {
        "name": "Greenhouse 1",
        "esp_id": ESP_ID,
        "board": "ESP32-WROOM-32",
        "firmware": "automationone 0.1.0",
    }
    flow = hass.config_entries.flow.async_get(result["flow_id"])
    assert flow["context"]["title_placeholders"] == {"name": "Greenhouse 1"}
    with patch("custom_components.automationone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Greenhouse 1"
    assert result["data"] == EXPECTED_DATA
    assert result["result"].unique_id == MAC


async def test_discovery_without_name_uses_esp_id(hass: HomeAssistant) -> None:
    """A device that does not name itself is titled by its id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(announce(name=None))
    )
    assert result["description_placeholders"]["name"] == ESP_ID


async def test_discovery_of_configured_device_updates_kaiser(hass: HomeAssistant) -> None:
    """A known MAC aborts, and a move behind a relay is written to the entry."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    moved = announce(kaiser_id="relay1")
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(moved, f"kaiser/relay1/esp/{ESP_ID}/announce"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data["kaiser_id"] == "relay1"


@pytest.mark.parametrize(
    ("payload", "topic", "reason"),
    [
        ("", f"{BASE}/announce", "device_removed"),
        ("{not json", f"{BASE}/announce", "invalid_announce"),
        (
            '{"v":1,"esp_id":"esp-a1b2c3","board":"esp32dev"}',
            f"{BASE}/announce",
            "invalid_announce",
        ),
        (announce(v=2), f"{BASE}/announce", "invalid_announce"),
        (announce(esp_id="esp+1"), f"{BASE}/announce", "invalid_announce"),
        (ANNOUNCE, "kaiser/god/esp/someone-else/announce", "invalid_announce"),
        (ANNOUNCE, "kaiser/god/esp/a+b/announce", "invalid_announce"),
        (ANNOUNCE + " " * 1100, f"{BASE}/announce", "invalid_announce"),
        (announce(board="esp8266"), f"{BASE}/announce", "unsupported_board"),
    ],
    ids=[
        "empty",
        "malformed",
        "missing-fields",
        "version-2",
        "wildcard-id",
        "id-mismatch",
        "bad-topic",
        "oversized",
        "unsupported-board",
    ],
)
async def test_discovery_aborts(hass: HomeAssistant, payload: str, topic: str, reason: str) -> None:
    """Bad announces abort with a named, translated reason."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(payload, topic)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_user_without_mqtt_aborts(hass: HomeAssistant) -> None:
    """The manual step needs the MQTT integration."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def _configure_while_announcing(hass: HomeAssistant, flow_id: str, payload: str) -> dict:
    """Submit the manual step and deliver the retained announce once HA subscribed."""
    task = asyncio.create_task(
        hass.config_entries.flow.async_configure(flow_id, {"esp_id": ESP_ID, "kaiser_id": "god"})
    )
    for _ in range(200):
        if task.done():
            break
        async_fire_mqtt_message(hass, f"{BASE}/announce", payload, retain=True)
        await asyncio.sleep(0.01)
    return await task


async def test_user_finds_retained_announce(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Entering an id reads the device's announce and goes on to confirm."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await _configure_while_announcing(hass, result["flow_id"], ANNOUNCE)
    assert result["step_id"] == "confirm"
    with patch("custom_components.automationone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == EXPECTED_DATA
    await hass.async_block_till_done()


async def _recovers_to_entry(hass: HomeAssistant, flow_id: str) -> None:
    """From an error form, a good id with a retained announce ends in the entry."""
    result = await _configure_while_announcing(hass, flow_id, ANNOUNCE)
    assert result["step_id"] == "confirm"
    with patch("custom_components.automationone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == EXPECTED_DATA
    await hass.async_block_till_done()


async def test_user_invalid_announce_then_recovers(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A bad retained announce is an error on the form, and the user can retry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure_while_announcing(hass, result["flow_id"], announce(mac="bad"))
    assert result["errors"] == {"base": "invalid_announce"}
    result = await _configure_while_announcing(hass, result["flow_id"], ANNOUNCE)
    assert result["step_id"] == "confirm"


@pytest.mark.parametrize(
    ("esp_id", "kaiser_id"),
    [
        ("esp/1", "god"),
        ("esp+1", "god"),
        ("esp#", "god"),
        ("", "god"),
        ("x" * 33, "god"),
        ("e", "g/d"),
    ],
)
async def test_user_invalid_id(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, esp_id: str, kaiser_id: str
) -> None:
    """Ids that could be MQTT wildcards or separators are refused on the form; a good id
    then goes on to the entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"esp_id": esp_id, "kaiser_id": kaiser_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_id"}
    await _recovers_to_entry(hass, result["flow_id"])


async def test_user_no_announce(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """No retained announce within the wait is an error on the form; the user retries."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch("custom_components.automationone.config_flow.ANNOUNCE_WAIT_S", 0.05):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"esp_id": ESP_ID, "kaiser_id": "god"}
        )
    assert result["errors"] == {"base": "no_announce"}
    await _recovers_to_entry(hass, result["flow_id"])


async def test_user_mqtt_not_connected(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """A broker HA cannot reach is an error on the form; once it is back, the user retries."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch(
        "custom_components.automationone.config_flow.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"esp_id": ESP_ID, "kaiser_id": "god"}
        )
    assert result["errors"] == {"base": "mqtt_not_connected"}
    await _recovers_to_entry(hass, result["flow_id"])


async def test_user_already_configured(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Adding a configured device by hand aborts."""
    mock_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure_while_announcing(hass, result["flow_id"], ANNOUNCE)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


OTHER_MAC = "30:ae:a4:00:00:99"
ID_IN_USE = {"device": "Greenhouse 1", "esp_id": ESP_ID, "mac": MAC, "other_mac": OTHER_MAC}


async def test_second_board_with_the_same_id_is_not_offered(hass: HomeAssistant) -> None:
    """Another MAC announcing a configured esp_id aborts, naming both MACs."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(announce(mac=OTHER_MAC.upper()))
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "esp_id_in_use"
    assert result["description_placeholders"] == ID_IN_USE
    assert hass.config_entries.async_entries(DOMAIN) == [entry]


async def test_renamed_board_cannot_take_a_used_id(hass: HomeAssistant) -> None:
    """A configured board announcing another board's id is refused, its entry left as it was."""
    first = mock_entry()
    first.add_to_hass(hass)
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Greenhouse 2",
        unique_id=OTHER_MAC,
        data={**first.data, "esp_id": "esp-other", "mac": OTHER_MAC, "name": "Greenhouse 2"},
    )
    second.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(announce(mac=OTHER_MAC))
    )
    assert result["reason"] == "esp_id_in_use"
    assert second.data["esp_id"] == "esp-other"


async def test_confirm_refuses_an_id_taken_meanwhile(hass: HomeAssistant) -> None:
    """A board added while another's confirm form was open makes that form abort."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(announce(mac=OTHER_MAC))
    )
    assert result["step_id"] == "confirm"
    mock_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "esp_id_in_use"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_user_step_refuses_a_used_id(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Entering the id of a configured device whose topics now carry another board aborts."""
    mock_entry().add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure_while_announcing(hass, result["flow_id"], announce(mac=OTHER_MAC))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "esp_id_in_use"
