"""Probe of the rule latency benchmark: plays the source sensors and times the commands.

For every event it publishes one raw reading and waits for the actuator command that the
reading's automation publishes, both at the broker (its own MQTT connection, TCP_NODELAY).
Events of the chains are interleaved in random order, one at a time: the next reading goes out
a random pause (--gap-ms) after the device answered the previous command, so automations
never overlap. A chain's readings
alternate low/high around the threshold, so each reading must produce exactly one command and
its action (`on` after high, `off` after low) is checked. A single thread runs the paho loop
by hand, so a publish goes out at once and an arrival is timestamped in the callback.
Times are CLOCK_MONOTONIC; results (ms) go to a JSON file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import random
import socket
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

LOW = 0.0
HIGH = 100_000.0
ANSWER_TIMEOUT_S = 2.0


class Chain:
    """One reading topic and the command topic its automations publish to."""

    def __init__(self, name: str, data_topic: str, command_topic: str, seq: int) -> None:
        self.name = name
        self.data_topic = data_topic
        self.command_topic = command_topic
        self.status_topic = command_topic.removesuffix("/command") + "/status"
        self.seq = seq
        self.latencies_ms: list[float] = []
        self.sent_at: list[float] = []  # of each measured event, to place it in time
        self.wrong: int = 0  # a command with the other action
        self.missed: int = 0  # no command within ANSWER_TIMEOUT_S
        self.stray: int = 0  # a command nobody waited for

    def reading(self, high: bool) -> str:
        """A raw reading; the value carries the event number as a marker (and so always
        changes: one reading, one state write)."""
        self.seq += 1
        raw = (HIGH if high else LOW) + self.seq % 10_000
        return json.dumps({"v": 1, "seq": self.seq, "raw": raw}, separators=(",", ":"))


class Probe:
    """The MQTT connection, driven by hand from one thread."""

    def __init__(self, port: int, chains: list[Chain], gap_s: tuple[float, float]) -> None:
        self.chains = {c.command_topic: c for c in chains}
        self.statuses = {c.status_topic for c in chains}
        self.gap_s = gap_s
        self.arrived: list[tuple[str, float, bytes]] = []
        self.subscribed = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rl-probe")
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", port)
        sock = self.client.socket()
        assert isinstance(sock, socket.socket)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.subscribe([(topic, 0) for topic in [*self.chains, *self.statuses]])
        self.run_until(lambda: self.subscribed, 10.0)
        self.run_until(lambda: False, 0.2)  # the retained statuses
        self.arrived.clear()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.arrived.append((msg.topic, time.monotonic(), msg.payload))

    def _on_subscribe(self, *args: Any) -> None:
        self.subscribed = True

    def run_until(self, done: Any, within: float) -> bool:
        """Serve the connection until `done()` or the time is up."""
        deadline = time.monotonic() + within
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.client.loop(timeout=min(left, 0.05))
        return True

    def drain(self) -> None:
        """Serve the connection for the pause between events; count stray commands."""
        self.run_until(lambda: False, random.uniform(*self.gap_s))
        for topic, _, _ in self.arrived:
            if topic in self.chains:
                self.chains[topic].stray += 1
        self.arrived.clear()

    def event(self, chain: Chain, high: bool, measure: bool) -> None:
        """One reading, its command, and the device's status answering it (the automation
        run ends with that answer, so the next reading never finds it still running)."""
        payload = chain.reading(high)
        sent = time.monotonic()
        self.client.publish(chain.data_topic, payload)
        got = self.run_until(
            lambda: any(topic == chain.command_topic for topic, _, _ in self.arrived),
            ANSWER_TIMEOUT_S,
        )
        if not got:
            chain.missed += measure
            return
        index = next(i for i, (t, _, _) in enumerate(self.arrived) if t == chain.command_topic)
        _, at, body = self.arrived.pop(index)
        if json.loads(body).get("action") != ("on" if high else "off"):
            chain.wrong += measure
        elif measure:
            chain.latencies_ms.append((at - sent) * 1000)
            chain.sent_at.append(sent)
        self.run_until(
            lambda: any(topic == chain.status_topic for topic, _, _ in self.arrived),
            ANSWER_TIMEOUT_S,
        )


def main() -> None:
    """Prime, warm up, measure, write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=2500, help="measured events per chain")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured events per chain")
    parser.add_argument(
        "--chain", nargs=3, action="append", required=True, metavar=("NAME", "DATA", "COMMAND")
    )
    parser.add_argument(
        "--seq-start", type=int, default=0, help="above the last seq of a previous run"
    )
    parser.add_argument(
        "--gap-ms", type=float, nargs=2, default=[5.0, 10.0], help="pause between events"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    chains = [Chain(name, data, command, args.seq_start) for name, data, command in args.chain]
    probe = Probe(args.port, chains, (args.gap_ms[0] / 1000, args.gap_ms[1] / 1000))
    # Priming: a trigger never fires on the first value it sees; whatever the anchor's
    # numeric_state makes of its first value is drained and not counted.
    for chain in chains:
        probe.client.publish(chain.data_topic, chain.reading(high=False))
    probe.run_until(lambda: False, 0.5)
    probe.arrived.clear()
    start = time.monotonic()
    for n in range(args.warmup + args.events):
        for chain in random.sample(chains, len(chains)):
            probe.event(chain, high=n % 2 == 0, measure=n >= args.warmup)
            probe.drain()
    elapsed = time.monotonic() - start
    probe.client.disconnect()
    args.out.write_text(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "chains": {
                    c.name: {
                        "latencies_ms": c.latencies_ms,
                        "sent_at": c.sent_at,
                        "missed": c.missed,
                        "wrong": c.wrong,
                        "stray": c.stray,
                    }
                    for c in chains
                },
            }
        )
    )


if __name__ == "__main__":
    main()
