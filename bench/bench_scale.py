"""Scale benchmark: runs each side of bench/scale_harness.py in its own pytest (HA) process
and prints `scale: devices=500 sensors=5000 ready_s=.. rss_mb=.. anchor_ready_s=..
anchor_rss_mb=..`, after HA's own floor for as many sensors (bare registered SensorEntities with
one state each): `scale-floor: sensors=5000 ready_s=.. rss_mb=..`."""

import json
from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("scale_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header"]

parts = {}
for side in ("floor", "anchor", "ours"):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", f"{HARNESS}::test_{side}", *ARGS],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    print(run.stdout, end="")
    for line in run.stdout.splitlines():
        if line.startswith("scale-part: "):
            part = json.loads(line.removeprefix("scale-part: "))
            parts[part["side"]] = part
    if run.returncode:
        sys.exit(run.returncode)
ours, anchor, floor = parts["ours"], parts["anchor"], parts["floor"]
print(f"scale-floor: sensors=5000 ready_s={floor['ready_s']} rss_mb={floor['rss_mb']}")
print(f"ours: {ours['entities']} entities in all, the 500 entries set up in {ours['setup_s']} s")
print(
    f"scale: devices=500 sensors=5000 ready_s={ours['ready_s']} rss_mb={ours['rss_mb']}"
    f" anchor_ready_s={anchor['ready_s']} anchor_rss_mb={anchor['rss_mb']}"
)
