"""The built-in processors: scalar `process` in plain Python, vectorised `process_batch` in numpy.

Every processor derives a *model* from its calibration and parameters once (cached per
processor, keyed by the frozen calibration and the parameter items) and applies it per reading.
A calibration that cannot be fitted (too few or duplicate points) is ignored: the reading is
then `uncalibrated` with the best-effort default model, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import itertools
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ..protocol import Quality
from . import adc
from .base import (
    Q_BAD,
    Q_GOOD,
    Q_SUSPECT,
    Q_UNCALIBRATED,
    QUALITY_CODES,
    BaseProcessor,
    Calibration,
    FloatArray,
    Param,
    ParamKind,
    Params,
    QualityArray,
    RawKind,
    RawValue,
    Result,
)
from .calibration import Polynomial, fit_calibration, fit_polynomial
from .crc import crc8_maxim, crc8_maxim_rows, crc8_sensirion, crc8_sensirion_rows

ZERO_C_IN_K: Final = 273.15
REFERENCE_C: Final = 25.0
NERNST_SLOPE_25C_MV: Final = 59.16  # 2.303 R T / F at 298.15 K, mV per pH unit
_MODEL_CACHE_SIZE: Final = 64


def nernst_slope(temperature_c: float) -> float:
    """Ideal glass-electrode slope in mV per pH at `temperature_c`: 59.16 mV * T / 298.15 K."""
    return NERNST_SLOPE_25C_MV * (temperature_c + ZERO_C_IN_K) / (REFERENCE_C + ZERO_C_IN_K)


ADC_PARAM: Final = Param(
    "adc",
    adc.DEFAULT_ADC_MODEL,
    ParamKind.SELECT,
    options=adc.ADC_MODELS,
    description="ADC model: ESP32 attenuation, or an ideal linear 0-3.3 V converter",
)

type TempInput = float | npt.NDArray[np.float64] | None


def _freeze(params: Params | None) -> tuple[tuple[str, Any], ...]:
    return () if not params else tuple(sorted(params.items()))


def _result(value: float, unit: str | None, q: int) -> Result:
    return Result(value if math.isfinite(value) else None, unit, QUALITY_CODES[q])


def _finite_temp(temperature_c: float | None) -> float | None:
    if temperature_c is None or not math.isfinite(temperature_c):
        return None
    return temperature_c


def _temp_array(temperature_c: TempInput, n: int) -> FloatArray | None:
    if temperature_c is None:
        return None
    t = np.asarray(temperature_c, dtype=np.float64)
    return np.broadcast_to(t, (n,)) if t.ndim == 0 else t


class _Cached[M](BaseProcessor):
    """A built-in: caches its model per (calibration, params)."""

    def __init__(self) -> None:
        self._models: dict[tuple[Any, ...], tuple[M, bool]] = {}
        # The live path calls with the same calibration and params objects every time: check
        # identity first and skip building the cache key (sorting the params) per reading.
        self._last: tuple[Calibration | None, Params | None, tuple[M, bool]] | None = None

    def _build(self, calibration: Calibration | None, params: Params | None) -> tuple[M, bool]:
        """(model, calibrated) for these inputs."""
        raise NotImplementedError

    def model(self, calibration: Calibration | None, params: Params | None) -> tuple[M, bool]:
        """The cached model and whether it counts as calibrated."""
        last = self._last
        if last is not None and last[0] is calibration and last[1] is params:
            return last[2]
        key = (calibration, _freeze(params))
        found = self._models.get(key)
        if found is None:
            if len(self._models) >= _MODEL_CACHE_SIZE:
                self._models.clear()
            found = self._models[key] = self._build(calibration, params)
        self._last = (calibration, params, found)
        return found

    def _str(self, params: Params | None, key: str) -> str:
        return str(self.param(params, key))

    def _num(self, params: Params | None, key: str) -> float:
        value = self.param(params, key)
        if isinstance(value, str):
            return float(value)
        return float(value)


def _correction(calibration: Calibration | None) -> Polynomial | None:
    """An optional polynomial correction of the processed value (digital sensors)."""
    if calibration is None or not calibration.points:
        return None
    try:
        return fit_calibration(calibration)
    except ValueError:
        return None


# --- ADC voltage and generic linear ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AnalogModel:
    adc: str
    ratio: float
    poly: Polynomial | None  # counts -> volts when calibrated


class AnalogProcessor(_Cached[_AnalogModel]):
    """ADC count → volts at the pin (times an external divider ratio).

    Without calibration: the ADC model of the `adc` parameter (ESP32 non-linearity corrected).
    With calibration (points: count → true volts): a least-squares polynomial instead.
    Rails (0/4095) are `suspect`, impossible counts `bad`.
    """

    id = "analog"
    display_precision = 3
    name = "Analog voltage"
    unit = "V"
    device_class = "voltage"
    device_type = "analog"
    params = (
        ADC_PARAM,
        Param("divider_ratio", 1.0, unit="x", minimum=0.01, maximum=1000.0,
              description="input voltage / pin voltage of an external divider"),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_AnalogModel, bool]:
        poly = _correction(calibration)
        model = adc.adc_model(self._str(params, "adc"))
        return _AnalogModel(model, self._num(params, "divider_ratio"), poly), True

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → volts."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        volts = m.poly(count) if m.poly else adc.count_to_mv(count, m.adc) / 1000.0 * m.ratio
        return _result(volts, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → volts."""
        m, _ = self.model(calibration, params)
        q = adc.counts_quality(raw)
        if m.poly:
            volts = m.poly.apply(raw.astype(np.float64))
        else:
            volts = adc.counts_to_mv(raw, m.adc) / 1000.0 * m.ratio
        volts[q == Q_BAD] = np.nan
        return volts, q


class LinearProcessor(_Cached[Polynomial]):
    """Generic: `value = raw * scale + offset`, or a least-squares polynomial from calibration.

    Takes any number (ADC count, pulse count, level). The unit comes from the `unit` parameter
    (the Result carries it). Non-finite raw values are `bad`.
    """

    id = "linear"
    name = "Linear (generic)"
    unit = None
    device_class = None
    raw_kind = RawKind.NUMBER
    device_type = "analog"
    params = (
        Param("scale", 1.0, description="value per raw unit"),
        Param("offset", 0.0, description="value at raw 0"),
        Param("unit", "", ParamKind.TEXT, description="unit of the value (free text)"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[Polynomial, bool]:
        poly = _correction(calibration)
        if poly is None:
            poly = Polynomial((self._num(params, "scale"), self._num(params, "offset")))
        return poly, True

    def _unit(self, params: Params | None) -> str | None:
        return self._str(params, "unit") or None

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One raw number → value."""
        poly, _ = self.model(calibration, params)
        unit = self._unit(params)
        if isinstance(raw, tuple) or not math.isfinite(raw):
            return Result(None, unit, Quality.BAD)
        value = poly(float(raw))
        return _result(value, unit, Q_GOOD if math.isfinite(value) else Q_BAD)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Raw numbers → values."""
        poly, _ = self.model(calibration, params)
        values = poly.apply(raw.astype(np.float64))
        q = np.where(np.isfinite(values), Q_GOOD, Q_BAD).astype(np.uint8)
        return values, q


# --- pH -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PhModel:
    """Piecewise-linear electrode response at the calibration temperature.

    Segment k: `E = e7[k] + slope[k] * (pH - 7)` in mV at `cal_k` kelvin; segment k covers
    pH up to `breaks[k]` (the last one to +inf). Temperature compensation scales every slope by
    T / T_cal (Nernst: the slope is proportional to absolute temperature) around the
    isopotential point pH 7.

    The batch table is indexed by the count as uint16 (65536 entries): counts 1-4094 hold
    `(E - e7[k]) / slope[k]` (the pH - 7 at T_cal), the rails and every other index NaN, so a
    batch needs no clipping or range test on the counts.
    """

    adc: str
    cal_k: float
    e7: tuple[float, ...]
    slope: tuple[float, ...]
    breaks: tuple[float, ...]  # inner segment borders in pH, ascending (len = segments - 1)
    offset_table: FloatArray  # 65536 entries, see above


def _ph_segments(
    mv: list[float], ph: list[float], cal_k: float, default_slope_25: float
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    pts = sorted(zip(ph, mv, strict=True))
    if len(pts) == 1:
        p1, e1 = pts[0]
        slope = default_slope_25 * nernst_slope(cal_k - ZERO_C_IN_K) / NERNST_SLOPE_25C_MV
        return (e1 - slope * (p1 - 7.0),), (slope,), ()
    e7s: list[float] = []
    slopes: list[float] = []
    for (pa, ea), (pb, eb) in itertools.pairwise(pts):
        if pb == pa:
            raise ValueError("two calibration points at the same pH")
        s = (eb - ea) / (pb - pa)
        if s == 0:
            raise ValueError("calibration points with the same voltage")
        slopes.append(s)
        e7s.append(ea + s * (7.0 - pa))
    if len({math.copysign(1.0, s) for s in slopes}) > 1:
        raise ValueError("calibration is not monotonic")
    return tuple(e7s), tuple(slopes), tuple(p for p, _ in pts[1:-1])


def _offset(
    mv: FloatArray, e7: tuple[float, ...], slope: tuple[float, ...], breaks: tuple[float, ...]
) -> FloatArray:
    """pH - 7 at the calibration temperature; the segment is chosen by that pH."""
    off: FloatArray = np.asarray((mv - e7[0]) / slope[0], dtype=np.float64)
    for k in range(1, len(slope)):
        cand = (mv - e7[k]) / slope[k]
        off = np.asarray(np.where(off + 7.0 > breaks[k - 1], cand, off), dtype=np.float64)
    return off


_U16: Final = 65536
_CHUNK: Final = 1 << 15


class PhProcessor(_Cached[_PhModel]):
    """pH electrode behind an amplifier on an ADC pin.

    Calibration points: ADC count -> buffer pH, taken at `calibration.temperature_c` (25 °C if
    None). 1 point: offset with the default slope; 2 points: one line; 3 or more: one line per
    pair of neighbouring buffers (piecewise, as bench meters do), each through its points.
    Temperature compensation (Nernst): the slope scales with absolute temperature,
    59.16 mV/pH at 25 °C * T/298.15 K, pivoting at the isopotential point pH 7:
    `pH = 7 + (E - E7) / (slope_cal * T / T_cal)`. Without `temperature_c` (or with a
    non-finite one) no compensation is applied: the reading is taken to be at the calibration
    temperature.

    Quality: no calibration -> `uncalibrated` (best effort from `neutral_mv` and
    `slope_mv_per_ph`, defaults of a DFRobot-style amplifier); a pH outside 0-14 -> `bad` (the
    value is still reported); an ADC at a rail (0/4095: probe disconnected or amplifier
    saturated) or a count outside 0-4095 -> `bad` without a value.
    """

    id = "ph"
    display_precision = 2
    name = "pH"
    unit = "pH"
    device_class = "ph"
    device_type = "ph"
    needs_calibration = True
    uses_temperature = True
    sample_raw = 1861
    params = (
        ADC_PARAM,
        Param("neutral_mv", 1500.0, unit="mV", description="electrode output at pH 7"),
        Param("slope_mv_per_ph", -177.5, unit="mV/pH",
              description="amplified electrode slope at 25 °C (raw glass electrode: -59.16)"),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_PhModel, bool]:
        model = adc.adc_model(self._str(params, "adc"))
        default_slope = self._num(params, "slope_mv_per_ph")
        segments: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] | None = None
        cal_k = ZERO_C_IN_K + REFERENCE_C
        if calibration is not None and calibration.points:
            if calibration.temperature_c is not None:
                cal_k = calibration.temperature_c + ZERO_C_IN_K
            try:
                segments = _ph_segments(
                    [adc.count_to_mv(p.raw, model) for p in calibration.points],
                    [p.reference for p in calibration.points],
                    cal_k,
                    default_slope,
                )
            except ValueError:
                segments, cal_k = None, ZERO_C_IN_K + REFERENCE_C
        calibrated = segments is not None
        if segments is None:
            segments = ((self._num(params, "neutral_mv"),), (default_slope,), ())
        e7, slope, breaks = segments
        off = np.full(_U16, np.nan)
        off[: adc.ADC_COUNTS] = _offset(adc.millivolt_table(model), e7, slope, breaks)
        off[[0, adc.ADC_MAX]] = np.nan  # rails: no usable value
        off.setflags(write=False)
        return _PhModel(model, cal_k, e7, slope, breaks, off), calibrated

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count (+ solution temperature) -> pH."""
        m, calibrated = self.model(calibration, params)
        if isinstance(raw, tuple) or not 0 < raw < adc.ADC_MAX:
            return Result(None, self.unit, Quality.BAD)
        if raw == int(raw):
            off = float(m.offset_table[int(raw)])
        else:
            mv = adc.count_to_mv(float(raw), m.adc)
            off = float(_offset(np.asarray([mv]), m.e7, m.slope, m.breaks)[0])
        temp = _finite_temp(temperature_c)
        if temp is not None:
            off *= m.cal_k / (temp + ZERO_C_IN_K)
        q = Q_GOOD if calibrated else Q_UNCALIBRATED
        if not abs(off) <= 7.0:
            q = Q_BAD
        return _result(off + 7.0, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts (+ temperatures, scalar or per reading) -> pH.

        Fastest with int16/uint16 counts (two table lookups, no clipping); other integer
        types are clipped first, float counts interpolated.
        """
        m, calibrated = self.model(calibration, params)
        n = len(raw)
        idx: npt.NDArray[np.uint16] | None = None
        off: FloatArray
        if raw.dtype in (np.int16, np.uint16):
            idx = raw.view(np.uint16)
            off = np.empty(n)
        elif np.issubdtype(raw.dtype, np.integer):
            idx = np.clip(raw, -1, adc.ADC_COUNTS).astype(np.uint16)
            off = np.empty(n)
        else:
            c = raw.astype(np.float64)
            off = _offset(adc.counts_to_mv(c, m.adc), m.e7, m.slope, m.breaks)
            off[adc.counts_quality(c) != Q_GOOD] = np.nan
        temps = _temp_array(temperature_c, n)
        base = Q_GOOD if calibrated else Q_UNCALIBRATED
        # uint8 arithmetic is modulo 256: good -> (base - 4) + 4 = base, not good -> 0 + 4 = bad
        good_factor = np.uint8((base - Q_BAD) % 256)
        q = np.empty(n, dtype=np.uint8)
        # Cache-sized chunks: every pass below stays in L2 instead of streaming 8 MB arrays.
        size = min(n, _CHUNK)
        factor = np.empty(size)
        good = np.empty(size, dtype=bool)
        tmp = np.empty(size, dtype=bool)
        for start in range(0, n, _CHUNK):
            end = min(start + _CHUNK, n)
            k = end - start
            o = off[start:end]
            if idx is not None:
                np.take(m.offset_table, idx[start:end], out=o, mode="clip")
            if temps is not None:
                f = factor[:k]
                np.add(temps[start:end], ZERO_C_IN_K, out=f)
                np.divide(m.cal_k, f, out=f)
                if not math.isfinite(float(f.sum())):
                    f[~np.isfinite(f)] = 1.0  # no usable temperature: no compensation
                o *= f
            # good: -7 <= pH - 7 <= 7 (NaN, i.e. no value, compares False: bad)
            g, t = good[:k], tmp[:k]
            np.less_equal(o, 7.0, out=g)
            np.greater_equal(o, -7.0, out=t)
            g &= t
            qk = q[start:end]
            np.multiply(g.view(np.uint8), good_factor, out=qk)
            qk += np.uint8(Q_BAD)
            o += 7.0
        return off, q


# --- EC / TDS ---------------------------------------------------------------------------


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


class EcProcessor(_Cached[_EcModel]):
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
        temp = _finite_temp(temperature_c)
        if temp is not None:
            ec = ec / (1.0 + m.alpha * (temp - REFERENCE_C))
        if ec < 0.0:
            ec, q = 0.0, Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return _result(ec * m.factor, self.unit, q)

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
        temps = _temp_array(temperature_c, len(raw))
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


# --- DS18B20 ----------------------------------------------------------------------------

DS18B20_POWER_ON_RAW: Final = 0x0550  # 85.0 °C: the scratchpad before the first conversion


def ds18b20_bytes(raw: RawValue) -> tuple[int, ...] | None:
    """The 9 scratchpad bytes from 5 little-endian words (the protocol form) or 9 bytes."""
    if not isinstance(raw, tuple):
        return None
    if len(raw) == 5 and all(0 <= w <= 0xFFFF for w in raw) and raw[4] <= 0xFF:
        out: list[int] = []
        for w in raw[:4]:
            out += (w & 0xFF, w >> 8)
        return (*out, raw[4])
    if len(raw) == 9 and all(0 <= b <= 0xFF for b in raw):
        return raw
    return None


def _ds18b20_celsius(pad: tuple[int, ...]) -> tuple[float, int]:
    """(°C, quality code) of a scratchpad (CRC already checked)."""
    raw = pad[0] | pad[1] << 8
    # DS18B20 datasheet, "Configuration Register": R1 R0 = bits 6-5 of byte 4 select 9-12 bits;
    # the undefined low bits of the temperature register are masked.
    resolution = (pad[4] >> 5) & 0x3
    raw &= ~((1 << (3 - resolution)) - 1) & 0xFFFF
    signed = raw - 0x10000 if raw & 0x8000 else raw
    celsius = signed / 16.0
    if raw == DS18B20_POWER_ON_RAW:
        return celsius, Q_SUSPECT
    if not -55.0 <= celsius <= 125.0:
        return celsius, Q_BAD
    return celsius, Q_GOOD


class Ds18b20Processor(_Cached[Polynomial | None]):
    """DS18B20 1-Wire thermometer from its raw scratchpad.

    Raw: 5 words, word i = byte[2i] | byte[2i+1] << 8, word 4 = the CRC byte (protocol form),
    or the 9 bytes. Checks the Dallas/Maxim CRC-8 of bytes 0-7 against byte 8 (datasheet "CRC
    Generation"): mismatch → `bad`. An all-zero scratchpad (a shorted bus reads zeros, whose
    CRC is 0) → `bad`. 85.0 °C is the power-on value (no conversion happened) → `suspect`.
    A number instead of words (the device's bus error, or -127 of DallasTemperature's
    DEVICE_DISCONNECTED_C) → `bad`. Outside -55..125 °C → `bad`.
    Optional calibration: polynomial correction of °C (points: measured °C → reference °C).
    """

    id = "ds18b20"
    display_precision = 2
    name = "DS18B20 temperature"
    unit = "°C"
    device_class = "temperature"
    raw_kind = RawKind.WORDS
    device_type = "ds18b20"
    sample_raw = (0x0159, 0x464B, 0xFF7F, 0x100C, 0x81)  # 21.5625 °C

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[Polynomial | None, bool]:
        return _correction(calibration), True

    def calibration_value(self, raw: RawValue) -> float:
        """The uncorrected °C of a scratchpad (NaN when it fails its checks)."""
        res = self.process(raw)
        return math.nan if res.value is None else res.value

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One scratchpad → °C."""
        poly, _ = self.model(calibration, params)
        pad = ds18b20_bytes(raw)
        if pad is None or crc8_maxim(pad[:8]) != pad[8] or not any(pad):
            return Result(None, self.unit, Quality.BAD)
        celsius, q = _ds18b20_celsius(pad)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        if poly is not None:
            celsius = poly(celsius)
        return _result(celsius, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Scratchpads (n, 5) words or (n, 9) bytes → °C."""
        poly, _ = self.model(calibration, params)
        r = np.asarray(raw, dtype=np.int64)
        n = r.shape[0]
        valid = np.ones(n, dtype=bool)
        if r.ndim != 2 or r.shape[1] not in (5, 9):
            return np.full(n, np.nan), np.full(n, Q_BAD, dtype=np.uint8)
        pad = np.empty((n, 9), dtype=np.uint8)
        if r.shape[1] == 5:
            valid &= np.all((r >= 0) & (r <= 0xFFFF), axis=1) & (r[:, 4] <= 0xFF)
            pad[:, 0:8:2] = r[:, :4] & 0xFF
            pad[:, 1:8:2] = (r[:, :4] >> 8) & 0xFF
            pad[:, 8] = r[:, 4] & 0xFF
        else:
            valid &= np.all((r >= 0) & (r <= 0xFF), axis=1)
            pad[:] = r & 0xFF
        valid &= crc8_maxim_rows(pad[:, :8]) == pad[:, 8]
        valid &= np.any(pad != 0, axis=1)
        t_raw = pad[:, 0].astype(np.int32) | (pad[:, 1].astype(np.int32) << 8)
        resolution = (pad[:, 4].astype(np.int32) >> 5) & 0x3
        mask = ~((1 << (3 - resolution)) - 1) & 0xFFFF
        t_raw &= mask
        signed = np.where(t_raw & 0x8000, t_raw - 0x10000, t_raw)
        celsius = signed / 16.0
        q = np.full(n, Q_GOOD, dtype=np.uint8)
        q[t_raw == DS18B20_POWER_ON_RAW] = Q_SUSPECT
        q[(celsius < -55.0) | (celsius > 125.0) | ~valid] = Q_BAD
        if poly is not None:
            celsius = poly.apply(celsius)
        celsius[q == Q_BAD] = np.nan
        return celsius, q


# --- SHT31 -----------------------------------------------------------------------------


def sht31_fields(raw: RawValue) -> tuple[int, int, int, int] | None:
    """(T word, T crc, RH word, RH crc) from the raw words.

    Two layouts are accepted: 4 words in bus order `[T, crc(T), RH, crc(RH)]` (simulator) and
    3 words `[T, RH, crc(T) << 8 | crc(RH)]` (firmware core).
    """
    if not isinstance(raw, tuple) or not all(0 <= w <= 0xFFFF for w in raw):
        return None
    if len(raw) == 4 and raw[1] <= 0xFF and raw[3] <= 0xFF:
        return raw[0], raw[1], raw[2], raw[3]
    if len(raw) == 3:
        return raw[0], raw[2] >> 8, raw[1], raw[2] & 0xFF
    return None


def _word_crc(word: int) -> int:
    return crc8_sensirion((word >> 8, word & 0xFF))


class _Sht31Processor(_Cached[Polynomial | None]):
    """SHT3x from its raw words (one output per processor; both read the same reading).

    SHT3x datasheet section 4.13 "Conversion of Signal Output":
    T = -45 + 175 * S_T / 65535 °C, RH = 100 * S_RH / 65535 %. Each word's Sensirion CRC-8
    (section 4.12) is checked: a mismatch of the word this output uses → `bad`.
    Outside the specified range (-40..125 °C) → `suspect`. A number instead of words (the
    device's bus error) → `bad`. Optional calibration: a polynomial correction of the value.
    """

    raw_kind = RawKind.WORDS
    device_type = "sht31"
    sample_raw = (0x6666, 0x93, 0x8000, 0xA2)
    _humidity = False

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[Polynomial | None, bool]:
        return _correction(calibration), True

    def _convert(self, word: float) -> float:
        if self._humidity:
            return 100.0 * word / 65535.0
        return -45.0 + 175.0 * word / 65535.0

    def calibration_value(self, raw: RawValue) -> float:
        """The uncorrected value (NaN when the words fail their checks)."""
        res = self.process(raw)
        return math.nan if res.value is None else res.value

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One reading's words → °C or %RH."""
        poly, _ = self.model(calibration, params)
        fields = sht31_fields(raw)
        if fields is None:
            return Result(None, self.unit, Quality.BAD)
        word, crc = (fields[2], fields[3]) if self._humidity else (fields[0], fields[1])
        if _word_crc(word) != crc:
            return Result(None, self.unit, Quality.BAD)
        value = self._convert(word)
        q = Q_GOOD
        if not self._humidity and not -40.0 <= value <= 125.0:
            q = Q_SUSPECT
        if poly is not None:
            value = poly(value)
            if self._humidity:
                value = min(max(value, 0.0), 100.0)
        return _result(value, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Words (n, 4) or (n, 3) → °C or %RH."""
        poly, _ = self.model(calibration, params)
        r = np.asarray(raw, dtype=np.int64)
        n = r.shape[0]
        if r.ndim != 2 or r.shape[1] not in (3, 4):
            return np.full(n, np.nan), np.full(n, Q_BAD, dtype=np.uint8)
        valid = np.all((r >= 0) & (r <= 0xFFFF), axis=1)
        if r.shape[1] == 4:
            valid &= (r[:, 1] <= 0xFF) & (r[:, 3] <= 0xFF)
            word, crc = (r[:, 2], r[:, 3]) if self._humidity else (r[:, 0], r[:, 1])
        else:
            word = r[:, 1] if self._humidity else r[:, 0]
            crc = (r[:, 2] & 0xFF) if self._humidity else (r[:, 2] >> 8)
        pair = np.empty((n, 2), dtype=np.uint8)
        pair[:, 0] = (word >> 8) & 0xFF
        pair[:, 1] = word & 0xFF
        valid &= crc8_sensirion_rows(pair) == (crc & 0xFF)
        valid &= crc <= 0xFF
        w = word.astype(np.float64)
        value = np.asarray(
            100.0 * w / 65535.0 if self._humidity else -45.0 + 175.0 * w / 65535.0,
            dtype=np.float64,
        )
        q = np.full(n, Q_GOOD, dtype=np.uint8)
        if not self._humidity:
            q[(value < -40.0) | (value > 125.0)] = Q_SUSPECT
        if poly is not None:
            value = poly.apply(value)
            if self._humidity:
                value = np.clip(value, 0.0, 100.0)
        q[~valid] = Q_BAD
        value[~valid] = np.nan
        return value, q


class Sht31TemperatureProcessor(_Sht31Processor):
    """SHT31 temperature (°C) of an `sht31` reading."""

    id = "sht31_temperature"
    display_precision = 2
    name = "SHT31 temperature"
    unit = "°C"
    device_class = "temperature"


class Sht31HumidityProcessor(_Sht31Processor):
    """SHT31 relative humidity (%) of an `sht31` reading."""

    id = "sht31_humidity"
    display_precision = 1
    name = "SHT31 humidity"
    unit = "%"
    device_class = "humidity"
    _humidity = True


# --- resistive dividers: NTC and LDR ----------------------------------------------------


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


def steinhart_hart_coefficients(
    resistances_ohm: tuple[float, float, float], temperatures_c: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Steinhart-Hart a, b, c through three (R, T) points: 1/T = a + b ln R + c (ln R)^3."""
    ln_r = np.log(np.asarray(resistances_ohm, dtype=np.float64))
    inv_t = 1.0 / (np.asarray(temperatures_c, dtype=np.float64) + ZERO_C_IN_K)
    matrix = np.column_stack([np.ones(3), ln_r, ln_r**3])
    a, b, c = np.linalg.solve(matrix, inv_t)
    return float(a), float(b), float(c)


@dataclass(frozen=True, slots=True)
class _NtcModel:
    adc: str
    supply_mv: float
    series_ohm: float
    low_side: bool
    r0: float
    t0_k: float
    beta: float
    sh: tuple[float, float, float] | None
    poly: Polynomial | None


class NtcProcessor(_Cached[_NtcModel]):
    """NTC thermistor in a voltage divider on an ADC pin.

    Beta model: `1/T = 1/T0 + ln(R/R0)/B`; Steinhart-Hart when `sh_a`, `sh_b`, `sh_c` are all
    non-zero: `1/T = a + b ln R + c (ln R)^3` (T in kelvin; `steinhart_hart_coefficients`
    fits them from three points). Default: 10 kΩ/3950 NTC to GND, 10 kΩ to 3.3 V.
    Quality: rails or a voltage outside the supply (open/short) → `bad`; outside -40..125 °C
    → `suspect`. Optional calibration: polynomial correction of °C.
    """

    id = "ntc"
    display_precision = 1
    name = "NTC thermistor"
    unit = "°C"
    device_class = "temperature"
    device_type = "analog"
    sample_raw = 1700
    params = (
        ADC_PARAM,
        Param("supply_mv", 3300.0, unit="mV"),
        Param("series_ohm", 10000.0, unit="Ω"),
        Param("ntc_position", "low", ParamKind.SELECT, options=("low", "high"),
              description="low: NTC between pin and GND; high: between supply and pin"),
        Param("r0_ohm", 10000.0, unit="Ω", description="NTC resistance at t0"),
        Param("t0_c", 25.0, unit="°C"),
        Param("beta", 3950.0, unit="K"),
        Param("sh_a", 0.0), Param("sh_b", 0.0), Param("sh_c", 0.0),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_NtcModel, bool]:
        sh = (self._num(params, "sh_a"), self._num(params, "sh_b"), self._num(params, "sh_c"))
        return (
            _NtcModel(
                adc=adc.adc_model(self._str(params, "adc")),
                supply_mv=self._num(params, "supply_mv"),
                series_ohm=self._num(params, "series_ohm"),
                low_side=self._str(params, "ntc_position") != "high",
                r0=self._num(params, "r0_ohm"),
                t0_k=self._num(params, "t0_c") + ZERO_C_IN_K,
                beta=self._num(params, "beta"),
                sh=sh if all(sh) else None,
                poly=_correction(calibration),
            ),
            True,
        )

    def _uncorrected(self, m: _NtcModel, count: float) -> float:
        r = divider_resistance(adc.count_to_mv(count, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        if not r > 0.0:
            return math.nan
        ln_r = math.log(r)
        if m.sh is not None:
            inv_t = m.sh[0] + m.sh[1] * ln_r + m.sh[2] * ln_r**3
        else:
            inv_t = 1.0 / m.t0_k + (ln_r - math.log(m.r0)) / m.beta
        return 1.0 / inv_t - ZERO_C_IN_K

    def calibration_value(self, raw: RawValue) -> float:
        """The uncorrected °C of a count."""
        m, _ = self.model(None, None)
        return math.nan if isinstance(raw, tuple) else self._uncorrected(m, float(raw))

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → °C."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        if adc.adc_quality(count) != Q_GOOD:
            return Result(None, self.unit, Quality.BAD)
        celsius = self._uncorrected(m, count)
        if not math.isfinite(celsius):
            return Result(None, self.unit, Quality.BAD)
        if m.poly is not None:
            celsius = m.poly(celsius)
        q = Q_GOOD if -40.0 <= celsius <= 125.0 else Q_SUSPECT
        return _result(celsius, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → °C."""
        m, _ = self.model(calibration, params)
        r = divider_resistances(adc.counts_to_mv(raw, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        with np.errstate(invalid="ignore", divide="ignore"):
            ln_r = np.log(r)
            if m.sh is not None:
                inv_t = m.sh[0] + m.sh[1] * ln_r + m.sh[2] * ln_r**3
            else:
                inv_t = 1.0 / m.t0_k + (ln_r - math.log(m.r0)) / m.beta
            celsius = 1.0 / inv_t - ZERO_C_IN_K
        if m.poly is not None:
            celsius = m.poly.apply(celsius)
        q = np.where((celsius >= -40.0) & (celsius <= 125.0), Q_GOOD, Q_SUSPECT).astype(np.uint8)
        bad = (adc.counts_quality(raw) != Q_GOOD) | ~np.isfinite(celsius)
        q[bad] = Q_BAD
        celsius[bad] = np.nan
        return celsius, q


@dataclass(frozen=True, slots=True)
class _LightModel:
    adc: str
    supply_mv: float
    series_ohm: float
    low_side: bool
    r10: float
    gamma: float
    poly: Polynomial | None


class LightProcessor(_Cached[_LightModel]):
    """Approximate illuminance from an LDR (photoresistor) divider on an ADC pin.

    An LDR follows `R = R10 * (E / 10 lx)^(-gamma)` (GL55xx datasheets give R at 10 lx and the
    slope gamma of log R over log E, ~0.7 for the GL5528), so `E = 10 lx * (R10 / R)^(1/gamma)`.
    Default: GL5528 (R10 = 15 kΩ, gamma = 0.7) between 3.3 V and the pin, 10 kΩ to GND, so more
    light → higher count. This is an approximation (±50 % between parts); a calibration
    (polynomial correction of lux against a lux meter) tightens it. Rails → `suspect`
    (darkness or saturation beyond the divider's range).
    """

    id = "light"
    display_precision = 0
    name = "Light (LDR)"
    unit = "lx"
    device_class = "illuminance"
    device_type = "light"
    sample_raw = 2000
    params = (
        ADC_PARAM,
        Param("supply_mv", 3300.0, unit="mV"),
        Param("series_ohm", 10000.0, unit="Ω"),
        Param("ldr_position", "high", ParamKind.SELECT, options=("high", "low"),
              description="high: LDR between supply and pin; low: between pin and GND"),
        Param("r10_ohm", 15000.0, unit="Ω", description="LDR resistance at 10 lx"),
        Param("gamma", 0.7, minimum=0.3, maximum=1.5),
    )  # fmt: skip

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_LightModel, bool]:
        return (
            _LightModel(
                adc=adc.adc_model(self._str(params, "adc")),
                supply_mv=self._num(params, "supply_mv"),
                series_ohm=self._num(params, "series_ohm"),
                low_side=self._str(params, "ldr_position") == "low",
                r10=self._num(params, "r10_ohm"),
                gamma=self._num(params, "gamma"),
                poly=_correction(calibration),
            ),
            True,
        )

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → lux."""
        m, _ = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        r = divider_resistance(adc.count_to_mv(count, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        if not r > 0.0:
            return Result(None, self.unit, Quality.SUSPECT)
        lux = 10.0 * (m.r10 / r) ** (1.0 / m.gamma)
        if m.poly is not None:
            lux = max(m.poly(lux), 0.0)
        return _result(lux, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → lux."""
        m, _ = self.model(calibration, params)
        q = adc.counts_quality(raw)
        r = divider_resistances(adc.counts_to_mv(raw, m.adc), m.supply_mv, m.series_ohm, m.low_side)
        with np.errstate(invalid="ignore", divide="ignore"):
            lux = 10.0 * (m.r10 / r) ** (1.0 / m.gamma)
        if m.poly is not None:
            lux = np.maximum(m.poly.apply(lux), 0.0)
        q[(q == Q_GOOD) & ~np.isfinite(lux)] = Q_SUSPECT
        lux[(q == Q_BAD) | ~np.isfinite(lux)] = np.nan
        return lux, q


# --- soil moisture and water level ------------------------------------------------------


class SoilMoistureProcessor(_Cached[tuple[Polynomial, float, float]]):
    """Capacitive soil moisture: ADC count between the dry and wet points → % (0-100).

    `% = 100 * (dry - count) / (dry - wet)`, clamped to 0-100; a count outside the span
    (wetter than wet or drier than dry) → `suspect`. The span comes from a calibration (points:
    count → %, e.g. in air = 0 and in water = 100; a least-squares line) or the `dry_count` and
    `wet_count` parameters; with neither the defaults (3000/1300, typical v1.2 probes at 3.3 V)
    give a best-effort `uncalibrated` value.
    """

    id = "soil_moisture"
    display_precision = 1
    name = "Soil moisture (capacitive)"
    unit = "%"
    device_class = "moisture"
    device_type = "soil"
    needs_calibration = True
    sample_raw = 2150
    params = (
        Param("dry_count", 3000.0, minimum=0, maximum=4095, description="count in dry air"),
        Param("wet_count", 1300.0, minimum=0, maximum=4095, description="count in water"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[tuple[Polynomial, float, float], bool]:
        if calibration is not None and len(calibration.points) >= 2:
            try:
                poly = fit_polynomial(
                    [p.raw for p in calibration.points],
                    [p.reference for p in calibration.points],
                    1,
                )
                slope, offset = poly.coefficients
                if slope != 0:
                    dry, wet = -offset / slope, (100.0 - offset) / slope
                    return (poly, min(dry, wet), max(dry, wet)), True
            except ValueError:
                pass
        dry, wet = self._num(params, "dry_count"), self._num(params, "wet_count")
        explicit = params is not None and "dry_count" in params and "wet_count" in params
        if dry == wet:
            dry, wet, explicit = 3000.0, 1300.0, False
        slope = 100.0 / (wet - dry)
        poly = Polynomial((slope, -slope * dry))
        return (poly, min(dry, wet), max(dry, wet)), explicit

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count → %."""
        (poly, lo, hi), calibrated = self.model(calibration, params)
        if isinstance(raw, tuple):
            return Result(None, self.unit, Quality.BAD)
        count = float(raw)
        q = adc.adc_quality(count)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        value = min(max(poly(count), 0.0), 100.0)
        if not lo <= count <= hi:
            q = Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return _result(value, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts → %."""
        (poly, lo, hi), calibrated = self.model(calibration, params)
        c = raw.astype(np.float64)
        q = adc.counts_quality(raw)
        value = np.clip(poly.apply(c), 0.0, 100.0)
        q[(q == Q_GOOD) & ((c < lo) | (c > hi))] = Q_SUSPECT
        if not calibrated:
            q[q == Q_GOOD] = Q_UNCALIBRATED
        value[q == Q_BAD] = np.nan
        return value, q


@dataclass(frozen=True, slots=True)
class _LevelModel:
    distance: bool
    poly: Polynomial  # count -> cm (adc source)
    full_cm: float
    tank_cm: float
    blind_cm: float


class WaterLevelProcessor(_Cached[_LevelModel]):
    """Water level in cm, from an ADC level sensor or an ultrasonic distance.

    `source = adc`: a linear level sensor (pressure or resistive strip): the calibration's
    least-squares line (points: count → cm), else `empty_count` → 0 cm and `full_count` →
    `full_cm` (without calibration and without both counts set: `uncalibrated`). Outside
    0..full_cm → `suspect`.
    `source = distance`: raw is the distance in cm from an ultrasonic sensor above the water
    (device-side measured): `level = tank_height_cm - distance`. A distance inside the blind
    zone (`min_distance_cm`, e.g. 20 cm for a JSN-SR04T) or beyond the tank bottom → `suspect`;
    zero, negative or non-finite → `bad`.
    """

    id = "water_level"
    display_precision = 1
    name = "Water level"
    unit = "cm"
    device_class = "distance"
    raw_kind = RawKind.NUMBER
    device_type = "water_level"
    needs_calibration = True
    sample_raw = 2048
    params = (
        Param("source", "adc", ParamKind.SELECT, options=("adc", "distance")),
        Param("empty_count", 0.0, minimum=0, maximum=4095),
        Param("full_count", 4095.0, minimum=0, maximum=4095),
        Param("full_cm", 100.0, unit="cm", description="level at full_count"),
        Param("tank_height_cm", 100.0, unit="cm", description="sensor to tank bottom"),
        Param("min_distance_cm", 20.0, unit="cm", description="ultrasonic blind zone"),
    )

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[_LevelModel, bool]:
        distance = self._str(params, "source") == "distance"
        full_cm = self._num(params, "full_cm")
        tank = self._num(params, "tank_height_cm")
        blind = self._num(params, "min_distance_cm")
        poly: Polynomial | None = None
        calibrated = distance
        if not distance and calibration is not None and len(calibration.points) >= 2:
            try:
                poly = fit_polynomial(
                    [p.raw for p in calibration.points],
                    [p.reference for p in calibration.points],
                    1,
                )
                calibrated = True
            except ValueError:
                poly = None
        if poly is None:
            empty, full = self._num(params, "empty_count"), self._num(params, "full_count")
            if empty == full:
                empty, full = 0.0, 4095.0
            slope = full_cm / (full - empty)
            poly = Polynomial((slope, -slope * empty))
            if not distance:
                calibrated = (
                    params is not None and "empty_count" in params and "full_count" in params
                )
        return _LevelModel(distance, poly, full_cm, tank, blind), calibrated

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """One count or distance → cm."""
        m, calibrated = self.model(calibration, params)
        if isinstance(raw, tuple) or not math.isfinite(raw):
            return Result(None, self.unit, Quality.BAD)
        x = float(raw)
        if m.distance:
            if x <= 0.0:
                return Result(None, self.unit, Quality.BAD)
            q = Q_SUSPECT if x < m.blind_cm or x > m.tank_cm else Q_GOOD
            return _result(m.tank_cm - x, self.unit, q)
        q = adc.adc_quality(x)
        if q == Q_BAD:
            return Result(None, self.unit, Quality.BAD)
        level = m.poly(x)
        if not 0.0 <= level <= m.full_cm:
            q = Q_SUSPECT
        if q == Q_GOOD and not calibrated:
            q = Q_UNCALIBRATED
        return _result(level, self.unit, q)

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: TempInput = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Counts or distances → cm."""
        m, calibrated = self.model(calibration, params)
        x = raw.astype(np.float64)
        if m.distance:
            level = m.tank_cm - x
            q = np.where((x < m.blind_cm) | (x > m.tank_cm), Q_SUSPECT, Q_GOOD).astype(np.uint8)
            with np.errstate(invalid="ignore"):
                bad = ~(x > 0.0)
        else:
            level = m.poly.apply(x)
            q = adc.counts_quality(x)
            q[(q == Q_GOOD) & ~((level >= 0.0) & (level <= m.full_cm))] = Q_SUSPECT
            if not calibrated:
                q[q == Q_GOOD] = Q_UNCALIBRATED
            bad = q == Q_BAD
        q[bad] = Q_BAD
        level[bad] = np.nan
        return level, q


BUILTIN_FACTORIES: Final[tuple[Callable[[], BaseProcessor], ...]] = (
    AnalogProcessor,
    LinearProcessor,
    PhProcessor,
    EcProcessor,
    TdsProcessor,
    Ds18b20Processor,
    Sht31TemperatureProcessor,
    Sht31HumidityProcessor,
    NtcProcessor,
    SoilMoistureProcessor,
    LightProcessor,
    WaterLevelProcessor,
)

__all__ = [
    "AnalogProcessor",
    "Ds18b20Processor",
    "EcProcessor",
    "LightProcessor",
    "LinearProcessor",
    "NtcProcessor",
    "PhProcessor",
    "Sht31HumidityProcessor",
    "Sht31TemperatureProcessor",
    "SoilMoistureProcessor",
    "TdsProcessor",
    "WaterLevelProcessor",
    "divider_resistance",
    "steinhart_hart_coefficients",
]
