"""Firmware update entity and the firmware download view, with HA's MQTT mocked."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from homeassistant.components.update import (
    ATTR_IN_PROGRESS,
    ATTR_INSTALLED_VERSION,
    ATTR_LATEST_VERSION,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.automationone.protocol import parse_system_command
from custom_components.automationone.protocol.firmware import build_sim_image

from .common import ANNOUNCE, BASE, announce, setup_entry

FIRMWARE = "update.greenhouse_1_firmware"
IMAGE = build_sim_image("esp32dev", "0.2.0", b"\x00new firmware" * 100)


def write_firmware(folder: Path, image: bytes = IMAGE, **manifest: str) -> Path:
    """An image and its manifest in the firmware folder, as a user would put them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a1-esp32dev-0.2.0.bin").write_bytes(image)
    data = {
        "board": "esp32dev",
        "version": "0.2.0",
        "file": "a1-esp32dev-0.2.0.bin",
        "sha256": hashlib.sha256(image).hexdigest(),
    } | manifest
    (folder / "esp32dev.json").write_text(json.dumps(data))
    return folder


@pytest.fixture
def firmware_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The HA config directory in tmp_path; returns its automationone/firmware folder."""
    hass.config.config_dir = str(tmp_path)
    hass.config.internal_url = "http://192.0.2.1:8123"
    return tmp_path / "automationone" / "firmware"


def online(hass: HomeAssistant, payload: str = ANNOUNCE, retain: bool = True) -> None:
    """The device's announce (fw_version 0.1.0 on esp32dev) and status (retained when HA
    subscribes, live to a subscriber)."""
    async_fire_mqtt_message(hass, f"{BASE}/announce", payload, retain=retain)
    async_fire_mqtt_message(hass, f"{BASE}/status", "online", retain=retain)


async def start_install(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> tuple[asyncio.Task[None], bytes]:
    """Call update.install (it waits for the device); return its task and the command sent."""
    mqtt_mock.async_publish.reset_mock()
    task = asyncio.ensure_future(
        hass.services.async_call(
            UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: FIRMWARE}, blocking=True
        )
    )
    for _ in range(100):
        await asyncio.sleep(0)
        for call in mqtt_mock.async_publish.call_args_list:
            if call.args[0] == f"{BASE}/system/command":
                return task, call.args[1]
    raise AssertionError("no system/command published")


async def test_offer_install_and_serve(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    firmware_dir: Path,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A manifest for the device's board offers its version; install sends `ota` with a URL
    that serves the image to that grant only; the new version's announce ends the install."""
    write_firmware(firmware_dir)
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    state = hass.states.get(FIRMWARE)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_INSTALLED_VERSION] == "0.1.0"
    assert state.attributes[ATTR_LATEST_VERSION] == "0.2.0"

    task, payload = await start_install(hass, mqtt_mock)
    command = parse_system_command(payload)
    assert command.cmd == "ota"
    assert command.sha256 == hashlib.sha256(IMAGE).hexdigest()
    assert (command.board, command.version, command.size) == ("esp32dev", "0.2.0", len(IMAGE))
    assert command.url is not None
    assert command.url.startswith("http://192.0.2.1:8123/api/automationone/firmware/")
    assert hass.states.get(FIRMWARE).attributes[ATTR_IN_PROGRESS] is True

    client = await hass_client_no_auth()
    path = command.url.removeprefix("http://192.0.2.1:8123")
    response = await client.get(path)
    assert response.status == 200
    assert await response.read() == IMAGE
    token = path.split("/")[-2]
    for wrong in (
        path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")),
        path.replace("a1-esp32dev-0.2.0.bin", "esp32dev.json"),
        path.replace("a1-esp32dev-0.2.0.bin", "..%2Fesp32dev.json"),
    ):
        assert (await client.get(wrong)).status in (400, 404)  # 400: HA's security filter

    async_fire_mqtt_message(
        hass,
        f"{BASE}/ota/status",
        json.dumps({"v": 1, "state": "downloading", "progress": 40, "cmd_id": command.cmd_id}),
    )
    await asyncio.sleep(0)
    assert hass.states.get(FIRMWARE).attributes["update_percentage"] == 40
    async_fire_mqtt_message(hass, f"{BASE}/status", "offline")
    online(hass, announce(fw_version="0.2.0"), retain=False)
    await task
    state = hass.states.get(FIRMWARE)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_INSTALLED_VERSION] == "0.2.0"
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert (await client.get(path)).status == 404  # the grant ended with the install


@pytest.mark.parametrize(
    ("error", "exception", "message"),
    [
        ("board_mismatch", ServiceValidationError, "image is built for another board"),
        ("checksum_mismatch", HomeAssistantError, "does not match its SHA-256"),
        ("download_failed", HomeAssistantError, "could not download"),
        ("something_new", HomeAssistantError, "refused the firmware update (something_new"),
    ],
)
async def test_device_refusal_is_a_clear_error(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    firmware_dir: Path,
    error: str,
    exception: type[Exception],
    message: str,
) -> None:
    """The device's `failed` result becomes a translated error; the version stays."""
    write_firmware(firmware_dir)
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    task, payload = await start_install(hass, mqtt_mock)
    command = parse_system_command(payload)
    failed = {"v": 1, "state": "failed", "error": error, "detail": "x", "cmd_id": command.cmd_id}
    async_fire_mqtt_message(hass, f"{BASE}/ota/status", json.dumps(failed))
    with pytest.raises(exception) as raised:
        await task
    assert type(raised.value) is exception
    assert message in str(raised.value)
    assert "old firmware keeps running" in str(raised.value) or error == "unsupported"
    state = hass.states.get(FIRMWARE)
    assert (state.state, state.attributes[ATTR_IN_PROGRESS]) == (STATE_ON, False)


@pytest.mark.parametrize(
    ("manifest", "image"),
    [
        ({"sha256": "0" * 64}, IMAGE),  # the manifest's checksum does not match its file
        ({"board": "esp32dev", "file": "../secret.bin"}, IMAGE),  # not a plain file name
        ({"version": "0.2.0 beta"}, IMAGE),
        ({}, b""),  # empty image
    ],
)
async def test_unusable_manifest_offers_nothing(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    firmware_dir: Path,
    manifest: dict[str, str],
    image: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A manifest that cannot be used is logged with its reason and offers no update."""
    write_firmware(firmware_dir, image, **manifest)
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    state = hass.states.get(FIRMWARE)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_LATEST_VERSION] == "0.1.0"
    assert "esp32dev.json not used" in caplog.text
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: FIRMWARE}, blocking=True
        )


async def test_image_added_later_is_found(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, firmware_dir: Path
) -> None:
    """`homeassistant.update_entity` rescans the folder."""
    assert await async_setup_component(hass, "homeassistant", {})
    await setup_entry(hass)
    online(hass)
    await hass.async_block_till_done()
    assert hass.states.get(FIRMWARE).state == STATE_OFF
    write_firmware(firmware_dir)
    await hass.services.async_call(
        "homeassistant", "update_entity", {ATTR_ENTITY_ID: FIRMWARE}, blocking=True
    )
    assert hass.states.get(FIRMWARE).state == STATE_ON
