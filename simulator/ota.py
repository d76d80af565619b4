"""Firmware download of the simulated device: plain HTTP(S) with urllib, in a worker thread.

The checks on the image are the protocol package's (`check_sim_image`), in the firmware core's
order; see docs/protocol.md "Firmware updates".
"""

from __future__ import annotations

from collections.abc import Callable
import urllib.error
import urllib.request

from custom_components.automationone.protocol.firmware import SIM_PARTITION

CHUNK = 4096
TIMEOUT_S = 30.0


class DownloadError(Exception):
    """The image could not be downloaded (the message is the `detail`)."""


def download(url: str, size: int | None, progress: Callable[[int], None]) -> bytes:
    """The whole body; calls `progress(percent)` at each new tenth. Blocking."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (http(s) only, checked by the schema)
            length = response.headers.get("Content-Length")
            expected = size or (int(length) if length and length.isdigit() else 0)
            body = bytearray()
            tenth = 0
            while chunk := response.read(CHUNK):
                body += chunk
                if len(body) > SIM_PARTITION:
                    raise DownloadError("larger than the partition")
                if expected and (now := min(99, len(body) * 100 // expected)) // 10 > tenth:
                    tenth = now // 10
                    progress(now)
            return bytes(body)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"http status {err.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise DownloadError(str(getattr(err, "reason", err))[:64]) from None
