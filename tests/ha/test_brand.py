"""brands: the shipped images meet HA's size rules, and where HA serves local brand images
(2026.3 and later, the `brands` integration) it serves ours; older HA has no such integration
and its frontend asks the brands CDN (README "Brand images")."""

from __future__ import annotations

from http import HTTPStatus
import importlib.util
from pathlib import Path
import struct

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

BRAND = Path(__file__).parents[2] / "custom_components/automationone/brand"


def png_size(path: Path) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR chunk."""
    data = path.read_bytes()[:26]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height, data[25]


@pytest.mark.parametrize(
    ("name", "shortest"),
    [
        ("icon.png", (256, 256)),
        ("icon@2x.png", (512, 512)),
        ("logo.png", (128, 256)),
        ("logo@2x.png", (256, 512)),
        ("dark_logo.png", (128, 256)),
        ("dark_logo@2x.png", (256, 512)),
    ],
)
def test_brand_images_meet_the_size_rules(name: str, shortest: tuple[int, int]) -> None:
    """Icons are square (256, hDPI 512); logos' shortest side is 128-256 (hDPI 256-512); all
    have an alpha channel (PNG colour type 6)."""
    width, height, colour_type = png_size(BRAND / name)
    assert shortest[0] <= min(width, height) <= shortest[1]
    if name.startswith("icon"):
        assert width == height
    else:
        assert width > height  # a landscape logo
    assert colour_type == 6


async def test_where_the_brand_images_come_from(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """HA with the brands integration serves our local files; HA without it has no local
    brand image API at all (the frontend loads brands.home-assistant.io)."""
    if importlib.util.find_spec("homeassistant.components.brands") is None:
        assert await async_setup_component(hass, "http", {})
        client = await hass_client()
        response = await client.get("/api/brands/integration/automationone/icon.png")
        assert response.status == HTTPStatus.NOT_FOUND
        return
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image in ("icon.png", "logo.png", "dark_logo.png"):
        response = await client.get(f"/api/brands/integration/automationone/{image}")
        assert response.status == HTTPStatus.OK
        assert await response.read() == (BRAND / image).read_bytes()
