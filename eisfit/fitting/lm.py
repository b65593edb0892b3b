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

The caller's function returns the stacked matrix [J; r] of each start (rows: the p
parameters' derivatives, then the residuals), so one batched product gives J J^T, J r
and |r|^2 together: per-call overhead, not arithmetic, is what costs here.

Memory: the stacked rows of one start are (p + 1) x 2N numbers (6 MB for 50,000 points
and 7 parameters), so the starts are evaluated a few at a time when the spectrum is long
(`ROW_BYTES` per call); the Gram matrices are per start, so this changes no number.

The decision rules (damping, active set, acceptance, convergence, dropping and confirming
starts) live in `eisfit.fitting.lm_rules`, which the compiled twin
(`eisfit.fitting.chain_kernel`) compiles: the two solvers share them and keep no copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import lm_rules as rules

__all__ = ["BatchResult", "batched_lm"]

Stacked = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]

ROW_BYTES = 8 * 2**20  # stacked rows evaluated in one call at most (all starts together)


@dataclass(frozen=True)
class BatchResult:
    x: np.ndarray  # (S, p) final points
    cost: np.ndarray  # (S,) sum of squared residuals (inf where never finite)
    converged: np.ndarray  # (S,) bool
    n_evaluations: int  # batched calls of the model
    n_rows: int  # parameter vectors evaluated in all (sum of batch sizes)
    pinned: np.ndarray  # (S, p) bool: on a bound with the gradient pointing out of the box


def _normal(a: np.ndarray, scale: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|r|^2 (B,), J r (B, p) and J J^T (B, p, p) of the stacked rows S A, where A is
    (B, p + 1, m) and S = diag(``scale``) (B, p + 1), or the identity for None.

    One batched product: the Gram matrix of the stacked rows holds all three.  Scaling
    the small Gram matrix is cheaper than scaling the rows of A.
    """
    p = a.shape[1] - 1
    gram = a @ a.transpose(0, 2, 1)
    if scale is not None:
        gram *= scale[:, :, None]
        gram *= scale[:, None, :]
    cost = gram[:, p, p]
    if not np.isfinite(cost).all():
        cost = np.where(np.isfinite(cost), cost, np.inf)
    return cost, gram[:, :p, p], gram[:, :p, :p]


class _Normal:
    """`_normal` of ``stacked(x)``, the rows of x evaluated ``per_call`` at a time; None
    learns it from the first call (one row first: its stacked rows' size against
    `ROW_BYTES`), which costs one more call."""

    def __init__(self, stacked: Stacked, per_call: int | None) -> None:
        self._stacked = stacked
        self._per_call = per_call

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._per_call is None and x.shape[0] > 1:
            first = _normal(*self._stacked(x[:1]))
            return _joined([first, self(x[1:])])
        if self._per_call is None or x.shape[0] <= self._per_call:
            a, scale = self._stacked(x)
            if self._per_call is None:  # one row: its size sets the rows per call
                self._per_call = max(int(ROW_BYTES // max(a[0].nbytes, 1)), 1)
            return _normal(a, scale)
        step = self._per_call
        return _joined([_normal(*self._stacked(x[i : i + step])) for i in range(0, len(x), step)])


def _joined(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))  # type: ignore[return-value]


def _judge(
    cost: list[float],
    trial: list[float],
    predicted: list[float],
    lam: list[float],
    nu: list[float],
    ftol: float,
    tiny_step: list[bool],
) -> tuple[list[bool], list[bool], list[float], list[float]]:
    """`eisfit.fitting.lm_rules.judge` of each start: (step taken, converged, new damping
    lam, new growth factor nu) per start.  On Python floats: with a handful of starts,
    each numpy call would cost more than the arithmetic it does."""
    better, done, new_lam, new_nu = [], [], [], []
    judge = rules.judge
    for c, c_t, pred, lam_i, nu_i, tiny in zip(
        cost, trial, predicted, lam, nu, tiny_step, strict=True
    ):
        ok, done_i, lam_i, nu_i = judge(c, c_t, pred, lam_i, nu_i, ftol, tiny)
        better.append(ok)
        done.append(done_i)
        new_lam.append(lam_i)
        new_nu.append(nu_i)
    return better, done, new_lam, new_nu


def batched_lm(
    stacked: Stacked,
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
    rows_per_call: int | None = None,
) -> BatchResult:
    """Minimise |r(x)|^2 from every row of ``x0`` (S, p).

    ``stacked(X)`` takes (B, p) and returns (A, s): [J; r] = diag(s) A, where A is
    (B, p + 1, m), rows 0..p-1 the Jacobian (row i: dr/dx_i) and row p the residuals,
    and s (B, p + 1) row scales (None: all 1).  ``lower``/``upper`` (p,) are
    projection bounds (+-inf for none).  ``should_stop(n_rows)`` is asked before each
    batched call with the number of parameter vectors evaluated so far; returning True
    ends the run early (budget).

    With ``drop_ratio``, after ``grace`` iterations a start whose cost exceeds
    ``drop_ratio`` times the lowest cost so far is abandoned (it is in another basin), and
    the run ends once the leading start has converged and another start has reached the
    same cost (relative ``same_cost``: the minimum is confirmed), or ``grace`` iterations
    after the leader converged (the others are heading elsewhere).

    ``rows_per_call``: the rows of x evaluated in one call of ``stacked`` (None: as many
    as fit in `ROW_BYTES`, learnt from a first call of one row; callers that know the
    size of a row, (p + 1) x 2N x 8 bytes, save that call with
    ``max(1, ROW_BYTES // row_bytes)``).
    """
    x_all = rules.clip(np.array(x0, dtype=float), lower, upper)
    s, p = x_all.shape
    normal = _Normal(stacked, rows_per_call)
    cost_all, grad_all, hess_all = normal(x_all)
    cost_all, grad_all = cost_all.copy(), grad_all.copy()  # written below: own the data
    converged = np.zeros(s, dtype=bool)
    n_eval, n_rows = 1, s
    eye = np.eye(p)
    bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    # The working set holds the active starts only, compacted whenever some leave, so
    # each step works on whole arrays instead of indexing into the batch.
    rows = np.flatnonzero(np.isfinite(cost_all))
    x, cost, grad, hess = x_all[rows], cost_all[rows], grad_all[rows], hess_all[rows]
    lam = [rules.LAMBDA_START] * rows.size  # per-start damping and its growth factor
    nu = [rules.NU_START] * rows.size
    lead_seen, lead_done_at = -1, 0
    for it in range(1, max_iter + 1):
        if rows.size == 0 or (should_stop is not None and should_stop(n_rows)):
            break
        h, g = hess, grad
        damp = rules.damping(np.array(lam)[:, None], np.diagonal(h, axis1=1, axis2=2))
        # active set: a parameter on a bound whose gradient points out of the box is held
        # there (its row and column decoupled), so the others take a true LM step instead
        # of a projected one that crawls along the bound
        pinned = rules.pinned(x, g, lower, upper)
        if pinned.any():
            free = ~pinned
            h = h * (free[:, :, None] & free[:, None, :])
            g = np.where(pinned, 0.0, g)
            damp = np.where(pinned, rules.HELD_DAMPING, damp)
        try:
            step = np.linalg.solve(h + damp[:, :, None] * eye, g[..., None])[..., 0]
            step *= -1.0
        except np.linalg.LinAlgError:
            step = rules.steepest_step(g, damp)
        raw = x + step
        trial = rules.clip(raw, lower, upper)
        # predicted decrease of |r|^2 from the model |r + J^T step|^2: -(2 step.g +
        # step.H.step).  For the LM step (H + D) step = -g, so it is step.(D step - g);
        # a step shortened by the bounds needs the full form
        if bounded and not (trial == raw).all():
            step = trial - x
            predicted = -np.einsum("sp,sp->s", step, 2.0 * g + (h @ step[..., None])[..., 0])
        else:
            predicted = np.einsum("sp,sp->s", step, damp * step - g)
        c_t, g_t, h_t = normal(trial)
        n_eval, n_rows = n_eval + 1, n_rows + rows.size
        tiny = rules.tiny_step(np.abs(step).max(axis=1), np.abs(x).max(axis=1), xtol)
        better, done, lam, nu = _judge(
            cost.tolist(), c_t.tolist(), predicted.tolist(), lam, nu, ftol, tiny.tolist()
        )
        if all(better):  # common while starts descend: no selection needed
            x, cost, grad, hess = trial, c_t, g_t, h_t
        elif any(better):
            keep = np.array(better)
            x = np.where(keep[:, None], trial, x)
            cost = np.where(keep, c_t, cost)
            grad = np.where(keep[:, None], g_t, grad)
            hess = np.where(keep[:, None, None], h_t, hess)
        done_a = np.array(done)
        cost_all[rows] = cost
        if any(done):
            converged[rows[done_a]] = True
        leave = done_a
        if drop_ratio is not None and rules.racing(it, grace):
            best = cost_all.min()
            leave = leave | rules.dropped(cost, best, drop_ratio)
            # confirmed: the leader has converged and another start sits on the same cost;
            # or the leader has converged and the others had `grace` more iterations
            lead = int(np.argmin(cost_all))
            if converged[lead]:
                lead_done_at = rules.lead_clock(lead, lead_seen, lead_done_at, it)
                lead_seen = lead
                n_same = int(rules.same_minimum(cost_all, best, same_cost).sum())
                if rules.race_over(n_same, it, lead_done_at, grace):
                    break
        if leave.any():
            x_all[rows[leave]], grad_all[rows[leave]] = x[leave], grad[leave]
            stay = ~leave
            rows, x, cost, grad, hess = rows[stay], x[stay], cost[stay], grad[stay], hess[stay]
            kept = stay.tolist()
            lam = [v for v, k in zip(lam, kept, strict=True) if k]
            nu = [v for v, k in zip(nu, kept, strict=True) if k]
    x_all[rows], grad_all[rows], cost_all[rows] = x, grad, cost
    x, cost, grad = x_all, cost_all, grad_all
    return BatchResult(
        x=x,
        cost=cost,
        converged=converged,
        n_evaluations=n_eval,
        n_rows=n_rows,
        pinned=rules.pinned(x, grad, lower, upper),
    )
