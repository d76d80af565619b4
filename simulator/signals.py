"""Plausible raw signals of the sensors a simulated device reads.

Raw formats (what the integration's processors decode):
- ADC sensors (`ph`, `ec`, `soil`, `analog` and any other type): a 12-bit count 0-4095, made
  from the pin voltage by the board's real ADC (`processors.adc`, the model the processors
  invert: an ESP32 at 11 dB, an ESP32-C3 at 11 dB), so the processors' defaults read the
  simulated value back.
  - `ph`: a DFRobot-style probe amplifier, 1500 mV at pH 7 and -177.5 mV per pH unit
    (about 2033 mV at pH 4); the simulated pH drifts slowly around 7 with noise.
  - `soil`: capacitive probe, ~3000 counts dry and ~1300 wet; slowly drying with watering steps.
- `ds18b20`: the 9-byte scratchpad as 5 little-endian 16-bit words, word i = byte[2i] |
  byte[2i+1] << 8 (the last word holds the CRC byte alone). Word 0 is the temperature register
  (signed, 1/16 degC). Byte 8 is the Dallas/Maxim CRC-8 (poly 0x31 reflected, init 0) of
  bytes 0-7.
- `sht31`: the 6 bytes of a measurement as 4 words in bus order: [T, crc(T), RH, crc(RH)];
  T = -45 + 175 * word / 65535 degC, RH = 100 * word / 65535 %; CRC-8 poly 0x31, init 0xFF,
  over the word's two bytes MSB first (Sensirion).

With `mode: processed` the device sends a value and unit instead; an sht31 sends two readings,
degC (no `quantity`: the type's first) and % with `quantity: humidity`.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import random
from typing import Final

from custom_components.automationone.processors.adc import (
    ADC_MAX,
    DEFAULT_ADC_MODEL,
    count_to_mv,
    mv_to_count,
)

PH_NEUTRAL_MV: Final = 1500.0
PH_SLOPE_MV: Final = -177.5


def crc8_sensirion(data: bytes) -> int:
    """CRC-8 of Sensirion sensors: poly 0x31, init 0xFF, no reflection, no final xor."""
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc8_maxim(data: bytes) -> int:
    """Dallas/Maxim 1-Wire CRC-8: poly 0x31 reflected (0x8C), init 0."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def ds18b20_words(celsius: float) -> tuple[int, ...]:
    """Scratchpad of a DS18B20 at `celsius` (12-bit resolution) as 5 words."""
    raw = round(max(-55.0, min(125.0, celsius)) * 16) & 0xFFFF
    pad = bytes([raw & 0xFF, raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10])
    pad += bytes([crc8_maxim(pad)])
    return tuple(pad[i] | (pad[i + 1] << 8 if i + 1 < len(pad) else 0) for i in range(0, 9, 2))


def ds18b20_celsius(words: tuple[int, ...]) -> float:
    """Temperature from scratchpad words (the inverse of ds18b20_words)."""
    raw = words[0]
    return (raw - 0x10000 if raw & 0x8000 else raw) / 16


def sht31_words(celsius: float, humidity: float) -> tuple[int, ...]:
    """A measurement of an SHT31 as [T, crc, RH, crc]."""
    t_word = round((max(-45.0, min(130.0, celsius)) + 45) * 65535 / 175)
    rh_word = round(max(0.0, min(100.0, humidity)) * 65535 / 100)
    return (
        t_word,
        crc8_sensirion(t_word.to_bytes(2, "big")),
        rh_word,
        crc8_sensirion(rh_word.to_bytes(2, "big")),
    )


def mv_to_adc(millivolts: float, adc: str = DEFAULT_ADC_MODEL) -> int:
    """The count the ADC model `adc` reads for a pin voltage (clamped to 0-4095)."""
    return max(0, min(ADC_MAX, round(mv_to_count(millivolts, adc))))


def ph_to_adc(ph: float, adc: str = DEFAULT_ADC_MODEL) -> int:
    """ADC count of the pH amplifier's output at `ph`."""
    return mv_to_adc(PH_NEUTRAL_MV + (ph - 7.0) * PH_SLOPE_MV, adc)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: raw (number or words) or value with unit."""

    raw: float | tuple[int, ...] | None = None
    value: float | None = None
    unit: str | None = None
    quantity: str | None = None
    # Processed on the device, a multi-value sensor's further quantities (SHT31 humidity).
    also: tuple[Sample, ...] = ()


class Signal:
    """A slowly drifting, noisy physical quantity behind one sensor, seeded and repeatable."""

    def __init__(self, sensor_type: str, seed: int, adc: str = DEFAULT_ADC_MODEL) -> None:
        """Signal of `sensor_type`; `seed` makes it repeatable per device and pin; `adc` is
        the board's ADC model."""
        self.type = sensor_type
        self.adc = adc
        self._rng = random.Random(seed)
        self._phase = self._rng.uniform(0, 2 * math.pi)
        self._walk = 0.0

    def _drift(self, t: float, period_s: float, amplitude: float, step: float) -> float:
        """Slow sine plus a bounded random walk."""
        self._walk = max(-amplitude, min(amplitude, self._walk + self._rng.gauss(0, step)))
        return amplitude * math.sin(2 * math.pi * t / period_s + self._phase) + self._walk

    def sample(self, t: float, processed: bool = False) -> Sample:
        """The reading at `t` seconds since boot."""
        rng = self._rng
        if self.type == "ph":
            ph = 7.0 + self._drift(t, 1800, 0.3, 0.01) + rng.gauss(0, 0.02)
            if processed:
                return Sample(value=round(ph, 2), unit="pH")
            return Sample(raw=ph_to_adc(ph, self.adc))
        if self.type == "ds18b20":
            celsius = 21.5 + self._drift(t, 3600, 2.0, 0.02) + rng.gauss(0, 0.05)
            if processed:
                return Sample(value=round(celsius, 2), unit="°C")
            return Sample(raw=ds18b20_words(celsius))
        if self.type == "sht31":
            celsius = 23.0 + self._drift(t, 3600, 3.0, 0.02) + rng.gauss(0, 0.05)
            humidity = 55.0 - 2.0 * (celsius - 23.0) + rng.gauss(0, 0.3)
            if processed:  # one value per quantity; the first (temperature) needs no name
                rh = Sample(value=round(humidity, 1), unit="%", quantity="humidity")
                return Sample(value=round(celsius, 2), unit="°C", also=(rh,))
            return Sample(raw=sht31_words(celsius, humidity))
        if self.type == "soil":
            # Dries out over an hour, then is watered again.
            wet = 1.0 - (t % 3600) / 3600
            counts = 3000 - 1700 * wet + rng.gauss(0, 15)
            if processed:
                return Sample(value=round(100 * (3000 - counts) / 1700, 1), unit="%")
            return Sample(raw=max(0, min(ADC_MAX, round(counts))))
        millivolts = 1300 + 500 * self._drift(t, 600, 1.0, 0.02) + rng.gauss(0, 5)
        counts = mv_to_adc(millivolts, self.adc)
        if processed:
            return Sample(value=round(count_to_mv(counts, self.adc) / 1000, 3), unit="V")
        return Sample(raw=counts)
