"""Seed corpora for the core's fuzz targets from the shared vectors (tests/vectors/protocol).

json: every payload as is; protocol: the kind's index (firmware PayloadKind order) + payload;
device: a topic index (fuzz_device.cpp) + the payloads a device receives.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import sys

KINDS = [
    "announce", "heartbeat", "config", "config_ack", "sensor_data", "sensor_batch",
    "processed", "actuator_command", "actuator_status", "system_command", "emergency",
]  # fmt: skip
# fuzz_device.cpp's topics by the payload kind they carry.
DEVICE_TOPICS = {"config": [0], "actuator_command": [1, 2, 7], "system_command": [3],
                 "emergency": [4, 5], "processed": [6]}  # fmt: skip


def _write(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324 (a file name)


def main(root: str, out: str) -> None:
    vectors = json.loads(
        Path(root, "tests/vectors/protocol/payloads.json").read_text(encoding="utf-8")
    )
    for vector in vectors["vectors"]:
        # Raw-byte vectors (payload_hex) carry what no JSON string can: bad UTF-8.
        payload = (
            bytes.fromhex(vector["payload_hex"])
            if "payload_hex" in vector
            else vector["payload"].encode()
        )
        _write(Path(out, "json"), payload)
        if vector["kind"] in KINDS:
            _write(Path(out, "protocol"), bytes([KINDS.index(vector["kind"])]) + payload)
        for topic in DEVICE_TOPICS.get(vector["kind"], []):
            _write(Path(out, "device"), bytes([topic]) + payload)
    topics = json.loads(
        Path(root, "tests/vectors/protocol/topics.json").read_text(encoding="utf-8")
    )
    for vector in topics["vectors"]:
        _write(Path(out, "protocol"), bytes([4]) + vector["topic"].encode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
