"""Shared fixtures, and the suite's verdict on the Home Assistant it ran on."""

from __future__ import annotations

from collections.abc import Iterator
import datetime as dt
import logging
import os
import platform

from homeassistant import const as ha_const
from hypothesis import HealthCheck, settings
import pytest

from custom_components.automationone.broker_security.tls import (
    Pem,
    generate_broker_cert,
    generate_ca,
)

from .broker import Broker, Dynsec, running_broker

pytest_plugins = ["pytest_homeassistant_custom_component"]

# Any machine: a busy one (2 cores, many jobs) must not turn generation speed or a per-example
# deadline into a failure. Tests still choose their own max_examples.
settings.register_profile(
    "any_machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("any_machine")


# HA's frame helper logs what it deprecates ("Detected that custom integration ... This will
# stop working in ..."); on the newest HA that is a failure of the test that caused it.
FRAME_LOGGER = "homeassistant.helpers.frame"


class _FrameReports(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


FRAME_REPORTS = _FrameReports()
logging.getLogger(FRAME_LOGGER).addHandler(FRAME_REPORTS)


@pytest.fixture(autouse=True)
def no_deprecated_usage() -> Iterator[None]:
    """Fail a test during which HA reported a deprecated usage."""
    start = len(FRAME_REPORTS.messages)
    yield
    if reported := FRAME_REPORTS.messages[start:]:
        pytest.fail("HA reported a deprecated usage:\n" + "\n".join(reported), pytrace=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """With HA_SUITE set (make test), one line per suite for CI to read."""
    if not os.environ.get("HA_SUITE"):
        return
    stats = terminalreporter.stats
    passed = sum(1 for r in stats.get("passed", ()) if r.when == "call")
    failed = len(stats.get("failed", ())) + len(stats.get("error", ()))
    terminalreporter.write_line(
        f"ha-suite: version={ha_const.__version__} python={platform.python_version()} "
        f"passed={passed} failed={failed} deprecations={len(FRAME_REPORTS.messages)}"
    )


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port (set_tcp_nodelay true)."""
    with running_broker() as started:
        yield started


@pytest.fixture
def dynsec() -> Dynsec:
    """The logins of a dynamic-security broker (tests/broker.py)."""
    return Dynsec()


@pytest.fixture
def plugin() -> bool:
    """Whether a dynamic-security broker loads the plugin (parametrize False for a plain one)."""
    return True


@pytest.fixture
def broker_ca() -> Pem:
    """A CA as broker_security/tls.py makes it."""
    return generate_ca(now=dt.datetime.now(dt.UTC))


@pytest.fixture
def tls_dynsec_broker(broker_ca: Pem, dynsec: Dynsec, plugin: bool) -> Iterator[Broker]:
    """Mosquitto with dynamic security (`dynsec`'s logins) on its plain listener and a TLS
    listener (`tls_port`) whose certificate for 127.0.0.1 `broker_ca` signed."""
    cert = generate_broker_cert(broker_ca, ["127.0.0.1"], now=dt.datetime.now(dt.UTC))
    with Broker(dynsec=dynsec, tls=(cert.cert, cert.key), plugin=plugin) as running:
        yield running
