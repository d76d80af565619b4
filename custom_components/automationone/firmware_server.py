"""Firmware images for the update entities: the user's folder, and an HTTP view that serves an
image only to the device it was granted to (a short-lived token in the URL).

Devices cannot log in to Home Assistant, so the view needs no HA authentication; the token is
the credential. It is random (256 bit), names one device and one file, is sent only on that
device's `system/command` topic and expires after GRANT_TTL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
import logging
from pathlib import Path
import secrets
import time

from aiohttp import web
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .protocol.firmware import FirmwareManifest, FirmwareScan, scan_firmware_dir

_LOGGER = logging.getLogger(__name__)

DATA_FIRMWARE: HassKey[FirmwareServer] = HassKey(f"{DOMAIN}_firmware")
FIRMWARE_FOLDER = ("automationone", "firmware")  # below the HA config directory
VIEW_PATH = "/api/automationone/firmware"
GRANT_TTL_S = 600.0
RESCAN_INTERVAL = timedelta(seconds=60)
MAX_URL = 256  # the protocol's bound for `url`


class FirmwareUrlError(Exception):
    """No URL the device could download from (`reason`: a translation key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Grant:
    """One device may fetch one file until `expires` (monotonic seconds)."""

    esp_id: str
    path: Path
    expires: float


@dataclass(slots=True)
class FirmwareServer:
    """The scanned firmware folder and the download grants of all devices."""

    hass: HomeAssistant
    folder: Path
    scan: FirmwareScan = field(default_factory=lambda: FirmwareScan({}, {}))
    grants: dict[str, Grant] = field(default_factory=dict)
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    _stop_rescan: CALLBACK_TYPE | None = None
    _logged_problems: dict[str, str] = field(default_factory=dict)

    def manifest(self, fw: str, board: str) -> FirmwareManifest | None:
        """The image offered for a firmware family on a board."""
        return self.scan.manifests.get((fw, board))

    async def async_refresh(self) -> None:
        """Scan the folder again (in the executor); tell the listeners if the offer changed."""
        scan = await self.hass.async_add_executor_job(scan_firmware_dir, self.folder, self.scan)
        for name, problem in scan.problems.items():
            if self._logged_problems.get(name) != problem:
                _LOGGER.warning("Firmware manifest %s/%s not used: %s", self.folder, name, problem)
        self._logged_problems = dict(scan.problems)
        changed = scan.manifests != self.scan.manifests
        self.scan = scan
        if changed:
            for listener in list(self._listeners):
                listener()

    @callback
    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the offered images change; rescans while anyone listens."""
        self._listeners.append(listener)
        if self._stop_rescan is None:
            self._stop_rescan = async_track_time_interval(
                self.hass, self._rescan, RESCAN_INTERVAL, cancel_on_shutdown=True
            )

        @callback
        def remove() -> None:
            self._listeners.remove(listener)
            if not self._listeners and self._stop_rescan is not None:
                self._stop_rescan()
                self._stop_rescan = None

        return remove

    async def _rescan(self, _now: object) -> None:
        await self.async_refresh()

    @callback
    def grant(self, esp_id: str, manifest: FirmwareManifest) -> str:
        """A download URL for one device and one image; replaces that device's older grant."""
        self.revoke(esp_id)
        now = time.monotonic()
        for token in [t for t, g in self.grants.items() if g.expires <= now]:
            del self.grants[token]
        try:
            base = get_url(self.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError:
            raise FirmwareUrlError("ota_no_url") from None
        token = secrets.token_urlsafe(32)
        url = f"{base}{VIEW_PATH}/{token}/{manifest.file}"
        if len(url) > MAX_URL:
            raise FirmwareUrlError("ota_url_too_long")
        self.grants[token] = Grant(esp_id, self.folder / manifest.file, now + GRANT_TTL_S)
        return url

    @callback
    def revoke(self, esp_id: str) -> None:
        """End a device's grant (its update finished or failed)."""
        for token in [t for t, g in self.grants.items() if g.esp_id == esp_id]:
            del self.grants[token]

    def lookup(self, token: str, file: str) -> Path | None:
        """The file a valid, unexpired token grants, if `file` is its name."""
        grant = self.grants.get(token)
        if grant is None or grant.expires <= time.monotonic() or grant.path.name != file:
            return None
        return grant.path


class FirmwareView(HomeAssistantView):
    """GET /api/automationone/firmware/{token}/{file}: the granted image, else 404."""

    url = VIEW_PATH + "/{token}/{file}"
    name = "api:automationone:firmware"
    requires_auth = False  # devices have no HA login; the token is checked instead

    def __init__(self, server: FirmwareServer) -> None:
        """Serve the grants of `server`."""
        self.server = server

    async def get(self, request: web.Request, token: str, file: str) -> web.StreamResponse:
        """Stream the image; an unknown or expired token gets the same 404 as a wrong file."""
        path = self.server.lookup(token, file)
        if path is None:
            return web.Response(status=404)
        return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


async def async_setup_firmware(hass: HomeAssistant) -> None:
    """Create the FirmwareServer, register its view and scan the folder (integration setup)."""
    server = FirmwareServer(hass, Path(hass.config.path(*FIRMWARE_FOLDER)))
    hass.data[DATA_FIRMWARE] = server
    hass.http.register_view(FirmwareView(server))
    await server.async_refresh()
