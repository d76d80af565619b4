"""On-device processing: the numbers a device needs to compute what a built-in processor does.

HA derives the processor's model (fit calibration, parameters) once and pushes only the result
in the sensor's `proc` object of the config (docs/protocol.md, "On-device processing"); the
firmware core evaluates it per reading (firmware/lib/automationone_core/src/a1/processing.cpp).
tests/vectors/processors/on_device.json pins both to the same values and quality flags.
"""

from __future__ import annotations

from typing import Any

from ..protocol import SensorProcessing
from .base import Calibration, Params
from .builtin import (
    AnalogProcessor,
    EcProcessor,
    LightProcessor,
    LinearProcessor,
    NtcProcessor,
    PhProcessor,
    SoilMoistureProcessor,
    WaterLevelProcessor,
)


def _poly(poly: Any) -> tuple[float, ...] | None:
    return None if poly is None else tuple(float(c) for c in poly.coefficients)


def device_program(
    processor: object,
    calibration: Calibration | None,
    params: Params | None,
    temperature_gpio: int | None = None,
) -> SensorProcessing | None:
    """The `proc` object for `processor` (a built-in), or None when it cannot run on a device."""
    if isinstance(processor, AnalogProcessor):
        am, _ = processor.model(calibration, params)
        return SensorProcessing("analog", am.adc, (am.ratio,), _poly(am.poly), True, None, "V")
    if isinstance(processor, LinearProcessor):
        (poly, _), _ = processor.model(calibration, params)
        unit = str(processor.param(params, "unit")) or None
        return SensorProcessing("linear", None, (), _poly(poly), True, None, unit)
    if isinstance(processor, PhProcessor):
        pm, calibrated = processor.model(calibration, params)
        segments = [pm.cal_k, pm.e7[0], pm.slope[0]]
        for brk, e7, slope in zip(pm.breaks, pm.e7[1:], pm.slope[1:], strict=True):
            segments += [brk, e7, slope]
        return SensorProcessing(
            "ph", pm.adc, tuple(segments), None, calibrated, temperature_gpio, "pH"
        )
    if isinstance(processor, EcProcessor):  # TdsProcessor too: its factor is in the model
        em, calibrated = processor.model(calibration, params)
        ec = (em.gain, em.offset, em.alpha, em.factor)
        return SensorProcessing(
            "ec", em.adc, ec, None, calibrated, temperature_gpio, processor.unit
        )
    if isinstance(processor, NtcProcessor):
        nm, _ = processor.model(calibration, params)
        sh = nm.sh or (0.0, 0.0, 0.0)
        ntc = (nm.supply_mv, nm.series_ohm, float(nm.low_side), nm.r0, nm.t0_k, nm.beta, *sh)
        return SensorProcessing("ntc", nm.adc, ntc, _poly(nm.poly), True, None, "°C")
    if isinstance(processor, LightProcessor):
        lm, _ = processor.model(calibration, params)
        ldr = (lm.supply_mv, lm.series_ohm, float(lm.low_side), lm.r10, lm.gamma)
        return SensorProcessing("light", lm.adc, ldr, _poly(lm.poly), True, None, "lx")
    if isinstance(processor, SoilMoistureProcessor):
        (line, lo, hi), calibrated = processor.model(calibration, params)
        return SensorProcessing("soil", None, (lo, hi), _poly(line), calibrated, None, "%")
    if isinstance(processor, WaterLevelProcessor):
        wm, calibrated = processor.model(calibration, params)
        level = (float(wm.distance), wm.full_cm, wm.tank_cm, wm.blind_cm)
        return SensorProcessing("level", None, level, _poly(wm.poly), calibrated, None, "cm")
    return None
