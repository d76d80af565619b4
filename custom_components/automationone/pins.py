"""GPIO safe-mode in the UI: which pins a sensor may use on this device, given the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .const import (
    CONF_ACTUATOR_TYPE,
    CONF_ADDR,
    CONF_BOARD,
    CONF_GPIO,
    CONF_SCL,
    CONF_SENSOR_TYPE,
    SUBENTRY_ACTUATOR,
    SUBENTRY_SENSOR,
)
from .data import AutomationOneConfigEntry
from .gpio import (
    ACTUATOR_USES,
    SENSOR_USES,
    Claim,
    Use,
    actuator_claim,
    check_pin,
    free_pins,
    sensor_claims,
)
from .processors import Processor


@dataclass(frozen=True, slots=True)
class PinUse:
    """How a sensor type uses its pins."""

    use: Use
    device_type: str

    @property
    def needs_addr(self) -> bool:
        """Several sensors may share the bus, told apart by address."""
        return self.use in (Use.ONEWIRE, Use.I2C_SDA)

    @property
    def needs_scl(self) -> bool:
        """I2C: the data pin is `gpio`, the clock pin `scl`."""
        return self.use == Use.I2C_SDA

    def free_pins(self, board: str, taken: list[Claim]) -> list[int]:
        """Pins of `board` the picker offers."""
        return free_pins(board, self.use, taken)

    def free_scl_pins(self, board: str, taken: list[Claim]) -> list[int]:
        """Pins for the I2C clock."""
        return free_pins(board, Use.I2C_SCL, taken)


def pin_use_for(processor: Processor) -> PinUse:
    """The pin use of a sensor type, from how its device reads it."""
    use = SENSOR_USES.get(processor.device_type)
    if use is None:  # a plug-in's own device type: by the raw input it takes
        use = Use.ANALOG_IN if processor.raw_kind == "adc" else Use.DIGITAL_IN
    return PinUse(use, processor.device_type)


def _claims(
    processors: Mapping[str, Processor], data: Mapping[str, Any], owner: str
) -> list[Claim]:
    processor = processors.get(data[CONF_SENSOR_TYPE])
    if processor is None:
        return []
    use = pin_use_for(processor)
    if use.device_type in SENSOR_USES:
        return sensor_claims(
            use.device_type,
            data[CONF_GPIO],
            addr=data.get(CONF_ADDR),
            scl=data.get(CONF_SCL),
            owner=owner,
        )
    return [Claim(data[CONF_GPIO], use.use, owner=owner)]


def taken_pins(
    entry: AutomationOneConfigEntry,
    processors: Mapping[str, Processor],
    exclude_subentry: str | None = None,
    same_chip_as: Mapping[str, Any] | None = None,
) -> list[Claim]:
    """Claims of the entry's other sensors and actuators.

    `same_chip_as`: a sensor's data; other outputs of the same chip (an SHT31's temperature
    and humidity: same device type, pin and address) do not count as conflicts.
    """
    claims: list[Claim] = []
    for subentry_id, subentry in entry.subentries.items():
        if subentry_id == exclude_subentry:
            continue
        if subentry.subentry_type == SUBENTRY_ACTUATOR:
            claims.append(
                actuator_claim(
                    subentry.data[CONF_ACTUATOR_TYPE], subentry.data[CONF_GPIO], owner=subentry_id
                )
            )
            continue
        if subentry.subentry_type != SUBENTRY_SENSOR:
            continue
        if same_chip_as is not None and _same_chip(processors, subentry.data, same_chip_as):
            continue
        claims.extend(_claims(processors, subentry.data, subentry_id))
    return claims


def _same_chip(
    processors: Mapping[str, Processor], a: Mapping[str, Any], b: Mapping[str, Any]
) -> bool:
    pa, pb = processors.get(a[CONF_SENSOR_TYPE]), processors.get(b[CONF_SENSOR_TYPE])
    return (
        pa is not None
        and pb is not None
        and pa.device_type == pb.device_type
        and a[CONF_SENSOR_TYPE] != b[CONF_SENSOR_TYPE]
        and a[CONF_GPIO] == b[CONF_GPIO]
        and a.get(CONF_ADDR) == b.get(CONF_ADDR)
    )


def validate_sensor_pins(
    entry: AutomationOneConfigEntry,
    processors: Mapping[str, Processor],
    use: PinUse,
    data: Mapping[str, Any],
    exclude_subentry: str | None = None,
) -> dict[str, str]:
    """Form errors for the chosen pins (the codes of the device's config/ack)."""
    board = entry.data[CONF_BOARD]
    taken = taken_pins(entry, processors, exclude_subentry, same_chip_as=data)
    errors: dict[str, str] = {}
    addr = data.get(CONF_ADDR)
    scl = data.get(CONF_SCL)
    result = check_pin(
        board, data[CONF_GPIO], use.use, taken, addr=addr, partner=scl if use.needs_scl else None
    )
    if not result.ok:
        conflict = result.conflict
        same_bus = conflict is not None and conflict.use == use.use and use.needs_addr
        errors[CONF_ADDR if same_bus else CONF_GPIO] = (
            "addr_in_use" if same_bus else result.error_code or "gpio_unsuitable"
        )
    if use.needs_scl and scl is not None and CONF_GPIO not in errors:
        scl_result = check_pin(board, scl, Use.I2C_SCL, taken, partner=data[CONF_GPIO])
        if not scl_result.ok:
            errors[CONF_SCL] = scl_result.error_code or "gpio_in_use"
    return errors


def free_actuator_pins(
    entry: AutomationOneConfigEntry,
    processors: Mapping[str, Processor],
    actuator_type: str,
    exclude_subentry: str | None = None,
) -> list[int]:
    """Output pins of the board that no other sensor or actuator of the entry holds."""
    taken = taken_pins(entry, processors, exclude_subentry)
    return free_pins(entry.data[CONF_BOARD], ACTUATOR_USES[actuator_type], taken)


def validate_actuator_pin(
    entry: AutomationOneConfigEntry,
    processors: Mapping[str, Processor],
    actuator_type: str,
    gpio: int,
    exclude_subentry: str | None = None,
) -> dict[str, str]:
    """Form errors for an actuator's pin (the codes of the device's config/ack)."""
    taken = taken_pins(entry, processors, exclude_subentry)
    result = check_pin(entry.data[CONF_BOARD], gpio, ACTUATOR_USES[actuator_type], taken)
    if result.ok:
        return {}
    return {CONF_GPIO: result.error_code or "gpio_unsuitable"}
