"""The drawing of a device's board with its pins' roles (gpio/drawing.py), from the entry's
subentries: served by an authenticated view for the Add sensor / Add actuator dialogs, and
shown on the device page by an image entity (image.py)."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import CONF_BOARD, DOMAIN
from .data import AutomationOneConfigEntry
from .gpio import boards
from .gpio.drawing import board_svg, pin_roles
from .pins import taken_pins
from .plugins import get_processors

VIEW_PATH = "/api/automationone/board"
# How long the signed link in a dialog stays valid (the browser loads it when the form opens).
SIGNED_FOR = timedelta(hours=1)
CONTENT_TYPE = "image/svg+xml"


def pin_users(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> dict[int, list[str]]:
    """gpio -> the names of the sensors and actuators that use it (a bus pin: several)."""
    users: dict[int, list[str]] = {}
    for claim in taken_pins(entry, get_processors(hass)):
        subentry = entry.subentries.get(claim.owner)
        name = subentry.title if subentry is not None else claim.owner
        if name not in users.setdefault(claim.gpio, []):
            users[claim.gpio].append(name)
    return users


def entry_svg(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> str:
    """The drawing of the entry's board, titled with the device's name."""
    board = boards()[entry.data[CONF_BOARD]]
    return board_svg(board, pin_roles(board, pin_users(hass, entry)), title=entry.title)


def board_path(entry_id: str) -> str:
    """The view's path for one entry."""
    return f"{VIEW_PATH}/{entry_id}.svg"


def board_markdown(hass: HomeAssistant, entry: AutomationOneConfigEntry) -> str:
    """A markdown image of the board for a dialog's description. The browser loads an <img>
    without the login header, so the link is signed for the user who opened the dialog."""
    url = async_sign_path(hass, board_path(entry.entry_id), SIGNED_FOR)
    return f"![{entry.title}]({url})"


class BoardView(HomeAssistantView):
    """GET /api/automationone/board/{entry_id}.svg: the drawing, for a logged-in user (or a
    link signed for one). The device page's image entity shows the same to its users."""

    url = VIEW_PATH + "/{entry_id}.svg"
    name = "api:automationone:board"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """The SVG, or 404 for an entry that is not one of ours."""
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.Response(
            body=entry_svg(hass, entry).encode(),
            content_type=CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )


def async_setup_board_view(hass: HomeAssistant) -> None:
    """Register the view (once, from async_setup)."""
    hass.http.register_view(BoardView())
