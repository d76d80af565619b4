"""One MQTT subscription for all AutomationOne devices, routed by ESP id.

A subscription per device or entity would not scale to hundreds of devices, so the first entry
subscribes to every device topic and the last one to unload unsubscribes
(docs/architecture.md, "One subscription for all devices").
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
import logging

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .protocol import Announce, ProtocolError, Topic, TopicKind, parse_emergency, parse_topic
from .protocol.device import DeviceState
from .protocol.topics import device_subscription

EMERGENCY_SUBSCRIPTION = "kaiser/+/broadcast/emergency"

_LOGGER = logging.getLogger(__name__)

DATA_HUB: HassKey[Hub] = HassKey(DOMAIN)
# Rejected-message counters per device (MAC), kept while HA runs: an entry reload (a new
# sensor, a moved pin) must not reset what the diagnostics show.
DATA_REJECTED: HassKey[dict[str, Counter[str]]] = HassKey(f"{DOMAIN}_rejected")

# Retained kinds remembered for devices no entry follows yet: the broker sends retained
# messages once, when the shared subscription is made, which may be before the entry exists.
REMEMBERED_KINDS = (TopicKind.ANNOUNCE, TopicKind.STATUS, TopicKind.DEVICE_EMERGENCY)
MAX_REMEMBERED_DEVICES = 4096
# Parsed topics by their text: a device sends on a handful of topics, so the ingest path
# parses each once. Bounded against floods of made-up topics (then it starts over).
MAX_CACHED_TOPICS = 16384


def payload_bytes(payload: str | bytes | bytearray) -> bytes:
    """MQTT payloads arrive as bytes with encoding=None; be safe with the other types."""
    return payload.encode() if isinstance(payload, str) else bytes(payload)


@dataclass(slots=True)
class Hub:
    """Routes device messages to the DeviceState of their config entry."""

    devices: dict[str, DeviceState] = field(default_factory=dict)
    unsubscribe: Callable[[], None] | None = None
    unsubscribe_connection: Callable[[], None] | None = None
    unsubscribe_emergency: Callable[[], None] | None = None
    # kaiser id -> whether its (retained) emergency broadcast says stop
    emergency: dict[str, bool] = field(default_factory=dict)
    dropped_topics: int = 0
    remembered: OrderedDict[str, dict[TopicKind, tuple[Topic, bytes]]] = field(
        default_factory=OrderedDict
    )
    topics: dict[str, Topic] = field(default_factory=dict)
    # HA's broker link: its loss is logged once for all devices, and its return once.
    link_lost_logged: bool = False

    @callback
    def route(self, msg: mqtt.ReceiveMessage) -> None:
        """Hand a message to its device; drop it if no entry follows that device."""
        topic = self.topics.get(msg.topic)
        if topic is None:
            try:
                topic = parse_topic(msg.topic)
            except ProtocolError as err:
                self.dropped_topics += 1
                _LOGGER.debug("Ignoring %s: %s", msg.topic[:120], err)
                return
            if len(self.topics) >= MAX_CACHED_TOPICS:
                self.topics.clear()
            self.topics[msg.topic] = topic
        payload = msg.payload
        if type(payload) is not bytes:
            payload = payload_bytes(payload)
        if topic.kind in REMEMBERED_KINDS:
            self.remember(topic, payload)
        device = self.devices.get(topic.esp_id)
        if device is not None:
            device.handle(topic, payload)

    @callback
    def route_emergency(self, msg: mqtt.ReceiveMessage) -> None:
        """An emergency broadcast (ours echoed back, or another hub's): tell the devices."""
        try:
            topic = parse_topic(msg.topic)
            payload = payload_bytes(msg.payload)
            stopped = bool(payload) and parse_emergency(payload).action == "stop"
        except ProtocolError as err:
            _LOGGER.debug("Ignoring emergency broadcast on %s: %s", msg.topic[:120], err)
            return
        self.set_emergency(topic.kaiser_id, stopped)

    def set_emergency(
        self, kaiser_id: str, stopped: bool, *, notify: bool = True
    ) -> list[DeviceState]:
        """Record the emergency state of a kaiser and pass it to its devices; the devices it
        changed (with `notify=False` their listeners are told by `DeviceState.notify`)."""
        self.emergency[kaiser_id] = stopped
        return [
            device
            for device in self.devices.values()
            if device.kaiser_id == kaiser_id and device.set_emergency(stopped, notify=notify)
        ]

    def remember(self, topic: Topic, payload: bytes) -> None:
        """Keep the latest retained-kind message per device, bounded against id floods."""
        slot = self.remembered.get(topic.esp_id)
        if slot is None:
            slot = self.remembered[topic.esp_id] = {}
            if len(self.remembered) > MAX_REMEMBERED_DEVICES:
                self.remembered.popitem(last=False)
        slot[topic.kind] = (topic, payload)

    @callback
    def connection_changed(self, connected: bool) -> None:
        """Tell every device that HA's broker link went up or down (logged once each way)."""
        if not connected and not self.link_lost_logged:
            self.link_lost_logged = True
            _LOGGER.info(
                "Lost the MQTT broker: %d AutomationOne devices are unavailable until it is back",
                len(self.devices),
            )
        elif connected and self.link_lost_logged:
            self.link_lost_logged = False
            _LOGGER.info("The MQTT broker is back: following %d devices again", len(self.devices))
        for device in self.devices.values():
            device.set_broker_connected(connected)


def rejected_counter(hass: HomeAssistant, mac: str) -> Counter[str]:
    """The rejected-message counters of the device with `mac` (one object across reloads)."""
    return hass.data.setdefault(DATA_REJECTED, {}).setdefault(mac.lower(), Counter())


def forget_rejected(hass: HomeAssistant, mac: str) -> None:
    """Drop the counters of a removed device."""
    hass.data.get(DATA_REJECTED, {}).pop(mac.lower(), None)


def following(hass: HomeAssistant, esp_id: str) -> DeviceState | None:
    """The device an entry follows on `esp_id`'s topics, if any."""
    hub = hass.data.get(DATA_HUB)
    return None if hub is None else hub.devices.get(esp_id)


async def async_register(hass: HomeAssistant, device: DeviceState) -> Callable[[], None]:
    """Follow `device`; returns the callback that stops following it."""
    hub = hass.data.get(DATA_HUB)
    if hub is None:
        hub = hass.data[DATA_HUB] = Hub()
    if hub.unsubscribe is None:
        hub.unsubscribe = await mqtt.async_subscribe(
            hass, device_subscription(), hub.route, qos=1, encoding=None
        )
        hub.unsubscribe_emergency = await mqtt.async_subscribe(
            hass, EMERGENCY_SUBSCRIPTION, hub.route_emergency, qos=1, encoding=None
        )
        hub.unsubscribe_connection = mqtt.async_subscribe_connection_status(
            hass, hub.connection_changed
        )
    hub.devices[device.esp_id] = device
    device.set_broker_connected(mqtt.is_connected(hass))

    @callback
    def follow_kaiser(_: Announce | None = None) -> None:
        # Its kaiser's broadcast holds; after a move (an announce below another kaiser), the
        # new one's.
        device.set_emergency(hub.emergency.get(device.kaiser_id, False))

    follow_kaiser()
    stop_following = device.add_announce_listener(follow_kaiser)
    for kind in REMEMBERED_KINDS:
        if (seen := hub.remembered.get(device.esp_id, {}).get(kind)) is not None:
            device.handle(*seen)

    @callback
    def unregister() -> None:
        stop_following()
        if hub.devices.get(device.esp_id) is device:
            del hub.devices[device.esp_id]
        if not hub.devices:
            # Unsubscribe, but keep the hub and what it remembers for an entry that reloads.
            if hub.unsubscribe is not None:
                hub.unsubscribe()
                hub.unsubscribe = None
            if hub.unsubscribe_emergency is not None:
                hub.unsubscribe_emergency()
                hub.unsubscribe_emergency = None
            if hub.unsubscribe_connection is not None:
                hub.unsubscribe_connection()
                hub.unsubscribe_connection = None

    return unregister
