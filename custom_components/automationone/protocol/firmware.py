"""Firmware updates (no Home Assistant imports): the manifests users put beside their images,
the update's error codes, and the simulated image format of the host devices.

The manifest format and the codes are documented in docs/protocol.md ("Firmware updates").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import hashlib
from pathlib import Path
import re
from typing import Any, Final

import orjson

MAX_MANIFEST: Final = 4096
MAX_IMAGE: Final = 16 * 1024 * 1024  # the schema's `size` bound; ESP32 app partitions are smaller
DEFAULT_FAMILY: Final = "automationone"
FILE_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
BOARD_PATTERN: Final = re.compile(r"[a-z0-9_]{1,32}")
VERSION_PATTERN: Final = re.compile(r"[A-Za-z0-9_.+-]{1,32}")
FAMILY_PATTERN: Final = re.compile(r"[a-z0-9_.-]{1,32}")
SHA256_PATTERN: Final = re.compile(r"[0-9a-f]{64}")

# Simulated images (virtual-esp, the Python simulator): one header line, then any bytes.
SIM_IMAGE_MAGIC: Final = b"A1-SIM-IMAGE"
SIM_HEADER: Final = re.compile(
    rb"A1-SIM-IMAGE board=([a-z0-9_]{1,32}) version=([A-Za-z0-9_.+-]{1,32})\n"
)
SIM_HEADER_MAX: Final = 96  # bytes a device reads before it judges the header
SIM_PARTITION: Final = 1966080  # the simulated update partition (the ESP32's default app slot)


class OtaError(StrEnum):
    """Why a device refused or aborted an update (`ota/status` `error`)."""

    BUSY = "busy"  # another update is running
    NO_CHECKSUM = "no_checksum"  # the command carries no sha256
    BOARD_MISMATCH = "board_mismatch"  # command or image header names another board
    BAD_IMAGE = "bad_image"  # not a firmware image for this device
    TOO_LARGE = "too_large"  # larger than the update partition
    DOWNLOAD_FAILED = "download_failed"  # connection, HTTP status or timeout
    SIZE_MISMATCH = "size_mismatch"  # body length differs from `size` / Content-Length
    CHECKSUM_MISMATCH = "checksum_mismatch"  # SHA-256 of the body differs from `sha256`
    FLASH_ERROR = "flash_error"  # writing or activating the partition failed
    UNSUPPORTED = "unsupported"  # this device cannot update itself this way


class ManifestError(ValueError):
    """A manifest that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class FirmwareManifest:
    """One image a user offers: for which board and firmware family, which version."""

    board: str
    version: str
    file: str
    sha256: str
    fw: str = DEFAULT_FAMILY
    size: int = 0  # of the file, filled in when the file was checked
    release_url: str | None = None


def _string(data: dict[str, Any], key: str, pattern: re.Pattern[str], default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ManifestError(f"'{key}' must match {pattern.pattern}")
    return value


def parse_manifest(payload: bytes | str) -> FirmwareManifest:
    """Parse a manifest: `board`, `version`, `file` (a name in the same folder), `sha256`,
    optional `fw` (default automationone) and `release_url`. Unknown keys are ignored."""
    if len(payload) > MAX_MANIFEST:
        raise ManifestError(f"larger than {MAX_MANIFEST} bytes")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise ManifestError(f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise ManifestError("not a JSON object")
    release_url = data.get("release_url")
    if release_url is not None and (
        not isinstance(release_url, str)
        or not release_url.startswith(("https://", "http://"))
        or len(release_url) > 256
    ):
        raise ManifestError("'release_url' must be an http(s) URL of at most 256 characters")
    return FirmwareManifest(
        board=_string(data, "board", BOARD_PATTERN),
        version=_string(data, "version", VERSION_PATTERN),
        file=_string(data, "file", FILE_PATTERN),
        sha256=_string(data, "sha256", SHA256_PATTERN),
        fw=_string(data, "fw", FAMILY_PATTERN, DEFAULT_FAMILY),
        release_url=release_url,
    )


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(65536):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(slots=True)
class FirmwareScan:
    """What a firmware folder offers, and the files that could not be used (with why)."""

    manifests: dict[tuple[str, str], FirmwareManifest]  # (fw, board) -> manifest
    problems: dict[str, str]  # manifest file name -> reason
    # manifest file name -> ((image size, mtime), checked manifest): what needs no new hash
    checked: dict[str, tuple[tuple[int, float], FirmwareManifest]] = field(default_factory=dict)


def scan_firmware_dir(folder: Path, known: FirmwareScan | None = None) -> FirmwareScan:
    """Read every `*.json` manifest in `folder` and check its image (size, SHA-256).

    Blocking (file I/O). An image is hashed again only when its size or mtime changed since
    `known` (pass the previous scan).
    """
    cache = known.checked if known is not None else {}
    scan = FirmwareScan({}, {})
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            manifest = parse_manifest(path.read_bytes())
            image = folder / manifest.file
            stat = image.stat()
            stamp = (stat.st_size, stat.st_mtime)
            cached = cache.get(path.name)
            if cached is not None and cached[0] == stamp and cached[1].sha256 == manifest.sha256:
                checked = cached[1]
            else:
                checked = _checked(manifest, image)
            scan.checked[path.name] = (stamp, checked)
        except (ManifestError, OSError) as err:
            scan.problems[path.name] = str(err)
            continue
        key = (checked.fw, checked.board)
        if key in scan.manifests:
            scan.problems[path.name] = f"a second manifest for {checked.fw} on {checked.board}"
            continue
        scan.manifests[key] = checked
    return scan


def _checked(manifest: FirmwareManifest, image: Path) -> FirmwareManifest:
    if image.parent.resolve() != image.resolve().parent:
        raise ManifestError(f"'{manifest.file}' is not in the firmware folder")
    sha256, size = file_sha256(image)
    if size == 0 or size > MAX_IMAGE:
        raise ManifestError(f"'{manifest.file}' has {size} bytes (1 to {MAX_IMAGE})")
    if sha256 != manifest.sha256:
        raise ManifestError(f"sha256 of '{manifest.file}' is {sha256}, not the manifest's")
    return FirmwareManifest(
        manifest.board,
        manifest.version,
        manifest.file,
        manifest.sha256,
        manifest.fw,
        size,
        manifest.release_url,
    )


def build_sim_image(board: str, version: str, body: bytes = b"") -> bytes:
    """A simulated image for the host devices: the header line, then `body`."""
    header = SIM_IMAGE_MAGIC + f" board={board} version={version}\n".encode()
    if SIM_HEADER.fullmatch(header) is None:
        raise ValueError("board or version not allowed in an image header")
    return header + body


def parse_sim_header(head: bytes) -> tuple[str, str] | None:
    """(board, version) from the start of a simulated image; None if it is not one."""
    match = SIM_HEADER.match(head[:SIM_HEADER_MAX])
    if match is None:
        return None
    return match.group(1).decode(), match.group(2).decode()


def check_sim_image(
    image: bytes, sha256: str | None, board: str, size: int | None = None
) -> tuple[OtaError, str] | None:
    """The checks a simulated device makes on a downloaded image, in the firmware core's
    order (header, length, SHA-256); None when it may be installed, else (error, detail)."""
    if sha256 is None:
        return OtaError.NO_CHECKSUM, ""
    header = parse_sim_header(image)
    if header is None:
        return OtaError.BAD_IMAGE, "no A1-SIM-IMAGE header"
    if header[0] != board:
        return OtaError.BOARD_MISMATCH, f"image for {header[0]}"
    if size is not None and len(image) != size:
        return OtaError.SIZE_MISMATCH, f"got {len(image)}"
    digest = hashlib.sha256(image).hexdigest()
    if digest != sha256:
        return OtaError.CHECKSUM_MISMATCH, f"got {digest}"[:64]
    return None
