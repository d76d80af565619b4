"""The external AI service: the entry's webhook (schema, bounds, 400 and 429, nothing stored on
bad input), the batched push of readings (retry, queue across a restart), the options dialog,
diagnostics, and the reference service in examples/ai_service driven end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import json
from typing import Any
from unittest.mock import patch

from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.prediction_runtime import prediction_signal
from custom_components.automationone.recommendations import RecommendationManager
from examples.ai_service.app import SENT, make_app

from .test_actuators import commands
from .test_recommendations import LOW, now, open_issues, outcome, ph_reading, setup

pytestmark = pytest.mark.usefixtures("short_answer_wait")

PH_ENTITY = "sensor.greenhouse_1_tank_ph"
UP_ENTITY = "switch.greenhouse_1_ph_up"


@pytest.fixture
def answer_wait_s() -> float:
    """Nobody answers the commands: they count as sent at once."""
    return 0.0


@pytest.fixture
def fixed_limiter_clock() -> Iterator[None]:
    """The webhook's rate limiter on a clock that stands still (one clock: the limiter's)."""
    with patch("custom_components.automationone.ai_service.monotonic", return_value=1000.0):
        yield


def manager_of(config_entry: MockConfigEntry) -> RecommendationManager:
    """The entry's recommendation manager."""
    manager = config_entry.runtime_data.recommendations
    assert manager is not None
    return manager


def body(**changes: Any) -> dict[str, Any]:
    """A webhook document with one recommendation (fields changed by `changes`)."""
    rec: dict[str, Any] = {
        "sensor": PH_ENTITY,
        "kind": "raise_value",
        "summary": "pH falls below 5.5 within the hour",
        "confidence": 0.7,
        "expires_in_s": 1800,
        "action": {"actuator": UP_ENTITY, "duration_s": 4},
    } | changes
    return {"schema": "automationone.recommendations/1", "recommendations": [rec]}


@pytest.mark.usefixtures("fixed_limiter_clock")
async def test_webhook_takes_valid_recommendations_and_refuses_bad_ones(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client_no_auth: ClientSessionGenerator
) -> None:
    config_entry = await setup(hass)
    manager = manager_of(config_entry)
    manager.set_auto("raise_value", True)
    client = await hass_client_no_auth()
    url = f"/api/webhook/{manager.webhook_id}"
    logbook = async_capture_events(hass, "logbook_entry")

    resp = await client.post(url, json=body(sensor="sensor.somewhere_else"))
    assert resp.status == 400
    assert (await resp.json())["error"] == (
        "recommendations[0].sensor: not a sensor of this device"
    )
    resp = await client.post(url, json=body(action={"actuator": UP_ENTITY, "duration_s": 31}))
    assert resp.status == 400
    assert "longer than the max runtime of pH up (30 s)" in (await resp.json())["error"]
    resp = await client.post(url, data=b"{not json")
    assert resp.status == 400
    assert open_issues(hass) == []

    resp = await client.post(url, json=body())
    assert resp.status == 200
    (rec_id,) = (await resp.json())["accepted"]
    await hass.async_block_till_done()
    (issue,) = open_issues(hass)
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["source"] == "external"
    assert issue.translation_placeholders["action"] == "pH up: 4 s"
    # An external recommendation never runs by itself, even with the kind's switch on.
    assert commands(mqtt_mock, 26) == []
    assert any(
        "recommends: pH falls below 5.5 within the hour" in e.data["message"] for e in logbook
    )
    await hass.services.async_call(
        DOMAIN, "approve_recommendation", {"recommendation_id": rec_id}, blocking=True
    )
    assert commands(mqtt_mock, 26)[-1]["duration_s"] == 4.0

    # Five requests at once, refilled at ten a minute: the clock stands, so the rest wait.
    statuses = [(await client.post(url, json=body(kind="check_sensor", action=None))).status]
    statuses += [(await client.post(url, json=body())).status for _ in range(3)]
    assert statuses == [200, 429, 429, 429]
    resp = await client.post(url, json=body())
    assert resp.headers["Retry-After"] == "6"
    assert len(manager.open) == 1  # the check_sensor one; nothing from the refused requests


async def test_options_dialog_shows_the_webhook_and_sets_the_push(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    config_entry = await setup(hass)
    manager = manager_of(config_entry)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert "ai_service" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "ai_service"}
    )
    assert manager.webhook_id in result["description_placeholders"]["webhook_url"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"push_url": "ftp://x", "push_interval_min": 5}
    )
    assert result["errors"] == {"push_url": "invalid_url"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"push_url": "http://127.0.0.1:8001/readings", "push_interval_min": 2}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options["push_url"] == "http://127.0.0.1:8001/readings"
    assert config_entry.options["push_interval_min"] == 2
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    service = diagnostics["recommendations"]["ai_service"]
    assert service["webhook_id"] == "**REDACTED**"
    assert service["push_url"] == "**REDACTED**"
    assert manager.webhook_id not in json.dumps(diagnostics)


async def test_push_retries_with_backoff_and_its_queue_survives_a_restart(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, socket_enabled: None
) -> None:
    received: list[dict[str, Any]] = []
    answer = {"status": 503}

    async def readings(request: web.Request) -> web.Response:
        if answer["status"] == 200:
            received.append(await request.json())
        return web.Response(status=answer["status"])

    app = web.Application()
    app.router.add_post("/readings", readings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        config_entry = await setup(hass)
        hass.config_entries.async_update_entry(
            config_entry,
            options={"push_url": str(server.make_url("/readings")), "push_interval_min": 5},
        )
        await hass.async_block_till_done()
        for value in (6.1, 6.0):
            ph_reading(hass, value)
            await hass.async_block_till_done()
        service = manager_of(config_entry).ai_service
        assert service is not None
        assert not await service.async_push()
        assert (service.queue.failures, len(service.queue.rows)) == (1, 2)
        assert service.queue.failed() == 60  # the next failure would wait twice as long

        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()
        answer["status"] = 200
        await setup(hass, config_entry)  # sends 6.0 again: a third row
        service = manager_of(config_entry).ai_service
        assert service is not None
        assert [r.value for r in service.queue.rows] == [6.1, 6.0, 6.0]
        assert await service.async_push()
        (batch,) = received
        assert batch["schema"] == "automationone.readings/1"
        assert batch["device"] == "Greenhouse 1"
        assert [r["value"] for r in batch["readings"]] == [6.1, 6.0, 6.0]
        assert batch["readings"][0]["sensor"] == PH_ENTITY
        assert batch["readings"][0]["quality"] == "good"
        assert service.queue.rows == []
        assert service.queue.failures == 0
    finally:
        await server.close()


async def test_reference_service_end_to_end(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """HA pushes falling pH readings to examples/ai_service, which fits a trend and posts a
    pH-up recommendation back to the webhook; the user approves it and the pump pulses."""
    config_entry = await setup(hass)
    manager = manager_of(config_entry)
    client = await hass_client_no_auth()  # HA's HTTP server, on a real loopback port
    webhook = str(client.make_url(f"/api/webhook/{manager.webhook_id}"))
    rules = {
        PH_ENTITY: {
            "low": 5.5,
            "high": 7.0,
            "raise": {"actuator": UP_ENTITY, "duration_s": 2},
        }
    }
    reference = make_app(webhook, rules)
    server = TestServer(reference, host="127.0.0.1")
    await server.start_server()
    try:
        hass.config_entries.async_update_entry(
            config_entry,
            options={"push_url": str(server.make_url("/readings")), "push_interval_min": 5},
        )
        await hass.async_block_till_done()
        made = async_capture_events(hass, "automationone_recommendation")
        for value in (6.3, 6.25, 6.2, 6.15, 6.1, 6.05):  # -0.05 pH per minute
            freezer.tick(60)
            ph_reading(hass, value)
            await hass.async_block_till_done()
        freezer.tick(300)
        async_fire_time_changed(hass)  # the 5-minute push
        await hass.async_block_till_done(wait_background_tasks=True)
        (status, answer) = reference[SENT][-1]
        assert status == 200
        (event,) = made
        assert answer["accepted"] == [event.data["id"]]
        assert event.data["source"] == "external"
        assert event.data["sensor"] == PH_ENTITY
        # 6.05 falls to 5.5 at 0.05 per minute in 11 minutes.
        assert "below 5.5 in about 11 min" in event.data["message"]
        # Five minutes without a reading: stale, so no dose (dosing safety) ...
        with pytest.raises(ServiceValidationError, match="has no fresh reading"):
            await hass.services.async_call(
                DOMAIN,
                "approve_recommendation",
                {"recommendation_id": event.data["id"]},
                blocking=True,
            )
        assert commands(mqtt_mock, 26) == []
        ph_reading(hass, 5.95)  # ... until the device reports again
        await hass.async_block_till_done()
        await hass.services.async_call(
            DOMAIN, "approve_recommendation", {"recommendation_id": event.data["id"]}, blocking=True
        )
        assert commands(mqtt_mock, 26)[-1]["duration_s"] == 2.0
    finally:
        await server.close()


@pytest.mark.usefixtures("fixed_limiter_clock")
async def test_external_and_builtin_recommendations_stay_apart(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """An external recommendation of the same sensor and kind neither absorbs a built-in one
    nor runs with it; a repeated external one updates itself."""
    config_entry = await setup(hass)
    manager = manager_of(config_entry)
    client = await hass_client_no_auth()
    url = f"/api/webhook/{manager.webhook_id}"
    first = (await (await client.post(url, json=body())).json())["accepted"]
    again = (await (await client.post(url, json=body(confidence=0.9))).json())["accepted"]
    assert first == again
    assert manager.open[first[0]].confidence == 0.9
    manager.set_auto("raise_value", True)
    async_dispatcher_send(hass, prediction_signal(config_entry.entry_id), outcome(now(), LOW))
    await hass.async_block_till_done()
    await hass.async_block_till_done()
    assert [c["duration_s"] for c in commands(mqtt_mock, 26)] == [2.0]  # the built-in dose
    assert list(manager.open) == first  # the external one waits for a person


async def test_a_failed_push_is_retried_by_its_timer(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, socket_enabled: None
) -> None:
    answers = [503, 200]
    received: list[int] = []

    async def readings(request: web.Request) -> web.Response:
        status = answers.pop(0)
        if status == 200:
            received.append(len((await request.json())["readings"]))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/readings", readings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        config_entry = await setup(hass)
        hass.config_entries.async_update_entry(
            config_entry,
            options={"push_url": str(server.make_url("/readings")), "push_interval_min": 5},
        )
        await hass.async_block_till_done()
        ph_reading(hass, 6.2)
        await hass.async_block_till_done()
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5, seconds=1))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert received == []  # 503: queued for the retry in 30 s
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5, seconds=32))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert received == [1]
        service = manager_of(config_entry).ai_service
        assert service is not None
        assert service.last_push == "ok"
    finally:
        await server.close()
