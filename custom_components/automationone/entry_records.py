"""One storage file with a record per config entry.

With hundreds of devices, a file per entry costs a read per entry at every start (and a write
per entry when they are set up together). A shared file is read once, however many entries ask
at the same time, and written as one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

STORAGE_VERSION = 1

_FILES: HassKey[dict[str, EntryRecords]] = HassKey(f"{DOMAIN}_entry_records")


class EntryRecords:
    """The records of every entry in `.storage/<key>`, by entry id."""

    def __init__(self, hass: HomeAssistant, key: str) -> None:
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, key)
        self.records: dict[str, Any] = {}
        # Records changed since the last write, made when the file is written (or read).
        self._pending: dict[str, Callable[[], Any]] = {}
        self._loading: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None

    async def async_load(self) -> None:
        """Read the file once; a failed read is tried again by the next caller."""
        if self._loading is None:
            self._loading = self._hass.async_create_task(self._load(), eager_start=True)
        try:
            await asyncio.shield(self._loading)
        except Exception:
            self._loading = None
            raise

    async def _load(self) -> None:
        self.records = await self._store.async_load() or {}

    def get(self, entry_id: str) -> Any:
        """The entry's record (after `async_load`), with a change not written yet."""
        if (pending := self._pending.pop(entry_id, None)) is not None:
            self.records[entry_id] = pending()
        return self.records.get(entry_id)

    async def async_write(self) -> None:
        """Write the records; returns once they (and what others changed meanwhile) are on
        disk."""
        if self._writing is None:
            self._writing = self._hass.async_create_task(self._write(), eager_start=False)
        await asyncio.shield(self._writing)

    async def _write(self) -> None:
        # Started on the next loop turn: every change made before it is in this write. One
        # made after it starts a write of its own.
        self._writing = None
        await self._store.async_save(self._collect())

    def write_soon(self, entry_id: str, record: Callable[[], Any], delay_s: float) -> None:
        """The entry's record changed: `record()` makes it when the file is written, within
        `delay_s` (HA writes it at shutdown too), so a burst of changes makes it once."""
        self._pending[entry_id] = record
        self._store.async_delay_save(self._collect, delay_s)

    def _collect(self) -> dict[str, Any]:
        for entry_id, record in self._pending.items():
            self.records[entry_id] = record()
        self._pending.clear()
        return dict(self.records)

    async def async_adopt(self, old_key: str, entry_id: str) -> None:
        """Move an entry's record from its own file of an earlier release into this one."""
        own: Store[Any] = Store(self._hass, STORAGE_VERSION, old_key)
        if (record := await own.async_load()) is None:
            return
        await self.async_load()
        self.records[entry_id] = record
        await self.async_write()
        await own.async_remove()

    async def async_forget(self, entry_id: str) -> None:
        """The entry is removed: its record goes."""
        await self.async_load()
        self._pending.pop(entry_id, None)
        if self.records.pop(entry_id, None) is not None:
            await self.async_write()


def entry_records(hass: HomeAssistant, key: str) -> EntryRecords:
    """The shared file `key` of this HA."""
    files = hass.data.setdefault(_FILES, {})
    if (found := files.get(key)) is None:
        found = files[key] = EntryRecords(hass, key)
    return found
