"""AutomationOne protocol v1 for ESPHome: announce, status, heartbeat, raw readings, processed
values, actuator commands with on-device safety, pushed config (see docs/protocol.md)."""

import re

from esphome import automation
import esphome.codegen as cg
from esphome.components import output, sensor
import esphome.config_validation as cv
from esphome.const import (
    CONF_ID,
    CONF_NAME,
    CONF_OUTPUT,
    CONF_SENSOR,
    CONF_TYPE,
    __version__,
)
from esphome.core import CORE
import esphome.final_validate as fv

CODEOWNERS = ["@automationone"]
AUTO_LOAD = ["sensor", "output"]
MULTI_CONF = False

CONF_ESP_ID = "esp_id"
CONF_KAISER_ID = "kaiser_id"
CONF_BOARD = "board"
CONF_HEARTBEAT_INTERVAL = "heartbeat_interval"
CONF_RESTORE_CONFIG = "restore_config"
CONF_SENSORS = "sensors"
CONF_ACTUATORS = "actuators"
CONF_GPIO = "gpio"
CONF_MODE = "mode"
CONF_PROCESSED_SENSOR = "processed_sensor"
CONF_INVERTED = "inverted"
CONF_SAFE_STATE = "safe_state"
CONF_MAX_RUNTIME = "max_runtime"
CONF_COOLDOWN = "cooldown"
CONF_MAX_PER_HOUR = "max_per_hour"
CONF_FAILSAFE = "failsafe"
CONF_ON_IDENTIFY = "on_identify"

automationone_ns = cg.esphome_ns.namespace("automationone")
AutomationOneComponent = automationone_ns.class_("AutomationOneComponent", cg.Component)
ActuatorLimits = automationone_ns.struct("ActuatorLimits")

ACTUATOR_TYPES = ["relay", "pump", "valve", "pwm"]


def _matches(pattern, what):
    regex = re.compile(pattern)

    def validator(value):
        value = cv.string_strict(value)
        if regex.fullmatch(value) is None:
            raise cv.Invalid(f"'{value}' must be {what}")
        return value

    return validator


# The protocol's id rule: 1-32 characters of A-Z a-z 0-9 _ - (no MQTT wildcards, no '/').
valid_id = _matches(r"[A-Za-z0-9_-]{1,32}", "1-32 characters of A-Z a-z 0-9 _ -")

SENSOR_SCHEMA = cv.Schema(
    {
        cv.Required(CONF_GPIO): cv.int_range(min=0, max=63),
        cv.Required(CONF_SENSOR): cv.use_id(sensor.Sensor),
        cv.Optional(CONF_TYPE, default="analog"): _matches(
            r"[a-z0-9_]{1,24}", "1-24 characters of a-z 0-9 _"
        ),
        cv.Optional(CONF_MODE, default="raw"): cv.one_of("raw", "processed", lower=True),
        cv.Optional(CONF_PROCESSED_SENSOR): cv.use_id(sensor.Sensor),
    }
)


def _seconds(max_s):
    return cv.All(
        cv.positive_time_period_seconds,
        cv.Range(max=cv.TimePeriod(seconds=max_s)),
    )


def _pwm_needs_float_output(config):
    if config[CONF_TYPE] == "pwm":
        config[CONF_OUTPUT] = cv.use_id(output.FloatOutput)(config[CONF_OUTPUT])
    return config


ACTUATOR_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.Required(CONF_GPIO): cv.int_range(min=0, max=63),
            cv.Required(CONF_OUTPUT): cv.use_id(output.BinaryOutput),
            cv.Optional(CONF_TYPE, default="relay"): cv.one_of(*ACTUATOR_TYPES, lower=True),
            cv.Optional(CONF_INVERTED, default=False): cv.boolean,
            cv.Optional(CONF_SAFE_STATE, default=0): cv.int_range(min=0, max=255),
            cv.Optional(CONF_MAX_RUNTIME, default="0s"): _seconds(86400),
            cv.Optional(CONF_COOLDOWN, default="0s"): _seconds(86400),
            cv.Optional(CONF_MAX_PER_HOUR, default=0): cv.int_range(min=0, max=3600),
            cv.Optional(CONF_FAILSAFE, default="0s"): _seconds(86400),
        }
    ),
    _pwm_needs_float_output,
)


def _unique_gpios(config):
    for key in (CONF_SENSORS, CONF_ACTUATORS):
        gpios = [item[CONF_GPIO] for item in config[key]]
        for gpio in gpios:
            if gpios.count(gpio) > 1:
                raise cv.Invalid(f"GPIO{gpio} is listed twice under '{key}'")
    both = {s[CONF_GPIO] for s in config[CONF_SENSORS]} & {
        a[CONF_GPIO] for a in config[CONF_ACTUATORS]
    }
    if both:
        raise cv.Invalid(f"GPIO{min(both)} is both a sensor and an actuator")
    return config


CONFIG_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.GenerateID(): cv.declare_id(AutomationOneComponent),
            cv.Optional(CONF_ESP_ID): valid_id,
            cv.Optional(CONF_KAISER_ID, default="god"): valid_id,
            cv.Optional(CONF_NAME): cv.All(cv.string, cv.Length(min=1, max=64)),
            cv.Optional(CONF_BOARD): _matches(r"[a-z0-9_]{1,32}", "1-32 characters of a-z 0-9 _"),
            cv.Optional(CONF_HEARTBEAT_INTERVAL, default="60s"): cv.All(
                cv.positive_time_period_milliseconds,
                cv.Range(min=cv.TimePeriod(seconds=5), max=cv.TimePeriod(seconds=3600)),
            ),
            cv.Optional(CONF_RESTORE_CONFIG, default=True): cv.boolean,
            cv.Optional(CONF_SENSORS, default=[]): cv.All(
                cv.ensure_list(SENSOR_SCHEMA), cv.Length(max=16)
            ),
            cv.Optional(CONF_ACTUATORS, default=[]): cv.All(
                cv.ensure_list(ACTUATOR_SCHEMA), cv.Length(max=16)
            ),
            cv.Optional(CONF_ON_IDENTIFY): automation.validate_automation({}),
        }
    ).extend(cv.COMPONENT_SCHEMA),
    _unique_gpios,
)


def _final_validate(config):
    # On a real board the protocol runs over ESPHome's mqtt client; only the host test build
    # (which feeds messages through the C++ API) may leave it out.
    full = fv.full_config.get()
    if "mqtt" not in full and not CORE.is_host:
        raise cv.Invalid("automationone needs the 'mqtt:' component (protocol v1 runs over MQTT)")
    return config


FINAL_VALIDATE_SCHEMA = _final_validate


def _board():
    if CORE.is_esp32:
        from esphome.components.esp32 import get_board

        return get_board()
    return CORE.target_platform


async def to_code(config):
    var = cg.new_Pvariable(config[CONF_ID])
    await cg.register_component(var, config)

    if CONF_ESP_ID in config:
        cg.add(var.set_esp_id(config[CONF_ESP_ID]))
    cg.add(var.set_kaiser_id(config[CONF_KAISER_ID]))
    if CONF_NAME in config:
        cg.add(var.set_device_name(config[CONF_NAME]))
    board = config.get(CONF_BOARD) or _board()
    cg.add(var.set_board(board.lower().replace("-", "_")))
    cg.add(var.set_fw_version(__version__))
    cg.add(var.set_heartbeat_interval(config[CONF_HEARTBEAT_INTERVAL].total_milliseconds))
    cg.add(var.set_restore_config(config[CONF_RESTORE_CONFIG]))

    for conf in config[CONF_SENSORS]:
        sens = await cg.get_variable(conf[CONF_SENSOR])
        processed = (
            await cg.get_variable(conf[CONF_PROCESSED_SENSOR])
            if CONF_PROCESSED_SENSOR in conf
            else cg.nullptr
        )
        # A sensor that polls (adc, dallas, ...) can take a pushed interval_ms at runtime.
        full_id, _ = await cg.get_variable_with_full_id(conf[CONF_SENSOR])
        poller = sens if full_id.type.inherits_from(cg.PollingComponent) else cg.nullptr
        cg.add(
            var.add_sensor(
                conf[CONF_GPIO],
                conf[CONF_TYPE],
                sens,
                processed,
                poller,
                conf[CONF_MODE] == "processed",
            )
        )

    for conf in config[CONF_ACTUATORS]:
        out = await cg.get_variable(conf[CONF_OUTPUT])
        limits = cg.StructInitializer(
            ActuatorLimits,
            ("pwm", conf[CONF_TYPE] == "pwm"),
            ("inverted", conf[CONF_INVERTED]),
            ("safe_state", conf[CONF_SAFE_STATE]),
            ("max_runtime_s", int(conf[CONF_MAX_RUNTIME].total_seconds)),
            ("cooldown_s", int(conf[CONF_COOLDOWN].total_seconds)),
            ("max_per_hour", conf[CONF_MAX_PER_HOUR]),
            ("failsafe_s", int(conf[CONF_FAILSAFE].total_seconds)),
        )
        if conf[CONF_TYPE] == "pwm":
            cg.add(var.add_float_actuator(conf[CONF_GPIO], conf[CONF_TYPE], out, limits))
        else:
            cg.add(var.add_binary_actuator(conf[CONF_GPIO], conf[CONF_TYPE], out, limits))

    for conf in config.get(CONF_ON_IDENTIFY, []):
        await automation.build_automation(var.get_identify_trigger(), [], conf)
