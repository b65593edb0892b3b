"""A batched Levenberg-Marquardt solver: many starting points advanced together.

Multi-start fitting spends most of its time in Python overhead per model evaluation,
not in arithmetic: evaluating 8 parameter vectors of a circuit in one vectorised call
costs about twice as much as evaluating one.  This solver therefore advances all starts
in lock-step, each with its own damping, and drops a start from the batch as soon as it
has converged.  It is plain Levenberg-Marquardt with Marquardt's diagonal scaling
(Marquardt, J. SIAM 11 (1963) 431; More, Lecture Notes in Math. 630 (1978) 105):

    (J J^T + lambda diag(J J^T)) delta = -J r

with Nielsen's update of lambda from the gain ratio (actual over predicted decrease).
Box bounds: a parameter sitting on a bound with its gradient pointing out of the box is
held there for the step (its row and column of the normal equations decoupled), the others
take the Levenberg-Marquardt step of the reduced problem, and the trial point is clipped
to the box.  Without the active set a start whose optimum lies on a bound (R0 = 0, n = 1)
crawls along it with projected steps.

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
    pinned: np.ndarray  # (S, p) bool: on a bound with the gradient pointing out of the box


def _cost(r: np.ndarray) -> np.ndarray:
    c = np.einsum("sm,sm->s", r, r)
    return c if np.isfinite(c).all() else np.where(np.isfinite(c), c, np.inf)


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
    x_all = np.clip(np.array(x0, dtype=float), lower, upper)
    s, p = x_all.shape
    r, jac = resjac(x_all)
    cost_all = _cost(r)
    grad_all, hess_all = _normal_equations(jac, r)
    converged = np.zeros(s, dtype=bool)
    n_eval, n_rows = 1, s
    eye = np.eye(p)
    # The working set holds the active starts only, compacted whenever some leave, so
    # each step works on whole arrays instead of indexing into the batch.
    rows = np.flatnonzero(np.isfinite(cost_all))
    x, cost, grad, hess = x_all[rows], cost_all[rows], grad_all[rows], hess_all[rows]
    lam = np.full(rows.size, 1e-3)
    nu = np.full(rows.size, 2.0)
    lead_seen, lead_done_at = -1, 0
    for it in range(1, max_iter + 1):
        if rows.size == 0 or (should_stop is not None and should_stop(n_rows)):
            break
        h, g = hess, grad
        damp = lam[:, None] * np.maximum(np.diagonal(h, axis1=1, axis2=2), 1e-30)
        # active set: a parameter on a bound whose gradient points out of the box is held
        # there (its row and column decoupled), so the others take a true LM step instead
        # of a projected one that crawls along the bound
        pinned = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
        if pinned.any():
            free = ~pinned
            h = h * (free[:, :, None] & free[:, None, :])
            g = np.where(pinned, 0.0, g)
            damp = np.where(pinned, 1.0, damp)
        try:
            step = -np.linalg.solve(h + damp[:, :, None] * eye, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -g / damp
        trial = np.minimum(np.maximum(x + step, lower), upper)
        step = trial - x
        r_t, j_t = resjac(trial)
        n_eval, n_rows = n_eval + 1, n_rows + rows.size
        c_t = _cost(r_t)
        # gain ratio: actual over predicted decrease of |r|^2 (predicted from the model
        # |r + J^T step|^2 = |r|^2 + 2 step.g + step.H.step)
        predicted = -np.einsum("sp,sp->s", step, 2.0 * g + (h @ step[..., None])[..., 0])
        rho = (cost - c_t) / np.where(predicted > 0, predicted, np.inf)
        better = (c_t < cost) & (rho > 0)
        small = better & (
            ((cost - c_t) <= ftol * cost)
            | (np.abs(step).max(axis=1) <= xtol * (np.abs(x).max(axis=1) + xtol))
        )
        if better.all():  # common while starts descend: no selection needed
            x, cost = trial, c_t
            grad, hess = _normal_equations(j_t, r_t)
        elif better.any():
            x = np.where(better[:, None], trial, x)
            cost = np.where(better, c_t, cost)
            g_t, h_t = _normal_equations(j_t, r_t)
            grad = np.where(better[:, None], g_t, grad)
            hess = np.where(better[:, None, None], h_t, hess)
        # Nielsen's damping update (Nielsen, IMM-REP-1999-05; Madsen, Nielsen & Tingleff 2004)
        shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
        lam = np.where(better, np.maximum(lam * shrink, 1e-15), lam * nu)
        nu = np.where(better, 2.0, 2.0 * nu)
        done = small | (~better & (lam > 1e12))  # converged, or no descent left
        cost_all[rows] = cost
        converged[rows[done]] = True
        leave = done
        if drop_ratio is not None and it >= grace:
            best = cost_all.min()
            leave = leave | (cost > drop_ratio * best)
            # confirmed: the leader has converged and another start sits on the same cost;
            # or the leader has converged and the others had `grace` more iterations
            lead = int(np.argmin(cost_all))
            if converged[lead]:
                lead_done_at = lead_done_at if lead == lead_seen else it
                lead_seen = lead
                same = cost_all <= best * (1 + same_cost)
                if same.sum() >= 2 or it - lead_done_at >= grace:
                    break
        if leave.any():
            x_all[rows[leave]], grad_all[rows[leave]] = x[leave], grad[leave]
            stay = ~leave
            rows, x, cost, grad, hess = rows[stay], x[stay], cost[stay], grad[stay], hess[stay]
            lam, nu = lam[stay], nu[stay]
    x_all[rows], grad_all[rows], cost_all[rows] = x, grad, cost
    x, cost, grad = x_all, cost_all, grad_all
    pinned = ((x <= lower) & (grad > 0)) | ((x >= upper) & (grad < 0))
    return BatchResult(
        x=x, cost=cost, converged=converged, n_evaluations=n_eval, n_rows=n_rows, pinned=pinned
    )
