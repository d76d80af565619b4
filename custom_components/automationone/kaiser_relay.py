"""A Kaiser relay's config entry: its device, health, bridge repair and edge rules.

The relay program (`kaiser/`, docs/kaiser.md) announces itself on `kaiser/{id}/relay/announce`;
HA discovers it like an ESP and keeps one entry of kind `relay` for it. The entry follows the
relay's status and health, the bridge state Mosquitto publishes on the main broker
(`$SYS/broker/connection/<bridge>/state`, 0 as the bridge's last will), raises a repair issue
while the bridge is down, and hands the relay its edge rules (kaiser_edge.py), retained and
versioned. It tells the relay it is here (`relay/ha`, retained), reports which edge rules HA
fired (`relay/ha_fired`) and takes over the relay's firings (`relay/fired`) as the
automations' last_triggered, so cooldowns and limits carry over both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
import datetime as dt
import logging
import time

from homeassistant.components import mqtt
from homeassistant.components.automation import (
    DATA_COMPONENT as AUTOMATIONS,
    EVENT_AUTOMATION_RELOADED,
    EVENT_AUTOMATION_TRIGGERED,
)
from homeassistant.components.mqtt.const import CONF_WILL_MESSAGE, DEFAULT_WILL
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CoreState, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BRIDGE,
    CONF_KAISER_ID,
    CONF_KIND,
    DOMAIN,
    KIND_ESP,
    KIND_RELAY,
    SIGNAL_RELAY_HANDBACK,
    SIGNAL_RELAYS_CHANGED,
)
from .hub import DATA_HUB, payload_bytes
from .kaiser_edge import RelayRules, relay_rules
from .logins import LoginSetupError, async_remove_relay_login, known_tls, relay_login
from .protocol import ProtocolError
from .protocol.log_limiter import LogLimiter
from .protocol.relay import (
    EDGE_ACTIVE,
    HA_STATUS_TOPIC,
    LOGIN_NO_ADMIN,
    RELAY_CAFILE,
    RELAY_DYNSEC_FILE,
    EdgeRules,
    RelayAnnounce,
    RelayHealth,
    RelayInstances,
    RelayKind,
    RelayLoginAck,
    RelayLoginRequest,
    bridge_config,
    bridge_state_topic,
    encode_fired,
    parse_bridge_state,
    parse_fired,
    parse_presence,
    parse_relay_announce,
    parse_relay_health,
    parse_relay_login_ack,
    parse_relay_topic,
    relay_subscription,
    relay_topic,
)
from .registry import device_by_identifier, register_esp_device, relay_entry_unique_id

_LOGGER = logging.getLogger(__name__)
RELAY_PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
# A relay whose health has not come for this long is shown unavailable.
HEALTH_STALE_S = 120.0
RULES_CHECK_INTERVAL = dt.timedelta(seconds=60)
# How long HA waits for a relay's answer to a login request (docs/security.md).
LOGIN_ANSWER_S = 15.0


def relay_device_identifier(kaiser_id: str) -> tuple[str, str]:
    """Device registry identifier of a relay's own entry (not the per-ESP `kaiser-` one)."""
    return (DOMAIN, f"relay-{kaiser_id}")


HA_WILL_ISSUE_ID = "relay_needs_ha_will"
HA_WILL_PAYLOAD = "offline"


def conflict_issue_id(kaiser_id: str) -> str:
    """Repair issue of a kaiser id two relay programs use."""
    return f"relay_conflict_{kaiser_id}"


def bridge_issue_id(kaiser_id: str) -> str:
    """Repair issue of a relay whose bridge is down."""
    return f"relay_bridge_down_{kaiser_id}"


@dataclass(slots=True)
class RelayData:
    """Runtime data of a relay entry."""

    kaiser_id: str
    bridge: str
    device_id: str
    announce: RelayAnnounce | None = None
    health: RelayHealth | None = None
    health_at: float | None = None
    instances: RelayInstances = field(default_factory=RelayInstances)
    online: bool | None = None
    bridge_up: bool | None = None
    edge: RelayRules = field(default_factory=RelayRules)
    published_rules: bytes | None = None
    # `relay/ha` online was sent since HA's MQTT (re)connected.
    ready_sent: bool = False
    ha_fired: dict[str, int] = field(default_factory=dict)
    relay_fired: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    # Login requests waiting for the relay's answer (relay/login_ack), by request id.
    login_waiters: dict[str, asyncio.Future[RelayLoginAck]] = field(default_factory=dict)
    _log_limiter: LogLimiter = field(default_factory=LogLimiter)
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def bridge_connected(self) -> bool | None:
        """Mosquitto's own word (main broker side), else the relay's health."""
        if self.bridge_up is not None:
            return self.bridge_up
        return None if self.health is None else self.health.bridge

    @property
    def available(self) -> bool:
        """The relay program is online behind a working bridge, with fresh health."""
        return (
            self.online is True
            and self.bridge_connected is True
            and self.health_at is not None
            and time.monotonic() - self.health_at < HEALTH_STALE_S
        )

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every change."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def notify(self) -> None:
        """Tell the entities."""
        for listener in list(self._listeners):
            listener()

    def reject(self, code: str, topic: str, err: Exception) -> None:
        """Count a bad relay message; log each kind at most once a minute."""
        self.rejected[code] = self.rejected.get(code, 0) + 1
        if self._log_limiter.allow(code):
            _LOGGER.warning("Ignoring %s from relay %s: %s", topic[:120], self.kaiser_id, err)


type RelayConfigEntry = ConfigEntry[RelayData]


def main_broker(hass: HomeAssistant) -> tuple[str, int]:
    """Host and port of the broker HA's MQTT integration uses (the relay's main broker)."""
    for entry in hass.config_entries.async_entries(mqtt.DOMAIN):
        host = entry.data.get("broker")
        if isinstance(host, str) and host:
            return host, int(entry.data.get("port", 1883))
    return "<main broker>", 1883


def generated_bridge_config(
    hass: HomeAssistant, entry: ConfigEntry, *, with_password: bool = True
) -> str:
    """The relay's mosquitto.conf for the main broker HA uses; with the bridge's own login
    and TLS once it has them (the password as a placeholder without `with_password`), and
    the lines of dynamic security on the relay's broker when the relay announced that it
    makes device logins there (closed to anonymous devices when the relay found it so), and
    its devices' TLS listener once a device behind it was given one (copying the
    configuration again must not undo either)."""
    host, port = main_broker(hass)
    login = relay_login(entry)
    kaiser_id = entry.data[CONF_KAISER_ID]
    data = getattr(entry, "runtime_data", None)
    announce = data.announce if isinstance(data, RelayData) else None
    dynsec_file = RELAY_DYNSEC_FILE if announce is not None and announce.logins else None
    # Copied again, the configuration must not let anonymous devices back in.
    closed = dynsec_file is not None and announce is not None and announce.anonymous is False
    tls_port = login.tls_port if login is not None else None
    return bridge_config(
        kaiser_id,
        host,
        tls_port or port,
        remote_username=login.username if login is not None else None,
        remote_password=login.password if login is not None and with_password else None,
        cafile=RELAY_CAFILE if tls_port else None,
        dynsec_file=dynsec_file,
        allow_anonymous=not closed,
        device_tls_port=known_tls(hass, relay=kaiser_id)[1],
    )


async def async_setup_relay_entry(hass: HomeAssistant, entry: RelayConfigEntry) -> None:
    """Follow one relay."""
    kaiser_id = entry.data[CONF_KAISER_ID]
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={relay_device_identifier(kaiser_id)},
        manufacturer="AutomationOne",
        model="Kaiser relay",
        name=entry.title,
    )
    data = entry.runtime_data = RelayData(kaiser_id, entry.data[CONF_BRIDGE], device.id)

    async def publish(kind: RelayKind, payload: bytes) -> None:
        await mqtt.async_publish(hass, relay_topic(kaiser_id, kind), payload, 1, True)

    def spawn(kind: RelayKind, payload: bytes) -> None:
        entry.async_create_background_task(hass, publish(kind, payload), "automationone relay")

    @callback
    def handback() -> None:
        # The relay may have acted on values HA did not see: HA's triggers start afresh.
        async_dispatcher_send(hass, SIGNAL_RELAY_HANDBACK, kaiser_id)

    @callback
    def on_bridge(msg: mqtt.ReceiveMessage) -> None:
        try:
            up = parse_bridge_state(payload_bytes(msg.payload))
        except ProtocolError as err:
            data.reject(err.code.value, msg.topic, err)
            return
        was = data.bridge_up
        data.bridge_up = up
        if was is False and up:
            handback()
        _sync_bridge_issue(hass, entry)
        data.notify()

    @callback
    def on_relay(msg: mqtt.ReceiveMessage) -> None:
        payload = payload_bytes(msg.payload)
        if not data.ready_sent and _hub_subscribed(hass):
            # The broker delivers to our subscriptions again (the device topics' too, sent
            # with or before this one): the relay may stand by now, not at HA's birth.
            data.ready_sent = True
            spawn(RelayKind.HA, b"online")
        try:
            _, kind = parse_relay_topic(msg.topic)
            if not payload:
                return
            if kind is RelayKind.ANNOUNCE:
                data.announce = parse_relay_announce(payload, kaiser_id)
                dr.async_get(hass).async_update_device(
                    data.device_id, sw_version=data.announce.sw_version
                )
            elif kind is RelayKind.STATUS:
                data.online = parse_presence(payload)
            elif kind is RelayKind.HEALTH:
                health = parse_relay_health(payload)
                was_active = data.health is not None and data.health.edge == EDGE_ACTIVE
                data.health, data.health_at = health, time.monotonic()
                data.instances.see(health.instance, data.health_at)
                _sync_conflict_issue(hass, entry, data.health_at)
                if was_active and health.edge != EDGE_ACTIVE:
                    handback()
                if health.rules_version != data.edge.version() and data.published_rules:
                    spawn(RelayKind.RULES, data.published_rules)  # the relay missed them
            elif kind is RelayKind.FIRED:
                data.relay_fired = parse_fired(payload)
                _take_over_firings(hass, data)
            elif kind is RelayKind.LOGIN_ACK:
                ack = parse_relay_login_ack(payload)
                waiter = data.login_waiters.pop(ack.req, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
                return
            else:
                return  # ours echoed back
        except ProtocolError as err:
            data.reject(err.code.value, msg.topic, err)
            return
        _sync_bridge_issue(hass, entry)
        data.notify()

    entry.async_on_unload(
        await mqtt.async_subscribe(hass, relay_subscription(kaiser_id), on_relay, 1, encoding=None)
    )
    entry.async_on_unload(
        await mqtt.async_subscribe(
            hass, bridge_state_topic(data.bridge), on_bridge, 1, encoding=None
        )
    )

    @callback
    def on_connection(connected: bool) -> None:
        if connected:
            handback()
        else:
            data.ready_sent = False

    entry.async_on_unload(mqtt.async_subscribe_connection_status(hass, on_connection))

    @callback
    def push_rules(*_: object) -> None:
        data.edge = relay_rules(hass).get(kaiser_id, RelayRules())
        payload = EdgeRules(
            data.edge.version(),
            data.edge.rule_dicts(),
            tuple(data.edge.sensors.values()),
            str(hass.config.time_zone),
        ).encode()
        if payload != data.published_rules:
            data.published_rules = payload
            spawn(RelayKind.RULES, payload)
            data.notify()

    @callback
    def on_triggered(event: Event) -> None:
        rule_id = data.edge.automations.get(event.data.get("entity_id", ""))
        if rule_id is None:
            return
        data.ha_fired[rule_id] = int(time.time() * 1000)
        spawn(RelayKind.HA_FIRED, encode_fired(data.ha_fired))

    entry.async_on_unload(hass.bus.async_listen(EVENT_AUTOMATION_RELOADED, push_rules))
    entry.async_on_unload(async_dispatcher_connect(hass, SIGNAL_RELAYS_CHANGED, push_rules))
    entry.async_on_unload(hass.bus.async_listen(EVENT_AUTOMATION_TRIGGERED, on_triggered))
    entry.async_on_unload(async_track_time_interval(hass, push_rules, RULES_CHECK_INTERVAL))
    # After HA's start the automations load later: look again shortly.
    entry.async_on_unload(async_call_later(hass, 5, push_rules))
    push_rules()
    sync_ha_will_issue(hass)
    if mqtt_entries := hass.config_entries.async_entries(mqtt.DOMAIN):

        async def on_mqtt_options(hass: HomeAssistant, _: ConfigEntry) -> None:
            sync_ha_will_issue(hass)

        entry.async_on_unload(mqtt_entries[0].add_update_listener(on_mqtt_options))
    await hass.config_entries.async_forward_entry_setups(entry, RELAY_PLATFORMS)
    _adopt_devices(hass, kaiser_id)


@callback
def _adopt_devices(hass: HomeAssistant, kaiser_id: str) -> None:
    """ESPs already behind the relay move below its device now, not at their next announce."""
    for esp_entry in hass.config_entries.async_entries(DOMAIN):
        if esp_entry.data.get(CONF_KIND, KIND_ESP) != KIND_ESP:
            continue
        if esp_entry.data[CONF_KAISER_ID] != kaiser_id or not hasattr(esp_entry, "runtime_data"):
            continue
        esp_entry.runtime_data.device_entry = register_esp_device(
            hass, esp_entry, esp_entry.runtime_data.device.announce
        )


def _hub_subscribed(hass: HomeAssistant) -> bool:
    """Our device subscription is made (or no ESP entry needs one)."""
    hub = hass.data.get(DATA_HUB)
    return hub is None or hub.unsubscribe is not None or not hub.devices


@callback
def _take_over_firings(hass: HomeAssistant, data: RelayData) -> None:
    """The relay's firings become the automations' last_triggered where they are later, so the
    automation's own cooldown template counts them."""
    component = hass.data.get(AUTOMATIONS)
    if component is None:
        return
    for entity_id, rule_id in data.edge.automations.items():
        ts = data.relay_fired.get(rule_id)
        automation = component.get_entity(entity_id)
        script = getattr(automation, "action_script", None)
        if ts is None or script is None or not hasattr(script, "last_triggered"):
            continue
        fired = dt_util.utc_from_timestamp(ts / 1000)
        if script.last_triggered is None or script.last_triggered < fired:
            script.last_triggered = fired
            automation.async_write_ha_state()  # type: ignore[union-attr]


def ha_will_topic(hass: HomeAssistant) -> str | None:
    """Where HA's MQTT last will goes when it is the one relays listen for (`offline` on
    `homeassistant/status`); else what HA's MQTT entry sets instead ("" for none)."""
    mqtt_entries = hass.config_entries.async_entries(mqtt.DOMAIN)
    if not mqtt_entries:
        return None
    conf = mqtt_entries[0].data | mqtt_entries[0].options
    will = conf.get(CONF_WILL_MESSAGE, DEFAULT_WILL) or {}
    if will.get("topic") == HA_STATUS_TOPIC and will.get("payload") == HA_WILL_PAYLOAD:
        return None
    return str(will.get("topic") or "")


@callback
def sync_ha_will_issue(hass: HomeAssistant, leaving: str | None = None) -> None:
    """A repair while relays are set up but HA's last will is not the one they listen for:
    a relay would never see HA go away, and its rules would not take over."""
    relays = [
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.data.get(CONF_KIND) == KIND_RELAY and e.entry_id != leaving
    ]
    topic = ha_will_topic(hass) if relays else None
    if topic is None:
        ir.async_delete_issue(hass, DOMAIN, HA_WILL_ISSUE_ID)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        HA_WILL_ISSUE_ID,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="relay_needs_ha_will" if topic else "relay_needs_ha_will_none",
        translation_placeholders={"topic": topic, "expected": HA_STATUS_TOPIC},
    )


def _sync_issue(
    hass: HomeAssistant,
    issue_id: str,
    raised: bool,
    severity: ir.IssueSeverity,
    translation_key: str,
    placeholders: dict[str, str],
) -> None:
    """A relay's repair issue that comes and goes with a condition (the bridge, the id)."""
    if not raised:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


@callback
def _sync_conflict_issue(hass: HomeAssistant, entry: RelayConfigEntry, now: float) -> None:
    data = entry.runtime_data
    issue_id = conflict_issue_id(data.kaiser_id)
    conflict = data.instances.conflict(now)
    if conflict and ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None:
        _LOGGER.warning(
            "Two relay programs use kaiser id %s: their health reports alternate", data.kaiser_id
        )
    _sync_issue(
        hass, issue_id, conflict, ir.IssueSeverity.ERROR, "relay_id_conflict",
        {"name": entry.title, "kaiser_id": data.kaiser_id},
    )  # fmt: skip


@callback
def _sync_bridge_issue(hass: HomeAssistant, entry: RelayConfigEntry) -> None:
    data = entry.runtime_data
    _sync_issue(
        hass, bridge_issue_id(data.kaiser_id), data.bridge_connected is False,
        ir.IssueSeverity.WARNING, "relay_bridge_down", {"name": entry.title, "bridge": data.bridge},
    )  # fmt: skip


async def async_unload_relay_entry(hass: HomeAssistant, entry: RelayConfigEntry) -> bool:
    """Stop following the relay. Unloaded (or disabled) while HA runs, the relay gets no rules:
    HA's automations keep running, so the relay must not take over with the old ones. (HA
    stopping does not unload entries this way; its last will hands over.)"""
    if hass.state is CoreState.running and mqtt.is_connected(hass):
        await mqtt.async_publish(
            hass, relay_topic(entry.data[CONF_KAISER_ID], RelayKind.RULES), b"", 1, True
        )
    ir.async_delete_issue(hass, DOMAIN, bridge_issue_id(entry.data[CONF_KAISER_ID]))
    ir.async_delete_issue(hass, DOMAIN, conflict_issue_id(entry.data[CONF_KAISER_ID]))
    sync_ha_will_issue(hass, leaving=entry.entry_id)
    return await hass.config_entries.async_unload_platforms(entry, RELAY_PLATFORMS)


async def async_remove_relay_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Clear the retained topics HA wrote for the relay (its rules and presence); its bridge
    login goes from the broker."""
    await async_remove_relay_login(hass, entry)
    if not await mqtt.async_wait_for_mqtt_client(hass):
        return
    for kind in (RelayKind.RULES, RelayKind.HA_FIRED, RelayKind.HA):
        await mqtt.async_publish(hass, relay_topic(entry.data[CONF_KAISER_ID], kind), b"", 1, True)


def relay_entry(hass: HomeAssistant, kaiser_id: str) -> ConfigEntry | None:
    """The entry of the relay with this kaiser id, if one is set up."""
    entry = hass.config_entries.async_entry_for_domain_unique_id(
        DOMAIN, relay_entry_unique_id(kaiser_id)
    )
    if entry is None or entry.data.get(CONF_KIND) != KIND_RELAY:
        return None
    return entry


async def async_relay_login(
    hass: HomeAssistant, kaiser_id: str, request: RelayLoginRequest
) -> RelayLoginAck:
    """Send a login request to the relay and wait for its answer; LoginSetupError with the
    form's key when it is offline, does not answer, has no admin login or refuses."""
    entry = relay_entry(hass, kaiser_id)
    data = getattr(entry, "runtime_data", None)
    if not isinstance(data, RelayData) or not data.available:
        raise LoginSetupError("relay_offline", kaiser_id)
    if data.announce is None or not data.announce.logins:
        # Its announce does not say `logins`: no admin login, or an older relay program. The
        # password is not sent to a broker whose topics anyone may read.
        raise LoginSetupError("relay_no_admin", f"{kaiser_id} does not announce logins")
    waiter: asyncio.Future[RelayLoginAck] = hass.loop.create_future()
    data.login_waiters[request.req] = waiter
    try:
        # QoS 1, never retained; HA's MQTT client logs payloads only at debug level.
        await mqtt.async_publish(
            hass, relay_topic(kaiser_id, RelayKind.LOGIN), request.encode(), 1, False
        )
        async with asyncio.timeout(LOGIN_ANSWER_S):
            ack = await waiter
    except TimeoutError:
        raise LoginSetupError("relay_offline", f"{kaiser_id}: no answer") from None
    finally:
        data.login_waiters.pop(request.req, None)
    if ack.error == LOGIN_NO_ADMIN:
        raise LoginSetupError("relay_no_admin", ack.detail or "")
    if not ack.ok:
        raise LoginSetupError("relay_refused", f"{ack.error}: {ack.detail or ''}")
    return ack


def relay_device_id(hass: HomeAssistant, kaiser_id: str) -> str | None:
    """The device of a relay's entry, if the relay has one (ESPs behind it hang below it).
    Looked up by unique id: every ESP entry asks at setup, and a scan of all entries made
    setting up 500 of them quadratic."""
    if (entry := relay_entry(hass, kaiser_id)) is None:
        return None
    device = device_by_identifier(hass, relay_device_identifier(kaiser_id), entry.entry_id)
    return None if device is None else device.id


def relay_diagnostics(hass: HomeAssistant, entry: RelayConfigEntry) -> dict[str, object]:
    """Diagnostics of a relay entry: health, bridge, edge and HA-only rules, bridge config."""
    data = entry.runtime_data
    return {
        "entry": dict(entry.data),
        "online": data.online,
        "bridge_connected": data.bridge_connected,
        "announce": None if data.announce is None else asdict(data.announce),
        "health": None if data.health is None else asdict(data.health),
        "instances": {
            "current": data.instances.current,
            "earlier": list(data.instances.earlier),
            "second_relay": data.instances.conflict(time.monotonic()),
        },
        "edge_rules": sorted(data.edge.automations.values()),
        "edge_rules_version": data.edge.version(),
        "ha_only": data.edge.ha_only,
        "ha_fired": data.ha_fired,
        "relay_fired": data.relay_fired,
        "rejected_messages": data.rejected,
        "bridge_config": generated_bridge_config(hass, entry, with_password=False),
    }
