"""The device simulator against a real Mosquitto, watched by a plain paho client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from custom_components.automationone import protocol as p
from custom_components.automationone.processors import PhProcessor, adc_model_for, mv_to_count
from simulator import DeviceOptions, SimulatedDevice
from simulator.cli import parse_args
from simulator.device import mac_for
from simulator.pins import check_pins
from simulator.signals import (
    Signal,
    crc8_maxim,
    crc8_sensirion,
    ds18b20_celsius,
    ds18b20_words,
    ph_to_adc,
    sht31_words,
)

from ..broker import Broker

ROOT = Path(__file__).resolve().parent.parent.parent
BASE = "kaiser/god/esp/sim-01"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Message:
    """A message the observer received."""

    topic: str
    payload: bytes
    retain: bool


class Observer:
    """A paho client (own thread) that records everything below `kaiser/#`."""

    def __init__(self, broker: Broker, name: str = "observer") -> None:
        self.broker = broker
        self.loop = asyncio.get_running_loop()
        self.messages: list[Message] = []
        self._new = asyncio.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
        self.client.on_message = self._on_message

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        message = Message(msg.topic, msg.payload, bool(msg.retain))
        self.loop.call_soon_threadsafe(self._add, message)

    def _add(self, message: Message) -> None:
        self.messages.append(message)
        self._new.set()

    async def start(self, topic: str = "kaiser/#") -> Observer:
        subscribed = self.loop.create_future()
        self.client.on_subscribe = lambda *args: self.loop.call_soon_threadsafe(
            subscribed.set_result, None
        )
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        self.client.subscribe(topic, 1)
        await asyncio.wait_for(subscribed, TIMEOUT)
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def mark(self) -> int:
        """Index of the next message (to wait only for what comes after an action)."""
        return len(self.messages)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos, retain).wait_for_publish(TIMEOUT)

    async def wait_for(
        self,
        topic: str,
        match: Callable[[Message], bool] = lambda m: True,
        after: int = 0,
        within: float = TIMEOUT,
    ) -> Message:
        """The first message on `topic` (from index `after`) that matches."""
        index = after
        async with asyncio.timeout(within):
            while True:
                while index < len(self.messages):
                    message = self.messages[index]
                    index += 1
                    if message.topic == topic and match(message):
                        return message
                self._new.clear()
                await self._new.wait()


def _status(message: Message) -> p.ActuatorStatus:
    return p.parse_actuator_status(message.payload)


def _command(action: str, **fields: object) -> bytes:
    return orjson.dumps({"v": 1, "action": action, **fields})


def _config(version: int, sensors: list[object], actuators: list[object]) -> bytes:
    return orjson.dumps({"v": 1, "version": version, "sensors": sensors, "actuators": actuators})


@pytest.fixture
async def observer(socket_enabled: None, broker: Broker) -> AsyncIterator[Observer]:
    """A paho observer subscribed to everything before any device starts."""
    obs = Observer(broker)
    await obs.start()
    yield obs
    obs.stop()


async def _device(broker: Broker, **options: object) -> SimulatedDevice:
    device = SimulatedDevice(
        DeviceOptions("sim-01", port=broker.port, heartbeat_s=0.3, reconnect_min_s=0.1, **options)
    )
    await device.start()
    async with asyncio.timeout(TIMEOUT):
        await device.wait_online()
    return device


@pytest.fixture
async def device(observer: Observer, broker: Broker) -> AsyncIterator[SimulatedDevice]:
    """One simulated esp32dev `sim-01` with a fast heartbeat."""
    dev = await _device(broker)
    yield dev
    await dev.stop()


# --- pure parts ---------------------------------------------------------------------------


def test_importing_the_simulator_does_not_import_home_assistant() -> None:
    """The simulator runs without executing the integration's HA __init__."""
    code = (
        "import sys, simulator; "
        "assert 'homeassistant' not in sys.modules, 'HA imported'; "
        "assert 'custom_components.automationone' not in sys.modules; "
        "import custom_components.automationone.safety"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert b"--heartbeat" in result.stdout


def test_cli_rejects_bad_ids() -> None:
    """Device ids built from the prefix must be valid protocol ids."""
    with pytest.raises(SystemExit):
        parse_args(["--prefix", "bad/prefix"])
    with pytest.raises(SystemExit):
        parse_args(["--kaiser", "a+b"])
    args = parse_args(
        ["--devices", "3", "--prefix", "gh", "--batch", "--board", "seeed_xiao_esp32c3"]
    )
    assert (args.devices, args.prefix, args.batch) == (3, "gh", True)


def test_signal_encodings() -> None:
    """CRCs match the datasheets' examples; words decode back to the physical values."""
    assert crc8_sensirion(bytes([0xBE, 0xEF])) == 0x92  # SHT3x datasheet example
    assert crc8_maxim(bytes([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00])) == 0xA2  # AN27
    words = ds18b20_words(21.5)
    pad = b"".join(w.to_bytes(2, "little") for w in words)[:9]
    assert crc8_maxim(pad[:8]) == pad[8]
    assert ds18b20_celsius(words) == 21.5
    assert ds18b20_celsius(ds18b20_words(-10.125)) == -10.125
    t_word, t_crc, rh_word, rh_crc = sht31_words(25.0, 50.0)
    assert -45 + 175 * t_word / 65535 == pytest.approx(25.0, abs=0.01)
    assert 100 * rh_word / 65535 == pytest.approx(50.0, abs=0.01)
    assert t_crc == crc8_sensirion(t_word.to_bytes(2, "big"))
    assert rh_crc == crc8_sensirion(rh_word.to_bytes(2, "big"))
    assert ph_to_adc(7.0) == round(mv_to_count(1500.0, "esp32_11db"))
    assert ph_to_adc(4.0) > ph_to_adc(7.0) > ph_to_adc(10.0)


@pytest.mark.parametrize("board", ["esp32dev", "seeed_xiao_esp32c3"])
def test_simulated_ph_reads_back_with_the_form_defaults(board: str) -> None:
    """Counts come from the board's own ADC model: the pH processor with its defaults for
    that board (the ADC model the form offers) reads the simulated pH back."""
    adc = adc_model_for(board)
    for ph in (4.0, 7.0, 9.2):
        value = PhProcessor().process(ph_to_adc(ph, adc), params={"adc": adc}).value
        assert value == pytest.approx(ph, abs=0.02)
    signal = Signal("ph", 1, adc)
    sample = signal.sample(0.0)
    assert isinstance(sample.raw, int)
    assert PhProcessor().process(sample.raw, params={"adc": adc}).value == pytest.approx(
        7.0, abs=0.5
    )


def test_signals_are_repeatable_and_processed_mode_has_units() -> None:
    """Same seed, same signal; processed mode gives a value with a unit."""
    one, two, other = Signal("ph", 42), Signal("ph", 42), Signal("ph", 43)
    first = [one.sample(t) for t in range(5)]
    assert first == [two.sample(t) for t in range(5)]
    assert first != [other.sample(t) for t in range(5)]
    units = {
        kind: Signal(kind, 1).sample(0, processed=True).unit
        for kind in ("ph", "ds18b20", "soil", "analog")
    }
    assert units == {"ph": "pH", "ds18b20": "°C", "soil": "%", "analog": "V"}
    ph = Signal("ph", 7).sample(0, processed=True).value
    assert ph is not None
    assert 6 < ph < 8
    # A multi-value sensor sends one reading per quantity: the first unnamed, the rest named.
    sht31 = Signal("sht31", 3).sample(0, processed=True)
    assert (sht31.unit, sht31.quantity) == ("°C", None)
    assert [(s.unit, s.quantity) for s in sht31.also] == [("%", "humidity")]


def test_mac_is_stable_and_valid() -> None:
    """The MAC is derived from the id: same id, same MAC; locally administered."""
    assert mac_for("sim-01") == mac_for("sim-01") != mac_for("sim-02")
    assert mac_for("sim-01").startswith("02:")


@pytest.mark.parametrize(
    ("board", "sensors", "actuators", "errors"),
    [
        ("esp32dev", [], [{"gpio": 6, "type": "relay"}], ["gpio_reserved"]),
        ("esp32dev", [], [{"gpio": 35, "type": "relay"}], ["gpio_input_only"]),
        ("esp32dev", [{"gpio": 35, "type": "ph", "interval_ms": 5000}], [], [None]),
        ("esp32dev", [], [{"gpio": 40, "type": "relay"}], ["gpio_invalid"]),
        ("esp32dev", [], [{"gpio": 24, "type": "relay"}], ["gpio_invalid"]),
        ("seeed_xiao_esp32c3", [], [{"gpio": 22, "type": "relay"}], ["gpio_invalid"]),
        ("seeed_xiao_esp32c3", [], [{"gpio": 14, "type": "relay"}], ["gpio_reserved"]),
        ("seeed_xiao_esp32c3", [], [{"gpio": 3, "type": "relay"}], [None]),
        (
            "esp32dev",
            [{"gpio": 32, "type": "soil", "interval_ms": 5000}],
            [{"gpio": 32, "type": "relay"}, {"gpio": 33, "type": "relay"}],
            [None, "gpio_in_use", None],
        ),
        (
            "esp32dev",
            [
                {"gpio": 4, "type": "ds18b20", "interval_ms": 5000, "addr": "28ff641e8216c3a1"},
                {"gpio": 4, "type": "ds18b20", "interval_ms": 5000, "addr": "28ff641e8216c3a2"},
                {"gpio": 4, "type": "ds18b20", "interval_ms": 5000, "addr": "28ff641e8216c3a2"},
                {"gpio": 4, "type": "ph", "interval_ms": 5000},
            ],
            [],
            [None, None, "gpio_in_use", "gpio_in_use"],
        ),
        (
            "esp32dev",
            [
                {"gpio": 21, "type": "sht31", "interval_ms": 5000, "addr": "0x44", "scl": 22},
                {"gpio": 21, "type": "sht31", "interval_ms": 5000, "addr": "0x45", "scl": 22},
                {"gpio": 36, "type": "sht31", "interval_ms": 5000, "addr": "0x44", "scl": 23},
            ],
            [{"gpio": 22, "type": "relay"}],
            [None, None, "gpio_input_only", "gpio_in_use"],
        ),
    ],
)
def test_pin_rules(
    board: str, sensors: list[object], actuators: list[object], errors: list[str | None]
) -> None:
    """The simulator's small pin table gives plausible per-pin results."""
    config = p.parse_config(_config(1, sensors, actuators))
    results, _, _ = check_pins(board, config.sensors, config.actuators)
    assert [r.error for r in results] == errors
    assert [r.ok for r in results] == [e is None for e in errors]


# --- over the wire ------------------------------------------------------------------------


async def test_announce_status_and_heartbeat(
    device: SimulatedDevice, observer: Observer, broker: Broker
) -> None:
    """Retained announce (parses, ids match the topic), status online, heartbeats."""
    announce = await observer.wait_for(f"{BASE}/announce")
    parsed = p.parse_announce(announce.payload, p.parse_topic(announce.topic))
    assert parsed.board == "esp32dev"
    assert parsed.fw == "simulator"
    assert parsed.mac == device.mac
    assert parsed.caps is not None
    assert parsed.caps.batch is False
    status = await observer.wait_for(f"{BASE}/status")
    assert p.parse_status(status.payload) is True
    first = await observer.wait_for(f"{BASE}/heartbeat")
    second = await observer.wait_for(f"{BASE}/heartbeat", after=observer.messages.index(first) + 1)
    beats = [p.parse_heartbeat(m.payload) for m in (first, second)]
    assert all(-127 <= b.rssi <= 0 and b.heap_free > 0 for b in beats)
    assert beats[1].uptime_s >= beats[0].uptime_s

    # A late subscriber gets announce and status from the broker: both are retained.
    late = await Observer(broker, "late").start(f"{BASE}/+")
    try:
        retained = await late.wait_for(f"{BASE}/announce")
        assert retained.retain
        assert p.parse_announce(retained.payload) == parsed
        assert (await late.wait_for(f"{BASE}/status")).retain
    finally:
        late.stop()


CONFIG = _config(
    7,
    [
        {"gpio": 34, "type": "ph", "interval_ms": 2000},
        {"gpio": 4, "type": "ds18b20", "interval_ms": 2000, "addr": "28ff641e8216c3a1"},
        {"gpio": 21, "type": "sht31", "interval_ms": 2000, "addr": "0x44", "scl": 22},
        {"gpio": 32, "type": "soil", "interval_ms": 2000},
        {"gpio": 7, "type": "analog", "interval_ms": 2000},
    ],
    [
        {"gpio": 5, "type": "pump", "max_runtime_s": 1},
        {"gpio": 18, "type": "pwm", "safe_state": 0},
        {"gpio": 36, "type": "relay"},
        {"gpio": 41, "type": "relay"},
        {"gpio": 4, "type": "valve"},
    ],
)


async def _retained(broker: Broker, topic: str) -> Message:
    """What the broker keeps on `topic`, seen by a fresh subscriber."""
    late = await Observer(broker, "late").start(topic)
    try:
        message = await late.wait_for(topic)
    finally:
        late.stop()
    assert message.retain
    return message


async def test_config_ack_and_readings(
    device: SimulatedDevice, observer: Observer, broker: Broker
) -> None:
    """A pushed config gets a per-pin ack with refusals; configured sensors report."""
    mark = observer.mark()
    observer.publish(f"{BASE}/config", CONFIG, retain=True)
    ack_message = await observer.wait_for(f"{BASE}/config/ack", after=mark)
    ack = p.parse_config_ack(ack_message.payload)
    assert ack.version == 7
    assert ack.ok is False
    assert [(r.kind, r.gpio, r.error) for r in ack.results] == [
        ("sensor", 34, None),
        ("sensor", 4, None),
        ("sensor", 21, None),
        ("sensor", 32, None),
        ("sensor", 7, "gpio_reserved"),
        ("actuator", 5, None),
        ("actuator", 18, None),
        ("actuator", 36, "gpio_input_only"),
        ("actuator", 41, "gpio_invalid"),
        ("actuator", 4, "gpio_in_use"),
    ]
    for gpio in (5, 18):
        boot = _status(await observer.wait_for(f"{BASE}/actuator/{gpio}/status", after=mark))
        assert (boot.state, boot.value, boot.reason) == (False, 0, "boot")

    ph = p.parse_sensor_data((await observer.wait_for(f"{BASE}/sensor/34/data")).payload, 34)
    (reading,) = ph.readings
    assert isinstance(reading.raw, int)
    assert abs(reading.raw - ph_to_adc(7.0)) < 150
    ds = p.parse_sensor_data((await observer.wait_for(f"{BASE}/sensor/4/data")).payload, 4)
    words = ds.readings[0].raw
    assert isinstance(words, tuple)
    assert ds.readings[0].addr == "28ff641e8216c3a1"
    pad = b"".join(w.to_bytes(2, "little") for w in words)[:9]
    assert crc8_maxim(pad[:8]) == pad[8]
    assert 10 < ds18b20_celsius(words) < 35
    sht = p.parse_sensor_data((await observer.wait_for(f"{BASE}/sensor/21/data")).payload, 21)
    t_word, t_crc, rh_word, rh_crc = sht.readings[0].raw  # type: ignore[misc]
    assert t_crc == crc8_sensirion(t_word.to_bytes(2, "big"))
    assert rh_crc == crc8_sensirion(rh_word.to_bytes(2, "big"))
    soil = p.parse_sensor_data((await observer.wait_for(f"{BASE}/sensor/32/data")).payload, 32)
    assert 0 <= soil.readings[0].raw <= 4095  # type: ignore[operator]
    assert not any(m.topic == f"{BASE}/sensor/7/data" for m in observer.messages)
    assert (await _retained(broker, f"{BASE}/config/ack")).payload == ack_message.payload
    assert _status(await _retained(broker, f"{BASE}/actuator/5/status")).reason == "boot"

    # seq grows by one per message, and sample_now() adds a cycle without waiting.
    mark = observer.mark()
    device.sample_now()
    last = await observer.wait_for(f"{BASE}/sensor/32/data", after=mark)
    first = await observer.wait_for(f"{BASE}/sensor/34/data", after=mark)
    seqs = [p.parse_sensor_data(m.payload, 0).seq for m in (last, first)]
    assert seqs[0] > seqs[1] > ph.seq


async def test_batch_mode(observer: Observer, broker: Broker) -> None:
    """With batch, one sensor/batch message per sample cycle; seq +1 per message."""
    device = await _device(broker, batch=True)
    try:
        observer.publish(f"{BASE}/config", CONFIG, retain=True)
        first = p.parse_sensor_batch((await observer.wait_for(f"{BASE}/sensor/batch")).payload)
        assert sorted(r.gpio for r in first.readings) == [4, 21, 32, 34]
        mark = observer.mark()
        device.sample_now()
        second = p.parse_sensor_batch(
            (await observer.wait_for(f"{BASE}/sensor/batch", after=mark)).payload
        )
        assert second.seq == first.seq + 1
        assert not any("/sensor/34/data" in m.topic for m in observer.messages)
    finally:
        await device.stop()


async def _configure(observer: Observer, actuators: list[object], version: int = 1) -> None:
    mark = observer.mark()
    observer.publish(f"{BASE}/config", _config(version, [], actuators), retain=True)
    await observer.wait_for(f"{BASE}/config/ack", after=mark)


async def _answer(observer: Observer, gpio: int, action: str, **fields: object) -> Message:
    """Send a command and return the status message that answers it (by cmd_id)."""
    cmd_id = f"c{observer.mark()}"
    mark = observer.mark()
    observer.publish(f"{BASE}/actuator/{gpio}/command", _command(action, cmd_id=cmd_id, **fields))
    return await observer.wait_for(
        f"{BASE}/actuator/{gpio}/status", lambda m: _status(m).cmd_id == cmd_id, after=mark
    )


async def _send(observer: Observer, gpio: int, action: str, **fields: object) -> p.ActuatorStatus:
    """Send a command and return the status that answers it."""
    return _status(await _answer(observer, gpio, action, **fields))


async def test_actuator_commands_and_max_runtime(
    device: SimulatedDevice, observer: Observer
) -> None:
    """on/off over the wire, then a max_runtime stop by the device itself."""
    await _configure(observer, [{"gpio": 5, "type": "pump", "max_runtime_s": 1}])
    on = await _send(observer, 5, "on")
    assert (on.state, on.value, on.reason, on.activations) == (True, 255, "command", 1)
    off = await _send(observer, 5, "off")
    assert (off.state, off.reason) == (False, "command")
    mark = observer.mark()
    again = await _send(observer, 5, "on", duration_s=30)
    assert again.state is True
    stop = _status(
        await observer.wait_for(
            f"{BASE}/actuator/5/status", lambda m: _status(m).reason == "max_runtime", after=mark
        )
    )
    assert (stop.state, stop.value, stop.activations) == (False, 0, 2)
    assert stop.runtime_s == pytest.approx(
        1.0 + (on.runtime_s or 0) + (off.runtime_s or 0), abs=0.3
    )


async def test_refusals_and_emergency(device: SimulatedDevice, observer: Observer) -> None:
    """Cooldown refusal with until_s; emergency stop refuses on, accepts off; unknown pin."""
    await _configure(
        observer,
        [{"gpio": 5, "type": "relay", "cooldown_s": 60}, {"gpio": 18, "type": "pwm"}],
    )
    await _send(observer, 5, "on")
    await _send(observer, 5, "off")
    refused = await _send(observer, 5, "on")
    assert (refused.refused, refused.state) == ("cooldown", False)
    assert refused.until_s is not None
    assert 55 < refused.until_s <= 60

    assert (await _send(observer, 18, "set", value=77)).value == 77
    mark = observer.mark()
    observer.publish("kaiser/god/broadcast/emergency", b'{"v":1,"action":"stop"}', retain=True)
    stopped = _status(await observer.wait_for(f"{BASE}/actuator/18/status", after=mark))
    assert (stopped.state, stopped.reason) == (False, "emergency")
    assert (await _send(observer, 18, "set", value=10)).refused == "emergency"
    assert (await _send(observer, 18, "off")).refused is None
    observer.publish("kaiser/god/broadcast/emergency", b'{"v":1,"action":"clear"}', retain=True)
    # Commands are accepted again once the clear has arrived.
    async with asyncio.timeout(TIMEOUT):
        while (answer := await _send(observer, 18, "set", value=10)).refused == "emergency":
            pass
    assert (answer.state, answer.value) == (True, 10)

    unknown = await _answer(observer, 23, "on")
    assert _status(unknown).refused == "unknown_gpio"
    assert not unknown.retain


async def test_device_emergency_retained_over_a_restart(
    device: SimulatedDevice, observer: Observer, broker: Broker
) -> None:
    """The device's own retained stop holds across a restart; the kaiser's clear does not
    clear it, another device's topic does not touch it, only its own clear does."""
    await _configure(observer, [{"gpio": 5, "type": "relay"}])
    assert (await _send(observer, 5, "on")).state is True
    observer.publish("kaiser/god/esp/sim-99/emergency", b'{"v":1,"action":"stop"}', retain=True)
    mark = observer.mark()
    observer.publish(f"{BASE}/emergency", b'{"v":1,"action":"stop","reason":"leak"}', retain=True)
    stopped = _status(await observer.wait_for(f"{BASE}/actuator/5/status", after=mark))
    assert (stopped.state, stopped.reason) == (False, "emergency")
    await device.stop()
    again = await _device(broker)
    try:
        assert (await _send(observer, 5, "on")).refused == "emergency"
        observer.publish("kaiser/god/broadcast/emergency", b'{"v":1,"action":"clear"}', retain=True)
        assert (await _send(observer, 5, "on")).refused == "emergency"
        observer.publish(f"{BASE}/emergency", b'{"v":1,"action":"clear"}', retain=True)
        async with asyncio.timeout(TIMEOUT):
            while (answer := await _send(observer, 5, "on")).refused == "emergency":
                pass
        assert answer.state is True
    finally:
        await again.stop()
        observer.publish("kaiser/god/esp/sim-99/emergency", b"", retain=True)


async def test_link_loss_failsafe_and_reconnect(
    device: SimulatedDevice, observer: Observer
) -> None:
    """Link lost: the broker publishes the LWT; after failsafe_s the pump is off; the device
    reconnects and reports the fail-safe state."""
    await _configure(observer, [{"gpio": 5, "type": "pump", "failsafe_s": 1}])
    assert (await _send(observer, 5, "on")).state is True
    mark = observer.mark()
    device.drop_link(offline_for=1.5)
    lwt = await observer.wait_for(f"{BASE}/status", after=mark)
    assert p.parse_status(lwt.payload) is False
    await observer.wait_for(f"{BASE}/status", lambda m: m.payload == b"online", after=mark)
    status = _status(
        await observer.wait_for(
            f"{BASE}/actuator/5/status", lambda m: _status(m).reason == "failsafe", after=mark
        )
    )
    assert (status.state, status.value) == (False, 0)
    assert device.actuators[5].reason == "failsafe"


async def test_bad_input_is_dropped(device: SimulatedDevice, observer: Observer) -> None:
    """Malformed, oversized, wrong-version and misaddressed messages do not crash it."""
    bad = [
        (f"{BASE}/config", b"{not json"),
        (f"{BASE}/config", b'{"v":2,"version":1,"sensors":[],"actuators":[]}'),
        (f"{BASE}/config", b'{"v":1,"version":1,"sensors":[],"actuators":[' + b" " * 5000 + b"]}"),
        (f"{BASE}/config", b'{"v":1,"version":1,"sensors":[{"gpio":99}],"actuators":[]}'),
        (f"{BASE}/actuator/5/command", b"\xff\xfe"),
        (f"{BASE}/actuator/5/command", b'{"v":1,"action":"set"}'),
        (f"{BASE}/actuator/05/command", _command("on")),
        (f"{BASE}/system/command", b'{"v":1,"cmd":"format_c"}'),
        (f"{BASE}/sensor/34/processed", b"[]"),
        ("kaiser/god/broadcast/emergency", b'{"v":1,"action":"panic"}'),
    ]
    for topic, payload in bad:
        observer.publish(topic, payload)
    # Still alive and correct: a good config is acked after all of that.
    await _configure(observer, [{"gpio": 5, "type": "relay"}], version=2)
    assert device.rejected == len(bad)
    assert device.online
    assert (await _send(observer, 5, "on")).state is True


async def test_restart_reannounces(device: SimulatedDevice, observer: Observer) -> None:
    """system/command restart: offline, then a fresh boot with announce and online."""
    await _configure(observer, [{"gpio": 5, "type": "relay"}])
    assert (await _send(observer, 5, "on")).state is True
    mark = observer.mark()
    observer.publish(f"{BASE}/system/command", b'{"v":1,"cmd":"restart"}')
    await observer.wait_for(f"{BASE}/status", lambda m: m.payload == b"offline", after=mark)
    await observer.wait_for(f"{BASE}/announce", after=mark)
    await observer.wait_for(f"{BASE}/status", lambda m: m.payload == b"online", after=mark)
    boot = _status(
        await observer.wait_for(
            f"{BASE}/actuator/5/status", lambda m: _status(m).reason == "boot", after=mark
        )
    )
    assert (boot.state, boot.activations) == (False, 0)
    observer.publish(f"{BASE}/system/command", b'{"v":1,"cmd":"identify"}')
    assert (await _send(observer, 5, "on")).activations == 1


def _spawn(broker: Broker, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "simulator", "--port", str(broker.port), "--prefix", "sim"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [*argv, *extra], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def test_sigkill_leaves_the_last_will(observer: Observer, broker: Broker) -> None:
    """SIGKILL: no goodbye from the process, the broker publishes status offline (LWT)."""
    proc = _spawn(broker, "--devices", "2")
    try:
        for esp in ("sim-01", "sim-02"):
            await observer.wait_for(
                f"kaiser/god/esp/{esp}/status", lambda m: m.payload == b"online", within=30
            )
        mark = observer.mark()
        proc.send_signal(signal.SIGKILL)
        for esp in ("sim-01", "sim-02"):
            lwt = await observer.wait_for(f"kaiser/god/esp/{esp}/status", after=mark)
            assert lwt.payload == b"offline"
            assert lwt.retain is False  # delivered live; the broker also retains it
    finally:
        proc.kill()
        proc.wait(TIMEOUT)


async def test_sigterm_says_offline_and_exits_cleanly(observer: Observer, broker: Broker) -> None:
    """SIGTERM: every device publishes status offline itself and the process exits 0."""
    proc = _spawn(broker, "--devices", "1")
    try:
        await observer.wait_for(f"{BASE}/status", lambda m: m.payload == b"online", within=30)
        mark = observer.mark()
        proc.send_signal(signal.SIGTERM)
        offline = await observer.wait_for(f"{BASE}/status", after=mark)
        assert offline.payload == b"offline"
        assert await asyncio.to_thread(proc.wait, TIMEOUT) == 0
    finally:
        proc.kill()
        proc.wait(TIMEOUT)


async def test_reconnects_after_a_broker_restart(
    device: SimulatedDevice, observer: Observer, broker: Broker
) -> None:
    """The broker goes away and comes back: the device retries with backoff, then announces
    itself again (the new broker has no retained messages) with TCP_NODELAY on its socket."""
    sock = device._client._sock  # type: ignore[union-attr]
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    observer.stop()
    broker.stop()
    async with asyncio.timeout(TIMEOUT):
        await device.wait_offline()
    broker.start()
    fresh = await Observer(broker, "fresh").start()
    try:
        await fresh.wait_for(f"{BASE}/announce", within=30)
        await fresh.wait_for(f"{BASE}/status", lambda m: m.payload == b"online")
        async with asyncio.timeout(TIMEOUT):
            await device.wait_online()
    finally:
        fresh.stop()
