"""Fixtures for tests that run Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from unittest.mock import PropertyMock, patch

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from ..broker import Broker
from .realtime import connect_mqtt, unload_all


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/automationone in every HA test."""


@pytest.fixture(autouse=True)
def no_misc_loop_on_mocked_client(request: pytest.FixtureRequest) -> Iterator[None]:
    """With `mqtt_mock` the paho client is a mock; its keep-alive timer would outlive hass.

    Real-broker tests do not use `mqtt_mock` and keep the real loop.
    """
    if "mqtt_mock" not in request.fixturenames:
        yield
        return
    with patch("homeassistant.components.mqtt.client.MQTT._async_start_misc_periodic"):
        yield


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Entities disabled by default (WiFi signal, free memory, raw readings) start enabled, as
    HA core's fixture of that name does."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def answer_wait_s() -> float:
    """How long a command waits for the device's answer in `short_answer_wait` tests."""
    return 0.05


@pytest.fixture
def short_answer_wait(answer_wait_s: float) -> Iterator[None]:
    """Commands nobody answers wait `answer_wait_s`, not 2 s (tests use it with
    `pytestmark = pytest.mark.usefixtures("short_answer_wait")`)."""
    with patch("custom_components.automationone.actuator.COMMAND_ANSWER_TIMEOUT", answer_wait_s):
        yield


class SnapshotsOfThisHA(HomeAssistantSnapshotExtension):
    """HA's serializer writes registry entries differently from release to release (2026.10
    added fields and keeps aliases as a list): one snapshot folder per HA release tested."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """snapshots/<HA major.minor>/ beside the test."""
        return str(Path(super().dirname(test_location=test_location)) / HA_RELEASE)


HA_RELEASE = f"{MAJOR_VERSION}.{MINOR_VERSION}"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with HA's serializer (ids and timestamps of registry entries left out)."""
    return snapshot.use_extension(SnapshotsOfThisHA)


@pytest.fixture
async def real_mqtt(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, broker: Broker
) -> AsyncIterator[Broker]:
    """HA's MQTT integration connected to a real Mosquitto on loopback (not mocked)."""
    await connect_mqtt(hass, broker)
    yield broker
    await unload_all(hass)
