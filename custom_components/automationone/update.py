"""Firmware update of an ESP: installed version from its announce, the available one from the
user's firmware folder (see firmware_server.py), installed over `system/command` `ota`."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from homeassistant.components.update import (
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_BOARD, DOMAIN
from .data import AutomationOneConfigEntry
from .entity import AutomationOneEntity
from .firmware_server import DATA_FIRMWARE, FirmwareServer, FirmwareUrlError
from .protocol import OtaState, OtaStatus, SystemCommand
from .protocol.firmware import FirmwareManifest, OtaError

PARALLEL_UPDATES = 1

# Long enough for a slow WiFi download of a 2 MB image, the flash write and the reboot.
INSTALL_TIMEOUT_S = 600.0

FIRMWARE = UpdateEntityDescription(
    key="firmware",
    device_class=UpdateDeviceClass.FIRMWARE,
    entity_category=EntityCategory.CONFIG,
)

# Refusals caused by the image the user provided; the others are transport or device faults.
USER_CAUSED = frozenset(
    {OtaError.BOARD_MISMATCH, OtaError.BAD_IMAGE, OtaError.TOO_LARGE, OtaError.NO_CHECKSUM}
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AutomationOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the firmware update entity."""
    async_add_entities([FirmwareUpdate(entry, FIRMWARE, hass.data[DATA_FIRMWARE])])


class FirmwareUpdate(AutomationOneEntity, UpdateEntity):
    """The device's firmware against the image in the firmware folder for its board."""

    _attr_supported_features = UpdateEntityFeature.INSTALL | UpdateEntityFeature.PROGRESS

    def __init__(
        self,
        entry: AutomationOneConfigEntry,
        description: UpdateEntityDescription,
        server: FirmwareServer,
    ) -> None:
        """Bind to the device and the firmware folder."""
        super().__init__(entry, description)
        self.server = server
        self.board: str = entry.data[CONF_BOARD]
        self._result: asyncio.Future[OtaStatus | None] | None = None
        self._target: FirmwareManifest | None = None
        self._cmd_id: str | None = None

    @property
    def installed_version(self) -> str | None:
        """What the device announced."""
        announce = self.device.announce
        return None if announce is None else announce.fw_version

    @property
    def _manifest(self) -> FirmwareManifest | None:
        announce = self.device.announce
        if announce is None:
            return None
        return self.server.manifest(announce.fw, announce.board)

    @property
    def latest_version(self) -> str | None:
        """The image in the folder for this board, else what is installed (nothing to do)."""
        manifest = self._manifest
        return self.installed_version if manifest is None else manifest.version

    @property
    def release_url(self) -> str | None:
        """The manifest's release notes link."""
        manifest = self._manifest
        return None if manifest is None else manifest.release_url

    @property
    def in_progress(self) -> bool:
        """True from the command until the device reports the result."""
        return self._result is not None

    @property
    def update_percentage(self) -> int | None:
        """Download progress the device reports."""
        ota = self.device.ota
        if self._result is None or ota is None or ota.cmd_id != self._cmd_id:
            return None
        return ota.progress

    async def async_added_to_hass(self) -> None:
        """Follow the device and the firmware folder."""
        await super().async_added_to_hass()
        self.async_on_remove(self.device.add_listener(self._on_device))
        self.async_on_remove(self.server.add_listener(self.async_write_ha_state))

    async def async_will_remove_from_hass(self) -> None:
        """An install still waiting ends (the entry unloads)."""
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def async_update(self) -> None:
        """`homeassistant.update_entity`: look at the firmware folder again."""
        await self.server.async_refresh()

    @callback
    def _on_device(self) -> None:
        result, target = self._result, self._target
        if result is None or result.done() or target is None:
            return
        ota = self.device.ota
        if ota is not None and ota.cmd_id == self._cmd_id and ota.state == OtaState.FAILED:
            result.set_result(ota)
        elif self.installed_version == target.version and self.device.available:
            result.set_result(None)  # rebooted into the new image and announced it

    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        """Grant the image to this device, send `ota`, wait for the new version or a refusal."""
        manifest = self._manifest
        if manifest is None or (version is not None and version != manifest.version):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ota_no_image",
                translation_placeholders={"board": self.board, "version": version or ""},
            )
        if self._result is not None:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="ota_busy")
        if not self.device.available:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="device_unavailable"
            )
        try:
            url = self.server.grant(self.device.esp_id, manifest)
        except FirmwareUrlError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key=err.reason
            ) from None
        self._cmd_id = f"ota-{secrets.token_hex(4)}"
        self._target = manifest
        self._result = self.hass.loop.create_future()
        self.async_write_ha_state()
        try:
            await self.device.install_firmware(
                SystemCommand(
                    cmd="ota",
                    url=url,
                    sha256=manifest.sha256,
                    board=manifest.board,
                    version=manifest.version,
                    size=manifest.size,
                    cmd_id=self._cmd_id,
                )
            )
            async with asyncio.timeout(INSTALL_TIMEOUT_S):
                failed = await self._result
        except TimeoutError:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="ota_timeout",
                translation_placeholders={"seconds": str(int(INSTALL_TIMEOUT_S))},
            ) from None
        finally:
            self.server.revoke(self.device.esp_id)
            self._result = None
            self._target = None
            self.async_write_ha_state()
        if failed is not None:
            raise _refusal(failed)


def _refusal(status: OtaStatus) -> HomeAssistantError:
    code = status.error or ""
    known = code in {member.value for member in OtaError}
    placeholders = {"error": code, "detail": status.detail or ""}
    key = f"ota_{code}" if known else "ota_failed"
    error_class = ServiceValidationError if code in USER_CAUSED else HomeAssistantError
    return error_class(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )
