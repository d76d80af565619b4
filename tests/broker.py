"""A real Mosquitto broker on a free loopback port, for tests that cross the wire."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from pathlib import Path
import shutil
import socket
import subprocess
import tempfile
import time

BROKER_CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
# Without it Nagle + delayed ACK add ~40 ms per message under load (docs/architecture.md,
# "Latency and load").
set_tcp_nodelay true
max_queued_messages 100000
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Broker:
    """A Mosquitto process; `start()` returns once it accepts connections."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="a1-mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self._dir / "mosquitto.conf"
        conf.write_text(BROKER_CONFIG.format(port=self.port), encoding="utf-8")
        log = (self._dir / "mosquitto.log").open("wb")
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(
            f"mosquitto did not start: {(self._dir / 'mosquitto.log').read_text(encoding='utf-8')}"
        )

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def running_broker() -> Iterator[Broker]:
    """Start a broker for the duration of a block."""
    with Broker() as broker:
        yield broker
