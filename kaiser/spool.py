"""The relay's held readings on disk, so that a restart of the relay program in a bridge
outage loses none of them (docs/kaiser.md, "Readings while the bridge is down").

One JSON object a line: `{"topic": ..., "payload": ...}`, the payload as the device sent it
(text: it parsed as JSON, so it is UTF-8). Appending is the only write while the bridge is
down; the file is rewritten whole (a temporary file renamed over it) to drop what was resent
or what `--hold` pushed out, so a crash leaves either the old file or the new one.

Durability: each line is flushed to the OS at once, so a killed relay (SIGKILL, a crash)
loses nothing; a power cut loses what the OS had not written yet. Syncing every line would
cap the relay at an SD card's few hundred syncs a second, so `sync` does it at most once a
second (the relay's ticker calls it).

A spool that cannot be written (disk full, permissions) never stops the relay: the readings
stay held in memory, one warning says so, and `retry_due` asks for a whole rewrite once a
minute until it works again. A spool that cannot be *read* at start is left as it is (it may
hold readings someone else can recover) and not used at all.

One relay program per spool: `lock` holds `<spool>.lock` (flock) for the life of the
program. A second one on the same file (by default, the same kaiser id on one machine: started
by hand next to systemd's) would mix its held readings into these and push the first off its
broker by client id, so it stops at start with SpoolInUseError instead.

The relay's lock serialises every call: nothing here is thread-safe on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import contextlib
import fcntl
import logging
import os
from pathlib import Path
import time
from typing import BinaryIO

import orjson

_LOGGER = logging.getLogger("kaiser")
SYNC_EVERY_S = 1.0
RETRY_EVERY_S = 60.0


def encode_line(topic: str, payload: bytes) -> bytes:
    """One spool line."""
    return orjson.dumps({"topic": topic, "payload": payload.decode()}) + b"\n"


class SpoolInUseError(RuntimeError):
    """Another relay program holds the spool."""


class BadLineError(ValueError):
    """A spool line that is not a topic and a payload (orjson's JSONDecodeError is a
    ValueError too)."""


def decode_line(line: bytes) -> tuple[str, bytes]:
    """The topic and payload of a spool line; a ValueError for anything else (the payload
    itself is the protocol parser's to judge)."""
    data = orjson.loads(line)
    if not isinstance(data, dict):
        raise BadLineError("not an object")
    topic, payload = data.get("topic"), data.get("payload")
    if not isinstance(topic, str) or not isinstance(payload, str):
        raise BadLineError("no topic or payload text")
    return topic, payload.encode()


class Spool:
    """The held messages' file."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        """Nothing is opened until `read` or `rewrite`."""
        self.path = path
        self._clock = clock
        self._file: BinaryIO | None = None
        self.lines = 0  # lines in the file, counting the ones resent but not yet cut
        self._unsynced = False
        self._synced_at = -SYNC_EVERY_S
        self.failed_at: float | None = None  # writing failed: memory only until a rewrite works
        self.disabled = False  # unreadable at start: never touched again
        self._lock: BinaryIO | None = None

    def lock(self) -> None:
        """Hold the spool's lock file, with our pid in it, until `close`; SpoolInUseError if
        another program holds it. A lock file that cannot be made is no guard, and no error:
        the spool beside it cannot be written either, and the relay holds in memory."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock = lock_path.open("a+b")
        except OSError:
            return
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read(32).decode(errors="replace").strip() or "?"
            lock.close()
            raise SpoolInUseError(
                f"the spool {self.path} is in use by another relay program (pid {holder})"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n".encode())
        lock.flush()
        self._lock = lock

    @property
    def writable(self) -> bool:
        """Lines appended now reach the file."""
        return self._file is not None and self.failed_at is None and not self.disabled

    def read(self) -> Iterator[tuple[int, bytes]]:
        """The file's lines with their numbers (none if there is no file). Unreadable: the
        spool is disabled with a warning, and whatever was read so far is all there is."""
        try:
            with self.path.open("rb") as spool:
                yield from enumerate(spool, 1)
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing was spooled (a file where its folder should be: `rewrite` says so)
        except OSError as err:
            self.disabled = True
            _LOGGER.warning(
                "Cannot read the spool %s (%s): holding in memory only, the file is left as it is",
                self.path,
                err.strerror or err,
            )

    def append(self, line: bytes) -> None:
        """Add one line, flushed to the OS."""
        if not self.writable:
            return
        assert self._file is not None
        try:
            self._file.write(line)
            self._file.flush()
        except OSError as err:
            self._fail(err)
            return
        self.lines += 1
        self._unsynced = True

    def sync(self) -> None:
        """Sync what was appended, at most once a second."""
        now = self._clock()
        if not (self._unsynced and self.writable) or now - self._synced_at < SYNC_EVERY_S:
            return
        assert self._file is not None
        try:
            os.fsync(self._file.fileno())
        except OSError as err:
            self._fail(err)
            return
        self._unsynced = False
        self._synced_at = now

    def rewrite(self, lines: Iterable[bytes]) -> bool:
        """Replace the file by `lines` (synced, then renamed over it) and append from there.
        False (with a warning) when it cannot be written: the old file stays as it was."""
        if self.disabled or (self.failed_at is not None and not self.retry_due()):
            return False  # failed: one try (and one warning) a minute
        temporary = self.path.with_name(self.path.name + ".tmp")
        count = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as out:
                for line in lines:
                    out.write(line)
                    count += 1
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            self._sync_directory()
            self._close()
            self._file = self.path.open("ab")
        except OSError as err:
            with contextlib.suppress(OSError):
                temporary.unlink()
            self._fail(err)
            return False
        if self.failed_at is not None:
            _LOGGER.info("The spool %s is written again", self.path)
        self.failed_at = None
        self.lines = count
        self._unsynced = False
        return True

    def retry_due(self) -> bool:
        """Writing failed a minute or more ago: time for a `rewrite`."""
        return self.failed_at is not None and self._clock() - self.failed_at >= RETRY_EVERY_S

    def close(self) -> None:
        """Sync and close (a clean stop)."""
        if self._file is not None and self.writable:
            with contextlib.suppress(OSError):
                self._file.flush()
                os.fsync(self._file.fileno())
        self._close()
        if self._lock is not None:
            self._lock.close()  # and with it the flock
            self._lock = None

    def _sync_directory(self) -> None:
        # The rename itself survives a power cut only once the directory is synced.
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _fail(self, err: OSError) -> None:
        # One warning per failure; the next can only come with the retry a minute later.
        self._close()
        self.failed_at = self._clock()
        _LOGGER.warning(
            "Cannot write the spool %s (%s): holding in memory only, retrying in %d s",
            self.path,
            err.strerror or err,
            RETRY_EVERY_S,
        )
