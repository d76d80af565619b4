"""Processors by type id: the built-ins plus registered user plug-ins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
import re
from types import MappingProxyType
from typing import Final

from .base import Processor
from .builtin import BUILTIN_FACTORIES

ID_PATTERN: Final = re.compile(r"^[a-z0-9_]{1,24}$")


class Registry:
    """A mapping of processor id → processor; ids are unique, built-ins cannot be replaced."""

    def __init__(self, processors: Iterable[Processor] = ()) -> None:
        """A registry holding `processors`."""
        self._by_id: dict[str, Processor] = {}
        self._builtin: frozenset[str] = frozenset()
        for processor in processors:
            self.register(processor)

    def register(self, processor: Processor) -> None:
        """Add `processor`; ValueError when its id is malformed or already taken."""
        pid = processor.id
        if not isinstance(pid, str) or not ID_PATTERN.match(pid):
            raise ValueError(f"processor id {pid!r} must match {ID_PATTERN.pattern}")
        if pid in self._by_id:
            kind = "built-in" if pid in self._builtin else "registered"
            raise ValueError(f"processor id {pid!r} clashes with a {kind} processor")
        self._by_id[pid] = processor

    def unregister(self, processor_id: str) -> None:
        """Remove a plug-in processor (built-ins stay); no error when it is absent."""
        if processor_id not in self._builtin:
            self._by_id.pop(processor_id, None)

    def get(self, processor_id: str) -> Processor:
        """The processor with this id; KeyError when unknown."""
        return self._by_id[processor_id]

    def is_builtin(self, processor_id: str) -> bool:
        """Whether `processor_id` is a built-in processor."""
        return processor_id in self._builtin

    def ids(self) -> list[str]:
        """All ids, built-ins first, in registration order."""
        return list(self._by_id)

    def for_device_type(self, device_type: str) -> list[Processor]:
        """Processors reading a device `type` (both SHT31 outputs for `sht31`)."""
        return [p for p in self._by_id.values() if p.device_type == device_type]

    def __contains__(self, processor_id: object) -> bool:
        """Whether an id is registered."""
        return processor_id in self._by_id

    def __iter__(self) -> Iterator[Processor]:
        """The processors in registration order."""
        return iter(self._by_id.values())

    def __len__(self) -> int:
        """Number of processors."""
        return len(self._by_id)

    def _seal_builtins(self) -> None:
        self._builtin = frozenset(self._by_id)


def builtin_registry() -> Registry:
    """A new registry with fresh instances of every built-in processor."""
    registry = Registry(factory() for factory in BUILTIN_FACTORIES)
    registry._seal_builtins()
    return registry


_BUILTINS: Final = builtin_registry()
BUILTIN_PROCESSORS: Final[Mapping[str, Processor]] = MappingProxyType({p.id: p for p in _BUILTINS})
"""Shared instances of the built-in processors by id (read-only)."""
BUILTIN_IDS: Final = tuple(BUILTIN_PROCESSORS)


def get_processor(processor_id: str) -> Processor:
    """A shared built-in processor; KeyError when unknown."""
    return BUILTIN_PROCESSORS[processor_id]
