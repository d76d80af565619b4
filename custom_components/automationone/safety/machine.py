"""The safety state machine of one actuator, driven by an explicit monotonic clock.

Nothing here reads a clock: every method takes `now` (seconds, monotonic, same origin as the
`now` given at construction) and returns the `ActuatorStatus` messages to publish, in order.
Timers fire at their own deadline, not at the `now` that notices them, so a caller that ticks
late still gets the same cooldown and rate-limit windows (docs/protocol.md, rule 8).

Rules beyond docs/protocol.md that tests/vectors/safety/timelines.json pins (see its
description): `off` and `set 0` are the same; a digital actuator is on at 255; every accepted
command sets reason `command`; a command that keeps the actuator on replaces the pending
duration with its own `duration_s` (none without), `set` included; duration and max-runtime
stops go to value 0; the device's own moves to the safe state (boot, failsafe, emergency,
config) count no activation and are not limited by max_runtime; windows end exactly at their
deadline.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import enum
from typing import Final

from ..protocol import ActuatorCommand, ActuatorConfig, ActuatorStatus, Reason, Refusal

FULL_ON: Final = 255
RATE_WINDOW_S: Final = 3600.0
DIGITAL_TYPES: Final = frozenset({"relay", "pump", "valve"})
_ACTIONS: Final = frozenset({"on", "off", "set", "pulse"})


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a command is refused, and (if known) the seconds until one may succeed."""

    code: Refusal
    until_s: float | None = None


class _Timer(enum.IntEnum):
    """Timers of an actuator; the value breaks ties at the same deadline (lowest first)."""

    DURATION = 0
    MAX_RUNTIME = 1
    FAILSAFE = 2


class ActuatorSafety:
    """Safety state of one actuator: limits, timers, link state and emergency."""

    def __init__(self, config: ActuatorConfig, now: float, reason: Reason = Reason.BOOT) -> None:
        """Start in the safe state at `now` with `reason` (boot, or config after a change)."""
        self._set_limits(config)
        self.value = self.safe_value
        self.reason = reason
        self.activations = 0
        self.emergency = False
        self._on_at = now  # when the value last left 0 (for runtime_s)
        self._runtime = 0.0  # on-time of finished on periods
        self._run_since: float | None = None  # max-runtime clock: a command keeps it on
        self._duration_until: float | None = None
        self._last_off: float | None = None  # last on->off transition (cooldown)
        self._window: deque[float] = deque()  # activation times within the rate window
        self._link_down_at: float | None = None
        self._failsafe_done = False

    def _set_limits(self, config: ActuatorConfig) -> None:
        self.config = config
        self.digital = config.type in DIGITAL_TYPES
        self.max_runtime_s = config.max_runtime_s or 0
        self.cooldown_s = config.cooldown_s or 0
        self.max_per_hour = config.max_per_hour or 0
        self.failsafe_s = config.failsafe_s or 0
        self.safe_value = self._level(config.safe_state or 0)

    def same_actuator(self, config: ActuatorConfig) -> bool:
        """Whether `config` only changes limits (same pin and type): reconfigure() keeps state."""
        return config.gpio == self.config.gpio and config.type == self.config.type

    def reconfigure(self, config: ActuatorConfig, now: float) -> list[ActuatorStatus]:
        """New limits for the same pin and type (docs/protocol.md, "Limit changes").

        State, runtime, activations, cooldown, rate window, timers, link and emergency survive;
        a deadline the new limits put before `now` fires at `now`. A machine held in a safe
        state by the device itself follows a new `safe_state`.
        """
        out = self.tick(now)  # due timers fire under the limits that set them
        self._set_limits(config)
        if self._run_since is not None and 0 < self.max_runtime_s < now - self._run_since:
            self._run_since = now - self.max_runtime_s
        if (
            self._link_down_at is not None
            and 0 < self.failsafe_s < now - self._link_down_at
            and not self._failsafe_done
        ):
            self._link_down_at = now - self.failsafe_s
        device_safe = self.reason in (Reason.BOOT, Reason.CONFIG, Reason.EMERGENCY, Reason.FAILSAFE)
        if device_safe and self.value != self.safe_value:
            self._set(self.safe_value, now)
            out.append(self.status(now))
        out.extend(self.tick(now))
        return out

    # --- state -------------------------------------------------------------------------

    @property
    def state(self) -> bool:
        """Logical on/off."""
        return self.value > 0

    @property
    def linked(self) -> bool:
        """Whether the broker link is up as far as this actuator knows."""
        return self._link_down_at is None

    def runtime_s(self, now: float) -> float:
        """Total on-time since boot up to `now`."""
        return self._runtime + (max(0.0, now - self._on_at) if self.value > 0 else 0.0)

    def status(
        self,
        now: float,
        *,
        refused: Refused | None = None,
        cmd_id: str | None = None,
    ) -> ActuatorStatus:
        """The status message for the current state (ts is left to the caller)."""
        return ActuatorStatus(
            state=self.state,
            value=self.value,
            reason=self.reason.value,
            refused=refused.code.value if refused is not None else None,
            until_s=(
                round(refused.until_s, 3)
                if refused is not None and refused.until_s is not None
                else None
            ),
            cmd_id=cmd_id,
            runtime_s=round(self.runtime_s(now), 3),
            activations=self.activations,
        )

    # --- timers ------------------------------------------------------------------------

    def _deadlines(self) -> list[tuple[float, _Timer]]:
        deadlines: list[tuple[float, _Timer]] = []
        if self._duration_until is not None:
            deadlines.append((self._duration_until, _Timer.DURATION))
        if self._run_since is not None and self.max_runtime_s > 0:
            deadlines.append((self._run_since + self.max_runtime_s, _Timer.MAX_RUNTIME))
        if self._link_down_at is not None and self.failsafe_s > 0 and not self._failsafe_done:
            deadlines.append((self._link_down_at + self.failsafe_s, _Timer.FAILSAFE))
        return deadlines

    def next_deadline(self) -> float | None:
        """When the next timer fires (call `tick` then), or None."""
        deadlines = self._deadlines()
        return min(deadlines)[0] if deadlines else None

    def tick(self, now: float) -> list[ActuatorStatus]:
        """Fire every timer due at or before `now`, each at its own deadline."""
        out: list[ActuatorStatus] = []
        while deadlines := self._deadlines():
            at, timer = min(deadlines)
            if at > now:
                break
            if timer is _Timer.FAILSAFE:
                self._failsafe_done = True
                if self.emergency:
                    continue  # already held in the safe state: the reason stays emergency
                self._set(self.safe_value, at)
                self.reason = Reason.FAILSAFE
            else:
                self._set(0, at)
                self.reason = Reason.DURATION if timer is _Timer.DURATION else Reason.MAX_RUNTIME
            out.append(self.status(at))
        return out

    # --- commands ----------------------------------------------------------------------

    def _level(self, value: int) -> int:
        if value <= 0:
            return 0
        return FULL_ON if self.digital else min(value, FULL_ON)

    def _target(self, command: ActuatorCommand) -> tuple[int, float | None] | None:
        """Value and duration a valid command asks for; None if it is invalid."""
        action = command.action
        duration = command.duration_s
        if action not in _ACTIONS or (duration is not None and not duration > 0):
            return None
        if action == "off":
            return 0, None
        if action == "on":
            return FULL_ON, duration
        if action == "pulse":
            return (FULL_ON, duration) if duration is not None else None
        value = command.value
        if value is None or isinstance(value, bool) or not 0 <= value <= FULL_ON:
            return None
        level = self._level(value)
        return level, duration if level > 0 else None

    def refusal(self, command: ActuatorCommand, now: float) -> Refused | None:
        """Why `command` would be refused at `now`, or None. Changes nothing."""
        deadline = self.next_deadline()
        if deadline is not None and deadline <= now:
            probe = self._copy()
            probe.tick(now)
            return probe.refusal(command, now)
        target = self._target(command)
        if target is None:
            return Refused(Refusal.INVALID)
        value, _ = target
        if value == 0:
            return None  # off is always accepted
        if self.emergency:
            return Refused(Refusal.EMERGENCY)
        if self.value > 0:
            return None  # not a turn-on: no cooldown, no activation
        waits: list[tuple[Refusal, float]] = []
        if self.cooldown_s > 0 and self._last_off is not None:
            left = self._last_off + self.cooldown_s - now
            if left > 0:
                waits.append((Refusal.COOLDOWN, left))
        if self.max_per_hour > 0:
            self._expire(now)
            if len(self._window) >= self.max_per_hour:
                oldest = self._window[len(self._window) - self.max_per_hour]
                waits.append((Refusal.RATE_LIMIT, oldest + RATE_WINDOW_S - now))
        if not waits:
            return None
        return Refused(waits[0][0], max(left for _, left in waits))

    def check(self, command: ActuatorCommand, now: float) -> Refusal | None:
        """The refusal code `command` would get at `now`, or None. Changes nothing."""
        refused = self.refusal(command, now)
        return refused.code if refused is not None else None

    def apply(self, command: ActuatorCommand, now: float) -> list[ActuatorStatus]:
        """Handle a command at `now`: due timers first, then accept or refuse it.

        The last status returned answers the command (with its `cmd_id`, and `refused` and
        `until_s` if refused).
        """
        out = self.tick(now)
        refused = self.refusal(command, now)
        if refused is None:
            target = self._target(command)
            assert target is not None  # refusal() returned INVALID otherwise
            value, duration = target
            if value == 0:
                self._set(0, now, by_command=True)
            else:
                if self.value == 0:
                    self.activations += 1
                    if self.max_per_hour > 0:  # the window holds at most max_per_hour
                        self._expire(now)
                        self._window.append(now)
                self._set(value, now, by_command=True)
                self._duration_until = now + duration if duration is not None else None
            self.reason = Reason.COMMAND
        out.append(self.status(now, refused=refused, cmd_id=command.cmd_id))
        return out

    # --- link and emergency ------------------------------------------------------------

    def link_down(self, now: float) -> list[ActuatorStatus]:
        """The broker link went down at `now` (a repeated down keeps the first)."""
        out = self.tick(now)
        if self._link_down_at is None:
            self._link_down_at = now
            self._failsafe_done = False
        return out

    def link_up(self, now: float) -> list[ActuatorStatus]:
        """The broker link is back at `now`; a fail-safe that fired stays in place."""
        out = self.tick(now)
        self._link_down_at = None
        return out

    def emergency_stop(self, now: float) -> list[ActuatorStatus]:
        """Go to the safe state and refuse every command but off until cleared."""
        out = self.tick(now)
        before = (self.value, self.reason)
        self.emergency = True
        self._set(self.safe_value, now)
        self.reason = Reason.EMERGENCY
        if (self.value, self.reason) != before:
            out.append(self.status(now))
        return out

    def emergency_clear(self, now: float) -> list[ActuatorStatus]:
        """Accept commands again; nothing turns on and the reason stays."""
        out = self.tick(now)
        self.emergency = False
        return out

    # --- internals ---------------------------------------------------------------------

    def _set(self, value: int, at: float, *, by_command: bool = False) -> None:
        """Move to `value` at `at`, dropping the pending duration.

        The max-runtime clock only runs while a command keeps the actuator on: it stops
        when the actuator turns off or the device itself moves it to the safe state.
        """
        if self.value > 0 and value == 0:
            self._runtime += max(0.0, at - self._on_at)
            self._last_off = at
        elif self.value == 0 and value > 0:
            self._on_at = at
        self.value = value
        self._duration_until = None
        if value == 0 or not by_command:
            self._run_since = None
        elif self._run_since is None:
            self._run_since = at

    def _expire(self, now: float) -> None:
        while self._window and self._window[0] + RATE_WINDOW_S <= now:
            self._window.popleft()

    def _copy(self) -> ActuatorSafety:
        clone = ActuatorSafety.__new__(ActuatorSafety)
        clone.__dict__.update(self.__dict__)
        clone._window = deque(self._window)
        return clone
