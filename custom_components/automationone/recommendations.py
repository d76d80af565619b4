"""Recommendations of one ESP's entry: made from predictions, shown, decided, executed.

The fitting runtime (`prediction_runtime.py`) publishes a `PredictionOutcome` per opted-in
sensor on the dispatcher signal `prediction_signal(entry_id)`. The manager turns it into a
`Recommendation` (pure: `predictions.recommend.decide`) against the sensor's bands and the
actuators the user linked to correct it (fields of the actuator subentry: `corrects`,
`direction`, `dose_s`, `max_doses_per_day`, `interlock_group`, `interlock_min`).

What a user sees and clicks: each open recommendation is a fixable repair issue (Settings >
Repairs; `repairs.py`): its dialog offers Approve and Reject. The services
`approve_recommendation` / `reject_recommendation` do the same for automations, and the
`automationone_recommendation` event carries what the shipped blueprint needs for an
actionable mobile notification. Per kind with an action, a switch (off by default) lets the
built-in recommendations run without approval.

An approved action goes through the actuator's own command path (`ActuatorChannel.async_command`,
the same as a manual command: the same limits and translated refusals), after the dosing safety
of `DosingGuard`. Every recommendation, decision, execution and refusal is in the logbook
(English, as actuator.py explains). Open recommendations, decisions, margins, doses and the
auto switches are kept in a Store: they survive a restart.

External recommendations arrive through the entry's webhook (`ai_service.py`); they are shown
and decided the same way but never run automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
import math
import secrets
from typing import TYPE_CHECKING, Any
import uuid

from homeassistant.components.logbook import async_log_entry
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_MAC
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .ai_service import AiService
from .const import (
    DOMAIN,
    SUBENTRY_ACTUATOR,
)
from .device_config import actuator_config
from .entry_records import entry_records
from .prediction_runtime import prediction_signal
from .predictions.base import Decision
from .predictions.cycle import bands_from
from .predictions.outcome import PredictionOutcome
from .predictions.recommend import (
    ACTION_KINDS,
    SOURCE_BUILTIN,
    Action,
    Corrector,
    DoseRefusal,
    DosingGuard,
    Feedback,
    InputState,
    Margin,
    Recommendation,
    decide,
    merge,
)
from .service_input import invalid

if TYPE_CHECKING:
    from .data import AutomationOneConfigEntry

_LOGGER = logging.getLogger(__name__)
RECOMMENDATIONS_FILE = f"{DOMAIN}.recommendations"
SAVE_DELAY_S = 5.0
EXPIRY_CHECK = timedelta(seconds=30)
EVENT_RECOMMENDATION = "automationone_recommendation"
EVENT_DECIDED = "automationone_recommendation_decided"
ISSUE_PREFIX = "recommendation_"

# Keys of an actuator subentry's data: which sensor it corrects and how much a dose is.
CONF_CORRECTS = "corrects"
CONF_DIRECTION = "direction"
CONF_DOSE_S = "dose_s"
CONF_MAX_DOSES_PER_DAY = "max_doses_per_day"
CONF_INTERLOCK_GROUP = "interlock_group"
CONF_INTERLOCK_MIN = "interlock_min"
CORRECTOR_KEYS = (
    CONF_CORRECTS,
    CONF_DIRECTION,
    CONF_DOSE_S,
    CONF_MAX_DOSES_PER_DAY,
    CONF_INTERLOCK_GROUP,
    CONF_INTERLOCK_MIN,
)
DEFAULT_DOSE_S = 2.0


def corrector_of(subentry_id: str, title: str, data: Any) -> Corrector:
    """An actuator subentry as a corrector (its dosing limits; the default dose if unset)."""
    group = (data.get(CONF_INTERLOCK_GROUP) or "").strip() or None
    return Corrector(
        actuator_id=subentry_id,
        name=title,
        direction=data.get(CONF_DIRECTION, "up"),
        dose_s=float(data.get(CONF_DOSE_S, DEFAULT_DOSE_S)),
        config=actuator_config(data),
        max_per_day=int(data.get(CONF_MAX_DOSES_PER_DAY, 0)),
        interlock_group=group,
        interlock_s=60.0 * float(data.get(CONF_INTERLOCK_MIN, 0)),
    )


class RecommendationManager:
    """The recommendations of one config entry (one ESP)."""

    def __init__(self, hass: HomeAssistant, entry: AutomationOneConfigEntry) -> None:
        """Nothing loaded yet (`async_setup`)."""
        self.hass = hass
        self.entry = entry
        self._file = entry_records(hass, RECOMMENDATIONS_FILE)
        self.open: dict[str, Recommendation] = {}
        self.feedback = Feedback()
        self.guard = DosingGuard()
        self.auto: dict[str, bool] = dict.fromkeys(ACTION_KINDS, False)
        self.webhook_id = ""
        self.extra: dict[str, Any] = {}  # other parts' stored state (the push queue)
        self._listeners: list[Callable[[], None]] = []
        self.ai_service: AiService | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def async_setup(self) -> None:
        """Load the store, subscribe to predictions, expire on a timer."""
        await self._file.async_load()
        stored = self._file.get(self.entry.entry_id) or {}
        now = self.now()
        for item in stored.get("open", []):
            try:
                rec = Recommendation.from_dict(item)
            except (KeyError, TypeError, ValueError):
                continue
            self.open[rec.id] = rec
        try:
            self.feedback = Feedback.from_dict(stored.get("feedback", {}))
        except (KeyError, TypeError, ValueError):
            _LOGGER.warning("Stored recommendation feedback of %s is unreadable", self.entry.title)
        try:
            self.guard = DosingGuard.from_dict(stored.get("guard", {}))
        except (KeyError, TypeError, ValueError, IndexError):
            # Without the dose history the daily maximum and interlocks could be exceeded:
            # count every linked actuator as having dosed now.
            _LOGGER.warning("Stored dose history of %s is unreadable", self.entry.title)
            self.guard = DosingGuard()
            for sid, sub in self.entry.subentries.items():
                if sub.subentry_type == SUBENTRY_ACTUATOR and sub.data.get(CONF_CORRECTS):
                    self.guard.record(corrector_of(sid, sub.title, sub.data), now)
        self.auto |= {k: bool(v) for k, v in stored.get("auto", {}).items() if k in self.auto}
        self.webhook_id = stored.get("webhook_id") or secrets.token_hex(32)
        self.extra = dict(stored.get("extra", {}))
        if "webhook_id" not in stored:
            self._save()
        for rec in list(self.open.values()):
            if rec.sensor_id not in self.entry.subentries:
                self._drop(rec, "removed")
            else:
                self._sync_issue(rec)
        self._expire(now)
        entry = self.entry
        entry.async_on_unload(
            async_dispatcher_connect(self.hass, prediction_signal(entry.entry_id), self.on_outcome)
        )
        entry.async_on_unload(async_track_time_interval(self.hass, self._on_timer, EXPIRY_CHECK))
        entry.async_on_unload(self._async_flush)
        entry.async_on_unload(self._clear_issues)
        self.ai_service = AiService(self.hass, entry, self)
        await self.ai_service.async_setup()

    @callback
    def _clear_issues(self) -> None:
        """Unloaded: nothing can be decided until the entry is back (setup shows them again)."""
        for rec_id in self.open:
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_PREFIX}{rec_id}")

    @callback
    def _async_flush(self) -> None:
        """Unloaded: the next setup (a reload) starts from this state; the file follows."""
        self._save()

    def _data(self) -> dict[str, Any]:
        return {
            "open": [rec.to_dict() for rec in self.open.values()],
            "feedback": self.feedback.to_dict(),
            "guard": self.guard.to_dict(),
            "auto": dict(self.auto),
            "webhook_id": self.webhook_id,
            "extra": self.extra,
        }

    def _save(self) -> None:
        self._file.write_soon(self.entry.entry_id, self._data, SAVE_DELAY_S)

    def save_extra(self, key: str, value: Any) -> None:
        """Keep another part's state in this entry's store."""
        self.extra[key] = value
        self._save()

    async def async_remove(self) -> None:
        """The entry is removed: its record goes."""
        await self._file.async_forget(self.entry.entry_id)

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the auto switches change; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @staticmethod
    def now() -> float:
        """POSIX time now (HA's clock, so tests can move it)."""
        return dt_util.utcnow().timestamp()

    # --- lookups -----------------------------------------------------------------------

    def sensor_entity(self, sensor_id: str) -> str | None:
        """The processed sensor entity of a sensor subentry."""
        return er.async_get(self.hass).async_get_entity_id(
            "sensor", DOMAIN, f"{self.entry.data[CONF_MAC]}-{sensor_id}"
        )

    def sensor_title(self, sensor_id: str) -> str:
        """The name the user gave the sensor."""
        subentry = self.entry.subentries.get(sensor_id)
        return subentry.title if subentry is not None else sensor_id

    def correctors(self, sensor_id: str) -> list[Corrector]:
        """The actuators linked to correct a sensor."""
        return [
            corrector_of(sid, sub.title, sub.data)
            for sid, sub in self.entry.subentries.items()
            if sub.subentry_type == SUBENTRY_ACTUATOR and sub.data.get(CONF_CORRECTS) == sensor_id
        ]

    def input_state(self, sensor_id: str) -> InputState:
        """Whether the sensor's reading may be acted on."""
        channel = self.entry.runtime_data.channels.get(sensor_id)
        if channel is None or channel.result is None:
            return InputState(available=False, quality=None)
        return InputState(available=channel.available, quality=channel.result.quality.value)

    def find_open(self, sensor_id: str, kind: str, source: str) -> Recommendation | None:
        """The open recommendation of a sensor, kind and source (built-in or external)."""
        return next(
            (
                r
                for r in self.open.values()
                if r.sensor_id == sensor_id and r.kind == kind and r.source == source
            ),
            None,
        )

    # --- making them -------------------------------------------------------------------

    @callback
    def on_outcome(self, outcome: PredictionOutcome) -> None:
        """A fit's outcome: make, update or leave a recommendation (never raises)."""
        try:
            self._on_outcome(outcome)
        except Exception:  # a bad outcome must not break the fitting runtime's loop
            _LOGGER.exception("Recommendation from %s failed", outcome.subentry_id)

    def _on_outcome(self, outcome: PredictionOutcome) -> None:
        sensor_id = outcome.subentry_id
        if sensor_id not in self.entry.subentries:
            return
        now = self.now()
        rec = decide(
            outcome,
            self.correctors(sensor_id),
            rec_id=uuid.uuid4().hex[:12],
            now=now,
            margins=self.feedback.margins_for(sensor_id),
            bands=bands_from(self.entry.subentries[sensor_id].data),
        )
        if rec is None:
            return
        if (existing := self.find_open(sensor_id, rec.kind, SOURCE_BUILTIN)) is not None:
            self.open[existing.id] = merge(existing, rec)
            self._sync_issue(self.open[existing.id])
            self._save()
            return
        self.add(rec)
        if rec.action is not None and self.auto.get(rec.kind):
            self.entry.async_create_task(self.hass, self._async_auto(rec), "automationone auto")

    def add(self, rec: Recommendation) -> None:
        """Show a new recommendation: repair issue, logbook, event."""
        self.open[rec.id] = rec
        self._sync_issue(rec)
        self._log(rec, f"recommends: {self.describe(rec)}")
        self.hass.bus.async_fire(EVENT_RECOMMENDATION, self.event_data(rec))
        self._save()

    def describe(self, rec: Recommendation) -> str:
        """One English line: what will happen, what to do, how sure."""
        what = rec.summary
        if rec.source == SOURCE_BUILTIN:
            what = f"{self.sensor_title(rec.sensor_id)} {what}"
        act = (
            f"pulse {rec.action.name} {rec.action.duration_s:g} s"
            if rec.action is not None
            else "no action linked; check by hand"
        )
        return f"{what}; {act} (confidence {round(100 * rec.confidence)} %, id {rec.id})"

    def event_data(self, rec: Recommendation) -> dict[str, Any]:
        """What the event (and the blueprint) gets."""
        return {
            "id": rec.id,
            "kind": rec.kind,
            "source": rec.source,
            "entry_id": self.entry.entry_id,
            "device_id": self.entry.runtime_data.device_entry.id,
            "sensor": self.sensor_entity(rec.sensor_id),
            "message": self.describe(rec),
            "confidence": rec.confidence,
            "expires": dt_util.utc_from_timestamp(rec.expires).isoformat(),
            "action": None
            if rec.action is None
            else {"actuator": rec.action.name, "duration_s": rec.action.duration_s},
        }

    def sync(self, rec: Recommendation) -> None:
        """An open recommendation changed: its issue and the store follow."""
        self._sync_issue(rec)
        self._save()

    def _sync_issue(self, rec: Recommendation) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_PREFIX}{rec.id}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=f"recommendation_{rec.kind}",
            translation_placeholders=issue_placeholders(self, rec),
            data={"entry_id": self.entry.entry_id, "rec_id": rec.id},
        )

    def _log(self, rec: Recommendation, message: str) -> None:
        async_log_entry(
            self.hass,
            self.sensor_title(rec.sensor_id),
            message,
            DOMAIN,
            self.sensor_entity(rec.sensor_id),
        )

    # --- expiry ------------------------------------------------------------------------

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self._expire(self.now())

    def _expire(self, now: float) -> None:
        for rec in [r for r in self.open.values() if r.expired(now)]:
            self._drop(rec, "expired")

    def _drop(self, rec: Recommendation, why: str) -> None:
        self.open.pop(rec.id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_PREFIX}{rec.id}")
        self._log(rec, f"recommendation {rec.id} {why}")
        self._save()

    # --- deciding and executing --------------------------------------------------------

    async def async_decide(self, rec_id: str, approved: bool, by: str) -> None:
        """Approve (execute the action, then close) or reject a recommendation.

        A refused action raises the translated ServiceValidationError and leaves the
        recommendation open; a transport failure raises HomeAssistantError.
        """
        rec = self.open.get(rec_id)
        if rec is None:
            raise invalid("recommendation_unknown", id=rec_id)
        if rec.expired(self.now()):
            self._drop(rec, "expired")
            raise invalid("recommendation_expired", id=rec_id)
        if approved and rec.action is not None:
            await self.async_execute(rec, by)
        self._close(rec, approved, by)

    def _close(self, rec: Recommendation, approved: bool, by: str) -> None:
        now = self.now()
        before = self.feedback.margins_for(rec.sensor_id).get(rec.kind)
        was = (before.lead_s, before.min_score) if before is not None else (None, 0.0)
        margin = self.feedback.record(
            Decision(
                rec_id=rec.id,
                sensor_id=rec.sensor_id,
                kind=rec.kind,
                approved=approved,
                t=now,
                by=by,
                in_s=rec.in_s,
                anomaly_score=rec.anomaly_score,
                source=rec.source,
            )
        )
        if (margin.lead_s, margin.min_score) != was:
            self._log(rec, f"after repeated rejections, {rec.kind} now {_margin_text(margin)}")
        self.open.pop(rec.id, None)
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_PREFIX}{rec.id}")
        verb = "approved" if approved else "rejected"
        self._log(rec, f"recommendation {rec.id} {verb} ({by})")
        self.hass.bus.async_fire(
            EVENT_DECIDED, {"id": rec.id, "kind": rec.kind, "approved": approved, "by": by}
        )
        self._save()

    def _actuator_corrector(self, action: Action) -> Corrector:
        subentry = self.entry.subentries.get(action.actuator_id)
        if subentry is None or action.actuator_id not in self.entry.runtime_data.actuators:
            raise invalid("recommendation_actuator_gone", name=action.name)
        return corrector_of(action.actuator_id, subentry.title, subentry.data)

    async def async_execute(self, rec: Recommendation, by: str) -> None:
        """Run the action: dosing safety first, then the actuator's own command path."""
        assert rec.action is not None
        action = rec.action
        corrector = self._actuator_corrector(action)
        now = self.now()
        refused = self.guard.refusal(corrector, self.input_state(rec.sensor_id), now)
        if refused is not None:
            err = self._dose_error(refused, rec)
            self._log(rec, f"did not run {action.name} ({by}): {_dose_text(refused, rec)}")
            raise err
        channel = self.entry.runtime_data.actuators[action.actuator_id]
        try:
            await channel.async_command(action.action, duration_s=action.duration_s)
        except HomeAssistantError as err:
            self._log(rec, f"did not run {action.name} ({by}): {err}")
            raise
        self.guard.record(corrector, now)
        self._log(rec, f"ran {action.name} for {action.duration_s:g} s ({by}, {rec.id})")
        self._save()

    def _dose_error(self, refused: DoseRefusal, rec: Recommendation) -> ServiceValidationError:
        assert rec.action is not None
        other = refused.other
        if other is not None and other in self.entry.subentries:
            other = self.entry.subentries[other].title
        return invalid(
            f"dosing_{refused.code}",
            name=rec.action.name,
            sensor=self.sensor_title(rec.sensor_id),
            seconds=str(math.ceil(refused.until_s)) if refused.until_s is not None else "-",
            other=other or "-",
        )

    async def _async_auto(self, rec: Recommendation) -> None:
        """Run a new recommendation of a kind switched to automatic; a refusal stays open."""
        try:
            await self.async_decide(rec.id, True, "auto")
        except HomeAssistantError as err:
            # async_execute logged the explanation; the user still sees the recommendation.
            _LOGGER.debug("Auto-action on %s refused: %s", rec.id, err)

    def set_auto(self, kind: str, on: bool) -> None:
        """Switch a kind's auto-action."""
        self.auto[kind] = on
        async_log_entry(
            self.hass,
            self.entry.title,
            f"auto-action for {kind} switched {'on' if on else 'off'}",
            DOMAIN,
        )
        self._save()
        for listener in list(self._listeners):
            listener()


def _margin_text(margin: Margin) -> str:
    """The adapted margin in English (logbook)."""
    parts = []
    if margin.lead_s is not None:
        parts.append(f"asks only for crossings within {math.ceil(margin.lead_s / 60)} min")
    if margin.min_score > 0:
        parts.append(f"asks only for anomaly scores above {margin.min_score:.1f}")
    return " and ".join(parts)


def _dose_text(refused: DoseRefusal, rec: Recommendation) -> str:
    """English for the logbook (the error itself is translated)."""
    until = "" if refused.until_s is None else f", may dose again in {math.ceil(refused.until_s)} s"
    texts = {
        "input_stale": "the sensor has no fresh reading",
        "input_bad": "the sensor's reading is bad",
        "input_uncalibrated": "the sensor is not calibrated",
        "daily_max": "the daily maximum of doses is reached",
        "interlock": f"another pump of its interlock group dosed recently ({refused.other})",
    }
    return texts.get(refused.code, refused.code) + until


def managers(hass: HomeAssistant) -> list[RecommendationManager]:
    """The managers of every loaded entry."""
    out = []
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is not ConfigEntryState.LOADED:
            continue
        manager = getattr(getattr(entry, "runtime_data", None), "recommendations", None)
        if manager is not None:
            out.append(manager)
    return out


def manager_of(hass: HomeAssistant, rec_id: str) -> RecommendationManager:
    """The manager holding an open recommendation (ServiceValidationError if none does)."""
    for manager in managers(hass):
        if rec_id in manager.open:
            return manager
    raise invalid("recommendation_unknown", id=rec_id)


async def async_decide(hass: HomeAssistant, rec_id: str, approved: bool, by: str) -> None:
    """Approve or reject an open recommendation of any entry."""
    await manager_of(hass, rec_id).async_decide(rec_id, approved, by)


SERVICE_APPROVE = "approve_recommendation"
SERVICE_REJECT = "reject_recommendation"
ATTR_RECOMMENDATION_ID = "recommendation_id"
DECIDE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_RECOMMENDATION_ID): vol.All(str, vol.Length(min=1, max=64))}
)


async def _async_approve(call: ServiceCall) -> None:
    await async_decide(call.hass, call.data[ATTR_RECOMMENDATION_ID], True, "service")


async def _async_reject(call: ServiceCall) -> None:
    await async_decide(call.hass, call.data[ATTR_RECOMMENDATION_ID], False, "service")


def async_setup_recommendation_services(hass: HomeAssistant) -> None:
    """Register approve/reject (for automations and the notification blueprint)."""
    hass.services.async_register(DOMAIN, SERVICE_APPROVE, _async_approve, schema=DECIDE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_REJECT, _async_reject, schema=DECIDE_SCHEMA)


def issue_placeholders(manager: RecommendationManager, rec: Recommendation) -> dict[str, str]:
    """What a recommendation's issue and its dialog show."""
    expires = dt_util.as_local(dt_util.utc_from_timestamp(rec.expires))
    return {
        "sensor": manager.sensor_title(rec.sensor_id),
        "device": manager.entry.title,
        "summary": rec.summary,
        "action": (
            f"{rec.action.name}: {rec.action.duration_s:g} s" if rec.action is not None else "-"
        ),
        "confidence": str(round(100 * rec.confidence)),
        "expires": expires.strftime("%H:%M"),
        "source": rec.source,
    }
