"""One configured actuator as HA sees it: the device's status, and HA's copy of its limits.

The device is the truth: its retained `actuator/{gpio}/status` sets the state. HA runs the
same safety rules (`safety.ActuatorSafety`, fed by those statuses and HA's own clock) only to
refuse a command up front with a clear message; the device enforces them again.

The channel, not an entity, writes the logbook and fires `automationone_actuator_stopped`: a
disabled (or not yet added) entity must not silence the `actuator_stopped` device trigger.
Logbook texts stay English: HA's logbook has no translated messages (neither
`async_log_entry` nor a logbook platform takes a translation key), and an entry is stored once
in the recorder for every user, whatever language each one reads in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import math
from time import monotonic
from typing import Any
import uuid

from homeassistant.components.logbook import async_log_entry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN, EVENT_ACTUATOR_STOPPED
from .device_config import actuator_config
from .protocol import ActuatorCommand, ActuatorStatus, Refusal
from .protocol.device import DeviceState
from .safety import ActuatorSafety, Refused

# How long a command waits for the device's status that answers it (a refusal becomes an
# error); without an answer in time the command counts as sent and the status follows later.
COMMAND_ANSWER_TIMEOUT = 2.0
COMMAND_SOURCE = "home_assistant"
# Reasons of a stop the device made by itself: these fire EVENT_ACTUATOR_STOPPED.
DEVICE_STOP_REASONS = frozenset({"max_runtime", "duration", "failsafe", "emergency"})
ACTUATOR_DOMAINS = ("switch", "light")


class ActuatorChannel:
    """Status, listeners and commands of one actuator subentry."""

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry_id: str,
        subentry_id: str,
        title: str,
        data: Mapping[str, Any],
        device: DeviceState,
    ) -> None:
        """Start with no status: the device's retained one follows."""
        self.hass = hass
        self.config_entry_id = config_entry_id
        self.subentry_id = subentry_id
        self.title = title
        self.config = actuator_config(data)
        self.gpio = self.config.gpio
        self.device = device
        self.safety = ActuatorSafety(self.config, monotonic())
        self.status: ActuatorStatus | None = None
        self.refused_pin: str | None = None  # config/ack error of this pin
        self._listeners: list[Callable[[], None]] = []
        self._waiters: dict[str, asyncio.Future[ActuatorStatus]] = {}

    @property
    def available(self) -> bool:
        """An online device that accepted the pin."""
        return self.device.available and self.refused_pin is None

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every status; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def set_refused(self, error: str | None) -> None:
        """The device's config/ack for this pin (None: accepted)."""
        if error != self.refused_pin:
            self.refused_pin = error
            for listener in list(self._listeners):
                listener()

    def on_status(self, status: ActuatorStatus) -> None:
        """A status from the device: follow it, keep HA's copy of the limits in step."""
        now = monotonic()
        waiter = self._waiters.get(status.cmd_id) if status.cmd_id is not None else None
        if waiter is not None and not waiter.done():
            waiter.set_result(status)
        if status.refused is not None and self.status is not None:
            # A refusal does not change the state: keep the last real one.
            self._notify()
            return
        if status.state and not self.safety.state:
            self.safety.apply(ActuatorCommand(action="on"), now)
        elif not status.state and self.safety.state:
            self.safety.apply(ActuatorCommand(action="off"), now)
        previous, self.status = self.status, status
        if previous is not None and previous.state != status.state:
            self._log_change(status)
        self._notify()

    def entity_ids(self) -> tuple[str | None, str | None]:
        """(device id, entity id) of this actuator's switch or light in the registries,
        enabled or not; None where it is not registered (yet)."""
        registry = er.async_get(self.hass)
        for entry in er.async_entries_for_config_entry(registry, self.config_entry_id):
            if entry.config_subentry_id == self.subentry_id and entry.domain in ACTUATOR_DOMAINS:
                return entry.device_id, entry.entity_id
        return None, None

    @callback
    def _log_change(self, status: ActuatorStatus) -> None:
        """One logbook entry per on/off change; the event when the device stopped it."""
        device_id, entity_id = self.entity_ids()
        verb = "started" if status.state else "stopped"
        async_log_entry(self.hass, self.title, f"{verb} ({status.reason})", DOMAIN, entity_id)
        if not status.state and status.reason in DEVICE_STOP_REASONS:
            self.hass.bus.async_fire(
                EVENT_ACTUATOR_STOPPED,
                {"device_id": device_id, "entity_id": entity_id, "reason": status.reason},
            )

    @callback
    def _log_refusal(self, refused: Refused) -> None:
        until = (
            "" if refused.until_s is None else f", may run again in {math.ceil(refused.until_s)} s"
        )
        _, entity_id = self.entity_ids()
        async_log_entry(
            self.hass,
            self.title,
            f"refused a start ({refused.code.value}{until})",
            DOMAIN,
            entity_id,
        )

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def refusal(self, command: ActuatorCommand) -> Refused | None:
        """Why HA would not send `command` now (the same rules as the device)."""
        turns_on = command.action in ("on", "pulse") or (command.value or 0) > 0
        if turns_on and self.device.emergency:
            return Refused(Refusal.EMERGENCY)
        return self.safety.refusal(command, monotonic())

    def error(self, refused: Refused) -> ServiceValidationError:
        """The translated error of a refusal: which limit, and when it may run again. A
        refusal is the user's to resolve (wait, clear the stop), not a fault of HA's."""
        until = refused.until_s
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=f"refused_{refused.code.value}",
            translation_placeholders={
                "name": self.title,
                "seconds": str(math.ceil(until)) if until is not None else "-",
                "cooldown_s": str(self.config.cooldown_s or 0),
                "max_per_hour": str(self.config.max_per_hour or 0),
                "max_runtime_s": str(self.config.max_runtime_s or 0),
            },
        )

    async def async_command(
        self,
        action: str,
        *,
        value: int | None = None,
        duration_s: float | None = None,
    ) -> None:
        """Check the limits, send the command and turn the device's refusal into an error."""
        if not self.device.available:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_unavailable",
                translation_placeholders={"name": self.title},
            )
        command = ActuatorCommand(
            action=action,
            value=value,
            duration_s=duration_s,
            cmd_id=uuid.uuid4().hex[:16],
            source=COMMAND_SOURCE,
        )
        refused = self.refusal(command)
        if refused is not None:
            raise self._refused(refused)
        assert command.cmd_id is not None
        waiter: asyncio.Future[ActuatorStatus] = asyncio.get_running_loop().create_future()
        self._waiters[command.cmd_id] = waiter
        try:
            await self.device.command(self.gpio, command)
            answer = await asyncio.wait_for(waiter, COMMAND_ANSWER_TIMEOUT)
        except TimeoutError:
            return
        finally:
            del self._waiters[command.cmd_id]
        if answer.refused is not None:
            try:
                code = Refusal(answer.refused)
            except ValueError:
                code = Refusal.INVALID
            raise self._refused(Refused(code, answer.until_s))

    def _refused(self, refused: Refused) -> ServiceValidationError:
        self._log_refusal(refused)
        return self.error(refused)
