"""Board profiles, loaded from `boards.json` (the one machine-readable pin table).

The firmware's C++ tables are generated from the same file (`firmware/tools/gen_tables.py`).
Each pin entry cites what it comes from in the board's `source` (Espressif datasheet sections,
module datasheet, Seeed pin map). A GPIO absent from a board's table does not exist there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

BOARDS_JSON: Final = Path(__file__).with_name("boards.json")


@dataclass(frozen=True, slots=True)
class Pin:
    """What one GPIO of a board can do."""

    gpio: int
    input: bool
    output: bool
    input_only: bool
    adc1: int | None  # ADC1 channel
    adc2: int | None  # ADC2 channel (unusable while WiFi is on unless the board says otherwise)
    touch: int | None
    strapping: bool
    reserved: str | None  # "flash", "psram", "usb", "uart0": never offered
    pwm: bool
    onewire: bool
    i2c: bool
    label: str | None = None  # silkscreen label (XIAO: D0...)
    note: str | None = None
    boot_fail_level: int | None = None  # level at reset that stops the board from booting

    @property
    def has_adc(self) -> bool:
        """Whether the pin has an ADC channel (ADC1 or ADC2)."""
        return self.adc1 is not None or self.adc2 is not None

    @property
    def display_name(self) -> str:
        """`GPIO4`, or `D2 (GPIO4)` where the board labels its pins."""
        return f"{self.label} (GPIO{self.gpio})" if self.label else f"GPIO{self.gpio}"


@dataclass(frozen=True, slots=True)
class Board:
    """A board profile: its pins and chip-wide facts."""

    id: str
    name: str
    chip: str
    adc_bits: int
    pwm_channels: int
    adc2_with_wifi: bool
    source: str
    pins: Mapping[int, Pin]

    def pin(self, gpio: int) -> Pin | None:
        """The pin, or None when the board has no such GPIO."""
        return self.pins.get(gpio)


def _pin(gpio: str, raw: Mapping[str, Any]) -> Pin:
    return Pin(
        gpio=int(gpio),
        input=bool(raw["input"]),
        output=bool(raw["output"]),
        input_only=bool(raw["input_only"]),
        adc1=raw["adc1"],
        adc2=raw["adc2"],
        touch=raw["touch"],
        strapping=bool(raw["strapping"]),
        reserved=raw["reserved"],
        pwm=bool(raw["pwm"]),
        onewire=bool(raw["onewire"]),
        i2c=bool(raw["i2c"]),
        label=raw.get("label"),
        note=raw.get("note"),
        boot_fail_level=raw.get("boot_fail_level"),
    )


def parse_boards(data: Mapping[str, Any]) -> dict[str, Board]:
    """Board profiles from the parsed JSON document."""
    boards: dict[str, Board] = {}
    for board_id, raw in data["boards"].items():
        pins = {int(g): _pin(g, p) for g, p in raw["pins"].items()}
        boards[board_id] = Board(
            id=board_id,
            name=raw["name"],
            chip=raw["chip"],
            adc_bits=int(raw["adc_bits"]),
            pwm_channels=int(raw["pwm_channels"]),
            adc2_with_wifi=bool(raw["adc2_with_wifi"]),
            source=raw.get("source", ""),
            pins=MappingProxyType(dict(sorted(pins.items()))),
        )
    return boards


def load_boards(path: Path = BOARDS_JSON) -> dict[str, Board]:
    """Read and parse a boards file."""
    return parse_boards(json.loads(path.read_text(encoding="utf-8")))


@cache
def boards() -> Mapping[str, Board]:
    """The shipped board profiles by id (read once; file I/O on the first call)."""
    return MappingProxyType(load_boards())


def get_board(board_id: str) -> Board:
    """A shipped board profile; KeyError when the board is unknown."""
    return boards()[board_id]
