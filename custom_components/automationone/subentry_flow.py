"""Config subentries of an ESP: add, reconfigure, calibrate and remove sensors from the UI."""

from __future__ import annotations

import re
from typing import Any, Literal

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import selector
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .board_image import board_markdown
from .const import (
    ACTUATOR_TYPES,
    CONF_ACTUATOR_TYPE,
    CONF_ADDR,
    CONF_BOARD,
    CONF_CALIBRATION,
    CONF_COOLDOWN_S,
    CONF_CRITICAL_HIGH,
    CONF_CRITICAL_LOW,
    CONF_ECHO,
    CONF_FAILSAFE_S,
    CONF_FILTER,
    CONF_GPIO,
    CONF_HORIZON_S,
    CONF_INTERVAL_S,
    CONF_INVERTED,
    CONF_MAX_PER_HOUR,
    CONF_MAX_RUNTIME_S,
    CONF_MODE,
    CONF_PARAMS,
    CONF_PREDICT_ENABLED,
    CONF_PREDICTION,
    CONF_PREDICTOR,
    CONF_REFIT_S,
    CONF_SAFE_STATE,
    CONF_SCL,
    CONF_SENSOR_TYPE,
    CONF_TEMPERATURE_ENTITY,
    CONF_WARNING_HIGH,
    CONF_WARNING_LOW,
    DEFAULT_HORIZON_S,
    DEFAULT_PREDICTOR,
    DEFAULT_REFIT_S,
    HORIZON_MAX_S,
    HORIZON_MIN_S,
    INTERVAL_MAX_S,
    INTERVAL_MIN_S,
    LIMIT_MAX_PER_HOUR,
    LIMIT_MAX_S,
    MODE_PROCESSED,
    MODE_RAW,
    REFIT_MAX_S,
    REFIT_MIN_S,
    SUBENTRY_ACTUATOR,
    SUBENTRY_SENSOR,
)
from .data import AutomationOneConfigEntry
from .pins import (
    free_actuator_pins,
    pin_use_for,
    taken_pins,
    validate_actuator_pin,
    validate_sensor_pins,
)
from .plugins import get_predictors, get_processors
from .probe_sensor import with_calibration
from .processors import (
    FILTER_KINDS,
    Calibration,
    CalibrationPoint,
    Param,
    ParamKind,
    Processor,
    adc_model_for,
    calibration_problem,
    new_calibration,
)
from .recommendations import (
    CONF_CORRECTS,
    CONF_DIRECTION,
    CONF_DOSE_S,
    CONF_INTERLOCK_GROUP,
    CONF_INTERLOCK_MIN,
    CONF_MAX_DOSES_PER_DAY,
    DEFAULT_DOSE_S,
)
from .temperature_source import read_temperature

CONF_REFERENCE = "reference"
# Fields of the predictions step (stored in seconds: CONF_HORIZON_S, CONF_REFIT_S).
FIELD_HORIZON_MIN = "horizon_min"
FIELD_REFIT_MIN = "refit_min"
THRESHOLD_KEYS = (CONF_WARNING_LOW, CONF_WARNING_HIGH, CONF_CRITICAL_LOW, CONF_CRITICAL_HIGH)
ADDR_PATTERN = r"[0-9a-f]{16}|0x[0-9a-f]{2}"


def _number(
    minimum: float | None = None,
    maximum: float | None = None,
    step: float | Literal["any"] = "any",
) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=step)
    if minimum is not None:
        config["min"] = minimum
    if maximum is not None:
        config["max"] = maximum
    return selector.NumberSelector(config)


def _param_field(param: Param) -> Any:
    """The form field of a processor parameter, by its kind."""
    if param.kind == ParamKind.NUMBER:
        return _number(param.minimum, param.maximum)
    if param.kind == ParamKind.SELECT:
        return selector.SelectSelector(selector.SelectSelectorConfig(options=list(param.options)))
    if param.kind == ParamKind.BOOL:
        return bool
    return selector.TextSelector()


class _PinSubentryFlow(ConfigSubentryFlow):
    """What sensor and actuator subentry flows share: the entry, the chosen type and name,
    and the settings step (pins, then the kind's own fields)."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._type: str | None = None
        self._name: str | None = None

    @property
    def _entry(self) -> AutomationOneConfigEntry:
        entry: AutomationOneConfigEntry = self._get_entry()
        return entry

    def _settings_schema(self, current: dict[str, Any], exclude: str | None) -> vol.Schema:
        raise NotImplementedError

    def _data_from(self, user_input: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _validate(self, data: dict[str, Any], exclude: str | None) -> dict[str, str]:
        raise NotImplementedError

    def _unique_id(self, data: dict[str, Any]) -> str:
        raise NotImplementedError

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pins (only valid, free ones are offered) and the other settings."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._data_from(user_input)
            errors = self._validate(data, exclude=None)
            if not errors:
                assert self._name is not None
                return self.async_create_entry(
                    title=self._name, data=data, unique_id=self._unique_id(data)
                )
        return self.async_show_form(
            step_id="settings",
            data_schema=self._settings_schema(user_input or {}, exclude=None),
            errors=errors,
            description_placeholders={
                "name": self._name or "",
                "board": board_markdown(self.hass, self._entry),
            },
        )

    async def _async_reconfigure(
        self, step_id: str, user_input: dict[str, Any] | None, *kept: str
    ) -> SubentryFlowResult:
        """Change the settings of the subentry; the `kept` data keys (not in the form) stay."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._data_from(user_input)
            errors = self._validate(data, exclude=subentry.subentry_id)
            if not errors:
                data |= {key: subentry.data[key] for key in kept if key in subentry.data}
                return self.async_update_and_abort(
                    self._entry, subentry, data=data, unique_id=self._unique_id(data)
                )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self._settings_schema(
                user_input or dict(subentry.data), exclude=subentry.subentry_id
            ),
            errors=errors,
            description_placeholders={
                "name": subentry.title,
                "board": board_markdown(self.hass, self._entry),
            },
        )


class SensorSubentryFlow(_PinSubentryFlow):
    """Add a sensor: type, then pin and settings; reconfigure: settings or calibration."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        super().__init__()
        self._points: list[CalibrationPoint] = []

    def _unique_id(self, data: dict[str, Any]) -> str:
        return _sensor_unique_id(data, self._processor.quantity)

    @property
    def _processor(self) -> Processor:
        assert self._type is not None
        return get_processors(self.hass)[self._type]

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the sensor type and a name."""
        processors = get_processors(self.hass)
        if user_input is not None:
            sensor_type: str = user_input[CONF_SENSOR_TYPE]
            self._type = sensor_type
            self._name = user_input.get(CONF_NAME) or processors[sensor_type].name
            return await self.async_step_settings()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SENSOR_TYPE): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[
                                selector.SelectOptionDict(value=pid, label=p.name)
                                for pid, p in sorted(processors.items())
                            ],
                            mode=selector.SelectSelectorMode.DROPDOWN,
                        )
                    ),
                    vol.Optional(CONF_NAME): str,
                }
            ),
        )

    def _settings_schema(self, current: dict[str, Any], exclude: str | None) -> vol.Schema:
        processor = self._processor
        use = pin_use_for(processor)
        board = self._entry.data[CONF_BOARD]
        taken = taken_pins(
            self._entry,
            get_processors(self.hass),
            exclude_subentry=exclude,
            same_chip_as={**current, CONF_SENSOR_TYPE: self._type}
            if CONF_GPIO in current
            else None,
        )
        pins = [str(p) for p in use.free_pins(board, taken)]
        if CONF_GPIO in current and str(current[CONF_GPIO]) not in pins:
            pins.insert(0, str(current[CONF_GPIO]))
        fields: dict[Any, Any] = {
            vol.Required(CONF_GPIO): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=pins, mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
        }
        if use.needs_addr:
            fields[vol.Optional(CONF_ADDR)] = str
        if use.needs_scl:
            fields[vol.Required(CONF_SCL)] = selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[str(p) for p in use.free_scl_pins(board, taken)],
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            )
        fields[vol.Required(CONF_INTERVAL_S, default=10)] = _number(
            INTERVAL_MIN_S, INTERVAL_MAX_S, 1
        )
        fields[vol.Required(CONF_MODE, default=MODE_RAW)] = selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[MODE_RAW, MODE_PROCESSED], translation_key="mode"
            )
        )
        fields[vol.Required(CONF_FILTER, default="none")] = selector.SelectSelector(
            selector.SelectSelectorConfig(options=list(FILTER_KINDS), translation_key="filter")
        )
        fields[vol.Required(CONF_ECHO, default=False)] = bool
        if processor.uses_temperature:
            fields[vol.Optional(CONF_TEMPERATURE_ENTITY)] = selector.EntitySelector(
                selector.EntitySelectorConfig(domain="sensor", device_class="temperature")
            )
        for key in THRESHOLD_KEYS:
            fields[vol.Optional(key)] = _number()
        for param in processor.params:
            # The ADC model defaults to the board's own, so the defaults read it right.
            default = adc_model_for(board) if param.key == "adc" else param.default
            fields[vol.Optional(f"param_{param.key}", default=default)] = _param_field(param)
        suggested = {k: str(v) if k in (CONF_GPIO, CONF_SCL) else v for k, v in current.items()}
        suggested |= {f"param_{k}": v for k, v in current.get(CONF_PARAMS, {}).items()}
        return self.add_suggested_values_to_schema(vol.Schema(fields), suggested)

    def _data_from(self, user_input: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            CONF_SENSOR_TYPE: self._type,
            CONF_GPIO: int(user_input[CONF_GPIO]),
            CONF_INTERVAL_S: int(user_input[CONF_INTERVAL_S]),
            CONF_MODE: user_input[CONF_MODE],
            CONF_ECHO: user_input[CONF_ECHO],
            CONF_FILTER: user_input.get(CONF_FILTER, "none"),
            CONF_PARAMS: {
                key.removeprefix("param_"): value
                for key, value in user_input.items()
                if key.startswith("param_")
            },
        }
        if user_input.get(CONF_ADDR):
            data[CONF_ADDR] = user_input[CONF_ADDR].strip().lower()
        if user_input.get(CONF_SCL) is not None:
            data[CONF_SCL] = int(user_input[CONF_SCL])
        for key in (CONF_TEMPERATURE_ENTITY, *THRESHOLD_KEYS):
            if user_input.get(key) is not None and user_input.get(key) != "":
                data[key] = user_input[key]
        return data

    def _validate(self, data: dict[str, Any], exclude: str | None) -> dict[str, str]:
        errors = validate_sensor_pins(
            self._entry,
            get_processors(self.hass),
            pin_use_for(self._processor),
            data,
            exclude_subentry=exclude,
        )
        if CONF_ADDR in data and re.fullmatch(ADDR_PATTERN, data[CONF_ADDR]) is None:
            errors[CONF_ADDR] = "invalid_addr"
        source = data.get(CONF_TEMPERATURE_ENTITY)
        if source and read_temperature(self.hass, source).problem == "not_temperature":
            errors[CONF_TEMPERATURE_ENTITY] = "not_temperature"
        low, high = data.get(CONF_WARNING_LOW), data.get(CONF_WARNING_HIGH)
        if low is not None and high is not None and low >= high:
            errors[CONF_WARNING_HIGH] = "band_empty"
        low, high = data.get(CONF_CRITICAL_LOW), data.get(CONF_CRITICAL_HIGH)
        if low is not None and high is not None and low >= high:
            errors[CONF_CRITICAL_HIGH] = "band_empty"
        return errors

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the settings or calibrate."""
        subentry = self._get_reconfigure_subentry()
        self._type = subentry.data[CONF_SENSOR_TYPE]
        self._name = subentry.title
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=["reconfigure_settings", "calibrate", "predictions"],
            description_placeholders={"name": subentry.title},
        )

    async def async_step_reconfigure_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Move the sensor to another pin or change its settings; history stays."""
        return await self._async_reconfigure(
            "reconfigure_settings", user_input, CONF_CALIBRATION, CONF_PREDICTION
        )

    async def async_step_predictions(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Opt in to forecasts, time-until-band and anomaly detection; horizon, predictor."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            prediction = {
                CONF_PREDICT_ENABLED: bool(user_input[CONF_PREDICT_ENABLED]),
                CONF_PREDICTOR: user_input[CONF_PREDICTOR],
                CONF_HORIZON_S: round(float(user_input[FIELD_HORIZON_MIN]) * 60),
                CONF_REFIT_S: round(float(user_input[FIELD_REFIT_MIN]) * 60),
            }
            return self.async_update_and_abort(
                self._entry, subentry, data_updates={CONF_PREDICTION: prediction}
            )
        current = subentry.data.get(CONF_PREDICTION) or {}
        predictors = get_predictors(self.hass)
        schema = vol.Schema(
            {
                vol.Required(CONF_PREDICT_ENABLED, default=False): bool,
                vol.Required(CONF_PREDICTOR, default=DEFAULT_PREDICTOR): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[
                            selector.SelectOptionDict(value=pid, label=p.name)
                            for pid, p in predictors.items()
                        ],
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(FIELD_HORIZON_MIN, default=DEFAULT_HORIZON_S // 60): _number(
                    HORIZON_MIN_S // 60, HORIZON_MAX_S // 60, 1
                ),
                vol.Required(FIELD_REFIT_MIN, default=DEFAULT_REFIT_S // 60): _number(
                    REFIT_MIN_S // 60, REFIT_MAX_S // 60, 1
                ),
            }
        )
        suggested = {
            CONF_PREDICT_ENABLED: current.get(CONF_PREDICT_ENABLED, False),
            CONF_PREDICTOR: current.get(CONF_PREDICTOR, DEFAULT_PREDICTOR),
            FIELD_HORIZON_MIN: current.get(CONF_HORIZON_S, DEFAULT_HORIZON_S) / 60,
            FIELD_REFIT_MIN: current.get(CONF_REFIT_S, DEFAULT_REFIT_S) / 60,
        }
        return self.async_show_form(
            step_id="predictions",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            description_placeholders={"name": subentry.title},
        )

    async def async_step_calibrate(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Capture the live raw reading at a reference point (buffer pH 7, then pH 4, ...)."""
        subentry = self._get_reconfigure_subentry()
        channel = self._entry.runtime_data.channels.get(subentry.subentry_id)
        errors: dict[str, str] = {}
        live = None
        if channel is not None and channel.raw is not None and channel.available:
            try:
                live = self._processor.calibration_value(channel.raw)  # type: ignore[arg-type]
            except TypeError:
                live = None
        if user_input is not None:
            if live is None:
                errors["base"] = "no_reading"
            else:
                reference = float(user_input[CONF_REFERENCE])
                points = [p for p in self._points if p.reference != reference]
                points.append(CalibrationPoint(raw=live, reference=reference))
                problem = calibration_problem(Calibration(points=tuple(points)))
                if problem is None:
                    self._points = points
                    return await self.async_step_calibrate_next()
                errors["base"] = problem
        return self.async_show_form(
            step_id="calibrate",
            data_schema=vol.Schema({vol.Required(CONF_REFERENCE): _number()}),
            errors=errors,
            description_placeholders={
                "name": subentry.title,
                "raw": "-" if live is None else f"{live:g}",
                "points": ", ".join(f"{p.reference:g} ← {p.raw:g}" for p in self._points) or "-",
                "unit": self._processor.unit or "",
            },
        )

    async def async_step_calibrate_next(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Another point, or save."""
        options = ["calibrate", "calibrate_save"] if self._points else ["calibrate"]
        return self.async_show_menu(
            step_id="calibrate_next",
            menu_options=options,
            description_placeholders={
                "points": ", ".join(f"{p.reference:g} ← {p.raw:g}" for p in self._points)
            },
        )

    async def async_step_calibrate_save(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Store the points with the temperature and the date."""
        subentry = self._get_reconfigure_subentry()
        channel = self._entry.runtime_data.channels.get(subentry.subentry_id)
        temperature = channel.temperature_c() if channel is not None else None
        calibration = new_calibration(
            self._points,
            temperature_c=temperature,
            created=dt_util.utcnow().isoformat(timespec="seconds"),
        )
        return self.async_update_and_abort(
            self._entry, subentry, data=with_calibration(subentry.data, calibration)
        )


def _sensor_unique_id(data: dict[str, Any], quantity: str | None) -> str:
    """`gpio:addr`, and the quantity for one of a chip's several (SHT31 temperature)."""
    unique_id = f"{data[CONF_GPIO]}:{data.get(CONF_ADDR, '')}"
    return f"{unique_id}:{quantity}" if quantity else unique_id


# Safety limits of an actuator: (key, default, maximum); 0 means no limit.
ACTUATOR_LIMITS = (
    (CONF_MAX_RUNTIME_S, 0, LIMIT_MAX_S),
    (CONF_COOLDOWN_S, 0, LIMIT_MAX_S),
    (CONF_MAX_PER_HOUR, 0, LIMIT_MAX_PER_HOUR),
    (CONF_FAILSAFE_S, 0, LIMIT_MAX_S),
)


class ActuatorSubentryFlow(_PinSubentryFlow):
    """Add an actuator: type and name, then pin, logic and safety limits; reconfigure."""

    def _unique_id(self, data: dict[str, Any]) -> str:
        return _actuator_unique_id(data)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the actuator type and a name."""
        if user_input is not None:
            self._type = user_input[CONF_ACTUATOR_TYPE]
            self._name = user_input.get(CONF_NAME) or user_input[CONF_ACTUATOR_TYPE].title()
            return await self.async_step_settings()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ACTUATOR_TYPE): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=list(ACTUATOR_TYPES), translation_key="actuator_type"
                        )
                    ),
                    vol.Optional(CONF_NAME): str,
                }
            ),
        )

    def _settings_schema(self, current: dict[str, Any], exclude: str | None) -> vol.Schema:
        assert self._type is not None
        pins = [
            str(p)
            for p in free_actuator_pins(
                self._entry, get_processors(self.hass), self._type, exclude_subentry=exclude
            )
        ]
        if CONF_GPIO in current and str(current[CONF_GPIO]) not in pins:
            pins.insert(0, str(current[CONF_GPIO]))
        fields: dict[Any, Any] = {
            vol.Required(CONF_GPIO): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=pins, mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Required(CONF_INVERTED, default=False): bool,
            vol.Required(CONF_SAFE_STATE, default=0): _number(0, 255, 1),
        }
        for key, default, maximum in ACTUATOR_LIMITS:
            fields[vol.Required(key, default=default)] = _number(0, maximum, 1)
        fields |= self._corrector_fields()
        suggested = {k: str(v) if k == CONF_GPIO else v for k, v in current.items()}
        return self.add_suggested_values_to_schema(vol.Schema(fields), suggested)

    def _data_from(self, user_input: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            CONF_ACTUATOR_TYPE: self._type,
            CONF_GPIO: int(user_input[CONF_GPIO]),
            CONF_INVERTED: bool(user_input[CONF_INVERTED]),
            CONF_SAFE_STATE: int(user_input[CONF_SAFE_STATE]),
        }
        for key, _, _ in ACTUATOR_LIMITS:
            data[key] = int(user_input[key])
        if user_input.get(CONF_CORRECTS):
            # Linked to correct a sensor (recommendations.py): how much one dose is.
            data[CONF_CORRECTS] = user_input[CONF_CORRECTS]
            data[CONF_DIRECTION] = user_input.get(CONF_DIRECTION, "up")
            data[CONF_DOSE_S] = float(user_input.get(CONF_DOSE_S, DEFAULT_DOSE_S))
            data[CONF_MAX_DOSES_PER_DAY] = int(user_input.get(CONF_MAX_DOSES_PER_DAY, 0))
            data[CONF_INTERLOCK_GROUP] = (user_input.get(CONF_INTERLOCK_GROUP) or "").strip()
            data[CONF_INTERLOCK_MIN] = int(user_input.get(CONF_INTERLOCK_MIN, 0))
        return data

    def _corrector_fields(self) -> dict[Any, Any]:
        """Optional: the sensor this actuator corrects, which way, and the dosing limits."""
        sensors = [
            selector.SelectOptionDict(value=sid, label=sub.title)
            for sid, sub in self._entry.subentries.items()
            if sub.subentry_type == SUBENTRY_SENSOR
        ]
        return {
            vol.Optional(CONF_CORRECTS): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=sensors, mode=selector.SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Optional(CONF_DIRECTION, default="up"): selector.SelectSelector(
                selector.SelectSelectorConfig(options=["up", "down"], translation_key="direction")
            ),
            vol.Optional(CONF_DOSE_S, default=DEFAULT_DOSE_S): _number(0.1, 3600),
            vol.Optional(CONF_MAX_DOSES_PER_DAY, default=0): _number(0, 1000, 1),
            vol.Optional(CONF_INTERLOCK_GROUP): selector.TextSelector(),
            vol.Optional(CONF_INTERLOCK_MIN, default=0): _number(0, 1440, 1),
        }

    def _validate(self, data: dict[str, Any], exclude: str | None) -> dict[str, str]:
        assert self._type is not None
        errors = validate_actuator_pin(
            self._entry, get_processors(self.hass), self._type, data[CONF_GPIO], exclude
        )
        if self._type != "pwm" and data[CONF_SAFE_STATE] not in (0, 255):
            errors[CONF_SAFE_STATE] = "safe_state_digital"
        return errors

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Move the actuator or change its limits (the device gets them at once)."""
        self._type = self._get_reconfigure_subentry().data[CONF_ACTUATOR_TYPE]
        return await self._async_reconfigure("reconfigure", user_input)


def _actuator_unique_id(data: dict[str, Any]) -> str:
    return f"actuator:{data[CONF_GPIO]}"


SUBENTRY_FLOWS = {SUBENTRY_SENSOR: SensorSubentryFlow, SUBENTRY_ACTUATOR: ActuatorSubentryFlow}
