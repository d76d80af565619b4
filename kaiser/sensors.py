"""Readings → the values edge rules compare, computed the way Home Assistant computes them.

HA hands the relay, with its rules, how each sensor they read is processed (`EdgeSensor`:
the built-in processor, its parameters with the ADC model, the calibration); a sensor
processed on the device sends its value. HA only hands over sensors the relay can compute
exactly (no plug-in processor, no compensation from an HA entity, no smoothing filter).
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.automationone.processors import Calibration, Processor, get_processor
from custom_components.automationone.protocol import Reading
from custom_components.automationone.protocol.relay import EdgeSensor
from custom_components.automationone.rules import PinRef


@dataclass(slots=True)
class SensorDecoder:
    """One sensor of an edge rule: which readings are its, and their value."""

    ref: PinRef
    spec: EdgeSensor
    processor: Processor
    calibration: Calibration | None

    @classmethod
    def build(cls, spec: EdgeSensor) -> SensorDecoder:
        """Raises KeyError for an unknown processor, ValueError for a bad calibration."""
        calibration = (
            Calibration.from_dict(spec.calibration) if spec.calibration is not None else None
        )
        return cls(
            PinRef(spec.esp_id, spec.gpio, spec.addr),
            spec,
            get_processor(spec.processor),
            calibration,
        )

    def value(self, reading: Reading) -> tuple[bool, float | None]:
        """(whether the reading is this sensor's, its value or None for a gap)."""
        if reading.gpio != self.spec.gpio or reading.addr != self.spec.addr:
            return False, None
        processed = self.spec.mode == "processed"
        if (reading.value is not None) != processed:
            return False, None  # mode mismatch: HA rejects it too
        if processed:
            mine = self.processor.quantity
            if mine is not None and (reading.quantity or self.processor.quantities[0]) != mine:
                return False, None
            return True, reading.value
        assert reading.raw is not None
        result = self.processor.process(
            reading.raw, calibration=self.calibration, params=dict(self.spec.params or {})
        )
        return True, result.value
