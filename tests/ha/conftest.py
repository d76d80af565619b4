"""Fixtures for tests that run Home Assistant."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion


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
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with HA's serializer (ids and timestamps of registry entries left out)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
