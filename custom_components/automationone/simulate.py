"""The `automationone.simulate_rule` service: when would a rule have fired over recorded history.

A rule in the seed's format, or an existing automation read back into a rule
(`rules.decompile`), is replayed over the recorder's states of every entity it reads with
`rules.backtest` (hysteresis, conditions, cooldown and hourly limit as the compiled automation
applies them). The response lists the firings with the commands they would have sent.
History from a day before `start` (at least the rule's spacing) primes hysteresis and cooldown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from homeassistant.components.automation import DATA_COMPONENT as AUTOMATIONS
from homeassistant.components.recorder import history
from homeassistant.const import CONF_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, State
from homeassistant.helpers import (
    config_validation as cv,
)
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import numpy as np
import voluptuous as vol

from .rule_resolver import RegistryResolver
from .rules import (
    AUTOMATION_ID_PREFIX,
    DeviceRef,
    Notify,
    Ref,
    Rule,
    RuleError,
    backtest,
    effective_actions,
    parse_rule,
    rule_to_dict,
)
from .rules.backtest import FloatArray, Series
from .rules.decompile import rule_from_automation
from .rules.history import action_dict, ref_key, references, series_from_states
from .service_input import invalid, plain_json

SERVICE_SIMULATE_RULE: Final = "simulate_rule"
ATTR_RULE: Final = "rule"
ATTR_AUTOMATION: Final = "automation"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
DEFAULT_RANGE: Final = timedelta(days=7)
MAX_RANGE: Final = timedelta(days=31)
PRIME: Final = timedelta(days=1)
MAX_FIRINGS: Final = 1000
"""The response lists at most this many firings; `count` has them all."""

SIMULATE_RULE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Exclusive(ATTR_RULE, "what"): dict,
            vol.Exclusive(ATTR_AUTOMATION, "what"): cv.string,
            vol.Optional(ATTR_START): cv.datetime,
            vol.Optional(ATTR_END): cv.datetime,
        }
    ),
    cv.has_at_least_one_key(ATTR_RULE, ATTR_AUTOMATION),
)


def _automation_rule(hass: HomeAssistant, wanted: str) -> tuple[str, Rule]:
    """The entity id of an automation (by entity id, config id or rule id) and its rule."""
    component = hass.data.get(AUTOMATIONS)
    found = None
    if component is not None:
        if wanted.startswith("automation."):
            found = component.get_entity(wanted)
        else:
            ids = (wanted, AUTOMATION_ID_PREFIX + wanted)
            found = next(
                (
                    a
                    for wanted_id in ids
                    for a in component.entities
                    if a.unique_id == wanted_id and a.raw_config is not None
                ),
                None,
            )
    if found is None or found.raw_config is None:
        raise invalid("simulate_unknown_automation", automation=wanted)
    config = plain_json(found.raw_config)
    if not config.get(CONF_ID) and found.unique_id:
        config[CONF_ID] = found.unique_id
    try:
        return found.entity_id, rule_from_automation(config, RegistryResolver(hass))
    except RuleError as err:
        raise invalid(
            "simulate_unsupported_automation",
            automation=found.entity_id,
            path=err.path,
            error=err.detail,
        ) from err


def _entities(
    rule: Rule, resolver: RegistryResolver
) -> tuple[dict[Ref | DeviceRef, str], list[str | None]]:
    """The entity of each history key, and the actuator entity of each effective action."""
    entities: dict[Ref | DeviceRef, str] = {}
    for ref, path in references(rule).items():
        if (entity_id := resolver.history_entity(ref)) is None:
            raise invalid("simulate_unknown_reference", path=path, reference=ref_key(ref))
        entities[ref] = entity_id
    actuators: list[str | None] = []
    for i, action in enumerate(rule.actions):
        if isinstance(action, Notify):
            actuators.append(None)  # reported as a notification, nothing to resolve
            continue
        if (entity_id := resolver.history_entity(action.actuator)) is None:
            path = f"actions[{i}].actuator"
            raise invalid(
                "simulate_unknown_reference", path=path, reference=ref_key(action.actuator)
            )
        actuators.append(entity_id)
    return entities, actuators


def _load_states(
    hass: HomeAssistant, entity_ids: list[str], start: datetime, end: datetime
) -> dict[str, list[tuple[float, str]]]:
    """Every recorded state of the entities in [start, end), and the one in effect at start."""
    found = history.get_significant_states(
        hass,
        start,
        end,
        entity_ids,
        include_start_time_state=True,
        significant_changes_only=False,
        minimal_response=False,
        no_attributes=True,
    )
    return {
        entity_id: [
            (state.last_updated_timestamp, state.state)
            for state in states
            if isinstance(state, State)
        ]
        for entity_id, states in found.items()
    }


def _iso(timestamp: float) -> str:
    return dt_util.as_local(datetime.fromtimestamp(timestamp, UTC)).isoformat()


def _range(data: dict[str, Any]) -> tuple[datetime, datetime]:
    end = dt_util.as_utc(data[ATTR_END]) if ATTR_END in data else dt_util.utcnow()
    start = dt_util.as_utc(data[ATTR_START]) if ATTR_START in data else end - DEFAULT_RANGE
    if start >= end:
        raise invalid("simulate_bad_range", start=start.isoformat(), end=end.isoformat())
    if end - start > MAX_RANGE:
        raise invalid("simulate_range_too_long", days=str(MAX_RANGE.days))
    return start, end


async def async_simulate_rule(call: ServiceCall) -> ServiceResponse:
    """Backtest a rule or an automation over recorded history (docs/rules.md)."""
    hass = call.hass
    start, end = _range(dict(call.data))
    if "recorder" not in hass.config.components:
        raise invalid("simulate_no_recorder")
    automation: str | None = None
    if ATTR_RULE in call.data:
        try:
            rule = parse_rule(plain_json(call.data[ATTR_RULE]))
        except RuleError as err:
            raise invalid("invalid_rule", path=err.path, error=err.detail) from err
    else:
        automation, rule = _automation_rule(hass, call.data[ATTR_AUTOMATION])
    entities, actuators = _entities(rule, RegistryResolver(hass))

    since = start - max(PRIME, timedelta(seconds=rule.min_spacing_s))
    states = await get_instance(hass).async_add_executor_job(
        _load_states, hass, sorted(set(entities.values())), since, end
    )
    series: dict[Ref | DeviceRef, Series] = {
        ref: series_from_states(states.get(entity_id, ())) for ref, entity_id in entities.items()
    }
    firings = backtest(
        rule,
        series,
        start.timestamp(),
        end.timestamp(),
        tz=dt_util.get_default_time_zone(),
    )
    actions = [
        action_dict(action, actuator)
        for action, actuator in zip(effective_actions(rule), actuators, strict=True)
    ]
    response: dict[str, Any] = {
        "rule": rule.id,
        "name": rule.name,
        "start": _iso(start.timestamp()),
        "end": _iso(end.timestamp()),
        "count": len(firings),
        "firings": [
            {"time": _iso(f.time), "trigger": f.trigger, "actions": actions}
            for f in firings[:MAX_FIRINGS]
        ],
        "truncated": len(firings) > MAX_FIRINGS,
        "triggers": rule_to_dict(rule)["triggers"],
        "history": _history_summary(entities, series),
    }
    if automation is not None:
        response["automation"] = automation
    return response


def _history_summary(
    entities: dict[Ref | DeviceRef, str], series: dict[Ref | DeviceRef, Series]
) -> dict[str, Any]:
    """Per reference: its entity and how many usable samples the recorder had."""
    return {
        ref_key(ref): {"entity_id": entity_id, "samples": _samples(series[ref][1])}
        for ref, entity_id in entities.items()
    }


def _samples(values: FloatArray) -> int:
    return int(np.count_nonzero(~np.isnan(values)))  # gaps are not samples
