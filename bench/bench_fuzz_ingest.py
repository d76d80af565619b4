"""Fuzzed-ingest benchmark: runs bench/fuzz_ingest_harness.py under pytest (HA's test harness
must load before Home Assistant is imported). FUZZ_PAYLOADS sets the count (1,000,000)."""

from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("fuzz_ingest_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header", "--timeout=0"]
sys.exit(subprocess.call([sys.executable, "-m", "pytest", str(HARNESS), *ARGS]))
