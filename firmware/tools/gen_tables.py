#!/usr/bin/env python3
"""Generate the firmware core's C++ tables from the repository's single sources.

- custom_components/automationone/protocol/schemas/*.schema.json -> schema_tables.inc
  (a table-driven validator in a1/schema.cpp walks them; same error codes and paths as the
  Python parser, because both follow the same schema files and the same check order)
- custom_components/automationone/gpio/boards.json -> board_tables.inc

Usage: gen_tables.py <repo root> <output dir>. Only writes files whose content changed.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys

KINDS = [
    "announce", "heartbeat", "config", "config_ack", "sensor_data", "sensor_batch",
    "processed", "actuator_command", "actuator_status", "system_command", "emergency",
]  # fmt: skip
LARGE = {"config", "config_ack", "sensor_batch", "system_command"}

# Patterns the schemas use. A new pattern fails the build here until the C++ side knows it.
SPECIAL_PATTERNS = {
    "^([0-9a-f]{16}|0x[0-9a-f]{2})$": "kPatBusAddr",
    "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$": "kPatMac",
    "^https?://[^\\s]{1,250}$": "kPatHttpUrl",
}
CLASS_RUN = re.compile(r"^\^\[([^\]]+)\]\{(\d+),(\d+)\}\$$")

SCHEMAS = "custom_components/automationone/protocol/schemas"
BOARDS = "custom_components/automationone/gpio/boards.json"
RESERVED = {
    None: "kResNone", "flash": "kResFlash", "psram": "kResPsram", "usb": "kResUsb",
    "uart0": "kResUart0",
}  # fmt: skip
PIN_FLAGS = (
    ("input", "kPinInput"), ("output", "kPinOutput"), ("input_only", "kPinInputOnly"),
    ("strapping", "kPinStrapping"), ("pwm", "kPinPwm"), ("onewire", "kPinOneWire"),
    ("i2c", "kPinI2c"),
)  # fmt: skip
TYPE_BITS = {"object": 1, "array": 2, "string": 4, "number": 8, "integer": 16, "boolean": 32}


def expand_class(body: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return "".join(chars)


def c_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gen:
    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.props: list[str] = []
        self.names: list[str] = []
        self.patterns: list[str] = ['{kPatNone, "", 0, 0}']
        self.pattern_ids: dict[str, int] = {}

    def name_range(self, items: list[str]) -> tuple[int, int]:
        first = len(self.names)
        self.names.extend(items)
        return first, len(items)

    def pattern(self, pat: str) -> int:
        if pat in self.pattern_ids:
            return self.pattern_ids[pat]
        if pat in SPECIAL_PATTERNS:
            entry = f'{{{SPECIAL_PATTERNS[pat]}, "", 0, 0}}'
        else:
            m = CLASS_RUN.match(pat)
            if m is None:
                raise SystemExit(f"gen_tables: pattern not supported by the firmware: {pat}")
            chars = c_str(expand_class(m.group(1)))
            entry = f"{{kPatClassRun, {chars}, {m.group(2)}, {m.group(3)}}}"
        self.pattern_ids[pat] = len(self.patterns)
        self.patterns.append(entry)
        return self.pattern_ids[pat]

    def node(self, s: dict) -> int:
        index = len(self.nodes)
        self.nodes.append("")  # reserve; children get later indices
        types = s.get("type", [])
        types = [types] if isinstance(types, str) else types
        mask = 0
        for t in types:
            mask |= TYPE_BITS[t]
        flags = []
        if "minimum" in s:
            flags.append("kHasMin")
        if "maximum" in s:
            flags.append("kHasMax")
        if "const" in s:
            flags.append("kHasConst")
        props = s.get("properties", {})
        prop_entries = []
        for key, sub in props.items():
            prop_entries.append((key, self.node(sub)))
        pfirst = len(self.props)
        for key, child in prop_entries:
            self.props.append(f"{{{c_str(key)}, {child}}}")
        rfirst, rcount = self.name_range(list(s.get("required", [])))
        alts = []
        for alt in s.get("oneOf", []):
            if set(alt) != {"required"} or len(alt["required"]) != 1:
                raise SystemExit("gen_tables: oneOf only as a choice of single required fields")
            alts.append(alt["required"][0])
        ofirst, ocount = self.name_range(alts)
        efirst, ecount = self.name_range([str(e) for e in s.get("enum", [])])
        items = self.node(s["items"]) if "items" in s else -1
        pat = self.pattern(s["pattern"]) if "pattern" in s else 0
        self.nodes[index] = (
            f"{{{float(s.get('minimum', 0))!r}, {float(s.get('maximum', 0))!r}, "
            f"{float(s.get('const', 0))!r}, {mask}, {'|'.join(flags) or 0}, {pat}, "
            f"{s.get('minLength', -1)}, {s.get('maxLength', -1)}, {s.get('minItems', -1)}, "
            f"{s.get('maxItems', -1)}, {items}, {pfirst}, {len(prop_entries)}, {rfirst}, {rcount}, "
            f"{ofirst}, {ocount}, {efirst}, {ecount}}}"
        )
        return index


def schema_tables(root: Path) -> str:
    gen = Gen()
    roots = []
    for kind in KINDS:
        schema = json.loads((root / SCHEMAS / f"{kind}.schema.json").read_text())
        roots.append(gen.node(schema))
    out = [f"// Generated by firmware/tools/gen_tables.py from {SCHEMAS}. Do not edit.", ""]
    out.append("static const SchemaNode kSchemaNodes[] = {")
    out += [f"    {n}," for n in gen.nodes]
    out.append("};")
    out.append("static const SchemaProp kSchemaProps[] = {")
    out += [f"    {p}," for p in gen.props] or ["    {nullptr, -1},"]
    out.append("};")
    out.append("static const char *const kSchemaNames[] = {")
    out += [f"    {c_str(n)}," for n in gen.names]
    out.append("};")
    out.append("static const SchemaPattern kSchemaPatterns[] = {")
    out += [f"    {p}," for p in gen.patterns]
    out.append("};")
    out.append("static const KindInfo kKinds[] = {")
    for kind, r in zip(KINDS, roots, strict=True):
        out.append(f"    {{{c_str(kind)}, {r}, {4096 if kind in LARGE else 1024}}},")
    out.append("};")
    return "\n".join(out) + "\n"


def board_tables(root: Path) -> str:
    data = json.loads((root / BOARDS).read_text())
    out = [f"// Generated by firmware/tools/gen_tables.py from {BOARDS}. Do not edit.", ""]
    boards = []
    for name, board in data["boards"].items():
        ident = "kPins_" + name
        out.append(f"static const PinInfo {ident}[] = {{")
        for gpio, p in board["pins"].items():
            flags = [flag for key, flag in PIN_FLAGS if p[key]]
            adc1 = -1 if p["adc1"] is None else p["adc1"]
            adc2 = -1 if p["adc2"] is None else p["adc2"]
            touch = -1 if p["touch"] is None else p["touch"]
            reserved = RESERVED[p["reserved"]]
            boot_fail = p.get("boot_fail_level")
            boot_fail = -1 if boot_fail is None else int(boot_fail)
            fields = (
                f"{int(gpio)}, {'|'.join(flags) or 0}, {adc1}, {adc2}, {touch}, {reserved}, "
                f"{boot_fail}"
            )
            out.append(f"    {{{fields}}},")
        out.append("};")
        adc2_wifi = "true" if board["adc2_with_wifi"] else "false"
        fields = (
            f"{c_str(name)}, {c_str(board['chip'])}, {ident}, {len(board['pins'])}, "
            f"{board['pwm_channels']}, {adc2_wifi}"
        )
        boards.append(f"    {{{fields}}},")
    out.append("static const BoardInfo kBoards[] = {")
    out += boards
    out.append("};")
    return "\n".join(out) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main() -> None:
    root, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    write_if_changed(out_dir / "schema_tables.inc", schema_tables(root))
    write_if_changed(out_dir / "board_tables.inc", board_tables(root))


if __name__ == "__main__":
    main()
