"""A drawing of a board (SVG) with each pin's role: used by which sensor or actuator, free,
limited and why (input only, ADC2 with WiFi, strapping: an external pull or load can stop the
board from booting), or unusable and why (flash, USB, the serial console). Pure: the board
profile and the pins in use come in, text goes out.

The drawing is a schematic, not the board's silkscreen: `boards.json` has no header positions,
so the pins are listed by GPIO number, half on each side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Final

from .boards import Board, Pin


class PinState(StrEnum):
    """What a pin is to the user, by colour in the drawing."""

    USED = "used"
    FREE = "free"
    LIMITED = "limited"  # usable for some things only
    UNUSABLE = "unusable"


RESERVED_TEXT: Final = {
    "flash": "unusable: SPI flash",
    "psram": "unusable: PSRAM",
    "usb": "unusable: USB",
    "uart0": "unusable: serial console (UART0)",
}
COLOURS: Final = {
    PinState.USED: "#1e88e5",
    PinState.FREE: "#43a047",
    PinState.LIMITED: "#fb8c00",
    PinState.UNUSABLE: "#9e9e9e",
}
LEGEND: Final = {
    PinState.USED: "used",
    PinState.FREE: "free",
    PinState.LIMITED: "limited",
    PinState.UNUSABLE: "unusable",
}
MAX_TEXT: Final = 48  # characters of a pin's text (a long sensor name is cut)


@dataclass(frozen=True, slots=True)
class PinRole:
    """One pin in the drawing."""

    gpio: int
    name: str  # `GPIO4`, or `D2 (GPIO4)` where the board labels its pins
    state: PinState
    text: str


def limits(board: Board, pin: Pin) -> list[str]:
    """Why a usable pin cannot do everything (empty: it can)."""
    found = []
    if pin.input_only:
        found.append("input only")
    if pin.adc2 is not None and pin.adc1 is None and not board.adc2_with_wifi:
        found.append("ADC2: no analog with WiFi")
    if pin.strapping:
        found.append("strapping: boot risk")
    return found


def pin_roles(board: Board, used: Mapping[int, Sequence[str]]) -> list[PinRole]:
    """The role of every pin of `board`; `used`: gpio -> who uses it (sensor/actuator names)."""
    roles = []
    for gpio, pin in board.pins.items():
        if owners := used.get(gpio):
            roles.append(PinRole(gpio, pin.display_name, PinState.USED, ", ".join(owners)))
        elif pin.reserved is not None:
            text = RESERVED_TEXT.get(pin.reserved, f"unusable: {pin.reserved}")
            roles.append(PinRole(gpio, pin.display_name, PinState.UNUSABLE, text))
        elif not (pin.input or pin.output):
            roles.append(PinRole(gpio, pin.display_name, PinState.UNUSABLE, "unusable"))
        elif found := limits(board, pin):
            roles.append(PinRole(gpio, pin.display_name, PinState.LIMITED, "; ".join(found)))
        else:
            text = "free, analog (ADC1)" if pin.adc1 is not None else "free"
            roles.append(PinRole(gpio, pin.display_name, PinState.FREE, text))
    return roles


# Geometry (px).
WIDTH: Final = 1040
BOARD_LEFT: Final = 370
BOARD_RIGHT: Final = 670
TOP: Final = 78
ROW: Final = 24
PIN_R: Final = 6


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def board_svg(board: Board, roles: Sequence[PinRole], title: str | None = None) -> str:
    """The SVG document: the board in the middle, its pins on both edges, a legend below."""
    half = (len(roles) + 1) // 2
    rows = max(half, 1)
    board_bottom = TOP + rows * ROW
    height = board_bottom + 70
    heading = title or board.name
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(heading)}: pins</title>",
        f'<rect width="{WIDTH}" height="{height}" rx="12" fill="#ffffff"/>',
        f'<text x="{WIDTH // 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold" '
        f'fill="#212121">{escape(heading)}</text>',
        f'<rect x="{BOARD_LEFT}" y="{TOP - 30}" width="{BOARD_RIGHT - BOARD_LEFT}" '
        f'height="{board_bottom - TOP + 36}" rx="10" fill="#263238"/>',
        f'<text x="{WIDTH // 2}" y="{TOP - 10}" text-anchor="middle" fill="#eceff1">'
        f"{escape(board.name)} · {escape(board.chip.upper())}</text>",
    ]
    for index, role in enumerate(roles):
        left = index < half
        y = TOP + (index if left else index - half) * ROW + ROW // 2
        edge = BOARD_LEFT if left else BOARD_RIGHT
        inside, outside = (edge + 14, edge - 14) if left else (edge - 14, edge + 14)
        inside_anchor, outside_anchor = ("start", "end") if left else ("end", "start")
        colour = COLOURS[role.state]
        out.append(
            f'<g class="pin {role.state.value}" data-gpio="{role.gpio}">'
            f'<circle cx="{edge}" cy="{y}" r="{PIN_R}" fill="{colour}"/>'
            f'<text x="{inside}" y="{y + 4}" text-anchor="{inside_anchor}" fill="#eceff1">'
            f"{escape(role.name)}</text>"
            f'<text x="{outside}" y="{y + 4}" text-anchor="{outside_anchor}" fill="{colour}">'
            f"{escape(_cut(role.text))}</text></g>"
        )
    x = 40
    legend_y = board_bottom + 40
    for state, label in LEGEND.items():
        out.append(
            f'<circle cx="{x}" cy="{legend_y}" r="{PIN_R}" fill="{COLOURS[state]}"/>'
            f'<text x="{x + 12}" y="{legend_y + 4}" fill="#212121">{label}</text>'
        )
        x += 110
    out.append("</svg>")
    return "\n".join(out)
