"""On-device processing: the integration's processors and the `proc` objects HA pushes agree
with tests/vectors/processors/on_device.json, which the firmware core also passes
(firmware/tests/test_processing.cpp)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from custom_components.automationone import protocol as p
from custom_components.automationone.processors import Calibration, Processor
from custom_components.automationone.processors.builtin import BUILTIN_FACTORIES
from custom_components.automationone.processors.on_device import device_program
from custom_components.automationone.protocol.messages import _to_json

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "processors" / "on_device.json").read_text(
        encoding="utf-8"
    )
)["vectors"]
PROCESSORS: dict[str, Processor] = {proc.id: proc for proc in (f() for f in BUILTIN_FACTORIES)}


def _calibration(vector: dict[str, Any]) -> Calibration | None:
    data = vector["calibration"]
    return Calibration.from_dict(data) if data else None


def test_vectors_cover_every_on_device_type() -> None:
    """Every built-in that fits a device has vectors, with each quality it can give."""
    kinds = {v["proc"]["kind"] for v in VECTORS}
    assert kinds == {"analog", "linear", "ph", "ec", "ntc", "light", "soil", "level"}
    qualities = {c["quality"] for v in VECTORS for c in v["cases"]}
    assert qualities == {"good", "uncalibrated", "suspect", "bad"}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_processor_gives_the_vector(vector: dict[str, Any]) -> None:
    """The Python processor gives each case's value and quality."""
    processor = PROCESSORS[vector["processor"]]
    calibration = _calibration(vector)
    params = vector["params"] or None
    for case in vector["cases"]:
        result = processor.process(
            case["raw"], calibration=calibration, params=params, temperature_c=case["temperature_c"]
        )
        assert result.quality == case["quality"], case
        if case["value"] is None:
            assert result.value is None, case
        else:
            assert result.value == pytest.approx(case["value"], rel=1e-12, abs=1e-12), case


def _close(got: Any, want: Any) -> bool:
    """`got` equals `want`, floats within rounding of each other (1e-9 relative, 1e-14)."""
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_close(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_close(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float) and not isinstance(got, bool):
        return got == pytest.approx(want, rel=1e-9, abs=1e-14)
    return bool(type(got) is type(want) and got == want)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_pushed_proc_is_the_vector_and_a_valid_config(vector: dict[str, Any]) -> None:
    """HA derives the vector's `proc`, and a config carrying it parses back to the same."""
    processor = PROCESSORS[vector["processor"]]
    program = device_program(
        processor, _calibration(vector), vector["params"] or None, vector["temperature_gpio"]
    )
    assert program is not None
    # The fit's last bits depend on the machine's BLAS (numpy.polyfit): equal to rounding.
    assert _close(_to_json(program), vector["proc"])
    sensor = p.SensorConfig(
        gpio=34, type=processor.device_type, interval_ms=5000, mode="processed", proc=program
    )
    config = p.DeviceConfig(version=1, sensors=(sensor,), actuators=())
    assert p.parse_config(p.encode(config)).sensors[0] == sensor


def test_processors_without_a_device_program() -> None:
    """Digital sensors are decoded on the device by their driver: no proc object."""
    assert device_program(PROCESSORS["ds18b20"], None, None) is None


def test_config_with_proc_rejects_bad_kind() -> None:
    """The schema checks the proc object like every other field."""
    payload = {"v": 1, "version": 1, "actuators": [], "sensors": [
        {"gpio": 34, "type": "ph", "interval_ms": 5000, "proc": {"kind": "magic"}}
    ]}  # fmt: skip
    with pytest.raises(p.ProtocolError) as err:
        p.parse_config(orjson.dumps(payload))
    assert (err.value.code, err.value.path) == ("bad_value", "sensors[0].proc.kind")
