"""Rule latency benchmark: runs bench/rule_latency_harness.py under pytest (see there), under
1,000 and under 3,000 readings/s of background load."""

import os
from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("rule_latency_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header"]
for load in ("1000", "3000"):
    env = {**os.environ, "RULE_LATENCY_LOAD": load}
    if code := subprocess.call([sys.executable, "-m", "pytest", str(HARNESS), *ARGS], env=env):
        sys.exit(code)
