"""Write on_device.json: the integration's processors on chosen inputs, and the `proc` object
HA pushes for them. The firmware core (firmware/tests/test_processing.cpp) and the Python
processors (tests/core/test_on_device.py) must both give these values and quality flags.

Run from the repository root: .venv/bin/python tests/vectors/processors/generate_on_device.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from custom_components.automationone.processors import Calibration, Processor
from custom_components.automationone.processors.builtin import (
    AnalogProcessor,
    EcProcessor,
    LightProcessor,
    LinearProcessor,
    NtcProcessor,
    PhProcessor,
    SoilMoistureProcessor,
    TdsProcessor,
    WaterLevelProcessor,
)
from custom_components.automationone.processors.on_device import device_program
from custom_components.automationone.protocol.messages import _to_json

OUT = Path(__file__).with_name("on_device.json")
ADC_COUNTS = [
    -1,
    0,
    1,
    150,
    1000,
    1861.5,
    2048,
    2879,
    2880,
    2900,
    3500,
    4031,
    4032,
    4094,
    4095,
    4096,
]
TEMPS = [None, 4.0, 25.0, 40.0]

CASES: list[
    tuple[str, Processor, dict[str, Any], dict[str, Any] | None, list[float], list[Any]]
] = [
    ("analog esp32 11 dB", AnalogProcessor(), {}, None, ADC_COUNTS, [None]),
    (
        "analog esp32 6 dB, divider 2",
        AnalogProcessor(),
        {"adc": "esp32_6db", "divider_ratio": 2.0},
        None,
        ADC_COUNTS,
        [None],
    ),
    ("analog c3", AnalogProcessor(), {"adc": "esp32c3_11db"}, None, ADC_COUNTS, [None]),
    (
        "analog calibrated",
        AnalogProcessor(),
        {},
        {"points": [[100, 0.2], [2000, 1.65], [4000, 3.1]], "degree": 2},
        ADC_COUNTS,
        [None],
    ),
    (
        "linear scale offset",
        LinearProcessor(),
        {"scale": 0.5, "offset": 3.0, "unit": "cm"},
        None,
        [-5, 0, 1, 2.5, 1000, 70000],
        [None],
    ),
    (
        "linear calibrated",
        LinearProcessor(),
        {"unit": "l"},
        {"points": [[0, 1], [10, 3], [20, 9]], "degree": 2},
        [0, 5, 15, 30],
        [None],
    ),
    ("ph uncalibrated", PhProcessor(), {}, None, ADC_COUNTS, TEMPS),
    (
        "ph two buffers at 20 degC",
        PhProcessor(),
        {},
        {"points": [[1861, 7.0], [2400, 4.0]], "temperature_c": 20.0},
        ADC_COUNTS,
        TEMPS,
    ),
    (
        "ph three buffers piecewise",
        PhProcessor(),
        {"adc": "linear_3v3"},
        {"points": [[2400, 4.0], [1861, 7.0], [1300, 10.0]]},
        ADC_COUNTS,
        TEMPS,
    ),
    (
        "ph one buffer",
        PhProcessor(),
        {"slope_mv_per_ph": -59.16},
        {"points": [[1800, 7.0]], "temperature_c": 30.0},
        [1, 1700, 1800, 1900, 4094],
        TEMPS,
    ),
    (
        "ec uncalibrated",
        EcProcessor(),
        {"cell_constant": 1.0, "gain_us_per_mv": 1.2},
        None,
        ADC_COUNTS,
        TEMPS,
    ),
    (
        "ec one point",
        EcProcessor(),
        {},
        {"points": [[1200, 1413.0]], "temperature_c": 22.0},
        ADC_COUNTS,
        TEMPS,
    ),
    (
        "ec two points with offset",
        EcProcessor(),
        {"alpha": 0.019},
        {"points": [[300, 84.0], [1200, 1413.0]]},
        ADC_COUNTS,
        TEMPS,
    ),
    ("tds", TdsProcessor(), {"tds_factor": 0.64}, {"points": [[1200, 1413.0]]}, ADC_COUNTS, TEMPS),
    ("ntc beta low side", NtcProcessor(), {}, None, ADC_COUNTS, [None]),
    (
        "ntc high side 100k",
        NtcProcessor(),
        {"ntc_position": "high", "r0_ohm": 100000.0, "series_ohm": 100000.0, "beta": 4250.0},
        None,
        ADC_COUNTS,
        [None],
    ),
    (
        "ntc steinhart-hart",
        NtcProcessor(),
        {"sh_a": 1.009249522e-03, "sh_b": 2.378405444e-04, "sh_c": 2.019202697e-07},
        None,
        ADC_COUNTS,
        [None],
    ),
    (
        "ntc corrected",
        NtcProcessor(),
        {},
        {"points": [[20.0, 20.5], [30.0, 30.9]]},
        ADC_COUNTS,
        [None],
    ),
    ("light default", LightProcessor(), {}, None, ADC_COUNTS, [None]),
    (
        "light low side corrected",
        LightProcessor(),
        {"ldr_position": "low", "gamma": 0.8},
        {"points": [[10.0, 12.0], [500.0, 450.0]]},
        ADC_COUNTS,
        [None],
    ),
    ("soil defaults", SoilMoistureProcessor(), {}, None, ADC_COUNTS, [None]),
    (
        "soil dry wet params",
        SoilMoistureProcessor(),
        {"dry_count": 2800.0, "wet_count": 1200.0},
        None,
        ADC_COUNTS,
        [None],
    ),
    (
        "soil calibrated",
        SoilMoistureProcessor(),
        {},
        {"points": [[3100, 0.0], [1400, 100.0]]},
        ADC_COUNTS,
        [None],
    ),
    ("water level adc defaults", WaterLevelProcessor(), {}, None, ADC_COUNTS, [None]),
    (
        "water level adc counts",
        WaterLevelProcessor(),
        {"empty_count": 400.0, "full_count": 3600.0, "full_cm": 80.0},
        None,
        ADC_COUNTS,
        [None],
    ),
    (
        "water level calibrated",
        WaterLevelProcessor(),
        {"full_cm": 50.0},
        {"points": [[500, 0.0], [3500, 48.0]]},
        ADC_COUNTS,
        [None],
    ),
    (
        "water level distance",
        WaterLevelProcessor(),
        {"source": "distance", "tank_height_cm": 120.0, "min_distance_cm": 25.0},
        None,
        [-3, 0, 10, 25, 60.5, 120, 130],
        [None],
    ),
]


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def main() -> None:
    vectors = []
    for name, processor, params, cal_dict, raws, temps in CASES:
        calibration = Calibration.from_dict(cal_dict) if cal_dict else None
        temperature_gpio = 4 if processor.uses_temperature else None
        program = device_program(processor, calibration, params or None, temperature_gpio)
        assert program is not None, name
        cases = []
        for raw in raws:
            for temp in temps:
                result = processor.process(
                    raw, calibration=calibration, params=params or None, temperature_c=temp
                )
                cases.append(
                    {
                        "raw": raw,
                        "temperature_c": temp,
                        "value": _number(result.value),
                        "quality": result.quality.value,
                    }
                )
        vectors.append(
            {
                "name": name,
                "processor": processor.id,
                "params": params,
                "calibration": cal_dict,
                "temperature_gpio": temperature_gpio,
                "proc": _to_json(program),
                "cases": cases,
            }
        )
    doc = {
        "description": (
            "On-device processing (docs/protocol.md, 'On-device processing'): for each vector, "
            "`proc` is what HA pushes in the sensor's config entry for `processor` with `params` "
            "and `calibration` (points [raw, reference]); each case gives the raw reading, the "
            "temperature of the device's sensor `proc.temp` (null: none) and the expected value "
            "(null: no value) and quality. Written by generate_on_device.py from the integration's "
            "processors; the firmware core must give the same (values within 1e-9 relative)."
        ),
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(vectors)} vectors, {sum(len(v['cases']) for v in vectors)} cases")


if __name__ == "__main__":
    main()
