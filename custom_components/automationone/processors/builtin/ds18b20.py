"""DS18B20 1-Wire thermometer (`ds18b20`) from its raw scratchpad."""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ...protocol import Quality
from ..base import (
    Q_BAD,
    Q_GOOD,
    Q_SUSPECT,
    Calibration,
    FloatArray,
    Params,
    QualityArray,
    RawKind,
    RawValue,
    Result,
)
from ..calibration import Polynomial
from ..crc import crc8_maxim, crc8_maxim_rows
from .common import CachedProcessor, TempInput, correction, result_of

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


class Ds18b20Processor(CachedProcessor[Polynomial | None]):
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
        return correction(calibration), True

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
        return result_of(celsius, self.unit, q)

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
