"""SHT3x temperature and humidity (`sht31_temperature`, `sht31_humidity`), raw words."""

from __future__ import annotations

import math
from typing import Any

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
from ..crc import crc8_sensirion, crc8_sensirion_rows
from .common import CachedProcessor, TempInput, correction, result_of


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


class _Sht31Processor(CachedProcessor[Polynomial | None]):
    """SHT3x from its raw words (one output per processor; both read the same reading).

    SHT3x datasheet section 4.13 "Conversion of Signal Output":
    T = -45 + 175 * S_T / 65535 °C, RH = 100 * S_RH / 65535 %. Each word's Sensirion CRC-8
    (section 4.12) is checked: a mismatch of the word this output uses → `bad`.
    Outside the specified range (-40..125 °C) → `suspect`. A number instead of words (the
    device's bus error) → `bad`. Optional calibration: a polynomial correction of the value.
    """

    raw_kind = RawKind.WORDS
    device_type = "sht31"
    quantities = ("temperature", "humidity")
    sample_raw = (0x6666, 0x93, 0x8000, 0xA2)
    _humidity = False

    def _build(
        self, calibration: Calibration | None, params: Params | None
    ) -> tuple[Polynomial | None, bool]:
        return correction(calibration), True

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
        return result_of(value, self.unit, q)

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
    quantity = "temperature"
    display_precision = 2
    name = "SHT31 temperature"
    unit = "°C"
    device_class = "temperature"


class Sht31HumidityProcessor(_Sht31Processor):
    """SHT31 relative humidity (%) of an `sht31` reading."""

    id = "sht31_humidity"
    quantity = "humidity"
    display_precision = 1
    name = "SHT31 humidity"
    unit = "%"
    device_class = "humidity"
    _humidity = True
