"""Translations: German has every English string with the same placeholders, and every
placeholder a string uses is one the code passes (HA logs an error for each one missing)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
import functools
import json
from pathlib import Path
import re
from typing import Any

from custom_components.automationone.subentry_flow import SUBENTRY_FLOWS

CODE = Path(__file__).parents[2] / "custom_components/automationone"
FOLDER = CODE / "translations"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _leaves(tree: Any, path: str = "") -> dict[str, set[str]]:
    """Every translated string by dotted path, with the placeholders it uses."""
    if isinstance(tree, dict):
        out: dict[str, set[str]] = {}
        for key, value in tree.items():
            out |= _leaves(value, f"{path}.{key}" if path else key)
        return out
    return {path: set(PLACEHOLDER.findall(tree))}


ENGLISH = _leaves(json.loads((FOLDER / "en.json").read_text(encoding="utf-8")))
GERMAN = _leaves(json.loads((FOLDER / "de.json").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Site:
    """Where the code names translated strings (`paths`, a regex) and the placeholders it passes."""

    where: str
    paths: str
    provided: frozenset[str]


def _pattern(node: ast.expr) -> list[str]:
    """Regexes for the translation key an expression can evaluate to ([] when unknown)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.escape(node.value)]
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(
                re.escape(v.value) if isinstance(v, ast.Constant) else r"\w+" for v in node.values
            )
        ]
    if isinstance(node, ast.IfExp):
        return _pattern(node.body) + _pattern(node.orelse)
    return []


def _keys(node: ast.expr | None) -> frozenset[str] | None:
    """The keys of a dict literal, or of the dict literal a helper of ours returns (None when
    not known)."""
    if node is None:
        return frozenset()
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return frozenset(str(k.value) for k in node.keys if isinstance(k, ast.Constant))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _helper_keys().get(node.func.id)
    return None


@functools.cache
def _helper_keys() -> dict[str, frozenset[str]]:
    """Module-level functions of the integration whose only return is a dict literal."""
    found: dict[str, frozenset[str]] = {}
    for path in sorted(CODE.glob("*.py")):
        for func in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(func, ast.FunctionDef):
                continue
            returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
            value = returns[0].value if len(returns) == 1 else None
            if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys):
                found[func.name] = frozenset(
                    str(k.value) for k in value.keys if isinstance(k, ast.Constant)
                )
    return found


def _subentry_types(class_name: str) -> str:
    types = [
        t for t, cls in SUBENTRY_FLOWS.items() if class_name in {c.__name__ for c in cls.__mro__}
    ]
    return "(" + "|".join(types) + ")"


def _sites() -> list[Site]:
    sites: list[Site] = []
    placeholders: dict[str, set[str]] = {}
    imports: dict[str, set[str]] = {}
    for path in sorted(CODE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        flow_root = {"config_flow.py": "config", "subentry_flow.py": "config_subentries"}.get(
            path.name
        )
        entity_keys: set[str] = set()
        for scope in tree.body:
            section = flow_root
            if flow_root == "config_subentries":  # per flow class: the subentry types it serves
                if not isinstance(scope, ast.ClassDef):
                    continue
                section = rf"config_subentries\.{_subentry_types(scope.name)}"
            elif isinstance(scope, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "OptionsFlow" for b in scope.bases
            ):
                section = "options"  # an options flow's steps live under options.step
            for func in ast.walk(scope):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(func):
                    if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Attribute) and t.attr == "_attr_translation_placeholders"
                        for t in node.targets
                    ):
                        entity_keys |= _keys(node.value) or set()
                    if isinstance(node, ast.Call):
                        sites += _call_sites(path.name, section, func, node, tree)
        placeholders[path.stem] = entity_keys
        imports[path.stem] = {
            node.module
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    for platform in ("sensor", "binary_sensor", "switch", "light", "button"):
        # A platform's entities may be defined in a module it imports (prediction_entity.py).
        provided = placeholders[platform].union(
            *(placeholders.get(m, set()) for m in imports[platform])
        )
        sites.append(Site(f"{platform}.py", rf"entity\.{platform}\.\w+\.name", frozenset(provided)))
    return sites


def _call_sites(
    file: str,
    section: str | None,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    call: ast.Call,
    tree: ast.Module,
) -> list[Site]:
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    where = f"{file}:{call.lineno}"
    if name == "invalid" and call.args:  # service_input.invalid(key, **placeholders)
        provided = frozenset(k.arg for k in call.keywords if k.arg)
        return [Site(where, rf"exceptions\.{p}\.message", provided) for p in _pattern(call.args[0])]
    if "translation_key" in kw and "translation_placeholders" in kw:
        key, given = kw["translation_key"], kw["translation_placeholders"]
        params = {a.arg for a in func.args.args}
        if isinstance(key, ast.Name) and isinstance(given, ast.Name) and given.id in params:
            return _forwarded_sites(where, name, func, key.id, given.id, tree)
        provided = _keys(given)
        if provided is None:  # service_input.invalid passes its keywords on: seen at its callers
            assert file == "service_input.py", f"{where}: placeholders not a dict literal"
            return []
        root = (
            r"issues\.{}\.(title|description)"
            if name == "async_create_issue"
            else r"exceptions\.{}\.message"
        )
        return [Site(where, root.format(p), provided) for p in _pattern(kw["translation_key"])]
    if section is None or name not in {"async_show_form", "async_abort", "async_show_menu"}:
        return []
    provided = _keys(kw.get("description_placeholders"))
    if provided is None:
        return []
    if name == "async_abort":
        return [Site(where, rf"{section}\.abort\.{p}", provided) for p in _pattern(kw["reason"])]
    step = kw["step_id"]
    steps = _pattern(step)
    if isinstance(step, ast.Name):  # a parameter: the constant each caller passes
        params = [a.arg for a in func.args.args]
        index = params.index(step.id) - 1  # without self
        steps = [
            p
            for c in ast.walk(tree)
            if isinstance(c, ast.Call)
            and isinstance(c.func, ast.Attribute)
            and c.func.attr == func.name
            for p in _pattern(c.args[index])
        ]
        assert steps, f"{where}: no caller names the step"
    return [Site(where, rf"{section}\.step\.{p}\.(title|description)", provided) for p in steps]


def _forwarded_sites(
    where: str,
    name: str,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    key_param: str,
    placeholders_param: str,
    tree: ast.Module,
) -> list[Site]:
    """A helper that passes its key and placeholders parameters on: each caller's literals."""
    params = [a.arg for a in func.args.args]
    root = (
        r"issues\.{}\.(title|description)"
        if name == "async_create_issue"
        else r"exceptions\.{}\.message"
    )
    sites = []
    for c in ast.walk(tree):
        if not (isinstance(c, ast.Call) and getattr(c.func, "id", None) == func.name):
            continue
        args = dict(zip(params, c.args, strict=False)) | {
            k.arg: k.value for k in c.keywords if k.arg
        }
        provided = _keys(args[placeholders_param])
        assert provided is not None, f"{where}: a caller's placeholders are not a dict literal"
        caller = f"{where} via line {c.lineno}"
        sites += [Site(caller, root.format(p), provided) for p in _pattern(args[key_param])]
    assert sites, f"{where}: no caller passes a translation key"
    return sites


SITES = _sites()


def test_german_has_every_english_string_with_its_placeholders() -> None:
    """Same keys, and each German string uses exactly the English one's placeholders."""
    assert GERMAN.keys() == ENGLISH.keys()
    assert {k: (v, ENGLISH[k]) for k, v in GERMAN.items() if v != ENGLISH[k]} == {}


def test_every_placeholder_is_passed_by_the_code() -> None:
    """Each string the code names exists, and uses only placeholders the code passes."""
    assert len(SITES) > 20  # the scan found the raises, issues, flows and entities
    missing: dict[str, list[str]] = {}
    for site in SITES:
        matched = [p for p in ENGLISH if re.fullmatch(site.paths, p)]
        if not matched and ":" in site.where:  # a call names one string; a platform many
            missing.setdefault(site.where, []).append(f"no string {site.paths}")
        for path in matched:
            for language, strings in (("en", ENGLISH), ("de", GERMAN)):
                if not strings[path] <= site.provided:
                    extra = sorted(strings[path] - site.provided)
                    missing.setdefault(site.where, []).append(f"{language} {path}: {extra}")
    assert missing == {}


def test_scan_sees_a_missing_placeholder() -> None:
    """The check above would catch a string naming a placeholder the code does not pass."""
    site = next(s for s in SITES if s.paths.startswith(r"exceptions\.refused_"))
    assert "seconds" in site.provided
    assert ENGLISH["exceptions.refused_cooldown.message"] <= site.provided
    assert not {"nonexistent"} <= site.provided
