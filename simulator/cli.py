"""Command line: `automationone-sim` / `python -m simulator`.

SIGTERM or SIGINT: every device publishes `status` = offline and disconnects cleanly; on
SIGKILL the broker publishes each device's last will (offline) by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal

from custom_components.automationone.protocol import DEFAULT_KAISER_ID, ProtocolError, validate_id

from .device import FW_VERSION, Fleet
from .pins import BOARDS

_LOGGER = logging.getLogger("simulator")


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="automationone-sim",
        description="Simulated AutomationOne ESP32 devices speaking protocol v1 over MQTT.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    parser.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    parser.add_argument("--devices", type=int, default=1, help="number of devices (default 1)")
    parser.add_argument("--board", choices=BOARDS, default="esp32dev", help="board of every device")
    parser.add_argument("--prefix", default="sim", help="device ids are {prefix}-{n:02d}")
    parser.add_argument("--kaiser", default=DEFAULT_KAISER_ID, help="kaiser id (default god)")
    parser.add_argument(
        "--heartbeat", type=float, default=60.0, help="heartbeat period in seconds (default 60)"
    )
    parser.add_argument("--batch", action="store_true", help="send sensor/batch messages")
    parser.add_argument("--username", help="broker login of every device (default anonymous)")
    parser.add_argument("--password", help="its password")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated signals")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default info)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {FW_VERSION}")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check the options (ids valid per protocol, counts positive)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.devices <= 10_000:
        parser.error("--devices must be 1-10000")
    if args.heartbeat <= 0:
        parser.error("--heartbeat must be > 0")
    try:
        validate_id(args.kaiser, "kaiser_id")
        validate_id(f"{args.prefix}-{args.devices:02d}", "esp_id")
    except ProtocolError as err:
        parser.error(f"invalid id: {err} (1-32 characters of A-Z a-z 0-9 _ -)")
    return args


async def run(args: argparse.Namespace) -> None:
    """Run the devices until SIGINT or SIGTERM."""
    fleet = Fleet(
        args.devices,
        prefix=args.prefix,
        host=args.host,
        port=args.port,
        kaiser_id=args.kaiser,
        board=args.board,
        heartbeat_s=args.heartbeat,
        batch=args.batch,
        seed=args.seed,
        username=args.username,
        password=args.password,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    _LOGGER.info(
        "simulating %d x %s (%s-01..) on %s:%d, kaiser %s",
        args.devices, args.board, args.prefix, args.host, args.port, args.kaiser,
    )  # fmt: skip
    await fleet.start()
    await stop.wait()
    _LOGGER.info("stopping: publishing status offline")
    await fleet.stop()


def _raise_fd_limit(devices: int) -> None:
    """One socket per device: lift the soft open-files limit (often 1024) if needed."""
    need = devices + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _raise_fd_limit(args.devices)
    asyncio.run(run(args))
