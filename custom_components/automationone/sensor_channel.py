"""One configured sensor: routes its readings through its processor to its entities.

The sensor entity and its threshold binary sensors render a channel; the channel is fed by the
device's reading router, so a reading is processed once whatever listens to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import logging
import time
from typing import Any

from .const import (
    CONF_ADDR,
    CONF_CALIBRATION,
    CONF_CRITICAL_HIGH,
    CONF_CRITICAL_LOW,
    CONF_ECHO,
    CONF_FILTER,
    CONF_GPIO,
    CONF_INTERVAL_S,
    CONF_MODE,
    CONF_PARAMS,
    CONF_TEMPERATURE_ENTITY,
    CONF_WARNING_HIGH,
    CONF_WARNING_LOW,
    MODE_PROCESSED,
    MODE_RAW,
    STALE_INTERVALS,
)
from .processors import (
    Calibration,
    Evaluator,
    Filter,
    Processor,
    Result,
    adc_model_for,
    make_filter,
    worst,
)
from .processors.base import Params
from .protocol import (
    ErrorCode,
    Processed,
    ProtocolError,
    Quality,
    Reading,
    SensorData,
    TopicKind,
    encode,
)
from .protocol.device import DeviceState
from .temperature_source import SourceTemperature

_LOGGER = logging.getLogger(__name__)

type TemperatureFn = Callable[[str], SourceTemperature]
"""Reads a temperature (°C) from another entity by its id, or why there is none."""

COMPENSATED = "applied"

type ReplayListener = Callable[[int, Result], None]
"""Called with the device time (Unix ms) and the processed result of a replayed reading."""


@dataclass(slots=True)
class SensorChannel:
    """The processing state of one sensor subentry."""

    subentry_id: str
    title: str
    data: Mapping[str, Any]
    processor: Processor
    device: DeviceState
    temperature: TemperatureFn
    result: Result | None = None
    raw: object = None
    last_rx: float | None = None
    stale: bool = True
    refused: str | None = None
    calibration: Calibration | None = None
    filter: Filter | None = None
    # Temperature compensation: `applied`, why not (the source's problem), or None (unused).
    compensation: str | None = None
    # "no readings" logged (once), "readings again" not yet
    stale_logged: bool = False
    _params: Params | None = None
    _params_for: object = None
    # From `data`, read once instead of per reading.
    _processed_mode: bool = False
    _echo: bool = False
    _compensated: bool = False  # the type compensates and a temperature source is set
    # The processor with the params and calibration it was bound to (rebound when they change).
    _evaluate: Evaluator | None = None
    _bound: tuple[object, object] = (None, None)
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    _replay_listeners: list[ReplayListener] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Read the stored calibration and make the filter once."""
        if (stored := self.data.get(CONF_CALIBRATION)) is not None:
            self.calibration = Calibration.from_dict(stored)
        self.filter = make_filter(self.data.get(CONF_FILTER, "none"))
        self._read_flags()

    def _read_flags(self) -> None:
        self._processed_mode = self.data.get(CONF_MODE, MODE_RAW) == MODE_PROCESSED
        self._echo = bool(self.data.get(CONF_ECHO))
        self._compensated = bool(
            self.processor.uses_temperature and self.data.get(CONF_TEMPERATURE_ENTITY)
        )
        if not self._compensated:
            self.compensation = None

    def set_data(self, data: Mapping[str, Any]) -> None:
        """The subentry's new data with a new (or no) calibration, applied from the next
        reading on; the filter's state and the last value stay."""
        self.data = data
        stored = data.get(CONF_CALIBRATION)
        self.calibration = None if stored is None else Calibration.from_dict(stored)
        self._read_flags()

    def params(self) -> Params:
        """The user's parameters over the ADC model that fits the device's announce."""
        announce = self.device.announce
        if self._params is None or self._params_for is not announce:
            board = announce.board if announce else None
            self._params = {"adc": adc_model_for(board), **self.data.get(CONF_PARAMS, {})}
            self._params_for = announce
        return self._params

    @property
    def key(self) -> tuple[int, str | None]:
        """The device's (gpio, addr) of this sensor."""
        return (self.data[CONF_GPIO], self.data.get(CONF_ADDR) or None)

    @property
    def available(self) -> bool:
        """Fresh readings from an online device that accepted the pin."""
        return self.device.available and not self.stale and self.refused is None

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the result or availability changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_replay_listener(self, listener: ReplayListener) -> Callable[[], None]:
        """Call `listener` with every replayed reading that has a device time and a value."""
        self._replay_listeners.append(listener)
        return lambda: self._replay_listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def on_reading(self, reading: Reading, message: SensorData, now: float) -> None:
        """Process one reading; listeners hear of it only when something shown changed."""
        if (reading.value is not None) != self._processed_mode:
            self.device.reject_reading(self._mode_mismatch(reading))
            return
        if message.replay:
            # Buffered history goes to statistics for its time; it never moves the live state.
            if message.ts and self._replay_listeners and self._is_mine(reading):
                replayed = self._process(reading)
                if replayed.value is not None:
                    for replay_listener in list(self._replay_listeners):
                        replay_listener(message.ts, replayed)
            return
        if self.processor.quantity is not None and not self._is_mine(reading):
            return
        self.last_rx = now
        compensation = self.compensation
        result = self._process(reading)
        if reading.value is None and self.filter is not None and result.value is not None:
            result = Result(self.filter.update(result.value), result.unit, result.quality)
        # A new raw value (the raw sensor shows it) decides most readings: checked first.
        changed = (
            reading.raw != self.raw
            or self.stale
            or self.compensation != compensation
            or result != self.result
        )
        self.raw = reading.raw
        self.result = result
        self.stale = False
        if self.stale_logged:
            self.stale_logged = False
            _LOGGER.info(
                "%s (GPIO %s) of %s sends readings again",
                self.title,
                reading.gpio,
                self.device.esp_id,
            )
        if changed:
            self._notify()
        if self._echo and result.value is not None and result.unit is not None:
            self.device_publish_processed(message.seq, result)

    def _process(self, reading: Reading) -> Result:
        """The reading's result without the live filter."""
        if reading.value is not None:  # processed on the device
            return Result(reading.value, reading.unit, Quality(reading.quality or "good"))
        assert reading.raw is not None
        params, calibration = self.params(), self.calibration
        evaluate, bound = self._evaluate, self._bound
        if evaluate is None or bound[0] is not params or bound[1] is not calibration:
            evaluate = self._evaluate = self.processor.evaluator(calibration, params)
            self._bound = (params, calibration)
        result = evaluate(reading.raw, self.temperature_c() if self._compensated else None)
        if self.compensation not in (None, COMPENSATED) and result.quality is Quality.GOOD:
            # Compensation was asked for but the source has no usable value.
            result = Result(result.value, result.unit, Quality.SUSPECT)
        if reading.quality is not None:  # the device's flag counts too: keep the worse
            quality = worst(result.quality, Quality(reading.quality))
            result = Result(result.value, result.unit, quality)
        return result

    def _is_mine(self, reading: Reading) -> bool:
        """Processed on the device: one reading per quantity of the chip (none: the first)."""
        mine = self.processor.quantity
        return (
            mine is None
            or reading.value is None
            or (reading.quantity or self.processor.quantities[0]) == mine
        )

    def _mode_mismatch(self, reading: Reading) -> ProtocolError:
        sent, wanted = ("value", "raw") if reading.value is not None else ("raw", "value")
        return ProtocolError(
            ErrorCode.MODE_MISMATCH,
            sent,
            f"{self.title} (GPIO {reading.gpio}) is set to send {wanted}",
        )

    def temperature_c(self) -> float | None:
        """The compensation temperature (°C) from the configured entity, if the type uses it."""
        source = self.data.get(CONF_TEMPERATURE_ENTITY)
        if not self.processor.uses_temperature or not source:
            self.compensation = None
            return None
        found = self.temperature(source)
        self.compensation = found.problem or COMPENSATED
        return found.celsius

    def device_publish_processed(self, seq: int, result: Result) -> None:
        """Echo the processed value to the device (for its display or local logic)."""
        assert result.value is not None
        assert result.unit is not None
        gpio, addr = self.key
        payload = encode(
            Processed(
                value=result.value, unit=result.unit, quality=result.quality, seq=seq, addr=addr
            )
        )
        self.device.schedule_publish(self.device.topic(TopicKind.PROCESSED, gpio), payload)

    def check_stale(self, now: float | None = None) -> None:
        """Mark the sensor stale after STALE_INTERVALS intervals without a reading."""
        now = time.monotonic() if now is None else now
        limit = STALE_INTERVALS * float(self.data[CONF_INTERVAL_S])
        stale = self.last_rx is None or now - self.last_rx > limit
        if stale != self.stale:
            self.stale = stale
            if stale and self.device.available and not self.stale_logged:
                # Logged once, and only while the device is online: an offline device is
                # logged by itself, not once per sensor.
                self.stale_logged = True
                _LOGGER.info(
                    "%s (GPIO %s) of %s sent no reading for %d s: unavailable until it does",
                    self.title,
                    self.data[CONF_GPIO],
                    self.device.esp_id,
                    limit,
                )
            self._notify()

    def set_refused(self, error: str | None) -> None:
        """The device refused (error code) or accepted (None) this sensor's pin."""
        if error != self.refused:
            self.refused = error
            self._notify()

    def threshold_state(self, level: str) -> bool | None:
        """True when the value is outside the warning or critical band of `level`."""
        low_key, high_key = (
            (CONF_WARNING_LOW, CONF_WARNING_HIGH)
            if level == "warning"
            else (CONF_CRITICAL_LOW, CONF_CRITICAL_HIGH)
        )
        if self.result is None or self.result.value is None:
            return None
        value = self.result.value
        low, high = self.data.get(low_key), self.data.get(high_key)
        return (low is not None and value < low) or (high is not None and value > high)

    def has_thresholds(self, level: str) -> bool:
        """Whether `level` has a band configured."""
        keys = (
            (CONF_WARNING_LOW, CONF_WARNING_HIGH)
            if level == "warning"
            else (CONF_CRITICAL_LOW, CONF_CRITICAL_HIGH)
        )
        return any(self.data.get(k) is not None for k in keys)
