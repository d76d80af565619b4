"""`make demo`: Mosquitto + a real, pre-onboarded Home Assistant + simulated ESP32s.

Everything it creates lives in demo/run/ (gitignored). The Home Assistant config dir
(demo/run/ha) is kept between runs, so users, automations and added devices survive a restart;
`python -m demo --fresh` starts from an empty one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
import time
from typing import Any

from demo.hass_client import HassClient, HassError

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
RUN = DEMO / "run"
HA_DIR = RUN / "ha"
INTEGRATION = ROOT / "custom_components" / "automationone"
CURRENT_HA = ROOT / "scripts" / "current_ha.sh"

USERNAME = "demo"
PASSWORD = "demo"  # loopback only; see --ha-host
HOST = "127.0.0.1"
BOARDS = ("esp32dev", "seeed_xiao_esp32c3")
HA_START_TIMEOUT = 300.0
DISCOVERY_TIMEOUT = 60.0
HEARTBEAT_S = 10  # the devices' default is 60 s: livelier values in the UI

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the demo process dies without cleaning up."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind (SO_REUSEADDR): connections of a previous run in TIME_WAIT do not
        # make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pick_port(*preferred: int | None) -> int:
    for port in preferred:
        if port and port_free(port):
            return port
    return free_port()


PIDS = RUN / "pids.json"


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1]


def _remember_pid(pid: int, argv: list[str]) -> None:
    pids: dict[str, list[str]] = {}
    with contextlib.suppress(OSError, ValueError):
        pids = json.loads(PIDS.read_text())
    pids[str(pid)] = argv
    PIDS.write_text(json.dumps(pids))


def stop_leftovers() -> None:
    """Stop processes a killed demo left behind (Mosquitto drops root and with it the
    parent-death signal). Only pids recorded in demo/run/pids.json whose command line is still
    the recorded one are touched."""
    with contextlib.suppress(OSError, ValueError):
        for pid, argv in json.loads(PIDS.read_text()).items():
            if _cmdline(int(pid)) == argv:
                log(f"stopping {Path(argv[0]).name} (pid {pid}) left over from a killed demo")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGTERM)
                deadline = time.monotonic() + 10
                while _cmdline(int(pid)) == argv and time.monotonic() < deadline:
                    time.sleep(0.1)
    PIDS.unlink(missing_ok=True)


class Child:
    """A process the demo started: own session (Ctrl-C reaches only the demo), output to a log."""

    def __init__(
        self, name: str, proc: asyncio.subprocess.Process, logfile: Path, argv: list[str]
    ) -> None:
        self.name = name
        self.proc = proc
        self.logfile = logfile
        self.proc_argv = argv

    @classmethod
    async def start(
        cls,
        name: str,
        argv: list[str],
        logfile: Path,
        env: dict[str, str] | None = None,
        *,
        remember: bool = True,
    ) -> Child:
        with logfile.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        if remember:  # in demo/run/pids.json, for the next demo's stop_leftovers()
            _remember_pid(proc.pid, argv)
        return cls(name, proc, logfile, argv)

    def alive(self) -> bool:
        return self.proc.returncode is None

    async def stop(self, limit: float) -> None:
        if not self.alive():
            return
        # The whole process group (each child has its own session): the current HA runs under
        # `unshare --fork`, which blocks SIGTERM itself and would not pass it on.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), limit)
        except TimeoutError:
            log(f"{self.name} did not stop within {limit:.0f} s: killing it")
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.children: list[Child] = []
        self.started = time.monotonic()
        self.python = sys.executable
        self.devices: dict[str, Child] = {}
        self.broker_port = 0

    # --- Mosquitto --------------------------------------------------------------------------
    async def start_broker(self, preferred: int | None) -> int:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise SystemExit("mosquitto not found (`make deps` installs it)")
        config = DEMO / "mosquitto.conf"
        port = self.args.mqtt_port or pick_port(1883, preferred)
        if port != 1883:
            text = config.read_text()
            lines = [
                f"listener {port} {HOST}" if line.startswith("listener ") else line
                for line in text.splitlines()
            ]
            config = RUN / "mosquitto.conf"
            config.write_text("\n".join(lines) + "\n")
        child = await Child.start("mosquitto", [binary, "-c", str(config)], RUN / "mosquitto.log")
        self.children.append(child)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                if not child.alive():
                    break
                await asyncio.sleep(0.05)
                continue
            writer.close()
            log(f"Mosquitto listening on {HOST}:{port} (config {config.relative_to(ROOT)})")
            return port
        raise SystemExit(f"mosquitto did not start:\n{child.tail()}")

    # --- Home Assistant ---------------------------------------------------------------------
    def prepare_config_dir(self) -> int | None:
        """Fill demo/run/ha; return the MQTT port the existing MQTT entry uses, if any."""
        if self.args.fresh and HA_DIR.exists():
            log("--fresh: removing demo/run/ha")
            shutil.rmtree(HA_DIR)
        write_ha_config(HA_DIR, current=self.args.ha != "minimum")
        _offer_demo_firmware()
        return self._mqtt_port_in_storage()

    @staticmethod
    def _mqtt_port_in_storage() -> int | None:
        path = HA_DIR / ".storage" / "core.config_entries"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            for entry in json.loads(path.read_text())["data"]["entries"]:
                if entry["domain"] == "mqtt":
                    return int(entry["data"]["port"])
        return None

    async def start_hass(self, port: int) -> Child:
        if self.args.ha == "minimum":
            argv = [self.python, "-m", "homeassistant", "-c", str(HA_DIR)]
            env = {"DEMO_HA_PORT": str(port), "DEMO_HA_HOST": self.args.ha_host}
        else:
            # HA 2026.10 keeps its HTTP settings in .storage/http: YAML is migrated once into
            # a trial the user must confirm within 5 minutes (else HA reverts and restarts),
            # and ignored from then on. The demo picks its port per run, so it writes the
            # confirmed ("stable") settings itself and leaves http: out of the YAML.
            _write_http_store(self.args.ha_host, port)
            argv = [
                str(CURRENT_HA), "run",
                f"exec /opt/ha/bin/python -m homeassistant -c '{HA_DIR}'",
            ]  # fmt: skip
            env = {}
        child = await Child.start("Home Assistant", argv, RUN / "homeassistant.out", env)
        self.children.append(child)
        return child

    async def onboard(self, hass: HassClient) -> None:
        steps = await hass.onboarding_steps()
        if steps is not None and not steps.get("user", False):
            log(f"onboarding: creating the owner {USERNAME!r}")
            await hass.create_owner("Demo", USERNAME, PASSWORD)
            await hass.ws(
                {
                    "type": "config/core/update",
                    "country": "DE",
                    "language": "en",
                    "currency": "EUR",
                    "unit_system": "metric",
                    "time_zone": _local_time_zone(),
                    "location_name": "AutomationOne demo",
                }
            )
        else:
            try:
                await hass.login(USERNAME, PASSWORD)
            except HassError as err:
                raise HassError(
                    f"{err}\n(the demo logs in as {USERNAME}/{PASSWORD}; if you changed that"
                    " password, start over with `make demo DEMO_ARGS=--fresh`)"
                ) from err
        if steps is not None:
            for step in ("core_config", "analytics", "integration"):
                if not steps.get(step, False):
                    await hass.finish_onboarding_step(step)
            log("onboarding done")

    async def wait_running(self, hass: HassClient, ha: Child) -> None:
        deadline = time.monotonic() + HA_START_TIMEOUT
        while time.monotonic() < deadline:
            if not ha.alive():
                raise HassError("Home Assistant exited during start-up")
            config = await hass.request("GET", "/api/config")
            if config.get("state") == "RUNNING":
                return
            await asyncio.sleep(0.5)
        raise HassError("Home Assistant did not reach RUNNING")

    async def ensure_mqtt_entry(
        self, hass: HassClient, broker_port: int, stored: int | None
    ) -> None:
        entries = await hass.entries("mqtt")
        broker = {"broker": HOST, "port": broker_port}
        if not entries:
            flow = await hass.start_flow("mqtt")
            result = await hass.flow_step(flow["flow_id"], _broker_form(flow, broker))
            if result.get("type") != "create_entry":
                raise HassError(f"MQTT config flow did not create an entry: {result}")
            log(f"MQTT integration added: broker {HOST}:{broker_port}")
        elif stored != broker_port:
            flow = await hass.start_flow("mqtt", entry_id=entries[0]["entry_id"])
            result = await hass.flow_step(flow["flow_id"], _broker_form(flow, broker))
            if result.get("reason") != "reconfigure_successful":
                raise HassError(f"MQTT reconfigure failed: {result}")
            log(f"MQTT integration moved to broker port {broker_port} (was {stored})")
        else:
            log(f"MQTT integration already configured for {HOST}:{broker_port}")

    # --- devices ---------------------------------------------------------------------------
    def _device_argv(self, board: str, broker_port: int, *, stand_in: bool) -> list[str]:
        prefix = "demo-c3" if board.startswith("seeed") else "demo-wroom"
        module = "demo.announce" if stand_in else "simulator"
        return [
            self.python, "-m", module,
            "--host", HOST, "--port", str(broker_port),
            "--devices", str(self.args.devices), "--board", board, "--prefix", prefix,
            "--heartbeat", str(HEARTBEAT_S),
        ]  # fmt: skip

    async def start_devices(self, broker_port: int) -> list[str]:
        """Start the simulator once per board; return a description per process."""
        self.broker_port = broker_port
        stand_in = not (ROOT / "simulator" / "__main__.py").exists()
        if stand_in:
            log("simulator/ not found: devices only announce themselves (demo/announce.py)")
        started = []
        for board in BOARDS:
            logfile = RUN / f"simulator-{board}.log"
            argv = self._device_argv(board, broker_port, stand_in=stand_in)
            child = await Child.start(f"simulator ({board})", argv, logfile)
            self.children.append(child)
            self.devices[board] = child
            started.append(f"{self.args.devices} x {board} ({logfile.relative_to(ROOT)})")
        return started

    async def replace_dead_simulators(self) -> None:
        """A simulator that died at start-up is replaced by the announce-only stand-in."""
        for board, child in list(self.devices.items()):
            if child.alive() or "demo.announce" in child.proc_argv:
                continue
            log(
                f"{child.name} exited with {child.proc.returncode}; using the announce-only"
                f" stand-in (demo/announce.py) instead. Its output:\n{child.tail()}"
            )
            argv = self._device_argv(board, self.broker_port, stand_in=True)
            logfile = RUN / f"stand-in-{board}.log"
            replacement = await Child.start(f"stand-in ({board})", argv, logfile)
            self.children.remove(child)
            self.children.append(replacement)
            self.devices[board] = replacement

    async def accept_one_discovery(self, hass: HassClient) -> tuple[int, int]:
        """Wait for the discovered devices; add one if none is added yet.

        Returns (added devices, devices waiting as "Discovered").
        """
        expected = self.args.devices * len(BOARDS)
        added = len(await hass.entries("automationone"))
        deadline = time.monotonic() + DISCOVERY_TIMEOUT
        flows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            await self.replace_dead_simulators()
            flows = await hass.flows_in_progress("automationone")
            if len(flows) + added >= expected:
                break
            await asyncio.sleep(0.5)
        if not flows and not added:
            raise HassError(
                "no AutomationOne device was discovered: see demo/run/ha/home-assistant.log"
            )
        if added == 0 and flows:
            # The ESP32-WROOM (esp32dev) is the main board: add one of those if there is one.
            flow = min(flows, key=lambda f: ("wroom" not in _flow_title(f), _flow_title(f)))
            result = await hass.flow_step(flow["flow_id"], {})
            if result.get("type") == "create_entry":
                added += 1
                log(f"added device {result.get('title')!r}")
            else:
                log(f"could not add {_flow_title(flow)!r} automatically: {result}")
            flows = await hass.flows_in_progress("automationone")
        return added, len(flows)

    # --- the whole run ----------------------------------------------------------------------
    async def run(self) -> None:
        RUN.mkdir(parents=True, exist_ok=True)
        # One demo per checkout: two Home Assistants on one config dir would corrupt it.
        self._lock = (RUN / "demo.lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = RUN / "demo.json"
            where = json.loads(running.read_text())["url"] if running.exists() else "?"
            raise SystemExit(f"a demo of this checkout is already running ({where})") from None
        stop_leftovers()
        stored_mqtt_port = self.prepare_config_dir()
        broker_port = await self.start_broker(stored_mqtt_port)
        ha_port = self.args.ha_port or pick_port(8123)
        display_host = self.args.ha_host if self.args.ha_host != "0.0.0.0" else HOST
        url = f"http://{display_host}:{ha_port}"
        log(f"starting Home Assistant on {url} (log: demo/run/ha/home-assistant.log)")
        ha = await self.start_hass(ha_port)
        hass = HassClient(url)
        try:
            await hass.wait_http(HA_START_TIMEOUT, ha.alive)
            await self.onboard(hass)
            await self.wait_running(hass, ha)
            log(f"Home Assistant running after {time.monotonic() - self.started:.1f} s")
            await self.ensure_mqtt_entry(hass, broker_port, stored_mqtt_port)
            devices = await self.start_devices(broker_port)
            added, waiting = await self.accept_one_discovery(hass)
        except HassError as err:
            tail = ha.tail()
            raise SystemExit(f"{err}\n--- end of Home Assistant's output:\n{tail}") from err
        finally:
            await hass.close()
        ready = time.monotonic() - self.started
        (RUN / "demo.json").write_text(
            json.dumps(
                {"url": url, "username": USERNAME, "password": PASSWORD, "mqtt": broker_port}
            )
        )
        banner = [
            "",
            "=" * 72,
            f"  AutomationOne demo ready after {ready:.0f} s",
            f"  Home Assistant:  {url}",
            f"  Login:           {USERNAME} / {PASSWORD}",
            f"  MQTT broker:     {HOST}:{broker_port} (Mosquitto, anonymous)",
            "  Simulated ESP32s: " + "; ".join(devices),
            f"  Devices: {added} added, {waiting} waiting under Settings > Devices & services"
            " > Discovered",
            "  Logs:            demo/run/",
            "  Press Ctrl-C to stop Home Assistant, the simulator and Mosquitto.",
            "=" * 72,
            "",
        ]
        print("\n".join(banner), flush=True)
        await self.watch()

    async def watch(self) -> None:
        """Run until a signal cancels us; report children that die on their own."""
        reported: set[str] = set()
        while True:
            for child in self.children:
                if not child.alive() and child.name not in reported:
                    reported.add(child.name)
                    log(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
                    if child.name in ("Home Assistant", "mosquitto"):
                        raise SystemExit(1)
            await asyncio.sleep(1)

    async def stop(self) -> None:
        """Stop in reverse dependency order: HA and devices together, the broker last."""
        if not any(child.alive() for child in self.children):
            return
        log("stopping ...")
        broker = [c for c in self.children if c.name == "mosquitto"]
        others = [c for c in self.children if c.name != "mosquitto"]
        await asyncio.gather(*(c.stop(60 if c.name == "Home Assistant" else 10) for c in others))
        await asyncio.gather(*(c.stop(10) for c in broker))
        log("stopped")


def write_ha_config(ha_dir: Path, *, current: bool) -> None:
    """configuration.yaml (without `http:` on the current HA, see _write_http_store), the
    editor's files, the integration symlinked in and onboarding's core-config step done."""
    (ha_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    (ha_dir / ".storage").mkdir(exist_ok=True)
    configuration = (DEMO / "configuration.yaml").read_text()
    if current:
        configuration = _without_http(configuration)
    (ha_dir / "configuration.yaml").write_text(configuration)
    for name in ("automations.yaml", "scripts.yaml", "scenes.yaml"):
        target = ha_dir / name
        if not target.exists():
            target.write_text("[]\n" if name == "automations.yaml" else "{}\n")
    link = ha_dir / "custom_components" / "automationone"
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.resolve() == INTEGRATION.resolve():
            pass
        elif link.is_symlink():
            link.unlink()
        else:
            shutil.rmtree(link)
    if not link.exists():
        link.symlink_to(INTEGRATION)
    onboarding = ha_dir / ".storage" / "onboarding"
    if not onboarding.exists():
        # Marking the core-config step done up front keeps its side effect away: finishing
        # it through the API starts flows for met, radio_browser, google_translate and
        # shopping_list, whose requirements HA would download at run time. The demo sets
        # the core configuration itself over the websocket API instead.
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config"]},
                }
            )
        )


def _offer_demo_firmware() -> None:
    """A simulated 0.2.0 image per board, so each device's Firmware update entity offers one
    (docs/protocol.md "Firmware updates"); kept if the user changed the folder."""
    from custom_components.automationone.protocol.firmware import build_sim_image

    folder = HA_DIR / "automationone" / "firmware"
    if folder.exists():
        return
    folder.mkdir(parents=True)
    for board in BOARDS:
        image = build_sim_image(board, "0.2.0", b"demo image\n")
        name = f"simulator-{board}-0.2.0.bin"
        (folder / name).write_bytes(image)
        manifest = {
            "board": board,
            "fw": "simulator",
            "version": "0.2.0",
            "file": name,
            "sha256": hashlib.sha256(image).hexdigest(),
        }
        (folder / f"{board}.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _flow_title(flow: dict[str, Any]) -> str:
    context = flow.get("context", {})
    placeholders = context.get("title_placeholders") or {}
    return str(placeholders.get("name") or context.get("unique_id") or flow["flow_id"])


def _local_time_zone() -> str:
    with contextlib.suppress(OSError):
        zone = Path("/etc/timezone").read_text().strip()
        if zone:
            return zone
    with contextlib.suppress(OSError):
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    return "UTC"


async def _main(args: argparse.Namespace) -> int:
    demo = Demo(args)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    code = 0
    try:
        await demo.run()
    except asyncio.CancelledError:
        print(flush=True)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            if isinstance(exc.code, str):
                print(f"[demo] {exc.code}", file=sys.stderr, flush=True)
            code = 1
    finally:
        # A second Ctrl-C while stopping kills whatever is left (not one that arrives within a
        # second of the first: `timeout` and some shells deliver one Ctrl-C twice).
        first_signal = time.monotonic()

        def kill_all() -> None:
            if time.monotonic() - first_signal < 1:
                return
            log("second signal: killing what is left")
            for child in demo.children:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.kill()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, kill_all)
        await demo.stop()
        if demo.children:  # only the demo that holds the lock started any
            (RUN / "demo.json").unlink(missing_ok=True)
            if not any(child.alive() for child in demo.children):
                PIDS.unlink(missing_ok=True)
    return code


def _broker_form(flow: dict[str, Any], broker: dict[str, Any]) -> dict[str, Any]:
    """The MQTT broker form's answer: HA 2026.10's form has a collapsed `other_settings`
    section that must be sent with its defaults."""
    answer = dict(broker)
    for field in flow.get("data_schema", []):
        if field.get("name") == "other_settings":  # the section's defaults, as the UI sends
            answer["other_settings"] = {
                sub["name"]: sub["default"] for sub in field.get("schema", []) if "default" in sub
            } | {"set_client_cert": False, "set_ca_cert": "off"}  # plain loopback, no TLS
    return answer


def _without_http(configuration: str) -> str:
    """configuration.yaml without its top-level `http:` block."""
    out, skipping = [], False
    for line in configuration.splitlines():
        if line.startswith("http:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n"


def _write_http_store(host: str, port: int, ha_dir: Path = HA_DIR) -> None:
    """HA 2026.10's stored HTTP settings: confirmed (stable), no trial pending, YAML done."""
    created = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    # HA's defaults (http.config.HTTP_STORAGE_SCHEMA({})) with the demo's host and port.
    stable = {
        "server_host": [host],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": created,
    }
    (ha_dir / ".storage" / "http").write_text(
        json.dumps(
            {
                "version": 2,
                "minor_version": 2,
                "key": "http",
                "data": {
                    "stable": stable | {"error": None, "error_message": None},
                    "pending": None,
                    "yaml_migration_done": True,
                },
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="start from an empty HA config dir")
    parser.add_argument(
        "--devices", type=int, default=2, help="simulated devices per board (default 2)"
    )
    parser.add_argument("--ha-port", type=int, default=0, help="HA port (default 8123 if free)")
    parser.add_argument(
        "--ha-host",
        default=os.environ.get("DEMO_HA_HOST", HOST),
        help="address HA listens on (default 127.0.0.1; the login is demo/demo)",
    )
    parser.add_argument(
        "--mqtt-port", type=int, default=0, help="broker port (default 1883 if free)"
    )
    parser.add_argument(
        "--ha",
        choices=("current", "minimum"),
        default="current",
        help="current: HA 2026.10.4 (Python 3.14, scripts/current_ha.sh; default), "
        "minimum: HA 2025.4.4 from .venv",
    )
    args = parser.parse_args(argv)
    return asyncio.run(_main(args))
