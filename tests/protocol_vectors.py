"""Load the shared protocol test vectors (tests/vectors/protocol)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors" / "protocol"


def load(name: str) -> list[dict[str, Any]]:
    """Vectors of `name`.json."""
    vectors: list[dict[str, Any]] = json.loads(
        (VECTOR_DIR / f"{name}.json").read_text(encoding="utf-8")
    )["vectors"]
    return vectors
