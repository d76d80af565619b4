"""Load generator for the wire benchmark: devices publishing `sensor/batch` to a broker.

Every device sends one batch per sample cycle with one reading per sensor; the raw value of
every reading is the message's sequence number divided by --change-every, so the receiver can
tell which message a state came from (the first of each value). Send times (CLOCK_MONOTONIC,
shared by all processes on Linux) go to a JSON file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import socket
import time

import paho.mqtt.client as mqtt

CLIENTS = 4


def main() -> None:
    """Publish at the offered rate, then write the send log."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--readings-per-s", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--prefix", default="wire")
    parser.add_argument(
        "--change-every", type=int, default=1, help="a sensor's value changes every n-th reading"
    )
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()

    clients = []
    for n in range(CLIENTS):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wire-load-{n}")
        client.connect("127.0.0.1", args.port)
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.loop_start()
        clients.append(client)

    gpios = [32, 33, 34, 35, 36, 39, 25, 26, 27, 14][: args.sensors]
    messages_per_s = args.readings_per_s / args.sensors
    total = int(messages_per_s * args.seconds)
    sent: dict[str, list[float]] = {f"{args.prefix}-{d:03d}": [] for d in range(args.devices)}
    devices = list(sent)
    start = time.monotonic() + 0.2
    for i in range(total):
        due = start + i / messages_per_s
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        device = devices[i % args.devices]
        seq = i // args.devices
        raw = seq // args.change_every
        # Stamped as the firmware stamps every message once it has the time.
        payload = {
            "v": 1,
            "seq": seq,
            "ts": int(time.time() * 1000),
            "readings": [{"gpio": g, "raw": raw} for g in gpios],
        }
        sent[device].append(time.monotonic())
        clients[i % CLIENTS].publish(
            f"kaiser/god/esp/{device}/sensor/batch", json.dumps(payload, separators=(",", ":"))
        )
    elapsed = time.monotonic() - start
    time.sleep(0.5)
    for client in clients:
        client.loop_stop()
        client.disconnect()
    args.log.write_text(json.dumps({"elapsed": elapsed, "sent": sent}))


if __name__ == "__main__":
    main()
