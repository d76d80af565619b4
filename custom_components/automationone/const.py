"""Constants of the AutomationOne integration."""

from __future__ import annotations

from typing import Final

from .rules.vocabulary import DOMAIN as VOCABULARY_DOMAIN

DOMAIN: Final = VOCABULARY_DOMAIN
MANUFACTURER: Final = "Espressif"

CONF_ESP_ID: Final = "esp_id"
CONF_KAISER_ID: Final = "kaiser_id"
CONF_BOARD: Final = "board"

# Boards we have pin profiles for: board id -> model shown in the device registry.
BOARD_MODELS: Final = {
    "esp32dev": "ESP32-WROOM-32",
    "seeed_xiao_esp32c3": "Seeed XIAO ESP32-C3",
}

# How long the manual step waits for the device's retained announce.
ANNOUNCE_WAIT_S: Final = 5.0

SUBENTRY_SENSOR: Final = "sensor"
SUBENTRY_ACTUATOR: Final = "actuator"

# Keys of a sensor subentry's data.
CONF_GPIO: Final = "gpio"
CONF_SENSOR_TYPE: Final = "sensor_type"
CONF_INTERVAL_S: Final = "interval_s"
CONF_MODE: Final = "mode"
CONF_ADDR: Final = "addr"
CONF_SCL: Final = "scl"
CONF_ECHO: Final = "echo_processed"
CONF_TEMPERATURE_ENTITY: Final = "temperature_entity"
CONF_CALIBRATION: Final = "calibration"
CONF_WARNING_LOW: Final = "warning_low"
CONF_WARNING_HIGH: Final = "warning_high"
CONF_CRITICAL_LOW: Final = "critical_low"
CONF_CRITICAL_HIGH: Final = "critical_high"

MODE_RAW: Final = "raw"
MODE_PROCESSED: Final = "processed"
INTERVAL_MIN_S: Final = 2
INTERVAL_MAX_S: Final = 300
# A sensor with no reading for this many intervals is unavailable (stale).
STALE_INTERVALS: Final = 3
CONF_PARAMS: Final = "params"
CONF_FILTER: Final = "filter"

# Keys of an actuator subentry's data (the protocol's ActuatorConfig fields).
CONF_ACTUATOR_TYPE: Final = "actuator_type"
CONF_INVERTED: Final = "inverted"
CONF_SAFE_STATE: Final = "safe_state"
CONF_MAX_RUNTIME_S: Final = "max_runtime_s"
CONF_COOLDOWN_S: Final = "cooldown_s"
CONF_MAX_PER_HOUR: Final = "max_per_hour"
CONF_FAILSAFE_S: Final = "failsafe_s"
ACTUATOR_TYPES: Final = ("relay", "pump", "valve", "pwm")
LIMIT_MAX_S: Final = 86400
LIMIT_MAX_PER_HOUR: Final = 3600

EVENT_ACTUATOR_STOPPED: Final = "automationone_actuator_stopped"

# Predictions of a sensor subentry: data[CONF_PREDICTION] = {enabled, predictor, horizon_s,
# refit_s} (prediction_runtime.py).
CONF_PREDICTION: Final = "prediction"
CONF_PREDICT_ENABLED: Final = "enabled"
CONF_PREDICTOR: Final = "predictor"
CONF_HORIZON_S: Final = "horizon_s"
CONF_REFIT_S: Final = "refit_s"
DEFAULT_PREDICTOR: Final = "seasonal_daily"
DEFAULT_HORIZON_S: Final = 7200
DEFAULT_REFIT_S: Final = 300
HORIZON_MIN_S: Final = 300
HORIZON_MAX_S: Final = 7 * 86400
REFIT_MIN_S: Final = 60
REFIT_MAX_S: Final = 86400
SIGNAL_PREDICTION: Final = "automationone_prediction_{}"
