"""The outcome of a solve, and the `FitResult` built from it.

One model evaluation at the optimum gives the residuals, the fitted spectrum and the
Jacobian, from which the covariance (standard errors and correlations, scaled by the
reduced chi-square unless the weights are the user's sigma) and the information
criteria follow; `eisfit.fitting.verdict` then judges what the numbers are worth (status,
reasons, undetermined parameters) and the message says it in one sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ..spectrum import Spectrum
from . import verdict as vd
from .result import FitResult

if TYPE_CHECKING:  # pragma: no cover
    from ..kk.result import KKResult
    from .problem import Problem

__all__ = ["Outcome"]


@dataclass(frozen=True)
class Outcome:
    """Result of `solve`, turned into a `FitResult` by `to_result`."""

    problem: Problem
    theta: np.ndarray
    start: np.ndarray
    found: bool  # a finite optimum was reached
    converged: bool  # the local solver that produced it met its convergence test
    stopped: bool  # the search ran out of its time or evaluation budget
    hits: int  # starts that reached the best cost (independent confirmations)
    nfev: int
    n_starts: int
    message: str = ""  # set when there is nothing to judge (no optimum, nothing free)
    warnings: tuple[str, ...] = field(default=())

    def to_result(
        self,
        spectrum: Spectrum,
        weighting: str,
        fixed: dict[int, object],
        elapsed_s: float,
        kk: KKResult | None,
        warnings: list[str],
        *,
        user_bounds: frozenset[int] = frozenset(),
        warm: bool = False,
    ) -> FitResult:
        """The `FitResult`: values, covariance, residuals and the verdict on them.

        ``user_bounds``: indices of parameters bounded by the user (named in reasons);
        ``warm``: the fit started from given values with one start (the batch's warm
        path), which the message says instead of counting confirmations.
        """
        pb = self.problem
        names = pb.circuit.names
        # one model evaluation gives the residuals, the Jacobian and the fitted spectrum
        zfit, dz = pb.evaluate(np.asarray(self.theta, dtype=float))
        if pb.exprs:
            r, jac = pb.residual_and_jacobian(self.theta[pb.free])
        else:
            r = (zfit - pb.z).view(float) * pb.w_pair
            jac = dz[pb.free].view(float) * pb.w_pair
        chi2 = float(r @ r)
        n_data, k = r.size, pb.free.size
        dof = max(n_data - k, 1)
        free = pb.free.tolist()
        found = self.found and math.isfinite(chi2)
        on_bound = (
            vd.bound_findings(pb.circuit, self.theta, free, pb.floor, pb.ceil, user_bounds)
            if found
            else {}
        )
        # a parameter held on a bound is not estimated: the covariance of the others is
        # that of the fit with it fixed there
        est = np.array([names[i] not in on_bound for i in free], dtype=bool)
        cov_free, notes = _covariance(
            jac.T[:, est], self.theta[pb.free][est],
            scale=chi2 / dof if weighting != "sigma" else 1.0,
        )  # fmt: skip
        cov = np.full((len(names), len(names)), np.nan)
        idx = pb.free[est]
        cov[np.ix_(idx, idx)] = cov_free
        if pb.exprs:
            d = pb.expr_derivatives(self.theta[pb.free])[:, est]
            ex = list(pb.exprs)
            cov[np.ix_(ex, ex)] = d @ cov_free @ d.T
            cov[np.ix_(ex, idx)] = d @ cov_free
            cov[np.ix_(idx, ex)] = (d @ cov_free).T
        stderr = np.sqrt(np.abs(np.diag(cov)))
        for i in fixed:
            stderr[i] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(stderr, stderr)
        rel = (pb.z - zfit) / np.abs(pb.z)
        log_term = n_data * np.log(max(chi2, 1e-300) / n_data)
        verdict = self._judge(
            spectrum, found, on_bound, stderr, jac.T[:, est], r, rel, kk, warnings, warm
        )
        values = np.array(self.theta, dtype=float)
        for name in verdict.undetermined:
            values[names.index(name)] = math.nan
            if name not in verdict.imprecise:  # no estimate at all: no standard error either
                stderr[names.index(name)] = math.nan
        res_re, res_im = rel.real.copy(), rel.imag.copy()
        for a in (res_re, res_im):
            a.setflags(write=False)
        corr.setflags(write=False)
        return FitResult(
            circuit=pb.circuit.text,
            spectrum=spectrum,
            values=MappingProxyType({n: float(v) for n, v in zip(names, values, strict=True)}),
            stderr=MappingProxyType({n: float(s) for n, s in zip(names, stderr, strict=True)}),
            fixed=tuple(names[i] for i in sorted(fixed)),
            correlation=corr,
            success=verdict.status != "failed",
            message=self._message(verdict, warm),
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
            warnings=tuple(dict.fromkeys([*self.warnings, *notes, *verdict.notes, *warnings])),
            status=verdict.status,
            reasons=verdict.reasons,
            undetermined=verdict.undetermined,
            optimum=MappingProxyType(
                {n: float(v) for n, v in zip(names, self.theta, strict=True)}
            ),
        )

    def _judge(
        self,
        spectrum: Spectrum,
        found: bool,
        on_bound: dict[str, str],
        stderr: np.ndarray,
        jac: np.ndarray,
        r: np.ndarray,
        rel: np.ndarray,
        kk: KKResult | None,
        warnings: list[str],
        warm: bool,
    ) -> vd.Verdict:
        pb = self.problem
        free, names = pb.free.tolist(), pb.circuit.names
        if not found:
            return vd.Verdict("failed", (self.message or "no finite optimum was reached",))
        status, reasons = "ok", []
        exact = float(np.sqrt(np.mean(np.abs(rel) ** 2))) < vd.EXACT
        if not self.converged and not exact:
            drop = vd.predicted_decrease(jac, r, np.ones(jac.shape[1], dtype=bool))
            how = f"the cost could still fall by about {100 * drop:.2g} %"
            if not drop < vd.FAR_FROM_MINIMUM:
                status = "failed"
                reasons.append(f"stopped on its evaluation budget far from a minimum ({how})")
            elif drop >= vd.STATIONARY:
                status = "warning"
                reasons.append(f"stopped on its evaluation budget before converging ({how})")
        free_ok = [i for i in free if pb.circuit.names[i] not in on_bound]
        undetermined = {**vd.stderr_findings(pb.circuit, self.theta, stderr, free_ok)}
        imprecise = frozenset(n for n in undetermined if math.isfinite(stderr[names.index(n)]))
        undetermined.update(on_bound)
        apex, apex_warnings = vd.apex_findings(
            pb.circuit, self.theta, spectrum.frequency_hz, spectrum.impedance_ohm
        )
        # a bound the fit ended on is the first cause; the apex explains the others
        undetermined.update(
            {k: v for k, v in apex.items() if pb.circuit.index(k) in free and k not in on_bound}
        )
        imprecise = imprecise - set(on_bound) - set(apex)
        # the noise level the residuals are judged against: lin-KK's when it ran, else
        # screening's estimate from the scatter about a local smooth curve
        noise = getattr(kk, "noise_estimate", None) if kk is not None else None
        if noise is None or not math.isfinite(noise):
            noise = spectrum.meta.noise_estimate
        residual = vd.residual_findings(spectrum.frequency_hz, rel, noise)
        nuisance = frozenset(
            p.name for p in pb.circuit.parameters if p.symbol in ("L", "La")
        )
        return vd.judge(
            solver_status=status,
            solver_reasons=reasons,
            undetermined=undetermined,
            imprecise=imprecise,
            nuisance=nuisance,
            on_bound=frozenset(on_bound),
            warnings=[*apex_warnings, *residual],
            kk=kk,
            findings=spectrum.meta.findings,
        )

    def _message(self, verdict: vd.Verdict, warm: bool) -> str:
        """One sentence on how the optimum was reached and whether it is confirmed."""
        if verdict.status == "failed":
            return verdict.reasons[0] if verdict.reasons else "failed"
        if self.message:
            return self.message
        how = "converged" if self.converged else "stopped on its evaluation budget"
        if warm:
            # a batch's warm start (the previous spectrum's fit) or a user's full ``initial``
            return f"{how} from the starting values given (one start, no search of other minima)"
        reached = f"best cost reached from {self.hits} of {self.n_starts} starts"
        if self.hits < 2:
            why = "the other starts ended in other minima" if self.n_starts > 1 else "one start"
        elif verdict.status == "undetermined":
            why = "some parameters are undetermined"
        elif any(w.startswith("systematic residuals") for w in verdict.reasons):
            why = "the residuals show structure"
        else:
            why = ""
        tail = " (confirmed)" if not why else f" (not confirmed: {why})"
        stop = "; the search stopped on its budget" if self.stopped and self.converged else ""
        return f"{how}; {reached}{tail}{stop}"


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
