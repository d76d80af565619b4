"""Processors by type id: the built-ins plus registered user plug-ins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
import re
from types import MappingProxyType
from typing import ClassVar, Final, Protocol

from .base import Processor
from .builtin import BUILTIN_FACTORIES

ID_PATTERN: Final = re.compile(r"^[a-z0-9_]{1,24}$")


class Identified(Protocol):
    """Anything with a plug-in id."""

    id: str


class IdRegistry[T: Identified]:
    """A mapping of id → plug-in; ids are unique, built-ins cannot be replaced.

    One mechanism for every plug-in kind (processors, predictors); `kind` names it in errors.
    """

    kind: ClassVar[str] = "plug-in"

    def __init__(self, items: Iterable[T] = ()) -> None:
        """A registry holding `items`."""
        self._by_id: dict[str, T] = {}
        self._builtin: frozenset[str] = frozenset()
        for item in items:
            self.register(item)

    def register(self, item: T) -> None:
        """Add `item`; ValueError when its id is malformed or already taken."""
        pid = item.id
        if not isinstance(pid, str) or not ID_PATTERN.match(pid):
            raise ValueError(f"{self.kind} id {pid!r} must match {ID_PATTERN.pattern}")
        if pid in self._by_id:
            origin = "built-in" if pid in self._builtin else "registered"
            raise ValueError(
                f"{self.kind} id {pid!r} clashes with a {origin} {self.kind}: already registered"
            )
        self._by_id[pid] = item

    def unregister(self, item_id: str) -> None:
        """Remove a plug-in (built-ins stay); no error when it is absent."""
        if item_id not in self._builtin:
            self._by_id.pop(item_id, None)

    def get(self, item_id: str) -> T:
        """The item with this id; KeyError when unknown."""
        return self._by_id[item_id]

    def is_builtin(self, item_id: str) -> bool:
        """Whether `item_id` is a built-in."""
        return item_id in self._builtin

    def ids(self) -> list[str]:
        """All ids, built-ins first, in registration order."""
        return list(self._by_id)

    def __contains__(self, item_id: object) -> bool:
        """Whether an id is registered."""
        return item_id in self._by_id

    def __iter__(self) -> Iterator[T]:
        """The items in registration order."""
        return iter(self._by_id.values())

    def __len__(self) -> int:
        """Number of items."""
        return len(self._by_id)

    def seal_builtins(self) -> None:
        """Mark everything registered so far as built-in."""
        self._builtin = frozenset(self._by_id)


class Registry(IdRegistry[Processor]):
    """Processors by id."""

    kind = "processor"

    def for_device_type(self, device_type: str) -> list[Processor]:
        """Processors reading a device `type` (both SHT31 outputs for `sht31`)."""
        return [p for p in self._by_id.values() if p.device_type == device_type]


def builtin_registry() -> Registry:
    """A new registry with fresh instances of every built-in processor."""
    registry = Registry(factory() for factory in BUILTIN_FACTORIES)
    registry.seal_builtins()
    return registry


_BUILTINS: Final = builtin_registry()
BUILTIN_PROCESSORS: Final[Mapping[str, Processor]] = MappingProxyType({p.id: p for p in _BUILTINS})
"""Shared instances of the built-in processors by id (read-only)."""
BUILTIN_IDS: Final = tuple(BUILTIN_PROCESSORS)


def get_processor(processor_id: str) -> Processor:
    """A shared built-in processor; KeyError when unknown."""
    return BUILTIN_PROCESSORS[processor_id]
