"""GPIO safe-mode: board profiles and pin validation (pure Python, no Home Assistant).

Profiles come from `boards.json` (shared with the firmware's generated C++ tables). Use
`check_pin` for one pin, `free_pins` for the UI's pin picker and `check_config` for a whole
device config; refusal codes equal the protocol's `config/ack` error codes.
"""

from .boards import BOARDS_JSON, Board, Pin, boards, get_board, load_boards, parse_boards
from .check import (
    ACTUATOR_USES,
    BUS_USES,
    OUTPUT_USES,
    SENSOR_USES,
    Claim,
    PinCheck,
    PinError,
    PinWarning,
    Use,
    actuator_claim,
    check_config,
    check_pin,
    free_pins,
    sensor_claims,
)

__all__ = [
    "ACTUATOR_USES",
    "BOARDS_JSON",
    "BUS_USES",
    "OUTPUT_USES",
    "SENSOR_USES",
    "Board",
    "Claim",
    "Pin",
    "PinCheck",
    "PinError",
    "PinWarning",
    "Use",
    "actuator_claim",
    "boards",
    "check_config",
    "check_pin",
    "free_pins",
    "get_board",
    "load_boards",
    "parse_boards",
    "sensor_claims",
]
