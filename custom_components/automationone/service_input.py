"""What the services share about their input: plain JSON data and translated errors."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN


def invalid(key: str, **placeholders: str) -> ServiceValidationError:
    """The translated error `exceptions.<key>` of bad service input."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def plain_json(data: Any) -> Any:
    """`data` as plain dicts, lists and scalars: service data and YAML come as subclasses
    (read-only dicts, YAML nodes) that the rule parser's exact type checks reject."""
    return json.loads(json.dumps(data, default=str))
