"""Fixtures of the benchmark harnesses (pytest loads this for `pytest bench/<harness>.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import logging

from homeassistant.core import HomeAssistant
import pytest

from tests.broker import Broker, running_broker
from tests.ha.realtime import connect_mqtt


@pytest.fixture
def broker(socket_enabled: None) -> Iterator[Broker]:
    """A real Mosquitto (`set_tcp_nodelay true`)."""
    with running_broker() as started:
        yield started


@pytest.fixture
async def mqtt_ready(
    hass: HomeAssistant, mock_hass_config: None, broker: Broker, enable_custom_integrations: None
) -> AsyncIterator[None]:
    """HA connected to `broker`, without asyncio debug and with warnings-only logging, which
    would otherwise dominate the figures; every entry is unloaded afterwards, MQTT last."""
    hass.loop.set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    await connect_mqtt(hass, broker)
    yield
    for entry in reversed(hass.config_entries.async_entries()):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
