"""Edge rules in Home Assistant: which automations a relay can run alone, and what it gets.

Every automation is read back into a rule (`rules.decompile`, as the backtest does); its
entities are mapped to the pins of our ESPs. A rule whose triggers, conditions and actions
all involve devices behind one relay, whose sensors that relay can compute the way HA does,
and that notifies nobody, is that relay's edge rule; every other rule touching the relay's
devices is "HA only", with the reason. Disabled automations (switched off) are not handed out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import hashlib
from typing import Any

from homeassistant.components.automation import DATA_COMPONENT as AUTOMATIONS
from homeassistant.const import CONF_ID, STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from .const import (
    CONF_ADDR,
    CONF_BOARD,
    CONF_CALIBRATION,
    CONF_ESP_ID,
    CONF_FILTER,
    CONF_GPIO,
    CONF_KAISER_ID,
    CONF_KIND,
    CONF_MODE,
    CONF_PARAMS,
    CONF_SENSOR_TYPE,
    CONF_TEMPERATURE_ENTITY,
    DOMAIN,
    KIND_ESP,
    MODE_RAW,
)
from .plugins import get_processors
from .processors import BUILTIN_IDS, adc_model_for
from .protocol.relay import EdgeSensor
from .registry import is_actuator, is_processed_sensor
from .rule_import import rule_claims
from .rule_resolver import RegistryResolver
from .rules import EntityRef, PinRef, Ref, Rule, RuleError, rule_to_dict
from .rules.decompile import rule_from_automation
from .rules.edge import edge_scope, map_refs, rule_references
from .service_input import plain_json


@dataclass(slots=True)
class RelayRules:
    """What one relay gets (edge rules and their sensors) and what stays with HA."""

    rules: list[Rule] = field(default_factory=list)
    sensors: dict[PinRef, EdgeSensor] = field(default_factory=dict)
    # automation entity id -> rule id, of the edge rules
    automations: dict[str, str] = field(default_factory=dict)
    # rule id -> why HA keeps it
    ha_only: dict[str, str] = field(default_factory=dict)

    def version(self) -> int:
        """A version that changes with the content (1 .. 2^31-1)."""
        text = repr(
            (
                [rule_to_dict(r) for r in self.rules],
                sorted(repr(s) for s in self.sensors.values()),
            )
        )
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4]) % (2**31 - 1) + 1

    def rule_dicts(self) -> tuple[Mapping[str, Any], ...]:
        """The rules in their JSON form (docs/rules.md)."""
        return tuple(rule_to_dict(r) for r in self.rules)


@dataclass(slots=True)
class _Pin:
    ref: PinRef
    kaiser_id: str
    sensor: EdgeSensor | None
    problem: str | None


def _pins(hass: HomeAssistant) -> tuple[dict[str, _Pin], dict[str, str]]:
    """Entity id -> pin of every sensor and actuator of ours; esp id -> kaiser id."""
    registry = er.async_get(hass)
    processors = get_processors(hass)
    pins: dict[str, _Pin] = {}
    kaisers: dict[str, str] = {}
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_KIND, KIND_ESP) != KIND_ESP:
            continue
        esp_id = entry.data[CONF_ESP_ID]
        kaiser_id = entry.data[CONF_KAISER_ID]
        kaisers[esp_id] = kaiser_id
        for reg in er.async_entries_for_config_entry(registry, entry.entry_id):
            subentry = entry.subentries.get(reg.config_subentry_id or "")
            if subentry is None:
                continue
            data = subentry.data
            ref = PinRef(esp_id, data[CONF_GPIO], data.get(CONF_ADDR) or None)
            if is_actuator(hass, reg):
                pins[reg.entity_id] = _Pin(ref, kaiser_id, None, None)
            elif is_processed_sensor(hass, reg):
                processor = processors.get(data[CONF_SENSOR_TYPE])
                problem = None
                if processor is None or processor.id not in BUILTIN_IDS:
                    problem = "plugin_sensor"
                elif processor.uses_temperature and data.get(CONF_TEMPERATURE_ENTITY):
                    problem = "temperature_entity"
                elif data.get(CONF_FILTER, "none") != "none":
                    problem = "filter"
                sensor = None
                if processor is not None and problem is None:
                    sensor = EdgeSensor(
                        esp_id=esp_id,
                        gpio=ref.gpio,
                        addr=ref.addr,
                        quantity=processor.quantity,
                        processor=processor.id,
                        mode=data.get(CONF_MODE, MODE_RAW),
                        params={
                            "adc": adc_model_for(entry.data.get(CONF_BOARD)),
                            **data.get(CONF_PARAMS, {}),
                        },
                        calibration=data.get(CONF_CALIBRATION),
                    )
                pins[reg.entity_id] = _Pin(ref, kaiser_id, sensor, problem)
    return pins, kaisers


def relay_rules(hass: HomeAssistant) -> dict[str, RelayRules]:
    """Kaiser id -> its edge rules and HA-only rules, from every automation."""
    out: dict[str, RelayRules] = {}
    component = hass.data.get(AUTOMATIONS)
    if component is None:
        return out
    pins, kaisers = _pins(hass)
    by_ref = {pin.ref: pin for pin in pins.values()}
    resolver = RegistryResolver(hass)
    # An automation has no place for its rule's priority; the import keeps it (its claim).
    claims = rule_claims(hass)

    def to_pin(ref: Ref) -> Ref:
        if isinstance(ref, EntityRef) and (pin := pins.get(ref.entity_id)) is not None:
            return pin.ref
        return ref

    def sensor_problem(ref: PinRef) -> str | None:
        pin = by_ref.get(ref)
        if pin is None:
            return "unknown_sensor"
        return pin.problem if pin.sensor is None else None

    for automation in component.entities:
        if automation.raw_config is None:
            continue
        config = plain_json(automation.raw_config)
        if not config.get(CONF_ID) and automation.unique_id:
            config[CONF_ID] = automation.unique_id
        try:
            rule = map_refs(rule_from_automation(config, resolver), to_pin)
        except RuleError:
            continue  # not a rule of ours: it stays an ordinary HA automation
        if (
            found := claims.get(config.get(CONF_ID))
        ) is not None and found.priority != rule.priority:
            rule = replace(rule, priority=found.priority)
        touched = {
            kaisers.get(ref if isinstance(ref, str) else ref.esp_id)
            for ref in rule_references(rule)
            if not isinstance(ref, EntityRef)
        }
        kaiser_id, reason = edge_scope(rule, kaisers.get, sensor_problem)
        state = hass.states.get(automation.entity_id)
        if kaiser_id is not None and state is not None and state.state == STATE_OFF:
            kaiser_id, reason = None, "disabled"
        if kaiser_id is not None:
            relay = out.setdefault(kaiser_id, RelayRules())
            relay.rules.append(rule)
            relay.automations[automation.entity_id] = rule.id
            for ref in rule_references(rule):
                if isinstance(ref, PinRef) and (pin := by_ref.get(ref)) and pin.sensor:
                    relay.sensors[ref] = pin.sensor
            continue
        for touched_kaiser in touched:
            if touched_kaiser is not None:
                out.setdefault(touched_kaiser, RelayRules()).ha_only[rule.id] = reason or "other"
    return out
