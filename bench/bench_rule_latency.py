"""Rule latency benchmark: runs bench/rule_latency_harness.py under pytest (see there)."""

from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("rule_latency_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header"]
sys.exit(subprocess.call([sys.executable, "-m", "pytest", str(HARNESS), *ARGS]))
