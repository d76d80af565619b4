"""The anchor's devices for the scale benchmark: HA's own MQTT discovery of N devices with M
sensors each (discovery config and state per sensor, both retained), published as fast as the
broker takes them. Prints nothing; exits when everything is published."""

from __future__ import annotations

import argparse
import json
import time

import paho.mqtt.client as mqtt


def main() -> None:
    """Publish the discovery configs and states."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--sensors", type=int, default=10)
    args = parser.parse_args()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="scale-discovery")
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    infos = []
    for device in range(args.devices):
        for sensor in range(args.sensors):
            object_id = f"scale_{device:03d}_{sensor}"
            state_topic = f"scale/{device:03d}/{sensor}/state"
            config = {
                "name": f"s{sensor}",
                "unique_id": object_id,
                "state_topic": state_topic,
                "unit_of_measurement": "n",
                "state_class": "measurement",
                "device": {"identifiers": [f"scale-{device:03d}"], "name": f"scale {device:03d}"},
            }
            infos.append(
                client.publish(
                    f"homeassistant/sensor/{object_id}/config", json.dumps(config), 1, retain=True
                )
            )
            infos.append(client.publish(state_topic, str(2000 + sensor), 1, retain=True))
    for info in infos:
        info.wait_for_publish(60)
    time.sleep(0.2)
    client.loop_stop()
    client.disconnect()


if __name__ == "__main__":
    main()
