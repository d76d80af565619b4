"""Processors batch benchmark: 1 M raw readings through `process_batch`, best of several runs.

pH: 12-bit ADC counts (int16, as a buffer replay would hold them) with a 3-point calibration,
a per-reading solution temperature (Nernst compensation) and quality flags. For comparison, in
the same run: the same with one temperature, EC (temperature-compensated), DS18B20 scratchpads
(CRC-8 per reading), pH through the per-reading `process()` (the live path), and a
plain-numpy anchor doing only the arithmetic of a linear conversion (`a * x + b` on float64).

numpy's element-wise kernels are single-threaded, so OPENBLAS_NUM_THREADS & co. do not matter
here (no BLAS call on the timed path); the environment is left as it is.
The last line is `processors-batch: <pH readings/s as an integer>`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.automationone.processors import (
    BUILTIN_PROCESSORS,
    Calibration,
    CalibrationPoint,
)
from simulator.signals import ds18b20_words, ph_to_adc

N = 1_000_000
RUNS = 25


def best_rate(fn: Callable[[], Any], n: int, runs: int = RUNS) -> float:
    """Readings per second of the fastest of `runs` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    """Run the benchmarks and print the figures."""
    rng = np.random.default_rng(1)
    ph_true = rng.normal(6.5, 1.0, N)
    counts = np.asarray([ph_to_adc(v) for v in ph_true[:4096]], dtype=np.int16)
    counts = np.resize(counts, N)
    counts[::997] = 4095  # some saturated readings
    temps = rng.uniform(15.0, 35.0, N)
    cal = Calibration(
        (
            CalibrationPoint(ph_to_adc(4.0), 4.0),
            CalibrationPoint(ph_to_adc(7.0), 7.0),
            CalibrationPoint(ph_to_adc(10.0), 10.0),
        ),
        temperature_c=22.0,
    )
    ph = BUILTIN_PROCESSORS["ph"]
    ec = BUILTIN_PROCESSORS["ec"]
    ds = BUILTIN_PROCESSORS["ds18b20"]
    params = {"adc": "linear_3v3"}
    values, quality = ph.process_batch(counts, calibration=cal, params=params, temperature_c=temps)
    assert values.shape == quality.shape == (N,)
    print(f"pH sample: value={values[1]:.3f} quality code={quality[1]} (true {ph_true[1]:.3f})")

    ph_rate = best_rate(
        lambda: ph.process_batch(counts, calibration=cal, params=params, temperature_c=temps), N
    )
    ph_scalar_t = best_rate(
        lambda: ph.process_batch(counts, calibration=cal, params=params, temperature_c=21.0), N
    )
    ec_cal = Calibration((CalibrationPoint(1500, 1413.0),), temperature_c=25.0)
    ec_rate = best_rate(
        lambda: ec.process_batch(counts, calibration=ec_cal, temperature_c=temps), N
    )
    n_ds = N // 10
    pads = np.asarray([ds18b20_words(t) for t in rng.uniform(-10, 40, 1000)], dtype=np.int64)
    pads = np.resize(pads, (n_ds, 5))
    ds_rate = best_rate(lambda: ds.process_batch(pads), n_ds)
    x = counts.astype(np.float64)
    anchor = best_rate(lambda: x * 0.0042 + 1.5, N)
    live = [int(c) for c in counts[1:20_001]]
    live_t = [float(t) for t in temps[1:20_001]]

    def one_by_one() -> None:
        for c, t in zip(live, live_t, strict=True):
            ph.process(c, calibration=cal, params=params, temperature_c=t)

    single = best_rate(one_by_one, len(live), runs=5)

    print(f"readings per run: {N:,} (DS18B20: {n_ds:,}), best of {RUNS}")
    print(f"ph (3-point, per-reading temperature, quality): {ph_rate:,.0f} readings/s")
    print(f"ph (3-point, one temperature, quality):         {ph_scalar_t:,.0f} readings/s")
    print(f"ec (per-reading temperature, quality):          {ec_rate:,.0f} readings/s")
    print(f"ds18b20 (scratchpad CRC-8, quality):            {ds_rate:,.0f} readings/s")
    print(f"ph one reading at a time (process(), live path): {single:,.0f} readings/s")
    print(f"anchor: numpy a*x+b on float64:                 {anchor:,.0f} readings/s")
    print(f"ph / anchor: {ph_rate / anchor:.2f}")
    print(f"processors-batch: {int(ph_rate)}")


if __name__ == "__main__":
    main()
