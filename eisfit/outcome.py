"""The outcome of a solve, and the `FitResult` built from it.

One model evaluation at the optimum gives the residuals, the fitted spectrum and the
Jacobian, from which the covariance (standard errors and correlations, scaled by the
reduced chi-square unless the weights are the user's sigma) and the information
criteria follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from .result import FitResult
from .spectrum import Spectrum

if TYPE_CHECKING:  # pragma: no cover
    from .fitting import _Problem
    from .kk import KKResult

__all__ = ["Outcome"]


@dataclass(frozen=True)
class Outcome:
    """Result of `solve`, turned into a `FitResult` by `to_result`."""

    problem: _Problem
    theta: np.ndarray
    start: np.ndarray
    success: bool
    message: str
    nfev: int
    n_starts: int
    warnings: tuple[str, ...] = field(default=())

    def to_result(
        self,
        spectrum: Spectrum,
        weighting: str,
        fixed: dict[int, object],
        elapsed_s: float,
        kk: KKResult | None,
        warnings: list[str],
    ) -> FitResult:
        pb = self.problem
        names = pb.circuit.names
        # one model evaluation gives the residuals, the Jacobian and the fitted spectrum
        zfit, dz = pb.circuit.evaluate_omega(self.theta, pb.omega)
        if pb.exprs:
            r, jac = pb.residual_and_jacobian(self.theta[pb.free])
        else:
            r = (zfit - pb.z).view(float) * pb.w_pair
            jac = dz[pb.free].view(float) * pb.w_pair
        chi2 = float(r @ r)
        n_data, k = r.size, pb.free.size
        dof = max(n_data - k, 1)
        cov_free, notes = _covariance(
            jac.T, self.theta[pb.free], scale=chi2 / dof if weighting != "sigma" else 1.0
        )
        cov = np.full((len(names), len(names)), np.nan)
        cov[np.ix_(pb.free, pb.free)] = cov_free
        if pb.exprs:
            d = pb.expr_derivatives(self.theta[pb.free])
            ex = list(pb.exprs)
            cov[np.ix_(ex, ex)] = d @ cov_free @ d.T
            cov[np.ix_(ex, pb.free)] = d @ cov_free
            cov[np.ix_(pb.free, ex)] = (d @ cov_free).T
        stderr = np.sqrt(np.abs(np.diag(cov)))
        for i in fixed:
            stderr[i] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(stderr, stderr)
        rel = (pb.z - zfit) / np.abs(pb.z)
        log_term = n_data * np.log(max(chi2, 1e-300) / n_data)
        undetermined = [names[i] for i in pb.free[~np.isfinite(stderr[pb.free])].tolist()]
        if undetermined:
            notes.append(
                f"not determined by the data (singular covariance): {', '.join(undetermined)}"
            )
        res_re, res_im = rel.real.copy(), rel.imag.copy()
        for a in (res_re, res_im):
            a.setflags(write=False)
        corr.setflags(write=False)
        return FitResult(
            circuit=pb.circuit.text,
            spectrum=spectrum,
            values=MappingProxyType({n: float(v) for n, v in zip(names, self.theta, strict=True)}),
            stderr=MappingProxyType({n: float(s) for n, s in zip(names, stderr, strict=True)}),
            fixed=tuple(names[i] for i in sorted(fixed)),
            correlation=corr,
            success=self.success,
            message=self.message,
            weighting=weighting,
            chi2=chi2,
            chi2_per_point=chi2 / len(spectrum),
            reduced_chi2=chi2 / dof,
            aic=float(log_term + 2 * k),
            bic=float(log_term + np.log(n_data) * k),
            residuals_real=res_re,
            residuals_imag=res_im,
            nfev=self.nfev,
            n_starts=self.n_starts,
            elapsed_s=elapsed_s,
            initial=MappingProxyType({n: float(v) for n, v in zip(names, self.start, strict=True)}),
            kk=kk,
            warnings=tuple([*self.warnings, *notes, *warnings]),
        )


def _covariance(
    jac: np.ndarray, values: np.ndarray, *, scale: float
) -> tuple[np.ndarray, list[str]]:
    """(J^T J)^-1 * scale via an SVD of the column-scaled Jacobian; NaN where singular."""
    k = values.size
    if k == 0:
        return np.zeros((0, 0)), []
    col = np.where(values != 0, np.abs(values), 1.0)
    js = jac * col
    if not np.all(np.isfinite(js)):
        return np.full((k, k), np.nan), ["covariance not computed: non-finite Jacobian"]
    try:
        _, s, vt = np.linalg.svd(js, full_matrices=False)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan), ["covariance not computed: SVD did not converge"]
    if s.size == 0 or s[0] == 0:
        return np.full((k, k), np.nan), []
    keep = s > s[0] * 1e-12
    inv = (vt[keep].T / s[keep] ** 2) @ vt[keep]
    cov = inv * scale * np.outer(col, col)
    if not keep.all():
        # directions the data do not constrain: mark parameters taking part in them
        null = np.abs(vt[~keep]).max(axis=0) > 1e-3
        cov[null, :] = np.nan
        cov[:, null] = np.nan
    return cov, []
