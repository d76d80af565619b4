"""Edge rules benchmark: runs bench/edge_rules_harness.py under pytest (see there)."""

from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("edge_rules_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header"]
sys.exit(subprocess.call([sys.executable, "-m", "pytest", str(HARNESS), *ARGS]))
