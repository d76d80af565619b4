"""Real processes for Kaiser relay tests: a main broker, a relay broker bridged to it with the
configuration the relay program generates (docs/kaiser.md), links that can be cut, and the
relay program itself.

A `Link` is a TCP forwarder on loopback: `cut()` closes every connection through it at once
(the far end sees the socket close, as when a cable is pulled and the peer notices) and
refuses new ones until `restore()`. HA's MQTT connection runs through one (cut: the main
broker publishes HA's last will, as when HA is killed), the bridge through another.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
import pwd
import shutil
import socket
import subprocess
import sys
import threading
from typing import Any

from custom_components.automationone.protocol.relay import bridge_config

from .broker import Broker, Dynsec, dynsec_plugin, free_port

REPO = Path(__file__).resolve().parents[1]


class Link:
    """A cuttable TCP forwarder from a free loopback port to `target_port`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.1)
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._open.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        """Accept connections again."""
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._stop.set()
        self._server.close()
        self._thread.join(2)


class RelayBroker(Broker):
    """The relay's Mosquitto, bridged to the main broker through `link` as docs/kaiser.md
    says (the generated config, on a free loopback port, without persistence on disk).

    With `dynsec`: the dynamic-security plugin with those logins (docs/security.md, "Devices
    behind a relay"), anonymous devices allowed unless `allow_anonymous` is False."""

    def __init__(
        self,
        kaiser_id: str,
        main_port: int,
        *,
        dynsec: Dynsec | None = None,
        allow_anonymous: bool = True,
        **login: Any,
    ) -> None:
        """`login`: bridge_config's login and TLS arguments (remote_username, cafile,
        device_tls_port, ...)."""
        super().__init__()
        self.kaiser_id = kaiser_id
        self.dynsec_logins = dynsec
        local: dict[str, object] = {}
        if dynsec is not None:
            dynsec_file = self._dir / "dynamic-security.json"
            dynsec_file.write_text(json.dumps(dynsec.document()), encoding="utf-8")
            local = {
                "dynsec_file": str(dynsec_file),
                "dynsec_plugin": dynsec_plugin(),
                "allow_anonymous": allow_anonymous,
            }
        self.config = bridge_config(
            kaiser_id,
            "127.0.0.1",
            main_port,
            listener_port=self.port,
            listener_host="127.0.0.1",
            persistence_dir=None,
            **local,  # type: ignore[arg-type]
            **login,  # type: ignore[arg-type]
        )

    def _config(self) -> str:
        # A test restarts the bridge within a second, not the 2-30 s back-off of the docs.
        # Started as root, Mosquitto would read the bridge's CA file as `mosquitto`.
        user = f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
        return user + self.config.replace("restart_timeout 2 30", "restart_timeout 1 1")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._dir, ignore_errors=True)


class RelayProcess:
    """`python -m kaiser run` against a relay broker (with its dynsec admin login when the
    broker has `dynsec_logins` with an `a1admin`); its held readings in memory only unless
    `spool` names a file (never the default below /var/lib)."""

    def __init__(self, broker: RelayBroker, *extra: str, spool: Path | None = None) -> None:
        admin: list[str] = []
        if broker.dynsec_logins is not None and "a1admin" in broker.dynsec_logins.clients:
            password_file = broker._dir / "admin.password"
            password_file.write_text(broker.dynsec_logins.password("a1admin"), encoding="utf-8")
            admin = ["--dynsec-username", "a1admin", "--dynsec-password-file", str(password_file)]
        self.args = [
            sys.executable, "-m", "kaiser", "run", "--kaiser-id", broker.kaiser_id,
            "--host", broker.host, "--port", str(broker.port), "--health", "1",
            "--device-host", broker.host, "--device-port", str(broker.port),
            "--spool", str(spool or ""), *admin, *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(self.args, cwd=REPO, env=env)
        return self

    def kill(self) -> None:
        """SIGKILL, as a power cut or a crash: no clean stop, its broker publishes its will."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def bridged(
    kaiser_id: str, main: Broker, *, dynsec: Dynsec | None = None, **options: Any
) -> Iterator[tuple[RelayBroker, Link]]:
    """A relay broker bridged to `main` through a cuttable link (`dynsec`: its logins;
    `options`: more of bridge_config's, such as its TLS listener for devices)."""
    link = Link(main.port)
    relay = RelayBroker(kaiser_id, link.port, dynsec=dynsec, **options).start()
    try:
        yield relay, link
    finally:
        relay.stop()
        link.close()
