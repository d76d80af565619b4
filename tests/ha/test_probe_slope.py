"""pH probe ageing in HA: the calibration history and the "probe slope" diagnostic sensor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.predictions import slope_percent
from custom_components.automationone.probe_sensor import (
    MAX_CALIBRATIONS,
    calibration_history,
    with_calibration,
)
from custom_components.automationone.processors import Calibration, CalibrationPoint

from .common import MAC
from .test_device_trigger import LEVEL
from .test_sensors import PH_DATA, entity, entry_with, setup

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# A new probe (buffers pH 7 and 4 far apart), then weaker and weaker (closer counts).
FRESH = [[1750.0, 7.0], [2410.0, 4.0]]
OLDER = [[1750.0, 7.0], [2390.0, 4.0]]
OLDEST = [[1750.0, 7.0], [2370.0, 4.0]]


def _percent(points: list[list[float]]) -> float:
    cal = Calibration(tuple(CalibrationPoint(r, ref) for r, ref in points), temperature_c=25.0)
    percent = slope_percent(cal)
    assert percent is not None
    return percent


def probe_entity(hass: HomeAssistant, subentry_id: str) -> str | None:
    """Entity id of a sensor subentry's probe slope sensor."""
    return er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{MAC}-{subentry_id}-probe_slope"
    )


async def calibrate(hass: HomeAssistant, entity_id: str, points: list[list[float]]) -> None:
    """The calibrate service with explicit points at 25 °C."""
    await hass.services.async_call(
        DOMAIN,
        "calibrate",
        {"entity_id": entity_id, "points": points, "temperature": 25},
        blocking=True,
    )
    await hass.async_block_till_done()


async def test_probe_slope_follows_the_calibration_history(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """A pH sensor's calibration from before the history counts; each saved calibration adds
    one (in place, no reload); the sensor shows the latest slope, its trend per month and when
    it reaches 85 %. A level sensor has no probe slope sensor."""
    freezer.move_to(T0)
    before = {"points": FRESH, "temperature_c": 25.0, "created": T0.isoformat()}
    entry = await setup(
        hass, entry_with(("Tank pH", PH_DATA | {"calibration": before}), ("Level", LEVEL))
    )
    tank = next(s for s, sub in entry.subentries.items() if sub.title == "Tank pH")
    level = next(s for s, sub in entry.subentries.items() if sub.title == "Level")
    assert probe_entity(hass, level) is None
    probe = probe_entity(hass, tank) or ""
    reg = er.async_get(hass).async_get(probe)
    assert reg is not None
    assert reg.entity_category is EntityCategory.DIAGNOSTIC
    state = hass.states.get(probe)
    assert state.name == "Greenhouse 1 Tank pH probe slope"
    assert state.attributes["unit_of_measurement"] == "%"
    assert float(state.state) == pytest.approx(_percent(FRESH), abs=0.01)
    assert state.attributes["calibrations"] == 1
    assert state.attributes["trend_percent_per_month"] is None
    assert state.attributes["replace_at"] is None

    data = entry.runtime_data
    ph = entity(hass, entry, "Tank pH")
    for days, points in ((30, OLDER), (60, OLDEST)):
        freezer.move_to(T0 + timedelta(days=days))
        await calibrate(hass, ph, points)
    assert entry.runtime_data is data  # saved in place: nothing reloaded
    history = entry.subentries[tank].data["calibration_history"]
    assert [h["points"] for h in history] == [FRESH, OLDER, OLDEST]
    state = hass.states.get(probe)
    assert float(state.state) == pytest.approx(_percent(OLDEST), abs=0.01)
    assert state.attributes["calibrations"] == 3
    per_month = state.attributes["trend_percent_per_month"]
    assert per_month < 0
    drop_per_day = (_percent(FRESH) - _percent(OLDEST)) / 60.0
    assert per_month == pytest.approx(-drop_per_day * 365.25 / 12, rel=1e-3)
    replace_at = datetime.fromisoformat(state.attributes["replace_at"])
    expected = T0 + timedelta(days=60 + (_percent(OLDEST) - 85.0) / drop_per_day)
    assert abs((replace_at - expected).total_seconds()) < 3600
    assert state.attributes["replace_below_percent"] == 85.0


async def test_a_ph_sensor_without_calibration_shows_unknown(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """No calibration (or a one-point one): no slope to show, the sensor is unknown."""
    entry = await setup(hass, entry_with(("Tank pH", PH_DATA)))
    (sid,) = entry.subentries
    probe = probe_entity(hass, sid) or ""
    assert hass.states.get(probe).state == "unknown"
    assert hass.states.get(probe).attributes["calibrations"] == 0
    await calibrate(hass, entity(hass, entry, "Tank pH"), [[1750.0, 7.0]])
    assert hass.states.get(probe).state == "unknown"
    await calibrate(hass, entity(hass, entry, "Tank pH"), FRESH)
    assert float(hass.states.get(probe).state) == pytest.approx(_percent(FRESH), abs=0.01)


def test_the_history_is_bounded_and_skips_undated_or_malformed_entries() -> None:
    """At most MAX_CALIBRATIONS kept (oldest dropped); entries without a date or malformed
    do not count; the current calibration counts when the history does not hold it."""
    data: dict[str, Any] = dict(PH_DATA)
    for k in range(MAX_CALIBRATIONS + 5):
        cal = Calibration(
            (CalibrationPoint(1750.0, 7.0), CalibrationPoint(2300.0 - k, 4.0)),
            created=(T0 + timedelta(days=k)).isoformat(),
        )
        data = with_calibration(data, cal)
    history = data["calibration_history"]
    assert len(history) == MAX_CALIBRATIONS
    assert history[0]["points"][1][0] == 2300.0 - 5
    assert history[-1] == data["calibration"]
    assert len(calibration_history(data)) == MAX_CALIBRATIONS
    broken = data | {
        "calibration_history": [{"points": "x"}, {"points": FRESH}, *history[-2:]],
        "calibration": {"points": OLDER, "created": "2030-01-01T00:00:00+00:00"},
    }
    found = calibration_history(broken)
    assert len(found) == 3
    assert found[-1][1].points[1].raw == 2390.0
