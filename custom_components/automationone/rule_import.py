"""The `automationone.import_rules` service: rules in the seed's format -> HA automations.

Rules are parsed and compiled as one set, every
compiled automation is validated by HA's own automation validator, and only then is
automations.yaml written, in one atomic write, the way the automation editor writes it: same
file, same key order, same YAML dumper, ids `automationone_rule_<rule id>`. So an imported rule
opens and saves in the editor unchanged and importing again updates it in place. Any error
leaves the file as it was. Priority lockouts cover this set and the rules imported earlier
(their claims are kept in a Store): an earlier automation whose lockout changes is updated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import inspect
from pathlib import Path
import re
from typing import Any

from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.config import AUTOMATION_CONFIG_PATH
from homeassistant.const import CONF_ID, SERVICE_RELOAD
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util.file import write_utf8_file_atomic
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.yaml import dump, load_yaml
import voluptuous as vol

from .const import DOMAIN
from .rule_resolver import RegistryResolver
from .rules import Claim, RuleError, claim, compile_rules, lockouts, parse_rules, with_lockout
from .service_input import invalid, plain_json

AUTOMATION_DOMAIN = "automation"
SERVICE_IMPORT_RULES = "import_rules"
ATTR_RULES = "rules"
ATTR_FILE = "file"
ATTR_DRY_RUN = "dry_run"
# A rules file is read whole; the seed's rule sets are a few KiB.
MAX_FILE_BYTES = 1024 * 1024

IMPORT_RULES_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Exclusive(ATTR_RULES, "source"): vol.Any(dict, list),
            vol.Exclusive(ATTR_FILE, "source"): cv.string,
            vol.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
        }
    ),
    cv.has_at_least_one_key(ATTR_RULES, ATTR_FILE),
)

# Without the automation editor (the `config` integration not loaded) imports still write
# automations.yaml one at a time.
DATA_IMPORT_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_import_lock")
EDITOR_URL = f"/api/config/{AUTOMATION_DOMAIN}/config/{{config_key}}"
# The priority claims of every imported rule, so that lockouts hold between rules imported
# at different times (automations.yaml has no place for a rule's priority).
CLAIMS_STORE_KEY = f"{DOMAIN}.rule_claims"
DATA_CLAIMS_STORE: HassKey[Store[dict[str, Any]]] = HassKey(CLAIMS_STORE_KEY)
# The claims in memory (loaded at setup): relays get their edge rules' priorities from them.
DATA_CLAIMS: HassKey[dict[str, Claim]] = HassKey(f"{DOMAIN}_rule_claims")


def _claims_store(hass: HomeAssistant) -> Store[dict[str, Any]]:
    store = hass.data.get(DATA_CLAIMS_STORE)
    if store is None:
        store = hass.data[DATA_CLAIMS_STORE] = Store(hass, 1, CLAIMS_STORE_KEY)
    return store


async def async_load_claims(hass: HomeAssistant) -> dict[str, Claim]:
    """The claims of every imported rule, by automation id (read once, then kept)."""
    claims = hass.data.get(DATA_CLAIMS)
    if claims is None:
        saved = await _claims_store(hass).async_load() or {}
        claims = hass.data[DATA_CLAIMS] = {aid: Claim.from_dict(c) for aid, c in saved.items()}
    return claims


def rule_claims(hass: HomeAssistant) -> Mapping[str, Claim]:
    """The claims loaded at setup, by automation id (empty before)."""
    claims: dict[str, Claim] | None = hass.data.get(DATA_CLAIMS)
    return claims or {}


def _write_lock(hass: HomeAssistant) -> asyncio.Lock:
    """The lock the automation editor holds while it reads, changes and writes
    automations.yaml (`config/view.py`, `BaseEditConfigView.mutation_lock`), so that a save
    in the editor and an import never interleave and lose one of them. The view keeps it on
    itself; HA hands the view to the route's handler (`request_handler_factory(hass, view,
    ...)`), where it is found by the editor's URL."""
    for route in hass.http.app.router.routes() if hass.http is not None else ():
        if route.method != "POST" or route.resource is None:
            continue
        if route.resource.canonical != EDITOR_URL:
            continue
        view = inspect.getclosurevars(route.handler).nonlocals.get("view")
        lock = getattr(view, "mutation_lock", None)
        if isinstance(lock, asyncio.Lock):
            return lock
    return hass.data.setdefault(DATA_IMPORT_LOCK, asyncio.Lock())


def _rule_list(data: Any) -> Any:
    """A list of rules from a single rule, a list, or a file's `{"rules": [...]}`."""
    data = plain_json(data)
    if isinstance(data, dict) and isinstance(data.get(ATTR_RULES), list):
        return data[ATTR_RULES]
    return [data] if isinstance(data, dict) else data


def _read_rules_file(hass: HomeAssistant, name: str) -> Any:
    """JSON or YAML rules from a file in the config directory (or an allowlisted one)."""
    config_dir = Path(hass.config.config_dir).resolve()
    path = (config_dir / name).resolve()
    if not (path.is_relative_to(config_dir) or hass.config.is_allowed_path(str(path))):
        raise invalid("rules_file_not_allowed", file=name)
    if not path.is_file():
        raise invalid("rules_file_missing", file=name)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise invalid("rules_file_unreadable", file=name, error="larger than 1 MiB")
    try:
        return load_yaml(path)
    except HomeAssistantError as err:
        raise invalid("rules_file_unreadable", file=name, error=str(err)) from err


def _read_automations(path: str) -> list[dict[str, Any]]:
    if not Path(path).is_file():
        return []
    current = load_yaml(path)
    if current is None:
        return []
    if not isinstance(current, list):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="automations_not_a_list",
            translation_placeholders={"path": path},
        )
    return current


def _rejected(rules: Any, path: str, error: str) -> ServiceValidationError:
    """The translated error of a rejected rule, naming it by id and name when it has them
    (a path alone, `[6].triggers[0]`, makes the user count rules in their file)."""
    match = re.match(r"\[(\d+)\]", path)
    item = rules[int(match[1])] if match and isinstance(rules, list) else None
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        name = item.get("name")
        return invalid(
            "invalid_rule_named",
            rule_id=item["id"],
            name=name if isinstance(name, str) else item["id"],
            path=path,
            error=error,
        )
    return invalid("invalid_rule", path=path, error=error)


async def async_import_rules(call: ServiceCall) -> ServiceResponse:
    """Create or update the automations of a rule set; what was created, updated, unchanged."""
    hass = call.hass
    if ATTR_FILE in call.data:
        data = await hass.async_add_executor_job(_read_rules_file, hass, call.data[ATTR_FILE])
    else:
        data = call.data[ATTR_RULES]
    raw = _rule_list(data)
    resolver = RegistryResolver(hass)
    try:
        rules = parse_rules(raw)
        configs = compile_rules(rules, resolver)
        new_claims = {rule.automation_id: claim(rule, resolver) for rule in rules}
    except RuleError as err:
        raise _rejected(raw, err.path, err.detail) from err
    for position, config in enumerate(configs):
        try:
            await async_validate_config_item(hass, config[CONF_ID], config)
        except (vol.Invalid, HomeAssistantError) as err:
            raise _rejected(raw, f"[{position}]", str(err)) from err

    if call.data[ATTR_DRY_RUN]:
        preview: dict[str, Any] = {
            "created": [],
            "updated": [],
            "unchanged": [],
            "automations": configs,
        }
        return preview
    if not hass.services.has_service(AUTOMATION_DOMAIN, SERVICE_RELOAD):
        raise invalid("automation_not_loaded")

    path = hass.config.path(AUTOMATION_CONFIG_PATH)
    store = _claims_store(hass)
    async with _write_lock(hass):
        current = await hass.async_add_executor_job(_read_automations, path)
        by_id = {item.get(CONF_ID): i for i, item in enumerate(current)}
        # Rules imported earlier (still in the file) and this set lock each other out.
        saved = await async_load_claims(hass)
        claims = {aid: c for aid, c in saved.items() if aid in by_id}
        claims.update(new_claims)
        locked = lockouts(claims)
        configs = [with_lockout(config, locked[config[CONF_ID]]) for config in configs]
        created: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        for aid in sorted(claims.keys() - new_claims.keys(), key=by_id.__getitem__):
            earlier = by_id[aid]
            relocked = with_lockout(current[earlier], locked[aid])
            if relocked != current[earlier]:
                current[earlier] = relocked
                updated.append(aid)
        for config in configs:
            index = by_id.get(config[CONF_ID])
            if index is None:
                current.append(config)
                created.append(config[CONF_ID])
            elif current[index] == config:
                unchanged.append(config[CONF_ID])
            else:
                current[index] = config
                updated.append(config[CONF_ID])
        # Before the reload: what reads the reloaded automations back (the relays' edge rules)
        # finds their priorities.
        hass.data[DATA_CLAIMS] = claims
        await store.async_save({aid: c.to_dict() for aid, c in claims.items()})
        if created or updated:
            contents = dump(current)  # before opening the file: a dump error truncates nothing
            await hass.async_add_executor_job(write_utf8_file_atomic, path, contents)
            await hass.services.async_call(AUTOMATION_DOMAIN, SERVICE_RELOAD, blocking=True)

    registry = er.async_get(hass)
    response: dict[str, Any] = {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "automations": [
            {
                "id": config[CONF_ID],
                "alias": config["alias"],
                "entity_id": registry.async_get_entity_id(
                    AUTOMATION_DOMAIN, AUTOMATION_DOMAIN, config[CONF_ID]
                ),
            }
            for config in configs
        ],
    }
    return response
