"""Processors: hand-computed values, Hypothesis properties, filters, registry and plug-ins."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from custom_components.automationone import processors as pr
from custom_components.automationone.processors import (
    BUILTIN_PROCESSORS as P,
    Calibration,
    CalibrationPoint as Pt,
    Quality,
)
from custom_components.automationone.processors.builtin import NERNST_SLOPE_25C_MV, nernst_slope
from simulator.signals import ds18b20_words, ph_to_adc, sht31_words

PACKAGE = Path(pr.__file__).parent
LINEAR = {"adc": "linear_3v3"}  # count * 3300 / 4095 mV: hand-computable


def mv_count(mv: float) -> float:
    """The (fractional) count of `mv` under the ideal 3.3 V model."""
    return mv * 4095 / 3300


def pad(raw_temp: int, config: int = 0x7F) -> tuple[int, ...]:
    """A DS18B20 scratchpad as 5 words with a correct CRC."""
    b = [raw_temp & 0xFF, (raw_temp >> 8) & 0xFF, 0x4B, 0x46, config, 0xFF, 0x0C, 0x10]
    b.append(pr.crc8_maxim(b))
    return (*(b[i] | b[i + 1] << 8 for i in range(0, 8, 2)), b[8])


def same(a: float | None, b: float, rel: float = 1e-9) -> bool:
    """Scalar result equals a batch element (None ~ NaN)."""
    if a is None:
        return math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


# --- hand-computed values ----------------------------------------------------------------


def test_adc_models_by_hand() -> None:
    """ESP-IDF linear characteristic, the 11 dB table, and the ideal converter."""
    mv = pr.millivolt_table("esp32_11db")
    assert mv[1000] == pytest.approx(1100 * 196602 / 4096 / 65536 * 1000 + 142)
    assert mv[3520] == pytest.approx((2754 + 2982) / 2)  # LUT point 10 at Vref 1100 mV
    assert pr.millivolt_table("esp32_0db")[4095] == pytest.approx(
        1100 * 57431 / 4096 / 65536 * 4095 + 75
    )
    assert pr.millivolt_table("linear_3v3")[4095] == 3300.0
    assert pr.count_to_mv(2047.5, "linear_3v3") == pytest.approx(1650.0)
    for model in pr.ADC_MODELS:
        assert np.all(np.diff(pr.millivolt_table(model)) > 0)
        assert pr.mv_to_count(pr.count_to_mv(1234.0, model), model) == pytest.approx(1234.0)


def test_adc_model_per_device() -> None:
    """Boards get their ADC, whatever the firmware; the simulator's counts of a simulated
    ESP32 read back their pH uncalibrated with the ESP32's model."""
    assert pr.adc_model_for("esp32dev") == "esp32_11db"
    assert pr.adc_model_for("seeed_xiao_esp32c3") == "esp32c3_11db"
    assert pr.millivolt_table("esp32c3_11db")[4095] == 2500.0
    sim = {"adc": pr.adc_model_for("esp32dev")}
    for ph in (4.0, 7.0, 9.0):
        res = P["ph"].process(ph_to_adc(ph), params=sim)
        assert res.quality is Quality.UNCALIBRATED
        assert res.value == pytest.approx(ph, abs=0.02)
    assert all(p.display_precision is not None for p in P.values() if p.id != "linear")


@pytest.mark.parametrize(
    ("raw", "volts", "quality"),
    [
        (1241, 1241 * 3.3 / 4095, Quality.GOOD),
        (0, 0.0, Quality.SUSPECT),
        (4095, 3.3, Quality.SUSPECT),
        (-1, None, Quality.BAD),
        (4096, None, Quality.BAD),
    ],
)
def test_analog_voltage(raw: int, volts: float | None, quality: Quality) -> None:
    """Rails are suspect, impossible counts bad."""
    res = P["analog"].process(raw, params=LINEAR)
    assert res.quality is quality
    assert res.unit == "V"
    if volts is None:
        assert res.value is None
    else:
        assert res.value == pytest.approx(volts)


def test_analog_divider_and_calibration() -> None:
    """A divider ratio scales; a calibration replaces the ADC model."""
    assert P["analog"].process(1241, params={**LINEAR, "divider_ratio": 2.0}).value == (
        pytest.approx(2 * 1241 * 3.3 / 4095)
    )
    cal = Calibration((Pt(1000, 0.8), Pt(3000, 2.6)))
    assert P["analog"].process(2000, calibration=cal).value == pytest.approx(1.7)


def test_linear_and_polynomial_fit() -> None:
    """Scale/offset parameters, least-squares line, exact polynomial, 1-point offset."""
    assert P["linear"].process(3, params={"scale": 2.0, "offset": 1.0, "unit": "l"}) == pr.Result(
        7.0, "l", Quality.GOOD
    )
    line = pr.fit_polynomial([0, 10, 20], [1, 21, 41], 1)
    assert line.coefficients == pytest.approx((2.0, 1.0))
    slope, offset = pr.fit_linear([0, 1, 2, 3], [0.1, 0.9, 2.1, 2.9])  # least squares
    assert slope == pytest.approx(0.96)
    assert offset == pytest.approx(0.06)
    quad = pr.fit_polynomial([0, 1, 2], [1, 2, 5], 2)  # x^2 + 1
    assert quad.coefficients == pytest.approx((1.0, 0.0, 1.0), abs=1e-9)
    assert pr.fit_polynomial([20.0], [21.5], 1)(30.0) == pytest.approx(31.5)
    with pytest.raises(ValueError, match="distinct"):
        pr.fit_polynomial([1, 1], [2, 3], 1)
    with pytest.raises(ValueError, match="at least one"):
        pr.fit_polynomial([], [], 1)


def test_nernst_slope() -> None:
    """59.16 mV/pH at 25 °C is 1000 * ln(10) * R * T / F, scaled by absolute temperature."""
    r, f = 8.314462618, 96485.33212
    assert 1000 * math.log(10) * r * 298.15 / f == pytest.approx(NERNST_SLOPE_25C_MV, abs=5e-3)
    assert nernst_slope(25.0) == pytest.approx(NERNST_SLOPE_25C_MV, rel=1e-15)
    assert nernst_slope(0.0) == pytest.approx(59.16 * 273.15 / 298.15)  # 54.20


PH_MV = {4.0: 2032.5, 7.0: 1500.0, 10.0: 967.5}  # DFRobot-style amplifier: -177.5 mV/pH


def ph_cal(*phs: float, temperature_c: float | None = None) -> Calibration:
    """Points at the exact (fractional) counts of the buffers' voltages."""
    return Calibration(tuple(Pt(mv_count(PH_MV[p]), p) for p in phs), temperature_c)


def test_ph_two_point_and_nernst_compensation() -> None:
    """Buffers read back exactly; compensation scales around pH 7 by T_cal/T (kelvin)."""
    cal = ph_cal(4.0, 7.0)
    ph = P["ph"]
    assert ph.process(mv_count(2032.5), calibration=cal, params=LINEAR).value == pytest.approx(4.0)
    mid = ph.process(mv_count((2032.5 + 1500.0) / 2), calibration=cal, params=LINEAR)
    assert mid == pr.Result(pytest.approx(5.5), "pH", Quality.GOOD)
    hot = ph.process(mv_count(2032.5), calibration=cal, params=LINEAR, temperature_c=50.0)
    assert hot.value == pytest.approx(7 - 3 * 298.15 / 323.15)  # 4.2321
    # calibrated at 15 °C, measured at 15 °C: no change
    cold = ph_cal(4.0, 7.0, temperature_c=15.0)
    same_t = ph.process(mv_count(2032.5), calibration=cold, params=LINEAR, temperature_c=15.0)
    assert same_t.value == pytest.approx(4.0)


def test_ph_three_point_piecewise() -> None:
    """Each buffer reads back exactly, also with an asymmetric electrode."""
    cal = Calibration(
        (Pt(mv_count(2000.0), 4.0), Pt(mv_count(1500.0), 7.0), Pt(mv_count(1100.0), 10.0))
    )
    for mv, expected in ((2000.0, 4.0), (1500.0, 7.0), (1100.0, 10.0), (1300.0, 8.5)):
        res = P["ph"].process(mv_count(mv), calibration=cal, params=LINEAR)
        assert res.value == pytest.approx(expected)
        assert res.quality is Quality.GOOD


def test_ph_quality_flags() -> None:
    """Uncalibrated best effort; out of 0-14 bad with a value; rails bad without one."""
    res = P["ph"].process(1861, params=LINEAR)
    assert res.quality is Quality.UNCALIBRATED
    assert res.value == pytest.approx(7 + (1861 * 3300 / 4095 - 1500) / -177.5)
    high = P["ph"].process(mv_count(100.0), calibration=ph_cal(4.0, 7.0), params=LINEAR)
    assert high.quality is Quality.BAD
    assert high.value is not None
    assert high.value > 14
    for rail in (0, 4095, -5, 9999):
        assert P["ph"].process(rail, calibration=ph_cal(4.0, 7.0)) == pr.Result(
            None, "pH", Quality.BAD
        )
    broken = Calibration((Pt(1000, 7.0), Pt(1000, 4.0)))  # same voltage: ignored
    assert P["ph"].process(1861, calibration=broken).quality is Quality.UNCALIBRATED


def test_ec_tds_by_hand() -> None:
    """One-point cell calibration at 1413 µS/cm, 2 %/°C compensation, TDS factor 0.5."""
    cal = Calibration((Pt(1500, 1413.0),))
    assert P["ec"].process(1500, calibration=cal).value == pytest.approx(1413.0)
    warm = P["ec"].process(1500, calibration=cal, temperature_c=30.0)
    assert warm.value == pytest.approx(1413.0 / 1.1)
    assert P["tds"].process(1500, calibration=cal).value == pytest.approx(706.5)
    assert P["tds"].process(1500, calibration=cal, params={"tds_factor": 0.64}).value == (
        pytest.approx(1413 * 0.64)
    )
    # captured in a 20 °C solution: the probe then saw 1413 * 0.9; at 20 °C it reads 1413 again
    cold = Calibration((Pt(1500, 1413.0),), temperature_c=20.0)
    assert P["ec"].process(1500, calibration=cold, temperature_c=20.0).value == pytest.approx(1413)
    assert P["ec"].process(1500).quality is Quality.UNCALIBRATED
    two = Calibration((Pt(1000, 500.0), Pt(3000, 2500.0)), temperature_c=25.0)
    assert P["ec"].process(2000, calibration=two, params=LINEAR).quality is Quality.GOOD


@pytest.mark.parametrize(
    ("raw_temp", "celsius"),
    [  # DS18B20 datasheet, Table 1 "Temperature/Data Relationship"
        (0x07D0, 125.0),
        (0x0191, 25.0625),
        (0x00A2, 10.125),
        (0x0008, 0.5),
        (0x0000, 0.0),
        (0xFFF8, -0.5),
        (0xFF5E, -10.125),
        (0xFE6F, -25.0625),
        (0xFC90, -55.0),
    ],
)
def test_ds18b20_datasheet_table(raw_temp: int, celsius: float) -> None:
    """Values of the datasheet's table at 12-bit resolution."""
    assert P["ds18b20"].process(pad(raw_temp)) == pr.Result(celsius, "°C", Quality.GOOD)


def test_ds18b20_flags() -> None:
    """85 °C power-on suspect; bad CRC, zeros, -127 or a number bad; resolution masking."""
    assert P["ds18b20"].process(pad(0x0550)).quality is Quality.SUSPECT
    words = list(pad(0x0191))
    words[4] ^= 0x01
    assert P["ds18b20"].process(tuple(words)).quality is Quality.BAD
    assert P["ds18b20"].process((0, 0, 0, 0, 0)).quality is Quality.BAD  # CRC of zeros is 0
    assert P["ds18b20"].process(-127).quality is Quality.BAD
    assert P["ds18b20"].process((0xFFFF,) * 5).quality is Quality.BAD
    assert P["ds18b20"].process(pad(0x0191, config=0x1F)).value == 25.0  # 9 bits: 0.5 °C steps
    assert P["ds18b20"].process(ds18b20_words(21.5)).value == 21.5  # the simulator's words


def test_crc_known_vectors() -> None:
    """Maxim app note 27 ROM example; Sensirion datasheet example 0xBEEF -> 0x92."""
    assert pr.crc8_maxim([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00]) == 0xA2
    assert pr.crc8_sensirion([0xBE, 0xEF]) == 0x92


def test_sht31_layouts_and_crc() -> None:
    """Both word layouts decode; a bad CRC makes that output bad."""
    t_word, t_crc, rh_word, rh_crc = sht31_words(25.0, 50.0)
    four = (t_word, t_crc, rh_word, rh_crc)
    three = (t_word, rh_word, t_crc << 8 | rh_crc)  # the firmware core's layout
    for raw in (four, three):
        t = P["sht31_temperature"].process(raw)
        h = P["sht31_humidity"].process(raw)
        assert t == pr.Result(pytest.approx(-45 + 175 * t_word / 65535), "°C", Quality.GOOD)
        assert h == pr.Result(pytest.approx(100 * rh_word / 65535), "%", Quality.GOOD)
    assert P["sht31_temperature"].process((0x6666, 0x93, 0, 0)).value == pytest.approx(25.0)
    bad_t = (t_word, t_crc ^ 1, rh_word, rh_crc)
    assert P["sht31_temperature"].process(bad_t).quality is Quality.BAD
    assert P["sht31_humidity"].process(bad_t).quality is Quality.GOOD
    assert P["sht31_temperature"].process(0).quality is Quality.BAD
    assert [p.id for p in pr.builtin_registry().for_device_type("sht31")] == [
        "sht31_temperature",
        "sht31_humidity",
    ]


def test_ntc_beta_and_steinhart_hart() -> None:
    """R = R0 at mid-supply reads t0; Steinhart-Hart fitted to Beta points agrees with it."""
    assert P["ntc"].process(2047.5, params=LINEAR).value == pytest.approx(25.0)

    def beta_r(celsius: float) -> float:
        return 10000 * math.exp(3950 * (1 / (celsius + 273.15) - 1 / 298.15))

    a, b, c = pr.steinhart_hart_coefficients(
        (beta_r(0.0), beta_r(25.0), beta_r(50.0)), (0.0, 25.0, 50.0)
    )
    sh = {**LINEAR, "sh_a": a, "sh_b": b, "sh_c": c}
    # 0 °C: R = beta_r(0) in the low-side divider -> V = 3300 * R / (R + 10k)
    r0 = beta_r(0.0)
    count = mv_count(3300 * r0 / (r0 + 10000))
    assert P["ntc"].process(count, params=LINEAR).value == pytest.approx(0.0, abs=1e-9)
    assert P["ntc"].process(count, params=sh).value == pytest.approx(0.0, abs=1e-6)
    assert P["ntc"].process(0).quality is Quality.BAD  # short
    assert P["ntc"].process(4095).quality is Quality.BAD  # open


def test_soil_moisture() -> None:
    """Dry/wet points -> %, clamped and suspect outside, uncalibrated on defaults."""
    soil = P["soil_moisture"]
    span = {"dry_count": 3000, "wet_count": 1300}
    assert soil.process(2150, params=span) == pr.Result(50.0, "%", Quality.GOOD)
    assert soil.process(3000, params=span).value == 0.0
    assert soil.process(1300, params=span).value == pytest.approx(100.0)
    assert soil.process(3500, params=span) == pr.Result(0.0, "%", Quality.SUSPECT)
    assert soil.process(1000, params=span) == pr.Result(100.0, "%", Quality.SUSPECT)
    assert soil.process(2150).quality is Quality.UNCALIBRATED
    cal = Calibration((Pt(2800, 0.0), Pt(1200, 100.0)))
    assert soil.process(2000, calibration=cal) == pr.Result(pytest.approx(50.0), "%", Quality.GOOD)


def test_light_ldr() -> None:
    """R_ldr = R10 -> 10 lx: with 10 kΩ to GND that is 3300 * 10 / 25 = 1320 mV = count 1638."""
    res = P["light"].process(1638, params=LINEAR)
    assert res == pr.Result(pytest.approx(10.0), "lx", Quality.GOOD)
    brighter = P["light"].process(3000, params=LINEAR).value
    assert brighter is not None
    assert brighter > 10


def test_water_level() -> None:
    """Ultrasonic distance and a linear ADC sensor."""
    level = P["water_level"]
    ultra = {"source": "distance", "tank_height_cm": 100.0, "min_distance_cm": 20.0}
    assert level.process(30.0, params=ultra) == pr.Result(70.0, "cm", Quality.GOOD)
    assert level.process(10.0, params=ultra).quality is Quality.SUSPECT  # blind zone
    assert level.process(120.0, params=ultra).quality is Quality.SUSPECT  # below the bottom
    assert level.process(0.0, params=ultra).quality is Quality.BAD
    span = {"empty_count": 1000, "full_count": 3000, "full_cm": 200.0}
    assert level.process(2000, params=span) == pr.Result(100.0, "cm", Quality.GOOD)
    assert level.process(2000).quality is Quality.UNCALIBRATED
    cal = Calibration((Pt(500, 0.0), Pt(2500, 50.0)))
    assert level.process(1500, calibration=cal) == pr.Result(
        pytest.approx(25.0), "cm", Quality.GOOD
    )


def test_calibration_round_trip() -> None:
    """to_dict/from_dict keep everything; malformed input is a ValueError."""
    cal = Calibration((Pt(1.0, 2.0), Pt(3.0, 4.0)), 21.5, "2026-11-27T04:00:00+00:00", 2)
    assert Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(ValueError, match="malformed"):
        Calibration.from_dict({"points": [[1]]})


# --- properties --------------------------------------------------------------------------

counts_st = st.integers(min_value=1, max_value=4094)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4095), st.floats(-1000, 1000)),
        min_size=1,
        max_size=4,
        unique_by=lambda p: p[0],
    ),
    st.integers(1, 3),
)
def test_fit_inverts_its_points(points: list[tuple[int, float]], extra: int) -> None:
    """n points with degree >= n - 1 are interpolated exactly."""
    raw = [float(r) for r, _ in points]
    ref = [f for _, f in points]
    poly = pr.fit_polynomial(raw, ref, max(1, len(points) - 2 + extra))
    for x, y in zip(raw, ref, strict=True):
        assert poly(x) == pytest.approx(y, rel=1e-6, abs=1e-6)
    values, _ = P["linear"].process_batch(
        np.asarray(raw), calibration=Calibration(tuple(Pt(x, y) for x, y in points), degree=3)
    )
    assert values == pytest.approx(ref, rel=1e-6, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(3.0, 5.0),
    st.floats(6.5, 7.5),
    st.floats(9.0, 11.0),
    st.floats(-60.0, -50.0),
    st.floats(0.0, 40.0),
)
def test_ph_calibration_reads_its_buffers(
    p1: float, p2: float, p3: float, slope: float, cal_t: float
) -> None:
    """Each buffer of a 3-point calibration reads back exactly at the calibration temperature."""
    points = tuple(Pt(mv_count(1000 + slope * (p - 7.0)), p) for p in (p1, p2, p3))
    cal = Calibration(points, cal_t)
    for point in points:
        res = P["ph"].process(point.raw, calibration=cal, params=LINEAR, temperature_c=cal_t)
        assert res.value == pytest.approx(point.reference, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(counts_st, counts_st, st.floats(0.0, 60.0))
def test_monotonic_where_physics_says_so(a: int, b: int, temp: float) -> None:
    """pH falls with electrode mV (negative slope); EC and lux rise with the count; an NTC
    to GND and a drying soil probe fall."""
    lo, hi = min(a, b), max(a, b)

    def val(pid: str, raw: float, **kw: Any) -> float:
        value = P[pid].process(raw, **kw).value
        assert value is not None
        return value

    cal = ph_cal(4.0, 7.0, 10.0)
    assert val("ph", lo, calibration=cal, temperature_c=temp) >= val(
        "ph", hi, calibration=cal, temperature_c=temp
    )
    assert val("ec", lo, temperature_c=temp) <= val("ec", hi, temperature_c=temp)
    assert val("light", lo) <= val("light", hi)
    assert val("ntc", lo) >= val("ntc", hi)
    assert val("soil_moisture", lo) >= val("soil_moisture", hi)
    assert val("analog", lo) <= val("analog", hi)


@settings(max_examples=100, deadline=None)
@given(counts_st, st.sampled_from(pr.ADC_MODELS))
def test_compensation_at_25c_is_identity(count: int, model: str) -> None:
    """At 25 °C (and a 25 °C calibration) compensation changes nothing."""
    params = {"adc": model}
    for pid, cal in (("ph", ph_cal(4.0, 7.0)), ("ec", None), ("tds", None)):
        plain = P[pid].process(count, calibration=cal, params=params)
        at25 = P[pid].process(count, calibration=cal, params=params, temperature_c=25.0)
        assert at25 == plain
    assert nernst_slope(25.0) == pytest.approx(NERNST_SLOPE_25C_MV, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(st.floats(-55.0, 125.0), st.integers(0, 71))
def test_ds18b20_crc_rejects_any_flipped_bit(celsius: float, bit: int) -> None:
    """A single flipped bit anywhere in the 9 scratchpad bytes is caught."""
    words = list(ds18b20_words(celsius))
    byte, within = divmod(bit, 8)
    words[byte // 2] ^= 1 << (within + 8 * (byte % 2))
    assert P["ds18b20"].process(tuple(words)) == pr.Result(None, "°C", Quality.BAD)
    batch_v, batch_q = P["ds18b20"].process_batch(np.asarray([words]))
    assert batch_q[0] == pr.Q_BAD
    assert math.isnan(batch_v[0])


@settings(max_examples=200, deadline=None)
@given(st.floats(-40.0, 125.0), st.floats(0.0, 100.0), st.integers(0, 23))
def test_sht31_crc_rejects_any_flipped_bit(celsius: float, rh: float, bit: int) -> None:
    """A single flipped bit in a word or its CRC byte makes that output bad."""
    words = list(sht31_words(celsius, rh))
    for offset, pid in ((0, "sht31_temperature"), (2, "sht31_humidity")):
        flipped = list(words)
        if bit < 16:
            flipped[offset] ^= 1 << bit
        else:
            flipped[offset + 1] ^= 1 << (bit - 16)
        assert P[pid].process(tuple(flipped)).quality is Quality.BAD
        _, q = P[pid].process_batch(np.asarray([flipped]))
        assert q[0] == pr.Q_BAD


ADC_CASES: list[tuple[str, Calibration | None, dict[str, Any]]] = [
    ("analog", None, {}),
    ("analog", Calibration((Pt(0, 0.0), Pt(4095, 3.1))), {}),
    ("linear", None, {"scale": 0.5, "offset": -3}),
    ("ph", None, {}),
    ("ph", ph_cal(4.0, 7.0), LINEAR),
    ("ph", ph_cal(4.0, 7.0, 10.0, temperature_c=18.0), {}),
    ("ph", Calibration((Pt(1861, 6.86),)), {}),
    ("ec", None, {}),
    ("ec", Calibration((Pt(1500, 1413.0),), 20.0), {}),
    ("tds", Calibration((Pt(800, 84.0), Pt(2000, 1413.0))), {"tds_factor": 0.7}),
    ("ntc", None, {}),
    ("ntc", Calibration((Pt(20.0, 20.5), Pt(30.0, 30.2))), {"ntc_position": "high"}),
    ("soil_moisture", None, {}),
    ("soil_moisture", None, {"dry_count": 2500, "wet_count": 1500}),
    ("light", None, {"ldr_position": "low"}),
    ("light", Calibration((Pt(10.0, 12.0), Pt(100.0, 110.0))), {}),
    ("water_level", None, {}),
    ("water_level", None, {"source": "distance"}),
]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ADC_CASES),
    st.lists(st.integers(-20, 4200), min_size=1, max_size=30),
    st.one_of(st.none(), st.floats(-5.0, 80.0)),
    st.sampled_from([np.int16, np.int64, np.float64]),
)
def test_batch_equals_per_reading(
    case: tuple[str, Calibration | None, dict[str, Any]],
    raws: list[int],
    temp: float | None,
    dtype: type,
) -> None:
    """process_batch gives the per-reading values and quality flags, for every dtype."""
    pid, cal, params = case
    proc = P[pid]
    arr = np.asarray(raws, dtype=dtype)
    temps = None if temp is None else np.linspace(temp, temp + 5.0, len(raws))
    values, quality = proc.process_batch(arr, calibration=cal, params=params, temperature_c=temps)
    assert values.dtype == np.float64
    assert quality.dtype == np.uint8
    for i, raw in enumerate(raws):
        t = None if temps is None else float(temps[i])
        res = proc.process(raw, calibration=cal, params=params, temperature_c=t)
        assert pr.QUALITY_CODES[quality[i]] is res.quality, (pid, raw)
        assert same(res.value, values[i]), (pid, raw, res.value, values[i])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 4095.0), min_size=1, max_size=20))
def test_batch_equals_per_reading_fractional_ph(raws: list[float]) -> None:
    """Fractional counts (averaged readings) agree too."""
    cal = ph_cal(4.0, 7.0, 10.0)
    values, quality = P["ph"].process_batch(np.asarray(raws), calibration=cal, temperature_c=30.0)
    for i, raw in enumerate(raws):
        res = P["ph"].process(raw, calibration=cal, temperature_c=30.0)
        assert pr.QUALITY_CODES[quality[i]] is res.quality
        assert same(res.value, values[i])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-60.0, 130.0), st.floats(0.0, 100.0), st.integers(-1, 40)),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
def test_batch_equals_per_reading_words(
    readings: list[tuple[float, float, int]], three_words: bool
) -> None:
    """DS18B20 and SHT31 batches (some corrupted) agree with per-reading results."""
    pads, shts = [], []
    for celsius, rh, flip in readings:
        words = list(ds18b20_words(celsius))
        t, tc, h, hc = sht31_words(celsius, rh)
        sht = [t, h, tc << 8 | hc] if three_words else [t, tc, h, hc]
        if 0 <= flip < 16:
            words[flip % 5] ^= 1 << flip
            sht[flip % len(sht)] ^= 1 << (flip % 8)
        pads.append(words)
        shts.append(sht)
    for pid, rows in (
        ("ds18b20", pads),
        ("sht31_temperature", shts),
        ("sht31_humidity", shts),
    ):
        values, quality = P[pid].process_batch(np.asarray(rows))
        for i, row in enumerate(rows):
            res = P[pid].process(tuple(row))
            assert pr.QUALITY_CODES[quality[i]] is res.quality
            assert same(res.value, values[i])


# --- filters ---------------------------------------------------------------------------


def test_filters() -> None:
    """Median, Hampel (MAD outlier) and Kalman on hand-checkable sequences."""
    med = pr.MedianFilter(3)
    assert [med.update(v) for v in (1.0, 9.0, 2.0, 3.0)] == [1.0, 5.0, 2.0, 3.0]
    ham = pr.HampelFilter(window=5, threshold=3.0)
    out = [ham.update(v) for v in (10.0, 10.2, 9.9, 10.1, 50.0, 10.0)]
    assert out[4] == pytest.approx(10.05)  # the spike is replaced by the window's median
    assert out[5] == 10.0
    ham.update(80.0)
    assert ham.rejected
    kal = pr.KalmanFilter1D(process_variance=1e-6, measurement_variance=1.0)
    rng = np.random.default_rng(3)
    est = [kal.update(float(v)) for v in 5.0 + rng.normal(0, 1, 2000)]
    assert est[-1] == pytest.approx(5.0, abs=0.15)
    assert kal.variance < 0.01
    assert math.isnan(kal.update(math.nan))
    assert pr.make_filter("none") is None
    assert isinstance(pr.make_filter("kalman"), pr.KalmanFilter1D)
    with pytest.raises(ValueError, match="unknown filter"):
        pr.make_filter("fft")


# --- registry and interface ---------------------------------------------------------------


def test_registry_has_every_builtin() -> None:
    """The ids of the issue, unique, each satisfying the Processor protocol."""
    expected = {
        "ph", "ec", "tds", "ds18b20", "sht31_temperature", "sht31_humidity", "ntc",
        "soil_moisture", "light", "water_level", "analog", "linear",
    }  # fmt: skip
    assert set(pr.BUILTIN_IDS) == expected
    registry = pr.builtin_registry()
    for pid in expected:
        proc = registry.get(pid)
        assert isinstance(proc, pr.Processor)
        assert proc.process(proc.sample_raw).quality in (Quality.GOOD, Quality.UNCALIBRATED)
        assert {p.key for p in proc.params} == {p.key for p in proc.params}
    with pytest.raises(ValueError, match="clashes with a built-in"):
        registry.register(pr.PhProcessor())
    with pytest.raises(KeyError):
        registry.get("nope")


def test_core_packages_import_no_homeassistant() -> None:
    """processors/ and gpio/ stay pure: no homeassistant import anywhere."""
    for package in (PACKAGE, PACKAGE.parent / "gpio"):
        for path in package.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                )  # fmt: skip
                assert not any(n.startswith("homeassistant") for n in names), path


# --- plug-ins ----------------------------------------------------------------------------

GOOD_PLUGIN = """
from custom_components.automationone.processors import BaseProcessor, Quality, Result

class Co2(BaseProcessor):
    id = "co2_mg811"
    name = "CO2"
    unit = "ppm"
    device_class = "carbon_dioxide"
    device_type = "analog"
    sample_raw = 1000

    def process(self, raw, *, calibration=None, params=None, temperature_c=None):
        return Result(float(raw) * 2.0, self.unit, Quality.GOOD)

PROCESSOR = Co2()
"""

DUCK_PLUGIN = """
from custom_components.automationone.processors import Quality, Result

class Flow:
    id = "flow"
    name = "Flow"
    unit = "L/min"
    device_class = None
    state_class = "measurement"
    device_type = "analog"

    def process(self, raw, *, calibration=None, params=None, temperature_c=None):
        return Result(raw / 7.5, self.unit, Quality.GOOD)

PROCESSORS = [Flow()]
"""

BROKEN = {
    "a_syntax.py": ("def broken(:\n    pass\n", "syntax_error", 1),
    "b_missing.py": (
        GOOD_PLUGIN.replace("    def process(", "    def other(").replace("co2_mg811", "x1"),
        "missing_attribute",
        None,
    ),
    "c_raises.py": (
        GOOD_PLUGIN.replace("float(raw) * 2.0", "1 / 0").replace("co2_mg811", "x2"),
        "trial_failed",
        13,  # the line of `return Result(1 / 0, ...)`
    ),
    "d_clash.py": (GOOD_PLUGIN.replace('"co2_mg811"', '"ph"'), "id_clash", None),
    "e_none.py": ("X = 1\n", "no_processor", None),
    "f_import.py": ("import does_not_exist_anywhere\n", "import_error", 1),
    "g_result.py": (
        GOOD_PLUGIN.replace("float(raw) * 2.0", "'high'").replace("co2_mg811", "x3"),
        "bad_result",
        None,
    ),
    "h_id.py": (GOOD_PLUGIN.replace('"co2_mg811"', '"Bad Id"'), "bad_attribute", None),
}


def test_load_plugins(tmp_path: Path) -> None:
    """Good files load and register; each broken one gives its precise error, none raises."""
    (tmp_path / "co2.py").write_text(GOOD_PLUGIN, encoding="utf-8")
    (tmp_path / "flow.py").write_text(DUCK_PLUGIN, encoding="utf-8")
    (tmp_path / "_helper.py").write_text("raise SystemError('never imported')\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    for name, (source, _, _) in BROKEN.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    registry = pr.builtin_registry()
    loaded, errors = pr.load_plugins(tmp_path, registry)

    assert sorted(p.id for p in loaded) == ["co2_mg811", "flow"]
    assert registry.get("co2_mg811").process(10) == pr.Result(20.0, "ppm", Quality.GOOD)
    flow = registry.get("flow")
    assert flow.process(15).value == 2.0
    values, quality = flow.process_batch(np.asarray([15, 30]))
    assert list(values) == [2.0, 4.0]
    assert list(quality) == [0, 0]
    assert registry.get("ph") is not None
    assert not registry.is_builtin("flow")

    by_file = {e.path.name: e for e in errors}
    assert set(by_file) == set(BROKEN)
    for name, (_, code, line) in BROKEN.items():
        assert by_file[name].code == code, (name, by_file[name])
        if line is not None:
            assert by_file[name].line == line, (name, by_file[name])
    assert "process" in by_file["b_missing.py"].message
    assert "ZeroDivisionError" in by_file["c_raises.py"].message
    assert "built-in" in by_file["d_clash.py"].message
    text = pr.errors_by_file(errors)
    assert text["a_syntax.py"].startswith("a_syntax.py:1: syntax_error:")


def test_load_plugins_clash_between_plugins_and_missing_dir(tmp_path: Path) -> None:
    """The second file with an id already loaded is refused; no directory, nothing."""
    (tmp_path / "one.py").write_text(GOOD_PLUGIN, encoding="utf-8")
    (tmp_path / "two.py").write_text(GOOD_PLUGIN, encoding="utf-8")
    loaded, errors = pr.load_plugins(tmp_path)
    assert [p.id for p in loaded] == ["co2_mg811"]
    assert [(e.path.name, e.code) for e in errors] == [("two.py", "id_clash")]
    assert pr.load_plugins(tmp_path / "absent") == ([], [])


raw_st = st.one_of(
    st.integers(-(2**31), 2**32 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-5, 70000), min_size=0, max_size=9).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(pr.BUILTIN_IDS)), raw_st, st.one_of(st.none(), st.floats()))
def test_process_never_raises(pid: str, raw: Any, temp: float | None) -> None:
    """Whatever a device sends, a reading is flagged, never an exception; values are finite."""
    res = P[pid].process(raw, temperature_c=temp)
    assert res.quality in tuple(Quality)
    assert res.value is None or math.isfinite(res.value)


def test_check_params() -> None:
    """Parameters are checked against their declared kind, options and bounds."""
    assert pr.check_params(P["ph"], {"adc": "linear_3v3", "neutral_mv": 1450.0}) == {}
    assert pr.check_params(
        P["ec"], {"adc": "esp8266", "alpha": 0.5, "cell_constant": "1", "nope": 1}
    ) == {"adc": "invalid_option", "alpha": "out_of_range", "cell_constant": "wrong_type",
          "nope": "unknown"}  # fmt: skip
    assert pr.check_params(P["linear"], {"unit": "l/min", "scale": math.nan}) == {
        "scale": "out_of_range"
    }


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int32, np.float64])
def test_ph_batch_spanning_chunks(dtype: type) -> None:
    """A batch longer than the internal chunk agrees with per-reading results everywhere."""
    rng = np.random.default_rng(7)
    n = 100_003
    raws = rng.integers(0, 4096, n).astype(dtype)
    temps = rng.uniform(0.0, 60.0, n)
    temps[::1001] = np.nan
    cal = ph_cal(4.0, 7.0, 10.0, temperature_c=20.0)
    values, quality = P["ph"].process_batch(raws, calibration=cal, temperature_c=temps)
    for i in range(0, n, 331):
        res = P["ph"].process(raws[i].item(), calibration=cal, temperature_c=float(temps[i]))
        assert pr.QUALITY_CODES[quality[i]] is res.quality
        assert same(res.value, values[i])


def test_plugin_declares_a_multi_value_sensor(tmp_path: Path) -> None:
    """A plug-in gives one quantity of a multi-value device type (as the SHT31 built-ins do);
    a quantity outside its quantities, or a malformed one, is refused."""
    two = GOOD_PLUGIN.replace(
        'device_type = "analog"',
        'device_type = "scd41"\n'
        '    quantities = ("carbon_dioxide", "temperature")\n'
        '    quantity = "carbon_dioxide"',
    )
    (tmp_path / "co2.py").write_text(two, encoding="utf-8")
    bad = two.replace('quantity = "carbon_dioxide"', 'quantity = "humidity"').replace(
        "co2_mg811", "x4"
    )
    (tmp_path / "bad.py").write_text(bad, encoding="utf-8")
    ugly = two.replace('"carbon_dioxide"', '"co2"')  # digits are not allowed
    (tmp_path / "ugly.py").write_text(ugly.replace("co2_mg811", "x5"), encoding="utf-8")
    loaded, errors = pr.load_plugins(tmp_path)
    (co2,) = loaded
    assert (co2.quantities, co2.quantity) == (("carbon_dioxide", "temperature"), "carbon_dioxide")
    assert sorted((e.path.name, e.code) for e in errors) == [
        ("bad.py", "bad_attribute"),
        ("ugly.py", "bad_attribute"),
    ]
    builtin = pr.builtin_registry().for_device_type("sht31")
    assert [(p.quantity, p.quantities) for p in builtin] == [
        ("temperature", ("temperature", "humidity")),
        ("humidity", ("temperature", "humidity")),
    ]
