"""Compile the protocol's JSON Schemas into fast validators.

The schema files are the single source of the payload rules; this module turns the subset of
JSON Schema they use into closures so that the hot ingest path does not interpret a schema per
message. Tests check it against the reference `jsonschema` implementation on every vector.
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

type Validator = Callable[[Any, str], Any]
"""Checks a decoded JSON value at a path and returns it normalised (ints as int)."""

_SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "title", "description", "type", "const", "enum", "minimum",
        "maximum", "minLength", "maxLength", "pattern", "properties", "required", "items",
        "minItems", "maxItems", "oneOf",
    }
)  # fmt: skip


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _check_number(value: Any, path: str, integer: bool) -> int | float:
    # bool is an int subclass in Python but not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(ErrorCode.WRONG_TYPE, path, "integer" if integer else "number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(ErrorCode.NOT_FINITE, path, "number must be finite")
        if integer:
            if not value.is_integer():
                raise ProtocolError(ErrorCode.WRONG_TYPE, path, "integer")
            return int(value)
    number: int | float = value
    return number


def _compile_type(schema: Mapping[str, Any]) -> Validator:
    types = schema.get("type")
    type_list: list[str] = [types] if isinstance(types, str) else list(types or [])
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    min_len = schema.get("minLength")
    max_len = schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    enum = frozenset(schema["enum"]) if "enum" in schema else None
    props = {k: compile_schema(v) for k, v in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))
    one_of = [tuple(alt["required"]) for alt in schema.get("oneOf", ())]
    items = compile_schema(schema["items"]) if "items" in schema else None
    min_items = schema.get("minItems")
    max_items = schema.get("maxItems")
    has_const = "const" in schema
    const = schema.get("const")

    def check_range(value: int | float, path: str) -> None:
        if minimum is not None and value < minimum:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"must be <= {maximum}")

    def check_object(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ProtocolError(ErrorCode.WRONG_TYPE, path, "object")
        for key in required:
            if key not in value:
                raise ProtocolError(ErrorCode.MISSING_FIELD, _join(path, key), "required")
        if one_of:
            present = [keys for keys in one_of if all(k in value for k in keys)]
            if len(present) != 1:
                names = "|".join(k for keys in one_of for k in keys)
                code = ErrorCode.MISSING_FIELD if not present else ErrorCode.BAD_VALUE
                raise ProtocolError(code, _join(path, names), "exactly one of these")
        # Unknown keys are kept out of the result (ignored, see docs/protocol.md).
        return {
            key: validate(item, _join(path, key))
            for key, item in value.items()
            if (validate := props.get(key)) is not None
        }

    def check_array(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise ProtocolError(ErrorCode.WRONG_TYPE, path, "array")
        if min_items is not None and len(value) < min_items:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"at most {max_items} items")
        if items is None:
            return value
        return [items(item, _join(path, i)) for i, item in enumerate(value)]

    def check_string(value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise ProtocolError(ErrorCode.WRONG_TYPE, path, "string")
        if min_len is not None and len(value) < min_len:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"at least {min_len} characters")
        if max_len is not None and len(value) > max_len:
            raise ProtocolError(ErrorCode.OUT_OF_RANGE, path, f"at most {max_len} characters")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise ProtocolError(ErrorCode.BAD_VALUE, path, f"must match {pattern.pattern}")
        return value

    def check_scalar(value: Any, path: str, kind: str) -> Any:
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ProtocolError(ErrorCode.WRONG_TYPE, path, "boolean")
            return value
        if kind == "string":
            return check_string(value, path)
        number = _check_number(value, path, integer=kind == "integer")
        check_range(number, path)
        return number

    checkers: dict[str, Callable[[Any, str], Any]] = {
        "object": check_object,
        "array": check_array,
    }

    def check(value: Any, path: str) -> Any:
        if has_const and value != const:
            raise ProtocolError(ErrorCode.BAD_VALUE, path, f"must be {const!r}")
        if type_list:
            result = _MISSING
            for kind in type_list:
                if kind in checkers:
                    if _matches_container(kind, value):
                        result = checkers[kind](value, path)
                        break
                elif _matches_scalar(kind, value):
                    result = check_scalar(value, path, kind)
                    break
            if result is _MISSING:
                raise ProtocolError(ErrorCode.WRONG_TYPE, path, " or ".join(type_list))
            value = result
        if enum is not None and value not in enum:
            raise ProtocolError(ErrorCode.BAD_VALUE, path, f"must be one of {sorted(enum)}")
        return value

    return check


_MISSING = object()


def _matches_container(kind: str, value: Any) -> bool:
    return isinstance(value, dict) if kind == "object" else isinstance(value, list)


def _matches_scalar(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    # Numbers: let the number check report non-finite or fractional integers precisely.
    return isinstance(value, int | float) and not isinstance(value, bool)


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """Compile one schema (object) into a validator."""
    unknown = set(schema) - _SUPPORTED_KEYWORDS
    if unknown:
        raise ValueError(f"unsupported JSON Schema keywords: {sorted(unknown)}")
    for alt in schema.get("oneOf", ()):
        if set(alt) != {"required"}:
            raise ValueError("oneOf is supported only as a choice between required fields")
    return _compile_type(schema)


def load_schema(name: str) -> dict[str, Any]:
    """Read `schemas/<name>.schema.json`."""
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return data
