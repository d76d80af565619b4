"""Sensor types: the built-in processors plus user plug-ins from the config folder.

Plug-ins are Python files in `<config>/automationone/processors/`. They are loaded once, at
start-up, in the executor; a broken one becomes a repair issue, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .processors import Processor, builtin_registry, load_plugins

DATA_PROCESSORS: HassKey[dict[str, Processor]] = HassKey(f"{DOMAIN}_processors")
PLUGIN_DIR = Path("automationone") / "processors"


async def async_load_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Built-ins and valid plug-ins by type id; repair issues for the broken plug-ins."""
    directory = Path(hass.config.path(str(PLUGIN_DIR)))
    types = builtin_registry()
    _, failures = await hass.async_add_executor_job(load_plugins, directory, types)
    errors = {failure.path.name: str(failure) for failure in failures}
    registry = ir.async_get(hass)
    for (domain, issue), _ in list(registry.issues.items()):
        if domain == DOMAIN and issue.startswith("plugin_") and issue[7:] not in errors:
            ir.async_delete_issue(hass, DOMAIN, issue)
    for filename, error in errors.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"plugin_{filename}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="plugin_broken",
            translation_placeholders={"file": filename, "error": error[:300]},
        )
    processors = {processor.id: processor for processor in types}
    hass.data[DATA_PROCESSORS] = processors
    return processors


def get_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Processors loaded at start-up (built-ins only if the loader has not run)."""
    if (loaded := hass.data.get(DATA_PROCESSORS)) is not None:
        return loaded
    return {processor.id: processor for processor in builtin_registry()}
