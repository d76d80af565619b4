"""Predictors by id: the built-ins plus registered user plug-ins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final

from ..processors.registry import ID_PATTERN
from .base import Predictor
from .seasonal import SeasonalSmoothing
from .trend import LinearTrend

BUILTIN_FACTORIES: Final = (LinearTrend, SeasonalSmoothing)


class Registry:
    """A mapping of predictor id → predictor; ids are unique, built-ins cannot be replaced."""

    def __init__(self, predictors: Iterable[Predictor] = ()) -> None:
        """A registry holding `predictors`."""
        self._by_id: dict[str, Predictor] = {}
        for predictor in predictors:
            self.register(predictor)
        self._builtin: frozenset[str] = frozenset()

    def register(self, predictor: Predictor) -> None:
        """Add `predictor`; ValueError when its id is malformed or taken."""
        pid = predictor.id
        if not isinstance(pid, str) or not ID_PATTERN.match(pid):
            raise ValueError(f"predictor id {pid!r} must match {ID_PATTERN.pattern}")
        if pid in self._by_id:
            raise ValueError(f"predictor id {pid!r} is already registered")
        self._by_id[pid] = predictor

    def unregister(self, predictor_id: str) -> None:
        """Remove a plug-in predictor (built-ins stay)."""
        if predictor_id not in self._builtin:
            self._by_id.pop(predictor_id, None)

    def get(self, predictor_id: str) -> Predictor:
        """The predictor with this id; KeyError when unknown."""
        return self._by_id[predictor_id]

    def ids(self) -> list[str]:
        """All ids in registration order."""
        return list(self._by_id)

    def __contains__(self, predictor_id: object) -> bool:
        """Whether an id is registered."""
        return predictor_id in self._by_id

    def __iter__(self) -> Iterator[Predictor]:
        """The predictors in registration order."""
        return iter(self._by_id.values())

    def __len__(self) -> int:
        """Number of predictors."""
        return len(self._by_id)


def builtin_registry() -> Registry:
    """A new registry with the built-in predictors (sealed against replacement)."""
    registry = Registry(factory() for factory in BUILTIN_FACTORIES)
    registry._builtin = frozenset(registry.ids())
    return registry


BUILTIN_PREDICTORS: Final[Mapping[str, Predictor]] = MappingProxyType(
    {p.id: p for p in builtin_registry()}
)
