"""Fault-injection soak against real processes: Mosquitto, a Home Assistant process (the
integration, from .venv) and `virtual-esp` devices (the firmware core on POSIX) whose actuators
run under limits and are switched on by HA (service calls and time-pattern automations).

Faults, in a seeded random order (the seed is printed; `--seed` repeats the order), one at a
time; device faults also run while HA is still coming back from an HA or broker fault:
- `ha_kill`: HA killed with SIGKILL, restarted;
- `broker_restart`: Mosquitto stopped (SIGTERM) and started on the same port;
- `link_drop`: a device's TCP link cut (its own proxy to the broker resets the connection and
  refuses new ones for a while, as a WiFi drop does);
- `power_cycle`: a device killed with SIGKILL ("power off") and started again while its broker
  is unreachable; reachable again a little later.
During a broker restart the devices reach the broker again only once the observer (below) is
back, and after an HA or broker fault HA receives for a few seconds before the next one.

Measured on the devices' own streams, by a separate MQTT client (persistent session, so a
broker restart loses nothing it should have seen):
- `late`: an actuator on-period that ended more than 1 s after it should have: `max_runtime_s`
  after it turned on, or `failsafe_s` after its device's link went down (for a link that stayed
  down that long). The end is the device's own account: the on-status's `ts` plus the
  `runtime_s` the device added until its off-status (a stop while the link is down is reported
  only after the reconnect); a power-off ends a period at once.
- `stuck_on`: an actuator still on at the end (HA stopped, every limit given time to fire).
- `lost_readings`: sensor messages missing in a device's `seq` (published by the device, never
  at the broker, not even as a resend: the device sends what it sent in the 2 s before it found
  its link down again after the reconnect; the ones that were missing at a broker stop are also
  printed apart), plus readings that reached the broker while HA was connected and running but
  that HA did not take in (its diagnostics: readings received and the last message's seq,
  taken before and after every HA or broker fault; buffered replays and resends HA had not
  taken in count like live ones).
  Readings published while HA was down or disconnected are not HA's to record (sensor data is
  QoS 0 and HA's MQTT session is clean); they are printed as `unseen_while_ha_down`.
- `duplicate_commands`: an accepted command (its `cmd_id`) executed twice.
HA's UI bundle is not needed: without `hass_frontend` installed, `frontend` serves an empty tree.

`--faults N` (default 1000; hours on a busy machine: an HA restart takes 10-30 s).
`make fault-soak` (part of `make test`) runs 10 with `--quick` (outages halved), which exits 1
unless every figure is 0. `--keep` keeps the work dir (logs and records.json); it is kept
anyway when a figure is not 0. The last line is
`fault-soak: faults=N late=N stuck_on=N lost_readings=N duplicate_commands=N`.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from demo.hass_client import HassError
from tests.broker import free_port, stop_process
from tests.hass_process import (
    HomeAssistantProcess,
    actuator_subentry,
    esp_entry,
    mqtt_entry,
    sensor_subentry,
)
from tests.virtual_esp import VIRTUAL_ESP, virtual_esp_mac

HOST = "127.0.0.1"
KAISER = "god"
OWNER = ("soak", "soak-password")  # loopback only, a throw-away config dir

# Per device: two actuators with limits, two sensors at 2 s.
ACTUATORS = [
    {"gpio": 26, "actuator_type": "pump", "max_runtime_s": 3, "cooldown_s": 1, "failsafe_s": 2},
    {"gpio": 25, "actuator_type": "valve", "max_runtime_s": 5, "cooldown_s": 0, "failsafe_s": 1},
]
SENSOR_GPIOS = (34, 35)
LINEAR = {"scale": 1.0, "offset": 0.0, "unit": "n"}
FAULT_KINDS = ("ha_kill", "broker_restart", "link_drop", "power_cycle")
TOLERANCE_S = 1.0
LIMIT_S = max(max(a["max_runtime_s"], a["failsafe_s"]) for a in ACTUATORS)


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- processes -----------------------------------------------------------------------------


class Broker:
    """Mosquitto as Debian ships it (persistence on) with `set_tcp_nodelay true`, QoS 0
    queued for the observer's persistent session; stopped and started on one port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "mosquitto"
        self.dir.mkdir()
        # Started as root, Mosquitto runs as its own user: it must write its database here.
        workdir.chmod(0o755)
        self.dir.chmod(0o777)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.dir}/\nset_tcp_nodelay true\n"
            "queue_qos0_messages true\nmax_queued_messages 100000\n"
        )
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with (self.dir / "mosquitto.log").open("ab") as out:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.2):
                return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, 10)
        self.proc = None


class LinkProxy:
    """A device's network path to the broker: forwards TCP; `drop()` resets the connection
    and, while `down`, new connections are reset at once (the broker is unreachable)."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = 0
        self.down = False
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            self._reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.broker_port)
        except OSError:
            self._reset(writer)
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()

        # Either side closing closes the path at once (as the device would see the broker's
        # FIN on a direct connection).
        pumps = [
            asyncio.ensure_future(pump(reader, up_writer)),
            asyncio.ensure_future(pump(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
            self._pairs.discard(pair)
            self._reset(writer)
            up_writer.close()

    def drop(self) -> None:
        """Cut every connection now (the device sees a reset, the broker a closed socket)."""
        for device_side, broker_side in list(self._pairs):
            self._reset(device_side)
            broker_side.close()
        self._pairs.clear()


class Device:
    """One virtual-esp behind its own LinkProxy, with a storage dir (its NVS)."""

    def __init__(self, index: int, workdir: Path, proxy: LinkProxy) -> None:
        self.esp_id = f"soak-{index}"
        self.mac = virtual_esp_mac(self.esp_id)
        self.proxy = proxy
        self.storage = workdir / self.esp_id
        self.storage.mkdir()
        self.logfile = workdir / f"{self.esp_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.entry_id = ""

    def start(self) -> None:
        argv = [
            str(VIRTUAL_ESP), "--host", HOST, "--port", str(self.proxy.port),
            "--esp-id", self.esp_id, "--board", "esp32dev", "--storage", str(self.storage),
            "--heartbeat", "5",
        ]  # fmt: skip
        with self.logfile.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)

    def power_off(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def soak_entries(broker_port: int, devices: list[Device]) -> list[dict[str, Any]]:
    """HA's MQTT entry and one entry per device with its sensors and actuators (each device
    learns its entry id)."""
    entries = [mqtt_entry(broker_port)]
    for device in devices:
        subentries = [sensor_subentry("linear", gpio, LINEAR) for gpio in SENSOR_GPIOS]
        subentries += [actuator_subentry(limits) for limits in ACTUATORS]
        entry = esp_entry(device.esp_id, KAISER, device.mac, subentries)
        device.entry_id = entry["entry_id"]
        entries.append(entry)
    return entries


# ---- what the observer records -------------------------------------------------------------


@dataclass
class Status:
    arrival: float
    ts_ms: int
    on: bool
    reason: str
    refused: str | None
    cmd_id: str | None
    runtime_s: float
    activations: int


@dataclass
class SensorMessage:
    arrival: float
    seq: int
    readings: int
    replay: bool
    resend: bool  # sent again under its seq after a reconnect


@dataclass
class DeviceRecord:
    statuses: dict[int, list[Status]] = field(default_factory=dict)
    messages: list[SensorMessage] = field(default_factory=list)
    online_at: list[float] = field(default_factory=list)  # arrivals of its `online`


class Observer:
    """A separate MQTT client (own thread, persistent session) timestamping on arrival."""

    def __init__(self, port: int, esp_ids: list[str]) -> None:
        self.records = {esp_id: DeviceRecord() for esp_id in esp_ids}
        self.ha_birth: list[float] = []
        self.malformed = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="soak-observer", clean_session=False
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.connected_at = 0.0  # 0: not connected
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect(HOST, port, keepalive=10)
        self.client.loop_start()

    def _on_disconnect(self, *_: Any) -> None:
        self.connected_at = 0.0

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        self.connected_at = time.time()
        client.subscribe(
            [
                (f"kaiser/{KAISER}/esp/+/actuator/+/status", 1),
                (f"kaiser/{KAISER}/esp/+/sensor/#", 1),
                (f"kaiser/{KAISER}/esp/+/status", 1),
                ("homeassistant/status", 1),
            ]
        )

    def _on_message(self, _: mqtt.Client, __: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        if msg.retain:
            return  # a retained copy handed over at (re)subscribe, not a new publication
        if msg.topic == "homeassistant/status":
            if msg.payload == b"online":
                self.ha_birth.append(now)
            return
        parts = msg.topic.split("/")
        record = self.records.get(parts[3])
        if record is None:
            return
        with self._lock:
            try:
                if parts[4] == "status":
                    if msg.payload == b"online":
                        record.online_at.append(now)
                elif parts[4] == "actuator" and parts[6] == "status" and msg.payload:
                    p = json.loads(msg.payload)
                    record.statuses.setdefault(int(parts[5]), []).append(
                        Status(
                            now, int(p.get("ts", 0)), bool(p["state"]), p["reason"],
                            p.get("refused"), p.get("cmd_id"), float(p.get("runtime_s", 0)),
                            int(p.get("activations", 0)),
                        )
                    )  # fmt: skip
                elif parts[4] == "sensor" and parts[-1] in ("data", "batch"):
                    p = json.loads(msg.payload)
                    count = len(p["readings"]) if parts[-1] == "batch" else 1
                    record.messages.append(
                        SensorMessage(
                            now,
                            int(p["seq"]),
                            count,
                            bool(p.get("replay")),
                            bool(p.get("resend")),
                        )  # fmt: skip
                    )
            except (ValueError, KeyError, TypeError):
                self.malformed += 1

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# ---- the soak ------------------------------------------------------------------------------


@dataclass
class Snapshot:
    at: float
    received: int
    last_seq: int | None
    rejected: dict[str, int] = field(default_factory=dict)  # HA's counters, for the notes
    last_error: str | None = None


@dataclass
class Figures:
    faults: int = 0
    late: int = 0
    stuck_on: int = 0
    lost_readings: int = 0
    duplicate_commands: int = 0
    periods: int = 0
    unobserved_periods: int = 0
    seq_gaps: int = 0
    # Of the seq gaps: messages sent while Mosquitto was shutting down (it stops reading its
    # sockets before it closes them). Sensor data is QoS 0 (docs/protocol.md): the device
    # cannot know such a message was lost.
    in_flight_at_broker_stop: int = 0
    resends: int = 0  # messages sent again after a reconnect
    resends_filling: int = 0  # of these, the ones whose first sending never arrived
    ha_missed: int = 0
    ha_extra: int = 0
    unseen_while_ha_down: int = 0
    readings_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        return (
            f"fault-soak: faults={self.faults} late={self.late} stuck_on={self.stuck_on} "
            f"lost_readings={self.lost_readings} duplicate_commands={self.duplicate_commands}"
        )


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.quick = args.quick
        self.workdir = Path(tempfile.mkdtemp(prefix="a1-soak-"))
        self.broker = Broker(self.workdir)
        self.ha = HomeAssistantProcess(self.workdir, OWNER, name="Soak")
        self.devices: list[Device] = []
        self.observer: Observer | None = None
        self.switches: list[str] = []
        self.ha_up = False
        # Per device: the moments its link went down (harness clock, Unix s).
        self.link_down: dict[str, list[float]] = {}
        self.power_off: dict[str, list[float]] = {}
        # Per device: (opening snapshot, closing snapshot) of each window HA was receiving.
        self.windows: dict[str, list[tuple[Snapshot, Snapshot]]] = {}
        self.open: dict[str, Snapshot] = {}
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.commands = 0
        self.broker_stops: list[float] = []
        self.integration_errors: list[str] = []
        self.recovery: asyncio.Future[None] | None = None

    def span(self, low: float, high: float) -> float:
        scale = 0.5 if self.quick else 1.0
        return self.rng.uniform(low * scale, high * scale)

    # -- HA's side ---------------------------------------------------------------------------
    async def snapshot(self, device: Device) -> Snapshot:
        assert self.ha.client is not None
        diag = await self.ha.client.request(
            "GET", f"/api/diagnostics/config_entry/{device.entry_id}"
        )
        state = diag["data"]["device"]
        return Snapshot(
            time.time(),
            int(state["readings_received"]),
            state["last_reading_seq"],
            dict(state["rejected_messages"]),
            state["last_error"],
        )

    async def open_windows(self, previous: dict[str, Snapshot] | None = None) -> None:
        """Once HA takes in readings of every device again (a new last seq), open a window."""
        deadline = time.monotonic() + 120
        pending = list(self.devices)
        while pending and time.monotonic() < deadline:
            for device in list(pending):
                snap = await self.snapshot(device)
                before = previous.get(device.esp_id) if previous else None
                if snap.last_seq is not None and (
                    before is None or snap.received != before.received
                ):
                    self.open[device.esp_id] = snap
                    pending.remove(device)
            if pending:
                await asyncio.sleep(0.3)
        for device in pending:
            raise HassError(f"HA takes in no readings of {device.esp_id}")

    async def close_windows(self) -> dict[str, Snapshot]:
        closed: dict[str, Snapshot] = {}
        for device in self.devices:
            snap = await self.snapshot(device)
            opened = self.open.pop(device.esp_id)
            self.windows.setdefault(device.esp_id, []).append((opened, snap))
            closed[device.esp_id] = snap
        return closed

    def scan_ha_log(self) -> None:
        """Errors and tracebacks of the integration in the log of the HA run that just ended
        (HA moves the log aside at each start)."""
        path = self.ha.dir / "home-assistant.log"
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                if "custom_components.automationone" in line and (
                    " ERROR " in line or " CRITICAL " in line
                ):
                    self.integration_errors.append(line[:200])

    async def start_ha(self, first: bool = False) -> None:
        self.scan_ha_log()
        self.ha.start()
        client = await self.ha.ready()
        if first:
            states = await client.request("GET", "/api/states")
            # The actuators' switches only (each device also has auto-action switches).
            suffixes = tuple(f"_{a['actuator_type']}_{a['gpio']}" for a in ACTUATORS)
            self.switches = sorted(
                s["entity_id"]
                for s in states
                if s["entity_id"].startswith("switch.soak_") and s["entity_id"].endswith(suffixes)
            )
            if len(self.switches) != len(self.devices) * len(ACTUATORS):
                raise HassError(f"expected one switch per actuator, got {self.switches}")
            self.write_automations()
            await client.request("POST", "/api/services/automation/reload", json={})
        self.ha_up = True

    def write_automations(self) -> None:
        """Rules: each switch turned on on its own time pattern (HA's time_pattern trigger)."""
        periods = [4, 5, 6, 7]
        automations = [
            {
                "id": f"soak_{i}",
                "alias": f"soak {entity}",
                "mode": "parallel",
                "triggers": [{"trigger": "time_pattern", "seconds": f"/{periods[i % 4]}"}],
                "actions": [
                    {
                        "action": "switch.turn_on",
                        "target": {"entity_id": entity},
                        "continue_on_error": True,
                    }
                ],
            }
            for i, entity in enumerate(self.switches)
        ]
        (self.ha.dir / "automations.yaml").write_text(json.dumps(automations, indent=1))

    async def command_loop(self) -> None:
        """HA commands at random moments: turn_on (and sometimes turn_off) through the API."""
        while True:
            await asyncio.sleep(self.rng.uniform(0.3, 1.5))
            if not self.ha_up or not self.switches or self.ha.client is None:
                continue
            entity = self.rng.choice(self.switches)
            service = "turn_off" if self.rng.random() < 0.15 else "turn_on"
            with contextlib.suppress(HassError, OSError, asyncio.TimeoutError, Exception):
                await asyncio.wait_for(
                    self.ha.client.request(
                        "POST",
                        f"/api/services/switch/{service}",
                        json={"entity_id": entity},
                        ok=(200, 400, 500),
                    ),
                    5,
                )
                self.commands += 1

    # -- devices -----------------------------------------------------------------------------
    async def wait_online(self, device: Device, since: float, limit: float = 90) -> None:
        assert self.observer is not None
        record = self.observer.records[device.esp_id]
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if record.online_at and record.online_at[-1] > since:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{device.esp_id} did not come back online")

    # -- faults ------------------------------------------------------------------------------
    async def recovered(self) -> None:
        """Wait until HA is back from the last HA or broker fault (device faults go on
        meanwhile)."""
        if self.recovery is not None:
            await self.recovery
            self.recovery = None
        # HA receives for a while before the next HA or broker fault: the readings of that
        # time are what `lost_readings` checks on HA's side.
        opened = min((snap.at for snap in self.open.values()), default=time.time())
        await asyncio.sleep(max(0.0, opened + (3 if self.quick else 5) - time.time()))

    async def ha_kill(self) -> str:
        await self.recovered()
        await self.close_windows()
        self.ha_up = False
        self.ha.kill()
        down = self.span(0, 3)
        await asyncio.sleep(down)

        async def back() -> None:
            await self.start_ha()
            await self.open_windows()

        self.recovery = asyncio.ensure_future(back())
        return f"HA killed -9, restarted after {down:.1f} s"

    async def broker_restart(self) -> str:
        await self.recovered()
        closed = await self.close_windows()
        now = time.time()
        for device in self.devices:
            self.link_down[device.esp_id].append(now)
        # The devices reach the restarted broker only once the observer is back (its
        # persistent session does not cover a broker that is only starting).
        for device in self.devices:
            device.proxy.down = True
        self.broker_stops.append(time.time())
        self.broker.stop()
        down = self.span(0.5, 6)
        await asyncio.sleep(down)
        restarted = time.time()
        self.broker.start()
        assert self.observer is not None
        while self.observer.connected_at < restarted:  # noqa: ASYNC110 (set by paho's thread)
            await asyncio.sleep(0.02)
        for device in self.devices:
            device.proxy.down = False
        for device in self.devices:
            await self.wait_online(device, restarted)
        self.recovery = asyncio.ensure_future(self.open_windows(closed))
        return f"broker down {down:.1f} s"

    async def link_drop(self) -> str:
        device = self.rng.choice(self.devices)
        device.proxy.down = True
        self.link_down[device.esp_id].append(time.time())
        device.proxy.drop()
        down = self.span(0.3, 6)
        await asyncio.sleep(down)
        device.proxy.down = False
        await self.wait_online(device, time.time() - 0.05)
        return f"{device.esp_id} link down {down:.1f} s"

    async def power_cycle(self) -> str:
        device = self.rng.choice(self.devices)
        device.proxy.down = True  # the broker is unreachable when it boots
        self.power_off[device.esp_id].append(time.time())
        device.power_off()
        device.proxy.drop()
        off = self.span(0.2, 2)
        await asyncio.sleep(off)
        device.start()
        unreachable = self.span(0.5, 6)
        await asyncio.sleep(unreachable)
        device.proxy.down = False
        await self.wait_online(device, time.time() - 0.05)
        return f"{device.esp_id} off {off:.1f} s, broker unreachable {unreachable:.1f} s"

    # -- the run -----------------------------------------------------------------------------
    async def run(self) -> Figures:
        if not VIRTUAL_ESP.exists():
            raise SystemExit(f"{VIRTUAL_ESP} missing: make firmware-virtual-esp")
        log(f"seed={self.args.seed} faults={self.args.faults} workdir={self.workdir}")
        self.broker.start()
        for i in range(self.args.devices):
            proxy = LinkProxy(self.broker.port)
            await proxy.start()
            device = Device(i + 1, self.workdir, proxy)
            self.devices.append(device)
            self.link_down[device.esp_id] = []
            self.power_off[device.esp_id] = []
        self.observer = Observer(self.broker.port, [d.esp_id for d in self.devices])
        self.ha.write_config(soak_entries(self.broker.port, self.devices))
        for device in self.devices:
            device.start()
        started = time.monotonic()
        await self.start_ha(first=True)
        log(f"HA running after {time.monotonic() - started:.0f} s; switches: {self.switches}")
        await self.open_windows()
        commander = asyncio.create_task(self.command_loop())
        faults = {
            "ha_kill": self.ha_kill,
            "broker_restart": self.broker_restart,
            "link_drop": self.link_drop,
            "power_cycle": self.power_cycle,
        }
        order = [FAULT_KINDS[i % len(FAULT_KINDS)] for i in range(self.args.faults)]
        self.rng.shuffle(order)
        try:
            for n, kind in enumerate(order, start=1):
                await asyncio.sleep(self.span(0.5, 3))  # HA commands and rules run meanwhile
                what = await faults[kind]()
                self.counts[kind] += 1
                if self.args.verbose or n % 25 == 0 or n == len(order):
                    log(f"fault {n}/{len(order)} {kind}: {what}")
            await self.recovered()
            await asyncio.sleep(2)
            await self.close_windows()
        finally:
            commander.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commander
            # No more commands: every limit gets its time to fire, then the figures.
            self.ha_up = False
            if self.ha.client is not None:
                await self.ha.client.close()
            self.ha.stop()
            self.scan_ha_log()
            await asyncio.sleep(LIMIT_S + 2 * TOLERANCE_S)
            end = time.time()
            for device in self.devices:
                device.power_off()
            self.observer.stop()
            self.broker.stop()
        # Kept with the work dir when a figure is not 0, or with --keep.
        dump = {
            "records": {k: asdict(v) for k, v in self.observer.records.items()},
            "link_down": self.link_down,
            "power_off": self.power_off,
            "windows": {k: [[asdict(a), asdict(b)] for a, b in v] for k, v in self.windows.items()},
        }
        (self.workdir / "records.json").write_text(json.dumps(dump))
        figures = self.evaluate(end)
        figures.faults = sum(self.counts.values())
        return figures

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, end: float) -> Figures:
        assert self.observer is not None
        fig = Figures()
        for device in self.devices:
            record = self.observer.records[device.esp_id]
            for limits in ACTUATORS:
                self.check_actuator(fig, device, record, limits, end)
            self.check_readings(fig, device, record)
        fig.lost_readings = fig.seq_gaps + fig.ha_missed
        return fig

    def link_deadlines(self, device: Device, record: DeviceRecord, failsafe_s: float) -> list:
        """(down, deadline) of every link loss that lasted at least failsafe_s + tolerance."""
        out = []
        ups = sorted(record.online_at)
        for down in self.link_down[device.esp_id]:
            i = bisect.bisect_right(ups, down)
            up = ups[i] if i < len(ups) else float("inf")
            if failsafe_s > 0 and up - down >= failsafe_s + TOLERANCE_S:
                out.append((down, down + failsafe_s))
        return out

    def check_actuator(
        self, fig: Figures, device: Device, record: DeviceRecord, limits: dict[str, Any], end: float
    ) -> None:
        gpio = limits["gpio"]
        statuses = sorted(record.statuses.get(gpio, []), key=lambda s: (s.ts_ms, s.arrival))
        losses = self.link_deadlines(device, record, limits["failsafe_s"])
        kills = sorted(self.power_off[device.esp_id])
        seen_cmd: set[str] = set()
        events: list[tuple[float, int, Any]] = [(s.ts_ms / 1000, 1, s) for s in statuses]
        events += [(k, 0, None) for k in kills]
        events.sort(key=lambda e: (e[0], e[1]))
        period: tuple[float, float, int] | None = None  # (t_on, runtime at on, activations)
        last_activations = 0

        def close(off_at: float, on: tuple[float, float, int], how: str) -> None:
            t_on = on[0]
            deadline = t_on + limits["max_runtime_s"] if limits["max_runtime_s"] else float("inf")
            for down, due in losses:
                if down >= t_on - 0.05 and due < deadline:
                    deadline = due
                    break
            fig.periods += 1
            if off_at > deadline + TOLERANCE_S:
                fig.late += 1
                fig.notes.append(
                    f"late: {device.esp_id} gpio {gpio} on at {t_on:.3f}, off {how} "
                    f"{off_at - deadline:.2f} s after its deadline"
                )

        for at, kind, status in events:
            if kind == 0:  # power off: the outputs are off from now
                if period is not None:
                    close(at, period, "by power-off")
                period = None
                last_activations = 0
                continue
            s: Status = status
            if s.refused is None and s.cmd_id:
                if s.cmd_id in seen_cmd:
                    fig.duplicate_commands += 1
                    fig.notes.append(f"duplicate: {device.esp_id} gpio {gpio} cmd {s.cmd_id}")
                seen_cmd.add(s.cmd_id)
            if s.on:
                if period is None or s.activations > period[2]:
                    if period is not None or s.activations > last_activations + 1:
                        fig.unobserved_periods += 1  # an off (or a whole period) not seen
                    period = (s.ts_ms / 1000, s.runtime_s, s.activations)
            elif period is not None:
                close(period[0] + (s.runtime_s - period[1]), period, f"({s.reason})")
                period = None
            last_activations = s.activations
        if period is not None:
            fig.stuck_on += 1
            fig.notes.append(f"stuck on: {device.esp_id} gpio {gpio} since {period[0]:.3f}")
            close(end, period, "never")

    def check_readings(self, fig: Figures, device: Device, record: DeviceRecord) -> None:
        messages = record.messages
        # Per boot (a message that is not a resend with a seq not above the last one starts
        # one; a boot starts at seq 0): the seqs up to its highest that never arrived, not even
        # as a resend. A resend of a seq that had arrived is a duplicate: not HA's to take in.
        duplicate = [False] * len(messages)
        boots: list[list[int]] = []  # indexes into messages
        seen: set[int] = set()
        last: int | None = None
        for i, m in enumerate(messages):
            if not m.resend and (last is None or m.seq <= last):
                boots.append([])
                seen = set()
            if not boots:
                boots.append([])
            duplicate[i] = m.resend and m.seq in seen
            if m.resend:
                fig.resends += 1
                fig.resends_filling += not duplicate[i]
            seen.add(m.seq)
            boots[-1].append(i)
            last = m.seq if last is None or not m.resend else max(last, m.seq)
        gaps = 0
        for boot in boots:
            by_seq = sorted((messages[i].seq, messages[i].arrival) for i in boot)
            have = {seq for seq, _ in by_seq}
            missing = sorted(set(range(by_seq[-1][0] + 1)) - have)
            for seq in missing:
                k = bisect.bisect_left(by_seq, (seq, 0.0))
                before = by_seq[k - 1][1] if k > 0 else 0.0
                after = by_seq[k][1]
                stop = any(before < t < after for t in self.broker_stops)
                gaps += 1
                if stop:
                    fig.in_flight_at_broker_stop += 1
                fig.notes.append(
                    f"{device.esp_id}: sensor message seq {seq} never arrived (next at "
                    f"{after:.3f}){' across a broker stop' if stop else ''}"
                )
        fig.seq_gaps += gaps
        arrivals = [m.arrival for m in messages]

        def position(snap: Snapshot) -> int:
            """Index of the message HA took in last before the snapshot."""
            i = bisect.bisect_right(arrivals, snap.at + 1.0) - 1
            while i >= 0 and messages[i].seq != snap.last_seq:
                i -= 1
            return i

        covered = 0
        for opened, closed in self.windows.get(device.esp_id, []):
            first, final = position(opened), position(closed)
            if first < 0 or final < first:
                fig.notes.append(f"{device.esp_id}: window {opened.at:.0f} not found in the stream")
                fig.ha_missed += 1
                continue
            expected = sum(
                m.readings
                for m, dup in zip(
                    messages[first + 1 : final + 1], duplicate[first + 1 : final + 1], strict=True
                )
                if not dup
            )
            got = closed.received - opened.received
            covered += sum(
                m.readings
                for m, dup in zip(
                    messages[first : final + 1], duplicate[first : final + 1], strict=True
                )
                if not dup
            )
            fig.readings_checked += expected
            if got < expected:
                fig.ha_missed += expected - got
                fig.notes.append(
                    f"{device.esp_id}: HA took in {got} of {expected} readings "
                    f"between {opened.at:.0f} and {closed.at:.0f} (seq {opened.last_seq} to "
                    f"{closed.last_seq}; rejected {opened.rejected} to {closed.rejected}, "
                    f"last error {closed.last_error!r})"
                )
            elif got > expected:
                fig.ha_extra += got - expected
        total = sum(m.readings for m, dup in zip(messages, duplicate, strict=True) if not dup)
        fig.unseen_while_ha_down += max(0, total - covered)


async def _main(args: argparse.Namespace) -> int:
    soak = Soak(args)
    try:
        figures = await soak.run()
    finally:
        for device in soak.devices:
            device.power_off()
        soak.ha.kill()
        soak.broker.stop()
    for note in figures.notes[:40]:
        print(f"  {note}")
    for line in soak.integration_errors[:10]:
        print(f"  HA log: {line}")
    print(
        f"faults by kind: {soak.counts}; HA commands sent: {soak.commands}; "
        f"on-periods checked: {figures.periods} (unobserved: {figures.unobserved_periods}); "
        f"readings checked in HA: {figures.readings_checked} (extra: {figures.ha_extra}); "
        f"seq gaps: {figures.seq_gaps} ({figures.in_flight_at_broker_stop} across a broker "
        f"stop); resends: {figures.resends} ({figures.resends_filling} filling a gap); "
        f"unseen_while_ha_down: {figures.unseen_while_ha_down}; "
        f"observer malformed: {soak.observer.malformed if soak.observer else 0}; "
        f"integration errors in HA's log: {len(soak.integration_errors)}"
    )
    print(figures.line, flush=True)
    bad = figures.late or figures.stuck_on or figures.lost_readings or figures.duplicate_commands
    if bad and not args.keep:
        args.keep = True
        print(f"kept for a look: {soak.workdir} (records.json, the logs)")
    if not args.keep:
        shutil.rmtree(soak.workdir, ignore_errors=True)
    return 1 if (bad and args.quick) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="shorter outages; exit 1 on a fault")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
