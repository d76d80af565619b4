"""Recommendations from predictions: decisions, dosing safety, feedback, the external schema."""

from __future__ import annotations

import json

import pytest

from custom_components.automationone.predictions import Anomaly, Forecast
from custom_components.automationone.predictions.cycle import bands_from
from custom_components.automationone.predictions.external import (
    MAX_BODY_BYTES,
    ExternalAction,
    ExternalRecommendation,
    PushQueue,
    RateLimiter,
    ReadingRow,
    SchemaError,
    parse_readings,
    parse_recommendations,
    readings_batch,
    recommendations_body,
)
from custom_components.automationone.predictions.outcome import (
    PredictionOutcome,
    ThresholdCrossing,
)
from custom_components.automationone.predictions.recommend import (
    DAY_S,
    KIND_CHECK,
    KIND_LOWER,
    KIND_RAISE,
    REJECTIONS_TO_ADAPT,
    Corrector,
    Decision,
    DosingGuard,
    Feedback,
    InputState,
    Recommendation,
    confidence,
    decide,
    holds,
    merge,
)
from custom_components.automationone.protocol import ActuatorConfig

T0 = 1_700_000_000.0
PUMP = ActuatorConfig(gpio=26, type="pump", max_runtime_s=5)
UP = Corrector(
    "up1", "pH up", "up", 2.0, PUMP, max_per_day=3, interlock_group="ph", interlock_s=600
)
DOWN = Corrector("down1", "pH down", "down", 9.0, PUMP, interlock_group="ph", interlock_s=600)
GOOD = InputState(available=True, quality="good")
QUIET = Anomaly(0.4, None)


def outcome(
    *crossings: ThresholdCrossing,
    anomaly: Anomaly = QUIET,
    lower: float = 5.0,
    upper: float = 5.6,
) -> PredictionOutcome:
    """A pH sensor's outcome at T0 with a 2 h horizon."""
    return PredictionOutcome(
        subentry_id="ph",
        predictor="linear_trend",
        t=T0,
        horizon_s=7200.0,
        forecast=Forecast(T0 + 7200, (lower + upper) / 2, lower, upper),
        anomaly=anomaly,
        crossings=crossings,
        samples=500,
    )


LOW_SOON = ThresholdCrossing("warning", "low", 5.5, 1800.0)


def test_low_crossing_recommends_the_up_pump_within_its_limits() -> None:
    rec = decide(outcome(LOW_SOON), [DOWN, UP], rec_id="r1", now=T0)
    assert rec is not None
    assert rec.kind == KIND_RAISE
    assert rec.action is not None
    assert rec.action.actuator_id == "up1"
    assert rec.action.duration_s == 2.0
    assert rec.action.action == "pulse"
    assert rec.in_s == 1800.0
    assert rec.threshold == 5.5
    assert rec.edge == "low"
    assert "below its warning limit 5.5 in about 30 min" in rec.summary
    # 5.0..5.6 around 5.5: five sixths of the band is below the edge.
    assert rec.confidence == pytest.approx(5 / 6, abs=1e-3)
    assert rec.expires == T0 + 1800.0
    assert Recommendation.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_high_crossing_uses_the_down_pump_shortened_to_max_runtime() -> None:
    high = ThresholdCrossing("critical", "high", 7.0, 600.0)
    rec = decide(outcome(high, lower=6.8, upper=7.4), [UP, DOWN], rec_id="r", now=T0)
    assert rec is not None
    assert rec.kind == KIND_LOWER
    assert rec.action is not None
    assert rec.action.actuator_id == "down1"
    assert rec.action.duration_s == 5.0  # 9 s asked, the pump runs at most 5 s
    assert rec.expires == T0 + 600.0  # the nearer of the crossing and the ttl, >= 5 min


def test_earliest_crossing_wins_and_critical_before_warning_at_the_same_time() -> None:
    late_high = ThresholdCrossing("warning", "high", 7.0, 5000.0)
    warn = ThresholdCrossing("warning", "low", 5.5, 900.0)
    crit = ThresholdCrossing("critical", "low", 5.0, 900.0)
    rec = decide(outcome(late_high, warn, crit), [UP], rec_id="r", now=T0)
    assert rec is not None
    assert rec.band == "critical"
    assert rec.kind == KIND_RAISE


def test_a_crossing_of_an_edge_the_sensor_no_longer_has_is_ignored() -> None:
    moved = bands_from({"warning_low": 5.0, "warning_high": 7.0})
    assert decide(outcome(LOW_SOON), [UP], rec_id="r", now=T0, bands=moved) is None
    same = bands_from({"warning_low": 5.5})
    assert decide(outcome(LOW_SOON), [UP], rec_id="r", now=T0, bands=same) is not None
    assert not holds(same, ThresholdCrossing("critical", "low", 5.5, 0.0))


def test_no_linked_actuator_still_tells_what_will_happen() -> None:
    rec = decide(outcome(LOW_SOON), [DOWN], rec_id="r", now=T0)
    assert rec is not None
    assert rec.kind == KIND_RAISE
    assert rec.action is None


def test_nothing_to_say_without_crossing_or_anomaly() -> None:
    assert decide(outcome(), [UP], rec_id="r", now=T0) is None


def test_anomaly_asks_to_check_the_sensor() -> None:
    rec = decide(outcome(anomaly=Anomaly(8.0, "spike")), [UP], rec_id="r", now=T0)
    assert rec is not None
    assert rec.kind == KIND_CHECK
    assert rec.action is None
    assert rec.anomaly_reason == "spike"
    assert "spike" in rec.summary


def test_confidence_is_the_share_of_the_band_past_the_edge() -> None:
    high = ThresholdCrossing("warning", "high", 7.0, 0.0)
    assert confidence(high, 6.0, 8.0) == 0.5
    assert confidence(high, 7.5, 8.0) == 1.0
    assert confidence(high, 5.0, 6.0) == 0.0
    assert confidence(high, 7.0, 7.0) == 1.0


def test_merge_keeps_the_open_id_and_creation() -> None:
    first = decide(outcome(LOW_SOON), [UP], rec_id="a", now=T0)
    later = decide(
        outcome(ThresholdCrossing("warning", "low", 5.5, 1200.0)), [UP], rec_id="b", now=T0 + 600
    )
    assert first is not None
    assert later is not None
    merged = merge(first, later)
    assert merged.id == "a"
    assert merged.created == T0
    assert merged.in_s == 1200.0


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (InputState(available=False, quality="good"), "input_stale"),
        (InputState(available=True, quality=None), "input_stale"),
        (InputState(available=True, quality="stale"), "input_stale"),
        (InputState(available=True, quality="bad"), "input_bad"),
        (InputState(available=True, quality="uncalibrated"), "input_uncalibrated"),
    ],
)
def test_never_dose_on_a_stale_bad_or_uncalibrated_input(state: InputState, code: str) -> None:
    refused = DosingGuard().refusal(UP, state, T0)
    assert refused is not None
    assert refused.code == code


def test_suspect_input_may_dose() -> None:
    assert DosingGuard().refusal(UP, InputState(True, "suspect"), T0) is None


def test_daily_maximum_per_actuator_in_any_24_hours() -> None:
    guard = DosingGuard()
    solo = Corrector("up1", "pH up", "up", 2.0, PUMP, max_per_day=3)
    for hour in range(3):
        assert guard.refusal(solo, GOOD, T0 + hour * 3600) is None
        guard.record(solo, T0 + hour * 3600)
    refused = guard.refusal(solo, GOOD, T0 + 4 * 3600)
    assert refused is not None
    assert refused.code == "daily_max"
    assert refused.until_s == pytest.approx(DAY_S - 4 * 3600)
    # 24 h after the first dose one is free again.
    assert guard.refusal(solo, GOOD, T0 + DAY_S) is None
    assert guard.doses_today("up1", T0 + DAY_S) == 2


def test_interlock_group_keeps_two_pumps_apart() -> None:
    guard = DosingGuard()
    guard.record(UP, T0)
    refused = guard.refusal(DOWN, GOOD, T0 + 100)
    assert refused is not None
    assert refused.code == "interlock"
    assert refused.other == "up1"
    assert refused.until_s == pytest.approx(500)
    assert guard.refusal(DOWN, GOOD, T0 + 600) is None
    outsider = Corrector("heater", "Heater", "up", 60, ActuatorConfig(gpio=5, type="relay"))
    assert guard.refusal(outsider, GOOD, T0 + 1) is None


def test_dosing_guard_survives_a_round_trip() -> None:
    guard = DosingGuard()
    guard.record(UP, T0)
    again = DosingGuard.from_dict(json.loads(json.dumps(guard.to_dict())))
    refused = again.refusal(DOWN, GOOD, T0 + 1)
    assert refused is not None
    assert refused.code == "interlock"


def reject(feedback: Feedback, rec: Recommendation, t: float) -> None:
    """The user rejects `rec` at `t`."""
    feedback.record(
        Decision(rec.id, rec.sensor_id, rec.kind, False, t, "user", rec.in_s, rec.anomaly_score)
    )


def test_repeated_rejections_adapt_the_margin_so_the_same_situation_is_quiet() -> None:
    feedback = Feedback()
    for i in range(REJECTIONS_TO_ADAPT):
        rec = decide(
            outcome(LOW_SOON), [UP], rec_id=f"r{i}", now=T0, margins=feedback.margins_for("ph")
        )
        assert rec is not None, f"rejection {i} is not enough yet"
        reject(feedback, rec, T0 + i)
    # The same situation (a crossing 30 min ahead) no longer makes one ...
    assert (
        decide(outcome(LOW_SOON), [UP], rec_id="x", now=T0, margins=feedback.margins_for("ph"))
        is None
    )
    # ... a much nearer crossing still does, and other kinds and sensors are untouched.
    near = ThresholdCrossing("warning", "low", 5.5, 600.0)
    assert decide(outcome(near), [UP], rec_id="y", now=T0, margins=feedback.margins_for("ph"))
    high = ThresholdCrossing("warning", "high", 7.0, 1800.0)
    assert decide(outcome(high), [DOWN], rec_id="z", now=T0, margins=feedback.margins_for("ph"))
    assert feedback.margins_for("other") == {}
    restored = Feedback.from_dict(json.loads(json.dumps(feedback.to_dict())))
    assert restored.margins_for("ph")[KIND_RAISE].lead_s == 900.0
    assert len(restored.decisions_for("ph")) == REJECTIONS_TO_ADAPT


def test_an_approval_ends_the_rejection_streak() -> None:
    feedback = Feedback()
    rec = decide(outcome(LOW_SOON), [UP], rec_id="r", now=T0)
    assert rec is not None
    reject(feedback, rec, T0)
    reject(feedback, rec, T0 + 1)
    feedback.record(Decision("r", "ph", KIND_RAISE, True, T0 + 2, "user", 1800.0))
    reject(feedback, rec, T0 + 3)
    assert feedback.margins_for("ph")[KIND_RAISE].lead_s is None
    assert decide(outcome(LOW_SOON), [UP], rec_id="r", now=T0, margins=feedback.margins_for("ph"))


def test_rejected_anomalies_raise_the_score_needed() -> None:
    feedback = Feedback()
    spike = outcome(anomaly=Anomaly(6.0, "spike"))
    for i in range(REJECTIONS_TO_ADAPT):
        rec = decide(spike, [], rec_id=f"r{i}", now=T0, margins=feedback.margins_for("ph"))
        assert rec is not None
        reject(feedback, rec, T0)
    assert decide(spike, [], rec_id="x", now=T0, margins=feedback.margins_for("ph")) is None
    big = outcome(anomaly=Anomaly(20.0, "spike"))
    assert decide(big, [], rec_id="y", now=T0, margins=feedback.margins_for("ph")) is not None


def webhook_body(**changes: object) -> bytes:
    """A valid recommendations document with one recommendation changed."""
    rec: dict[str, object] = {
        "sensor": "sensor.greenhouse_1_ph",
        "kind": "raise_value",
        "summary": "pH falls below 5.5 in 40 min",
        "confidence": 0.8,
        "expires_in_s": 1800,
        "action": {"actuator": "switch.greenhouse_1_ph_up", "duration_s": 2},
    }
    rec |= changes
    return json.dumps(
        {"schema": "automationone.recommendations/1", "recommendations": [rec]}
    ).encode()


def test_webhook_document_round_trip() -> None:
    recs = parse_recommendations(webhook_body())
    assert recs == [
        ExternalRecommendation(
            "sensor.greenhouse_1_ph",
            "raise_value",
            "pH falls below 5.5 in 40 min",
            0.8,
            1800.0,
            ExternalAction("switch.greenhouse_1_ph_up", 2.0),
        )
    ]
    assert parse_recommendations(recommendations_body(recs)) == recs


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "body: not JSON"),
        (b"[]", "body: must be an object"),
        (b'{"schema": "automationone.recommendations/2", "recommendations": []}', "schema"),
        (webhook_body(kind="flood"), "recommendations[0].kind"),
        (webhook_body(confidence=1.5), "recommendations[0].confidence: must be between 0 and 1"),
        (webhook_body(confidence=True), "recommendations[0].confidence: must be a number"),
        (webhook_body(expires_in_s=10), "expires_in_s: must be between 60"),
        (webhook_body(sensor="ph"), "recommendations[0].sensor: must be an entity id"),
        (webhook_body(summary="x" * 201), "summary: longer than 200"),
        (webhook_body(extra=1), "unknown key 'extra'"),
        (webhook_body(action={"actuator": "switch.p", "duration_s": 1e6}), "duration_s"),
        (webhook_body(kind="check_sensor"), "check_sensor takes no action"),
        (b" " * (MAX_BODY_BYTES + 1), "larger than"),
    ],
)
def test_webhook_document_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(SchemaError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_recommendations(body)


def test_readings_batch_round_trip() -> None:
    rows = [
        ReadingRow("sensor.ph", T0, 6.1, "pH", "good"),
        ReadingRow("sensor.t", T0, 21, None, "bad"),
    ]
    body = json.dumps(readings_batch(rows, device="Greenhouse 1", sent=T0 + 1)).encode()
    assert parse_readings(body) == ("Greenhouse 1", rows)
    with pytest.raises(SchemaError, match=r"readings\[0\].value"):
        parse_readings(body.replace(b"6.1", b'"6.1"'))


def test_rate_limiter_refills_on_its_clock() -> None:
    limiter = RateLimiter(burst=2, per_minute=6, now=0.0)
    assert limiter.allow(0.0)
    assert limiter.allow(0.0)
    assert not limiter.allow(1.0)
    assert limiter.retry_after() == pytest.approx(9.0)
    assert limiter.allow(10.0)


def test_push_queue_is_bounded_backs_off_and_survives_a_round_trip() -> None:
    queue = PushQueue(limit=3, base_s=10, max_s=35)
    for i in range(5):
        queue.add(ReadingRow("sensor.ph", T0 + i, float(i), "pH", "good"))
    assert [r.value for r in queue.batch()] == [2.0, 3.0, 4.0]
    assert queue.dropped == 2
    assert [queue.failed() for _ in range(4)] == [10, 20, 35, 35]
    restored = PushQueue(limit=2)
    restored.load(json.loads(json.dumps(queue.to_dict())))
    assert [r.value for r in restored.rows] == [3.0, 4.0]
    assert restored.failures == 4
    restored.sent(1)
    assert [r.value for r in restored.rows] == [4.0]
    assert restored.failures == 0
