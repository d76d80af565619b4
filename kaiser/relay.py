"""The relay program: one MQTT client on the relay's own Mosquitto.

It announces the relay (retained, with a last will), reports its health, and runs the edge
rules HA handed it while HA is unreachable: HA's MQTT status (`homeassistant/status`, bridged
in) says offline, the integration said it left (`relay/ha` offline), or the bridge itself is
down (`$SYS/broker/connection/<bridge>/state` 0). Never at the same time as HA: as soon as
HA is reachable again the relay is on standby (docs/kaiser.md).

paho runs its network loop in a thread; every callback takes one lock, so the engine and the
counters are touched by one thread at a time. Nothing a device sends can raise out of a
callback: a bad message is counted and logged at most once a minute per kind.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field, replace
import datetime as dt
import logging
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

_LOGGER = logging.getLogger("kaiser")
VERSION = "0.1.0"
LOG_EVERY_S = 60.0


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
    # The relay's broker's dynamic-security admin login: device logins there (logins.py).
    dynsec_username: str | None = None
    dynsec_password: str | None = field(default=None, repr=False)


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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bridge_up = False
        self.bridge_known = False  # its retained state arrived (until then nothing is held)
        # Readings the bridge could not carry: QoS 0, the relay's broker does not queue them.
        # (topic, one reading on sensor/{gpio}/data, the message)
        self.held: deque[tuple[str, bool, SensorData]] = deque(maxlen=max(options.hold, 1))
        self.held_dropped = 0
        self.resent = 0
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
        self._logged: dict[str, float] = {}
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
        self._client.on_socket_open = self._on_socket_open
        admin = None
        if options.dynsec_username and options.dynsec_password:
            admin = BrokerAddress(
                options.host, options.port, options.dynsec_username, options.dynsec_password
            )
        self.logins = LoginAgent(self.kaiser_id, self.bridge, admin, self._answer_login)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Set the broker up (with a dynsec admin login), connect (paho retries by itself)
        and start the health and clock thread."""
        login = self.logins.setup(self._stop)
        if self._stop.is_set():  # interrupted while the broker was not reachable
            return
        if login is not None:
            self._client.username_pw_set(login.username, login.password)
        self.logins.start()
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

    def interrupt(self) -> None:
        """A signal: end a `start` still waiting for its broker (then call `stop`)."""
        self._stop.set()

    def _topic(self, kind: RelayKind) -> str:
        return relay_topic(self.kaiser_id, kind)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        announce = RelayAnnounce(
            kaiser_id=self.kaiser_id,
            sw_version=VERSION,
            bridge=self.bridge,
            name=self.options.name,
            host=self.options.device_host,
            port=self.options.device_port,
            logins=True if self.logins.has_admin else None,
        )
        client.publish(self._topic(RelayKind.ANNOUNCE), announce.encode(), 1, True)
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
        while not self._stop.wait(0.5):
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

    def _reject(self, code: str, topic: str, detail: str) -> None:
        self.rejected[code] += 1
        now = time.monotonic()
        if now - self._logged.get(code, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[code] = now
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
            data = (
                parse_sensor_data(payload, parsed.gpio)
                if parsed.gpio is not None
                else parse_sensor_batch(payload)
            )
            if holding:
                self._hold(topic, parsed.gpio is not None, data)
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

    def _hold(self, topic: str, single: bool, data: SensorData) -> None:
        if len(self.held) == self.held.maxlen:
            self.held_dropped += 1
            self._reject("hold_full", topic, f"more than {self.held.maxlen} readings held")
        self.held.append((topic, single, data))

    def _resend_held(self) -> None:
        """The bridge is back: what it could not carry goes on as resends (same `seq` and
        `ts`, docs/protocol.md): HA drops one it had and takes the rest in as replays."""
        if not self.held:
            return
        _LOGGER.info("%s: bridge up, resending %d held messages", self.kaiser_id, len(self.held))
        while self.held:
            topic, single, data = self.held.popleft()
            again = replace(data, replay=True, resend=True)
            payload = encode_sensor_data(again) if single else encode_sensor_batch(again)
            self._client.publish(topic, payload, 1, False)
            self.resent += 1

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
