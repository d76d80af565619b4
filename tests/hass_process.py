"""A real Home Assistant process (`python -m homeassistant`) on a throw-away config dir with the
integration and config entries written before it starts, for the fault soak
(bench/bench_fault_soak.py) and the tests that kill HA (tests/process/).

The HA is the one of the Python that runs this (sys.executable): .venv's HA 2025.4 under
`make pytest`, the chroot's newest HA under `make pytest-current`. It is onboarded through its
HTTP API on the first `ready()` and signed in again after every restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

from demo.hass_client import HassClient, HassError

from .broker import free_port, stop_process

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = REPO / "custom_components" / "automationone"
HOST = "127.0.0.1"
DOMAIN = "automationone"


def config_entry(
    domain: str,
    title: str,
    unique_id: str | None,
    data: dict[str, Any],
    source: str,
    subentries: list[dict[str, Any]],
    minor_version: int = 2,
) -> dict[str, Any]:
    """A config entry as HA stores it (MQTT is at 1.2; ours at 1.3, and 1.2 migrates)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return {
        "created_at": now, "data": data, "disabled_by": None, "discovery_keys": {},
        "domain": domain, "entry_id": os.urandom(13).hex(), "minor_version": minor_version,
        "modified_at": now, "options": {}, "pref_disable_new_entities": False,
        "pref_disable_polling": False, "source": source,
        "subentries": [{**sub, "subentry_id": os.urandom(13).hex()} for sub in subentries],
        "title": title, "unique_id": unique_id, "version": 1,
    }  # fmt: skip


def mqtt_entry(broker_port: int) -> dict[str, Any]:
    """HA's MQTT entry for a broker on loopback (HA's default birth and last will)."""
    return config_entry("mqtt", HOST, None, {"broker": HOST, "port": broker_port}, "user", [])


def sensor_subentry(
    sensor_type: str, gpio: int, params: dict[str, Any], interval_s: int = 2
) -> dict[str, Any]:
    """A sensor subentry as the sensor flow stores it (raw readings, processed in HA)."""
    return {
        "data": {
            "sensor_type": sensor_type,
            "gpio": gpio,
            "interval_s": interval_s,
            "mode": "raw",
            "echo_processed": False,
            "params": params,
        },  # fmt: skip
        "subentry_type": "sensor",
        "title": f"{sensor_type} {gpio}",
        "unique_id": f"{gpio}:",
    }


def actuator_subentry(limits: dict[str, Any]) -> dict[str, Any]:
    """An actuator subentry; `limits`: gpio, actuator_type and the limits that are not 0."""
    data = {"max_runtime_s": 0, "cooldown_s": 0, "failsafe_s": 0, **limits}
    return {
        "data": {**data, "inverted": False, "safe_state": 0, "max_per_hour": 0},
        "subentry_type": "actuator",
        "title": f"{limits['actuator_type']} {limits['gpio']}",
        "unique_id": f"actuator:{limits['gpio']}",
    }


def esp_entry(
    esp_id: str, kaiser_id: str, mac: str, subentries: list[dict[str, Any]]
) -> dict[str, Any]:
    """An ESP's entry (an esp32dev board) as the discovery flow stores it."""
    data = {
        "esp_id": esp_id, "kaiser_id": kaiser_id, "mac": mac, "board": "esp32dev",
        "name": esp_id,
    }  # fmt: skip
    return config_entry(DOMAIN, esp_id, mac, data, "mqtt", subentries)


def relay_entry(kaiser_id: str, name: str) -> dict[str, Any]:
    """A Kaiser relay's entry as the relay's discovery flow stores it."""
    data = {"kind": "relay", "kaiser_id": kaiser_id, "bridge": f"kaiser-{kaiser_id}", "name": name}
    return config_entry(DOMAIN, name, f"kaiser-{kaiser_id}", data, "mqtt", [], minor_version=3)


class HomeAssistantProcess:
    """`python -m homeassistant` on `workdir`/ha with MQTT and the given config entries."""

    def __init__(self, workdir: Path, owner: tuple[str, str], name: str = "Test") -> None:
        """`owner`: the (username, password) onboarding creates (loopback only)."""
        self.dir = workdir / "ha"
        self.port = free_port()
        self.owner = owner
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: HassClient | None = None
        self.onboarded = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def write_config(self, entries: list[dict[str, Any]]) -> None:
        """configuration.yaml and the config entries, stored as HA 2025.4 stores them
        (`core.config_entries` 1.5; HA migrates it forward): no HA import here, which would
        cost the harness seconds of start-up."""
        (self.dir / ".storage").mkdir(parents=True)
        (self.dir / "custom_components").mkdir()
        (self.dir / "custom_components" / "automationone").symlink_to(INTEGRATION)
        (self.dir / "automations.yaml").write_text("[]\n")
        frontend = ""
        if importlib.util.find_spec("hass_frontend") is None:
            # HA's UI bundle (home-assistant-frontend, requirements_demo.txt) is not in the
            # test venv, and HA goes into recovery mode without `frontend`. Nothing here uses
            # the UI: `frontend` serves an empty development tree instead.
            tree = self.dir / "frontend-stand-in" / "hass_frontend"
            for sub in ("static", "frontend_latest", "frontend_es5"):
                (tree / sub).mkdir(parents=True)
            for name in ("index.html", "onboarding.html", "authorize.html", "service_worker.js"):
                (tree / name).write_text("")
            frontend = f"frontend:\n  development_repo: {tree.parent}\n"
        (self.dir / "configuration.yaml").write_text(
            f"homeassistant:\n  name: {self.name}\n  time_zone: UTC\n  unit_system: metric\n"
            "  latitude: 0\n  longitude: 0\n  elevation: 0\n  country: DE\n  currency: EUR\n"
            f"http:\n  server_host: {HOST}\n  server_port: {self.port}\n"
            "api:\nonboarding:\ndiagnostics:\nautomation: !include automations.yaml\n"
            "recorder:\n  commit_interval: 1\nlogger:\n  default: warning\n" + frontend
        )
        store = {
            "version": 1,
            "minor_version": 5,
            "key": "core.config_entries",
            "data": {"entries": entries},
        }
        (self.dir / ".storage" / "core.config_entries").write_text(json.dumps(store))

    def start(self) -> None:
        argv = [sys.executable, "-m", "homeassistant", "-c", str(self.dir), "--skip-pip"]
        with (self.dir / "stdout.log").open("ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: HA gets no chance to say goodbye (the broker publishes its last will)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 60)
            self.proc = None

    async def ready(self, limit: float = 240) -> HassClient:
        """Wait for HTTP, sign in (onboarding the first time) and wait for RUNNING."""
        if self.client is not None:
            await self.client.close()
        client = HassClient(self.url)
        self.client = client
        await wait_http(client, limit, self.alive)
        if not self.onboarded:
            await client.create_owner(self.name, *self.owner)
            self.onboarded = True
        else:
            await client.login(*self.owner)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            config = await client.request("GET", "/api/config")
            if config.get("state") == "RUNNING":
                return client
            await asyncio.sleep(0.3)
        raise HassError("Home Assistant did not reach RUNNING")

    async def wait_stored(self, key: str, needles: list[str], limit: float = 60) -> None:
        """Wait until `.storage/<key>` holds every one of `needles`. HA writes its registries
        10 s after a change once running, 180 s after one while starting, and at a clean stop:
        a SIGKILL before that loses the devices and entities it created (on restart they get
        new ids, and automations that name the old ones fail)."""
        path = self.dir / ".storage" / key
        deadline = time.monotonic() + limit
        while True:
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace")
                if all(needle in text for needle in needles):
                    return
            if time.monotonic() > deadline:
                raise HassError(f"{path} did not get {needles} within {limit:.0f} s")
            await asyncio.sleep(0.2)

    def logs(self, lines: int = 60) -> str:
        """The end of HA's stdout and of home-assistant.log (of this run and the one before),
        for a failure's report."""
        out = []
        for name in ("stdout.log", "home-assistant.log.1", "home-assistant.log"):
            with contextlib.suppress(OSError):
                text = (self.dir / name).read_text(errors="replace").splitlines()
                out.append(f"--- {name} (last {lines} lines)\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


async def wait_http(client: HassClient, limit: float, alive: Any) -> None:
    """Wait until HA's HTTP server answers (the onboarding view: 200, or 404 when done)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not alive():
            raise HassError("Home Assistant exited during start-up")
        with contextlib.suppress(HassError, OSError, asyncio.TimeoutError):
            await client.onboarding_steps()
            return
        await asyncio.sleep(0.2)
    raise HassError(f"Home Assistant did not answer on {client.url} within {limit:.0f} s")
