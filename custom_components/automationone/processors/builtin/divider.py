"""Resistive dividers (NTC thermistors, LDRs): sensor resistance from the pin voltage."""

from __future__ import annotations

import math

import numpy as np

from ..base import FloatArray


def divider_resistance(mv: float, supply_mv: float, series_ohm: float, low_side: bool) -> float:
    """Resistance of the sensor in a divider with `series_ohm`, from the pin voltage.

    low_side: sensor between pin and GND (series resistor to the supply):
    `R = Rs * V / (Vs - V)`; otherwise sensor between supply and pin: `R = Rs * (Vs - V) / V`.
    NaN when V is at or beyond 0 or the supply.
    """
    if not 0.0 < mv < supply_mv:
        return math.nan
    if low_side:
        return series_ohm * mv / (supply_mv - mv)
    return series_ohm * (supply_mv - mv) / mv


def divider_resistances(
    mv: FloatArray, supply_mv: float, series_ohm: float, low_side: bool
) -> FloatArray:
    """`divider_resistance` of an array."""
    ok = (mv > 0.0) & (mv < supply_mv)
    safe = np.where(ok, mv, supply_mv / 2.0)
    r = (
        series_ohm * safe / (supply_mv - safe)
        if low_side
        else series_ohm * (supply_mv - safe) / safe
    )
    return np.where(ok, r, np.nan)
