"""The firmware core on the host (`virtual-esp`, built by `make firmware-virtual-esp`): where
its binary is and the MAC it announces. No Home Assistant imports (the fault soak runs
without the test harness)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VIRTUAL_ESP = REPO / "firmware" / "build" / "virtual-esp"


def virtual_esp_mac(esp_id: str) -> str:
    """The MAC virtual-esp announces for an id (posix_hal.cpp SimWifi: FNV-1a of the id)."""
    h = 2166136261
    for byte in esp_id.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    tail = [(h >> 16) & 255, (h >> 8) & 255, h & 255]
    return ":".join(f"{b:02x}" for b in [0x24, 0x0A, 0xC4, *tail])
