"""The processor interface: what every built-in and user plug-in processor provides.

A processor turns the raw reading a device sends for one sensor (an ADC count, a number such as
a distance, or the raw words of a digital sensor) into a physical value with a unit and a
quality flag. It never imports Home Assistant: HA metadata (device class, state class) are
plain strings the sensor entity passes on.

Two entry points, with the same results (tests check it):
- `process(raw, ...)` for one live reading (pure Python on the hot path, no numpy per call);
- `process_batch(raw_array, ...)` for arrays (buffer replays, backtests, benchmarks):
  returns `(values: float64 array, quality: uint8 array of QUALITY_CODES)`; a reading without a
  usable value is NaN.

Quality codes are ordered by severity, so `np.maximum` combines two flags into the worse one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..protocol import Quality

type FloatArray = npt.NDArray[np.float64]
type QualityArray = npt.NDArray[np.uint8]
type RawValue = float | int | tuple[int, ...]
type ParamValue = float | int | str | bool
type Params = Mapping[str, ParamValue]
# One raw reading (and the compensation temperature, °C) to its result, with a calibration and
# params bound: what a sensor calls per reading (`Processor.evaluator`).
type Evaluator = Callable[[RawValue, float | None], Result]

# Small-int quality codes for batches, ordered by severity (max = worst).
Q_GOOD: Final = 0
Q_UNCALIBRATED: Final = 1
Q_SUSPECT: Final = 2
Q_STALE: Final = 3
Q_BAD: Final = 4
QUALITY_CODES: Final[tuple[Quality, ...]] = (
    Quality.GOOD,
    Quality.UNCALIBRATED,
    Quality.SUSPECT,
    Quality.STALE,
    Quality.BAD,
)
QUALITY_CODE: Final[Mapping[Quality, int]] = {q: i for i, q in enumerate(QUALITY_CODES)}


def quality_of(code: int) -> Quality:
    """The Quality of a batch quality code."""
    return QUALITY_CODES[code]


def worst(a: Quality, b: Quality) -> Quality:
    """The more severe of two quality flags (good < uncalibrated < suspect < stale < bad)."""
    return a if QUALITY_CODE[a] >= QUALITY_CODE[b] else b


class RawKind(StrEnum):
    """Which raw input a processor takes (what the device puts into `raw`)."""

    ADC = "adc"  # a 12-bit ADC count 0-4095 of an ESP32 pin
    NUMBER = "number"  # any number (a distance in cm, a pulse count, a digital level)
    WORDS = "words"  # the raw 16-bit words of a digital sensor (DS18B20 scratchpad, SHT31)


class ParamKind(StrEnum):
    """How the UI offers a parameter."""

    NUMBER = "number"
    SELECT = "select"
    BOOL = "bool"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Param:
    """One configuration parameter of a processor (the UI builds its form from these)."""

    key: str
    default: ParamValue
    kind: ParamKind = ParamKind.NUMBER
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(slots=True)
class Result:
    """One processed reading. `value` is None when the raw reading carries no usable value.

    Not frozen: one is made per reading on the ingest path, and a frozen dataclass costs about
    three times as much to construct. Treat it as read-only.
    """

    value: float | None
    unit: str | None
    quality: Quality


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """One captured reference point.

    `raw` is what `processor.calibration_value(raw_reading)` returned when the point was
    captured (the ADC count for ADC sensors, the uncorrected value for digital ones);
    `reference` is the true value in the processor's unit (pH 7.0, 1413 µS/cm, 0 % ...).
    """

    raw: float
    reference: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """The stored calibration of one sensor: points, temperature and date of capture.

    `temperature_c` is the temperature of the reference solution when the points were taken
    (pH, EC); None means 25 °C. `degree` is the polynomial degree for processors that fit a
    polynomial (`linear`, `analog`, corrections of digital sensors); it is lowered to
    `len(points) - 1` when there are fewer points. Frozen and hashable: processors cache what
    they derive from it.
    """

    points: tuple[CalibrationPoint, ...]
    temperature_c: float | None = None
    created: str | None = None  # ISO 8601 date/time of capture, for the UI
    degree: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for HA's Store / config entry data)."""
        return {
            "points": [[p.raw, p.reference] for p in self.points],
            "temperature_c": self.temperature_c,
            "created": self.created,
            "degree": self.degree,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Inverse of `to_dict`; raises ValueError on a malformed dict."""
        try:
            points = tuple(CalibrationPoint(float(raw), float(ref)) for raw, ref in data["points"])
            temp = data.get("temperature_c")
            return cls(
                points=points,
                temperature_c=None if temp is None else float(temp),
                created=data.get("created"),
                degree=int(data.get("degree", 1)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed calibration: {err}") from err


@runtime_checkable
class Processor(Protocol):
    """What every processor provides (built-ins and user plug-ins).

    Attributes:
        id: registry key, `[a-z0-9_]{1,24}` (also used as sensor type in the UI).
        name: human-readable name.
        unit: unit of the processed value (`pH`, `°C`, `µS/cm`, `%`, `lx`, `cm`, `V`) or None.
        device_class / state_class: HA's `SensorDeviceClass` / `SensorStateClass` values as
            plain strings (`"temperature"`, `"measurement"`) or None.
        raw_kind: a RawKind value: what the device puts into `raw`.
        device_type: the `type` of the sensor in the device `config` (tells the device how to
            read the pin: `ph`, `soil`, `ds18b20`, `sht31`, `analog` ...).
        needs_calibration: readings are `uncalibrated` until a calibration is given.
        quantities: for a device type that measures several quantities (an SHT31: temperature
            and humidity), all of them in the device's order, `[a-z_]{1,16}` each; () for one.
            Each quantity is one processor (one HA entity, its own calibration) of that device
            type, all decoding the same raw reading; processed on the device, a reading's
            `quantity` field says which one it is (none: the first).
        quantity: which of `quantities` this processor gives (None for a one-value type).
        uses_temperature: `temperature_c` compensates the reading (pH, EC).
        params: configuration parameters with defaults.
        sample_raw: a plausible raw reading (the plug-in loader's trial call uses it).
        display_precision: suggested decimals for display (HA's suggested_display_precision)
            or None.
    """

    id: str
    name: str
    unit: str | None
    device_class: str | None
    state_class: str | None
    raw_kind: str
    device_type: str
    needs_calibration: bool
    quantities: tuple[str, ...]
    quantity: str | None
    uses_temperature: bool
    params: tuple[Param, ...]
    sample_raw: RawValue
    display_precision: int | None

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """Process one raw reading. Never raises for a bad reading: it flags it."""
        ...

    def evaluator(self, calibration: Calibration | None, params: Params | None) -> Evaluator:
        """`process` with `calibration` and `params` bound (the same results), for a sensor
        that processes every reading with the same ones."""
        ...

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | npt.NDArray[np.float64] | None = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Process an array of raw readings (shape (n,) or (n, words)) at once."""
        ...

    def calibration_value(self, raw: RawValue) -> float:
        """The number stored as `CalibrationPoint.raw` when `raw` is captured at a point."""
        ...


class BaseProcessor:
    """Convenience base for processors (and user plug-ins).

    A subclass sets the class attributes and implements `process`; `process_batch` falls back
    to a loop over `process` (built-ins override it with vectorised numpy code), and
    `calibration_value` returns the raw number.
    """

    id: str = ""
    name: str = ""
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = "measurement"
    raw_kind: str = RawKind.ADC
    device_type: str = "analog"
    needs_calibration: bool = False
    quantities: tuple[str, ...] = ()
    quantity: str | None = None
    uses_temperature: bool = False
    params: tuple[Param, ...] = ()
    sample_raw: RawValue = 2048
    display_precision: int | None = None

    def param(self, params: Params | None, key: str) -> ParamValue:
        """The value of parameter `key` from `params`, else its declared default."""
        if params is not None and key in params:
            return params[key]
        for p in self.params:
            if p.key == key:
                return p.default
        raise KeyError(key)

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """Process one raw reading (subclasses implement it)."""
        raise NotImplementedError

    def evaluator(self, calibration: Calibration | None, params: Params | None) -> Evaluator:
        """`process` with `calibration` and `params` bound (a built-in may bind its model)."""

        def evaluate(raw: RawValue, temperature_c: float | None) -> Result:
            return self.process(
                raw, calibration=calibration, params=params, temperature_c=temperature_c
            )

        return evaluate

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | npt.NDArray[np.float64] | None = None,
    ) -> tuple[FloatArray, QualityArray]:
        """Loop over `process` (correct, not fast; built-ins vectorise)."""
        n = len(raw)
        values = np.full(n, np.nan)
        quality = np.zeros(n, dtype=np.uint8)
        temps = _temperatures(temperature_c, n)
        for i in range(n):
            item = raw[i]
            r: RawValue = tuple(int(w) for w in item) if np.ndim(item) else _scalar(item)
            res = self.process(
                r,
                calibration=calibration,
                params=params,
                temperature_c=None if temps is None else float(temps[i]),
            )
            values[i] = np.nan if res.value is None else res.value
            quality[i] = QUALITY_CODE[res.quality]
        return values, quality

    def calibration_value(self, raw: RawValue) -> float:
        """The raw number itself (ADC count or number); words have no scalar form."""
        if isinstance(raw, tuple):
            raise TypeError(f"{self.id}: raw words have no calibration value")
        return float(raw)


def check_params(processor: Processor, params: Params) -> dict[str, str]:
    """Problems of `params` for `processor`, as `{key: code}` (empty when valid).

    Codes: `unknown` (no such parameter), `wrong_type`, `invalid_option` (a select value not in
    its options), `out_of_range` (a number outside minimum/maximum).
    """
    spec = {p.key: p for p in processor.params}
    errors: dict[str, str] = {}
    for key, value in params.items():
        param = spec.get(key)
        if param is None:
            errors[key] = "unknown"
        elif param.kind == ParamKind.SELECT:
            if value not in param.options:
                errors[key] = "invalid_option"
        elif param.kind == ParamKind.BOOL:
            if not isinstance(value, bool):
                errors[key] = "wrong_type"
        elif param.kind == ParamKind.TEXT:
            if not isinstance(value, str):
                errors[key] = "wrong_type"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            errors[key] = "wrong_type"
        elif not math.isfinite(value) or (
            (param.minimum is not None and value < param.minimum)
            or (param.maximum is not None and value > param.maximum)
        ):
            errors[key] = "out_of_range"
    return errors


def _scalar(item: Any) -> float | int:
    value = item.item() if hasattr(item, "item") else item
    if isinstance(value, int | float):
        return value
    return float(value)


def _temperatures(
    temperature_c: float | npt.NDArray[np.float64] | None, n: int
) -> FloatArray | None:
    if temperature_c is None:
        return None
    return np.broadcast_to(np.asarray(temperature_c, dtype=np.float64), (n,))


def as_words(raw: RawValue | Sequence[int]) -> tuple[int, ...] | None:
    """`raw` as a tuple of ints, or None when it is a number."""
    if isinstance(raw, int | float):
        return None
    return tuple(int(w) for w in raw)
