"""The Kaiser relay's config flow (discovery from its announce) and its bridge options flow."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_MQTT, ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.config_flow import AutomationOneConfigFlow
from custom_components.automationone.const import DOMAIN
from custom_components.automationone.protocol.relay import RelayAnnounce

from .common import BASE, announce, published, setup_entry

TOPIC = "kaiser/gh1/relay/announce"
ANNOUNCE = RelayAnnounce("gh1", "0.1.0", "kaiser-gh1", "Greenhouse relay").encode()


def discovery(payload: bytes, topic: str = TOPIC) -> MqttServiceInfo:
    """Discovery info as HA's MQTT integration hands it over."""
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=1,
        retain=True,
        subscribed_topic="kaiser/+/relay/announce",
        timestamp=0,
    )


def relay_entry(**data: str) -> MockConfigEntry:
    """A relay's entry as the flow makes it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Greenhouse relay",
        unique_id="kaiser-gh1",
        version=1,
        minor_version=4,
        data={"kind": "relay", "kaiser_id": "gh1", "bridge": "kaiser-gh1", **data},
    )


async def test_relay_discovery_creates_a_relay_entry(hass: HomeAssistant) -> None:
    """A relay's announce → confirm → an entry of kind relay keyed by the kaiser id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(ANNOUNCE)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "relay_confirm"
    assert result["description_placeholders"] == {
        "name": "Greenhouse relay",
        "kaiser_id": "gh1",
        "version": "0.1.0",
    }
    with patch("custom_components.automationone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "kind": "relay",
        "kaiser_id": "gh1",
        "bridge": "kaiser-gh1",
        "name": "Greenhouse relay",
    }
    assert result["result"].unique_id == "kaiser-gh1"
    assert AutomationOneConfigFlow.async_get_supported_subentry_types(result["result"]) == {}


async def test_relay_without_name_and_rediscovery(hass: HomeAssistant) -> None:
    """No name: "Kaiser <id>"; a configured relay's announce updates its bridge and aborts."""
    unnamed = RelayAnnounce("gh1", "0.1.0", "kaiser-gh1").encode()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(unnamed)
    )
    assert result["description_placeholders"]["name"] == "Kaiser gh1"
    hass.config_entries.flow.async_abort(result["flow_id"])
    entry = relay_entry()
    entry.add_to_hass(hass)
    renamed = RelayAnnounce("gh1", "0.1.1", "bridge-two").encode()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(renamed)
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    assert entry.data["bridge"] == "bridge-two"


async def test_relay_announce_for_another_kaiser_aborts(hass: HomeAssistant) -> None:
    """An announce whose kaiser id is not its topic's is refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(ANNOUNCE, "kaiser/gh2/relay/announce"),
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "invalid_announce")


async def test_relay_options_show_the_bridge_config(hass: HomeAssistant) -> None:
    """Configure on the relay's entry shows the bridge configuration for HA's own broker."""
    # HA's MQTT entry, only read (disabled, so that nothing connects)
    MockConfigEntry(
        domain="mqtt",
        data={"broker": "192.168.1.2", "port": 1884},
        disabled_by=ConfigEntryDisabler.USER,
    ).add_to_hass(hass)
    entry = relay_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.MENU, "relay")
    assert result["menu_options"] == ["relay_bridge", "relay_login"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "relay_bridge"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "relay_bridge")
    config = result["description_placeholders"]["config"].splitlines()
    assert "address 192.168.1.2:1884" in config
    assert "topic kaiser/gh1/# both 1" in config
    assert "cleansession false" in config
    # No login of its own yet: no login lines, no TLS, no CA to copy.
    login_lines = ("remote_username", "remote_password", "bridge_cafile")
    assert not any(line.startswith(login_lines) for line in config)
    assert result["description_placeholders"]["ca"] == "-"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_the_shown_config_keeps_a_relay_closed_to_anonymous_devices(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A relay that makes logins and found its broker closed (`"anonymous": false`,
    docs/protocol.md) gets `allow_anonymous false` in the configuration HA shows: copying it
    again must not let anonymous devices back in."""
    from custom_components.automationone.kaiser_relay import generated_bridge_config

    relay = relay_entry()
    relay.add_to_hass(hass)
    assert await hass.config_entries.async_setup(relay.entry_id)
    shown = {}
    for anonymous in ("true", "false"):
        announce = (
            '{"v":1,"kaiser_id":"gh1","sw_version":"0.1.0","bridge":"kaiser-gh1",'
            f'"logins":true,"anonymous":{anonymous}}}'
        )
        # HA's MQTT client hands a subscription one retained copy: the change comes live.
        async_fire_mqtt_message(hass, TOPIC, announce, retain=anonymous == "true")
        await hass.async_block_till_done()
        assert relay.runtime_data.announce is not None
        assert relay.runtime_data.announce.anonymous is (anonymous == "true")
        shown[anonymous] = generated_bridge_config(hass, relay).splitlines()
    assert "allow_anonymous true" in shown["true"]
    assert "allow_anonymous false" in shown["false"]
    assert "allow_anonymous true" not in shown["false"]
    assert "plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json" in shown["false"]
    await hass.config_entries.async_unload(relay.entry_id)
    await hass.async_block_till_done()


async def _move_form(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry_id)
    return dict(
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "move"}
        )
    )


async def test_moving_a_device_from_its_configure_dialog(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Configure → Move sends `move` on the device's current root (QoS 1, not retained) and
    reports the device's answer; firmware without `caps.move` is not offered the move, a relay
    whose address is unknown needs one, and a device that never answers is reported."""
    relay = relay_entry()
    relay.add_to_hass(hass)
    entry = await setup_entry(hass)
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(caps=None), retain=True)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=True)
    await hass.async_block_till_done()
    result = await _move_form(hass, entry.entry_id)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "move_unsupported")

    caps = {"sensors": 16, "actuators": 8, "move": True}
    async_fire_mqtt_message(hass, f"{BASE}/announce", announce(caps=caps))  # live: no retain flag
    await hass.async_block_till_done()
    result = await _move_form(hass, entry.entry_id)
    assert result.get("step_id") == "move", result
    flow_id = result["flow_id"]
    result = await hass.config_entries.options.async_configure(flow_id, {"kaiser_id": "gh1"})
    assert result["errors"] == {"host": "relay_host_unknown"}

    mqtt_mock.async_publish.reset_mock()
    with patch("custom_components.automationone.device_move.MOVE_ANSWER_TIMEOUT_S", 0.05):
        result = await hass.config_entries.options.async_configure(
            flow_id, {"kaiser_id": "gh1", "host": "relay.local", "port": 1884}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.options.async_configure(flow_id)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "move_no_answer")
    (topic, payload, qos, retain) = published(mqtt_mock)[0]
    assert (topic, qos, retain) == (f"{BASE}/system/command", 1, False)
    sent = json.loads(payload)
    assert sent.pop("cmd_id").startswith("move-")
    assert sent == {"v": 1, "cmd": "move", "kaiser_id": "gh1", "host": "relay.local", "port": 1884}

    # The device tries, gives up and says why on its old root.
    result = await _move_form(hass, entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"kaiser_id": "gh1", "host": "relay.local"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    refused = announce(caps=caps, move_error="refused")
    async_fire_mqtt_message(hass, f"{BASE}/announce", refused)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_configure(result["flow_id"])
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "move_refused")
    assert entry.data["kaiser_id"] == "god"
    for loaded in (entry, relay):
        await hass.config_entries.async_unload(loaded.entry_id)
    await hass.async_block_till_done()


# Each change of its options reloads the MQTT entry, which leaves its subscription cooldown.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_a_last_will_relays_do_not_listen_for_is_a_repair(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Relays take over on HA's default last will; another topic or none is an error repair
    while a relay is set up, cleared when the will is back or the relay is gone."""
    registry = ir.async_get(hass)
    relay = relay_entry()
    relay.add_to_hass(hass)
    assert await hass.config_entries.async_setup(relay.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "relay_needs_ha_will") is None  # HA's default
    (mqtt_entry,) = hass.config_entries.async_entries("mqtt")
    hass.config_entries.async_update_entry(
        mqtt_entry,
        options={
            **mqtt_entry.options,
            "will_message": {"topic": "ha/lwt", "payload": "gone", "qos": 0, "retain": False},
        },
    )
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, "relay_needs_ha_will")
    assert issue is not None
    assert (issue.translation_key, issue.severity) == ("relay_needs_ha_will", "error")
    assert issue.translation_placeholders == {"topic": "ha/lwt", "expected": "homeassistant/status"}
    hass.config_entries.async_update_entry(
        mqtt_entry, options={**mqtt_entry.options, "will_message": {}}
    )
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, "relay_needs_ha_will")
    assert issue is not None
    assert issue.translation_key == "relay_needs_ha_will_none"
    assert await hass.config_entries.async_unload(relay.entry_id)
    assert registry.async_get_issue(DOMAIN, "relay_needs_ha_will") is None
    assert await hass.config_entries.async_setup(relay.entry_id)
    assert registry.async_get_issue(DOMAIN, "relay_needs_ha_will") is not None
    hass.config_entries.async_update_entry(
        mqtt_entry,
        options={
            **mqtt_entry.options,
            "will_message": {
                "topic": "homeassistant/status", "payload": "offline", "qos": 0, "retain": False,
            },
        },
    )  # fmt: skip
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "relay_needs_ha_will") is None


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_relay_login_requests_and_their_answers(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """HA's side of `relay/login` (docs/protocol.md): only to a relay that is available and
    announces `logins`; QoS 1, not retained; the relay's answer by request id; a refusal,
    no answer and a bad answer."""
    from custom_components.automationone import kaiser_relay
    from custom_components.automationone.logins import LoginSetupError
    from custom_components.automationone.protocol.relay import (
        RelayHealth,
        RelayLoginAck,
        RelayLoginRequest,
    )

    relay = relay_entry()
    relay.add_to_hass(hass)
    assert await hass.config_entries.async_setup(relay.entry_id)
    await hass.async_block_till_done()
    request = RelayLoginRequest("create-1", "create", "gh-01", 1, "p" * 24)

    async def ask() -> BaseException | RelayLoginAck:
        try:
            return await kaiser_relay.async_relay_login(hass, "gh1", request)
        except LoginSetupError as err:
            return err

    result = await ask()
    assert isinstance(result, LoginSetupError)
    assert result.key == "relay_offline"
    health = RelayHealth(bridge=True, devices=1, msg_s=1.0, uptime_s=5, edge="standby")
    async_fire_mqtt_message(hass, TOPIC, ANNOUNCE, retain=True)  # without `logins`
    async_fire_mqtt_message(hass, "kaiser/gh1/relay/status", "online", retain=True)
    async_fire_mqtt_message(hass, "kaiser/gh1/relay/health", health.encode())
    await hass.async_block_till_done()
    assert relay.runtime_data.available
    mqtt_mock.async_publish.reset_mock()
    result = await ask()
    assert isinstance(result, LoginSetupError)
    assert result.key == "relay_no_admin"
    assert not mqtt_mock.async_publish.called  # the password went nowhere

    with_logins = RelayAnnounce("gh1", "0.1.0", "kaiser-gh1", "Greenhouse relay", logins=True)
    async_fire_mqtt_message(hass, TOPIC, with_logins.encode())  # live: no retain flag
    await hass.async_block_till_done()
    assert relay.runtime_data.announce == with_logins, relay.runtime_data.rejected
    for answer, key in (
        (
            RelayLoginAck("create-1", False, error="refused", detail="createClient: x"),
            "relay_refused",
        ),
        (RelayLoginAck("create-1", False, error="no_admin"), "relay_no_admin"),
        (RelayLoginAck("create-1", True, "a1-gh-01-1"), None),
    ):
        mqtt_mock.async_publish.reset_mock()
        task = asyncio.ensure_future(ask())
        for _ in range(50):
            await asyncio.sleep(0)
            if mqtt_mock.async_publish.called:
                break
        assert not task.done(), task.result()
        (topic, payload, qos, retain) = published(mqtt_mock)[-1]
        assert (topic, qos, retain) == ("kaiser/gh1/relay/login", 1, False)
        assert json.loads(payload)["password"] == "p" * 24
        # Another request's answer and a bad one change nothing.
        other = RelayLoginAck("create-2", True, "a1-gh-01-9").encode()
        async_fire_mqtt_message(hass, "kaiser/gh1/relay/login_ack", other)
        async_fire_mqtt_message(hass, "kaiser/gh1/relay/login_ack", b'{"v":1,"ok":true}')
        assert not task.done()
        async_fire_mqtt_message(hass, "kaiser/gh1/relay/login_ack", answer.encode())
        result = await task
        if key is None:
            assert result == answer
        else:
            assert isinstance(result, LoginSetupError)
            assert result.key == key
    assert relay.runtime_data.rejected == {"missing_field": 3}
    assert relay.runtime_data.login_waiters == {}
    with patch.object(kaiser_relay, "LOGIN_ANSWER_S", 0.05):
        result = await ask()
    assert isinstance(result, LoginSetupError)
    assert (result.key, result.detail) == ("relay_offline", "gh1: no answer")
    assert relay.runtime_data.login_waiters == {}
    await hass.config_entries.async_unload(relay.entry_id)
    await hass.async_block_till_done()
