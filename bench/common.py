"""What the benchmark harnesses share: config entries they set up directly, HA's bare sensor
(the floors), and quantiles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
import logging
import statistics
from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import EntityPlatform
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.automationone.config_flow import AutomationOneConfigFlow
from custom_components.automationone.const import DOMAIN

# Entries as the config flow makes them now (no migration at setup).
AS_THE_FLOW_MAKES_IT = {
    "version": AutomationOneConfigFlow.VERSION,
    "minor_version": AutomationOneConfigFlow.MINOR_VERSION,
}

IDENTITY = {"scale": 1.0, "offset": 0.0, "unit": "n"}


def p50_p99(values: Sequence[float]) -> tuple[float, float]:
    """Median and 99th percentile (one value: itself)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=100)
    return q[49], q[98]


def linear_device(
    esp_id: str,
    mac: str,
    gpios: Iterable[int],
    params: dict[str, Any] = IDENTITY,
    kaiser_id: str = "god",
) -> MockConfigEntry:
    """The entry of `esp_id` with one linear sensor per GPIO (value = raw by default),
    processed in HA, so one raw reading makes one state."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=esp_id,
        unique_id=mac,
        **AS_THE_FLOW_MAKES_IT,
        data={
            "kind": "esp",
            "esp_id": esp_id,
            "kaiser_id": kaiser_id,
            "mac": mac,
            "board": "esp32dev",
            "name": esp_id,
        },
        subentries_data=[
            ConfigSubentryData(
                data={
                    "sensor_type": "linear",
                    "gpio": gpio,
                    "interval_s": 2,
                    "mode": "raw",
                    "echo_processed": False,
                    "params": params,
                },
                subentry_type="sensor",
                title=f"{esp_id} s{gpio}",
                unique_id=f"{gpio}:",
            )
            for gpio in gpios
        ],
    )


class BareSensor(SensorEntity):
    """A sensor with nothing but a value: the cheapest state write HA has."""

    _attr_should_poll = False

    def __init__(self, name: str) -> None:
        """Named (and unique) by `name`."""
        self._attr_name = name
        self._attr_unique_id = name


async def add_bare_sensors(
    hass: HomeAssistant, platform_name: str, sensors: Iterable[BareSensor]
) -> EntityPlatform:
    """`sensors` on a platform of their own (no config entry); reset it to remove them."""
    platform = EntityPlatform(
        hass=hass,
        logger=logging.getLogger(__name__),
        domain="sensor",
        platform_name=platform_name,
        platform=None,
        scan_interval=timedelta(seconds=30),
        entity_namespace=None,
    )
    await platform.async_add_entities(sensors)
    await hass.async_block_till_done()
    return platform
