"""The relay program's systemd unit (`python -m kaiser systemd-unit`, docs/kaiser.md): checked by
systemd's own `systemd-analyze verify`, and its command line run as systemd would run it."""

from __future__ import annotations

import os
from pathlib import Path
import shlex
import subprocess
import sys
import time

import pytest

from kaiser.cli import main as kaiser_cli

REPO = Path(__file__).resolve().parents[2]


def unit_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    kaiser_cli(["systemd-unit", "--python", sys.executable, *args])
    return capsys.readouterr().out


def settings(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of the unit, by key."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def command_line(value: str, credentials: Path) -> list[str]:
    """An ExecStart value as systemd splits it: its quoting is the shell's double quotes for
    what we write, `%%` and `$$` stand for `%` and `$`, and `${CREDENTIALS_DIRECTORY}` is set."""
    words = shlex.split(value.replace("${CREDENTIALS_DIRECTORY}", str(credentials)))
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def test_systemd_accepts_the_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`systemd-analyze verify` finds nothing wrong, with every kind of option in it."""
    text = unit_text(
        capsys, "--kaiser-id", "gh1", "--name", "Greenhouse 100% \"north\"", "--device-host",
        "192.168.1.50", "--dynsec-username", "a1admin", "--dynsec-password-file",
        "/etc/kaiser/admin.password", "--spool", "/srv/kaiser data/gh1.jsonl",
        "--directory", "/opt/automationone",
    )  # fmt: skip
    unit = tmp_path / "kaiser-gh1.service"
    unit.write_text(text, encoding="utf-8")
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    assert "kaiser-gh1" not in verify.stderr, verify.stderr  # no warnings about the unit


def test_the_units_command_line_runs_the_relay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ExecStart, split as systemd does, in the unit's folder and environment, starts the relay
    program with the options given (it takes its spool's lock: the options parsed and it runs);
    the password reaches it as a credential, never on its command line."""
    spool = tmp_path / "spool dir" / "gh1 held.jsonl"
    secret = tmp_path / "admin.password"
    secret.write_text("s3cret\n", encoding="utf-8")
    text = unit_text(
        capsys, "--kaiser-id", "gh1", "--port", "1", "--name", "Relay 50% $HOME",
        "--spool", str(spool), "--dynsec-username", "a1admin",
        "--dynsec-password-file", str(secret), "--directory", str(REPO),
    )  # fmt: skip
    found = settings(text)
    assert found["LoadCredential"] == [f"kaiser-dynsec-password:{secret}"]
    assert str(secret) not in found["ExecStart"][0]
    assert found["ReadWritePaths"] == [f'-"{spool.parent}"']
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "kaiser-dynsec-password").write_text("s3cret\n", encoding="utf-8")
    argv = command_line(found["ExecStart"][0], credentials)
    assert argv[:4] == [sys.executable, "-m", "kaiser", "run"]
    assert argv[argv.index("--name") + 1] == "Relay 50% $HOME"
    (directory,) = (shlex.split(v)[0] for v in found["WorkingDirectory"])
    (environment,) = (shlex.split(v)[0] for v in found["Environment"])
    assert environment == f"PYTHONPATH={directory}"
    env = {**os.environ, "PYTHONPATH": directory}
    relay = subprocess.Popen(argv, cwd=directory, env=env, stderr=subprocess.DEVNULL)
    try:
        lock = spool.with_name(spool.name + ".lock")
        deadline = time.monotonic() + 20
        while not (lock.exists() and lock.read_text().strip() == str(relay.pid)):
            assert relay.poll() is None, "the relay program stopped"
            assert time.monotonic() < deadline, "the relay program took no lock on its spool"
            time.sleep(0.05)
    finally:
        relay.terminate()
        relay.wait(10)


def test_defaults_keep_the_unit_small(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the options given are on the command line; the default spool is the unit's state
    folder (nothing more writable); a copy outside any home runs as a dynamic user."""
    found = settings(unit_text(capsys, "--kaiser-id", "gh1", "--directory", "/opt/automationone"))
    assert found["ExecStart"] == [f"{sys.executable} -m kaiser run --kaiser-id gh1"]
    assert found["StateDirectory"] == ["kaiser"]
    assert "ReadWritePaths" not in found
    assert "LoadCredential" not in found
    assert found["DynamicUser"] == ["yes"]
    assert found["Restart"] == ["always"]
    assert found["StartLimitIntervalSec"] == ["0"]
    assert "User" not in found


def test_a_copy_in_a_home_folder_runs_as_its_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dynamic user could not read a home folder: the unit runs as the copy's owner, or as
    `--user`."""
    home = Path("/home/pi/automationone")
    monkeypatch.setattr(Path, "owner", lambda self: "pi" if self == home else "root")
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self)
    found = settings(unit_text(capsys, "--kaiser-id", "gh1", "--directory", str(home)))
    assert found["User"] == ["pi"]
    assert "DynamicUser" not in found
    found = settings(
        unit_text(capsys, "--kaiser-id", "gh1", "--directory", str(home), "--user", "relay")
    )
    assert found["User"] == ["relay"]
