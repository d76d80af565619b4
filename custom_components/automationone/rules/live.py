"""Live evaluation of sensor triggers, sample by sample (the device trigger runs this).

Same rule as the backtest's vectorised `threshold_events`: a latch set when the value passes
the threshold and reset once it is back beyond the hysteresis band; the trigger fires when the
latch goes from reset to set. The first value only sets the latch; a missing value is a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Direction


@dataclass(slots=True)
class _Latch:
    state: bool | None = None

    def update(self, fire: bool, rearm: bool) -> bool:
        if self.state is None:
            self.state = fire
            return False
        new = True if fire else False if rearm else self.state
        fired = new and not self.state
        self.state = new
        return fired


@dataclass(slots=True)
class ThresholdWatch:
    """Fires on the samples where `threshold_events` would fire."""

    direction: Direction
    threshold: float
    hysteresis: float = 0.0
    _above: _Latch = field(default_factory=_Latch)
    _below: _Latch = field(default_factory=_Latch)

    def reset(self) -> None:
        """Forget the latches: the next sample primes them (fires nothing)."""
        self._above.state = None
        self._below.state = None

    def update(self, value: float | None) -> bool:
        """Feed one sample; True when the trigger fires on it."""
        if value is None:
            return False
        fired = False
        if self.direction in (Direction.ABOVE, Direction.CROSSED):
            fired |= self._above.update(
                value > self.threshold, value <= self.threshold - self.hysteresis
            )
        if self.direction in (Direction.BELOW, Direction.CROSSED):
            fired |= self._below.update(
                value < self.threshold, value >= self.threshold + self.hysteresis
            )
        return fired
