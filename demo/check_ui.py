"""Check a running `make demo` in headless Chromium, as a new user would (not part of CI).

`python -m demo.check_ui [URL]`: installs Debian chromium and npm playwright-core (into
demo/run/ui-check) when missing, then runs demo/check_ui.mjs, which logs in as demo/demo and
writes screenshots to demo/run/screens/.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import sys

HERE = Path(__file__).resolve().parent
MODULES = HERE / "run" / "ui-check"
PLAYWRIGHT = "playwright-core@1.65.1"


def ensure_playwright() -> bool:
    """Debian chromium and npm playwright-core in demo/run/ui-check, each when missing."""
    if not Path("/usr/bin/chromium").exists():
        print("installing Debian chromium ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not (MODULES / "node_modules" / "playwright-core").exists():
        if not shutil.which("npm"):
            # Only when npm is missing: Debian's npm conflicts with a nodesource node.
            print("installing Debian nodejs npm ...", flush=True)
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "nodejs", "npm"],
                check=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        MODULES.mkdir(parents=True, exist_ok=True)
        (MODULES / "package.json").write_text('{"private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", PLAYWRIGHT],
            cwd=MODULES,
            check=True,
        )
    return True


def main() -> int:
    if not ensure_playwright():
        return 1
    return subprocess.run(
        ["node", str(HERE / "check_ui.mjs"), *sys.argv[1:]], check=False
    ).returncode


if __name__ == "__main__":
    raise SystemExit(main())
