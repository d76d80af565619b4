"""Install the blueprints shipped in `blueprints/automation/` and `blueprints/script/` into
the user's config.

HA only offers blueprints from `<config>/blueprints/<domain>/`, so each shipped file is copied
to `blueprints/<domain>/automationone/` when it is missing there. An existing copy is never
overwritten: the user may have edited it, and automations built on it keep what they saw.
"""

from __future__ import annotations

import logging
from pathlib import Path
import shutil

from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)
SHIPPED = Path(__file__).parent / "blueprints" / "automation"
SHIPPED_SCRIPTS = Path(__file__).parent / "blueprints" / "script"


async def async_install_blueprints(hass: HomeAssistant) -> None:
    """Copy each shipped automation blueprint that the config dir does not have yet."""
    root = Path(hass.config.path("blueprints", "automation"))
    if not await hass.async_add_executor_job(root.exists):
        # HA adds its example blueprints only while blueprints/automation does not exist;
        # creating our folder first would keep them out of a fresh install.
        await async_get_blueprints(hass).async_populate()
    for shipped, target in (
        (SHIPPED, root / DOMAIN),
        (SHIPPED_SCRIPTS, Path(hass.config.path("blueprints", "script", DOMAIN))),
    ):
        installed = await hass.async_add_executor_job(_install, shipped, target)
        _LOGGER.debug("Blueprints installed in %s: %s", target, installed or "none missing")


def _install(shipped: Path, target: Path) -> list[str]:
    """Copy the missing files (blocking I/O, runs in the executor); their names."""
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for source in sorted(shipped.glob("*.yaml")):
        destination = target / source.name
        if destination.exists():
            continue
        shutil.copyfile(source, destination)
        installed.append(source.name)
    return installed
