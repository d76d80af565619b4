"""Firmware update end to end: HA's update entity and firmware view on a real HTTP socket,
real Mosquitto, and a device process (the firmware core on the host, or the Python simulator)
that downloads, checks and "reboots" into the new version."""

from __future__ import annotations

from collections.abc import Iterator
import hashlib
import json
from pathlib import Path

from homeassistant.components.update import (
    ATTR_INSTALLED_VERSION,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.firmware_server import DATA_FIRMWARE
from custom_components.automationone.protocol.firmware import build_sim_image

from ..broker import Broker
from .realtime import (
    DeviceProcess,
    TopicRecorder,
    add_discovered_device,
    simulator,
    virtual_esp,
    wait_for,
)

BODY = bytes(range(256)) * 200  # 51 kB: several progress reports


@pytest.fixture(params=["virtual-esp", "simulator"])
def device(broker: Broker, request: pytest.FixtureRequest) -> Iterator[tuple[DeviceProcess, str]]:
    """A device process and the firmware family it announces."""
    if request.param == "simulator":
        proc, family = (
            simulator(broker.port, "--devices", "1", "--prefix", "ota", "--heartbeat", "1"),
            "simulator",
        )
    else:
        proc, family = virtual_esp(broker.port, "ota-ve-01"), "automationone"
    proc.start()
    yield proc, family
    proc.stop()


@pytest.fixture
async def firmware_dir(
    hass: HomeAssistant, tmp_path: Path, hass_client_no_auth: ClientSessionGenerator
) -> Path:
    """HA's config in tmp_path and HA's HTTP app on a real loopback port as its local URL
    (views are registered at integration setup, before the server starts, as in HA)."""
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, DOMAIN, {})
    # The test client freezes the router (HA's own server does not): components whose views
    # an entry's platforms need come first (the board picture's image entity).
    assert await async_setup_component(hass, "image", {})
    client = await hass_client_no_auth()
    hass.config.internal_url = f"http://127.0.0.1:{client.port}"
    return tmp_path / "automationone" / "firmware"


def offer(folder: Path, family: str, image: bytes, version: str = "0.2.0") -> Path:
    """The image and its manifest for esp32dev; returns the image's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{family}-esp32dev-{version}.bin"
    path.write_bytes(image)
    manifest = {
        "board": "esp32dev",
        "fw": family,
        "version": version,
        "file": path.name,
        "sha256": hashlib.sha256(image).hexdigest(),
    }
    (folder / "esp32dev.json").write_text(json.dumps(manifest))
    return path


async def follow(hass: HomeAssistant) -> tuple[str, str]:
    """Add the discovered device; its update entity id and esp_id once it offers 0.2.0
    (the folder is rescanned now rather than after the next minute)."""
    await hass.data[DATA_FIRMWARE].async_refresh()
    entry = await add_discovered_device(hass)
    entity_id = er.async_get(hass).async_get_entity_id(
        UPDATE_DOMAIN, DOMAIN, f"{entry.unique_id}-firmware"
    )
    assert entity_id is not None
    await wait_for(hass, lambda: hass.states.get(entity_id).state == STATE_ON, what="offer")
    return entity_id, entry.data["esp_id"]


async def install(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def test_install_reboots_into_the_new_version(
    hass: HomeAssistant,
    real_mqtt: Broker,
    firmware_dir: Path,
    device: tuple[DeviceProcess, str],
) -> None:
    """Install: the device downloads from HA, reports progress, verifies, reboots and
    announces 0.2.0; the update entity then shows it installed."""
    offer(firmware_dir, device[1], build_sim_image("esp32dev", "0.2.0", BODY))
    entity_id, esp_id = await follow(hass)
    assert hass.states.get(entity_id).attributes[ATTR_INSTALLED_VERSION] == "0.1.0"
    reports = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/ota/status")
    announces = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/announce")
    # The retained announce arrives once the broker has both subscriptions (one batch).
    await wait_for(hass, lambda: announces.messages, what="the subscriptions")

    await install(hass, entity_id)

    state = hass.states.get(entity_id)
    assert (state.state, state.attributes[ATTR_INSTALLED_VERSION]) == (STATE_OFF, "0.2.0")
    # HA's subscription saw the end first; the recorders' own connections may lag behind.
    await wait_for(
        hass,
        lambda: bool(reports.messages and announces.messages)
        and b'"installed"' in reports.messages[-1][1]
        and b'"0.2.0"' in announces.messages[-1][1],
        what="the recorders to see the end",
    )
    statuses = [json.loads(payload) for _, payload in reports.messages]
    assert statuses[0]["state"] == "downloading"
    assert statuses[-1]["state"] == "installed"
    assert statuses[-1]["progress"] == 100
    progress = [s["progress"] for s in statuses if s["state"] == "downloading"]
    assert progress == sorted(progress)
    assert len(progress) >= 3  # start and at least two tenths of 51 kB
    assert json.loads(announces.messages[-1][1])["fw_version"] == "0.2.0"
    reports.stop()
    announces.stop()


async def test_refused_updates_keep_the_old_firmware(
    hass: HomeAssistant,
    real_mqtt: Broker,
    firmware_dir: Path,
    device: tuple[DeviceProcess, str],
) -> None:
    """A corrupted file (checksum), an image for another board and a vanished file (download
    error) are each refused with a clear reason; the device keeps running 0.1.0."""
    family = device[1]
    image = build_sim_image("esp32dev", "0.2.0", BODY)
    path = offer(firmware_dir, family, image)
    entity_id, esp_id = await follow(hass)
    heartbeats = await TopicRecorder().start(real_mqtt, f"kaiser/god/esp/{esp_id}/heartbeat")

    path.write_bytes(image[:-1] + bytes([image[-1] ^ 1]))  # corrupted after HA checked it
    with pytest.raises(HomeAssistantError, match="does not match its SHA-256"):
        await install(hass, entity_id)

    offer(firmware_dir, family, build_sim_image("seeed_xiao_esp32c3", "0.2.0", BODY))
    server = hass.data[DATA_FIRMWARE]
    await server.async_refresh()
    with pytest.raises(ServiceValidationError, match="built for another board"):
        await install(hass, entity_id)

    path = offer(firmware_dir, family, image)
    await server.async_refresh()
    path.unlink()
    with pytest.raises(HomeAssistantError, match="could not download"):
        await install(hass, entity_id)

    before = len(heartbeats.messages)
    await wait_for(hass, lambda: len(heartbeats.messages) > before, what="a heartbeat after")
    state = hass.states.get(entity_id)
    assert (state.state, state.attributes[ATTR_INSTALLED_VERSION]) == (STATE_ON, "0.1.0")
    heartbeats.stop()
