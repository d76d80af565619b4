"""Fixtures of the benchmark harnesses (pytest loads this for `pytest bench/<harness>.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component import plugins

from tests.broker import Broker, running_broker
from tests.ha.realtime import connect_mqtt, unload_all

# Real storage, as HA runs: stores are written to files in a configuration folder of the
# bench's own. The test harness's mock keeps a parsed copy of every saved store in memory (47 MB
# for the registry of the 500-device scale bench), which no real HA holds and which the RSS
# figures would count. The harness of HA 2025.4 (`make bench BENCH_HA=minimum`) cannot move
# the configuration folder, so its benches keep the mock.
if hasattr(plugins, "hass_tmp_config_dir"):

    @pytest.fixture
    def hass_config_dir(hass_tmp_config_dir: str) -> str:
        """The bench's own configuration folder."""
        return hass_tmp_config_dir

    @pytest.fixture
    def hass_storage() -> dict[str, Any]:
        """No storage mock: stores go to files in `hass_config_dir`."""
        return {}


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
    await unload_all(hass)
