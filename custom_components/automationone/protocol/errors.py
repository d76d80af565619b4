"""Errors raised for bad input: a stable code, the path of the bad field and a detail."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Reason codes shared by every implementation of protocol v1 (see docs/protocol.md)."""

    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    NOT_FINITE = "not_finite"
    NOT_OBJECT = "not_object"
    UNSUPPORTED_VERSION = "unsupported_version"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_VALUE = "bad_value"
    INVALID_ID = "invalid_id"
    UNKNOWN_TOPIC = "unknown_topic"
    ID_MISMATCH = "id_mismatch"
    MODE_MISMATCH = "mode_mismatch"


class ProtocolError(ValueError):
    """A message or topic that breaks protocol v1."""

    def __init__(self, code: ErrorCode, path: str = "", detail: str = "") -> None:
        self.code = code
        self.path = path
        self.detail = detail
        where = f" at '{path}'" if path else ""
        super().__init__(f"{code.value}{where}: {detail}" if detail else f"{code.value}{where}")
