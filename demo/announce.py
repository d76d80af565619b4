"""Stand-in devices for the demo when the simulator package is missing: announce + heartbeat.

`python -m demo.announce --port N --devices 2 --board esp32dev --prefix demo-wroom`
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import threading
import time

import paho.mqtt.client as mqtt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--board", default="esp32dev")
    parser.add_argument("--prefix", default="demo")
    parser.add_argument("--kaiser", default="god")
    parser.add_argument("--heartbeat", type=int, default=10)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    started = time.monotonic()
    clients = []
    for index in range(1, args.devices + 1):
        # Same ids and MACs as the simulator's, so either one stands for the same devices.
        esp_id = f"{args.prefix}-{index:02d}"
        root = f"kaiser/{args.kaiser}/esp/{esp_id}"
        digest = hashlib.sha256(esp_id.encode()).digest()
        mac = ":".join(f"{b:02X}" for b in (0x02, *digest[:5]))
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=esp_id)
        client.will_set(f"{root}/status", "offline", qos=1, retain=True)
        client.connect(args.host, args.port)
        client.loop_start()
        announce = {
            "v": 1,
            "esp_id": esp_id,
            "kaiser_id": args.kaiser,
            "board": args.board,
            "fw": "simulator",
            "fw_version": "0.1.0",
            "mac": mac,
            "caps": {"sensors": 10, "actuators": 8, "batch": False, "buffer": 0},
        }
        client.publish(f"{root}/announce", json.dumps(announce), qos=1, retain=True)
        client.publish(f"{root}/status", "online", qos=1, retain=True)
        clients.append((root, client))
    while not stop.wait(args.heartbeat):
        for root, client in clients:
            heartbeat = {
                "v": 1,
                "uptime_s": int(time.monotonic() - started),
                "heap_free": random.randint(150_000, 180_000),
                "rssi": random.randint(-75, -45),
            }
            client.publish(f"{root}/heartbeat", json.dumps(heartbeat))
    for root, client in clients:
        client.publish(f"{root}/status", "offline", qos=1, retain=True).wait_for_publish(2)
        client.disconnect()
        client.loop_stop()


if __name__ == "__main__":
    main()
