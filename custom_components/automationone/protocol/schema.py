"""Compile the protocol's JSON Schemas into fast validators.

The schema files are the single source of the payload rules; this module turns the subset of
JSON Schema they use into closures specialised per field type, so the hot ingest path does not
interpret a schema per message. Tests check it against the reference `jsonschema`
implementation on every vector.

Validators take the path of the value for error messages. The ingest path passes None: no path
strings are built for valid messages; a caller that gets an error validates again with a path
(`validate_with_path`) to report where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
import math
from pathlib import Path
import re
from typing import Any

from .errors import ErrorCode, ProtocolError

SCHEMA_DIR = Path(__file__).parent / "schemas"

type Validator = Callable[[Any, str | None], Any]
"""Checks a decoded JSON value at a path (None: skip building paths) and returns it
normalised (integral numbers as int, unknown object keys dropped)."""

_SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "title", "description", "type", "const", "enum", "minimum",
        "maximum", "minLength", "maxLength", "pattern", "properties", "required", "items",
        "minItems", "maxItems", "oneOf",
    }
)  # fmt: skip


def _join(path: str | None, key: str | int) -> str | None:
    if path is None:
        return None
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _fail(code: ErrorCode, path: str | None, detail: str) -> ProtocolError:
    return ProtocolError(code, path or "", detail)


def _number_checker(schema: Mapping[str, Any], integer: bool) -> Validator:
    low = schema.get("minimum")
    high = schema.get("maximum")
    kind = "integer" if integer else "number"

    def check(value: Any, path: str | None) -> int | float:
        kind_of = type(value)
        if kind_of is float:
            if not math.isfinite(value):
                raise _fail(ErrorCode.NOT_FINITE, path, "number must be finite")
            if integer:
                if not value.is_integer():
                    raise _fail(ErrorCode.WRONG_TYPE, path, kind)
                value = int(value)
        elif kind_of is not int:  # bool is an int subclass in Python but not a JSON number
            raise _fail(ErrorCode.WRONG_TYPE, path, kind)
        if low is not None and value < low:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"must be >= {low}")
        if high is not None and value > high:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"must be <= {high}")
        number: int | float = value
        return number

    return check


def _string_checker(schema: Mapping[str, Any]) -> Validator:
    min_len = schema.get("minLength")
    max_len = schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

    def check(value: Any, path: str | None) -> str:
        if type(value) is not str:
            raise _fail(ErrorCode.WRONG_TYPE, path, "string")
        if min_len is not None and len(value) < min_len:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"at least {min_len} characters")
        if max_len is not None and len(value) > max_len:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"at most {max_len} characters")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise _fail(ErrorCode.BAD_VALUE, path, f"must match {pattern.pattern}")
        return value

    return check


def _boolean_checker() -> Validator:
    def check(value: Any, path: str | None) -> bool:
        if type(value) is not bool:
            raise _fail(ErrorCode.WRONG_TYPE, path, "boolean")
        return value

    return check


def _object_checker(schema: Mapping[str, Any]) -> Validator:
    props = {k: compile_schema(v) for k, v in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))
    one_of = [tuple(alt["required"]) for alt in schema.get("oneOf", ())]
    one_of_names = "|".join(k for keys in one_of for k in keys)

    def check(value: Any, path: str | None) -> dict[str, Any]:
        if type(value) is not dict:
            raise _fail(ErrorCode.WRONG_TYPE, path, "object")
        for key in required:
            if key not in value:
                raise _fail(ErrorCode.MISSING_FIELD, _join(path, key), "required")
        if one_of:
            present = [keys for keys in one_of if all(k in value for k in keys)]
            if len(present) != 1:
                code = ErrorCode.MISSING_FIELD if not present else ErrorCode.BAD_VALUE
                raise _fail(code, _join(path, one_of_names), "exactly one of these")
        # Unknown keys are kept out of the result (ignored, see docs/protocol.md).
        out: dict[str, Any] = {}
        for key, item in value.items():
            validate = props.get(key)
            if validate is not None:
                out[key] = validate(item, None if path is None else _join(path, key))
        return out

    return check


def _array_checker(schema: Mapping[str, Any]) -> Validator:
    items = compile_schema(schema["items"]) if "items" in schema else None
    min_items = schema.get("minItems")
    max_items = schema.get("maxItems")

    def check(value: Any, path: str | None) -> list[Any]:
        if type(value) is not list:
            raise _fail(ErrorCode.WRONG_TYPE, path, "array")
        if min_items is not None and len(value) < min_items:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            raise _fail(ErrorCode.OUT_OF_RANGE, path, f"at most {max_items} items")
        if items is None:
            return value
        if path is None:
            return [items(item, None) for item in value]
        return [items(item, _join(path, i)) for i, item in enumerate(value)]

    return check


# Python types a JSON value of each schema type decodes to (bool is checked before int).
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int, float),
    "number": (int, float),
}


def _typed_checker(schema: Mapping[str, Any], kind: str) -> Validator:
    if kind == "object":
        return _object_checker(schema)
    if kind == "array":
        return _array_checker(schema)
    if kind == "string":
        return _string_checker(schema)
    if kind == "boolean":
        return _boolean_checker()
    return _number_checker(schema, integer=kind == "integer")


def _compile(schema: Mapping[str, Any]) -> Validator:
    types = schema.get("type")
    kinds: list[str] = [types] if isinstance(types, str) else list(types or [])
    if len(kinds) == 1:
        check = _typed_checker(schema, kinds[0])
    elif kinds:
        by_type = [(kind, _typed_checker(schema, kind)) for kind in kinds]
        names = " or ".join(kinds)

        def check(value: Any, path: str | None) -> Any:
            for kind, checker in by_type:
                if type(value) in _PYTHON_TYPES[kind] and (kind == "boolean") == (
                    type(value) is bool
                ):
                    return checker(value, path)
            raise _fail(ErrorCode.WRONG_TYPE, path, names)

    else:

        def check(value: Any, path: str | None) -> Any:
            return value

    if "enum" in schema:
        enum = frozenset(schema["enum"])
        typed = check

        def check(value: Any, path: str | None) -> Any:
            value = typed(value, path)
            if value not in enum:
                raise _fail(ErrorCode.BAD_VALUE, path, f"must be one of {sorted(enum)}")
            return value

    if "const" in schema:
        const = schema["const"]
        inner = check

        def check(value: Any, path: str | None) -> Any:
            if value != const or isinstance(value, bool) != isinstance(const, bool):
                raise _fail(ErrorCode.BAD_VALUE, path, f"must be {const!r}")
            return inner(value, path)

    return check


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """Compile one schema into a validator."""
    unknown = set(schema) - _SUPPORTED_KEYWORDS
    if unknown:
        raise ValueError(f"unsupported JSON Schema keywords: {sorted(unknown)}")
    for alt in schema.get("oneOf", ()):
        if set(alt) != {"required"}:
            raise ValueError("oneOf is supported only as a choice between required fields")
    return _compile(schema)


def validate_fast(validate: Validator, value: Any) -> Any:
    """Validate without building paths; on an error, validate again to report its path."""
    try:
        return validate(value, None)
    except ProtocolError:
        return validate(value, "")


def load_schema(name: str) -> dict[str, Any]:
    """Read `schemas/<name>.schema.json`."""
    data: dict[str, Any] = json.loads(
        (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    )
    return data
