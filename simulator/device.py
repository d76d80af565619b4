"""One simulated ESP32 on its own MQTT connection, behaving as docs/protocol.md says.

In process (tests, benchmarks, the demo):

    async with SimulatedDevice(DeviceOptions("sim-01", port=port)) as device:
        await device.wait_online()
        ...

    async with Fleet(100, prefix="bench", port=port, batch=True) as fleet:
        ...

`start()` returns at once and the device keeps (re)connecting with backoff; `wait_online()`
returns once it is subscribed and has published `status` = online, so a command sent after
that is received. Clock: `time.monotonic()` for the safety machines, `time.time()` only for
the `ts` fields.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
import contextlib
from dataclasses import dataclass, field, replace
import hashlib
import logging
import random
import time
from typing import Any, Final, Self

from custom_components.automationone.processors.adc import adc_model_for
from custom_components.automationone.protocol import (
    DEFAULT_KAISER_ID,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    ActuatorStatus,
    Announce,
    Capabilities,
    ConfigAck,
    DeviceConfig,
    Heartbeat,
    OtaState,
    OtaStatus,
    ProtocolError,
    Reading,
    Reason,
    Refusal,
    SensorConfig,
    SensorData,
    SystemCommand,
    TopicKind,
    device_topic,
    emergency_topic,
    encode,
    encode_sensor_batch,
    encode_sensor_data,
    parse_actuator_command,
    parse_config,
    parse_emergency,
    parse_processed,
    parse_system_command,
    parse_topic,
    validate_id,
)
from custom_components.automationone.protocol.firmware import (
    SIM_PARTITION,
    OtaError,
    check_sim_image,
    parse_sim_header,
)
from custom_components.automationone.safety import ActuatorSafety

from .mqtt import AsyncMqttClient, MqttError
from .ota import DownloadError, download
from .pins import BOARD_RULES, check_pins
from .signals import Sample, Signal

_LOGGER = logging.getLogger(__name__)

FW: Final = "simulator"
FW_VERSION: Final = "0.1.0"
MAX_SENSORS: Final = 16
MAX_ACTUATORS: Final = 16
MAX_BATCH: Final = 64
_U32: Final = 0xFFFFFFFF


def mac_for(esp_id: str) -> str:
    """A stable, locally administered MAC (02:...) derived from the device id."""
    digest = hashlib.sha256(esp_id.encode()).digest()
    return ":".join(f"{b:02X}" for b in (0x02, *digest[:5]))


def seed_for(seed: int, *parts: object) -> int:
    """A stable seed for one device (and pin) from the run's seed."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class DeviceOptions:
    """How to run one simulated device."""

    esp_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    kaiser_id: str = DEFAULT_KAISER_ID
    board: str = "esp32dev"
    heartbeat_s: float = 60.0
    batch: bool = False
    seed: int = 0
    name: str | None = None
    keepalive: int = 60
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    restart_delay_s: float = 1.0
    username: str | None = None  # the login set up (portal / build); None: anonymous
    password: str | None = None
    login_timeout_s: float = 30.0  # docs/protocol.md "Device login"
    move_timeout_s: float = 30.0  # docs/protocol.md "Moving to another broker"


@dataclass(frozen=True, slots=True)
class Login:
    """A delivered broker login, as the firmware stores it (never logged)."""

    username: str
    password: str = field(repr=False)
    ca: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class BrokerTarget:
    """Where a `move` sent the device, as the firmware stores it (host None: the set-up one)."""

    kaiser_id: str
    host: str | None = None
    port: int | None = None


class _Sensor:
    """A configured sensor: its signal and its next sample time."""

    def __init__(self, config: SensorConfig, signal: Signal, next_at: float) -> None:
        self.config = config
        self.signal = signal
        self.next_at = next_at


class SimulatedDevice:
    """A virtual ESP32: announce, heartbeat, config/ack, readings, actuators with safety."""

    def __init__(self, options: DeviceOptions) -> None:
        """Prepare the device; `start()` connects it."""
        validate_id(options.esp_id, "esp_id")
        validate_id(options.kaiser_id, "kaiser_id")
        if options.board not in BOARD_RULES:
            raise ValueError(f"unknown board {options.board!r}: one of {sorted(BOARD_RULES)}")
        self.options = options
        self.esp_id = options.esp_id
        self.kaiser_id = options.kaiser_id
        self.mac = mac_for(options.esp_id)
        self._rng = random.Random(seed_for(options.seed, options.esp_id))
        self._topics: dict[tuple[TopicKind, int | None], str] = {}
        self._client: AsyncMqttClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._online = asyncio.Event()
        self._offline = asyncio.Event()
        self._offline.set()
        self._wake_safety = asyncio.Event()
        self._wake_sampler = asyncio.Event()
        self._stored: DeviceConfig | None = None  # what the firmware keeps in NVS
        # In emergency while the kaiser's broadcast or the device's own topic says stop.
        self._emergency_sources: dict[TopicKind, bool] = {}
        self._link = False
        self._hold_until = 0.0
        self._restart_pending = False
        self._stopping = False
        self.config: DeviceConfig | None = None
        self.actuators: dict[int, ActuatorSafety] = {}
        self.sensors: dict[tuple[int, str | None], _Sensor] = {}
        self.last_processed: dict[int, float] = {}
        self.rejected: int = 0
        self._forced: dict[int, Sample] = {}
        self.fw_version = FW_VERSION  # the image in flash: an update changes it
        self._ota: asyncio.Task[None] | None = None
        # Device login (docs/protocol.md): the one in use (None: the options'), the one being
        # tried, the fallback; like NVS they survive a restart, not a factory reset.
        self.login: Login | None = None
        self._pending_login: Login | None = None
        self._fallback_login: Login | None = None
        self._login_deadline = 0.0
        self._login_refusals = 0
        self.login_error: str | None = None
        # Moving to another broker (docs/protocol.md): the one moved to (None: the options'),
        # the one being tried; the current one survives a restart, not a factory reset.
        self.broker: BrokerTarget | None = None
        self._pending_move: BrokerTarget | None = None
        self._move_deadline = 0.0
        self.move_error: str | None = None
        self._boot()

    # --- lifecycle ---------------------------------------------------------------------

    def _boot(self) -> None:
        """Power-on state: counters reset, the stored config applied, actuators safe."""
        self._boot_at = time.monotonic()
        self._seq = 0
        self._heap_min = 1 << 30
        self._applied_since_boot = False
        self.actuators = {}
        self.sensors = {}
        self.config = None
        self._link = False
        if self._stored is not None:
            self._apply(self._stored, publish=False)

    async def start(self) -> None:
        """Start connecting (with backoff) and running; returns at once."""
        if self._tasks:
            return
        self._stopping = False
        for job in (self._supervise(), self._safety_loop(), self._heartbeat_loop()):
            self._tasks.append(asyncio.create_task(self._guard(job)))
        self._tasks.append(asyncio.create_task(self._guard(self._sampler_loop())))

    async def stop(self) -> None:
        """Publish `status` = offline, disconnect cleanly and stop every task."""
        self._stopping = True
        if self._tasks:
            self._tasks[0].cancel()  # the supervisor: no reconnect from here on
        client = self._client
        if client is not None and client.connected:
            client.publish(self._topic(TopicKind.STATUS), STATUS_OFFLINE, 1, True)
            await client.disconnect()
        elif client is not None:
            client.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._online.clear()
        self._offline.set()

    async def __aenter__(self) -> Self:
        """Start the device."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop the device (status offline)."""
        await self.stop()

    async def wait_online(self) -> None:
        """Wait until connected, subscribed and `status` = online is published.

        Wrap it in `asyncio.timeout()`: a device keeps retrying while the broker is down.
        """
        await self._online.wait()

    async def wait_offline(self) -> None:
        """Wait until the broker link is down (wrap it in `asyncio.timeout()`)."""
        await self._offline.wait()

    @property
    def online(self) -> bool:
        """Connected, subscribed and announced."""
        return self._online.is_set()

    def drop_link(self, offline_for: float = 0.0) -> None:
        """Lose the broker link without DISCONNECT (the broker publishes the last will) and
        stay away for `offline_for` seconds; the safety timers keep running meanwhile."""
        self._hold_until = time.monotonic() + offline_for
        if self._client is not None:
            self._client.abort()

    def force(self, gpio: int, sample: Sample | None) -> None:
        """Make the sensors on `gpio` read `sample` (None: the simulated signal again), e.g. a
        pH below a rule's threshold; survives restarts like the physical world would."""
        if sample is None:
            self._forced.pop(gpio, None)
        else:
            self._forced[gpio] = sample

    def sample_now(self) -> None:
        """Read and publish every configured sensor at once (besides the schedule)."""
        self._publish_samples(list(self.sensors.values()), time.monotonic())

    async def _guard(self, job: Awaitable[None]) -> None:
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("%s: task failed", self.esp_id)

    # --- connection --------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.options.reconnect_min_s
        while not self._stopping:
            if self._restart_pending:
                self._restart_pending = False
                self._boot()
                self._wake_safety.set()
                self._wake_sampler.set()
                await asyncio.sleep(self.options.restart_delay_s)
            if (hold := self._hold_until - time.monotonic()) > 0:
                await asyncio.sleep(hold)
            try:
                client = await self._connect()
            except MqttError as err:
                if self._login_failed(err):
                    continue  # back to the old login at once
                wait = delay * self._rng.uniform(0.8, 1.2)
                _LOGGER.info("%s: %s; retrying in %.1f s", self.esp_id, err, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, self.options.reconnect_max_s)
                continue
            delay = self.options.reconnect_min_s
            await client.closed.wait()

    def _trying(self) -> Login | None:
        """The login of the next connect: the pending one, else the current (None: set up)."""
        return self._pending_login or self.login

    def _heading_for(self) -> BrokerTarget:
        """The broker and kaiser id of the next connect: a pending move, else the current."""
        return self._pending_move or self.broker or BrokerTarget(self.options.kaiser_id)

    def _use_kaiser(self, kaiser_id: str) -> None:
        if kaiser_id != self.kaiser_id:
            self.kaiser_id = kaiser_id
            self._topics.clear()

    def _login_failed(self, err: MqttError) -> bool:
        """A connect failed: revert a pending move or login or use the fallback login. True:
        retry now."""
        if self._pending_move is not None:
            if not (err.refused or time.monotonic() >= self._move_deadline):
                return False
            self.move_error = "refused" if err.refused else "timeout"
            _LOGGER.warning("%s: move not made: %s", self.esp_id, self.move_error)
            self._pending_move = None
            return True
        if self._pending_login is not None:
            expired = time.monotonic() >= self._login_deadline
            if not (err.refused or err.tls or expired):
                return False
            self.login_error = "refused" if err.refused else ("tls" if err.tls else "timeout")
            _LOGGER.warning("%s: delivered login not taken: %s", self.esp_id, self.login_error)
            self._pending_login = None
            return True
        if not err.refused:
            return False
        self._login_refusals += 1
        if self._login_refusals < 3 or (self.login is None and self._fallback_login is None):
            return False
        _LOGGER.warning("%s: current login refused, trying the fallback", self.esp_id)
        self._login_refusals = 0
        self.login, self._fallback_login = self._fallback_login, self.login
        return True

    async def _connect(self) -> AsyncMqttClient:
        options = self.options
        login = self._trying()
        heading = self._heading_for()
        self._use_kaiser(heading.kaiser_id)  # the will and every topic below the new root
        host = heading.host or options.host
        port = heading.port or (login.port if login else None) or options.port
        client = AsyncMqttClient(
            self.esp_id,
            self._on_message,
            self._on_lost,
            will=(self._topic(TopicKind.STATUS), STATUS_OFFLINE.encode(), 1, True),
            keepalive=options.keepalive,
            username=login.username if login else options.username,
            password=login.password if login else options.password,
            ca=login.ca if login else None,
        )
        self._client = client
        try:
            await client.connect(host, port)
            if self._pending_move is not None:
                self.broker, self._pending_move = self._pending_move, None
                self.move_error = None
            if self._pending_login is not None:
                # Accepted: the new login is the current one, the old one the fallback.
                self._fallback_login, self.login = self.login, self._pending_login
                self._pending_login = None
                self.login_error = None
            self._login_refusals = 0
            now = time.monotonic()
            self._link = True
            for machine in self.actuators.values():
                machine.link_up(now)
            # Announce, then subscribe, then `online`: once HA sees online, commands arrive.
            client.publish(self._topic(TopicKind.ANNOUNCE), encode(self._announce()), 1, True)
            base = f"kaiser/{self.kaiser_id}/esp/{self.esp_id}"
            await client.subscribe(
                [
                    (f"{base}/config", 1),
                    (f"{base}/actuator/+/command", 1),
                    (f"{base}/system/command", 1),
                    (f"{base}/sensor/+/processed", 0),
                    (emergency_topic(self.kaiser_id), 1),
                    (f"{base}/emergency", 1),
                ]
            )
        except MqttError:
            client.abort()
            raise
        client.publish(self._topic(TopicKind.STATUS), STATUS_ONLINE, 1, True)
        now = time.monotonic()
        for gpio, machine in self.actuators.items():
            self._publish_status(gpio, machine.status(now))
        self._publish_heartbeat()
        _LOGGER.info("%s: online at %s:%s as %s", self.esp_id, host, port, self.kaiser_id)
        self._offline.clear()
        self._online.set()
        self._wake_safety.set()
        return client

    def _on_lost(self) -> None:
        """The connection closed: fail-safe timers start (they run while disconnected)."""
        self._online.clear()
        self._offline.set()
        if self._link:
            self._link = False
            now = time.monotonic()
            for machine in self.actuators.values():
                machine.link_down(now)
        self._wake_safety.set()
        if not self._stopping and not self._restart_pending:
            _LOGGER.warning("%s: broker link lost", self.esp_id)

    # --- publishing --------------------------------------------------------------------

    def _topic(self, kind: TopicKind, gpio: int | None = None) -> str:
        key = (kind, gpio)
        topic = self._topics.get(key)
        if topic is None:
            topic = self._topics[key] = device_topic(self.kaiser_id, self.esp_id, kind, gpio)
        return topic

    def _publish(self, topic: str, payload: bytes | str, qos: int, retain: bool) -> bool:
        client = self._client
        return client is not None and client.publish(topic, payload, qos, retain)

    def _announce(self) -> Announce:
        return Announce(
            esp_id=self.esp_id,
            kaiser_id=self.kaiser_id,
            name=self.options.name,
            board=self.options.board,
            fw=FW,
            fw_version=self.fw_version,
            mac=self.mac,
            caps=Capabilities(
                sensors=MAX_SENSORS,
                actuators=MAX_ACTUATORS,
                batch=self.options.batch,
                on_device=True,
                move=True,
            ),
            login=self.login.username if self.login else self.options.username,
            login_error=self.login_error,
            move_error=self.move_error,
        )

    def _publish_announce(self) -> None:
        """Answer a login or move that is not tried (busy, already there) with an announce."""
        self._publish(self._topic(TopicKind.ANNOUNCE), encode(self._announce()), 1, True)

    def _publish_status(self, gpio: int, status: ActuatorStatus, retain: bool = True) -> None:
        status = replace(status, ts=int(time.time() * 1000))
        self._publish(self._topic(TopicKind.ACTUATOR_STATUS, gpio), encode(status), 1, retain)

    def _publish_heartbeat(self) -> None:
        load = 1500 * len(self.sensors) + 800 * len(self.actuators)
        heap = max(20_000, round(210_000 - load + self._rng.gauss(0, 2500)))
        self._heap_min = min(self._heap_min, heap)
        rssi = max(-95, min(-30, round(-61 + self._rng.gauss(0, 3))))
        heartbeat = Heartbeat(
            uptime_s=min(_U32, int(time.monotonic() - self._boot_at)),
            heap_free=heap,
            rssi=rssi,
            heap_min=self._heap_min,
            config_version=self.config.version if self.config is not None else None,
            ts=int(time.time() * 1000),
        )
        self._publish(self._topic(TopicKind.HEARTBEAT), encode(heartbeat), 0, False)

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) & _U32
        return seq

    def _publish_samples(self, sensors: list[_Sensor], now: float) -> None:
        if not sensors or not self.online:
            return
        ts = int(time.time() * 1000)
        readings: list[Reading] = []
        for sensor in sensors:
            processed = sensor.config.mode == "processed"
            sample = self._forced.get(sensor.config.gpio) or sensor.signal.sample(
                now - self._boot_at, processed
            )
            readings.extend(
                Reading(
                    gpio=sensor.config.gpio,
                    raw=one.raw,
                    value=one.value,
                    unit=one.unit,
                    addr=sensor.config.addr,
                    quality="good" if processed else None,
                    quantity=one.quantity,
                )
                for one in (sample, *sample.also)
            )
        if self.options.batch:
            for start in range(0, len(readings), MAX_BATCH):
                data = SensorData(self._next_seq(), tuple(readings[start : start + MAX_BATCH]), ts)
                self._publish(
                    self._topic(TopicKind.SENSOR_BATCH), encode_sensor_batch(data), 0, False
                )
            return
        for reading in readings:
            data = SensorData(self._next_seq(), (reading,), ts)
            topic = self._topic(TopicKind.SENSOR_DATA, reading.gpio)
            self._publish(topic, encode_sensor_data(data), 0, False)

    # --- periodic work -----------------------------------------------------------------

    async def _safety_loop(self) -> None:
        """Fire actuator timers at their deadlines, connected or not."""
        while True:
            self._wake_safety.clear()
            deadlines = [d for m in self.actuators.values() if (d := m.next_deadline()) is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_safety.wait(), timeout)
            now = time.monotonic()
            for gpio, machine in list(self.actuators.items()):
                for status in machine.tick(now):
                    _LOGGER.info("%s: actuator %d -> %s", self.esp_id, gpio, status.reason)
                    self._publish_status(gpio, status)

    async def _heartbeat_loop(self) -> None:
        while True:
            config = self.config
            interval = (
                config.heartbeat_s
                if config is not None and config.heartbeat_s
                else self.options.heartbeat_s
            )
            await asyncio.sleep(interval)
            await self._online.wait()
            self._publish_heartbeat()

    async def _sampler_loop(self) -> None:
        while True:
            self._wake_sampler.clear()
            timeout = None
            if self.sensors:
                timeout = max(0.0, min(s.next_at for s in self.sensors.values()) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_sampler.wait(), timeout)
            now = time.monotonic()
            due = [s for s in self.sensors.values() if s.next_at <= now]
            for sensor in due:
                interval = sensor.config.interval_ms / 1000
                sensor.next_at += interval
                if sensor.next_at <= now:  # fell behind (e.g. a suspended loop): skip ahead
                    sensor.next_at = now + interval
            self._publish_samples(due, now)

    # --- incoming ----------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Handle one message; bad input is logged and dropped, never raised."""
        try:
            parsed = parse_topic(topic)
            if parsed.kind is TopicKind.EMERGENCY:
                if parsed.kaiser_id == self.kaiser_id:
                    self._handle_emergency(parsed.kind, payload)
                return
            if parsed.esp_id != self.esp_id or parsed.kaiser_id != self.kaiser_id:
                self.rejected += 1
                _LOGGER.warning("%s: dropped %s: not this device", self.esp_id, topic[:160])
                return
            if parsed.kind is TopicKind.CONFIG:
                self._handle_config(payload)
            elif parsed.kind is TopicKind.ACTUATOR_COMMAND and parsed.gpio is not None:
                self._handle_command(parsed.gpio, payload)
            elif parsed.kind is TopicKind.SYSTEM_COMMAND:
                self._handle_system(payload)
            elif parsed.kind is TopicKind.PROCESSED and parsed.gpio is not None:
                self.last_processed[parsed.gpio] = parse_processed(payload).value
            elif parsed.kind is TopicKind.DEVICE_EMERGENCY:
                self._handle_emergency(parsed.kind, payload)
        except ProtocolError as err:
            self.rejected += 1
            _LOGGER.warning("%s: dropped %s: %s", self.esp_id, topic[:160], err)
        except Exception:
            self.rejected += 1
            _LOGGER.exception("%s: error handling %s", self.esp_id, topic[:160])

    def _handle_config(self, payload: bytes) -> None:
        if not payload:
            _LOGGER.info("%s: config cleared on the broker; keeping the applied one", self.esp_id)
            return
        self._apply(parse_config(payload), publish=True)

    def _apply(self, config: DeviceConfig, *, publish: bool) -> None:
        """Apply a config: check pins, keep unchanged parts, answer on config/ack."""
        results, sensors, actuators = check_pins(
            self.options.board, config.sensors, config.actuators
        )
        now = time.monotonic()
        reason = Reason.CONFIG if self._applied_since_boot else Reason.BOOT
        machines: dict[int, ActuatorSafety] = {}
        for actuator in actuators:
            old = self.actuators.get(actuator.gpio)
            if old is not None and old.same_actuator(actuator):
                # Only limits changed: state, runtime, activations and windows survive.
                if old.config != actuator:
                    old.reconfigure(actuator, now)  # its status is published below
                machines[actuator.gpio] = old
                continue
            machine = ActuatorSafety(actuator, now, reason)
            if self._emergency:
                machine.emergency_stop(now)
            if not self._link:
                machine.link_down(now)
            machines[actuator.gpio] = machine
        removed = {g: m for g, m in self.actuators.items() if g not in machines}
        self.actuators = machines

        keep: dict[tuple[int, str | None], _Sensor] = {}
        for sensor_config in sensors:
            key = (sensor_config.gpio, sensor_config.addr)
            old_sensor = self.sensors.get(key)
            if old_sensor is not None and old_sensor.config == sensor_config:
                keep[key] = old_sensor
            else:
                signal = Signal(
                    sensor_config.type,
                    seed_for(self.options.seed, self.esp_id, key),
                    adc_model_for(self.options.board),
                )
                keep[key] = _Sensor(sensor_config, signal, now)
        self.sensors = keep
        self.config = config
        self._stored = config
        self._applied_since_boot = True
        self._wake_safety.set()
        self._wake_sampler.set()
        if not publish:
            return
        ack = ConfigAck(config.version, all(r.ok for r in results), tuple(results))
        self._publish(self._topic(TopicKind.CONFIG_ACK), encode(ack), 1, True)
        refused = [f"{r.kind} {r.gpio}: {r.error}" for r in results if not r.ok]
        _LOGGER.info(
            "%s: config v%d applied%s", self.esp_id, config.version,
            f", refused {', '.join(refused)}" if refused else "",
        )  # fmt: skip
        for gpio, machine in removed.items():
            self._publish_status(gpio, _removed_status(machine, now))
        for gpio, machine in machines.items():
            self._publish_status(gpio, machine.status(now))

    def _handle_command(self, gpio: int, payload: bytes) -> None:
        command = parse_actuator_command(payload)
        machine = self.actuators.get(gpio)
        now = time.monotonic()
        if machine is None:
            # Not an actuator here: answer, but do not leave a retained status behind.
            status = ActuatorStatus(
                state=False,
                value=0,
                reason=Reason.CONFIG.value,
                refused=Refusal.UNKNOWN_GPIO.value,
                cmd_id=command.cmd_id,
            )
            self._publish_status(gpio, status, retain=False)
            return
        for status in machine.apply(command, now):
            self._publish_status(gpio, status)
        self._wake_safety.set()

    @property
    def _emergency(self) -> bool:
        return any(self._emergency_sources.values())

    def _handle_emergency(self, source: TopicKind, payload: bytes) -> None:
        """A stop or clear on the kaiser's broadcast or on this device's own topic; each
        source is cleared only by its own `clear`."""
        if not payload:
            return  # the retained message was cleared
        emergency = parse_emergency(payload)
        now = time.monotonic()
        was = self._emergency
        self._emergency_sources[source] = emergency.action == "stop"
        stop = self._emergency
        if stop == was:
            return
        _LOGGER.warning(
            "%s: emergency %s (%s)",
            self.esp_id,
            "stop" if stop else "clear",
            emergency.reason or "-",
        )
        for gpio, machine in self.actuators.items():
            statuses = machine.emergency_stop(now) if stop else machine.emergency_clear(now)
            for status in statuses:
                self._publish_status(gpio, status)
        self._wake_safety.set()

    def _handle_system(self, payload: bytes) -> None:
        command = parse_system_command(payload)
        if command.cmd == "identify":
            _LOGGER.warning("%s: identify: blinking the LED", self.esp_id)
        elif command.cmd in ("restart", "factory_reset"):
            _LOGGER.warning("%s: %s", self.esp_id, command.cmd)
            if command.cmd == "factory_reset":
                self._stored = None
                self.login = self._fallback_login = self._pending_login = None
                self.broker = self._pending_move = None
            asyncio.get_running_loop().create_task(self._restart())
        elif command.cmd == "ota":
            self._start_ota(command)
        elif command.cmd == "login":
            self._take_login(command)
        elif command.cmd == "move":
            self._take_move(command)

    def _take_move(self, command: SystemCommand) -> None:
        """Move to another broker and kaiser id: drop the session, connect there."""
        assert command.kaiser_id is not None
        target = BrokerTarget(command.kaiser_id, command.host, command.port)
        if self._pending_move is not None or self._pending_login is not None:
            self.move_error = "busy"
        elif target == self._heading_for():
            self.move_error = None  # already there: only a fresh announce
        else:
            self._pending_move = target
            self._move_deadline = time.monotonic() + self.options.move_timeout_s
            self.move_error = None
            _LOGGER.info("%s: moving to %s", self.esp_id, target)
            if (client := self._client) is not None:
                asyncio.get_running_loop().create_task(client.disconnect())
            return
        self._publish_announce()

    def _take_login(self, command: SystemCommand) -> None:
        """Try a delivered login: drop the session, connect with it (docs/protocol.md)."""
        assert command.username is not None
        assert command.password is not None
        if self._pending_move is not None:
            self.login_error = "busy"
            self._publish_announce()
            return
        self._pending_login = Login(command.username, command.password, command.ca, command.port)
        self._login_deadline = time.monotonic() + self.options.login_timeout_s
        self.login_error = None
        _LOGGER.info("%s: trying the delivered login %s", self.esp_id, command.username)
        client = self._client
        if client is not None:
            asyncio.get_running_loop().create_task(client.disconnect())

    # --- firmware update (as the firmware core's a1/ota) ---------------------------------

    def _publish_ota(
        self,
        command: SystemCommand,
        state: OtaState,
        progress: int = 0,
        error: OtaError | None = None,
        detail: str = "",
    ) -> None:
        status = OtaStatus(
            state=state.value,
            progress=progress,
            error=None if error is None else error.value,
            detail=detail or None,
            version=command.version,
            cmd_id=command.cmd_id,
        )
        self._publish(self._topic(TopicKind.OTA_STATUS), encode(status), 1, False)

    def _start_ota(self, command: SystemCommand) -> None:
        if self._ota is not None and not self._ota.done():
            self._publish_ota(command, OtaState.FAILED, error=OtaError.BUSY)
            return
        refusal: tuple[OtaError, str] | None = None
        if command.sha256 is None:
            refusal = (OtaError.NO_CHECKSUM, "")
        elif command.board is not None and command.board != self.options.board:
            refusal = (OtaError.BOARD_MISMATCH, command.board)
        elif command.size is not None and command.size > SIM_PARTITION:
            refusal = (OtaError.TOO_LARGE, f"partition holds {SIM_PARTITION}")
        if refusal is not None:
            _LOGGER.warning("%s: ota refused: %s", self.esp_id, refusal[0].value)
            self._publish_ota(command, OtaState.FAILED, error=refusal[0], detail=refusal[1])
            return
        self._publish_ota(command, OtaState.DOWNLOADING)
        self._ota = asyncio.get_running_loop().create_task(self._guard(self._install(command)))

    async def _install(self, command: SystemCommand) -> None:
        assert command.url is not None
        loop = asyncio.get_running_loop()

        def progress(percent: int) -> None:
            loop.call_soon_threadsafe(self._publish_ota, command, OtaState.DOWNLOADING, percent)

        try:
            image = await asyncio.to_thread(download, command.url, command.size, progress)
        except DownloadError as err:
            self._publish_ota(
                command, OtaState.FAILED, error=OtaError.DOWNLOAD_FAILED, detail=str(err)
            )
            return
        failed = check_sim_image(image, command.sha256, self.options.board, command.size)
        header = parse_sim_header(image)
        if failed is not None or header is None:
            error, detail = failed or (OtaError.BAD_IMAGE, "")
            _LOGGER.warning("%s: ota failed: %s (old firmware keeps running)", self.esp_id, error)
            self._publish_ota(command, OtaState.FAILED, error=error, detail=detail)
            return
        self._publish_ota(command, OtaState.INSTALLED, 100)
        _LOGGER.warning("%s: ota: installed %s, restarting", self.esp_id, header[1])
        self.fw_version = header[1]
        await asyncio.sleep(0.2)  # let `installed` reach the broker, as the firmware does
        await self._restart()

    async def _restart(self) -> None:
        """Say offline, disconnect, boot again (stored config) and reconnect."""
        self._restart_pending = True
        client = self._client
        if client is not None and client.connected:
            client.publish(self._topic(TopicKind.STATUS), STATUS_OFFLINE, 1, True)
            await client.disconnect()


def _removed_status(machine: ActuatorSafety, now: float) -> ActuatorStatus:
    """Status of an actuator that a new config no longer lists: safe state, reason config."""
    return ActuatorStatus(
        state=machine.safe_value > 0,
        value=machine.safe_value,
        reason=Reason.CONFIG.value,
        runtime_s=round(machine.runtime_s(now), 3),
        activations=machine.activations,
    )


class Fleet:
    """Several simulated devices `{prefix}-{n:02d}` (n from 1) with the same options."""

    def __init__(self, count: int, prefix: str = "sim", **options: Any) -> None:
        """`options` are DeviceOptions fields except esp_id."""
        self.devices = [
            SimulatedDevice(DeviceOptions(esp_id=f"{prefix}-{n:02d}", **options))
            for n in range(1, count + 1)
        ]

    async def start(self) -> None:
        """Start every device (returns at once)."""
        for device in self.devices:
            await device.start()

    async def wait_online(self) -> None:
        """Wait until every device is online (wrap it in `asyncio.timeout()`)."""
        for device in self.devices:
            await device.wait_online()

    async def stop(self) -> None:
        """Stop every device (status offline)."""
        await asyncio.gather(*(device.stop() for device in self.devices))

    async def __aenter__(self) -> Self:
        """Start the fleet."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop the fleet."""
        await self.stop()
