"""Conductivity (`ec`) and total dissolved solids (`tds`) from an EC probe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ...protocol import Quality
from .. import adc
from ..base import (
    Q_BAD,
    Q_GOOD,
    Q_SUSPECT,
    Q_UNCALIBRATED,
    Calibration,
    FloatArray,
    Param,
    Params,
    QualityArray,
    RawValue,
    Result,
)
from ..calibration import fit_polynomial
from .common import (
    ADC_PARAM,
    REFERENCE_C,
    CachedProcessor,
    TempInput,
    finite_temp,
    result_of,
    temp_array,
)


@dataclass(frozen=True, slots=True)
class _EcModel:
    adc: str
    gain: float  # µS/cm at the measurement temperature per mV (includes the cell constant)
    offset: float  # µS/cm at 0 mV
    alpha: float  # temperature coefficient per °C
    factor: float  # output factor (1 for EC, the TDS factor for TDS)


def _ec_line(mv: list[float], ref: list[float]) -> tuple[float, float]:
    """(gain, offset): through the origin for one point, least squares for more."""
    if len(mv) == 1:
        if mv[0] <= 0:
            raise ValueError("zero voltage")
        return ref[0] / mv[0], 0.0
    poly = fit_polynomial(mv, ref, 1)
    return poly.coefficients[0], poly.coefficients[1]


class EcProcessor(CachedProcessor[_EcModel]):
    """Electrical conductivity from an EC probe amplifier on an ADC pin, in µS/cm at 25 °C.

    Uncalibrated model: `EC_T = K * gain * mV` (cell constant K, amplifier gain µS/cm per mV
    for K = 1). Calibration points: ADC count → reference solution µS/cm *at 25 °C* (e.g. 1413),
    taken at `calibration.temperature_c`: the references are converted to the capture
    temperature first (`ref * (1 + alpha (T_cal - 25))`); 1 point fits a line through the origin,
    2+ points a least-squares line.
    Compensation to 25 °C (linear, alpha = 2 %/°C default): `EC25 = EC_T / (1 + alpha (T - 25))`;
    without `temperature_c` the reading is taken to be at 25 °C.
    Quality: `uncalibrated` without calibration; rails `suspect`; a negative result is clamped
    to 0 and `suspect`.
    """

    id = "ec"
    display_precision = 0
    name = "Electrical conductivity"
    unit = "µS/cm"
    device_class: str | None = "conductivity"
    device_type = "ec"
    needs_calibration = True
    uses_temperature = True
    sample_raw = 1200
    params: tuple[Param, ...] = (
        ADC_PARAM,
        Param("cell_constant", 1.0, unit="1/cm", minimum=0.01, maximum=100.0),
        Param("gain_us_per_mv", 1.0, unit="µS/cm/mV", description="amplifier gain at K = 1"),
        Param("alpha", 0.02, unit="1/°C", minimum=0.0, maximum=0.1,
              description="temperature coefficient (2 %/°C)"),
    )  # fmt: skip
    _factor_param: str | None = None

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_EcModel, bool]:
        model = adc.adc_model(self._str(params, "adc"))
        alpha = self._num(params, "alpha")
        factor = 1.0 if self._factor_param is None else self._num(params, self._factor_param)
        if calibration is not None and calibration.points:
            cal_c = REFERENCE_C if calibration.temperature_c is None else calibration.temperature_c
            mv = [adc.count_to_mv(p.raw, model) for p in calibration.points]
            ref = [p.reference * (1.0 + alpha * (cal_c - REFERENCE_C)) for p in calibration.points]
            try:
                gain, offset = _ec_line(mv, ref)
                return _EcModel(model, gain, offset, alpha, factor), True
            except ValueError:
                pass
        gain = self._num(params, "cell_constant") * self._num(params, "gain_us_per_mv")
        return _EcModel(model, gain, 0.0, alpha, factor), False

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count (+ solution temperature) → µS/cm at 25 °C."""
        m, calibrated = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        ec = m.gain * adc.count_to_mv(count, m.adc) + m.offset
        temp = finite_temp(temperature_c)
        if temp is not None:
            ec = ec / (1.0 + m.alpha * (temp - REFERENCE_C))
        if ec < 0.0:
            ec, q = 0.0, Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return result_of(ec * m.factor, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts (+ temperatures) → µS/cm at 25 °C."""
        m, calibrated = self.model(calibration, params)
        q = adc.counts_quality(raw)
        ec = m.gain * adc.counts_to_mv(raw, m.adc) + m.offset
        temps = temp_array(temperature_c, len(raw))
        if temps is not None:
            comp = 1.0 + m.alpha * (temps - REFERENCE_C)
            ec = np.where(np.isfinite(comp), ec / comp, ec)
        neg = ec < 0.0
        ec[neg] = 0.0
        q = np.where(neg & (q == Q_GOOD), np.uint8(Q_SUSPECT), q).astype(np.uint8)
        if not calibrated:
            q[q == Q_GOOD] = Q_UNCALIBRATED
        ec = ec * m.factor
        ec[q == Q_BAD] = np.nan
        return ec, q


class TdsProcessor(EcProcessor):
    """Total dissolved solids: compensated EC (µS/cm at 25 °C) * TDS factor (0.5) in ppm."""

    id = "tds"
    display_precision = 0
    name = "Total dissolved solids"
    unit = "ppm"
    device_class = None
    device_type = "tds"
    params = (
        *EcProcessor.params,
        Param("tds_factor", 0.5, minimum=0.3, maximum=1.0, description="ppm per µS/cm"),
    )
    _factor_param: str | None = "tds_factor"
