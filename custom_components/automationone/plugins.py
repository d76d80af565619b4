"""Sensor types and predictors: the built-ins plus user plug-ins from the config folder.

Plug-ins are Python files in `<config>/automationone/processors/` (sensor types) and
`<config>/automationone/predictors/` (predictors). They are loaded once, at start-up, in the
executor; a broken one becomes a repair issue, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .predictions import Predictor, load_predictor_plugins
from .predictions.registry import builtin_registry as builtin_predictors
from .processors import PluginError, Processor, builtin_registry, errors_by_file, load_plugins

DATA_PROCESSORS: HassKey[dict[str, Processor]] = HassKey(f"{DOMAIN}_processors")
DATA_PREDICTORS: HassKey[dict[str, Predictor]] = HassKey(f"{DOMAIN}_predictors")
PLUGIN_DIR = Path("automationone") / "processors"
PREDICTOR_DIR = Path("automationone") / "predictors"


def _sync_issues(
    hass: HomeAssistant, prefix: str, translation_key: str, failures: list[PluginError]
) -> None:
    """One repair issue `<prefix><file>` per broken plug-in file; fixed files lose theirs."""
    errors = errors_by_file(failures)
    registry = ir.async_get(hass)
    for (domain, issue), _ in list(registry.issues.items()):
        if domain == DOMAIN and issue.startswith(prefix) and issue[len(prefix) :] not in errors:
            ir.async_delete_issue(hass, DOMAIN, issue)
    for filename, error in errors.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{prefix}{filename}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=translation_key,
            translation_placeholders={"file": filename, "error": error[:300]},
        )


async def async_load_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Built-ins and valid plug-ins by type id; repair issues for the broken plug-ins."""
    directory = Path(hass.config.path(str(PLUGIN_DIR)))
    types = builtin_registry()
    _, failures = await hass.async_add_executor_job(load_plugins, directory, types)
    _sync_issues(hass, "plugin_", "plugin_broken", failures)
    processors = {processor.id: processor for processor in types}
    hass.data[DATA_PROCESSORS] = processors
    return processors


def get_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Processors loaded at start-up (built-ins only if the loader has not run)."""
    if (loaded := hass.data.get(DATA_PROCESSORS)) is not None:
        return loaded
    return {processor.id: processor for processor in builtin_registry()}


async def async_load_predictors(hass: HomeAssistant) -> Mapping[str, Predictor]:
    """Built-in and valid user predictors by id; repair issues for the broken plug-ins."""
    directory = Path(hass.config.path(str(PREDICTOR_DIR)))
    registry = builtin_predictors()
    _, failures = await hass.async_add_executor_job(load_predictor_plugins, directory, registry)
    _sync_issues(hass, "predictor_plugin_", "predictor_plugin_broken", failures)
    predictors = {predictor.id: predictor for predictor in registry}
    hass.data[DATA_PREDICTORS] = predictors
    return predictors


def get_predictors(hass: HomeAssistant) -> Mapping[str, Predictor]:
    """Predictors loaded at start-up (built-ins only if the loader has not run)."""
    if (loaded := hass.data.get(DATA_PREDICTORS)) is not None:
        return loaded
    return {predictor.id: predictor for predictor in builtin_predictors()}
