"""From recorded history to an executed dose: the predictions runtime fits a rising level,
its outcome on the signal becomes a recommendation for the linked drain pump, and approving it
pulses the pump (the real runtime, not a crafted outcome)."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import mock_entry
from .test_actuators import commands, status
from .test_predictions import BANDED, T0, feed, reconfigure
from .test_recommendations import open_issues
from .test_sensors import setup

pytestmark = pytest.mark.usefixtures("short_answer_wait")

DRAIN = {
    "actuator_type": "pump",
    "gpio": 26,
    "inverted": False,
    "safe_state": 0,
    "max_runtime_s": 30,
    "cooldown_s": 0,
    "max_per_hour": 0,
    "failsafe_s": 0,
    "corrects": "level",
    "direction": "down",
    "dose_s": 5.0,
    "max_doses_per_day": 0,
    "interlock_group": "",
    "interlock_min": 0,
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """The recorder's database comes before `hass` (see test_simulate_rule.py)."""


@pytest.fixture
def answer_wait_s() -> float:
    """Nobody answers the commands: they count as sent at once (the clock is frozen)."""
    return 0.0


def entry() -> MockConfigEntry:
    """A level sensor (warning above 150 cm) and the drain pump linked to lower it."""
    base = mock_entry()
    return MockConfigEntry(
        domain=DOMAIN,
        title=base.title,
        unique_id=base.unique_id,
        data=base.data,
        subentries_data=[
            ConfigSubentryDataWithId(
                data=BANDED, subentry_type="sensor", title="Level", unique_id="34:",
                subentry_id="level",
            ),
            ConfigSubentryDataWithId(
                data=DRAIN, subentry_type="actuator", title="Drain", unique_id="actuator:26",
                subentry_id="drain",
            ),
        ],
    )  # fmt: skip


async def test_a_fitted_rising_level_recommends_the_drain_pump(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(T0)
    await async_setup_component(hass, "repairs", {})
    config_entry = await setup(hass, entry())
    status(hass, 26, state=False, value=0, reason="boot")
    await feed(hass, freezer, [float(v) for v in range(100)])  # 1 cm a minute, ends at 99
    await async_wait_recording_done(hass)
    assert open_issues(hass) == []
    # The level's Reconfigure → Predictions, as the user opts in.
    result = await reconfigure(hass, config_entry, "level")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "predictions"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"enabled": True, "predictor": "linear_trend", "horizon_min": 120, "refit_min": 5},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    (issue,) = open_issues(hass)
    assert issue.translation_key == "recommendation_lower_value"
    placeholders = issue.translation_placeholders or {}
    assert placeholders["action"] == "Drain: 5 s"
    assert "above its warning limit 150 in about 51 min" in placeholders["summary"]
    manager = config_entry.runtime_data.recommendations
    assert manager is not None
    (rec_id,) = manager.open
    # Opting in reloaded the entry: the level has no reading yet, so nothing may dose ...
    with pytest.raises(ServiceValidationError, match="Level has no fresh reading"):
        await hass.services.async_call(
            DOMAIN, "approve_recommendation", {"recommendation_id": rec_id}, blocking=True
        )
    assert commands(mqtt_mock, 26) == []
    status(hass, 26, state=False, value=0, reason="boot")
    await feed(hass, freezer, [100.0], seq=100)  # ... until the device reports again
    await hass.services.async_call(
        DOMAIN, "approve_recommendation", {"recommendation_id": rec_id}, blocking=True
    )
    assert commands(mqtt_mock, 26)[-1]["action"] == "pulse"
    assert commands(mqtt_mock, 26)[-1]["duration_s"] == 5.0
    assert open_issues(hass) == []
