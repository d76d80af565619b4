"""Build a rule across two simulated devices in the automation editor and see it work
(issue #5; not part of CI).

`python -m demo.check_rule [URL]` against a running `make demo`:

1. the preconditions, through the REST/websocket APIs the UI uses (skipping what exists): a
   second discovered device is accepted if only one is added; device A (the first added) gets
   a pH sensor on GPIO 34 (HA-side processing "raw", every 2 s), device B a pump on GPIO 26
   (max runtime 5 s); on a board without that pin, the first pin the form offers. What was
   chosen goes to demo/run/check-rule.json.
2. `node demo/check_rule.mjs`: logs in, builds the automation in the editor ("pH crosses a
   value" on A -> "Turn on Pump for a duration" on B), saves it, then polls the REST API until
   the automation has fired and the pump went on and off again. Screenshots:
   demo/run/screens/rule-*.png.

Chromium and playwright-core are installed as `python -m demo.check_ui` does, when missing.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

from demo.check_ui import ensure_playwright
from demo.hass_client import HassClient, HassError

HERE = Path(__file__).resolve().parent
RUN = HERE / "run"
DOMAIN = "automationone"

SENSOR: dict[str, Any] = {
    "type": "ph",
    "name": "pH",
    "settings": {"gpio": "34", "interval_s": 2, "mode": "raw", "filter": "none"},
}
ACTUATOR: dict[str, Any] = {
    "type": "pump",
    "name": "Pump",
    "settings": {
        "gpio": "26",
        "inverted": False,
        "safe_state": 0,
        "max_runtime_s": 5,
        "cooldown_s": 0,
        "max_per_hour": 0,
        "failsafe_s": 0,
    },
}


def say(text: str) -> None:
    print(text, flush=True)


class Setup:
    def __init__(self, hass: HassClient) -> None:
        self.hass = hass

    async def entries(self) -> list[dict[str, Any]]:
        return await self.hass.entries(DOMAIN)

    async def two_devices(self) -> list[dict[str, Any]]:
        """The first two added devices; accept a discovered one if fewer are added."""
        entries = await self.entries()
        deadline = time.monotonic() + 60
        while len(entries) < 2:
            flows = await self.hass.flows_in_progress(DOMAIN)
            if flows:
                flow = flows[0]
                result = await self.hass.flow_step(flow["flow_id"], {})
                if result.get("type") != "create_entry":
                    raise HassError(f"accepting a discovered device failed: {result}")
                say(f"setup: accepted the discovered device {result.get('title')!r}")
            elif time.monotonic() > deadline:
                raise HassError("fewer than two devices added and none discovered")
            else:
                await asyncio.sleep(1)
            entries = await self.entries()
        for entry in entries:
            if entry["state"] != "loaded":
                raise HassError(f"device {entry['title']!r} is {entry['state']}")
        # stable order: by creation as HA lists them
        return entries[:2]

    async def subentry(
        self, entry: dict[str, Any], subentry_type: str, spec: dict[str, Any]
    ) -> None:
        """Add the sensor or actuator through the subentry flow unless its pin is used."""
        (subentries,) = await self.hass.ws(
            {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
        )
        for sub in subentries:
            if sub["subentry_type"] == subentry_type and sub["title"] == spec["name"]:
                say(f"setup: {entry['title']} already has {sub['title']!r} ({sub['unique_id']})")
                return
        base = "/api/config/config_entries/subentries/flow"
        flow = await self.hass.request(
            "POST", base, json={"handler": [entry["entry_id"], subentry_type]}
        )
        type_key = "sensor_type" if subentry_type == "sensor" else "actuator_type"
        step = await self.hass.request(
            "POST",
            f"{base}/{flow['flow_id']}",
            json={type_key: spec["type"], "name": spec["name"]},
        )
        if step.get("step_id") != "settings":
            raise HassError(f"{subentry_type} flow: expected the settings step, got {step}")
        # What the form would send: its defaults (e.g. the processor's parameters) + ours.
        values = {}
        offered: list[str] = []
        for field in step.get("data_schema", []):
            if "default" in field:
                values[field["name"]] = field["default"]
            if field["name"] == "gpio":
                options = field.get("selector", {}).get("select", {}).get("options", [])
                offered = [o["value"] if isinstance(o, dict) else str(o) for o in options]
        values.update(spec["settings"])
        if offered and values["gpio"] not in offered:  # another board (the C3 has no GPIO 26)
            values["gpio"] = offered[0]
        result = await self.hass.request("POST", f"{base}/{flow['flow_id']}", json=values)
        if result.get("type") != "create_entry":
            raise HassError(f"{subentry_type} flow did not create it: {result}")
        say(f"setup: added {spec['name']!r} to {entry['title']} (GPIO {values['gpio']})")

    async def main_entity(self, entry: dict[str, Any], domain: str, title: str) -> tuple[str, str]:
        """Entity id and title of a subentry's main entity (unique id ends with -<subentry>)."""
        (subentries,) = await self.hass.ws(
            {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
        )
        sub = next(s for s in subentries if s["title"] == title)
        sub_id = sub["subentry_id"]
        deadline = time.monotonic() + 30
        while True:
            (registry,) = await self.hass.ws({"type": "config/entity_registry/list"})
            for ent in registry:
                if (
                    ent["config_entry_id"] == entry["entry_id"]
                    and ent["entity_id"].startswith(domain + ".")
                    and ent["unique_id"].endswith(f"-{sub_id}")
                ):
                    return str(ent["entity_id"]), str(sub["title"])
            if time.monotonic() > deadline:
                raise HassError(f"no {domain} entity for {title!r} of {entry['title']}")
            await asyncio.sleep(1)

    async def device_name(self, entry: dict[str, Any]) -> tuple[str, str]:
        (devices,) = await self.hass.ws({"type": "config/device_registry/list"})
        for dev in devices:
            if entry["entry_id"] in dev["config_entries"]:
                return dev["id"], dev["name_by_user"] or dev["name"]
        raise HassError(f"no device for {entry['title']}")

    async def numeric_state(self, entity_id: str, limit: float = 60) -> float:
        deadline = time.monotonic() + limit
        while True:
            state = await self.hass.request("GET", f"/api/states/{entity_id}", ok=(200, 404))
            if isinstance(state, dict) and "state" in state:
                try:
                    return float(state["state"])
                except ValueError:
                    pass
            if time.monotonic() > deadline:
                raise HassError(f"{entity_id} has no numeric state ({state})")
            await asyncio.sleep(1)


async def prepare(url: str, username: str, password: str) -> dict[str, Any]:
    hass = HassClient(url)
    try:
        await hass.login(username, password)
        setup = Setup(hass)
        device_a, device_b = await setup.two_devices()
        await setup.subentry(device_a, "sensor", SENSOR)
        await setup.subentry(device_b, "actuator", ACTUATOR)
        sensor, sensor_name = await setup.main_entity(device_a, "sensor", SENSOR["name"])
        pump, pump_name = await setup.main_entity(device_b, "switch", ACTUATOR["name"])
        value = await setup.numeric_state(sensor)
        a_id, a_name = await setup.device_name(device_a)
        b_id, b_name = await setup.device_name(device_b)
        say(f"setup: device A {a_name!r}: {sensor} = {value}")
        say(f"setup: device B {b_name!r}: {pump}")
        return {
            "url": url,
            "device_a": {"id": a_id, "name": a_name, "sensor": sensor, "sensor_name": sensor_name},
            "device_b": {"id": b_id, "name": b_name, "pump": pump, "pump_name": pump_name},
        }
    finally:
        await hass.close()


def main() -> int:
    try:
        running = json.loads((RUN / "demo.json").read_text())
    except OSError:
        running = {}
    url = sys.argv[1] if len(sys.argv) > 1 else running.get("url", "http://127.0.0.1:8123")
    url = url.rstrip("/")
    try:
        context = asyncio.run(
            prepare(url, running.get("username", "demo"), running.get("password", "demo"))
        )
    except (HassError, OSError) as err:
        say(f"MISSING: preconditions ({err})")
        return 1
    (RUN / "check-rule.json").write_text(json.dumps(context, indent=1) + "\n")
    if os.environ.get("CHECK_RULE_SETUP_ONLY"):
        return 0
    if not ensure_playwright():
        return 1
    return subprocess.run(["node", str(HERE / "check_rule.mjs"), url], check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
