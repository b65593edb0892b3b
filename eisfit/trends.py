"""Growth laws of a quantity over time (domain notes sec. 5) and the trend summary of a batch.

Each law is fitted by least squares (``scipy.optimize.curve_fit``, trust-region reflective):

=========== ========================= ==========================
law         model                     parameters
=========== ========================= ==========================
linear      R0 + k t                  R0, k (unit/h)
parabolic   R0 + k t^(1/2)            R0, k (unit/h^0.5)
power       R0 + k t^m                R0, k (unit/h^m), m
logarithmic R0 + k ln(1 + t/tau)      R0, k (unit), tau_h (h)
=========== ========================= ==========================

What is minimised: ``sum(((y - model) / s)**2)`` with ``s`` the per-point stderr when given,
else ``s = 1``.  The covariance is scaled by the reduced chi-square (``absolute_sigma=False``)
because stderr from spectrum fits rarely match the scatter between spectra.
``RSS`` is that (weighted) sum; ``AIC = n ln(RSS/n) + 2k`` with k the number of law parameters;
``AICc = AIC + 2k(k+1)/(n-k-1)``.  The choice uses AICc whenever n < 40 k for the largest k
(3), i.e. n < 120, else AIC; :attr:`TrendResult.criterion` says which.  Starting values come
from the data: the nonlinear exponent (m) or time constant (tau) is scanned on a grid with the
linear parameters solved exactly at every grid point, and the best grid point starts the fit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from .events import Event, detect_events, ok_rows, spikes

__all__ = [
    "GROWTH_LAWS",
    "TREND_QUANTITIES",
    "Event",
    "GrowthFit",
    "TrendResult",
    "analyse_trends",
    "detect_events",
    "evaluate_law",
    "fit_growth",
]

GROWTH_LAWS = ("linear", "parabolic", "power", "logarithmic")
TREND_QUANTITIES = (
    "R_bulk_ohm",
    "R_gb_ohm",
    "R_soli_ohm",
    "R_total_ohm",
    "asr_soli_ohm_cm2",
    "C_soli_f",
)
MIN_POINTS = 4
_AICC_RATIO = 40  # use AICc while n < 40 * (largest number of law parameters)
_M_BOUNDS = (0.01, 5.0)
_PARAMS = {
    "linear": ("R0", "k"),
    "parabolic": ("R0", "k"),
    "power": ("R0", "k", "m"),
    "logarithmic": ("R0", "k", "tau_h"),
}


@dataclass(frozen=True)
class GrowthFit:
    """One growth law fitted to one series (parameters in the units of the series and hours)."""

    law: str
    parameters: dict[str, float]
    stderr: dict[str, float]
    aic: float
    rss: float
    n_points: int
    aicc: float = math.nan
    success: bool = True
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "law": self.law,
            "parameters": {k: _json_float(v) for k, v in self.parameters.items()},
            "stderr": {k: _json_float(v) for k, v in self.stderr.items()},
            "aic": _json_float(self.aic),
            "aicc": _json_float(self.aicc),
            "rss": _json_float(self.rss),
            "n_points": self.n_points,
            "success": self.success,
            "message": self.message,
        }


@dataclass(frozen=True)
class TrendResult:
    """All growth-law fits of one quantity and the law chosen by AIC/AICc (None if no choice)."""

    quantity: str
    fits: tuple[GrowthFit, ...]
    best: str | None
    message: str
    criterion: str = "AICc"
    weighted: bool = False

    def fit_of(self, law: str) -> GrowthFit | None:
        return next((f for f in self.fits if f.law == law), None)

    def to_dict(self) -> dict:
        chosen = self.fit_of(self.best) if self.best else None
        return {
            "quantity": self.quantity,
            "best": self.best,
            "criterion": self.criterion,
            "weighted": self.weighted,
            "message": self.message,
            "chosen": chosen.to_dict() if chosen else None,
            "fits": [f.to_dict() for f in self.fits],
        }


def _json_float(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _power(t: np.ndarray, m: float) -> np.ndarray:
    return np.power(t, m)


def _model(law: str) -> Callable[..., np.ndarray]:
    if law == "linear":
        return lambda t, r0, k: r0 + k * t
    if law == "parabolic":
        return lambda t, r0, k: r0 + k * np.sqrt(t)
    if law == "power":
        return lambda t, r0, k, m: r0 + k * _power(t, m)
    return lambda t, r0, k, tau: r0 + k * np.log1p(t / tau)


def evaluate_law(law: str, parameters: dict[str, float], time_h: np.ndarray) -> np.ndarray:
    """The growth law ``law`` (one of `GROWTH_LAWS`) with ``parameters`` (as in
    `GrowthFit.parameters`) at ``time_h``; for drawing a chosen law over its data."""
    if law not in _PARAMS:
        raise ValueError(f"unknown growth law {law!r}; laws are {', '.join(GROWTH_LAWS)}")
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


def _fit_law(law: str, t: np.ndarray, y: np.ndarray, s: np.ndarray | None) -> GrowthFit:
    names = _PARAMS[law]
    n, k = len(t), len(names)
    scale = float(np.median(np.abs(y))) or float(np.max(np.abs(y))) or 1.0
    ys = y / scale
    ss = None if s is None else s / scale
    w = np.ones_like(t) if ss is None else 1.0 / ss
    notes: list[str] = []
    try:
        p0, bounds = _start(law, t, ys, w)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            popt, pcov = curve_fit(
                _model(law),
                t,
                ys,
                p0=p0,
                sigma=ss,
                absolute_sigma=False,
                bounds=bounds,
                method="trf",
                x_scale="jac",
                max_nfev=2000 * k,
            )
        notes += sorted(
            {
                str(c.message).split("\n")[0]
                for c in caught
                if issubclass(c.category, OptimizeWarning | RuntimeWarning)
            }
        )
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return _failed(law, n, f"did not converge: {exc}")
    resid = (ys - _model(law)(t, *popt)) * w
    rss_s = float(np.sum(resid**2))
    if not math.isfinite(rss_s):
        return _failed(law, n, "non-finite residuals at the solution")
    unit = np.array([scale, scale] + [1.0] * (k - 2))
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
    notes += _degeneracy(law, values, se, bounds, float(np.ptp(t)))
    params = {nm: float(v) for nm, v in zip(names, values, strict=True)}
    errs = {nm: float(v) for nm, v in zip(names, se, strict=True)}
    return GrowthFit(law, params, errs, aic, rss, n, aicc, True, "; ".join(notes))


def _degeneracy(
    law: str, values: np.ndarray, se: np.ndarray, bounds: tuple, span_h: float
) -> list[str]:
    notes = []
    if law == "logarithmic" and values[2] > 10 * span_h:
        notes.append(
            f"tau_h = {values[2]:.3g} >> time span {span_h:.3g} h: the law is nearly "
            f"linear (k/tau = {values[1] / values[2]:.3g} per h); k and tau correlate"
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


def fit_growth(
    time_h: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    stderr: Sequence[float] | np.ndarray | None = None,
    quantity: str | None = None,
) -> TrendResult:
    """Fit every growth law to ``values(time_h)`` and choose by AIC/AICc; never raises on data.

    Points with a non-finite time or value, or a negative time, are skipped.  ``stderr`` weights
    the fit; non-finite or non-positive stderr are replaced by the largest valid one, and when
    fewer than half are valid the fit is unweighted.  Fewer than 4 points: no fits, no choice.
    """
    t = np.asarray(time_h, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    qname = quantity or "value"
    if t.shape != y.shape:
        raise ValueError(f"time_h has {t.size} points, values {y.size}")
    keep = np.isfinite(t) & np.isfinite(y) & (t >= 0)
    notes = [] if keep.all() else [f"skipped {int(np.sum(~keep))} non-finite/negative-time points"]
    s = None
    if stderr is not None:
        s_all = np.asarray(stderr, dtype=float).ravel()
        if s_all.shape != t.shape:
            raise ValueError(f"stderr has {s_all.size} points, values {y.size}")
        s = s_all[keep]
        valid = np.isfinite(s) & (s > 0)
        if valid.sum() < max(1, 0.5 * s.size):
            notes.append("unweighted: fewer than half the points have a usable stderr")
            s = None
        elif not valid.all():
            notes.append(f"{int(np.sum(~valid))} missing stderr replaced by the largest valid one")
            s = np.where(valid, s, np.max(s[valid]))
    t, y = t[keep], y[keep]
    n = t.size
    criterion = "AICc" if n < _AICC_RATIO * 3 else "AIC"
    if n < MIN_POINTS:
        notes.append(f"no choice: {n} usable points, at least {MIN_POINTS} needed")
        return TrendResult(qname, (), None, "; ".join(notes), criterion, s is not None)
    if np.ptp(t) <= 0:
        notes.append("no choice: all points at the same time")
        return TrendResult(qname, (), None, "; ".join(notes), criterion, s is not None)
    with np.errstate(all="ignore"):  # absurd values (bad spectrum fits) end as messages
        fits = tuple(_fit_law(law, t, y, s) for law in GROWTH_LAWS)
    key = "aicc" if criterion == "AICc" else "aic"
    usable = [f for f in fits if f.success and math.isfinite(getattr(f, key))]
    best = min(usable, key=lambda f: getattr(f, key)).law if usable else None
    if best is None:
        notes.append("no choice: no law converged")
    else:
        ranked = sorted(usable, key=lambda f: getattr(f, key))
        gap = getattr(ranked[1], key) - getattr(ranked[0], key) if len(ranked) > 1 else math.inf
        notes.append(
            f"{best} chosen by {criterion}; next best {ranked[1].law} by {gap:.2f}"
            if len(ranked) > 1
            else f"{best} is the only converged law"
        )
        if gap < 2:
            notes.append(f"{criterion} difference < 2: the laws are not clearly distinguished")
    return TrendResult(qname, fits, best, "; ".join(notes), criterion, s is not None)


def analyse_trends(df: pd.DataFrame) -> dict:
    """JSON-ready trends of a batch results table: growth-law fits per quantity and events.

    Uses rows whose ``status`` is ``ok`` (all rows when there is no status column) with a finite
    ``time_h``, and only those before the first short circuit (growth laws do not hold across
    it).  Isolated spikes (`eisfit.events.spikes`: > 3x off both neighbourhoods, usually a bad
    fit) are left out and listed.  A quantity is fitted when its column exists and has >= 4
    usable values, weighted by ``<quantity>_stderr`` when that column exists.  Returns
    ``{"trends": {quantity: ...}, "skipped": {quantity: reason}, "events": [...]}``.
    """
    events = detect_events(df)
    rows = ok_rows(df)
    shorts = [e.time_h for e in events if e.kind == "short_circuit"]
    pre = []
    if shorts:
        rows = rows[rows["time_h"] < shorts[0]]
        pre.append(f"only rows before the short circuit at {shorts[0]:.4g} h")
    t = rows["time_h"].to_numpy(dtype=float)
    trends: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for q in TREND_QUANTITIES:
        if q not in rows.columns:
            skipped[q] = "column absent"
            continue
        y = pd.to_numeric(rows[q], errors="coerce").to_numpy(dtype=float)
        spiked = spikes(y)
        y = np.where(spiked, np.nan, y)
        finite = int(np.sum(np.isfinite(y)))
        if finite < MIN_POINTS:
            skipped[q] = f"{finite} usable ok rows, at least {MIN_POINTS} needed"
            continue
        se_col = f"{q}_stderr"
        se = None
        if se_col in rows.columns:
            se = pd.to_numeric(rows[se_col], errors="coerce").to_numpy(dtype=float)
        out = fit_growth(t, y, stderr=se, quantity=q).to_dict()
        notes = [*pre, f"{int(spiked.sum())} isolated spikes left out"] if spiked.any() else pre
        out["message"] = "; ".join([*notes, out["message"]])
        out["excluded_spikes_h"] = [float(x) for x in t[spiked]]
        trends[q] = out
    return {"trends": trends, "skipped": skipped, "events": [e.to_dict() for e in events]}
