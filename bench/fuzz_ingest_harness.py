"""Fuzzed ingest: FUZZ_PAYLOADS payloads (default 1,000,000) on every topic kind through HA's
MQTT entry point (its MQTT client's on_message), against the device of
tests/ha/test_fuzz_ingest.py; every log record of every logger is counted. Run by
bench/bench_fuzz_ingest.py under pytest; the last line is
`fuzz-ingest: payloads=N unhandled=N state_garbage=N log_lines=N`."""

from __future__ import annotations

import logging
import os
import time

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from tests.ha.fuzz_ingest import run
from tests.ha.test_fuzz_ingest import fuzz_device

PAYLOADS = int(os.environ.get("FUZZ_PAYLOADS", "1000000"))


async def test_fuzz_ingest(
    hass: HomeAssistant, enable_custom_integrations: None, mqtt_mock: MqttMockHAClient
) -> None:
    """Print the figures (nothing is asserted: the tests assert a short run). Custom
    integrations are enabled before MQTT is set up, so HA's MQTT discovery subscribes to our
    manifest's announce topic as in a running HA (and as in the tests)."""
    hass.loop.set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    await fuzz_device(hass)
    started = time.perf_counter()
    counts = await run(hass, PAYLOADS, seed=2026, check_every=10_000)
    elapsed = time.perf_counter() - started
    assert counts.counter is not None
    frequent = counts.counter.too_frequent(60.0)
    print(
        f"\n{counts.payloads} payloads in {elapsed:.0f} s ({counts.payloads / elapsed:.0f}/s); "
        f"log lines: {counts.own_lines} of the integration, "
        f"{counts.log_lines - counts.own_lines} of HA (its MQTT client: undecodable announces, "
        f"at most one a minute); kinds logged twice within a minute: {len(frequent)} {frequent}"
    )
    (entry,) = hass.config_entries.async_entries("automationone")
    print(f"rejected by code: {dict(entry.runtime_data.device.rejected)}")
    print(counts.line)
