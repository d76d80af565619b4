"""Sensor types and predictors: the built-ins plus user plug-ins from the config folder.

Plug-ins are Python files in `<config>/automationone/processors/` (sensor types) and
`<config>/automationone/predictors/` (predictors). They are loaded once, at start-up, in the
executor; a broken one becomes a repair issue, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .predictions import Predictor
from .predictions.plugins import PREDICTOR_PLUGINS
from .predictions.registry import builtin_registry as builtin_predictors
from .processors import PluginError, Processor, builtin_registry, errors_by_file
from .processors.plugins import PROCESSOR_PLUGINS, PluginKind, load_plugin_dir
from .processors.registry import Identified, IdRegistry

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


@dataclass(frozen=True, slots=True)
class PluginFolder[T: Identified]:
    """One kind of plug-in: its folder in the config, its loader, where the result is kept
    and the repair issues of its broken files."""

    folder: Path
    kind: PluginKind[T]
    builtins: Callable[[], IdRegistry[T]]
    data_key: HassKey[dict[str, T]]
    issue_prefix: str
    translation_key: str

    async def async_load(self, hass: HomeAssistant) -> Mapping[str, T]:
        """Built-ins and valid plug-ins by id; repair issues for the broken plug-ins."""
        directory = Path(hass.config.path(str(self.folder)))
        registry = self.builtins()
        _, failures = await hass.async_add_executor_job(
            load_plugin_dir, directory, registry, self.kind
        )
        _sync_issues(hass, self.issue_prefix, self.translation_key, failures)
        loaded = {item.id: item for item in registry}
        hass.data[self.data_key] = loaded
        return loaded

    def get(self, hass: HomeAssistant) -> Mapping[str, T]:
        """What was loaded at start-up (built-ins only if the loader has not run)."""
        if (loaded := hass.data.get(self.data_key)) is not None:
            return loaded
        return {item.id: item for item in self.builtins()}


PROCESSOR_FOLDER: PluginFolder[Processor] = PluginFolder(
    PLUGIN_DIR, PROCESSOR_PLUGINS, builtin_registry, DATA_PROCESSORS, "plugin_", "plugin_broken"
)
PREDICTOR_FOLDER: PluginFolder[Predictor] = PluginFolder(
    PREDICTOR_DIR,
    PREDICTOR_PLUGINS,
    builtin_predictors,
    DATA_PREDICTORS,
    "predictor_plugin_",
    "predictor_plugin_broken",
)


async def async_load_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Built-in and plug-in sensor types by id (see PluginFolder.async_load)."""
    return await PROCESSOR_FOLDER.async_load(hass)


def get_processors(hass: HomeAssistant) -> Mapping[str, Processor]:
    """Sensor types loaded at start-up (built-ins only if the loader has not run)."""
    return PROCESSOR_FOLDER.get(hass)


async def async_load_predictors(hass: HomeAssistant) -> Mapping[str, Predictor]:
    """Built-in and plug-in predictors by id (see PluginFolder.async_load)."""
    return await PREDICTOR_FOLDER.async_load(hass)


def get_predictors(hass: HomeAssistant) -> Mapping[str, Predictor]:
    """Predictors loaded at start-up (built-ins only if the loader has not run)."""
    return PREDICTOR_FOLDER.get(hass)
