"""The few pin rules a simulated device checks when it applies a config.

One small table per board, on purpose: the real board profiles (GPIO safe-mode) live in the
integration and the firmware; the simulator only needs plausible refusals so that the
integration's handling of `config/ack` errors can be exercised.
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.automationone.protocol import ActuatorConfig, PinResult, SensorConfig

BUS_TYPES = frozenset({"ds18b20", "sht31"})  # bidirectional data pin, several per pin


@dataclass(frozen=True, slots=True)
class BoardRules:
    """Which GPIOs exist, which are reserved and which are input only."""

    gpios: frozenset[int]
    reserved: frozenset[int]
    input_only: frozenset[int]


BOARD_RULES: dict[str, BoardRules] = {
    # ESP32-WROOM-32: GPIO 0-39 without 20, 24, 28-31; 6-11 are the SPI flash; 34-39 input only.
    "esp32dev": BoardRules(
        gpios=frozenset(range(40)) - {20, 24, 28, 29, 30, 31},
        reserved=frozenset(range(6, 12)),
        input_only=frozenset(range(34, 40)),
    ),
    # ESP32-C3 (XIAO): GPIO 0-21; 12-17 are the SPI flash.
    "seeed_xiao_esp32c3": BoardRules(
        gpios=frozenset(range(22)),
        reserved=frozenset(range(12, 18)),
        input_only=frozenset(),
    ),
}
BOARDS = tuple(BOARD_RULES)


def _pin_error(rules: BoardRules, gpio: int, output: bool) -> str | None:
    if gpio not in rules.gpios:
        return "gpio_invalid"
    if gpio in rules.reserved:
        return "gpio_reserved"
    if output and gpio in rules.input_only:
        return "gpio_input_only"
    return None


def check_pins(
    board: str, sensors: tuple[SensorConfig, ...], actuators: tuple[ActuatorConfig, ...]
) -> tuple[list[PinResult], list[SensorConfig], list[ActuatorConfig]]:
    """Per-pin results in config order (sensors, then actuators) and what was accepted.

    Several bus sensors of one type may share a data pin (and sht31 a clock pin) when their
    addresses differ; any other second use of a pin is `gpio_in_use`.
    """
    rules = BOARD_RULES[board]
    claims: dict[int, str] = {}  # gpio -> owner: "bus:<type>", "scl" or "solo"
    addrs: set[tuple[int, str | None]] = set()
    results: list[PinResult] = []
    accepted_sensors: list[SensorConfig] = []
    accepted_actuators: list[ActuatorConfig] = []

    def free(gpio: int, owner: str) -> bool:
        return gpio not in claims or (owner != "solo" and claims[gpio] == owner)

    for sensor in sensors:
        bus = sensor.type in BUS_TYPES
        owner = f"bus:{sensor.type}" if bus else "solo"
        error = _pin_error(rules, sensor.gpio, output=bus)
        if error is None and sensor.scl is not None:
            error = _pin_error(rules, sensor.scl, output=True)
        if error is None and (
            not free(sensor.gpio, owner)
            or (sensor.gpio, sensor.addr) in addrs
            or (
                sensor.scl is not None
                and (sensor.scl == sensor.gpio or not free(sensor.scl, "scl"))
            )
        ):
            error = "gpio_in_use"
        results.append(PinResult("sensor", sensor.gpio, error is None, error, sensor.addr))
        if error is None:
            claims[sensor.gpio] = owner
            if sensor.scl is not None:
                claims[sensor.scl] = "scl"
            addrs.add((sensor.gpio, sensor.addr))
            accepted_sensors.append(sensor)

    for actuator in actuators:
        error = _pin_error(rules, actuator.gpio, output=True)
        if error is None and not free(actuator.gpio, "solo"):
            error = "gpio_in_use"
        results.append(PinResult("actuator", actuator.gpio, error is None, error))
        if error is None:
            claims[actuator.gpio] = "solo"
            accepted_actuators.append(actuator)
    return results, accepted_sensors, accepted_actuators
