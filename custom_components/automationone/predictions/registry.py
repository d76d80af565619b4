"""Predictors by id: the built-ins plus registered user plug-ins."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ..processors.registry import IdRegistry
from .base import Predictor
from .seasonal import SeasonalSmoothing
from .trend import LinearTrend

BUILTIN_FACTORIES: Final = (LinearTrend, SeasonalSmoothing)


class Registry(IdRegistry[Predictor]):
    """Predictors by id (the processors' registry mechanism)."""

    kind = "predictor"


def builtin_registry() -> Registry:
    """A new registry with the built-in predictors (sealed against replacement)."""
    registry = Registry(factory() for factory in BUILTIN_FACTORIES)
    registry.seal_builtins()
    return registry


BUILTIN_PREDICTORS: Final[Mapping[str, Predictor]] = MappingProxyType(
    {p.id: p for p in builtin_registry()}
)
