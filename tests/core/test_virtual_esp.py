"""virtual-esp (firmware core + POSIX HAL + libmosquitto) against a real Mosquitto.

A paho-mqtt observer checks what crosses the wire with the integration's own parsers: the
retained announce, a pushed config and its per-pin ack, raw readings, an actuator command with
the device's own max-runtime stop, and the broker's last will after SIGKILL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import importlib.util
from pathlib import Path
import queue
import shutil
import subprocess
import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest

from custom_components.automationone import gpio, protocol as p
from custom_components.automationone.processors import PhProcessor, adc_model_for

from ..broker import Broker

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "firmware/tools"
BINARY = REPO / "firmware" / "build" / "virtual-esp"
ESP_ID = "ve-t1"
BASE = f"kaiser/god/esp/{ESP_ID}"


def virtual_esp_binary() -> Path:
    """The binary from firmware/build, built through the firmware makefile when missing."""
    if not BINARY.exists():
        assert shutil.which("cmake"), "cmake is needed to build virtual-esp"
        subprocess.run(
            ["make", "-s", "-f", "firmware/firmware.mk", "firmware-virtual-esp"],
            cwd=REPO,
            check=True,
            timeout=600,
        )
    return BINARY


class Observer:
    """A paho client that records every message below the device's root."""

    def __init__(self, broker: Broker) -> None:
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.seen: list[paho.MQTTMessage] = []
        self._subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="observer")
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(f"{BASE}/#", qos=1)
        assert self._subscribed.wait(5), "observer subscription not confirmed"

    def wait(
        self,
        topic: str,
        match: Callable[[paho.MQTTMessage], bool] = lambda _m: True,
        within: float = 10,
    ) -> paho.MQTTMessage:
        for msg in self.seen:
            if msg.topic == topic and match(msg):
                return msg
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(msg)
            if msg.topic == topic and match(msg):
                return msg
        raise AssertionError(f"nothing on {topic} within {within} s")

    def publish(self, topic: str, payload: object, retain: bool = False) -> None:
        self.client.publish(topic, orjson.dumps(payload), qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def retained(broker: Broker, topic: str) -> bytes:
    """What the broker keeps retained on `topic`, as a fresh subscriber sees it."""
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="retained-check")
    client.on_message = lambda _c, _u, msg: got.put(msg)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.subscribe(topic, qos=1)
    try:
        msg = got.get(timeout=5)
    finally:
        client.loop_stop()
        client.disconnect()
    assert msg.retain
    payload: bytes = msg.payload
    return payload


@pytest.fixture
def observer(broker: Broker) -> Iterator[Observer]:
    obs = Observer(broker)
    yield obs
    obs.close()


@pytest.fixture
def device(broker: Broker, observer: Observer) -> Iterator[subprocess.Popen[bytes]]:
    args = [str(virtual_esp_binary()), "--host", broker.host, "--port", str(broker.port)]
    proc = subprocess.Popen([*args, "--esp-id", ESP_ID, "--board", "esp32dev", "--quiet"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


@pytest.mark.timeout(600)  # may build virtual-esp first
def test_virtual_esp_announce_config_readings_commands_lwt(
    socket_enabled: None, broker: Broker, observer: Observer, device: subprocess.Popen[bytes]
) -> None:
    msg = observer.wait(f"{BASE}/announce")
    assert retained(broker, f"{BASE}/announce") == msg.payload
    announce = p.parse_announce(msg.payload, p.parse_topic(msg.topic))
    assert (announce.esp_id, announce.board, announce.fw) == (ESP_ID, "esp32dev", "automationone")
    assert announce.caps is not None
    assert announce.caps.buffer == 128
    assert observer.wait(f"{BASE}/status").payload == b"online"

    config = {
        "v": 1,
        "version": 7,
        "heartbeat_s": 5,
        "sensors": [
            {"gpio": 34, "type": "ph", "interval_ms": 2000},
            {"gpio": 6, "type": "analog", "interval_ms": 2000},
        ],
        "actuators": [{"gpio": 5, "type": "pump", "max_runtime_s": 1, "cooldown_s": 60}],
    }
    observer.publish(f"{BASE}/config", config, retain=True)
    ack = p.parse_config_ack(observer.wait(f"{BASE}/config/ack").payload)
    assert ack.version == 7
    assert not ack.ok
    results = {(r.kind, r.gpio): (r.ok, r.error) for r in ack.results}
    assert results == {
        ("sensor", 34): (True, None),
        ("sensor", 6): (False, "gpio_reserved"),  # SPI flash pin (boards.json)
        ("actuator", 5): (True, None),
    }

    reading = p.parse_sensor_data(observer.wait(f"{BASE}/sensor/34/data").payload, 34)
    (value,) = reading.readings
    assert isinstance(value.raw, int)
    assert 0 <= value.raw <= 4095
    # Counts come through the ESP32's ADC curve: the pH processor's defaults (esp32_11db, the
    # board's model) read the simulated probe (1500 +- 150 mV: pH 7 +- 0.85) back.
    ph = PhProcessor().process(value.raw, params={"adc": adc_model_for("esp32dev")}).value
    assert ph is not None
    assert 6.1 <= ph <= 7.9
    assert reading.ts is not None
    assert reading.ts > 1_600_000_000_000

    observer.publish(f"{BASE}/actuator/5/command", {"v": 1, "action": "on", "cmd_id": "t-1"})
    on = p.parse_actuator_status(
        observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"t-1"' in m.payload).payload
    )
    assert (on.state, on.value, on.reason, on.cmd_id) == (True, 255, "command", "t-1")
    off = p.parse_actuator_status(
        observer.wait(f"{BASE}/actuator/5/status", lambda m: b"max_runtime" in m.payload).payload
    )
    assert (off.state, off.reason) == (False, "max_runtime")
    observer.publish(f"{BASE}/actuator/5/command", {"v": 1, "action": "on", "cmd_id": "t-2"})
    refused = p.parse_actuator_status(
        observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"t-2"' in m.payload).payload
    )
    assert refused.refused == "cooldown"
    assert refused.state is False

    heartbeat = p.parse_heartbeat(observer.wait(f"{BASE}/heartbeat").payload)
    assert heartbeat.rssi <= 0

    device.kill()  # SIGKILL: the broker publishes the last will
    device.wait(5)
    observer.wait(f"{BASE}/status", lambda m: m.payload == b"offline")
    assert retained(broker, f"{BASE}/status") == b"offline"


# Pins the device refuses must be the pins HA's GPIO safe-mode refuses, with the same codes.
PIN_RULES_CONFIG: dict[str, Any] = {
    "v": 1,
    "version": 2,
    "sensors": [
        {"gpio": 34, "type": "ph", "interval_ms": 60000},
        {"gpio": 25, "type": "analog", "interval_ms": 60000},  # ADC2 with WiFi on
        {"gpio": 6, "type": "analog", "interval_ms": 60000},  # flash
        {"gpio": 37, "type": "analog", "interval_ms": 60000},  # not on the module
        {"gpio": 4, "type": "ds18b20", "interval_ms": 60000, "addr": "28ff641e8216c3a1"},
        {"gpio": 4, "type": "ds18b20", "interval_ms": 60000, "addr": "28ff641e8216c3a1"},
        {"gpio": 4, "type": "ds18b20", "interval_ms": 60000, "addr": "28ff641e8216c3a2"},
        {"gpio": 12, "type": "ds18b20", "interval_ms": 60000},  # pull-up on MTDI: no boot
        {"gpio": 0, "type": "ds18b20", "interval_ms": 60000},  # pull-up on GPIO0 boots fine
        {"gpio": 21, "type": "sht31", "interval_ms": 60000, "addr": "0x44", "scl": 22},
        {"gpio": 21, "type": "sht31", "interval_ms": 60000, "addr": "0x45", "scl": 22},
        {"gpio": 21, "type": "sht31", "interval_ms": 60000, "addr": "0x44", "scl": 22},
        {"gpio": 35, "type": "digital", "interval_ms": 60000},
    ],
    "actuators": [
        {"gpio": 5, "type": "pump"},
        {"gpio": 0, "type": "relay"},
        {"gpio": 12, "type": "valve"},
        {"gpio": 34, "type": "relay"},
        {"gpio": 18, "type": "pwm"},
        {"gpio": 22, "type": "relay"},
        {"gpio": 4, "type": "relay"},
    ],
}


def _safe_mode_verdicts(config: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    """What the integration's GPIO safe-mode says about each pin of `config`."""
    groups: list[tuple[str, int, list[gpio.Claim]]] = [
        (
            "sensor",
            s["gpio"],
            gpio.sensor_claims(s["type"], s["gpio"], addr=s.get("addr"), scl=s.get("scl")),
        )
        for s in config["sensors"]
    ]
    groups += [
        ("actuator", a["gpio"], [gpio.actuator_claim(a["type"], a["gpio"])])
        for a in config["actuators"]
    ]
    flat = [claim for _kind, _pin, claims in groups for claim in claims]
    checks = iter(gpio.check_config("esp32dev", flat))
    verdicts = []
    for kind, pin, claims in groups:
        results = [next(checks) for _claim in claims]
        errors = [r.error_code for r in results if not r.ok]
        verdicts.append((kind, pin, errors[0] if errors else None))
    return verdicts


@pytest.mark.timeout(600)  # may build virtual-esp first
def test_virtual_esp_refuses_the_pins_the_safe_mode_refuses(
    socket_enabled: None, broker: Broker, observer: Observer, device: subprocess.Popen[bytes]
) -> None:
    observer.wait(f"{BASE}/announce")
    observer.publish(f"{BASE}/config", PIN_RULES_CONFIG, retain=True)
    ack = orjson.loads(observer.wait(f"{BASE}/config/ack").payload)
    device_verdicts = [(r["kind"], r["gpio"], r.get("error")) for r in ack["results"]]
    assert device_verdicts == _safe_mode_verdicts(PIN_RULES_CONFIG)
    assert {error for _kind, _pin, error in device_verdicts} == {
        None, "gpio_adc2_wifi", "gpio_reserved", "gpio_invalid", "gpio_in_use", "gpio_input_only"
    }  # fmt: skip


def test_adc_table_is_generated_from_the_processors_model() -> None:
    """The virtual ESP's ADC curve is the processors' own (one source, a proven copy)."""
    spec = importlib.util.spec_from_file_location("gen_adc_table", TOOLS / "gen_adc_table.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    checked_in = (REPO / "firmware/posix/adc_model_table.inc").read_text(encoding="utf-8")
    assert checked_in == tool.render(), "run firmware/tools/gen_adc_table.py"


@pytest.mark.timeout(600)  # may build virtual-esp first
def test_virtual_esp_own_emergency_survives_a_restart(
    socket_enabled: None, broker: Broker, observer: Observer, device: subprocess.Popen[bytes]
) -> None:
    """The firmware core subscribes to its own retained `emergency` topic: a stop there holds
    after a restart (the broker hands it over at subscribe), and only its own clear ends it."""
    observer.wait(f"{BASE}/status", lambda m: m.payload == b"online")
    config = {"v": 1, "version": 3, "sensors": [], "actuators": [{"gpio": 5, "type": "relay"}]}
    observer.publish(f"{BASE}/config", config, retain=True)
    observer.wait(f"{BASE}/config/ack")
    observer.publish(f"{BASE}/emergency", {"v": 1, "action": "stop", "reason": "leak"}, retain=True)
    observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"reason":"emergency"' in m.payload)
    device.kill()
    device.wait(5)
    observer.wait(f"{BASE}/status", lambda m: m.payload == b"offline")
    observer.seen.clear()  # from here on, wait only for what the restarted device sends
    args = [str(virtual_esp_binary()), "--host", broker.host, "--port", str(broker.port)]
    again = subprocess.Popen([*args, "--esp-id", ESP_ID, "--board", "esp32dev", "--quiet"])
    try:
        # `online` follows the device's subscriptions (the broker keeps a client's order).
        observer.wait(f"{BASE}/status", lambda m: m.payload == b"online")
        observer.publish(f"{BASE}/actuator/5/command", {"v": 1, "action": "on", "cmd_id": "r-1"})
        refused = p.parse_actuator_status(
            observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"r-1"' in m.payload).payload
        )
        assert refused.refused == "emergency"
        observer.publish("kaiser/god/broadcast/emergency", {"v": 1, "action": "clear"}, retain=True)
        observer.publish(f"{BASE}/actuator/5/command", {"v": 1, "action": "on", "cmd_id": "r-2"})
        still = p.parse_actuator_status(
            observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"r-2"' in m.payload).payload
        )
        assert still.refused == "emergency"
        observer.publish(f"{BASE}/emergency", {"v": 1, "action": "clear"}, retain=True)
        observer.publish(f"{BASE}/actuator/5/command", {"v": 1, "action": "on", "cmd_id": "r-3"})
        on = p.parse_actuator_status(
            observer.wait(f"{BASE}/actuator/5/status", lambda m: b'"r-3"' in m.payload).payload
        )
        assert (on.state, on.refused) == (True, None)
    finally:
        again.kill()
        again.wait(5)


@pytest.mark.timeout(600)  # may build virtual-esp first
def test_virtual_esp_moves_to_another_broker_and_stays_there(
    socket_enabled: None, broker: Broker, observer: Observer, tmp_path: Path
) -> None:
    """docs/protocol.md "Moving to another broker", as another implementation reads it: a
    `move` sends the device to the other broker below the new kaiser id (last will there too),
    the move is stored and survives a restart, and a `move` to `god` without a host returns it
    to the broker it was set up with."""
    relay = Broker().start()
    moved_base = f"kaiser/gh1/esp/{ESP_ID}"
    there = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="relay-observer")
    got: queue.Queue[paho.MQTTMessage] = queue.Queue()
    there.on_message = lambda _c, _u, msg: got.put(msg)
    there.connect(relay.host, relay.port)
    there.loop_start()
    there.subscribe(f"{moved_base}/#", qos=1)

    def wait_there(suffix: str, match: Callable[[bytes], bool], within: float = 15) -> bytes:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                msg = got.get(timeout=left)
                if msg.topic == f"{moved_base}/{suffix}" and match(msg.payload):
                    return bytes(msg.payload)
        raise AssertionError(f"nothing on {moved_base}/{suffix} within {within} s")

    args = [str(virtual_esp_binary()), "--host", broker.host, "--port", str(broker.port)]
    args += ["--esp-id", ESP_ID, "--board", "esp32dev", "--quiet", "--storage", str(tmp_path)]
    proc = subprocess.Popen(args)
    try:
        first = p.parse_announce(observer.wait(f"{BASE}/announce").payload)
        assert first.caps is not None
        assert first.caps.move is True
        observer.wait(f"{BASE}/status", lambda m: m.payload == b"online")
        observer.publish(
            f"{BASE}/system/command",
            {"v": 1, "cmd": "move", "kaiser_id": "gh1", "host": relay.host, "port": relay.port},
        )
        announce = p.parse_announce(wait_there("announce", lambda _b: True))
        assert (announce.kaiser_id, announce.move_error) == ("gh1", None)
        wait_there("status", lambda b: b == b"online")

        proc.kill()  # its last will is below the new root, on the new broker
        proc.wait(5)
        wait_there("status", lambda b: b == b"offline")
        proc = subprocess.Popen(args)  # set up for the old broker, moved by what it stored
        wait_there("status", lambda b: b == b"online")

        observer.seen.clear()
        there.publish(
            f"{moved_base}/system/command",
            orjson.dumps({"v": 1, "cmd": "move", "kaiser_id": "god"}),
            qos=1,
        ).wait_for_publish(5)
        back = p.parse_announce(observer.wait(f"{BASE}/announce", within=15).payload)
        assert (back.kaiser_id, back.move_error) == ("god", None)
        observer.wait(f"{BASE}/status", lambda m: m.payload == b"online")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        there.loop_stop()
        there.disconnect()
        relay.stop()
