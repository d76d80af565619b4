"""Command line of the relay program.

    python -m kaiser bridge-config --kaiser-id gh1 --main-host 192.168.1.2 [--write FILE]
    python -m kaiser run --kaiser-id gh1 [--host 127.0.0.1 --port 1883]

SIGTERM or SIGINT: the relay says `offline` and disconnects; on SIGKILL its broker publishes
the last will (`offline`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
import signal
import sys
import threading

from custom_components.automationone.protocol import ProtocolError, validate_id
from custom_components.automationone.protocol.relay import bridge_config

from .relay import VERSION, Relay, RelayOptions


def _kaiser_id(value: str) -> str:
    try:
        return validate_id(value, "kaiser_id")
    except ProtocolError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(prog="kaiser", description="AutomationOne Kaiser relay.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    conf = sub.add_parser("bridge-config", help="print (or write) the relay's mosquitto.conf")
    conf.add_argument("--kaiser-id", type=_kaiser_id, required=True)
    conf.add_argument("--main-host", required=True, help="the main broker (HA's)")
    conf.add_argument("--main-port", type=int, default=1883)
    conf.add_argument("--listener-port", type=int, default=1883, help="for the devices")
    conf.add_argument("--listener-host", default=None, help="bind address (default: all)")
    conf.add_argument(
        "--persistence-dir",
        default="/var/lib/mosquitto/",
        help="where Mosquitto keeps queued messages ('' for no persistence)",
    )
    conf.add_argument("--write", type=Path, default=None, help="write to this file")

    run = sub.add_parser("run", help="run the relay program")
    run.add_argument("--kaiser-id", type=_kaiser_id, required=True)
    run.add_argument("--host", default="127.0.0.1", help="the relay's own broker")
    run.add_argument("--port", type=int, default=1883)
    run.add_argument("--name", default=None, help="shown as the relay's name in HA")
    run.add_argument("--bridge", default=None, help="bridge connection name (kaiser-<id>)")
    run.add_argument("--device-host", default=None, help="address devices use for this relay")
    run.add_argument("--device-port", type=int, default=None)
    run.add_argument("--health", type=float, default=10.0, help="health report period, s")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = build_parser().parse_args(argv)
    if args.command == "bridge-config":
        text = bridge_config(
            args.kaiser_id,
            args.main_host,
            args.main_port,
            listener_port=args.listener_port,
            listener_host=args.listener_host,
            persistence_dir=args.persistence_dir or None,
        )
        if args.write is None:
            sys.stdout.write(text)
        else:
            args.write.write_text(text, encoding="utf-8")
        return
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    relay = Relay(
        RelayOptions(
            kaiser_id=args.kaiser_id,
            host=args.host,
            port=args.port,
            name=args.name,
            bridge=args.bridge,
            device_host=args.device_host,
            device_port=args.device_port,
            health_s=args.health,
        )
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    relay.start()
    stop.wait()
    relay.stop()
