"""State of one ESP as HA sees it, fed by its MQTT messages (no Home Assistant imports).

The HA shell hands in a publish function and subscribes once for all devices; this model
decodes, keeps the latest state, counts what it rejects and tells listeners about changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
import logging
import time
from typing import Any

from .errors import ProtocolError
from .log_limiter import LogLimiter
from .messages import (
    MAX_LARGE_PAYLOAD,
    ActuatorCommand,
    ActuatorStatus,
    Announce,
    ConfigAck,
    DeviceConfig,
    Emergency,
    Heartbeat,
    OtaStatus,
    Reading,
    SensorData,
    SystemCommand,
    encode,
    parse_actuator_status,
    parse_announce,
    parse_config_ack,
    parse_emergency,
    parse_heartbeat,
    parse_ota_status,
    parse_sensor_batch,
    parse_sensor_data,
    parse_status,
)
from .topics import Topic, TopicKind, device_topic

_LOGGER = logging.getLogger(__name__)

type PublishFn = Callable[[str, bytes, int, bool], Coroutine[Any, Any, None]]
"""publish(topic, payload, qos, retain), handed in by the HA shell."""

type SpawnFn = Callable[[Coroutine[Any, Any, None]], object]
"""Runs a coroutine in the background (the HA shell hands in its task factory)."""

type SensorKey = tuple[int, str | None]
"""A sensor of a device: its pin and, on a shared bus, its address."""

type ActuatorHandler = Callable[[ActuatorStatus], None]
"""Called with every valid `actuator/{gpio}/status` of one pin."""

type ReadingHandler = Callable[[Reading, SensorData, float], None]
"""Called with one reading, the message it came in and the receive time (monotonic)."""

# Counted in `rejected` when handling a message failed in our own code (a bug, not the device's).
INTERNAL_ERROR = "internal_error"
# Counted in `rejected` for an announce on this device's topics from a board with another MAC.
MAC_CONFLICT = "mac_conflict"
# How many seqs back a resend is recognised (the firmware resends at most one batch of 32
# readings, sent in its last 2 s).
SEQ_WINDOW = 256
SEQ_WINDOW_MASK = (1 << SEQ_WINDOW) - 1
# A live message (not a replay) with a device time `ts` comes late when its delay (HA's clock
# minus `ts`) exceeds the device's usual delay by this much: it is taken in as a replay
# (history at its time, never the live state), as a relay's resend of it would be.
LATE_AFTER_MS = 5000.0
# The usual delay is the smallest of the on-time messages, forgotten at this rate (ms per s:
# 1,000 ppm, ten times a poor crystal's drift), so that it follows a device's clock drifting
# away but not an outage's length.
USUAL_DELAY_FORGETS = 1.0
# Messages late for this long with none on time mean a clock changed (HA's or the device's),
# not that the messages are old: the delay they show becomes the usual one.
CLOCK_CHANGE_S = 30.0

# Retained topics a device (or HA for it) leaves on the broker; cleared when it is removed.
RETAINED_KINDS = (
    TopicKind.ANNOUNCE,
    TopicKind.STATUS,
    TopicKind.CONFIG,
    TopicKind.CONFIG_ACK,
    TopicKind.DEVICE_EMERGENCY,
)


@dataclass(slots=True)
class DeviceState:
    """What HA knows about one ESP."""

    esp_id: str
    kaiser_id: str
    publish: PublishFn
    spawn: SpawnFn
    mac: str | None = None  # lower-case; an announce with another MAC is not this device's
    other_mac: str | None = None  # the last other board that announced on these topics
    announce: Announce | None = None
    heartbeat: Heartbeat | None = None
    heartbeat_at: float | None = None
    online: bool | None = None
    broker_connected: bool = True
    kaiser_emergency: bool = False  # the kaiser's broadcast says stop
    device_emergency: bool = False  # the device's own emergency topic says stop
    rejected: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    config_ack: ConfigAck | None = None
    pushed_config: DeviceConfig | None = None  # the last config published to the device
    # The seq of this boot's newest message (not a resend), and which of the SEQ_WINDOW seqs up
    # to it were taken in (bit i: last_seq - i): a resend of one of those is dropped.
    last_seq: int | None = None
    seen_seqs: int = 0
    resends_dropped: int = 0  # resent messages whose seq had been taken in
    last_reading_seq: int | None = None  # of the last sensor message taken in, replay or live
    readings_received: int = 0
    readings_unrouted: int = 0
    late_readings: int = 0  # sent as live but late (LATE_AFTER_MS): taken in as replays
    # A test's own clocks (monotonic s, Unix s); None: the time module's, looked up each time.
    clock: Callable[[], float] | None = field(default=None, repr=False)
    wall_clock: Callable[[], float] | None = field(default=None, repr=False)
    _usual_delay_ms: float | None = None
    _usual_delay_at: float = 0.0
    _late_since: float | None = None
    ota: OtaStatus | None = None  # the last firmware-update progress or result
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    _availability_listeners: list[Callable[[], None]] = field(default_factory=list)
    _emergency_listeners: list[Callable[[], None]] = field(default_factory=list)
    _was_available: bool = False
    _unavailable_logged: bool = False  # "offline" logged, "back online" not yet
    _announce_listeners: list[Callable[[Announce], None]] = field(default_factory=list)
    _ack_listeners: list[Callable[[ConfigAck], None]] = field(default_factory=list)
    _conflict_listeners: list[Callable[[str | None], None]] = field(default_factory=list)
    _reading_handlers: dict[SensorKey, list[ReadingHandler]] = field(default_factory=dict)
    # A kind of bad message (error code) is logged at most once a minute per device.
    log_limiter: LogLimiter = field(default_factory=LogLimiter)
    _actuator_handlers: dict[int, list[ActuatorHandler]] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """True while the device says it is online and HA is connected to the broker."""
        return bool(self.online) and self.broker_connected

    @property
    def emergency(self) -> bool:
        """In emergency while either its kaiser's broadcast or its own topic says stop (the
        device enforces the same rule)."""
        return self.kaiser_emergency or self.device_emergency

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every state change; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_availability_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` only when `available` flips (cheaper than every heartbeat)."""
        self._availability_listeners.append(listener)
        return lambda: self._availability_listeners.remove(listener)

    def add_emergency_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when `emergency` (or which stop holds it) changes. An emergency
        changes nothing else the device shows, so the other listeners are not called: a
        house-wide stop of hundreds of devices redraws one entity per device, after the
        broadcast went out."""
        self._emergency_listeners.append(listener)
        return lambda: self._emergency_listeners.remove(listener)

    def add_announce_listener(self, listener: Callable[[Announce], None]) -> Callable[[], None]:
        """Call `listener` with every valid announce (e.g. to update the device registry)."""
        self._announce_listeners.append(listener)
        return lambda: self._announce_listeners.remove(listener)

    def add_ack_listener(self, listener: Callable[[ConfigAck], None]) -> Callable[[], None]:
        """Call `listener` with every config/ack of the device."""
        self._ack_listeners.append(listener)
        return lambda: self._ack_listeners.remove(listener)

    def add_conflict_listener(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Call `listener` with the other MAC when another board announces on this device's
        topics, and with None when this device's own announce is back."""
        self._conflict_listeners.append(listener)
        return lambda: self._conflict_listeners.remove(listener)

    def add_reading_handler(self, key: SensorKey, handler: ReadingHandler) -> Callable[[], None]:
        """Route readings of one sensor to `handler` (one sensor may feed several, e.g.
        an SHT31's temperature and humidity); returns the remover."""
        self._reading_handlers.setdefault(key, []).append(handler)

        def remove() -> None:
            handlers = self._reading_handlers.get(key, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._reading_handlers.pop(key, None)

        return remove

    def add_actuator_handler(self, gpio: int, handler: ActuatorHandler) -> Callable[[], None]:
        """Route the statuses of the actuator on `gpio` to `handler`; returns the remover."""
        self._actuator_handlers.setdefault(gpio, []).append(handler)

        def remove() -> None:
            handlers = self._actuator_handlers.get(gpio, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._actuator_handlers.pop(gpio, None)

        return remove

    def set_broker_connected(self, connected: bool) -> None:
        """HA's own link to the broker went up or down."""
        if connected != self.broker_connected:
            self.broker_connected = connected
            self._notify()

    def set_emergency(self, stopped: bool, *, notify: bool = True) -> bool:
        """The kaiser's emergency broadcast says stop (True) or clear (False); whether that
        changed anything. With `notify=False` the listeners hear of it from `notify()`: the
        state holds at once, telling every entity can wait until the broadcast is out."""
        if stopped == self.kaiser_emergency:
            return False
        self.kaiser_emergency = stopped
        if notify:
            self.notify()
        return True

    def notify(self) -> None:
        """Tell the emergency listeners about a change made with `notify=False`."""
        for listener in list(self._emergency_listeners):
            listener()

    def set_device_emergency(self, stopped: bool) -> None:
        """The device's own emergency topic says stop (True) or clear (False)."""
        if stopped != self.device_emergency:
            self.device_emergency = stopped
            self.notify()

    async def publish_emergency(self, emergency: Emergency) -> None:
        """Stop or clear this device alone (retained: it holds across reconnects and
        restarts until a `clear` on the same topic)."""
        self.set_device_emergency(emergency.action == "stop")  # do not wait for the echo
        await self.publish(self.topic(TopicKind.DEVICE_EMERGENCY), encode(emergency), 1, True)

    def handle(self, topic: Topic, payload: bytes) -> None:
        """Apply one message of this device; bad ones are counted and dropped."""
        try:
            changed = self._apply(topic, payload)
            if changed:
                self._notify()
        except ProtocolError as err:
            self._reject(topic.kind, err)
        except Exception:  # no exception escapes a device message: count it, log it rarely
            self.rejected[INTERNAL_ERROR] += 1
            self.last_error = f"{topic.kind.value}: {INTERNAL_ERROR}"
            if self.log_limiter.allow(INTERNAL_ERROR):
                _LOGGER.exception("Error handling %s from %s", topic.kind.value, self.esp_id)

    def _apply(self, topic: Topic, payload: bytes) -> bool:
        kind = topic.kind
        if kind is TopicKind.SENSOR_DATA:
            assert topic.gpio is not None
            self._route(parse_sensor_data(payload, topic.gpio))
            return False
        if kind is TopicKind.SENSOR_BATCH:
            self._route(parse_sensor_batch(payload))
            return False
        if kind is TopicKind.ACTUATOR_STATUS:
            assert topic.gpio is not None
            if not payload:  # retained status cleared
                return False
            status = parse_actuator_status(payload)
            for actuator_handler in list(self._actuator_handlers.get(topic.gpio, ())):
                actuator_handler(status)
            return False
        if kind is TopicKind.CONFIG_ACK:
            if not payload:
                return False
            self.config_ack = parse_config_ack(payload)
            for ack_listener in list(self._ack_listeners):
                ack_listener(self.config_ack)
            return True
        if kind is TopicKind.HEARTBEAT:
            self.heartbeat = parse_heartbeat(payload)
            self.heartbeat_at = time.monotonic()
            return True
        if kind is TopicKind.STATUS:
            if not payload:  # retained status cleared
                return False
            online = parse_status(payload)
            if not online and topic.kaiser_id != self.kaiser_id:
                return False  # its last will below a kaiser it moved away from
            changed = online != self.online
            self.online = online
            return changed
        if kind is TopicKind.DEVICE_EMERGENCY:  # ours echoed back, or another client's
            stopped = bool(payload) and parse_emergency(payload).action == "stop"
            self.set_device_emergency(stopped)
            return False
        if kind is TopicKind.OTA_STATUS:
            self.ota = parse_ota_status(payload)
            return True
        if kind is TopicKind.ANNOUNCE:
            if not payload:  # retained announce cleared: the device is being removed
                return False
            announce = parse_announce(payload, topic)
            if not self._own(announce):
                return False
            self.announce = announce
            self.kaiser_id = topic.kaiser_id
            for listener in list(self._announce_listeners):
                listener(announce)
            return True
        return False  # topics of later features, or HA's own publications echoed back

    def _own(self, announce: Announce) -> bool:
        """Whether `announce` is this device's; another MAC on its topics is a conflict."""
        mac = announce.mac.lower()
        other = None if self.mac is None or mac == self.mac else mac
        if other is not None:
            self.rejected[MAC_CONFLICT] += 1
            if self.log_limiter.allow(MAC_CONFLICT):
                _LOGGER.warning(
                    "Ignoring the announce of %s on the topics of %s (%s): two boards use one id",
                    other,
                    self.esp_id,
                    self.mac,
                )
        if other != self.other_mac:
            self.other_mac = other
            for listener in list(self._conflict_listeners):
                listener(other)
        return other is None

    def _route(self, data: SensorData) -> None:
        if not self._first_time(data):
            return
        self.last_reading_seq = data.seq
        now = time.monotonic() if self.clock is None else self.clock()
        if data.ts is not None and not data.replay and self._came_late(data.ts, now):
            data = replace(data, replay=True)
            self.late_readings += len(data.readings)
        handlers = self._reading_handlers
        self.readings_received += len(data.readings)
        for reading in data.readings:
            routed = handlers.get((reading.gpio, reading.addr))
            if routed is None:
                self.readings_unrouted += 1
                continue
            for handler in routed:
                handler(reading, data, now)

    def _came_late(self, ts: int, now: float) -> bool:
        """Whether a live message stamped `ts` (device ms) at `now` (monotonic s) is late: older
        than the device's usual delay by LATE_AFTER_MS (a bridge delivering an outage's
        readings after it, docs/protocol.md "Late readings")."""
        delay = (time.time() if self.wall_clock is None else self.wall_clock()) * 1000.0 - ts
        usual = self._usual_delay_ms
        if usual is not None:
            usual += (now - self._usual_delay_at) * USUAL_DELAY_FORGETS
            if delay > usual + LATE_AFTER_MS:
                if self._late_since is None:
                    self._late_since = now
                if now - self._late_since < CLOCK_CHANGE_S:
                    self._usual_delay_ms, self._usual_delay_at = usual, now
                    return True
                usual = None  # a clock changed: this delay is the usual one now
        self._late_since = None
        self._usual_delay_ms = delay if usual is None else min(usual, delay)
        self._usual_delay_at = now
        return False

    def _first_time(self, data: SensorData) -> bool:
        """Whether this message's readings are new (docs/protocol.md "Duplicates, replays,
        floods"). Within a boot every message but a resend has a higher seq than the one before
        it, so a lower one starts a new boot; the same one is a redelivery. A resend is new
        unless its seq was taken in."""
        seq, last = data.seq, self.last_seq
        if data.resend and last is not None and seq <= last:
            if last - seq >= SEQ_WINDOW:
                return True  # older than what is kept (the device resends only its last 2 s)
            bit = 1 << (last - seq)
            if self.seen_seqs & bit:
                self.resends_dropped += 1
                return False
            self.seen_seqs |= bit
            return True
        if seq == last:
            return False  # a QoS 1 redelivery: handle each message once
        if last is None or seq < last or seq - last >= SEQ_WINDOW:
            self.seen_seqs = 1  # the first message seen, a new boot, or a long gap
        else:
            self.seen_seqs = ((self.seen_seqs << (seq - last)) | 1) & SEQ_WINDOW_MASK
        self.last_seq = seq
        return True

    def reject_reading(self, err: ProtocolError) -> None:
        """A sensor refused a reading it routed (e.g. not in the sensor's mode): count it."""
        self._reject(TopicKind.SENSOR_DATA, err)

    def _reject(self, kind: TopicKind, err: ProtocolError) -> None:
        self.rejected[err.code.value] += 1
        self.last_error = f"{kind.value}: {err}"
        # A flooding device must not flood the log: one warning per code and minute.
        level = logging.WARNING if self.log_limiter.allow(err.code.value) else logging.DEBUG
        _LOGGER.log(level, "Dropped %s from %s: %s", kind.value, self.esp_id, err)

    def _notify(self) -> None:
        self._log_availability()
        if self.available != self._was_available:
            self._was_available = self.available
            for availability_listener in list(self._availability_listeners):
                availability_listener()
        for listener in list(self._listeners):
            listener()

    def _log_availability(self) -> None:
        """Log once at info when the device says it is offline (its status or last will), and
        once when it is back. HA's own broker link is logged once for all devices (hub.py)."""
        if self.online is False and self.broker_connected and not self._unavailable_logged:
            self._unavailable_logged = True
            _LOGGER.info("%s is offline (its status or last will says so)", self.esp_id)
        elif self.available and self._unavailable_logged:
            self._unavailable_logged = False
            _LOGGER.info("%s is back online", self.esp_id)

    def topic(self, kind: TopicKind, gpio: int | None = None) -> str:
        """A topic of this device under its current kaiser."""
        return device_topic(self.kaiser_id, self.esp_id, kind, gpio)

    async def restart(self) -> None:
        """Ask the device to restart."""
        await self.system_command("restart")

    async def system_command(self, cmd: str) -> None:
        """Send `restart`, `identify` (blink) or `factory_reset` (QoS 1, not retained: a
        reset must never replay when the device reconnects)."""
        await self.publish(
            self.topic(TopicKind.SYSTEM_COMMAND), encode(SystemCommand(cmd=cmd)), 1, False
        )

    async def send_system_command(self, command: SystemCommand) -> None:
        """Send a full `system/command` (QoS 1, never retained: a `login` carries a secret)."""
        await self.publish(self.topic(TopicKind.SYSTEM_COMMAND), encode(command), 1, False)

    async def install_firmware(self, command: SystemCommand) -> None:
        """Send `system/command` `ota`: the device downloads, checks and installs the image."""
        self.ota = None
        await self.publish(self.topic(TopicKind.SYSTEM_COMMAND), encode(command), 1, False)

    async def command(self, gpio: int, command: ActuatorCommand) -> None:
        """Send an actuator command (QoS 1, not retained: a stale command must not replay)."""
        await self.publish(self.topic(TopicKind.ACTUATOR_COMMAND, gpio), encode(command), 1, False)

    def schedule_publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 0 without waiting (from synchronous message handlers)."""
        self.spawn(self.publish(topic, payload, 0, False))

    async def push_config(self, config: DeviceConfig) -> None:
        """Publish the desired config (retained, so the device gets it when it connects)."""
        payload = encode(config)
        if len(payload) > MAX_LARGE_PAYLOAD:
            raise ValueError(f"config of {len(payload)} bytes exceeds {MAX_LARGE_PAYLOAD}")
        await self.publish(self.topic(TopicKind.CONFIG), payload, 1, True)
        self.pushed_config = config

    async def clear_retained(self, actuator_gpios: tuple[int, ...] = ()) -> None:
        """Remove every retained message of this device (and its actuators' statuses)."""
        for kind in RETAINED_KINDS:
            await self.publish(self.topic(kind), b"", 1, True)
        for gpio in actuator_gpios:
            await self.publish(self.topic(TopicKind.ACTUATOR_STATUS, gpio), b"", 1, True)

    def mark_offline(self) -> None:
        """Forget the online state (used when HA stops following the device)."""
        self.online = False
        self._notify()
