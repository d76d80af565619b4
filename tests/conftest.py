"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import HealthCheck, settings
import pytest

from .broker import Broker, running_broker

pytest_plugins = ["pytest_homeassistant_custom_component"]

# Any machine: a busy one (2 cores, many jobs) must not turn generation speed or a per-example
# deadline into a failure. Tests still choose their own max_examples.
settings.register_profile(
    "any_machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("any_machine")


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port (set_tcp_nodelay true)."""
    with running_broker() as started:
        yield started
