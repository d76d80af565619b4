"""Command line of the relay program.

    python -m kaiser bridge-config --kaiser-id gh1 --main-host 192.168.1.2 [--write FILE]
        [--main-port 8883 --username kaiser-gh1 --password-file FILE --cafile CA.crt]
        [--dynsec-file /var/lib/mosquitto/dynamic-security.json [--no-anonymous]]
    python -m kaiser run --kaiser-id gh1 [--host 127.0.0.1 --port 1883]
        [--hold 50000 --spool /var/lib/kaiser/gh1-held.jsonl]
        [--dynsec-username a1admin --dynsec-password-file FILE]
    python -m kaiser systemd-unit --kaiser-id gh1 [run's options] [--write FILE]
        [--python /usr/bin/python3 --directory REPO --user NAME]
    python -m kaiser tls --host gh1.lan --host 192.168.1.20 [--out /etc/mosquitto/certs/relay]
        [--owner mosquitto]

bridge-config's `--device-tls-port 8883` adds the TLS listener for devices with the
certificate `tls` writes (docs/security.md, "TLS on a relay's broker").

SIGTERM or SIGINT: the relay says `offline` and disconnects; on SIGKILL its broker publishes
the last will (`offline`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
from pathlib import Path
import pwd
import signal
import sys
import threading

from custom_components.automationone.protocol import ProtocolError, validate_id
from custom_components.automationone.protocol.relay import RELAY_CERTS_DIR, bridge_config

from .relay import VERSION, Relay, RelayOptions
from .spool import SpoolInUseError
from .unit import UnitOptions, systemd_unit

REPO = Path(__file__).resolve().parents[1]
# Next to Mosquitto's own persistence (/var/lib/mosquitto/); systemd's `StateDirectory=kaiser`.
SPOOL_DIR = Path("/var/lib/kaiser")


def _kaiser_id(value: str) -> str:
    try:
        return validate_id(value, "kaiser_id")
    except ProtocolError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _write(path: Path, text: str, *, secret: bool) -> None:
    """With the password in it, only its owner may read the file (Mosquitto reads its config
    as root before it drops its rights)."""
    if secret:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    """The command line options."""
    parser = argparse.ArgumentParser(prog="kaiser", description="AutomationOne Kaiser relay.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    # No abbreviations: `--password` must not pass for `--password-file`.
    conf = sub.add_parser(
        "bridge-config", help="print (or write) the relay's mosquitto.conf", allow_abbrev=False
    )
    conf.add_argument("--kaiser-id", type=_kaiser_id, required=True)
    conf.add_argument("--main-host", required=True, help="the main broker (HA's)")
    conf.add_argument("--main-port", type=int, default=1883, help="its TLS port with --cafile")
    conf.add_argument("--listener-port", type=int, default=1883, help="for the devices")
    conf.add_argument("--listener-host", default=None, help="bind address (default: all)")
    conf.add_argument(
        "--persistence-dir",
        default="/var/lib/mosquitto/",
        help="where Mosquitto keeps queued messages ('' for no persistence)",
    )
    conf.add_argument("--write", type=Path, default=None, help="write to this file")
    conf.add_argument("--username", default=None, help="the relay's login on the main broker")
    conf.add_argument(
        "--password-file",
        type=Path,
        default=None,
        help="file with the login's password (never on the command line: `ps` shows that)",
    )
    conf.add_argument("--cafile", default=None, help="the main broker's CA on the relay: TLS")
    conf.add_argument("--certfile", default=None, help="client certificate (mTLS, your own)")
    conf.add_argument("--keyfile", default=None, help="its private key")
    conf.add_argument(
        "--dynsec-file",
        default=None,
        help="logins on the relay's broker: the dynamic-security plugin with this file",
    )
    conf.add_argument("--dynsec-plugin", default=None, help="the plugin's path (Debian arm64)")
    conf.add_argument(
        "--no-anonymous",
        action="store_true",
        help="with --dynsec-file: refuse devices without their own login",
    )
    conf.add_argument("--device-tls-port", type=int, default=None, help="TLS listener for devices")
    conf.add_argument("--device-tls-host", default=None, help="its bind address (default: all)")
    conf.add_argument(
        "--device-certs",
        default=RELAY_CERTS_DIR,
        help="folder with broker.crt and broker.key (`kaiser tls`)",
    )

    tls = sub.add_parser(
        "tls",
        help="write a CA and a certificate for the relay broker's TLS listener",
        allow_abbrev=False,
    )
    tls.add_argument(
        "--host", action="append", required=True, help="a name or IP devices use for the relay"
    )
    tls.add_argument("--out", type=Path, default=Path(RELAY_CERTS_DIR), help="the folder")
    tls.add_argument(
        "--owner",
        default="mosquitto",
        help="who gets broker.crt and broker.key: Mosquitto reads them after dropping root"
        " ('' to keep them yours)",
    )

    run = sub.add_parser("run", help="run the relay program", allow_abbrev=False)
    _add_run_options(run)
    unit = sub.add_parser(
        "systemd-unit",
        help="print (or write) the systemd unit that runs the relay program with these options",
        allow_abbrev=False,
    )
    unit.set_defaults(run_options=_add_run_options(unit))
    unit.add_argument("--write", type=Path, default=None, help="write to this file")
    unit.add_argument("--python", default="/usr/bin/python3", help="the interpreter on the relay")
    unit.add_argument(
        "--directory", type=Path, default=REPO, help=f"the repository copy (default {REPO})"
    )
    unit.add_argument(
        "--user",
        default=None,
        help="run as this user (default: a dynamic user; for a copy in a home folder, its owner)",
    )
    return parser


def _add_run_options(run: argparse.ArgumentParser) -> list[argparse.Action]:
    """The relay program's options (`run`, and `systemd-unit`, which runs it with them)."""
    return [
        run.add_argument("--kaiser-id", type=_kaiser_id, required=True),
        run.add_argument("--host", default="127.0.0.1", help="the relay's own broker"),
        run.add_argument("--port", type=int, default=1883),
        run.add_argument("--name", default=None, help="shown as the relay's name in HA"),
        run.add_argument("--bridge", default=None, help="bridge connection name (kaiser-<id>)"),
        run.add_argument("--device-host", default=None, help="address devices use for this relay"),
        run.add_argument("--device-port", type=int, default=None),
        run.add_argument("--health", type=float, default=10.0, help="health report period, s"),
        run.add_argument(
            "--hold",
            type=int,
            default=50_000,
            help="device messages kept while the bridge is down (sent on when it is back)",
        ),
        run.add_argument(
            "--spool",
            default=None,
            help=(
                "file that keeps them across a restart of this program "
                f"(default {SPOOL_DIR}/<kaiser-id>-held.jsonl; '' for memory only)"
            ),
        ),
        run.add_argument(
            "--resend-rate",
            type=int,
            default=1000,
            help="held messages resent per second once the bridge is back (its queue is bounded)",
        ),
        run.add_argument(
            "--dynsec-username", default=None, help="the relay broker's dynamic-security admin"
        ),
        run.add_argument(
            "--dynsec-password-file",
            type=Path,
            default=None,
            help="file with its password (never on the command line: `ps` shows that)",
        ),
        run.add_argument(
            "--log-level", default="info", choices=["debug", "info", "warning", "error"]
        ),
    ]


def unit_options(args: argparse.Namespace) -> UnitOptions:
    """The unit for `systemd-unit`'s parsed command line: the `run` options given, as given
    (the password file as a systemd credential)."""
    run_args: list[str] = []
    for action in args.run_options:
        value = getattr(args, action.dest)
        if value != action.default and action.dest != "dynsec_password_file":
            run_args += [action.option_strings[0], str(value)]
    directory = args.directory.resolve()
    user = args.user
    if user is None and (directory.is_relative_to("/home") or directory.is_relative_to("/root")):
        user = directory.owner()  # a dynamic user could not read a home directory
    password_file = args.dynsec_password_file
    return UnitOptions(
        kaiser_id=args.kaiser_id,
        python=args.python,
        directory=directory,
        run_args=run_args,
        password_file=None if password_file is None else password_file.resolve(),
        spool=spool_path(args.kaiser_id, args.spool),
        user=user,
    )


def spool_path(kaiser_id: str, option: str | None) -> Path | None:
    """`--spool`: its file, the default one when not given, None for ''."""
    if option is None:
        return SPOOL_DIR / f"{kaiser_id}-held.jsonl"
    return Path(option) if option else None


def _read_password(parser: argparse.ArgumentParser, option: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as err:
        parser.error(f"{option}: {err.strerror}")


def _write_certificates(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`tls`: the one certificate maker (broker_security/tls.py), then the broker's files to
    the user Mosquitto runs as. Imported here: only this command needs `cryptography`."""
    from custom_components.automationone.broker_security.tls import write_certificates

    owner = None
    if args.owner:
        try:
            owner = pwd.getpwnam(args.owner)
        except KeyError:
            parser.error(f"--owner: there is no user {args.owner} ('' to keep the files yours)")
    out: Path = args.out
    try:
        write_certificates(out, args.host, now=dt.datetime.now(dt.UTC))
        if owner is not None:
            for name in ("broker.crt", "broker.key"):
                os.chown(out / name, owner.pw_uid, owner.pw_gid)
    except PermissionError as err:
        parser.error(f"{err.filename}: {err.strerror} (as root, or --owner '' and --out yours)")
    except (OSError, ValueError) as err:
        parser.error(str(err))
    print(f"wrote {out}/ca.crt ca.key broker.crt broker.key")
    print(f"each device's Secure dialog takes the CA: {out}/ca.crt (keep ca.key off the relay)")


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "tls":
        _write_certificates(parser, args)
        return
    if args.command == "bridge-config":
        password = None
        if args.password_file is not None:
            if args.username is None:
                parser.error("--password-file needs --username")
            password = _read_password(parser, "--password-file", args.password_file)
        try:
            text = bridge_config(
                args.kaiser_id,
                args.main_host,
                args.main_port,
                listener_port=args.listener_port,
                listener_host=args.listener_host,
                persistence_dir=args.persistence_dir or None,
                remote_username=args.username,
                remote_password=password,
                cafile=args.cafile,
                certfile=args.certfile,
                keyfile=args.keyfile,
                dynsec_file=args.dynsec_file,
                dynsec_plugin=args.dynsec_plugin,
                allow_anonymous=not args.no_anonymous,
                device_tls_port=args.device_tls_port,
                device_tls_host=args.device_tls_host,
                device_certs=args.device_certs,
            )
        except ValueError as err:
            parser.error(str(err))
        if args.write is None:
            sys.stdout.write(text)
        else:
            _write(args.write, text, secret=password is not None)
        return
    if (args.dynsec_username is None) != (args.dynsec_password_file is None):
        parser.error("--dynsec-username and --dynsec-password-file go together")
    if args.command == "systemd-unit":
        text = systemd_unit(unit_options(args))
        if args.write is None:
            sys.stdout.write(text)
        else:
            args.write.write_text(text, encoding="utf-8")
        return
    admin_password = None
    if args.dynsec_password_file is not None:
        admin_password = _read_password(parser, "--dynsec-password-file", args.dynsec_password_file)
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
            hold=args.hold,
            spool=spool_path(args.kaiser_id, args.spool),
            resend_per_s=args.resend_rate,
            dynsec_username=args.dynsec_username,
            dynsec_password=admin_password,
        )
    )
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        relay.interrupt()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        relay.start()
    except SpoolInUseError as err:
        sys.exit(f"kaiser: not starting: {err}")  # exit status 1
    stop.wait()
    relay.stop()
