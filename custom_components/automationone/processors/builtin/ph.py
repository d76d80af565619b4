"""pH electrode behind an amplifier on an ADC pin (`ph`), Nernst-compensated."""

from __future__ import annotations

from dataclasses import dataclass
import itertools
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ...protocol import Quality
from .. import adc
from ..base import (
    Q_BAD,
    Q_GOOD,
    Q_UNCALIBRATED,
    Calibration,
    FloatArray,
    Param,
    Params,
    QualityArray,
    RawValue,
    Result,
)
from .common import (
    ADC_PARAM,
    NERNST_SLOPE_25C_MV,
    REFERENCE_C,
    ZERO_C_IN_K,
    CachedProcessor,
    TempInput,
    finite_temp,
    nernst_slope,
    result_of,
    temp_array,
)


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


class PhProcessor(CachedProcessor[_PhModel]):
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
        temp = finite_temp(temperature_c)
        if temp is not None:
            off *= m.cal_k / (temp + ZERO_C_IN_K)
        q = Q_GOOD if calibrated else Q_UNCALIBRATED
        if not abs(off) <= 7.0:
            q = Q_BAD
        return result_of(off + 7.0, self.unit, q)

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
        temps = temp_array(temperature_c, n)
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
