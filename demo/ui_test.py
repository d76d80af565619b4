"""`make ui-test`: Home Assistant's real frontend in headless Chromium, as a new user (issue #14).

`python -m demo.ui_test [--ha current|minimum]` starts everything itself, on free ports and in
a fresh config dir (demo/run/ui-test/ha):

1. Mosquitto (tests/broker.py);
2. a real Home Assistant with the integration: the current HA (2026.10.4 with its frontend, in
   the chroot of scripts/current_ha.sh; the default) or the minimum (2025.4.4 from .venv), the
   owner `demo`/`demo` and the MQTT entry made through the onboarding and config-flow APIs
   (what `make demo` does: demo/runner.py);
3. one simulated ESP32-WROOM (simulator/, in this process, so that the test can set what its
   pH probe reads: raw ADC counts through the board's ADC model, as the real device sends);
4. `node demo/ui_test.mjs`: the steps in the browser. It prints `ok: <step>` or
   `MISSING: <step>` per step; when it needs the probe in another buffer it prints
   `sim: ph <gpio> <pH>` and waits for `done` on its stdin.

The last line is `ui: ok=N missing=M`; the exit code is 1 on a miss. Screenshots go to
demo/run/screens/ui-*.png, logs to demo/run/ui-test/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time

from demo.check_ui import ensure_playwright
from demo.hass_client import HassClient, HassError
from demo.runner import (
    CURRENT_HA,
    HOST,
    PASSWORD,
    ROOT,
    USERNAME,
    Child,
    Demo,
    _write_http_store,
    free_port,
    write_ha_config,
)
from simulator.device import DeviceOptions, SimulatedDevice
from simulator.signals import Sample, ph_to_adc
from tests.broker import Broker

RUN = ROOT / "demo" / "run" / "ui-test"
HA_DIR = RUN / "ha"
ESP_ID = "ui-wroom-01"
BOARD = "esp32dev"
HA_START_TIMEOUT = 300.0
NODE_TIMEOUT = 240.0


def log(message: str) -> None:
    print(f"[ui-test] {message}", flush=True)


class UiTest:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.current = args.ha == "current"
        self.children: list[Child] = []
        self.device: SimulatedDevice | None = None
        self.ok = 0
        self.missing = 0

    async def start_hass(self, port: int) -> Child:
        if self.current:
            _write_http_store(HOST, port, HA_DIR)
            argv = [
                str(CURRENT_HA), "run",
                f"exec /opt/ha/bin/python -m homeassistant -c '{HA_DIR}'",
            ]  # fmt: skip
            env = {}
        else:
            argv = [sys.executable, "-m", "homeassistant", "-c", str(HA_DIR)]
            env = {"DEMO_HA_PORT": str(port), "DEMO_HA_HOST": HOST}
        child = await Child.start(
            "Home Assistant", argv, RUN / "homeassistant.out", env, remember=False
        )
        self.children.append(child)
        return child

    async def prepare(self, broker_port: int) -> str:
        """Home Assistant running, onboarded, with the MQTT entry; returns its URL."""
        if HA_DIR.exists():
            shutil.rmtree(HA_DIR)
        write_ha_config(HA_DIR, current=self.current)
        port = free_port()
        url = f"http://{HOST}:{port}"
        started = time.monotonic()
        log(f"starting Home Assistant ({self.args.ha}) on {url}")
        ha = await self.start_hass(port)
        demo = Demo(argparse.Namespace(ha=self.args.ha))
        hass = HassClient(url)
        try:
            await hass.wait_http(HA_START_TIMEOUT, ha.alive)
            await demo.onboard(hass)
            await demo.wait_running(hass, ha)
            version = (await hass.request("GET", "/api/config")).get("version")
            log(f"Home Assistant {version} running after {time.monotonic() - started:.0f} s")
            await demo.ensure_mqtt_entry(hass, broker_port, None)
        except HassError as err:
            raise SystemExit(f"{err}\n--- end of Home Assistant's output:\n{ha.tail()}") from err
        finally:
            await hass.close()
        (RUN / "ui-test.json").write_text(
            json.dumps({"url": url, "username": USERNAME, "password": PASSWORD, "esp_id": ESP_ID})
        )
        return url

    async def start_device(self, broker_port: int) -> None:
        self.device = SimulatedDevice(
            DeviceOptions(esp_id=ESP_ID, port=broker_port, board=BOARD, heartbeat_s=10)
        )
        await self.device.start()
        async with asyncio.timeout(30):
            await self.device.wait_online()
        log(f"simulated {BOARD} {ESP_ID} online")

    def set_ph(self, gpio: int, ph: float) -> None:
        """The probe is in a buffer of `ph`: the pin reads the amplifier's voltage as counts."""
        assert self.device is not None
        from custom_components.automationone.processors.adc import adc_model_for

        counts = ph_to_adc(ph, adc_model_for(BOARD))
        self.device.force(gpio, Sample(raw=counts))
        self.device.sample_now()
        log(f"simulator: GPIO {gpio} reads pH {ph:g} = {counts} counts")

    async def browser(self, url: str) -> int:
        env = {
            **os.environ,
            "UI_TEST_CONTEXT": str(RUN / "ui-test.json"),
            "UI_TEST_HA": self.args.ha,
        }
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(ROOT / "demo" / "ui_test.mjs"),
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdin is not None
        try:
            async with asyncio.timeout(NODE_TIMEOUT):
                while line := (await proc.stdout.readline()).decode(errors="replace"):
                    line = line.rstrip("\n")
                    if match := re.fullmatch(r"sim: ph (\d+) ([\d.]+)", line):
                        self.set_ph(int(match[1]), float(match[2]))
                        proc.stdin.write(b"done\n")
                        await proc.stdin.drain()
                        continue
                    print(line, flush=True)
                    if line.startswith("ok: "):
                        self.ok += 1
                    elif line.startswith("MISSING: "):
                        self.missing += 1
                return await proc.wait()
        except TimeoutError:
            print(f"MISSING: the browser steps within {NODE_TIMEOUT:.0f} s", flush=True)
            self.missing += 1
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            return 1

    async def run(self) -> int:
        RUN.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with Broker() as broker:
            log(f"Mosquitto on {broker.host}:{broker.port}")
            try:
                url = await self.prepare(broker.port)
                await self.start_device(broker.port)
                if self.args.hold:
                    log(f"holding: {url} (login {USERNAME}/{PASSWORD}); Ctrl-C stops")
                    await asyncio.Event().wait()
                code = await self.browser(url)
            finally:
                if self.device is not None:
                    await self.device.stop()
                for child in self.children:
                    await child.stop(60)
        if code != 0 and self.missing == 0:
            print(f"MISSING: the browser steps (node exited with {code})", flush=True)
            self.missing += 1
        log(f"{time.monotonic() - started:.0f} s; screenshots in demo/run/screens/ui-*.png")
        print(f"ui: ok={self.ok} missing={self.missing}", flush=True)
        return 1 if self.missing or not self.ok else 0


async def _main(args: argparse.Namespace) -> int:
    test = UiTest(args)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await test.run()
    except asyncio.CancelledError:
        print("ui: interrupted", flush=True)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.ui_test", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--ha",
        choices=("current", "minimum"),
        default="current",
        help="current: HA 2026.10.4 in the chroot of scripts/current_ha.sh (default); "
        "minimum: HA 2025.4.4 from .venv",
    )
    parser.add_argument(
        "--hold",
        action="store_true",
        help="start everything but the browser and wait (to run demo/ui_test.mjs by hand)",
    )
    args = parser.parse_args(argv)
    if not ensure_playwright():
        return 1
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
