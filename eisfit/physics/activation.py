"""Activation energy and pre-factor from conductivities at several temperatures.

For thermally activated hopping, sigma T = A exp(-Ea / (kB T)) (docs/physics-notes.md sec. 6), so
y = ln(sigma T) is a straight line in x = 1/T with slope b = -Ea/kB and intercept a = ln A.
`arrhenius_fit` fits that line by linear least squares, minimising
S(a, b) = sum_i w_i (y_i - a - b x_i)^2, with one of two regressions (``regression=``):

* ``"weighted"`` (the default): w_i = 1 / var(ln sigma_i) = (sigma_i / stderr_i)^2, the
  first-order propagation of the conductivity stderr from the impedance fit.  The parameter
  covariance is (X^T W X)^-1 multiplied by the Birge ratio squared max(1, chi2 / (n - 2)),
  chi2 = S(a, b) at the minimum, when the scatter exceeds the stated errors (Birge, Phys.
  Rev. 40 (1932) 207): stderrs from impedance fits ignore temperature errors.  Without
  usable stderrs for every point there is nothing to weight by and the fit is the
  unweighted one (a warning says so when stderrs were given but some are missing or zero).
* ``"unweighted"``: ordinary least squares, w_i = 1, as most papers fit an Arrhenius plot;
  the covariance is s^2 (X^T X)^-1 with s^2 = RSS / (n - 2), the usual regression estimate.

The two differ when the stderrs differ between temperatures (issue 12: 0.5975 +- 0.025 eV
weighted against a paper's 0.5869 +- 0.0163 eV unweighted on the same resistances); every
output says which was used (`ArrheniusFit.regression`).

Ea = -b kB (eV, kB = 8.617333262e-5 eV/K, CODATA 2018), A = exp(a) in S K/cm with stderr
A * stderr(a) (delta method).  Two temperatures give the line but no uncertainty (NaN);
three or more give both.  A NaN conductivity (undetermined) is skipped with a note naming
its temperature; fewer than two usable temperatures leave Ea undetermined (NaN, status
``undetermined``, with the reason).  Ea below 0 or outside `PLAUSIBLE_EA_EV` (0.05-2 eV)
is kept but warned about (status ``warning``): ion transport in solid electrolytes has
Ea ~ 0.1-0.5 eV (docs/physics-notes.md sec. 6), and the bounds leave room for poor conductors and
fast ones (issue 12).  Pure functions: no fitting of spectra here (that is
`eisfit.physics.arrhenius.arrhenius_series`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._util import finite_or_none
from ..errors import PhysicsError

__all__ = [
    "BOLTZMANN_EV_PER_K",
    "PLAUSIBLE_EA_EV",
    "REGRESSIONS",
    "ZERO_CELSIUS_K",
    "ArrheniusFit",
    "arrhenius_fit",
    "check_regression",
    "plausibility",
    "positive_finite",
    "temperature_text",
    "undetermined_fit",
]

BOLTZMANN_EV_PER_K = 8.617333262e-5  # CODATA 2018, exact in the 2019 SI
REGRESSIONS = ("weighted", "unweighted")
#: activation energies outside this range (eV) are warned about (issue 12, item 7)
PLAUSIBLE_EA_EV = (0.05, 2.0)
#: 0 degrees Celsius in kelvin
ZERO_CELSIUS_K = 273.15


@dataclass(frozen=True)
class ArrheniusFit:
    """sigma T = A exp(-Ea / (kB T)) fitted to one role's conductivities.

    ``prefactor_s_k_cm`` is A (S K/cm); stderrs are NaN with only two temperatures.
    ``regression`` is the regression actually used (``weighted`` or ``unweighted``, see the
    module docstring); ``status`` is ``ok``, ``warning`` (Ea implausible, see `warnings`) or
    ``undetermined`` (fewer than two usable temperatures: every number is NaN and
    ``reason`` says why).  ``temperatures_k`` and ``conductivities_s_cm`` are the points
    used; ``skipped_k`` the temperatures left out as undetermined.
    """

    role: str
    activation_energy_ev: float
    activation_energy_stderr_ev: float
    prefactor_s_k_cm: float
    prefactor_stderr_s_k_cm: float
    temperatures_k: tuple[float, ...]
    conductivities_s_cm: tuple[float, ...]
    r_squared: float
    conductivity_stderr_s_cm: tuple[float, ...] | None = None
    regression: str = "unweighted"
    warnings: tuple[str, ...] = field(default=())
    status: str = "ok"
    reason: str = ""
    skipped_k: tuple[float, ...] = field(default=())

    @property
    def weighted(self) -> bool:
        """Whether conductivity stderrs weighted the regression."""
        return self.regression == "weighted"

    def conductivity_s_cm(self, temperature_k: npt.ArrayLike) -> np.ndarray:
        """The fitted line's conductivity (S/cm) at ``temperature_k`` (NaN if undetermined)."""
        t = np.asarray(temperature_k, dtype=float)
        energy = self.activation_energy_ev / (BOLTZMANN_EV_PER_K * t)
        return self.prefactor_s_k_cm * np.exp(-energy) / t

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (non-finite numbers become ``None``)."""
        stderr = self.conductivity_stderr_s_cm
        return {
            "role": self.role,
            "status": self.status,
            "reason": self.reason or None,
            "regression": self.regression,
            "activation_energy_ev": {
                "value": finite_or_none(self.activation_energy_ev),
                "stderr": finite_or_none(self.activation_energy_stderr_ev),
            },
            "prefactor_s_k_cm": {
                "value": finite_or_none(self.prefactor_s_k_cm),
                "stderr": finite_or_none(self.prefactor_stderr_s_k_cm),
            },
            "r_squared": finite_or_none(self.r_squared),
            "weighted": self.weighted,
            "temperatures_k": list(self.temperatures_k),
            "conductivities_s_cm": list(self.conductivities_s_cm),
            "conductivity_stderr_s_cm": None
            if stderr is None
            else [finite_or_none(s) for s in stderr],
            "skipped_k": list(self.skipped_k),
            "warnings": list(self.warnings),
        }


def positive_finite(values: npt.ArrayLike, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise PhysicsError(f"{what} must be numbers") from None
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        raise PhysicsError(f"{what} must be finite and > 0, got {array[bad][0]!r}")
    return array


def check_regression(regression: str | None) -> str:
    """``regression`` or the default ``"weighted"``; anything else raises `PhysicsError`."""
    if regression is None:
        return "weighted"
    if regression not in REGRESSIONS:
        raise PhysicsError(f"regression {regression!r}: expected one of {', '.join(REGRESSIONS)}")
    return regression


def temperature_text(temperature_k: float) -> str:
    """``233.15 K (-40.00 C)``: how notes name a temperature."""
    return f"{temperature_k:.2f} K ({temperature_k - ZERO_CELSIUS_K:.2f} C)"


def plausibility(role: str, ea_ev: float) -> str | None:
    """A warning when ``ea_ev`` is negative or outside `PLAUSIBLE_EA_EV`, else None."""
    lo, hi = PLAUSIBLE_EA_EV
    if not math.isfinite(ea_ev) or lo <= ea_ev <= hi:
        return None
    if ea_ev < 0:
        return (
            f"{role}: Ea = {ea_ev:.3g} eV is negative: the conductivity falls as the "
            "temperature rises, which thermally activated conduction cannot do; check the "
            "temperatures and that the same arc was assigned to this role at every temperature"
        )
    if ea_ev < lo:
        return (
            f"{role}: Ea = {ea_ev:.3g} eV is below {lo:g} eV: the conductivity hardly changes "
            "with temperature, unlike ion transport in a solid electrolyte (typically "
            "0.1-0.5 eV); an electronic leak, a lead resistance or wrong temperatures can do this"
        )
    return (
        f"{role}: Ea = {ea_ev:.3g} eV is above {hi:g} eV, far beyond ion transport in solid "
        "electrolytes (typically 0.1-0.5 eV): check the temperatures (C or K?) and the "
        "assignment of the arcs"
    )


def undetermined_fit(
    role: str,
    reason: str,
    *,
    regression: str | None = None,
    temperatures_k: tuple[float, ...] = (),
    conductivities_s_cm: tuple[float, ...] = (),
    skipped_k: tuple[float, ...] = (),
    warnings: tuple[str, ...] = (),
) -> ArrheniusFit:
    """An Arrhenius fit whose Ea cannot be determined: NaN everywhere, with the reason."""
    nan = math.nan
    return ArrheniusFit(
        role, nan, nan, nan, nan, temperatures_k, conductivities_s_cm, nan, None,
        check_regression(regression), (*warnings, f"{role}: Ea undetermined: {reason}"),
        "undetermined", reason, skipped_k,
    )  # fmt: skip


def _line(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, birge: bool
) -> tuple[float, float, float, float, float]:
    """(intercept, slope, se_intercept, se_slope, R^2) of the weighted straight line."""
    root_w = np.sqrt(weights)
    design = np.column_stack([np.ones_like(x), x]) * root_w[:, None]
    (intercept, slope), *_ = np.linalg.lstsq(design, y * root_w, rcond=None)
    residuals = y - (intercept + slope * x)
    chi2 = float(np.sum(weights * residuals**2))
    dof = x.size - 2
    se_intercept = se_slope = math.nan
    if dof > 0:
        scale = max(1.0, chi2 / dof) if birge else chi2 / dof
        cov = np.linalg.inv(design.T @ design) * scale
        se_intercept, se_slope = (float(v) for v in np.sqrt(np.diag(cov)))
    y_mean = np.sum(weights * y) / np.sum(weights)
    total = float(np.sum(weights * (y - y_mean) ** 2))
    r_squared = 1.0 - chi2 / total if total > 0 else math.nan
    return float(intercept), float(slope), se_intercept, se_slope, r_squared


def _weights(
    sigma: np.ndarray, stderr: np.ndarray | None, regression: str, role: str
) -> tuple[np.ndarray, str, list[str]]:
    """The weights of the regression, the regression actually used and its notes."""
    if regression == "unweighted" or stderr is None:
        return np.ones_like(sigma), "unweighted", []
    if np.all(np.isfinite(stderr) & (stderr > 0)):
        return (sigma / stderr) ** 2, "weighted", []  # 1 / var(ln sigma), first order
    note = f"{role}: some conductivity stderrs are missing or zero; unweighted fit"
    return np.ones_like(sigma), "unweighted", [note]


def arrhenius_fit(
    temperatures_k: npt.ArrayLike,
    conductivities_s_cm: npt.ArrayLike,
    *,
    role: str,
    conductivity_stderr_s_cm: npt.ArrayLike | None = None,
    regression: str | None = None,
) -> ArrheniusFit:
    """Fit ln(sigma T) = ln A - Ea / (kB T) (see the module docstring for the statistics).

    ``regression``: ``"weighted"`` (default, by the conductivity stderrs) or
    ``"unweighted"`` (ordinary least squares).  Raises `PhysicsError` for fewer than two
    distinct temperatures, mismatched lengths, non-numbers, non-positive or infinite values.
    A NaN conductivity is undetermined: that point is skipped with a note, and when fewer
    than two temperatures remain the result is undetermined (NaN, never a number).
    Stderrs that are missing, non-finite or zero for any used point make a weighted fit
    unweighted, with a warning.
    """
    method = check_regression(regression)
    t = positive_finite(temperatures_k, "temperatures_k")
    try:
        sigma = np.asarray(conductivities_s_cm, dtype=float).ravel()
    except (TypeError, ValueError):
        raise PhysicsError("conductivities_s_cm must be numbers") from None
    if t.size != sigma.size:
        raise PhysicsError(f"{t.size} temperatures but {sigma.size} conductivities")
    if np.unique(t).size < 2:
        raise PhysicsError(
            f"an Arrhenius fit of {role} needs at least 2 different temperatures, "
            f"got {np.unique(t).size}"
        )
    undetermined = np.isnan(sigma)
    positive_finite(sigma[~undetermined], "conductivities_s_cm")
    stderr: np.ndarray | None = None
    if conductivity_stderr_s_cm is not None:
        stderr = np.asarray(conductivity_stderr_s_cm, dtype=float).ravel()
        if stderr.size != sigma.size:
            raise PhysicsError(f"{stderr.size} stderrs for {sigma.size} conductivities")
        stderr = stderr[~undetermined]
    notes = [
        f"{role}: conductivity undetermined at {temperature_text(v)}, point skipped"
        for v in t[undetermined]
    ]
    skipped = tuple(float(v) for v in t[undetermined])
    t, sigma = t[~undetermined], sigma[~undetermined]
    if np.unique(t).size < 2:
        reason = f"{np.unique(t).size} usable temperature(s), at least 2 needed"
        return undetermined_fit(role, reason, regression=method, skipped_k=skipped,
                                temperatures_k=tuple(map(float, t)),
                                conductivities_s_cm=tuple(map(float, sigma)),
                                warnings=tuple(notes))  # fmt: skip
    weights, used, weight_notes = _weights(sigma, stderr, method, role)
    notes += weight_notes
    x, y = 1.0 / t, np.log(sigma * t)
    intercept, slope, se_intercept, se_slope, r_squared = _line(
        x, y, weights, birge=used == "weighted"
    )
    if t.size < 3:
        notes.append(f"{role}: 2 temperatures give no uncertainty (3 or more needed)")
    ea = float(-slope * BOLTZMANN_EV_PER_K)
    implausible = plausibility(role, ea)
    if implausible:
        notes.append(implausible)
    prefactor = math.exp(intercept)
    return ArrheniusFit(
        role=role,
        activation_energy_ev=ea,
        activation_energy_stderr_ev=float(se_slope * BOLTZMANN_EV_PER_K),
        prefactor_s_k_cm=prefactor,
        prefactor_stderr_s_k_cm=float(prefactor * se_intercept),
        temperatures_k=tuple(float(v) for v in t),
        conductivities_s_cm=tuple(float(v) for v in sigma),
        r_squared=r_squared,
        conductivity_stderr_s_cm=None if stderr is None else tuple(float(v) for v in stderr),
        regression=used,
        warnings=tuple(notes),
        status="warning" if implausible else "ok",
        skipped_k=skipped,
    )
