"""One law fitted to one series: the laws, their starting values and least-squares fits.

=========== ========================= ============================================
law         model                     parameters (t in hours, or spectrum numbers)
=========== ========================= ============================================
constant    R0                        R0 (the null model: no change)
linear      R0 + k t                  R0, k (unit/h)
parabolic   R0 + k t^(1/2)            R0, k (unit/h^0.5)
power       R0 + k t^m                R0, k (unit/h^m), m
logarithmic R0 + k ln(1 + t/tau)      R0, k (unit), tau_h (h)
=========== ========================= ============================================

Growth laws: docs/physics-notes.md sec. 5.  When a run has no timestamps, t is the spectrum number
and every "h" above reads "spectrum number" (`eisfit.trends.timeaxis`; the parameter keeps the
name ``tau_h``, its unit says what it is).

What is minimised: ``sum(((y - model) / s)**2)`` with ``s`` the per-point stderr when given,
else ``s = 1``.  The constant law is the weighted mean, solved exactly; the others use
``scipy.optimize.curve_fit`` (trust-region reflective).  The covariance is scaled by the
reduced chi-square (``absolute_sigma=False``; for the constant law s^2 = RSS / (n - 1))
because stderr from spectrum fits rarely match the scatter between spectra.  ``RSS`` is
that (weighted) sum; ``AIC = n ln(RSS/n) + 2k`` with k the number of law parameters;
``AICc = AIC + 2k(k+1)/(n-k-1)``.  Starting values come from the data: the nonlinear
exponent (m) or time constant (tau) is scanned on a grid with the linear parameters solved
exactly at every grid point, and the best grid point starts the fit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from .._util import finite_or_none
from .timeaxis import TimeAxis, quantity_unit

__all__ = [
    "GROWTH_LAWS",
    "LAWS",
    "NULL_LAW",
    "GrowthFit",
    "evaluate_law",
    "fit_law",
    "parameter_units",
]

NULL_LAW = "constant"
GROWTH_LAWS = ("linear", "parabolic", "power", "logarithmic")
LAWS = (NULL_LAW, *GROWTH_LAWS)
_M_BOUNDS = (0.01, 5.0)
_PARAMS = {
    "constant": ("R0",),
    "linear": ("R0", "k"),
    "parabolic": ("R0", "k"),
    "power": ("R0", "k", "m"),
    "logarithmic": ("R0", "k", "tau_h"),
}


@dataclass(frozen=True)
class GrowthFit:
    """One law fitted to one series (parameters in the units of the series and of time;
    ``units`` names them)."""

    law: str
    parameters: dict[str, float]
    stderr: dict[str, float]
    aic: float
    rss: float
    n_points: int
    aicc: float = math.nan
    success: bool = True
    message: str = ""
    units: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "law": self.law,
            "parameters": {k: finite_or_none(v) for k, v in self.parameters.items()},
            "stderr": {k: finite_or_none(v) for k, v in self.stderr.items()},
            "units": dict(self.units),
            "aic": finite_or_none(self.aic),
            "aicc": finite_or_none(self.aicc),
            "rss": finite_or_none(self.rss),
            "n_points": self.n_points,
            "success": self.success,
            "message": self.message,
        }


def parameter_units(law: str, quantity: str | None, axis: TimeAxis) -> dict[str, str]:
    """The unit of each parameter of ``law`` fitted to ``quantity`` on ``axis``."""
    unit = quantity_unit(quantity)
    k = {
        "linear": axis.per(unit),
        "parabolic": axis.per(unit, "^0.5"),
        "power": axis.per(unit, "^m"),
        "logarithmic": unit,
    }
    units = {"R0": unit, "k": k.get(law, ""), "m": "1", "tau_h": axis.unit}
    return {name: units[name] for name in _PARAMS[law]}


def _power(t: np.ndarray, m: float) -> np.ndarray:
    return np.power(t, m)


def _model(law: str) -> Callable[..., np.ndarray]:
    if law == "constant":
        return lambda t, r0: r0 + 0.0 * t
    if law == "linear":
        return lambda t, r0, k: r0 + k * t
    if law == "parabolic":
        return lambda t, r0, k: r0 + k * np.sqrt(t)
    if law == "power":
        return lambda t, r0, k, m: r0 + k * _power(t, m)
    return lambda t, r0, k, tau: r0 + k * np.log1p(t / tau)


def evaluate_law(law: str, parameters: Mapping[str, float], time_h: np.ndarray) -> np.ndarray:
    """The law ``law`` (one of `LAWS`) with ``parameters`` (as in `GrowthFit.parameters`) at
    ``time_h``; for drawing a chosen law over its data."""
    if law not in _PARAMS:
        raise ValueError(f"unknown growth law {law!r}; laws are {', '.join(LAWS)}")
    args = [float(parameters[name]) for name in _PARAMS[law]]
    with np.errstate(all="ignore"):
        return _model(law)(np.asarray(time_h, dtype=float), *args)


def _solve_linear(basis: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of y = a + b * basis; returns (a, b, rss)."""
    design = np.column_stack([np.ones_like(basis), basis]) * w[:, None]
    coef, *_ = np.linalg.lstsq(design, y * w, rcond=None)
    with np.errstate(over="ignore", invalid="ignore"):
        rss = float(np.sum((design @ coef - y * w) ** 2))
    return float(coef[0]), float(coef[1]), rss


def _start(law: str, t: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[list[float], tuple]:
    """Deterministic starting values and bounds from the data."""
    inf = np.inf
    if law in ("linear", "parabolic"):
        a, b, _ = _solve_linear(t if law == "linear" else np.sqrt(t), y, w)
        return [a, b], ([-inf, -inf], [inf, inf])
    if law == "power":
        grid = np.geomspace(0.05, 3.0, 41)
        lo, hi = _M_BOUNDS
    else:
        span = float(np.max(t) - np.min(t))
        lo, hi = span * 1e-4, span * 1e3
        grid = np.geomspace(span * 1e-3, span * 1e2, 41)
    best = None
    for g in grid:
        basis = _power(t, g) if law == "power" else np.log1p(t / g)
        a, b, rss = _solve_linear(basis, y, w)
        if math.isfinite(rss) and (best is None or rss < best[3]):
            best = (a, b, float(g), rss)
    if best is None:
        raise ValueError("no finite starting point on the grid")
    return list(best[:3]), ([-inf, -inf, lo], [inf, inf, hi])


def _failed(law: str, n: int, message: str) -> GrowthFit:
    nan = dict.fromkeys(_PARAMS[law], math.nan)
    return GrowthFit(law, nan, dict(nan), math.nan, math.nan, n, math.nan, False, message)


def _weighted_mean(ys: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The constant law in closed form: mean with weights w^2, variance s^2 / sum(w^2)."""
    w2 = w**2
    mean = float(np.sum(w2 * ys) / np.sum(w2))
    dof = ys.size - 1
    s2 = float(np.sum(w2 * (ys - mean) ** 2)) / dof if dof > 0 else math.nan
    return np.array([mean]), np.array([[s2 / float(np.sum(w2))]])


def _curve_fit(
    law: str, t: np.ndarray, ys: np.ndarray, ss: np.ndarray | None, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple, list[str]]:
    p0, bounds = _start(law, t, ys, w)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        popt, pcov = curve_fit(_model(law), t, ys, p0=p0, sigma=ss, absolute_sigma=False,
                               bounds=bounds, method="trf", x_scale="jac",
                               max_nfev=2000 * len(p0))  # fmt: skip
    notes = sorted(
        {
            str(c.message).split("\n")[0]
            for c in caught
            if issubclass(c.category, OptimizeWarning | RuntimeWarning)
        }
    )
    return popt, pcov, bounds, notes


def fit_law(
    law: str, t: np.ndarray, y: np.ndarray, s: np.ndarray | None, axis: TimeAxis
) -> GrowthFit:
    """Fit ``law`` to ``y(t)`` (finite, t >= 0) weighted by stderr ``s``; never raises on data."""
    names = _PARAMS[law]
    n, k = len(t), len(names)
    scale = float(np.median(np.abs(y))) or float(np.max(np.abs(y))) or 1.0
    ys = y / scale
    ss = None if s is None else s / scale
    w = np.ones_like(t) if ss is None else 1.0 / ss
    bounds: tuple = ()
    notes: list[str] = []
    try:
        if law == NULL_LAW:
            popt, pcov = _weighted_mean(ys, w)
        else:
            popt, pcov, bounds, notes = _curve_fit(law, t, ys, ss, w)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return _failed(law, n, f"did not converge: {exc}")
    resid = (ys - _model(law)(t, *popt)) * w
    rss_s = float(np.sum(resid**2))
    if not math.isfinite(rss_s):
        return _failed(law, n, "non-finite residuals at the solution")
    unit = np.array([scale, scale, 1.0][:k])  # R0 and k scale with y; m and tau do not
    values = popt * unit
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(pcov)) * unit
    if not np.all(np.isfinite(se)):
        notes.append("covariance singular: parameters not identifiable")
    rss = rss_s * (scale**2 if s is None else 1.0)
    rss_floor = n * (1e-12 * (scale if s is None else 1.0)) ** 2  # exact data: ties, not -inf
    aic = n * math.log(max(rss, rss_floor) / n) + 2 * k
    aicc = aic + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    if math.isinf(aicc):
        notes.append(f"AICc undefined with {n} points for {k} parameters (needs n > k + 1)")
    if bounds:
        notes += _degeneracy(law, values, se, bounds, float(np.ptp(t)), axis)
    params = {nm: float(v) for nm, v in zip(names, values, strict=True)}
    errs = {nm: float(v) for nm, v in zip(names, se, strict=True)}
    return GrowthFit(law, params, errs, aic, rss, n, aicc, True, "; ".join(notes))


def _degeneracy(
    law: str, values: np.ndarray, se: np.ndarray, bounds: tuple, span: float, axis: TimeAxis
) -> list[str]:
    notes = []
    if law == "logarithmic" and values[2] > 10 * span:
        notes.append(
            f"tau_h = {values[2]:.3g} >> time span {axis.span(span)}: the law is nearly "
            f"linear (k/tau = {values[1] / values[2]:.3g} per {axis.unit}); "
            "k and tau correlate"
        )
    if law == "power":
        m, se_m = values[2], se[2]
        tol = max(2 * se_m, 0.02) if math.isfinite(se_m) else 0.02
        if abs(m - 1.0) < tol:
            notes.append(f"m = {m:.3g} ~ 1: duplicates the linear law")
        if abs(m - 0.5) < tol:
            notes.append(f"m = {m:.3g} ~ 0.5: duplicates the parabolic law")
    k_floor = max(2 * se[1], 1e-9 * abs(values[0]))
    if law in ("power", "logarithmic") and not abs(values[1]) > k_floor:
        notes.append("k consistent with 0: no growth, the shape parameter is not identifiable")
    if law in ("power", "logarithmic"):
        lo, hi = bounds[0][2], bounds[1][2]
        name = "m" if law == "power" else "tau_h"
        if values[2] <= lo * 1.001 or values[2] >= hi * 0.999:
            notes.append(f"{name} = {values[2]:.3g} at its bound [{lo:.3g}, {hi:.3g}]: degenerate")
    return notes
