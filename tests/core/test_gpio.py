"""GPIO safe-mode: datasheet facts of the board profiles, pin checks, shared buses, pin picker."""

from __future__ import annotations

import json

import pytest

from custom_components.automationone import gpio as g
from custom_components.automationone.gpio import Claim, PinCheck, Use

ESP32 = "esp32dev"
C3 = "seeed_xiao_esp32c3"
PROTOCOL_ACK_CODES = {
    "gpio_invalid",
    "gpio_reserved",
    "gpio_input_only",
    "gpio_in_use",
    "gpio_adc2_wifi",
    "type_unsupported",
    "too_many",
    "bus_error",
    "bad_config",
}  # fmt: skip  (docs/protocol.md, "config ack")


def code(board: str, gpio: int, use: str, taken: tuple[Claim, ...] = (), **kw: object) -> str:
    """The verdict as one string: the error code, or `ok` / `ok:<warning>`."""
    res = g.check_pin(board, gpio, use, taken, **kw)  # type: ignore[arg-type]
    if res.ok:
        return "ok" if res.warning is None else f"ok:{res.warning}"
    return str(res.error_code)


# Table-driven datasheet facts: (board, gpio, use, expected verdict).
FACTS = [
    # ESP32-WROOM-32 datasheet section 3 "Pin Definitions": GPIO6-11 (SD_CLK, SD_DATA0-3,
    # SD_CMD) are wired to the module's SPI flash.
    *[(ESP32, gpio, use, "gpio_reserved") for gpio in range(6, 12) for use in Use],
    # ESP32 datasheet section 2.2 "Pin Description": GPIO1/3 are U0TXD/U0RXD (console, flashing).
    (ESP32, 1, "digital_out", "gpio_reserved"),
    (ESP32, 3, "digital_in", "gpio_reserved"),
    # GPIO20, 24, 28-31 do not exist on the ESP32; 37/38 are not brought out on the WROOM-32.
    *[(ESP32, gpio, "digital_in", "gpio_invalid") for gpio in (20, 24, 28, 29, 30, 31, 37, 38)],
    (ESP32, 40, "digital_in", "gpio_invalid"),
    (ESP32, -1, "digital_in", "gpio_invalid"),
    # Section 2.2 / 4.1.1: GPIO34-39 are input only, without pull-up/pull-down.
    *[(ESP32, gpio, "digital_out", "gpio_input_only") for gpio in (34, 35, 36, 39)],
    *[(ESP32, gpio, "pwm_out", "gpio_input_only") for gpio in (34, 35, 36, 39)],
    *[(ESP32, gpio, "onewire", "gpio_input_only") for gpio in (34, 35, 36, 39)],
    (ESP32, 36, "i2c_sda", "gpio_input_only"),
    *[(ESP32, gpio, "digital_in", "ok:no_pullup") for gpio in (34, 35, 36, 39)],
    # Section 4.1.2 "ADC": ADC1 on GPIO32-39 works with WiFi ...
    *[(ESP32, gpio, "analog_in", "ok") for gpio in (32, 33, 34, 35, 36, 39)],
    # ... ADC2 (GPIO0/2/4/12-15/25-27) is used by the WiFi driver.
    *[(ESP32, gpio, "analog_in", "gpio_adc2_wifi") for gpio in (4, 13, 14, 25, 26, 27)],
    *[(ESP32, gpio, "analog_in", "bad_config") for gpio in (5, 16, 17, 18, 19, 21, 22, 23)],
    # Section 2.4 "Strapping Pins": GPIO0 low at reset = download mode and MTDI (GPIO12) high =
    # 1.8 V flash supply (the WROOM-32's flash needs 3.3 V): an output's load on them can stop
    # the boot; a bus pull-up on GPIO12 does. GPIO2, 5, 15 only warn.
    (ESP32, 0, "digital_out", "gpio_reserved"),
    (ESP32, 12, "digital_out", "gpio_reserved"),
    (ESP32, 12, "pwm_out", "gpio_reserved"),
    (ESP32, 12, "onewire", "gpio_reserved"),
    (ESP32, 12, "i2c_scl", "gpio_reserved"),
    (ESP32, 0, "onewire", "ok:strapping"),
    (ESP32, 12, "digital_in", "ok:strapping"),
    *[(ESP32, gpio, "digital_out", "ok:strapping") for gpio in (2, 5, 15)],
    # GPIO14 outputs PWM during boot (ESP32 hardware design guidelines): an actuator twitches.
    (ESP32, 14, "digital_out", "ok:boot_glitch"),
    (ESP32, 4, "digital_out", "ok"),
    (ESP32, 21, "i2c_sda", "ok"),
    (ESP32, 22, "i2c_scl", "ok"),
    # ESP32-C3 datasheet section 2 "Pins": GPIO12-17 = SPI flash, GPIO18/19 = USB D-/D+.
    *[(C3, gpio, "digital_in", "gpio_reserved") for gpio in (12, 13, 14, 15, 16, 17, 18, 19)],
    # Seeed XIAO ESP32C3 pin map: GPIO0, 1, 11 are not on the header; the C3 has GPIO0-21 only.
    *[(C3, gpio, "digital_in", "gpio_invalid") for gpio in (0, 1, 11, 22, 34)],
    # ADC1_CH2-4 on GPIO2-4 (D0-D2); ADC2_CH0 on GPIO5 (D3) is unusable with WiFi.
    *[(C3, gpio, "analog_in", "ok") for gpio in (3, 4)],
    (C3, 2, "analog_in", "ok:strapping"),
    (C3, 5, "analog_in", "gpio_adc2_wifi"),
    (C3, 6, "analog_in", "bad_config"),
    # The C3 has no input-only pins.
    *[(C3, gpio, "digital_out", "ok") for gpio in (3, 4, 5, 6, 7, 10, 20, 21)],
    # C3 "Strapping Pins": GPIO9 low at reset = download boot (BOOT button); GPIO2/8 warn.
    (C3, 9, "digital_out", "gpio_reserved"),
    (C3, 9, "digital_in", "ok:strapping"),
    (C3, 9, "i2c_sda", "ok:strapping"),  # pulled up: high = normal SPI boot
    (C3, 8, "digital_out", "ok:strapping"),
    (C3, 6, "i2c_sda", "ok"),
    (C3, 7, "i2c_scl", "ok"),
]


@pytest.mark.parametrize(("board", "gpio", "use", "expected"), FACTS)
def test_datasheet_facts(board: str, gpio: int, use: str, expected: str) -> None:
    """Each datasheet fact holds for the board profile."""
    assert code(board, gpio, use) == expected


def test_adc2_without_wifi_and_strapping_boot_warning() -> None:
    """ADC2 is fine with WiFi off; a boot-blocking refusal says why."""
    assert code(ESP32, 25, "analog_in", wifi=False) == "ok"
    assert g.check_pin(ESP32, 12, Use.DIGITAL_OUT) == PinCheck(
        False, "gpio_reserved", "strapping_boot"
    )


def test_error_codes_are_protocol_ack_codes() -> None:
    """Every refusal code is a config/ack code of the protocol."""
    assert {e.value for e in g.PinError} <= PROTOCOL_ACK_CODES


def test_board_table_is_consistent() -> None:
    """Invariants of boards.json (shared with the firmware's generated tables)."""
    raw = json.loads(g.BOARDS_JSON.read_text(encoding="utf-8"))
    assert set(raw["boards"]) == {ESP32, C3}
    for board in g.boards().values():
        for pin in board.pins.values():
            if pin.input_only:
                assert not pin.output
                assert not pin.onewire
                assert not pin.i2c
            if pin.reserved is not None:
                assert not any((pin.pwm, pin.onewire, pin.i2c, pin.has_adc))
            if pin.boot_fail_level is not None:
                assert pin.strapping
                assert pin.boot_fail_level in (0, 1)
        assert board.adc_bits == 12
        assert not board.adc2_with_wifi
    assert g.get_board(C3).pins[2].display_name == "D0 (GPIO2)"
    assert g.get_board(ESP32).pins[4].display_name == "GPIO4"
    with pytest.raises(KeyError):
        g.get_board("esp8266")


# --- shared buses and conflicts ----------------------------------------------------------

ROM_A = "28ff641e8016043c"
ROM_B = "28ff641e80160455"


@pytest.mark.parametrize(
    ("taken", "gpio", "use", "kw", "expected"),
    [
        # several DS18B20 on one OneWire pin, each with its own ROM
        ((Claim(4, Use.ONEWIRE, ROM_A),), 4, "onewire", {"addr": ROM_B}, "ok"),
        ((Claim(4, Use.ONEWIRE, ROM_A),), 4, "onewire", {"addr": ROM_A}, "gpio_in_use"),
        # the OneWire pin is not free for anything else, and vice versa
        ((Claim(4, Use.ONEWIRE, ROM_A),), 4, "digital_out", {}, "gpio_in_use"),
        ((Claim(4, Use.DIGITAL_OUT),), 4, "onewire", {"addr": ROM_A}, "gpio_in_use"),
        ((Claim(32, Use.ANALOG_IN),), 32, "analog_in", {}, "gpio_in_use"),
        ((Claim(32, Use.ANALOG_IN),), 32, "digital_out", {}, "gpio_in_use"),
        # several I2C sensors on one SDA/SCL pair with distinct addresses
        (
            (Claim(21, Use.I2C_SDA, "0x44", 22), Claim(22, Use.I2C_SCL, None, 21)),
            21,
            "i2c_sda",
            {"addr": "0x45", "partner": 22},
            "ok",
        ),
        (
            (Claim(21, Use.I2C_SDA, "0x44", 22), Claim(22, Use.I2C_SCL, None, 21)),
            22,
            "i2c_scl",
            {"partner": 21},
            "ok",
        ),
        (
            (Claim(21, Use.I2C_SDA, "0x44", 22),),
            21,
            "i2c_sda",
            {"addr": "0x44", "partner": 22},
            "gpio_in_use",
        ),
        (  # same SDA, another SCL: a different bus on the same line
            (Claim(21, Use.I2C_SDA, "0x44", 22),),
            21,
            "i2c_sda",
            {"addr": "0x45", "partner": 23},
            "gpio_in_use",
        ),
        ((Claim(22, Use.I2C_SCL, None, 21),), 22, "pwm_out", {}, "gpio_in_use"),
        ((), 21, "i2c_sda", {"partner": 21}, "bad_config"),
    ],
)
def test_shared_bus_rules(
    taken: tuple[Claim, ...], gpio: int, use: str, kw: dict[str, object], expected: str
) -> None:
    """Buses share with distinct addresses; everything else conflicts."""
    assert code(ESP32, gpio, use, taken, **kw) == expected


def test_conflict_names_the_claim() -> None:
    """gpio_in_use carries the claim it collides with."""
    relay = Claim(4, Use.DIGITAL_OUT, owner="actuator:pump")
    assert g.check_pin(ESP32, 4, Use.ANALOG_IN, [relay], wifi=False).conflict == relay


def test_pwm_channel_count() -> None:
    """The XIAO ESP32-C3 has 6 LEDC channels: a seventh PWM output is too_many."""
    taken = [Claim(gpio, Use.PWM_OUT) for gpio in (2, 3, 4, 5, 6, 7)]
    assert code(C3, 10, "pwm_out", tuple(taken)) == "too_many"
    assert code(C3, 10, "digital_out", tuple(taken)) == "ok"


def test_free_pins_for_the_picker() -> None:
    """Only valid, free pins; shared bus pins stay on offer."""
    assert g.free_pins(ESP32, Use.ANALOG_IN) == [32, 33, 34, 35, 36, 39]
    assert g.free_pins(ESP32, Use.ANALOG_IN, wifi=False) == [
        0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 39,
    ]  # fmt: skip
    outs = g.free_pins(ESP32, Use.DIGITAL_OUT)
    assert not set(outs) & {0, 1, 3, 6, 7, 8, 9, 10, 11, 12, 34, 35, 36, 39}
    assert outs == [2, 4, 5, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33]
    taken = [Claim(4, Use.ONEWIRE, ROM_A), Claim(32, Use.ANALOG_IN), Claim(5, Use.DIGITAL_OUT)]
    onewire = g.free_pins(ESP32, "onewire", taken)
    assert 4 in onewire
    assert 5 not in onewire
    assert 32 not in onewire
    assert 32 not in g.free_pins(ESP32, "analog_in", taken)
    assert 4 not in g.free_pins(ESP32, "digital_in", taken)
    i2c = [Claim(6, Use.I2C_SDA, "0x44", 7), Claim(7, Use.I2C_SCL, None, 6)]
    assert 6 in g.free_pins(C3, "i2c_sda", i2c)
    assert 7 in g.free_pins(C3, "i2c_scl", i2c)
    assert 6 not in g.free_pins(C3, "i2c_scl", i2c)
    assert g.free_pins(C3, "analog_in") == [2, 3, 4]


def test_check_config_like_the_device() -> None:
    """A whole config, first claim wins: the codes a device would answer."""
    claims = [
        *g.sensor_claims("ph", 34),
        *g.sensor_claims("analog", 25),  # ADC2 with WiFi
        *g.sensor_claims("ds18b20", 4, addr=ROM_A),
        *g.sensor_claims("ds18b20", 4, addr=ROM_B),
        *g.sensor_claims("sht31", 21, addr="0x44", scl=22),
        *g.sensor_claims("sht31", 21, addr="0x45", scl=22),
        g.actuator_claim("relay", 4),  # taken by the OneWire bus
        g.actuator_claim("pump", 35),  # input only
        g.actuator_claim("valve", 9),  # flash
        g.actuator_claim("pwm", 26),
    ]
    results = [r.error_code or "ok" for r in g.check_config(ESP32, claims)]
    assert results == [
        "ok",
        "gpio_adc2_wifi",
        "ok",
        "ok",
        "ok", "ok",  # SDA + SCL
        "ok", "ok",
        "gpio_in_use",
        "gpio_input_only",
        "gpio_reserved",
        "ok",
    ]  # fmt: skip


def test_type_uses_match_the_firmware() -> None:
    """The config types the firmware reads map to the right uses."""
    assert g.SENSOR_USES["ph"] == Use.ANALOG_IN
    assert g.SENSOR_USES["soil"] == Use.ANALOG_IN
    assert g.SENSOR_USES["ds18b20"] == Use.ONEWIRE
    assert g.SENSOR_USES["sht31"] == Use.I2C_SDA
    assert g.SENSOR_USES["motion"] == Use.DIGITAL_IN
    assert g.ACTUATOR_USES["pwm"] == Use.PWM_OUT
    assert [c.use for c in g.sensor_claims("sht31", 6, scl=7)] == [Use.I2C_SDA, Use.I2C_SCL]
    with pytest.raises(ValueError, match="not a valid Use"):
        g.check_pin(ESP32, 4, "spi_mosi")
