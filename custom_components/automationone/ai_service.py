"""The external AI service of one entry: its webhook in, and the batched push of readings out.

In: HA's webhook component at `/api/webhook/<id>`, the id a secret per entry (kept in the
entry's recommendation store, shown in the options dialog, redacted in diagnostics). A body
in the versioned schema of docs/ai_service.md (`predictions.external`) becomes recommendations
shown and decided like the built-in ones (never run automatically). Bad input gets 400 with
the reason and nothing is stored; past the rate limit, 429 with Retry-After.

Out (optional, the entry's options): every N minutes the readings since the last push are
posted to the user's URL (HA's shared aiohttp session), oldest first; a failed push is retried
with a doubling delay; the queue is bounded and kept in the store, so a restart loses nothing
that was queued (beyond the bound, the oldest readings go).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
import math
from time import monotonic
from typing import TYPE_CHECKING, Any
import uuid

from aiohttp import ClientError, ClientTimeout, web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.network import NoURLAvailableError

from .const import DOMAIN, SUBENTRY_SENSOR
from .predictions.external import (
    MAX_BODY_BYTES,
    PushQueue,
    RateLimiter,
    ReadingRow,
    SchemaError,
    parse_recommendations,
    readings_batch,
)
from .predictions.recommend import SOURCE_EXTERNAL, Action, Recommendation, merge
from .registry import actuator_of

if TYPE_CHECKING:
    from .data import AutomationOneConfigEntry
    from .recommendations import RecommendationManager

_LOGGER = logging.getLogger(__name__)
CONF_PUSH_URL = "push_url"
CONF_PUSH_INTERVAL_MIN = "push_interval_min"
DEFAULT_PUSH_INTERVAL_MIN = 5
QUEUE_LIMIT = 20000
PUSH_TIMEOUT_S = 10.0
RATE_BURST = 5
RATE_PER_MINUTE = 10.0
QUEUE_KEY = "push_queue"


def webhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """The full webhook URL if HA knows its own URL, else its path."""
    try:
        return webhook.async_generate_url(hass, webhook_id)
    except NoURLAvailableError:
        return webhook.async_generate_path(webhook_id)


class AiService:
    """Webhook and push of one entry."""

    def __init__(
        self, hass: HomeAssistant, entry: AutomationOneConfigEntry, manager: RecommendationManager
    ) -> None:
        """Nothing registered yet (`async_setup`)."""
        self.hass = hass
        self.entry = entry
        self.manager = manager
        self.limiter = RateLimiter(RATE_BURST, RATE_PER_MINUTE, monotonic())
        self.queue = PushQueue(QUEUE_LIMIT)
        self.last_push: str | None = None  # "ok" or the last failure's kind
        self._interval_unsub: Callable[[], None] | None = None
        self._retry_unsub: Callable[[], None] | None = None
        self._reading_unsubs: list[Callable[[], None]] = []
        self._pushing = False

    @property
    def push_url(self) -> str | None:
        """Where readings go (None: no push)."""
        url = self.entry.options.get(CONF_PUSH_URL)
        return str(url) if url else None

    async def async_setup(self) -> None:
        """Register the webhook, restore the queue, follow the sensors, start the timer."""
        entry = self.entry
        webhook.async_register(
            self.hass,
            DOMAIN,
            f"AutomationOne AI service ({entry.title})",
            self.manager.webhook_id,
            self._async_handle,
            allowed_methods=["POST"],
        )
        entry.async_on_unload(lambda: webhook.async_unregister(self.hass, self.manager.webhook_id))
        self.queue.load(self.manager.extra.get(QUEUE_KEY, {}))
        self._schedule()
        entry.async_on_unload(entry.add_update_listener(self._async_options_changed))
        entry.async_on_unload(self._stop)

    # --- webhook -----------------------------------------------------------------------

    async def _async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        if not self.limiter.allow(monotonic()):
            retry = max(1, math.ceil(self.limiter.retry_after()))
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": str(retry)}
            )
        try:
            body = await _read_bounded(request, MAX_BODY_BYTES)
            recs = [self._resolve(i, ext) for i, ext in enumerate(parse_recommendations(body))]
        except SchemaError as err:
            return web.json_response({"error": str(err)}, status=400)
        accepted = [self._add(rec) for rec in recs]
        return web.json_response({"accepted": accepted})

    def _resolve(self, index: int, ext: Any) -> Recommendation:
        """An external recommendation against this entry's sensors and actuators."""
        where = f"recommendations[{index}]"
        reg = er.async_get(self.hass).async_get(ext.sensor)
        subentry = (
            self.entry.subentries.get(reg.config_subentry_id or "")
            if reg is not None and reg.config_entry_id == self.entry.entry_id
            else None
        )
        if (
            reg is None
            or subentry is None
            or subentry.subentry_type != SUBENTRY_SENSOR
            or self.manager.sensor_entity(subentry.subentry_id) != ext.sensor
        ):
            raise SchemaError(f"{where}.sensor: not a sensor of this device")
        action = None
        if ext.action is not None:
            try:
                channel = actuator_of(self.hass, ext.action.actuator)
            except HomeAssistantError:
                channel = None
            if channel is None or channel.config_entry_id != self.entry.entry_id:
                raise SchemaError(f"{where}.action.actuator: not an actuator of this device")
            longest = channel.config.max_runtime_s or 0
            if longest and ext.action.duration_s > longest:
                raise SchemaError(
                    f"{where}.action.duration_s: longer than the max runtime of "
                    f"{channel.title} ({longest} s)"
                )
            action = Action(channel.subentry_id, channel.title, ext.action.duration_s)
        now = self.manager.now()
        return Recommendation(
            id=uuid.uuid4().hex[:12],
            sensor_id=subentry.subentry_id,
            kind=ext.kind,
            created=now,
            expires=now + ext.expires_in_s,
            summary=ext.summary,
            confidence=ext.confidence,
            source=SOURCE_EXTERNAL,
            action=action,
        )

    def _add(self, rec: Recommendation) -> str:
        existing = self.manager.find_open(rec.sensor_id, rec.kind, SOURCE_EXTERNAL)
        if existing is not None:
            self.manager.open[existing.id] = merge(existing, rec)
            self.manager.sync(self.manager.open[existing.id])
            return existing.id
        self.manager.add(rec)
        return rec.id

    # --- push --------------------------------------------------------------------------

    def _reading_listener(self, subentry_id: str) -> Callable[[], None]:
        @callback
        def on_change() -> None:
            if self.push_url is None:
                return
            channel = self.entry.runtime_data.channels.get(subentry_id)
            entity_id = self.manager.sensor_entity(subentry_id)
            if channel is None or entity_id is None or not channel.available:
                return
            result = channel.result
            if result is None or result.value is None or not math.isfinite(result.value):
                return
            self.queue.add(
                ReadingRow(
                    entity_id, self.manager.now(), result.value, result.unit, result.quality.value
                )
            )
            self._save_queue()

        return on_change

    def _save_queue(self) -> None:
        self.manager.save_extra(QUEUE_KEY, self.queue.to_dict())

    def _schedule(self) -> None:
        self._stop()
        if self.push_url is None:
            return
        # The sensors are followed only while readings are pushed: each listener runs at every
        # state change of its sensor.
        self._reading_unsubs = [
            channel.add_listener(self._reading_listener(subentry_id))
            for subentry_id, channel in self.entry.runtime_data.channels.items()
        ]
        minutes = int(self.entry.options.get(CONF_PUSH_INTERVAL_MIN, DEFAULT_PUSH_INTERVAL_MIN))
        self._interval_unsub = async_track_time_interval(
            self.hass, self._on_interval, timedelta(minutes=max(1, minutes))
        )

    @callback
    def _stop(self) -> None:
        for unsub in (self._interval_unsub, self._retry_unsub):
            if unsub is not None:
                unsub()
        self._interval_unsub = self._retry_unsub = None
        for unsub in self._reading_unsubs:
            unsub()
        self._reading_unsubs = []

    async def _async_options_changed(self, hass: HomeAssistant, entry: Any) -> None:
        self._schedule()

    @callback
    def _on_interval(self, _now: datetime) -> None:
        if self._retry_unsub is None:  # while backing off, the retry timer pushes
            self.entry.async_create_background_task(
                self.hass, self.async_push(), "automationone push"
            )

    @callback
    def _on_retry(self, _now: datetime) -> None:
        self._retry_unsub = None
        self.entry.async_create_background_task(self.hass, self.async_push(), "automationone push")

    async def async_push(self) -> bool:
        """Post the queued readings (in batches); on failure, retry later. True if all went."""
        url = self.push_url
        if url is None or self._pushing:
            return False
        self._pushing = True
        session = async_get_clientsession(self.hass)
        try:
            while rows := self.queue.batch():
                doc = readings_batch(rows, device=self.entry.title, sent=self.manager.now())
                try:
                    async with session.post(
                        url, json=doc, timeout=ClientTimeout(total=PUSH_TIMEOUT_S)
                    ) as resp:
                        ok = 200 <= resp.status < 300
                        failure = f"http_{resp.status}"
                except (ClientError, TimeoutError) as err:
                    ok, failure = False, err.__class__.__name__
                if not ok:
                    delay = self.queue.failed()
                    self.last_push = failure
                    _LOGGER.debug("Push of %s readings failed (%s)", len(rows), failure)
                    self._save_queue()
                    if self._retry_unsub is None:
                        self._retry_unsub = async_call_later(self.hass, delay, self._on_retry)
                    return False
                self.queue.sent(len(rows))
                self.last_push = "ok"
                self._save_queue()
            return True
        finally:
            self._pushing = False

    def diagnostics(self) -> dict[str, Any]:
        """For the entry's diagnostics (the URL and webhook id are redacted there)."""
        return {
            "webhook_id": self.manager.webhook_id,
            CONF_PUSH_URL: self.push_url,
            "push_interval_min": self.entry.options.get(CONF_PUSH_INTERVAL_MIN),
            "queued": len(self.queue.rows),
            "dropped": self.queue.dropped,
            "failures": self.queue.failures,
            "last_push": self.last_push,
        }


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, or SchemaError when it is larger than `limit`."""
    if request.content_length is not None and request.content_length > limit:
        raise SchemaError(f"body: larger than {limit} bytes")
    body = b""
    while chunk := await request.content.read(limit + 1 - len(body)):
        body += chunk
        if len(body) > limit:
            raise SchemaError(f"body: larger than {limit} bytes")
    return body
