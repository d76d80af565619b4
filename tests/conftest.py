"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .broker import Broker, running_broker

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port (set_tcp_nodelay true)."""
    with running_broker() as started:
        yield started
