"""Kaiser relays with real processes: the main Mosquitto, the relay's Mosquitto bridged to it
with the generated configuration (docs/kaiser.md), the relay program (`python -m kaiser`),
simulated devices on the relay's broker, and HA on the main broker.

HA's MQTT connection and the bridge each run through a cuttable link (tests/kaiser_net.py):
cutting HA's makes the main broker publish HA's last will, as when HA is killed; cutting the
bridge is the relay's network going away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
import time
from types import SimpleNamespace
from typing import Any

from homeassistant.components import automation
from homeassistant.components.automation import EVENT_AUTOMATION_RELOADED
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest

from custom_components.automationone.const import DOMAIN
from custom_components.automationone.diagnostics import async_get_config_entry_diagnostics
from custom_components.automationone.kaiser_relay import bridge_issue_id, conflict_issue_id
from simulator.device import BrokerTarget, Fleet, SimulatedDevice
from simulator.signals import Sample, ph_to_adc

from ..broker import Broker, free_port
from ..kaiser_net import Link, RelayBroker, RelayProcess, bridged
from .realtime import (
    TopicRecorder,
    add_ph_sensor,
    connect_mqtt,
    unload_all,
    virtual_esp,
    wait_for,
)
from .test_real_broker_actuators import add_actuator

KAISER = "gh1"


@dataclass
class Net:
    """The processes and links of one test."""

    main: Broker
    relay_broker: RelayBroker
    bridge: Link
    ha_link: Link
    relay: RelayProcess
    fleet: Fleet
    recorders: list[TopicRecorder]

    async def record(self, tail: str) -> TopicRecorder:
        """What the relay's broker delivers on `kaiser/{KAISER}/{tail}` (stopped at the end)."""
        recorder = TopicRecorder()
        self.recorders.append(recorder)
        return await recorder.start(self.relay_broker, f"kaiser/{KAISER}/{tail}")  # type: ignore[arg-type]


@pytest.fixture
async def net(
    hass: HomeAssistant,
    socket_enabled: None,
    mock_hass_config: None,
    enable_custom_integrations: None,
    broker: Broker,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Net]:
    """Everything running, HA connected to the main broker through its own link."""
    # HA retries a lost broker every 10 s; a test waits 1 s.
    monkeypatch.setattr("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 1)
    with bridged(KAISER, broker) as (relay_broker, bridge):
        ha_link = Link(broker.port)
        relay = RelayProcess(relay_broker).start()
        fleet = Fleet(
            2, prefix="gh", host="127.0.0.1", port=relay_broker.port, kaiser_id=KAISER,
            heartbeat_s=1.0,
        )  # fmt: skip
        await fleet.start()
        await connect_mqtt(hass, SimpleNamespace(host="127.0.0.1", port=ha_link.port))  # type: ignore[arg-type]
        try:
            net = Net(broker, relay_broker, bridge, ha_link, relay, fleet, [])
            yield net
        finally:
            for recorder in net.recorders:
                recorder.stop()
            await unload_all(hass)
            await fleet.stop()
            relay.stop()
            ha_link.close()


async def add_flow(hass: HomeAssistant, step_id: str, name: str | None = None) -> ConfigEntry:
    """Confirm the first discovery flow at `step_id` (of the device called `name`)."""

    def found() -> dict[str, Any] | None:
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
            shown = flow["context"].get("title_placeholders", {}).get("name")
            if flow["step_id"] == step_id and name in (None, shown):
                return dict(flow)
        return None

    await wait_for(hass, found, within=20, what=f"a discovery flow at {step_id}")
    flow = found()
    assert flow is not None
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    entry: ConfigEntry = result["result"]
    return entry


def entity(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


async def add_relay_and_devices(hass: HomeAssistant) -> tuple[ConfigEntry, dict[str, ConfigEntry]]:
    relay_entry = await add_flow(hass, "relay_confirm")
    esps = {}
    for _ in range(2):
        entry = await add_flow(hass, "confirm")
        esps[entry.data["esp_id"]] = entry
    return relay_entry, esps


async def test_discovered_through_the_bridge(hass: HomeAssistant, net: Net) -> None:
    """The relay and its devices are discovered through the bridge; the devices hang below the
    relay's device; health shows the bridge, the devices and the message rate; a cut bridge is
    a repair issue (and the bridge sensor off) until it is back. The devices are added first:
    adding the relay moves them below it at once."""
    esps = {}
    for _ in range(2):
        entry = await add_flow(hass, "confirm")
        esps[entry.data["esp_id"]] = entry
    relay_entry = await add_flow(hass, "relay_confirm")
    assert relay_entry.data["kind"] == "relay"
    assert relay_entry.unique_id == f"kaiser-{KAISER}"
    assert set(esps) == {"gh-01", "gh-02"}
    assert {e.data["kaiser_id"] for e in esps.values()} == {KAISER}
    bridge = entity(hass, "binary_sensor", f"kaiser-{KAISER}-relay_bridge")
    devices = entity(hass, "sensor", f"kaiser-{KAISER}-relay_devices")
    rate = entity(hass, "sensor", f"kaiser-{KAISER}-relay_msg_rate")
    await wait_for(hass, lambda: hass.states.get(bridge).state == STATE_ON, what="bridge on")
    await wait_for(hass, lambda: hass.states.get(devices).state == "2", what="2 devices")
    await wait_for(hass, lambda: float(hass.states.get(rate).state) > 0, what="messages/s")
    registry = dr.async_get(hass)
    relay_device = registry.async_get(relay_entry.runtime_data.device_id)
    assert relay_device is not None
    for esp in esps.values():
        await wait_for(
            hass,
            lambda esp=esp: esp.runtime_data.device_entry.via_device_id == relay_device.id,
            what="the ESP below the relay",
        )

    net.bridge.cut()
    await wait_for(hass, lambda: hass.states.get(bridge).state == STATE_OFF, what="bridge off")
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, bridge_issue_id(KAISER)) is not None
    net.bridge.restore()
    await wait_for(hass, lambda: hass.states.get(bridge).state == STATE_ON, what="bridge back")
    assert issues.async_get_issue(DOMAIN, bridge_issue_id(KAISER)) is None


async def conflict_repair(hass: HomeAssistant, within: float) -> ir.IssueEntry:
    """The relay id conflict's repair issue, once raised."""
    issues = ir.async_get(hass)
    await wait_for(
        hass,
        lambda: issues.async_get_issue(DOMAIN, conflict_issue_id(KAISER)) is not None,
        within=within,
        what="the conflict repair",
    )
    issue = issues.async_get_issue(DOMAIN, conflict_issue_id(KAISER))
    assert issue is not None
    assert issue.translation_key == "relay_id_conflict"
    return issue


async def test_a_second_relay_program_under_the_same_id_is_a_repair(
    hass: HomeAssistant, net: Net
) -> None:
    """A restarted relay program is the same relay; a second one under the same kaiser id (on
    the same broker, so the two push each other off by client id) is a repair issue."""
    relay_entry, _ = await add_relay_and_devices(hass)
    data = relay_entry.runtime_data
    issues = ir.async_get(hass)
    await wait_for(hass, lambda: data.instances.current is not None, what="a health report")
    first = data.instances.current
    net.relay.stop()
    net.relay = RelayProcess(net.relay_broker).start()
    await wait_for(
        hass, lambda: data.instances.current not in (None, first), what="the restart's health"
    )
    await asyncio.sleep(3)  # a few more reports: still one relay
    assert issues.async_get_issue(DOMAIN, conflict_issue_id(KAISER)) is None

    second = RelayProcess(net.relay_broker).start()
    try:
        issue = await conflict_repair(hass, within=40)
    finally:
        second.stop()
    assert issue.severity is ir.IssueSeverity.ERROR
    diagnostics = await async_get_config_entry_diagnostics(hass, relay_entry)
    assert diagnostics["instances"]["second_relay"] is True
    assert len(diagnostics["instances"]["earlier"]) >= 2


async def test_a_second_relay_on_another_broker_under_the_same_id_is_a_repair(
    hass: HomeAssistant, net: Net
) -> None:
    """A copied SD card: a second relay (its own Mosquitto and relay program) bridged to the
    main broker under the same kaiser id. The two bridges share the remote client id, so the
    main broker ends the older link each time the other reconnects (Mosquitto's back-off), and
    the two programs' health reports alternate: the same repair issue."""
    relay_entry, _ = await add_relay_and_devices(hass)
    data = relay_entry.runtime_data
    issues = ir.async_get(hass)
    await wait_for(hass, lambda: data.instances.current is not None, what="a health report")
    assert issues.async_get_issue(DOMAIN, conflict_issue_id(KAISER)) is None
    with bridged(KAISER, net.main) as (copy_broker, _):
        copy = RelayProcess(copy_broker).start()
        try:
            await conflict_repair(hass, within=60)
        finally:
            copy.stop()


async def _set_up_rule(
    hass: HomeAssistant, net: Net
) -> tuple[ConfigEntry, SimulatedDevice, str, float, float]:
    """pH of gh-01 below the threshold → gh-02's pump on for 1 s, as an automation; returns
    the relay entry, gh-01, the pH entity and the pH HA shows at pH 7 and 5."""
    relay_entry, esps = await add_relay_and_devices(hass)
    ph_sensor = await add_ph_sensor(hass, esps["gh-01"])
    await add_actuator(hass, esps["gh-02"], "Pump", max_runtime_s=60)
    esp1 = net.fleet.devices[0]

    async def shown(ph_value: float) -> float:
        raw = ph_to_adc(ph_value)
        esp1.force(34, Sample(raw=raw))
        esp1.sample_now()
        await wait_for(
            hass, lambda: hass.states.get(ph_sensor).attributes.get("raw") == raw, what="pH"
        )
        return float(hass.states.get(ph_sensor).state)

    high, low = await shown(7.0), await shown(5.0)
    await shown(7.0)
    rule = {
        "id": "ph_low_pump",
        "name": "pH low: dose",
        "triggers": [
            {
                "type": "sensor",
                "sensor": {"esp_id": "gh-01", "gpio": 34},
                "direction": "below",
                "threshold": round((high + low) / 2, 3),
                "hysteresis": round((high - low) / 4, 3),
            }
        ],
        "actions": [
            {"type": "on_for", "actuator": {"esp_id": "gh-02", "gpio": 26}, "duration_s": 1}
        ],
    }
    # The same trigger, but a notification: HA's alone.
    notify = {
        **rule,
        "id": "ph_low_notify",
        "name": "pH low: tell me",
        "actions": [{"type": "notify", "message": "pH is {value}"}],
    }
    compiled = await hass.services.async_call(
        DOMAIN, "import_rules", {"rules": [rule, notify], "dry_run": True}, blocking=True,
        return_response=True,
    )  # fmt: skip
    assert compiled is not None
    assert await async_setup_component(
        hass, automation.DOMAIN, {automation.DOMAIN: compiled["automations"]}
    )
    hass.bus.async_fire(EVENT_AUTOMATION_RELOADED)  # what the import does after writing
    data = relay_entry.runtime_data
    await wait_for(
        hass,
        lambda: data.health is not None
        and data.health.rules == 1
        and data.health.rules_version == data.edge.version(),
        what="the relay running version of its one edge rule",
    )
    edge = entity(hass, "sensor", f"kaiser-{KAISER}-relay_edge")
    assert hass.states.get(edge).attributes["edge_rules"] == ["ph_low_pump"]
    assert hass.states.get(edge).attributes["ha_only"] == {"ph_low_notify": "notify"}
    return relay_entry, esp1, ph_sensor, high, low


def commands(recorder: TopicRecorder, since: int = 0) -> list[dict[str, Any]]:
    return [json.loads(p) for _, p in recorder.messages[since:]]


async def test_ha_gone_relay_fires_ha_back_only_ha_fires(hass: HomeAssistant, net: Net) -> None:
    """HA gone (its link cut: the main broker publishes HA's last will) → the relay takes over
    and fires the rule on the next crossing; HA back → the relay stands by, the crossing it
    acted on is not acted on again, and the next crossing is fired by HA alone."""
    relay_entry, esp1, _, _, _ = await _set_up_rule(hass, net)
    data = relay_entry.runtime_data
    sent = await net.record("esp/gh-02/actuator/26/command")
    watch = await net.record("relay/health")

    def edge_state() -> str | None:
        return json.loads(watch.messages[-1][1])["edge"] if watch.messages else None

    async def reading(ph_value: float) -> None:
        esp1.force(34, Sample(raw=ph_to_adc(ph_value)))
        esp1.sample_now()

    # HA present: HA fires, the relay does not.
    await reading(5.0)
    await wait_for(hass, lambda: len(sent.messages) == 1, what="HA's command")
    assert commands(sent)[0]["source"] != "kaiser:ph_low_pump"
    await reading(7.0)

    net.ha_link.cut()
    await wait_for(hass, lambda: edge_state() == "active", what="the relay taking over")
    before = len(sent.messages)
    started = time.monotonic()
    await reading(5.0)
    await wait_for(hass, lambda: len(sent.messages) > before, what="the relay's command")
    took_ms = (time.monotonic() - started) * 1000
    (relay_command,) = commands(sent, before)
    assert relay_command["source"] == "kaiser:ph_low_pump"
    assert (relay_command["action"], relay_command["duration_s"]) == ("on", 1)
    print(f"relay fired {took_ms:.1f} ms after the reading")

    net.ha_link.restore()
    await wait_for(hass, lambda: edge_state() == "standby", within=30, what="the handback")
    await wait_for(hass, lambda: data.available, what="HA seeing the relay again")
    before = len(sent.messages)
    await reading(5.2)  # still low: the crossing the relay acted on is not fired again
    await reading(5.0)
    await reading(7.0)  # re-arms
    await reading(5.0)  # a new crossing: HA fires it, and only HA
    await wait_for(hass, lambda: len(sent.messages) > before, what="HA's command after return")
    await hass.async_block_till_done()
    after = commands(sent, before)
    assert len(after) == 1
    assert after[0]["source"] != "kaiser:ph_low_pump"


async def test_bridge_cut_relay_rules_and_device_limits_hold(hass: HomeAssistant, net: Net) -> None:
    """The bridge cut: HA sees the bridge down (repair issue), the relay runs the rule on its
    own, and the pump stops after the rule's duration on the device's own clock; the readings
    the bridge could not carry reach HA as replays once it is back (the relay held them)."""
    relay_entry, esp1, _, _, low = await _set_up_rule(hass, net)
    (esp1_entry,) = [
        e for e in hass.config_entries.async_entries(DOMAIN) if e.data.get("esp_id") == "gh-01"
    ]
    (ph_channel,) = esp1_entry.runtime_data.channels.values()
    replayed: list[float | None] = []
    ph_channel.add_replay_listener(lambda _ts, result: replayed.append(result.value))
    diagnostics = await async_get_config_entry_diagnostics(hass, relay_entry)
    assert diagnostics["edge_rules"] == ["ph_low_pump"]
    assert diagnostics["ha_only"] == {"ph_low_notify": "notify"}
    assert "topic kaiser/gh1/# both 1" in str(diagnostics["bridge_config"]).splitlines()
    sent = await net.record("esp/gh-02/actuator/26/command")
    status = await net.record("esp/gh-02/actuator/26/status")
    esp1.force(34, Sample(raw=ph_to_adc(7.0)))
    esp1.sample_now()  # the relay's trigger arms on a value after the rules came
    net.bridge.cut()
    await wait_for(
        hass,
        lambda: ir.async_get(hass).async_get_issue(DOMAIN, bridge_issue_id(KAISER)) is not None,
        what="the bridge repair issue",
    )
    watch = await net.record("relay/health")
    await wait_for(
        hass,
        lambda: bool(watch.messages) and json.loads(watch.messages[-1][1])["edge"] == "active",
        what="the relay taking over",
    )
    esp1.force(34, Sample(raw=ph_to_adc(5.0)))
    esp1.sample_now()
    await wait_for(hass, lambda: len(sent.messages) == 1, what="the relay's command")
    assert commands(sent)[0]["source"] == "kaiser:ph_low_pump"

    def last_status() -> dict[str, Any]:
        return json.loads(status.messages[-1][1]) if status.messages else {}

    await wait_for(hass, lambda: last_status().get("state") is True, what="pump on")
    await wait_for(
        hass, lambda: last_status().get("reason") == "duration", within=10, what="device stop"
    )
    assert last_status()["state"] is False
    assert replayed == []
    live: list[float | None] = []
    ph_channel.add_listener(lambda: live.append(ph_channel.result and ph_channel.result.value))
    net.bridge.restore()
    await wait_for(
        hass,
        lambda: ir.async_get(hass).async_get_issue(DOMAIN, bridge_issue_id(KAISER)) is None,
        what="the issue cleared",
    )
    # Mosquitto's bridge may deliver it late as sent, taken in live (docs/kaiser.md).
    await wait_for(
        hass,
        lambda: low in replayed or low in live,
        what="the pH 5 sent during the cut, replayed",
    )
    # The relay's entry unloaded while HA runs: HA takes the rules back, the relay runs none.
    assert await hass.config_entries.async_unload(relay_entry.entry_id)
    mark = len(watch.messages)
    await wait_for(
        hass,
        lambda: any(json.loads(p).get("rules") == 0 for _, p in watch.messages[mark:]),
        what="the relay without rules",
    )


async def move_in_flow(hass: HomeAssistant, entry: ConfigEntry, **form: Any) -> dict[str, Any]:
    """Configure → Move: fill the form, wait for the device's answer, return the flow's end."""
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "move"}
    )
    assert flow.get("step_id") == "move", flow
    flow = await hass.config_entries.options.async_configure(flow["flow_id"], form)
    deadline = time.monotonic() + 60
    while flow["type"] in ("progress", "progress_done") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # the device answers on its own time
        flow = await hass.config_entries.options.async_configure(flow["flow_id"])
    return dict(flow)


async def test_device_moved_behind_the_relay_keeps_its_entry(hass: HomeAssistant, net: Net) -> None:
    """An ESP on the main broker is moved behind the relay from its entry (Configure → Move,
    a `system/command` `move` with the relay's announced address): it connects to the relay's
    broker below the relay's kaiser id, its entry follows (kaiser id, below the relay's
    device), its entities keep their ids and get values again, its config is retained below
    the new root, and nothing of it stays retained below the old one. Moved back, it returns
    to the broker it was set up with."""
    relay_entry = await add_flow(hass, "relay_confirm")
    await wait_for(
        hass, lambda: relay_entry.runtime_data.announce is not None, what="the relay's announce"
    )
    fleet = Fleet(1, prefix="mv", host="127.0.0.1", port=net.main.port, heartbeat_s=1.0)
    await fleet.start()
    sim = fleet.devices[0]
    try:
        entry = await add_flow(hass, "confirm", "mv-01")
        assert entry.data["esp_id"] == "mv-01"
        ph = await add_ph_sensor(hass, entry)
        unique_id = er.async_get(hass).async_get(ph).unique_id
        old_root = TopicRecorder()
        net.recorders.append(old_root)
        await old_root.start(net.main, "kaiser/god/esp/mv-01/#")

        result = await move_in_flow(hass, entry, kaiser_id="god")
        assert result["type"] == "form"
        assert result["errors"] == {"kaiser_id": "already_there"}

        result = await move_in_flow(hass, entry, kaiser_id=KAISER)
        assert result["type"] == "abort", result
        assert result["reason"] == "moved"
        assert (sim.kaiser_id, sim.broker) == (
            KAISER,
            BrokerTarget(KAISER, "127.0.0.1", net.relay_broker.port),
        )
        await wait_for(hass, lambda: entry.data["kaiser_id"] == KAISER, what="the entry moved")
        device = entry.runtime_data.device_entry
        assert device.via_device_id == relay_entry.runtime_data.device_id
        assert er.async_get(hass).async_get(ph).unique_id == unique_id
        config = await net.record("esp/mv-01/config")
        await wait_for(hass, lambda: config.messages, what="the config below the relay")
        raw = ph_to_adc(6.0)
        sim.force(34, Sample(raw=raw))
        sim.sample_now()
        await wait_for(
            hass,
            lambda: hass.states.get(ph).attributes.get("raw") == raw,
            what="a reading through the bridge",
        )
        await wait_for(
            hass,
            lambda: ("kaiser/god/esp/mv-01/emergency", b"") in old_root.messages,
            what="HA clearing the old root (one retained topic after the other)",
        )
        old = TopicRecorder()
        net.recorders.append(old)
        await old.start(net.main, "kaiser/god/esp/mv-01/#")
        await hass.async_block_till_done()
        assert [(t, p) for t, p in old.messages if p] == []

        result = await move_in_flow(hass, entry, kaiser_id="god")
        assert (result["type"], result["reason"]) == ("abort", "moved")
        assert (sim.kaiser_id, sim.broker) == ("god", BrokerTarget("god"))
        await wait_for(hass, lambda: entry.data["kaiser_id"] == "god", what="the entry back")
        assert er.async_get(hass).async_get(ph).unique_id == unique_id
    finally:
        await fleet.stop()


async def test_a_move_the_device_cannot_make_leaves_it_where_it_was(
    hass: HomeAssistant, net: Net
) -> None:
    """A broker nobody answers on: the device gives up after its move timeout, comes back on
    its old broker and root with `move_error` `timeout`, and the flow says so; the entry
    stays."""
    await add_flow(hass, "relay_confirm")
    fleet = Fleet(
        1, prefix="st", host="127.0.0.1", port=net.main.port, heartbeat_s=1.0, move_timeout_s=1.5
    )
    await fleet.start()
    try:
        entry = await add_flow(hass, "confirm", "st-01")
        await wait_for(
            hass, lambda: entry.runtime_data.device.available, what="the device online in HA"
        )
        nobody = free_port()
        result = await move_in_flow(hass, entry, kaiser_id=KAISER, host="127.0.0.1", port=nobody)
        assert (result["type"], result["reason"]) == ("abort", "move_timeout")
        assert fleet.devices[0].kaiser_id == "god"
        assert entry.runtime_data.device.announce.move_error == "timeout"
        assert entry.data["kaiser_id"] == "god"
    finally:
        await fleet.stop()


async def test_the_firmware_core_moves_behind_the_relay_and_back(
    hass: HomeAssistant, net: Net
) -> None:
    """The same move with the firmware core on the host (virtual-esp) instead of the simulator:
    through the bridge below the relay, connectivity on again there, and back to the broker it
    was set up with."""
    relay_entry = await add_flow(hass, "relay_confirm")
    await wait_for(
        hass, lambda: relay_entry.runtime_data.announce is not None, what="the relay's announce"
    )
    proc = virtual_esp(net.main.port, "mv-ve-01")
    proc.start()
    try:
        entry = await add_flow(hass, "confirm", "mv-ve-01")
        await wait_for(hass, lambda: entry.runtime_data.device.available, what="the device online")
        connectivity = entity(hass, "binary_sensor", f"{entry.unique_id}-connectivity")

        result = await move_in_flow(hass, entry, kaiser_id=KAISER)
        assert (result["type"], result["reason"]) == ("abort", "moved")
        await wait_for(hass, lambda: entry.data["kaiser_id"] == KAISER, what="the entry moved")
        assert entry.runtime_data.device_entry.via_device_id == relay_entry.runtime_data.device_id
        await wait_for(
            hass,
            lambda: hass.states.get(connectivity).state == STATE_ON,
            what="connectivity through the bridge",
        )

        result = await move_in_flow(hass, entry, kaiser_id="god")
        assert (result["type"], result["reason"]) == ("abort", "moved")
        await wait_for(hass, lambda: entry.data["kaiser_id"] == "god", what="the entry back")
    finally:
        proc.stop()
