"""Ingest benchmark: runs bench/ingest_harness.py under pytest (HA's test harness must load
before Home Assistant is imported, so the harness cannot run as a plain script)."""

from pathlib import Path
import subprocess
import sys

HARNESS = Path(__file__).with_name("ingest_harness.py")
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header"]
sys.exit(subprocess.call([sys.executable, "-m", "pytest", str(HARNESS), *ARGS]))
