"""pH-probe ageing from the calibration history: slope in % of Nernst over time.

A glass electrode's slope falls as it ages (new: about 95-102 % of the Nernst slope; a
common replacement point is 85 %). Each stored two-or-more-point calibration gives a slope
(the least-squares line of mV against buffer pH, `processors.calibration.fit_linear`); divided
by the ideal slope through the amplifier at the calibration temperature it is a percentage.
A line through the percentages over time gives the ageing rate and the expected date the
probe falls below the replacement point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from ..processors.adc import DEFAULT_ADC_MODEL, adc_model, count_to_mv
from ..processors.base import Calibration
from ..processors.builtin import NERNST_SLOPE_25C_MV, nernst_slope
from ..processors.builtin.common import REFERENCE_C
from ..processors.calibration import fit_linear
from .base import FloatArray

DAY_S: Final = 86400.0
# The pH processor's default amplified slope (DFRobot-style amplifier: gain 3).
DEFAULT_IDEAL_SLOPE_25C: Final = -177.5
REPLACE_BELOW_PERCENT: Final = 85.0


def slope_percent(
    calibration: Calibration,
    *,
    adc: str = DEFAULT_ADC_MODEL,
    ideal_slope_25c: float = DEFAULT_IDEAL_SLOPE_25C,
) -> float | None:
    """The calibration's slope in % of the ideal (Nernst x amplifier gain) at its temperature;
    None for fewer than two distinct buffers (a one-point calibration has no slope)."""
    points = calibration.points
    if len({p.reference for p in points}) < 2:
        return None
    model = adc_model(adc)
    mv = [count_to_mv(p.raw, model) for p in points]
    slope, _ = fit_linear([p.reference for p in points], mv)
    temp = REFERENCE_C if calibration.temperature_c is None else calibration.temperature_c
    ideal = ideal_slope_25c * nernst_slope(temp) / NERNST_SLOPE_25C_MV
    return 100.0 * slope / ideal


@dataclass(frozen=True, slots=True)
class ProbeAgeing:
    """Slope history and its trend.

    `times` (s) and `percents` of the usable calibrations; `percent_now` the latest one;
    `rate_percent_per_day` the fitted change (negative when ageing; None with one
    calibration); `replace_at` the time (s) the line reaches the replacement point (None when it
    does not fall, or `times[-1]`... when it already is below: then the latest time).
    """

    times: tuple[float, ...]
    percents: tuple[float, ...]
    percent_now: float
    rate_percent_per_day: float | None
    replace_at: float | None

    def days_left(self, now: float) -> float | None:
        """Days from `now` until replacement (0 when due, None when not foreseeable)."""
        if self.replace_at is None:
            return None
        return max(0.0, (self.replace_at - now) / DAY_S)


def probe_ageing(
    history: Sequence[tuple[float, Calibration]],
    *,
    adc: str = DEFAULT_ADC_MODEL,
    ideal_slope_25c: float = DEFAULT_IDEAL_SLOPE_25C,
    replace_below_percent: float = REPLACE_BELOW_PERCENT,
) -> ProbeAgeing | None:
    """Ageing of one probe from `(time s, calibration)` pairs; None without a usable one."""
    pairs = sorted(
        (t, p)
        for t, cal in history
        if (p := slope_percent(cal, adc=adc, ideal_slope_25c=ideal_slope_25c)) is not None
    )
    if not pairs:
        return None
    times = np.array([t for t, _ in pairs], dtype=np.float64)
    pct = np.array([p for _, p in pairs], dtype=np.float64)
    now_pct = float(pct[-1])
    if now_pct < replace_below_percent:
        return ProbeAgeing(tuple(times), tuple(pct), now_pct, _rate(times, pct), float(times[-1]))
    rate = _rate(times, pct)
    replace_at: float | None = None
    if rate is not None and rate < 0:
        # Line through all calibrations, anchored at its value at the latest one.
        level = float(np.polyval(np.polyfit(times, pct, 1), times[-1]))
        replace_at = float(times[-1] + (replace_below_percent - level) / rate * DAY_S)
        replace_at = max(replace_at, float(times[-1]))
    return ProbeAgeing(tuple(times), tuple(pct), now_pct, rate, replace_at)


def _rate(times: FloatArray, pct: FloatArray) -> float | None:
    if times.size < 2 or float(times[-1] - times[0]) <= 0:
        return None
    return float(np.polyfit(times / DAY_S, pct, 1)[0])
