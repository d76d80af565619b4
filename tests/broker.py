"""A real Mosquitto broker on a free loopback port, for tests that cross the wire."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import glob
import hashlib
import json
import os
from pathlib import Path
import pwd
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


DYNSEC_CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous false
persistence false
set_tcp_nodelay true
max_queued_messages 100000
plugin {plugin}
plugin_opt_config_file {dynsec_file}
# Started as root, mosquitto would become `mosquitto` and could not read our temp dir.
user {user}
"""

TLS_LISTENER = """\
listener {port} 127.0.0.1
certfile {certfile}
keyfile {keyfile}
"""

# The admin role `mosquitto_ctrl dynsec init` creates: the control topic and $SYS.
ADMIN_ACLS = (
    {"acltype": "publishClientSend", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "subscribePattern", "topic": "$CONTROL/dynamic-security/#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "$SYS/#", "allow": True},
    {"acltype": "subscribePattern", "topic": "$SYS/#", "allow": True},
)
# Everything, as Home Assistant's own login (and the devices' shared login before the switch).
ALL_ACLS = (
    {"acltype": "publishClientSend", "topic": "#", "allow": True},
    {"acltype": "publishClientReceive", "topic": "#", "allow": True},
    {"acltype": "subscribePattern", "topic": "#", "allow": True},
)


def dynsec_plugin() -> str | None:
    """Path of Debian's dynamic-security plugin, if installed."""
    found = sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so"))
    return found[0] if found else None


def hashed_password(password: str, iterations: int = 101) -> dict[str, object]:
    """Mosquitto 2.0's dynsec password entry: PBKDF2-SHA512, 12-byte salt, base64."""
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


@dataclass
class Dynsec:
    """Logins of a dynamic-security broker: username -> (password, role names).

    Roles: `admin` (the dynsec admin), `all` (publish/subscribe everything); more in `roles`.
    """

    clients: Mapping[str, tuple[str, Sequence[str]]] = field(
        default_factory=lambda: {
            "a1admin": ("admin-password-0123", ("admin",)),
            "homeassistant": ("ha-password-0123456", ("all",)),
            "devices": ("shared-device-password", ("all",)),
        }
    )
    roles: Mapping[str, Sequence[Mapping[str, object]]] = field(default_factory=dict)

    def password(self, username: str) -> str:
        """The password of one of the logins."""
        return self.clients[username][0]

    def document(self) -> dict[str, object]:
        """The dynamic-security.json the broker starts from."""
        roles = {"admin": ADMIN_ACLS, "all": ALL_ACLS, **self.roles}
        return {
            "defaultACLAccess": {
                "publishClientSend": False,
                "publishClientReceive": True,
                "subscribe": False,
                "unsubscribe": True,
            },
            "clients": [
                {
                    "username": username,
                    "roles": [{"rolename": role} for role in client_roles],
                    **hashed_password(password),
                }
                for username, (password, client_roles) in self.clients.items()
            ],
            "groups": [],
            "roles": [{"rolename": name, "acls": list(acls)} for name, acls in roles.items()],
        }


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, and SIGKILL when it has not ended within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Broker:
    """A Mosquitto process; `start()` returns once it accepts connections."""

    def __init__(
        self,
        port: int | None = None,
        *,
        dynsec: Dynsec | None = None,
        tls: tuple[str, str] | None = None,
        plugin: bool = True,
    ) -> None:
        """`dynsec`: with the dynamic-security plugin and these logins (anonymous refused),
        or, with `plugin=False`, the same config without the plugin (no one answers on the
        control topic). `tls`: (certificate, key) PEM for a second, TLS listener (`tls_port`).
        """
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.dynsec = dynsec
        self.tls = tls
        self.tls_port = free_port() if tls is not None else None
        self.plugin = plugin
        self._dir = Path(tempfile.mkdtemp(prefix="a1-mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        if self.dynsec is None:
            text = BROKER_CONFIG.format(port=self.port)
        else:
            dynsec_file = self._dir / "dynamic-security.json"
            dynsec_file.write_text(json.dumps(self.dynsec.document()), encoding="utf-8")
            plugin = dynsec_plugin()
            if plugin is None:
                raise RuntimeError("mosquitto_dynamic_security.so is not installed")
            text = DYNSEC_CONFIG.format(
                port=self.port,
                plugin=plugin,
                dynsec_file=dynsec_file,
                user=pwd.getpwuid(os.getuid()).pw_name,
            )
            if not self.plugin:
                text = "\n".join(
                    line for line in text.splitlines() if not line.startswith("plugin")
                ).replace("allow_anonymous false", "allow_anonymous true")
                text += "\n"
        if self.tls is not None:
            certfile, keyfile = self._dir / "broker.crt", self._dir / "broker.key"
            certfile.write_text(self.tls[0], encoding="utf-8")
            keyfile.write_text(self.tls[1], encoding="utf-8")
            text += TLS_LISTENER.format(port=self.tls_port, certfile=certfile, keyfile=keyfile)
        return text

    @property
    def log(self) -> str:
        """What the broker logged so far."""
        return (self._dir / "mosquitto.log").read_text(encoding="utf-8", errors="replace")

    def start(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self._dir / "mosquitto.conf"
        conf.write_text(self._config(), encoding="utf-8")
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
            stop_process(self._proc, 5)
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
