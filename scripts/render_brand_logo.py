"""Render brand/logo.png (and @2x, dark variants) from brand/icon@2x.png and the name.

HA's brand image rules: a logo is trimmed, on a transparent background, its shortest side
128-256 px (hDPI: 256-512 px). The wordmark uses Pillow's built-in font, so the output does not
depend on the machine's fonts. Run with the test venv:
`.venv/bin/python scripts/render_brand_logo.py`.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).parents[1] / "custom_components/automationone/brand"
NAME = "AutomationOne"
HEIGHT_2X = 512  # hDPI; the plain logo is half of it
TEXT = {"logo": (27, 94, 32, 255), "dark_logo": (232, 245, 233, 255)}  # the icon's green, light


def render(text_colour: tuple[int, int, int, int]) -> Image.Image:
    """Icon on the left, the name beside it, trimmed to what is drawn."""
    icon = Image.open(BRAND / "icon@2x.png").convert("RGBA").resize((HEIGHT_2X, HEIGHT_2X))
    font = ImageFont.load_default(size=int(HEIGHT_2X * 0.42))
    left, top, right, bottom = font.getbbox(NAME)
    gap = HEIGHT_2X // 8
    canvas = Image.new("RGBA", (HEIGHT_2X + gap + right - left, HEIGHT_2X), (0, 0, 0, 0))
    canvas.alpha_composite(icon)
    draw = ImageDraw.Draw(canvas)
    y = (HEIGHT_2X - (bottom - top)) // 2 - top
    draw.text((HEIGHT_2X + gap - left, y), NAME, font=font, fill=text_colour)
    box = canvas.getbbox()
    assert box is not None
    return canvas.crop(box)


def main() -> None:
    """Write logo.png, logo@2x.png, dark_logo.png, dark_logo@2x.png."""
    for name, colour in TEXT.items():
        big = render(colour)
        big.save(BRAND / f"{name}@2x.png", optimize=True)
        small = big.resize((big.width // 2, big.height // 2), Image.Resampling.LANCZOS)
        small.save(BRAND / f"{name}.png", optimize=True)


if __name__ == "__main__":
    main()
