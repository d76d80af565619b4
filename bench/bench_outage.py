"""Outage benchmark: one hour of 2 s readings with a 30 s broker outage, replayed into the
recorder's long-term statistics (the scenario of tests/ha/test_replay_statistics.py, which
needs HA's test harness and the recorder's test database, so it runs under pytest)."""

from pathlib import Path
import subprocess
import sys

TEST = Path(__file__).parent.parent / "tests" / "ha" / "test_replay_statistics.py"
ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore", "--no-header", "-k", "long_term"]
run = subprocess.run(
    [sys.executable, "-m", "pytest", str(TEST), *ARGS], capture_output=True, text=True, check=False
)
print("\n".join(line for line in run.stdout.splitlines() if line.startswith("outage:")))
if run.returncode:
    print(run.stdout[-2000:], run.stderr[-2000:])
sys.exit(run.returncode)
