"""A kind of bad message writes at most one log line per minute (docs/protocol.md, "Errors and
bad input"): the one limiter the integration and the relay program share (no Home Assistant
imports).

A caller counts every bad message as before and asks `allow(kind)` whether this one may write
its line (else it is dropped, or logged at DEBUG). The first occurrence of a kind always
logs, whatever the clock reads: nothing assumes `time.monotonic()` is large (or small) at
start, so a test's fake clock may start anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
import time

# A kind of bad message is logged at most once per this many seconds (per limiter).
LOG_INTERVAL_S = 60.0
# Kinds remembered at once: callers use a small fixed set of codes. Past this, kinds whose
# interval is over are forgotten first (they would be allowed again anyway); while this many
# kinds have each logged within the interval, a new kind is refused, so that the log stays
# bounded too.
MAX_KINDS = 64


class LogLimiter:
    """Allows one log line per kind per `interval_s` on `clock` (seconds)."""

    __slots__ = ("_last", "clock", "interval_s", "max_kinds")

    def __init__(
        self,
        interval_s: float = LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = MAX_KINDS,
    ) -> None:
        """Nothing logged yet."""
        self.interval_s = interval_s
        self.clock = clock
        self.max_kinds = max_kinds
        self._last: dict[Hashable, float] = {}

    def allow(self, kind: Hashable) -> bool:
        """Whether a line of `kind` may be written now (then it counts as written)."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None:
            if now - last < self.interval_s:
                return False
        elif len(self._last) >= self.max_kinds and not self._forget_expired(now):
            return False
        self._last[kind] = now
        return True

    def _forget_expired(self, now: float) -> bool:
        """Drop the kinds whose interval is over; whether that made room."""
        interval = self.interval_s
        for kind in [k for k, at in self._last.items() if now - at >= interval]:
            del self._last[kind]
        return len(self._last) < self.max_kinds
