"""Least-squares calibration fits: linear and polynomial, from captured points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import itertools
import math

import numpy as np

from .base import Calibration, CalibrationPoint, FloatArray


@dataclass(frozen=True, slots=True)
class Polynomial:
    """`y = c[0] * x**n + ... + c[n]` (numpy.polyval order, highest degree first)."""

    coefficients: tuple[float, ...]

    @property
    def degree(self) -> int:
        """Polynomial degree."""
        return len(self.coefficients) - 1

    def __call__(self, x: float) -> float:
        """Value at `x` (Horner, plain floats)."""
        y = 0.0
        for c in self.coefficients:
            y = y * x + c
        return y

    def apply(self, x: FloatArray) -> FloatArray:
        """Value at every element of `x` (Horner, same operation order as `__call__`)."""
        y = np.zeros_like(x, dtype=np.float64)
        for c in self.coefficients:
            y = y * x + c
        return y


IDENTITY = Polynomial((1.0, 0.0))


def fit_polynomial(raw: Sequence[float], reference: Sequence[float], degree: int = 1) -> Polynomial:
    """Least-squares polynomial from `raw` to `reference` (numpy.polyfit).

    The degree is lowered to `len(points) - 1`, so n points with degree >= n - 1 are
    interpolated exactly. One point gives an offset correction (slope 1): `y = x + (ref - raw)`.
    Raises ValueError without points, with non-finite values, or when two points share a raw
    value but the fit needs them distinct.
    """
    if len(raw) != len(reference):
        raise ValueError("raw and reference differ in length")
    if not raw:
        raise ValueError("a calibration needs at least one point")
    if degree < 1:
        raise ValueError("degree must be at least 1")
    if not all(math.isfinite(v) for v in (*raw, *reference)):
        raise ValueError("calibration points must be finite")
    if len(raw) == 1:
        return Polynomial((1.0, float(reference[0]) - float(raw[0])))
    deg = min(degree, len(raw) - 1)
    if len(set(raw)) <= deg:
        raise ValueError(f"need {deg + 1} distinct raw values for degree {deg}")
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    coeffs = np.polyfit(x, y, deg)
    return Polynomial(tuple(float(c) for c in coeffs))


def calibration_degree(n_points: int) -> int:
    """The polynomial degree a new calibration of `n_points` points is stored with.

    One rule for the calibration dialog and the `calibrate` service: a line for one or two
    points (one point: an offset), a quadratic from three points on (exact through three,
    least squares beyond). Never higher: a cubic through four buffers chases their noise.
    Processors with a physical model (pH, EC) use the points their own way and ignore it.
    """
    return 1 if n_points < 3 else 2


def new_calibration(
    points: Sequence[CalibrationPoint], *, temperature_c: float | None, created: str | None
) -> Calibration:
    """A calibration from captured points: sorted by raw value, degree by `calibration_degree`."""
    return Calibration(
        points=tuple(sorted(points, key=lambda p: p.raw)),
        temperature_c=temperature_c,
        created=created,
        degree=calibration_degree(len(points)),
    )


def fit_calibration(calibration: Calibration) -> Polynomial:
    """The polynomial of a stored calibration (its points and degree)."""
    return fit_polynomial(
        [p.raw for p in calibration.points],
        [p.reference for p in calibration.points],
        calibration.degree,
    )


def fit_linear(raw: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """Least-squares line `(slope, offset)` through the points (at least two distinct raws)."""
    if len(raw) < 2:
        raise ValueError("a line needs at least two points")
    poly = fit_polynomial(raw, reference, 1)
    return poly.coefficients[0], poly.coefficients[1]


# Two captured points closer than this share of the larger raw value were almost certainly
# taken in the same solution (the probe was not moved): the fit would amplify noise.
MIN_RELATIVE_SPREAD = 0.01


def calibration_problem(calibration: Calibration) -> str | None:
    """Why these points cannot make a calibration (`too_few_points`, `points_too_close`,
    `same_reference`), or None when they can."""
    points = sorted(calibration.points, key=lambda p: p.raw)
    if not points:
        return "too_few_points"
    if len({p.reference for p in points}) != len(points):
        return "same_reference"
    scale = max(abs(p.raw) for p in points) or 1.0
    for low, high in itertools.pairwise(points):
        if high.raw - low.raw < MIN_RELATIVE_SPREAD * scale:
            return "points_too_close"
    return None
