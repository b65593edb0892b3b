"""A batched Levenberg-Marquardt solver: many starting points advanced together.

Multi-start fitting spends most of its time in Python overhead per model evaluation,
not in arithmetic: evaluating 8 parameter vectors of a circuit in one vectorised call
costs about twice as much as evaluating one.  This solver therefore advances all starts
in lock-step, each with its own damping, and drops a start from the batch as soon as it
has converged.  It is plain Levenberg-Marquardt with Marquardt's diagonal scaling
(Marquardt, J. SIAM 11 (1963) 431; More, Lecture Notes in Math. 630 (1978) 105):

    (J J^T + lambda diag(J J^T)) delta = -J r

with Nielsen's update of lambda from the gain ratio (actual over predicted decrease).
Box bounds are handled by projection (x is clipped after each step), which is enough to
keep starts physical while racing; the final answer is polished by MINPACK
with an exact active set in `eisfit.solver`.

Convergence of a start: an accepted step that lowers the cost by less than ``ftol``
(relative) or moves x by less than ``xtol`` (relative to |x| + xtol), or a damping that
has grown past 1e12 (no descent direction left: a minimum or a bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchResult", "batched_lm"]

ResJac = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BatchResult:
    x: np.ndarray  # (S, p) final points
    cost: np.ndarray  # (S,) sum of squared residuals (inf where never finite)
    converged: np.ndarray  # (S,) bool
    n_evaluations: int  # batched calls of resjac
    n_rows: int  # parameter vectors evaluated in all (sum of batch sizes)


def _cost(r: np.ndarray) -> np.ndarray:
    c = np.einsum("sm,sm->s", r, r)
    return np.where(np.isfinite(c), c, np.inf)


def _normal_equations(jac: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J r and J J^T for a batch (rows of J are parameters); batched BLAS, not einsum."""
    return (jac @ r[..., None])[..., 0], jac @ jac.transpose(0, 2, 1)


def batched_lm(
    resjac: ResJac,
    x0: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    max_iter: int = 200,
    ftol: float = 1e-9,
    xtol: float = 1e-9,
    should_stop: Callable[[int], bool] | None = None,
    drop_ratio: float | None = None,
    grace: int = 3,
    same_cost: float = 1e-6,
) -> BatchResult:
    """Minimise |r(x)|^2 from every row of ``x0`` (S, p).

    ``resjac(X)`` takes (B, p) and returns residuals (B, m) and the Jacobian (B, p, m)
    (rows are parameters).  ``lower``/``upper`` (p,) are projection bounds (+-inf for
    none).  ``should_stop(n_rows)`` is asked before each batched call with the number of
    parameter vectors evaluated so far; returning True ends the run early (budget).

    With ``drop_ratio``, after ``grace`` iterations a start whose cost exceeds
    ``drop_ratio`` times the lowest cost so far is abandoned (it is in another basin), and
    the run ends once the leading start has converged and another start has reached the
    same cost (relative ``same_cost``: the minimum is confirmed), or ``grace`` iterations
    after the leader converged (the others are heading elsewhere).
    """
    x = np.clip(np.array(x0, dtype=float), lower, upper)
    s, p = x.shape
    r, jac = resjac(x)
    cost = _cost(r)
    grad, hess = _normal_equations(jac, r)
    lam = np.full(s, 1e-3)
    nu = np.full(s, 2.0)
    active = np.isfinite(cost)
    converged = np.zeros(s, dtype=bool)
    n_eval, n_rows = 1, s
    eye = np.eye(p)
    lead_seen, lead_done_at = -1, 0
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0 or (should_stop is not None and should_stop(n_rows)):
            break
        h, g = hess[idx], grad[idx]
        diag = np.maximum(np.diagonal(h, axis1=1, axis2=2), 1e-30)
        damp = lam[idx, None] * diag
        try:
            step = -np.linalg.solve(h + damp[:, :, None] * eye, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -g / damp
        trial = np.clip(x[idx] + step, lower, upper)
        step = trial - x[idx]
        r_t, j_t = resjac(trial)
        n_eval, n_rows = n_eval + 1, n_rows + idx.size
        c_t = _cost(r_t)
        # gain ratio: actual over predicted decrease of |r|^2 (predicted from the model
        # |r + J^T step|^2 = |r|^2 + 2 step.g + step.H.step)
        h_step = (h @ step[..., None])[..., 0]
        predicted = -np.einsum("sp,sp->s", step, 2 * g + h_step)
        rho = (cost[idx] - c_t) / np.where(predicted > 0, predicted, np.inf)
        better = (c_t < cost[idx]) & (rho > 0)
        acc, rej = idx[better], idx[~better]
        small = ((cost[acc] - c_t[better]) <= ftol * cost[acc]) | (
            np.abs(step[better]).max(axis=1) <= xtol * (np.abs(x[acc]).max(axis=1) + xtol)
        )
        x[acc], cost[acc] = trial[better], c_t[better]
        grad[acc], hess[acc] = _normal_equations(j_t[better], r_t[better])
        # Nielsen's damping update (Nielsen, IMM-REP-1999-05; Madsen, Nielsen & Tingleff 2004)
        lam[acc] *= np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho[better] - 1.0) ** 3)
        lam[acc] = np.maximum(lam[acc], 1e-15)
        nu[acc] = 2.0
        lam[rej] *= nu[rej]
        nu[rej] *= 2.0
        stuck = rej[lam[rej] > 1e12]
        done = np.concatenate([acc[small], stuck])
        converged[done] = True
        active[done] = False
        if drop_ratio is not None and it >= grace:
            best = cost.min()
            dropped = active & (cost > drop_ratio * best)
            active &= ~dropped
            # confirmed: the leader has converged and another start sits on the same cost;
            # or the leader has converged and the others had `grace` more iterations
            lead = int(np.argmin(cost))
            same = cost <= best * (1 + same_cost)
            if converged[lead]:
                lead_done_at = lead_done_at if lead == lead_seen else it
                lead_seen = lead
                if same.sum() >= 2 or it - lead_done_at >= grace:
                    break
    return BatchResult(x=x, cost=cost, converged=converged, n_evaluations=n_eval, n_rows=n_rows)
