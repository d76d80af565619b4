"""CRC-8 checks of digital sensors: Dallas/Maxim 1-Wire and Sensirion, scalar and vectorised."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt


def _table(poly: int, reflected: bool) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            if reflected:
                crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
            else:
                crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


# Dallas/Maxim: x^8 + x^5 + x^4 + 1 (0x31), reflected (0x8C), init 0 (DS18B20 datasheet,
# "CRC Generation"). Sensirion: same polynomial 0x31, not reflected, init 0xFF (SHT3x datasheet
# section 4.12 "Checksum Calculation").
MAXIM_TABLE: Final = _table(0x8C, reflected=True)
SENSIRION_TABLE: Final = _table(0x31, reflected=False)
_MAXIM_NP: Final = np.asarray(MAXIM_TABLE, dtype=np.uint8)
_SENSIRION_NP: Final = np.asarray(SENSIRION_TABLE, dtype=np.uint8)


def crc8_maxim(data: Iterable[int]) -> int:
    """Dallas/Maxim CRC-8 of `data` (init 0). Over 8 scratchpad bytes + CRC it is 0."""
    crc = 0
    for byte in data:
        crc = MAXIM_TABLE[crc ^ byte]
    return crc


def crc8_sensirion(data: Iterable[int]) -> int:
    """Sensirion CRC-8 of `data` (poly 0x31, init 0xFF); crc8_sensirion(b'\\xbe\\xef') == 0x92."""
    crc = 0xFF
    for byte in data:
        crc = SENSIRION_TABLE[crc ^ byte]
    return crc


def crc8_maxim_rows(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Dallas/Maxim CRC-8 of every row of an (n, k) uint8 array."""
    crc = np.zeros(data.shape[0], dtype=np.uint8)
    for j in range(data.shape[1]):
        crc = _MAXIM_NP[crc ^ data[:, j]]
    return crc


def crc8_sensirion_rows(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Sensirion CRC-8 of every row of an (n, k) uint8 array."""
    crc = np.full(data.shape[0], 0xFF, dtype=np.uint8)
    for j in range(data.shape[1]):
        crc = _SENSIRION_NP[crc ^ data[:, j]]
    return crc
