"""Firmware manifests, the folder scan and simulated images (protocol/firmware.py)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from custom_components.automationone.protocol.firmware import (
    FirmwareManifest,
    ManifestError,
    OtaError,
    build_sim_image,
    check_sim_image,
    parse_manifest,
    parse_sim_header,
    scan_firmware_dir,
)

IMAGE = build_sim_image("esp32dev", "0.2.0", b"body" * 10)
SHA = hashlib.sha256(IMAGE).hexdigest()


def manifest(**changes: object) -> bytes:
    data = {"board": "esp32dev", "version": "0.2.0", "file": "fw.bin", "sha256": SHA} | changes
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def test_manifest_defaults_and_unknown_keys() -> None:
    parsed = parse_manifest(manifest(notes="ignored"))
    assert parsed == FirmwareManifest("esp32dev", "0.2.0", "fw.bin", SHA)
    assert parsed.fw == "automationone"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"board": None}, "'board'"),
        ({"file": "../fw.bin"}, "'file'"),
        ({"file": "sub/fw.bin"}, "'file'"),
        ({"file": ".hidden"}, "'file'"),
        ({"sha256": SHA.upper()}, "'sha256'"),
        ({"version": 2}, "'version'"),
        ({"fw": "ESPHome"}, "'fw'"),
        ({"release_url": "javascript:alert(1)"}, "'release_url'"),
    ],
)
def test_manifest_refusals_name_the_field(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ManifestError, match=reason):
        parse_manifest(manifest(**changes))


def test_scan_checks_files_and_rehashes_only_changes(tmp_path: Path) -> None:
    (tmp_path / "fw.bin").write_bytes(IMAGE)
    (tmp_path / "esp32dev.json").write_bytes(manifest())
    (tmp_path / "c3.json").write_bytes(manifest(board="seeed_xiao_esp32c3", file="missing.bin"))
    (tmp_path / "z-dup.json").write_bytes(manifest())
    (tmp_path / "broken.json").write_text("{")
    scan = scan_firmware_dir(tmp_path)
    assert scan.manifests[("automationone", "esp32dev")].size == len(IMAGE)
    assert set(scan.problems) == {"c3.json", "z-dup.json", "broken.json"}
    assert "second manifest" in scan.problems["z-dup.json"]
    # Same size and mtime: the image is not hashed again (a changed byte goes unnoticed)...
    stat = (tmp_path / "fw.bin").stat()
    (tmp_path / "fw.bin").write_bytes(IMAGE[:-1] + b"X")
    os.utime(tmp_path / "fw.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ("automationone", "esp32dev") in scan_firmware_dir(tmp_path, scan).manifests
    # ...a new mtime is, and the mismatch is found.
    os.utime(tmp_path / "fw.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    rescan = scan_firmware_dir(tmp_path, scan)
    assert ("automationone", "esp32dev") not in rescan.manifests
    assert "sha256" in rescan.problems["esp32dev.json"]


def test_missing_folder_offers_nothing(tmp_path: Path) -> None:
    scan = scan_firmware_dir(tmp_path / "none")
    assert (scan.manifests, scan.problems) == ({}, {})


def test_sim_image_header_and_checks_in_the_firmware_order() -> None:
    assert parse_sim_header(IMAGE) == ("esp32dev", "0.2.0")
    assert parse_sim_header(b"\xe9" + IMAGE) is None
    assert check_sim_image(IMAGE, SHA, "esp32dev", len(IMAGE)) is None
    assert check_sim_image(IMAGE, None, "esp32dev") == (OtaError.NO_CHECKSUM, "")
    other = build_sim_image("seeed_xiao_esp32c3", "0.2.0")
    assert check_sim_image(other, SHA, "esp32dev")[0] is OtaError.BOARD_MISMATCH  # type: ignore[index]
    assert check_sim_image(b"MZ", SHA, "esp32dev")[0] is OtaError.BAD_IMAGE  # type: ignore[index]
    assert check_sim_image(IMAGE, SHA, "esp32dev", 1)[0] is OtaError.SIZE_MISMATCH  # type: ignore[index]
    result = check_sim_image(IMAGE, "0" * 64, "esp32dev")
    assert result is not None
    assert result[0] is OtaError.CHECKSUM_MISMATCH
    assert len(result[1]) <= 64  # fits the ota_status `detail`
    with pytest.raises(ValueError, match="not allowed"):
        build_sim_image("esp32dev", "0.2 beta")
