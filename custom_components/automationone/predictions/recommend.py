"""Recommendations from predictions: what will happen, why, what to do, and dosing safety.

Pure (no Home Assistant, no clock): every function takes the time it decides at. The HA shell
(`recommendations.py`) feeds it a `PredictionOutcome` with the sensor's bands and the actuators
linked to correct the sensor, shows the `Recommendation`, and executes an approved action
through the same actuator command path as a manual command.

- `decide` turns one outcome into at most one recommendation: a forecast that crosses a band
  edge within the horizon asks for the linked corrector (`raise_value` below a low edge,
  `lower_value` above a high edge); an anomaly asks the user to `check_sensor`.
- `DosingGuard` is the dosing safety users of Mycodo ask for (kizniche/Mycodo #1307, #1282):
  never dose on a stale, bad or uncalibrated input; at most `max_per_day` doses per actuator in
  any 24 h; two actuators of one interlock group never within `interlock_s` of each other.
- `Feedback` keeps the decisions; after `REJECTIONS_TO_ADAPT` rejections in a row of one kind
  for one sensor its margin moves past the rejected situations, so the same situation no longer
  produces that recommendation. An approval ends the streak (the margin stays where it is).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, replace
import math
from typing import Any, Final

from ..protocol import ActuatorCommand, ActuatorConfig
from ..safety import ActuatorSafety
from .cycle import Bands
from .outcome import PredictionOutcome, ThresholdCrossing

KIND_RAISE: Final = "raise_value"
KIND_LOWER: Final = "lower_value"
KIND_CHECK: Final = "check_sensor"
KINDS: Final = (KIND_RAISE, KIND_LOWER, KIND_CHECK)
# Kinds that carry an actuator action (and so may run automatically).
ACTION_KINDS: Final = (KIND_RAISE, KIND_LOWER)
DIRECTIONS: Final = ("up", "down")

# A recommendation lives at most this long and at least MIN_TTL_S (unless the crossing is
# nearer): the next fit makes a new one if it still holds.
DEFAULT_TTL_S: Final = 3600.0
MIN_TTL_S: Final = 300.0
DAY_S: Final = 86400.0
REJECTIONS_TO_ADAPT: Final = 3
# After the streak, a crossing makes a recommendation only if it is nearer than this share of
# the nearest rejected one; an anomaly only if its score exceeds the largest rejected by this.
LEAD_FACTOR: Final = 0.5
SCORE_FACTOR: Final = 1.25
# Decisions kept for feedback (oldest dropped).
MAX_DECISIONS: Final = 500

SOURCE_BUILTIN: Final = "builtin"
SOURCE_EXTERNAL: Final = "external"


@dataclass(frozen=True, slots=True)
class Corrector:
    """An actuator the user linked to correct a sensor (its actuator subentry's fields).

    `direction` is what running it does to the sensor's value ("up": pH-up pump, heater).
    `max_per_day` 0 and `interlock_group` None mean no such limit.
    """

    actuator_id: str
    name: str
    direction: str
    dose_s: float
    config: ActuatorConfig
    max_per_day: int = 0
    interlock_group: str | None = None
    interlock_s: float = 0.0


@dataclass(frozen=True, slots=True)
class InputState:
    """What the recommendation's input looks like now: fresh and of which quality."""

    available: bool
    quality: str | None  # the protocol's Quality value of the latest reading, None: none yet


@dataclass(frozen=True, slots=True)
class Action:
    """An actuator command a recommendation asks for (a pulse of `duration_s`)."""

    actuator_id: str
    name: str
    duration_s: float
    action: str = "pulse"

    def command(self) -> ActuatorCommand:
        """The protocol command of this action."""
        return ActuatorCommand(action=self.action, duration_s=self.duration_s)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommendation for one sensor: what will happen, why, what to do, until when."""

    id: str
    sensor_id: str
    kind: str
    created: float
    expires: float
    summary: str  # what will happen, in plain words (English; the UI adds its own text)
    confidence: float  # 0..1
    source: str = SOURCE_BUILTIN
    band: str | None = None
    edge: str | None = None
    threshold: float | None = None
    in_s: float | None = None
    forecast_value: float | None = None
    forecast_lower: float | None = None
    forecast_upper: float | None = None
    horizon_s: float | None = None
    anomaly_score: float | None = None
    anomaly_reason: str | None = None
    action: Action | None = None

    def expired(self, now: float) -> bool:
        """Whether it is past its expiry at `now`."""
        return now >= self.expires

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the store and the UI)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        """Back from `to_dict` (ValueError/KeyError/TypeError on malformed data)."""
        fields = dict(data)
        action = fields.pop("action", None)
        return cls(**fields, action=Action(**action) if action is not None else None)


def holds(bands: Bands, crossing: ThresholdCrossing) -> bool:
    """Whether a crossing is of an edge the sensor still has (`cycle.bands_from` of its data
    now: the user may have moved or removed the edge since the fit)."""
    return bands.get((crossing.band, crossing.edge)) == crossing.threshold


def confidence(crossing: ThresholdCrossing, lower: float, upper: float) -> float:
    """How sure the forecast band at the horizon is that the value is past the edge: the
    share of the band beyond the threshold (1 when all of it is, 0 when none is)."""
    width = upper - lower
    if not width > 0:
        beyond = (
            lower <= crossing.threshold if crossing.edge == "low" else upper >= crossing.threshold
        )
        return 1.0 if beyond else 0.0
    share = (
        (crossing.threshold - lower) / width
        if crossing.edge == "low"
        else (upper - crossing.threshold) / width
    )
    return min(1.0, max(0.0, share))


def dose_action(corrector: Corrector) -> Action | None:
    """The pulse of the corrector's dose, shortened to its max runtime; None when the
    actuator's limits make it invalid (the pure safety machine decides)."""
    duration = corrector.dose_s
    if corrector.config.max_runtime_s:
        duration = min(duration, float(corrector.config.max_runtime_s))
    if not duration > 0:
        return None
    action = Action(corrector.actuator_id, corrector.name, round(duration, 3))
    refused = ActuatorSafety(corrector.config, 0.0).refusal(action.command(), 0.0)
    return action if refused is None else None


@dataclass(slots=True)
class Margin:
    """How one kind of recommendation is tuned for one sensor by the user's rejections."""

    rejections: int = 0  # in a row
    lead_s: float | None = None  # a crossing further ahead makes no recommendation
    min_score: float = 0.0  # an anomaly with a lower score makes none
    rejected_in_s: list[float] = field(default_factory=list)
    rejected_scores: list[float] = field(default_factory=list)


def _usable(state: InputState) -> str | None:
    """Why the input must not be acted on, or None."""
    if not state.available or state.quality in (None, "stale"):
        return "input_stale"
    if state.quality == "bad":
        return "input_bad"
    if state.quality == "uncalibrated":
        return "input_uncalibrated"
    return None


def _summary_crossing(crossing: ThresholdCrossing) -> str:
    direction = "below" if crossing.edge == "low" else "above"
    minutes = max(0, math.ceil(crossing.in_s / 60))
    when = "now" if minutes == 0 else f"in about {minutes} min"
    return f"will be {direction} its {crossing.band} limit {crossing.threshold:g} {when}"


def decide(
    outcome: PredictionOutcome,
    correctors: list[Corrector],
    *,
    rec_id: str,
    now: float,
    margins: dict[str, Margin] | None = None,
    bands: Bands | None = None,
    ttl_s: float = DEFAULT_TTL_S,
) -> Recommendation | None:
    """The recommendation one outcome calls for, or None.

    A crossing comes first (the earliest; critical before warning at the same time); an
    anomaly without a crossing asks to check the sensor. The margins of the sensor (by kind)
    hold back what the user kept rejecting; with `bands`, a crossing of an edge the sensor no
    longer has is ignored.
    """
    margins = margins or {}
    fc = outcome.forecast
    crossings = sorted(
        (c for c in outcome.crossings if bands is None or holds(bands, c)),
        key=lambda c: (c.in_s, c.band != "critical"),
    )
    for crossing in crossings:
        kind = KIND_RAISE if crossing.edge == "low" else KIND_LOWER
        margin = margins.get(kind)
        if margin is not None and margin.lead_s is not None and crossing.in_s > margin.lead_s:
            continue
        want = "up" if kind == KIND_RAISE else "down"
        action = None
        for corrector in sorted(correctors, key=lambda c: c.actuator_id):
            if corrector.direction == want and (action := dose_action(corrector)) is not None:
                break
        return Recommendation(
            id=rec_id,
            sensor_id=outcome.subentry_id,
            kind=kind,
            created=now,
            expires=now + min(ttl_s, max(MIN_TTL_S, crossing.in_s)),
            summary=_summary_crossing(crossing),
            confidence=round(confidence(crossing, fc.lower, fc.upper), 3),
            band=crossing.band,
            edge=crossing.edge,
            threshold=crossing.threshold,
            in_s=round(crossing.in_s, 1),
            forecast_value=fc.value,
            forecast_lower=fc.lower,
            forecast_upper=fc.upper,
            horizon_s=outcome.horizon_s,
            anomaly_score=outcome.anomaly.score,
            anomaly_reason=outcome.anomaly.reason,
            action=action,
        )
    anomaly = outcome.anomaly
    if anomaly.reason is None:
        return None
    margin = margins.get(KIND_CHECK)
    if margin is not None and anomaly.score <= margin.min_score:
        return None
    score = anomaly.score if math.isfinite(anomaly.score) else 0.0
    return Recommendation(
        id=rec_id,
        sensor_id=outcome.subentry_id,
        kind=KIND_CHECK,
        created=now,
        expires=now + ttl_s,
        summary=f"reads like a faulty sensor ({anomaly.reason}, score {score:.1f})",
        confidence=round(min(1.0, score / 10.0), 3) if anomaly.reason != "flatline" else 1.0,
        horizon_s=outcome.horizon_s,
        forecast_value=fc.value,
        forecast_lower=fc.lower,
        forecast_upper=fc.upper,
        anomaly_score=score,
        anomaly_reason=anomaly.reason,
    )


def merge(open_rec: Recommendation, new: Recommendation) -> Recommendation:
    """A new recommendation of the same sensor and kind while one is open: the open one
    (same id and creation) with the new forecast and expiry."""
    return replace(new, id=open_rec.id, created=open_rec.created, source=open_rec.source)


@dataclass(frozen=True, slots=True)
class Decision:
    """A person's (or the auto-action's) decision on a recommendation."""

    rec_id: str
    sensor_id: str
    kind: str
    approved: bool
    t: float
    by: str  # "user", "service", "auto", "notification"
    in_s: float | None = None
    anomaly_score: float | None = None
    source: str = SOURCE_BUILTIN


class Feedback:
    """Decisions and the margins they move, per sensor and kind (stored by the HA shell)."""

    def __init__(self) -> None:
        """No decisions yet."""
        self.decisions: deque[Decision] = deque(maxlen=MAX_DECISIONS)
        self.margins: dict[str, dict[str, Margin]] = {}

    def margins_for(self, sensor_id: str) -> dict[str, Margin]:
        """The margins of one sensor by kind (empty: none adapted)."""
        return self.margins.get(sensor_id, {})

    def decisions_for(self, sensor_id: str) -> list[Decision]:
        """One sensor's decisions, oldest first (for the predictor's next fit)."""
        return [d for d in self.decisions if d.sensor_id == sensor_id]

    def record(self, decision: Decision) -> Margin:
        """Add a decision; return the sensor's margin of that kind after it."""
        self.decisions.append(decision)
        margin = self.margins.setdefault(decision.sensor_id, {}).setdefault(decision.kind, Margin())
        if decision.approved:
            margin.rejections = 0
            margin.rejected_in_s.clear()
            margin.rejected_scores.clear()
            return margin
        if decision.source != SOURCE_BUILTIN:
            return margin  # an external service's idea: not this sensor's built-in margin
        margin.rejections += 1
        if decision.in_s is not None:
            margin.rejected_in_s.append(decision.in_s)
        if decision.anomaly_score is not None and decision.kind == KIND_CHECK:
            margin.rejected_scores.append(decision.anomaly_score)
        if margin.rejections >= REJECTIONS_TO_ADAPT:
            if margin.rejected_in_s:
                lead = LEAD_FACTOR * min(margin.rejected_in_s)
                margin.lead_s = lead if margin.lead_s is None else min(margin.lead_s, lead)
            if margin.rejected_scores:
                margin.min_score = max(margin.min_score, SCORE_FACTOR * max(margin.rejected_scores))
            margin.rejections = 0
            margin.rejected_in_s.clear()
            margin.rejected_scores.clear()
        return margin

    def reset(self, sensor_id: str) -> None:
        """Forget the sensor's adapted margins (its decisions stay)."""
        self.margins.pop(sensor_id, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "decisions": [asdict(d) for d in self.decisions],
            "margins": {
                sensor: {kind: asdict(m) for kind, m in kinds.items()}
                for sensor, kinds in self.margins.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        """Back from `to_dict`."""
        feedback = cls()
        for item in data.get("decisions", []):
            feedback.decisions.append(Decision(**item))
        for sensor, kinds in data.get("margins", {}).items():
            feedback.margins[sensor] = {kind: Margin(**m) for kind, m in kinds.items()}
        return feedback


@dataclass(frozen=True, slots=True)
class DoseRefusal:
    """Why dosing safety refuses a dose; `until_s`: seconds until one may succeed."""

    code: str  # input_stale, input_bad, input_uncalibrated, daily_max, interlock
    until_s: float | None = None
    other: str | None = None  # interlock: the actuator that dosed last in the group


class DosingGuard:
    """Doses given per actuator and per interlock group (POSIX times, stored by the shell)."""

    def __init__(self) -> None:
        """No doses yet."""
        self.doses: dict[str, list[float]] = {}
        self.groups: dict[str, tuple[float, str]] = {}  # group -> (last dose, actuator id)

    def refusal(self, corrector: Corrector, state: InputState, now: float) -> DoseRefusal | None:
        """Why a dose of `corrector` must not be given at `now`, or None."""
        if (why := _usable(state)) is not None:
            return DoseRefusal(why)
        if corrector.max_per_day > 0:
            recent = [t for t in self.doses.get(corrector.actuator_id, []) if now - t < DAY_S]
            if len(recent) >= corrector.max_per_day:
                oldest = recent[len(recent) - corrector.max_per_day]
                return DoseRefusal("daily_max", oldest + DAY_S - now)
        group = corrector.interlock_group
        if group and corrector.interlock_s > 0 and (last := self.groups.get(group)) is not None:
            at, actuator_id = last
            left = at + corrector.interlock_s - now
            if left > 0:
                return DoseRefusal("interlock", left, actuator_id)
        return None

    def record(self, corrector: Corrector, now: float) -> None:
        """A dose of `corrector` was given at `now`."""
        kept = [t for t in self.doses.get(corrector.actuator_id, []) if now - t < DAY_S]
        kept.append(now)
        self.doses[corrector.actuator_id] = kept
        if corrector.interlock_group:
            self.groups[corrector.interlock_group] = (now, corrector.actuator_id)

    def doses_today(self, actuator_id: str, now: float) -> int:
        """Doses of the actuator in the last 24 h."""
        return sum(1 for t in self.doses.get(actuator_id, []) if now - t < DAY_S)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "doses": {k: list(v) for k, v in self.doses.items()},
            "groups": {k: [t, a] for k, (t, a) in self.groups.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DosingGuard:
        """Back from `to_dict`."""
        guard = cls()
        guard.doses = {k: [float(t) for t in v] for k, v in data.get("doses", {}).items()}
        guard.groups = {k: (float(v[0]), str(v[1])) for k, v in data.get("groups", {}).items()}
        return guard
