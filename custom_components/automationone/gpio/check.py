"""Pin validation (GPIO safe-mode): may this GPIO serve this use, next to what is taken?

Error codes are those of the protocol's `config/ack` (docs/protocol.md), so the UI shows the
same message whether HA refuses a pin up front or a device refuses it:

| code | when |
|---|---|
| `gpio_invalid` | the board has no such GPIO |
| `gpio_reserved` | flash/PSRAM/USB/UART0 pin; or a strapping pin where this use would |
| | stop the board from booting (then `warning` = `strapping_boot`) |
| `gpio_input_only` | output, OneWire or I2C on an input-only pin (ESP32 GPIO34-39) |
| `gpio_adc2_wifi` | analog input on an ADC2-only pin while WiFi is on |
| `gpio_in_use` | another sensor or actuator has the pin (shared buses excepted, below) |
| `too_many` | more PWM outputs than the chip has channels |
| `bad_config` | the pin lacks the capability (no ADC channel, no PWM), or SDA = SCL |

Warnings (`PinCheck.warning`, the pin still works): `strapping` (a strapping pin: an external
pull or load at reset can change the boot mode), `boot_glitch` (the pin toggles or outputs PWM
during boot: an actuator may twitch), `no_pullup` (no internal pull-up/down, ESP32 GPIO34-39),
`strapping_boot` (with `gpio_reserved`).

Shared buses: several OneWire sensors (DS18B20) on one pin, each with its own ROM address;
several I2C sensors on one SDA/SCL pair, each with its own address. Any other second claim on a
pin is `gpio_in_use`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .boards import Board, Pin, get_board


class Use(StrEnum):
    """What a pin is used for."""

    ANALOG_IN = "analog_in"
    DIGITAL_IN = "digital_in"
    DIGITAL_OUT = "digital_out"
    PWM_OUT = "pwm_out"
    ONEWIRE = "onewire"
    I2C_SDA = "i2c_sda"
    I2C_SCL = "i2c_scl"


class PinError(StrEnum):
    """Refusal codes (the protocol's config/ack error codes)."""

    GPIO_INVALID = "gpio_invalid"
    GPIO_RESERVED = "gpio_reserved"
    GPIO_INPUT_ONLY = "gpio_input_only"
    GPIO_IN_USE = "gpio_in_use"
    GPIO_ADC2_WIFI = "gpio_adc2_wifi"
    TOO_MANY = "too_many"
    BAD_CONFIG = "bad_config"


class PinWarning(StrEnum):
    """Warnings for a pin that works but needs care."""

    STRAPPING = "strapping"
    STRAPPING_BOOT = "strapping_boot"
    BOOT_GLITCH = "boot_glitch"
    NO_PULLUP = "no_pullup"


OUTPUT_USES: Final = frozenset({Use.DIGITAL_OUT, Use.PWM_OUT})
BUS_USES: Final = frozenset({Use.ONEWIRE, Use.I2C_SDA, Use.I2C_SCL})  # pulled up, bidirectional

# The `type` of a sensor/actuator in the device config → the pin use it needs (the firmware's
# read methods: firmware/lib/automationone_core/src/a1/sensors.cpp). An sht31 also claims its
# `scl` pin as I2C_SCL.
SENSOR_USES: Final = {
    **dict.fromkeys(
        ("analog", "ph", "ec", "tds", "soil", "moisture", "light", "voltage", "pressure",
         "water_level"),
        Use.ANALOG_IN,
    ),
    **dict.fromkeys(("digital", "binary", "motion", "contact"), Use.DIGITAL_IN),
    "ds18b20": Use.ONEWIRE,
    "sht31": Use.I2C_SDA,
}  # fmt: skip
ACTUATOR_USES: Final = {
    "relay": Use.DIGITAL_OUT,
    "pump": Use.DIGITAL_OUT,
    "valve": Use.DIGITAL_OUT,
    "pwm": Use.PWM_OUT,
}

# ESP32 datasheet section 2.4 / ESP32 hardware design guidelines: GPIO1/3 (UART0), 5, 14 and 15
# toggle or output PWM/log signals during boot. (1 and 3 are reserved anyway.)
_BOOT_GLITCH: Final = {"esp32": frozenset({1, 3, 5, 14, 15})}


@dataclass(frozen=True, slots=True)
class Claim:
    """A pin in use by a sensor or actuator.

    `addr`: the OneWire ROM (16 hex digits) or I2C address (`0x44`) on a shared bus.
    `partner`: for I2C, the other line of the pair (the SCL pin of an SDA claim and vice versa).
    `owner`: free text for messages (the subentry id, `sensor:ph`...).
    """

    gpio: int
    use: Use
    addr: str | None = None
    partner: int | None = None
    owner: str = ""


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The verdict for one pin: ok, or the refusal code; a warning either way."""

    ok: bool
    error_code: str | None = None
    warning: str | None = None
    conflict: Claim | None = None  # the claim a `gpio_in_use` collides with

    @classmethod
    def refuse(
        cls, code: PinError, warning: PinWarning | None = None, conflict: Claim | None = None
    ) -> PinCheck:
        """A refusal."""
        return cls(False, code.value, None if warning is None else warning.value, conflict)


def _board(board: Board | str) -> Board:
    return get_board(board) if isinstance(board, str) else board


def _capability(board: Board, pin: Pin, use: Use, wifi: bool) -> PinCheck | None:
    """Why the pin cannot serve `use` at all (None when it can)."""
    if use in OUTPUT_USES or use in BUS_USES:
        if pin.input_only:
            return PinCheck.refuse(PinError.GPIO_INPUT_ONLY)
        if not pin.output:
            return PinCheck.refuse(PinError.BAD_CONFIG)
    if use == Use.ANALOG_IN:
        if not pin.has_adc:
            return PinCheck.refuse(PinError.BAD_CONFIG)
        if pin.adc1 is None and wifi and not board.adc2_with_wifi:
            return PinCheck.refuse(PinError.GPIO_ADC2_WIFI)
    elif use == Use.DIGITAL_IN:
        if not pin.input:
            return PinCheck.refuse(PinError.BAD_CONFIG)
    elif use == Use.PWM_OUT:
        if not pin.pwm:
            return PinCheck.refuse(PinError.BAD_CONFIG)
    elif use == Use.ONEWIRE:
        if not pin.onewire:
            return PinCheck.refuse(PinError.BAD_CONFIG)
    elif use in (Use.I2C_SDA, Use.I2C_SCL) and not pin.i2c:
        return PinCheck.refuse(PinError.BAD_CONFIG)
    # Strapping pins where this use can hold the boot-failing level at reset: an output's load
    # can hold either level; a bus pull-up holds 1.
    if pin.boot_fail_level is not None and (
        use in OUTPUT_USES or (use in BUS_USES and pin.boot_fail_level == 1)
    ):
        return PinCheck.refuse(PinError.GPIO_RESERVED, PinWarning.STRAPPING_BOOT)
    return None


def _shares(existing: Claim, use: Use, addr: str | None, partner: int | None) -> bool:
    """Whether a new claim may share the pin of `existing` (same bus, distinct address)."""
    if existing.use != use:
        return False
    if use == Use.ONEWIRE:
        return existing.addr != addr
    if use == Use.I2C_SDA:
        return existing.partner == partner and existing.addr != addr
    if use == Use.I2C_SCL:
        return existing.partner == partner
    return False


def _warning(board: Board, pin: Pin, use: Use) -> PinWarning | None:
    if pin.strapping:
        return PinWarning.STRAPPING
    if use in OUTPUT_USES and pin.gpio in _BOOT_GLITCH.get(board.chip, frozenset()):
        return PinWarning.BOOT_GLITCH
    if pin.input_only and use == Use.DIGITAL_IN:
        return PinWarning.NO_PULLUP
    return None


def check_pin(
    board: Board | str,
    gpio: int,
    use: Use | str,
    taken: Iterable[Claim] = (),
    *,
    addr: str | None = None,
    partner: int | None = None,
    wifi: bool = True,
) -> PinCheck:
    """May `gpio` of `board` serve `use`, given the pins already `taken`?

    Checks in the firmware's order: existence, reservation, capability (input-only, ADC, ADC2
    with WiFi, strapping pins that would stop the boot), then conflicts with `taken` (shared
    OneWire/I2C buses allowed with distinct addresses; I2C needs the same `partner` line), then
    the PWM channel count. Raises KeyError for an unknown board id, ValueError for an unknown use.
    """
    b = _board(board)
    u = Use(use)
    pin = b.pin(gpio)
    if pin is None:
        return PinCheck.refuse(PinError.GPIO_INVALID)
    if pin.reserved is not None:
        return PinCheck.refuse(PinError.GPIO_RESERVED)
    refused = _capability(b, pin, u, wifi)
    if refused is not None:
        return refused
    if u in (Use.I2C_SDA, Use.I2C_SCL) and partner == gpio:
        return PinCheck.refuse(PinError.BAD_CONFIG)
    claims = list(taken)
    for claim in claims:
        if claim.gpio == gpio and not _shares(claim, u, addr, partner):
            return PinCheck.refuse(PinError.GPIO_IN_USE, conflict=claim)
    if u == Use.PWM_OUT and sum(c.use == Use.PWM_OUT for c in claims) >= b.pwm_channels:
        return PinCheck.refuse(PinError.TOO_MANY)
    warning = _warning(b, pin, u)
    return PinCheck(True, None, None if warning is None else warning.value)


def free_pins(
    board: Board | str, use: Use | str, taken: Iterable[Claim] = (), *, wifi: bool = True
) -> list[int]:
    """GPIOs the UI's pin picker may offer for `use`, ascending.

    A pin on a shared bus of the same use stays on offer (another DS18B20 on the OneWire pin,
    another I2C sensor on the SDA/SCL lines); the address is checked when the sensor is added.
    Pins with a warning are offered (show the warning); refused ones are not.
    """
    b = _board(board)
    u = Use(use)
    claims = list(taken)
    out: list[int] = []
    for gpio in b.pins:
        same_bus = [c for c in claims if c.gpio == gpio and c.use == u and u in BUS_USES]
        partner = same_bus[0].partner if same_bus else None
        # on a shared pin, ask with a fresh address so only the bus rule decides
        addr = "\x00new" if same_bus else None
        if check_pin(b, gpio, u, claims, addr=addr, partner=partner, wifi=wifi).ok:
            out.append(gpio)
    return out


def check_config(
    board: Board | str, claims: Sequence[Claim], *, wifi: bool = True
) -> list[PinCheck]:
    """Check the claims of a whole device config in order; the first claim of a pin wins.

    Mirrors the device's own validation (sensors first, then actuators, as listed), so HA can
    refuse a config up front with the codes the device would answer. An I2C sensor gives two
    claims (SDA with partner = SCL, SCL with partner = SDA).
    """
    b = _board(board)
    accepted: list[Claim] = []
    results: list[PinCheck] = []
    for claim in claims:
        result = check_pin(
            b, claim.gpio, claim.use, accepted, addr=claim.addr, partner=claim.partner, wifi=wifi
        )
        results.append(result)
        if result.ok:
            accepted.append(claim)
    return results


def sensor_claims(
    device_type: str, gpio: int, *, addr: str | None = None, scl: int | None = None, owner: str = ""
) -> list[Claim]:
    """The claims of a sensor of a device-config `type` (KeyError for an unknown type)."""
    use = SENSOR_USES[device_type]
    if use == Use.I2C_SDA:
        claims = [Claim(gpio, Use.I2C_SDA, addr, scl, owner)]
        if scl is not None:
            claims.append(Claim(scl, Use.I2C_SCL, None, gpio, owner))
        return claims
    return [Claim(gpio, use, addr if use == Use.ONEWIRE else None, None, owner)]


def actuator_claim(actuator_type: str, gpio: int, *, owner: str = "") -> Claim:
    """The claim of an actuator of a device-config `type` (KeyError for an unknown type)."""
    return Claim(gpio, ACTUATOR_USES[actuator_type], owner=owner)
