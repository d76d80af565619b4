"""User processor plug-ins: Python files in a folder, checked against the processor interface.

Contract of a plug-in file `<name>.py` (see `docs` of BaseProcessor):

    from custom_components.automationone.processors import BaseProcessor, Result, Quality

    class Co2(BaseProcessor):
        id = "co2_mg811"; name = "CO2 (MG-811)"; unit = "ppm"
        device_class = "carbon_dioxide"; device_type = "analog"
        sample_raw = 2048
        def process(self, raw, *, calibration=None, params=None, temperature_c=None):
            return Result(float(raw) * 2.0, self.unit, Quality.GOOD)

    PROCESSOR = Co2()          # or PROCESSORS = [Co2(), ...]

Each processor must have the attributes of the `Processor` protocol (`id` matching
`[a-z0-9_]{1,24}`, `name`, `unit`, `device_class`, `state_class`, `raw_kind`, `device_type`,
`sample_raw`; `needs_calibration`, `uses_temperature` and `params` default to False/False/();
`quantities` and `quantity` (a multi-value sensor, see `Processor`) to ()/None)
and a callable `process`; `process_batch` and `calibration_value` are optional (a loop over
`process` and `float(raw)` stand in). A trial call `process(sample_raw)` must return a Result
with a finite number or None and a quality flag. Plug-ins run in-process with the
integration's rights, like any custom component; the loader only keeps a broken file from
breaking the rest. `load_plugins` does file I/O: call it in an executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import importlib.util
import math
from pathlib import Path
import re
import sys
import traceback
from types import ModuleType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ..protocol import Quality
from .base import (
    BaseProcessor,
    Calibration,
    FloatArray,
    Params,
    Processor,
    QualityArray,
    RawKind,
    RawValue,
    Result,
)
from .registry import ID_PATTERN, Identified, IdRegistry, Registry, builtin_registry

MODULE_PREFIX: Final = "automationone_user_processor_"
QUANTITY_PATTERN: Final = re.compile(r"^[a-z_]{1,16}$")
_REQUIRED: Final = ("id", "name", "unit", "device_class", "state_class", "device_type")
_OPTIONAL_DEFAULTS: Final[dict[str, Any]] = {
    "raw_kind": RawKind.ADC,
    "needs_calibration": False,
    "quantities": (),
    "quantity": None,
    "uses_temperature": False,
    "params": (),
    "sample_raw": 2048,
    "display_precision": None,
}


@dataclass(frozen=True, slots=True)
class PluginError:
    """Why one plug-in file (or one processor or predictor in it) was not loaded.

    code: `syntax_error`, `import_error`, `no_processor` (`no_predictor`), `missing_attribute`,
    `bad_attribute`, `not_callable`, `trial_failed`, `bad_result`, `id_clash`.
    """

    path: Path
    code: str
    message: str
    line: int | None = None
    processor_id: str | None = None

    def __str__(self) -> str:
        """`file:line: code: message`."""
        where = f"{self.path.name}:{self.line}" if self.line else self.path.name
        return f"{where}: {self.code}: {self.message}"


class PluginProcessor(BaseProcessor):
    """Wraps a duck-typed plug-in object so it has the full `Processor` interface."""

    def __init__(self, inner: Any, source: Path) -> None:
        """Copy the plug-in's attributes, filling optional ones with defaults."""
        self.inner = inner
        self.source = source
        self.id = inner.id
        self.name = inner.name
        self.unit = inner.unit
        self.device_class = inner.device_class
        self.state_class = inner.state_class
        self.device_type = inner.device_type
        for key, default in _OPTIONAL_DEFAULTS.items():
            setattr(self, key, getattr(inner, key, default))
        self.params = tuple(self.params)
        self.quantities = tuple(self.quantities)
        self._batch = getattr(inner, "process_batch", None)
        self._cal_value = getattr(inner, "calibration_value", None)

    def process(
        self,
        raw: RawValue,
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | None = None,
    ) -> Result:
        """The plug-in's process."""
        result: Result = self.inner.process(
            raw, calibration=calibration, params=params, temperature_c=temperature_c
        )
        return result

    def process_batch(
        self,
        raw: npt.NDArray[Any],
        *,
        calibration: Calibration | None = None,
        params: Params | None = None,
        temperature_c: float | npt.NDArray[np.float64] | None = None,
    ) -> tuple[FloatArray, QualityArray]:
        """The plug-in's process_batch, else a loop over process."""
        if callable(self._batch):
            values, quality = self._batch(
                raw, calibration=calibration, params=params, temperature_c=temperature_c
            )
            return np.asarray(values, dtype=np.float64), np.asarray(quality, dtype=np.uint8)
        return super().process_batch(
            raw, calibration=calibration, params=params, temperature_c=temperature_c
        )

    def calibration_value(self, raw: RawValue) -> float:
        """The plug-in's calibration_value, else float(raw)."""
        if callable(self._cal_value):
            return float(self._cal_value(raw))
        return super().calibration_value(raw)


def error_line(err: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename == str(path):
            return frame.lineno
    return None


def _import(path: Path, prefix: str) -> ModuleType | PluginError:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return PluginError(path, "import_error", f"cannot read the file: {err}")
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as err:
        return PluginError(path, "syntax_error", err.msg, err.lineno)
    name = prefix + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        return PluginError(path, "import_error", "not importable")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        exec(code, module.__dict__)  # noqa: S102 - user plug-ins are trusted like custom code
    except Exception as err:  # noqa: BLE001 - any error of a plug-in becomes its report
        sys.modules.pop(name, None)
        return PluginError(
            path, "import_error", f"{type(err).__name__}: {err}", error_line(err, path)
        )
    return module


def check_processor(obj: Any, path: Path) -> PluginError | None:
    """Why `obj` does not satisfy the processor interface (None when it does)."""
    pid = getattr(obj, "id", None)
    label = pid if isinstance(pid, str) else None
    for attr in _REQUIRED:
        if not hasattr(obj, attr):
            return PluginError(path, "missing_attribute", f"no attribute {attr!r}", None, label)
    if not isinstance(pid, str) or not ID_PATTERN.match(pid):
        return PluginError(
            path, "bad_attribute", f"id {pid!r} must match {ID_PATTERN.pattern}", None, label
        )
    for attr in ("name", "device_type"):
        if not isinstance(getattr(obj, attr), str) or not getattr(obj, attr):
            return PluginError(
                path, "bad_attribute", f"{attr} must be a non-empty string", None, pid
            )
    for attr in ("unit", "device_class", "state_class"):
        value = getattr(obj, attr)
        if value is not None and not isinstance(value, str):
            return PluginError(path, "bad_attribute", f"{attr} must be a string or None", None, pid)
    quantities = tuple(getattr(obj, "quantities", ()))
    quantity = getattr(obj, "quantity", None)
    if not all(isinstance(q, str) and QUANTITY_PATTERN.match(q) for q in quantities) or (
        (quantity is None) != (not quantities)
        or (quantity is not None and quantity not in quantities)
    ):
        return PluginError(
            path, "bad_attribute", "quantity must be one of quantities ([a-z_]{1,16})", None, pid
        )
    inherited = isinstance(obj, BaseProcessor) and type(obj).process is BaseProcessor.process
    if not hasattr(obj, "process") or inherited:
        return PluginError(path, "missing_attribute", "no method 'process'", None, pid)
    if not callable(obj.process):
        return PluginError(path, "not_callable", "'process' is not callable", None, pid)
    return None


def _trial(processor: Processor, path: Path) -> PluginError | None:
    try:
        result = processor.process(processor.sample_raw)
    except Exception as err:  # noqa: BLE001 - a raising plug-in becomes its report
        return PluginError(
            path,
            "trial_failed",
            f"process({processor.sample_raw!r}) raised {type(err).__name__}: {err}",
            error_line(err, path),
            processor.id,
        )
    value = getattr(result, "value", math.nan)
    quality = getattr(result, "quality", None)
    value_ok = value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )
    if not value_ok or quality not in tuple(Quality):
        return PluginError(
            path,
            "bad_result",
            f"process({processor.sample_raw!r}) returned {result!r}: expected a Result with a "
            "finite value or None and a quality flag",
            None,
            processor.id,
        )
    return None


@dataclass(frozen=True, slots=True)
class PluginKind[T]:
    """What tells one kind of plug-in from another (processors, predictors) for the loader.

    A file defines `<SINGULAR>` or `<SINGULAR>S` (e.g. PROCESSOR / PROCESSORS); `check` says
    why an object is not of the kind, `wrap` gives it the full interface, `trial` tries it.
    """

    noun: str  # "processor": in error codes (`no_processor`) and messages
    module_prefix: str
    check: Callable[[Any, Path], PluginError | None]
    wrap: Callable[[Any, Path], T]
    trial: Callable[[T, Path], PluginError | None]

    @property
    def singular(self) -> str:
        """The module attribute holding one plug-in."""
        return self.noun.upper()


def load_plugin_dir[T: Identified](
    directory: Path, registry: IdRegistry[T], kind: PluginKind[T]
) -> tuple[list[T], list[PluginError]]:
    """Import every `*.py` in `directory`, check its plug-ins of `kind`, register the valid ones.

    Returns the loaded plug-ins and one PluginError per broken file or plug-in, in file-name
    order. Never raises for a bad plug-in; a missing directory yields nothing. Files starting
    with `_` or `.` are skipped.
    """
    loaded: list[T] = []
    errors: list[PluginError] = []
    if not directory.is_dir():
        return loaded, errors
    one, many = kind.singular, f"{kind.singular}S"
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith(("_", ".")):
            continue
        module = _import(path, kind.module_prefix)
        if isinstance(module, PluginError):
            errors.append(module)
            continue
        candidates: list[Any]
        if hasattr(module, many):
            try:
                candidates = list(getattr(module, many))
            except TypeError:
                errors.append(PluginError(path, "bad_attribute", f"{many} is not iterable"))
                continue
        elif hasattr(module, one):
            candidates = [getattr(module, one)]
        else:
            errors.append(PluginError(path, f"no_{kind.noun}", f"defines neither {one} nor {many}"))
            continue
        for obj in candidates:
            problem = kind.check(obj, path)
            if problem is not None:
                errors.append(problem)
                continue
            item = kind.wrap(obj, path)
            problem = kind.trial(item, path)
            if problem is not None:
                errors.append(problem)
                continue
            try:
                registry.register(item)
            except ValueError as err:
                errors.append(PluginError(path, "id_clash", str(err), None, item.id))
                continue
            loaded.append(item)
    return loaded, errors


PROCESSOR_PLUGINS: Final = PluginKind[Processor](
    noun="processor",
    module_prefix=MODULE_PREFIX,
    check=check_processor,
    wrap=PluginProcessor,
    trial=_trial,
)


def load_plugins(
    directory: Path, registry: Registry | None = None
) -> tuple[list[Processor], list[PluginError]]:
    """Import every `*.py` in `directory`, check its processors, and register the valid ones.

    Registers into `registry` (a new built-in registry when None, which only serves to refuse
    clashes with built-in ids). See `load_plugin_dir`.
    """
    target = builtin_registry() if registry is None else registry
    return load_plugin_dir(directory, target, PROCESSOR_PLUGINS)


def errors_by_file(errors: list[PluginError]) -> dict[str, str]:
    """`{file name: "<file>:<line>: <code>: <message>"}`, problems of one file joined by "; "."""
    by_file: dict[str, str] = {}
    for err in errors:
        name = err.path.name
        by_file[name] = f"{by_file[name]}; {err}" if name in by_file else str(err)
    return by_file
