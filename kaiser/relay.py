"""The relay program: one MQTT client on the relay's own Mosquitto.

It announces the relay (retained, with a last will), reports its health, and runs the edge
rules HA handed it while HA is unreachable: HA's MQTT status (`homeassistant/status`, bridged
in) says offline, the integration said it left (`relay/ha` offline), or the bridge itself is
down (`$SYS/broker/connection/<bridge>/state` 0). Never at the same time as HA: as soon as
HA is reachable again the relay is on standby (docs/kaiser.md).

paho runs its network loop in a thread; every callback takes one lock, so the engine and the
counters are touched by one thread at a time. Nothing a device sends can raise out of a
callback: a bad message is counted and logged at most once a minute per kind.

Readings held while the bridge is down are also written to the spool (`--spool`, spool.py)
and read back at start, so a restart in the outage loses none of them. The spool is cut to
what is still held only once the relay's broker acknowledged every resend: a crash before that
resends them again, which HA drops by `seq` (docs/protocol.md), instead of losing them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field, replace
import datetime as dt
from itertools import chain
import logging
from pathlib import Path
import secrets
import socket
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from custom_components.automationone.broker_security.client import BrokerAddress
from custom_components.automationone.protocol import (
    ActuatorCommand,
    ProtocolError,
    SensorData,
    Topic,
    TopicKind,
    device_topic,
    encode,
    encode_sensor_batch,
    encode_sensor_data,
    parse_actuator_status,
    parse_sensor_batch,
    parse_sensor_data,
    parse_status,
    parse_topic,
)
from custom_components.automationone.protocol.log_limiter import LogLimiter
from custom_components.automationone.protocol.relay import (
    EDGE_ACTIVE,
    EDGE_STANDBY,
    HA_STATUS_TOPIC,
    RelayAnnounce,
    RelayHealth,
    RelayKind,
    RelayLoginAck,
    bridge_name,
    bridge_state_topic,
    encode_fired,
    parse_bridge_state,
    parse_edge_rules,
    parse_fired,
    parse_presence,
    relay_topic,
)
from custom_components.automationone.rules import RuleError, parse_rules
from custom_components.automationone.rules.edge import EdgeCommand, EdgeEngine

from .logins import LoginAgent
from .sensors import SensorDecoder
from .spool import Spool, decode_line, encode_line

_LOGGER = logging.getLogger("kaiser")
VERSION = "0.1.0"
TICK_S = 0.5


@dataclass(slots=True)
class RelayOptions:
    """What the command line sets."""

    kaiser_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    name: str | None = None
    bridge: str | None = None
    device_host: str | None = None
    device_port: int | None = None
    health_s: float = 10.0
    # Device readings kept while the bridge is down, sent on when it is back (oldest dropped).
    hold: int = 50_000
    # Where the held readings survive a restart of the relay program (None: memory only).
    spool: Path | None = None
    # Held messages resent per second once the bridge is back: a burst faster than the bridge
    # carries them would overflow its queue (`max_queued_messages`), and be lost there.
    resend_per_s: int = 1000
    # The relay's broker's dynamic-security admin login: device logins there (logins.py).
    dynsec_username: str | None = None
    dynsec_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Held:
    """A reading the bridge could not carry."""

    topic: str
    single: bool  # one reading on sensor/{gpio}/data, else sensor/batch
    data: SensorData
    payload: bytes  # as the device sent it: what the spool keeps

    def spool_line(self) -> bytes:
        """Its line in the spool."""
        return encode_line(self.topic, self.payload)


def parse_reading(topic: Topic, payload: bytes) -> SensorData:
    """A sensor message on its parsed topic (`sensor/{gpio}/data` or `sensor/batch`)."""
    if topic.gpio is not None:
        return parse_sensor_data(payload, topic.gpio)
    return parse_sensor_batch(payload)


class Relay:
    """The relay: announce, health, edge rules."""

    def __init__(self, options: RelayOptions, clock: Callable[[], float] = time.time) -> None:
        """Prepare the client; `start` connects."""
        self.options = options
        self.kaiser_id = options.kaiser_id
        self.bridge = options.bridge or bridge_name(options.kaiser_id)
        self._clock = clock
        self._lock = threading.RLock()
        self._started = time.monotonic()
        # In every health report: HA tells a restart from a second relay under this id by it.
        self.instance = secrets.token_hex(4)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bridge_up = False
        self.bridge_known = False  # its retained state arrived (until then nothing is held)
        # Readings the bridge could not carry: QoS 0, the relay's broker does not queue them.
        self.held: deque[Held] = deque(maxlen=max(options.hold, 1))
        self.held_dropped = 0
        self.resent = 0
        self._resending_since: float | None = None
        # Resends the relay's broker has not acknowledged yet (by mid): still in the spool.
        self._unacked: dict[int, Held] = {}
        self.spool = Spool(options.spool) if options.spool is not None else None
        # The integration said it listens (`relay/ha` online) since HA's MQTT last went away.
        self.ha_ready = False
        self.devices: dict[str, bool] = {}
        self.messages = 0
        self._messages_at = (time.monotonic(), 0)
        self.msg_s = 0.0
        self.engine = EdgeEngine(())
        self.rules_version: int | None = None
        self.decoders: dict[str, list[SensorDecoder]] = {}
        self.tz: dt.tzinfo | None = None
        self.rejected: Counter[str] = Counter()
        self._log_limiter = LogLimiter()
        self._minute: int | None = None
        self._cmd_seq = 0
        self.commands_sent = 0
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"kaiser-{self.kaiser_id}-relay",
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        self._client.will_set(self._topic(RelayKind.STATUS), b"offline", 1, True)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_socket_open = self._on_socket_open
        admin = None
        if options.dynsec_username and options.dynsec_password:
            admin = BrokerAddress(
                options.host, options.port, options.dynsec_username, options.dynsec_password
            )
        self.logins = LoginAgent(self.kaiser_id, self.bridge, admin, self._answer_login)
        # Whether its broker takes devices without a login (announced with `logins`).
        self.anonymous: bool | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Set the broker up (with a dynsec admin login), take back what the spool held,
        connect (paho retries by itself) and start the health and clock thread.
        SpoolInUseError, before anything else, if another relay program runs on the spool."""
        if self.spool is not None:
            self.spool.lock()
        login = self.logins.setup(self._stop)
        if self._stop.is_set():  # interrupted while the broker was not reachable
            return
        if login is not None:
            self._client.username_pw_set(login.username, login.password)
        self.logins.start()
        self.load_spool()
        self._client.connect_async(self.options.host, self.options.port, keepalive=15)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._ticker, name="kaiser-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Say offline and disconnect."""
        self._stop.set()
        info = self._client.publish(self._topic(RelayKind.STATUS), b"offline", 1, True)
        with contextlib.suppress(RuntimeError):  # not connected (then the last will says it)
            info.wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        self.logins.stop()
        if self._thread is not None:
            self._thread.join(2)
        if self.spool is not None:
            with self._lock:
                self.spool.close()

    def interrupt(self) -> None:
        """A signal: end a `start` still waiting for its broker (then call `stop`)."""
        self._stop.set()

    def _topic(self, kind: RelayKind) -> str:
        return relay_topic(self.kaiser_id, kind)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _announce(self) -> None:
        announce = RelayAnnounce(
            kaiser_id=self.kaiser_id,
            sw_version=VERSION,
            bridge=self.bridge,
            name=self.options.name,
            host=self.options.device_host,
            port=self.options.device_port,
            logins=True if self.logins.has_admin else None,
            anonymous=self.anonymous if self.logins.has_admin else None,
        )
        self._client.publish(self._topic(RelayKind.ANNOUNCE), announce.encode(), 1, True)

    def _check_anonymous_and_announce(self) -> None:
        """With logins, after each (re)connect and in a thread of its own (the try waits for
        the broker): announced with whether the broker takes anonymous devices, so a broker
        restarted with `allow_anonymous false` is announced so (no answer: as before)."""
        anonymous = self.logins.anonymous_allowed()
        if anonymous is not None:
            self.anonymous = anonymous
        self._announce()

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        if self.logins.has_admin:
            threading.Thread(target=self._check_anonymous_and_announce, daemon=True).start()
        else:
            self._announce()
        client.publish(self._topic(RelayKind.STATUS), b"online", 1, True)
        client.subscribe(
            [
                (f"kaiser/{self.kaiser_id}/esp/+/#", 1),
                (self._topic(RelayKind.RULES), 1),
                (self._topic(RelayKind.FIRED), 1),
                (self._topic(RelayKind.HA_FIRED), 1),
                (self._topic(RelayKind.HA), 1),
                (self._topic(RelayKind.LOGIN), 1),
                (HA_STATUS_TOPIC, 1),
                (bridge_state_topic(self.bridge), 1),
            ]
        )
        self.publish_health()

    # --- state --------------------------------------------------------------------------

    @property
    def ha_present(self) -> bool:
        """HA is reachable: the bridge is up, and the integration said it is listening
        (`relay/ha` online) since HA's MQTT status last said offline."""
        return self.bridge_up and self.ha_ready

    @property
    def edge(self) -> str:
        """`active` while the relay runs the rules."""
        return EDGE_ACTIVE if self.engine.active else EDGE_STANDBY

    def _update_edge(self) -> None:
        active = not self.ha_present and bool(self.engine.rules)
        if active != self.engine.active:
            self.engine.active = active
            _LOGGER.info(
                "%s: HA %s, edge rules %s",
                self.kaiser_id,
                "reachable" if self.ha_present else "unreachable",
                "active" if active else "on standby",
            )
            self.publish_health()

    def _now(self) -> tuple[int, int]:
        now = self._clock()
        local = dt.datetime.fromtimestamp(now, self.tz).astimezone(self.tz)
        return int(now * 1000), local.hour * 60 + local.minute

    def _ticker(self) -> None:
        next_health = time.monotonic() + self.options.health_s
        while not self._stop.wait(TICK_S):
            with self._lock:
                now_ms, minute = self._now()
                if minute != self._minute:
                    first = self._minute is None
                    self._minute = minute
                    if not first:
                        self._send(self.engine.on_minute(now_ms, minute))
                if time.monotonic() >= next_health:
                    next_health += self.options.health_s
                    self.publish_health()
                if self.bridge_up and self.held:
                    self._resend_held()
                if self.spool is not None:
                    self.spool.sync()
                    if self.spool.retry_due():
                        self._rewrite_spool()

    def health(self) -> RelayHealth:
        """The current health report."""
        with self._lock:
            now = time.monotonic()
            since, count = self._messages_at
            if now - since > 0.5:
                self.msg_s = (self.messages - count) / (now - since)
                self._messages_at = (now, self.messages)
            return RelayHealth(
                bridge=self.bridge_up,
                devices=sum(self.devices.values()),
                msg_s=self.msg_s,
                uptime_s=int(now - self._started),
                edge=self.edge,
                rules=len(self.engine.rules),
                rules_version=self.rules_version,
                ts=int(self._clock() * 1000),
                instance=self.instance,
            )

    def publish_health(self) -> None:
        """Publish the health report (not retained: the status topic says if we are there)."""
        self._client.publish(self._topic(RelayKind.HEALTH), self.health().encode(), 0, False)

    # --- messages -----------------------------------------------------------------------

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            try:
                self._handle(msg.topic, msg.payload)
            except ProtocolError as err:
                self._reject(err.code.value, msg.topic, str(err))
            except Exception as err:  # noqa: BLE001 (a bug of ours must not stop the relay)
                self._reject("internal_error", msg.topic, repr(err))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, *args: Any) -> None:
        with self._lock:
            # Every resend is on the relay's broker (QoS 1: it queues them for the bridge):
            # the spool keeps only what is still held.
            if self._unacked.pop(mid, None) is not None and not self._unacked:
                self._rewrite_spool()

    def _reject(self, code: str, topic: str, detail: str) -> None:
        self.rejected[code] += 1
        if self._log_limiter.allow(code):
            _LOGGER.warning("Ignoring %s (%s): %s", topic[:120], code, detail[:200])

    def _handle(self, topic: str, payload: bytes) -> None:
        if topic == bridge_state_topic(self.bridge):
            was_up = self.bridge_up
            self.bridge_up = parse_bridge_state(payload)
            self.bridge_known = True
            if self.bridge_up and not was_up:
                self._resend_held()
            self._update_edge()
            return
        if topic == HA_STATUS_TOPIC:
            # HA's last will: HA is gone. Its birth alone is not enough to stand by: the
            # integration says `relay/ha` online once it is subscribed again.
            if payload and not parse_presence(payload):
                _LOGGER.info("%s: HA's MQTT status says offline", self.kaiser_id)
                self.ha_ready = False
                self._update_edge()
            return
        if topic.startswith(f"kaiser/{self.kaiser_id}/relay/"):
            self._handle_relay(topic.rsplit("/", 1)[1], payload)
            return
        self.messages += 1
        parsed = parse_topic(topic)
        now_ms, minute = self._now()
        if parsed.kind is TopicKind.STATUS:
            if payload:
                online = parse_status(payload)
                self.devices[parsed.esp_id] = online
                self._send(self.engine.on_device(parsed.esp_id, online, now_ms, minute))
        elif parsed.kind in (TopicKind.SENSOR_DATA, TopicKind.SENSOR_BATCH):
            holding = self.bridge_known and not self.bridge_up
            decoders = self.decoders.get(parsed.esp_id)
            if not decoders and not holding:
                return
            data = parse_reading(parsed, payload)
            if holding:
                self._hold(Held(topic, parsed.gpio is not None, data, payload))
            if data.replay or not decoders:
                return
            for reading in data.readings:
                for decoder in decoders:
                    mine, value = decoder.value(reading)
                    if mine:
                        self._send(self.engine.on_value(decoder.ref, value, now_ms, minute))
        elif parsed.kind is TopicKind.ACTUATOR_STATUS and payload and parsed.gpio is not None:
            status = parse_actuator_status(payload)
            self.engine.on_actuator(parsed.esp_id, parsed.gpio, status.state)

    def _hold(self, held: Held) -> None:
        self._keep(held)
        if self.spool is not None:
            self.spool.append(held.spool_line())
            # Appending only, the file keeps what `--hold` pushed out: once it is twice what
            # is still needed, a rewrite drops that (one rewrite per `--hold` appends at most).
            if self.spool.lines > 2 * len(self.held) + len(self._unacked):
                self._rewrite_spool()

    def _keep(self, held: Held) -> None:
        if len(self.held) == self.held.maxlen:
            self.held_dropped += 1
            self._reject("hold_full", held.topic, f"more than {self.held.maxlen} readings held")
        self.held.append(held)

    def _spooled(self) -> Iterator[bytes]:
        """What the spool must keep: resends not yet acknowledged, then what is held."""
        return (held.spool_line() for held in chain(self._unacked.values(), self.held))

    def _rewrite_spool(self) -> None:
        if self.spool is not None:
            self.spool.rewrite(self._spooled())

    def load_spool(self) -> None:
        """Hold again what the spool kept (before a restart), parsed as when it came in; a
        line that does not parse is skipped and counted (`spool_bad_line`)."""
        if self.spool is None:
            return
        with self._lock:
            bad = 0
            for number, line in self.spool.read():
                try:
                    held = self._parse_spooled(line)
                except (ValueError, ProtocolError) as err:
                    bad += 1
                    self._reject("spool_bad_line", f"{self.spool.path}:{number}", str(err))
                    continue
                self._keep(held)
            if self.spool.disabled:
                return
            if self.held or bad:
                _LOGGER.info(
                    "%s: %d held messages from the spool %s (%d bad lines skipped)",
                    self.kaiser_id,
                    len(self.held),
                    self.spool.path,
                    bad,
                )
            # Without the bad lines and what the limit pushed out; opens it for appending.
            self._rewrite_spool()

    def _parse_spooled(self, line: bytes) -> Held:
        topic, payload = decode_line(line)
        parsed = parse_topic(topic)
        if parsed.kaiser_id != self.kaiser_id or parsed.kind not in (
            TopicKind.SENSOR_DATA,
            TopicKind.SENSOR_BATCH,
        ):
            raise ValueError(f"not a reading of kaiser {self.kaiser_id}: {topic[:120]}")
        return Held(topic, parsed.gpio is not None, parse_reading(parsed, payload), payload)

    def _resend_held(self) -> None:
        """The bridge is back: what it could not carry goes on as resends (same `seq` and
        `ts`, docs/protocol.md): HA drops one it had and takes the rest in as replays. One
        tick's share of `resend_per_s` now, the rest on the next ticks."""
        if not self.held:
            return
        if self._resending_since is None:
            self._resending_since = time.monotonic()
            _LOGGER.info(
                "%s: bridge up, resending %d held messages", self.kaiser_id, len(self.held)
            )
        for _ in range(max(1, int(self.options.resend_per_s * TICK_S))):
            if not self.held:
                break
            held = self.held.popleft()
            again = replace(held.data, replay=True, resend=True)
            payload = encode_sensor_data(again) if held.single else encode_sensor_batch(again)
            info = self._client.publish(held.topic, payload, 1, False)
            if self.spool is not None:
                self._unacked[info.mid] = held
            self.resent += 1
        if not self.held:
            _LOGGER.info(
                "%s: resent what was held, in %.1f s",
                self.kaiser_id,
                time.monotonic() - self._resending_since,
            )
            self._resending_since = None

    def _handle_relay(self, tail: str, payload: bytes) -> None:
        if tail == RelayKind.RULES:
            if payload:
                self._load_rules(payload)
            else:
                self._drop_rules()
        elif tail == RelayKind.HA_FIRED and payload:
            self.engine.merge_fired(parse_fired(payload))
        elif tail == RelayKind.FIRED and payload:
            self.engine.merge_fired(parse_fired(payload))  # our own, from before a restart
        elif tail == RelayKind.HA and payload:
            self.ha_ready = parse_presence(payload)
            _LOGGER.info("%s: HA's integration says %s", self.kaiser_id, payload.decode())
            self._update_edge()
        elif tail == RelayKind.LOGIN and payload:
            self.logins.submit(payload)

    def _answer_login(self, ack: RelayLoginAck) -> None:
        """The answer to a `relay/login` request (from the login thread, too)."""
        self._client.publish(self._topic(RelayKind.LOGIN_ACK), ack.encode(), 1, False)

    def _load_rules(self, payload: bytes) -> None:
        edge = parse_edge_rules(payload)
        try:
            rules = parse_rules(list(edge.rules))
            decoders: dict[str, list[SensorDecoder]] = {}
            for spec in edge.sensors:
                decoders.setdefault(spec.esp_id, []).append(SensorDecoder.build(spec))
            tz = ZoneInfo(edge.tz) if edge.tz else None
        except (RuleError, KeyError, ValueError) as err:
            self._reject("bad_rules", self._topic(RelayKind.RULES), str(err))
            return
        if edge.version == self.rules_version:
            return
        old = self.engine
        self.engine = EdgeEngine(rules, fired=dict(old.fired))
        self.engine.prime(old.values)
        self.engine.actuator_on.update(old.actuator_on)
        self.engine.online.update(old.online)
        self.decoders = decoders
        self.tz = tz
        self.rules_version = edge.version
        _LOGGER.info("%s: %d edge rules, version %d", self.kaiser_id, len(rules), edge.version)
        self.engine.active = False
        self._update_edge()
        self.publish_health()

    def _drop_rules(self) -> None:
        """HA took the rules back (its relay entry was unloaded or removed): run nothing."""
        if not self.engine.rules:
            return
        self.engine = EdgeEngine((), fired=dict(self.engine.fired))
        self.decoders = {}
        self.rules_version = None
        _LOGGER.info("%s: no edge rules (HA took them back)", self.kaiser_id)
        self._update_edge()
        self.publish_health()

    def _send(self, commands: list[EdgeCommand]) -> None:
        if not commands:
            return
        fired = {c.rule_id for c in commands}
        for command in commands:
            self._cmd_seq += 1
            payload = encode(
                ActuatorCommand(
                    action=command.action,
                    value=command.value,
                    duration_s=command.duration_s,
                    cmd_id=f"kaiser-{self._cmd_seq}",
                    source=f"kaiser:{command.rule_id}"[:32],
                )
            )
            topic = device_topic(
                self.kaiser_id, command.esp_id, TopicKind.ACTUATOR_COMMAND, command.gpio
            )
            self._client.publish(topic, payload, 1, False)
            self.commands_sent += 1
        _LOGGER.info("%s: fired %s", self.kaiser_id, ", ".join(sorted(fired)))
        self._client.publish(self._topic(RelayKind.FIRED), encode_fired(self.engine.fired), 1, True)
