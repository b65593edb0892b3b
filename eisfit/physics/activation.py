"""Activation energy and pre-factor from conductivities at several temperatures.

For thermally activated hopping, sigma T = A exp(-Ea / (kB T)) (domain notes sec. 6), so
ln(sigma T) is a straight line in 1/T with slope -Ea/kB and intercept ln A.
`arrhenius_fit` fits that line by (weighted) linear least squares:

* without conductivity uncertainties every point has the same weight and the parameter
  covariance is (X^T X)^-1 s^2 with s^2 = RSS / (n - 2), the usual regression estimate;
* with uncertainties, the weight of a point is 1 / var(ln sigma) = (sigma / stderr)^2
  (first-order propagation) and the covariance (X^T W X)^-1 is multiplied by the Birge
  ratio squared max(1, chi2 / (n - 2)) when the scatter exceeds the stated errors (Birge,
  Phys. Rev. 40 (1932) 207): stderrs from impedance fits ignore temperature errors.

Ea = -slope kB (eV, kB = 8.617333262e-5 eV/K, CODATA 2018), A = exp(intercept) in S K/cm
with stderr A * stderr(intercept) (delta method).  Two temperatures give the line but no
uncertainty (NaN); three or more give both.  Pure functions: no fitting of spectra here
(that is `eisfit.physics.arrhenius.arrhenius_series`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import PhysicsError

__all__ = ["BOLTZMANN_EV_PER_K", "ArrheniusFit", "arrhenius_fit", "positive_finite"]

BOLTZMANN_EV_PER_K = 8.617333262e-5  # CODATA 2018, exact in the 2019 SI


def _none_if_nan(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class ArrheniusFit:
    """sigma T = A exp(-Ea / (kB T)) fitted to one role's conductivities.

    ``prefactor_s_k_cm`` is A (S K/cm); stderrs are NaN with only two temperatures.
    ``weighted`` says whether conductivity stderrs weighted the regression.
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
    weighted: bool = False
    warnings: tuple[str, ...] = field(default=())

    def conductivity_s_cm(self, temperature_k: npt.ArrayLike) -> np.ndarray:
        """The fitted line's conductivity (S/cm) at ``temperature_k``."""
        t = np.asarray(temperature_k, dtype=float)
        energy = self.activation_energy_ev / (BOLTZMANN_EV_PER_K * t)
        return self.prefactor_s_k_cm * np.exp(-energy) / t

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (non-finite numbers become ``None``)."""
        stderr = self.conductivity_stderr_s_cm
        return {
            "role": self.role,
            "activation_energy_ev": {
                "value": _none_if_nan(self.activation_energy_ev),
                "stderr": _none_if_nan(self.activation_energy_stderr_ev),
            },
            "prefactor_s_k_cm": {
                "value": _none_if_nan(self.prefactor_s_k_cm),
                "stderr": _none_if_nan(self.prefactor_stderr_s_k_cm),
            },
            "r_squared": _none_if_nan(self.r_squared),
            "weighted": self.weighted,
            "temperatures_k": list(self.temperatures_k),
            "conductivities_s_cm": list(self.conductivities_s_cm),
            "conductivity_stderr_s_cm": None
            if stderr is None
            else [_none_if_nan(s) for s in stderr],
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


def arrhenius_fit(
    temperatures_k: npt.ArrayLike,
    conductivities_s_cm: npt.ArrayLike,
    *,
    role: str,
    conductivity_stderr_s_cm: npt.ArrayLike | None = None,
) -> ArrheniusFit:
    """Fit ln(sigma T) = ln A - Ea / (kB T) (see the module docstring for the statistics).

    Needs at least two distinct temperatures (three for uncertainties); raises
    `PhysicsError` otherwise or for non-positive / non-finite input.  Stderrs that are
    missing, non-finite or zero for any point make the fit unweighted, with a warning.
    """
    t = positive_finite(temperatures_k, "temperatures_k")
    sigma = positive_finite(conductivities_s_cm, "conductivities_s_cm")
    if t.size != sigma.size:
        raise PhysicsError(f"{t.size} temperatures but {sigma.size} conductivities")
    if np.unique(t).size < 2:
        raise PhysicsError(
            f"an Arrhenius fit of {role} needs at least 2 different temperatures, "
            f"got {np.unique(t).size}"
        )
    warnings: list[str] = []
    stderr: np.ndarray | None = None
    weights = np.ones_like(t)
    if conductivity_stderr_s_cm is not None:
        stderr = np.asarray(conductivity_stderr_s_cm, dtype=float).ravel()
        if stderr.size != sigma.size:
            raise PhysicsError(f"{stderr.size} stderrs for {sigma.size} conductivities")
        if np.all(np.isfinite(stderr) & (stderr > 0)):
            weights = (sigma / stderr) ** 2  # 1 / var(ln sigma), first order
        else:
            warnings.append(
                f"{role}: some conductivity stderrs are missing or zero; unweighted fit"
            )
    weighted = stderr is not None and not warnings
    x, y = 1.0 / t, np.log(sigma * t)
    root_w = np.sqrt(weights)
    design = np.column_stack([np.ones_like(x), x]) * root_w[:, None]
    (intercept, slope), *_ = np.linalg.lstsq(design, y * root_w, rcond=None)
    residuals = y - (intercept + slope * x)
    chi2 = float(np.sum(weights * residuals**2))
    dof = t.size - 2
    if dof > 0:
        scale = chi2 / dof
        scale = max(1.0, scale) if weighted else scale
        cov = np.linalg.inv(design.T @ design) * scale
        se_intercept, se_slope = np.sqrt(np.diag(cov))
    else:
        se_intercept = se_slope = math.nan
        warnings.append(f"{role}: 2 temperatures give no uncertainty (3 or more needed)")
    y_mean = np.sum(weights * y) / np.sum(weights)
    total = float(np.sum(weights * (y - y_mean) ** 2))
    prefactor = math.exp(intercept)
    return ArrheniusFit(
        role=role,
        activation_energy_ev=float(-slope * BOLTZMANN_EV_PER_K),
        activation_energy_stderr_ev=float(se_slope * BOLTZMANN_EV_PER_K),
        prefactor_s_k_cm=prefactor,
        prefactor_stderr_s_k_cm=float(prefactor * se_intercept),
        temperatures_k=tuple(float(v) for v in t),
        conductivities_s_cm=tuple(float(v) for v in sigma),
        r_squared=1.0 - chi2 / total if total > 0 else math.nan,
        conductivity_stderr_s_cm=None if stderr is None else tuple(float(v) for v in stderr),
        weighted=weighted,
        warnings=tuple(warnings),
    )
