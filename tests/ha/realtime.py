"""Helpers for tests against a real broker: wait for conditions, run device processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.automationone.const import DOMAIN

from ..broker import Broker
from ..virtual_esp import REPO, VIRTUAL_ESP


async def wait_for(
    hass: HomeAssistant, condition: Callable[[], object], within: float = 15.0, what: str = ""
) -> None:
    """Let HA run until `condition()` is truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
        await asyncio.sleep(0.02)
    await hass.async_block_till_done()


class DeviceProcess:
    """A device (simulator or virtual ESP) as a child process."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DeviceProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(self.args, cwd=REPO, env=env)
        return self

    def kill(self) -> None:
        """SIGKILL: the broker, not the device, publishes its last will."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            self.kill()


def simulator(port: int, *extra: str) -> DeviceProcess:
    """The Python device simulator against the broker on `port`."""
    return DeviceProcess(
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), *extra]
    )


async def connect_mqtt(hass: HomeAssistant, broker: Broker, **options: Any) -> None:
    """Set up HA's MQTT integration against `broker` (`options`: more entry data)."""
    entry = MockConfigEntry(
        domain="mqtt", data={"broker": broker.host, "port": broker.port, **options}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await mqtt.async_wait_for_mqtt_client(hass)


async def unload_all(hass: HomeAssistant) -> None:
    """Unload every entry, HA's MQTT last. Its client counts as connected until paho's
    disconnect callback, so entries unloaded after it could arm its unsubscribe debouncer as
    the test ends; unloaded last, it cancels that debouncer itself."""
    for entry in sorted(hass.config_entries.async_entries(), key=lambda e: e.domain == "mqtt"):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def add_discovered_device(hass: HomeAssistant) -> ConfigEntry:
    """Wait for the discovery flow of an announcing device and add it."""
    await wait_for(
        hass,
        lambda: hass.config_entries.flow.async_progress_by_handler(DOMAIN),
        what="the discovery flow of the device's announce",
    )
    (flow, *_) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    entry: ConfigEntry = result["result"]
    return entry


async def add_ph_sensor(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """A pH sensor on GPIO 34, processed in HA; returns its entity id once it has a value."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "sensor"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"sensor_type": "ph", "name": "Tank pH"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"gpio": "34", "interval_s": 2, "mode": "raw", "echo_processed": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (subentry_id,) = entry.subentries
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{entry.unique_id}-{subentry_id}"
    )
    assert entity_id is not None
    await wait_for(
        hass,
        lambda: hass.states.get(entity_id).state not in (STATE_UNAVAILABLE, STATE_UNKNOWN),
        what="a first pH value",
    )
    return entity_id


class TopicRecorder:
    """Records what the broker delivers on a topic filter, through a client of its own.

    `start` returns once the broker confirmed the subscription: HA's own client sends its
    SUBSCRIBEs in debounced batches, so a recorder on it could miss what HA publishes at once
    (HA 2026.10 debounces longer than 2025.4).
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        # time.monotonic() when each message arrived (parallel to `messages`).
        self.arrived: list[float] = []
        self._client: paho.Client | None = None

    async def start(self, broker: Broker, topic: str) -> TopicRecorder:
        subscribed = threading.Event()
        client = paho.Client(CallbackAPIVersion.VERSION2)

        def on_message(_client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
            self.arrived.append(time.monotonic())
            self.messages.append((msg.topic, msg.payload))

        client.on_message = on_message
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.connect(broker.host, broker.port)
        client.loop_start()
        self._client = client
        deadline = time.monotonic() + 10
        while not subscribed.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker did not confirm the subscription to {topic}")
            await asyncio.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def topics(self, since: int = 0) -> set[str]:
        return {topic for topic, _ in self.messages[since:]}


def virtual_esp(port: int, esp_id: str, *extra: str, heartbeat_s: int = 1) -> DeviceProcess:
    """The firmware core on the host (built by `make firmware-virtual-esp`) as a device."""
    if not VIRTUAL_ESP.exists():
        subprocess.run(
            ["make", "-s", "-f", "firmware/firmware.mk", "firmware-virtual-esp"],
            cwd=REPO,
            check=True,
        )
    return DeviceProcess(
        [str(VIRTUAL_ESP), "--host", "127.0.0.1", "--port", str(port), "--esp-id", esp_id,
         "--heartbeat", str(heartbeat_s), "--quiet", *extra]
    )  # fmt: skip
