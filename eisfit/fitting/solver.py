"""The multi-start Levenberg-Marquardt loop: which starts run, how far, which one wins.

Kept apart from `eisfit.fitting.api` (which validates options and builds the problem), from
`eisfit.fitting.rounds` (which runs a set of starts: MINPACK local fits, batched races) and from
`eisfit.fitting.assemble` (which turns the winner into a `FitResult`) so that each stays small.
See `eisfit.fitting.api` for what is minimised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BudgetExceededError
from .assemble import Outcome
from .rounds import POLISH_RATIO, SAME_COST, Counter, Local, batch_round, local_fit, rounding_floor
from .verdict import RUNS_Z, runs_z

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem

__all__ = ["solve"]

_NFEV_PER_START = 20  # times (number of free parameters + 1)
_RACE_NFEV = 30  # MINPACK evaluations each start gets before the leaders are chosen
_MAX_POLISHED = 4  # race leaders polished at most
_RESTARTS = 6  # restarts from the best point at most (`_restart`)


def _batchable(problem: Problem) -> bool:
    return problem.circuit.batchable and not problem.exprs


def _search_sequential(
    problem: Problem, starts: list[np.ndarray], counter: Counter, per_start: int
) -> tuple[Local | None, int]:
    """Race every start for a few MINPACK steps, polish leaders until two agree.

    When the budget runs out, the best point reached so far stands (the verdict judges
    how close to a minimum it is); nothing reached at all raises `BudgetExceededError`.
    """
    best: Local | None = None
    hits = 0
    raced = []
    for start in starts:
        try:
            raced.append(local_fit(problem, start, counter, _RACE_NFEV))
        except BudgetExceededError:
            break
    raced = sorted((r for r in raced if np.isfinite(r.cost)), key=lambda r: r.cost)
    if not raced and counter.stopped:
        raise BudgetExceededError
    for lead in raced[:_MAX_POLISHED]:
        if best is not None and lead.cost > POLISH_RATIO * best.cost:
            break  # the rest ended the race far above the best: other basins
        if counter.stopped:
            best = best or lead
            break
        try:
            local = local_fit(problem, lead.theta, counter, per_start)
        except BudgetExceededError:
            local = replace(lead, converged=False)
        local = replace(local, start=lead.start)
        if best is None or local.cost < best.cost * (1 - SAME_COST):
            best, hits = local, 1
        elif local.cost <= best.cost * (1 + SAME_COST):
            hits += 1
            best = local if local.cost < best.cost else best
        if hits >= 2:
            break
    return best, hits


def _search_batched(
    problem: Problem,
    starts: list[np.ndarray],
    counter: Counter,
    per_start: int,
    revive: Callable[..., list[np.ndarray]] | None = None,
    spares: list[np.ndarray] | None = None,
) -> tuple[Local | None, int, int]:
    """Run every start to convergence together (`eisfit.fitting.lm`), polish the best with MINPACK.

    When no second start confirmed the best cost, or its residuals cluster over
    frequency (`_structured`: the starts that agreed may share a wrong basin), the
    ``spares`` (the next candidates) are run as well.  When the best solution has an arc
    that vanished, merged with another or lies outside the band
    (`eisfit.fitting.structure.suspect_arcs`), that arc is re-seeded across and beyond the band
    (``revive``); those starts, and the ones the races left unfinished, then run in a
    patient round (also when the residuals cluster).  Such solutions, and any that
    stopped on its evaluation budget, are restarted from the best point (`_restart`).
    A best point whose cost is at rounding level has converged (`rounding_floor`).
    Returns (best, starts that reached its cost, starts run).
    """
    first = batch_round(problem, starts, counter, per_start)
    best, hits, pending = first.best, first.hits, list(first.pending)
    n_run = len(starts)
    if best is None:
        return best, hits, n_run
    best, hits, n_run = _doubts(
        problem, best, hits, pending, n_run, counter, per_start, revive, spares
    )
    if not best.converged and best.cost <= rounding_floor(problem):
        best = replace(best, converged=True)
    return best, hits, n_run


def _doubts(
    problem: Problem,
    best: Local,
    hits: int,
    pending: list[np.ndarray],
    n_run: int,
    counter: Counter,
    per_start: int,
    revive: Callable[..., list[np.ndarray]] | None,
    spares: list[np.ndarray] | None,
) -> tuple[Local, int, int]:
    """The rounds after the first (see `_search_batched`); when one runs out of budget
    the best point reached so far stands."""
    structured = _structured(problem, best.theta)
    if spares and (hits < 2 or structured):
        try:
            more = batch_round(problem, spares, counter, per_start)
        except BudgetExceededError:
            return best, hits, n_run
        n_run += len(spares)
        pending += more.pending
        if more.best is not None and more.best.cost < best.cost * (1 - SAME_COST):
            best, hits = more.best, more.hits
            structured = _structured(problem, best.theta)
        elif more.best is not None and more.best.cost <= best.cost * (1 + SAME_COST):
            hits += more.hits
    extra = revive(problem.circuit, best.theta, problem.omega, problem.z) if revive else []
    again = [*extra, *pending] if extra or structured else []
    if again:
        # a doubtful best: the revived starts and those the races left unfinished get a
        # patient round, which no early agreement of two starts cuts short
        try:
            second = batch_round(
                problem, list(_clip(problem, np.array(again))), counter, per_start, patient=True
            ).best
        except BudgetExceededError:
            return best, hits, n_run
        if second is not None and second.cost < best.cost * (1 - SAME_COST):
            best, hits = second, 1
    if extra or structured or not best.converged:
        best, hits = _restart(problem, best, hits, counter, per_start)
    return best, hits, n_run


def _structured(problem: Problem, theta: np.ndarray) -> bool:
    """Whether the residuals at ``theta`` cluster over frequency (runs test z below
    `eisfit.fitting.verdict.RUNS_Z` on the signs of the real or the imaginary parts; Wald &
    Wolfowitz, Ann. Math. Statist. 11 (1940) 147) at a cost above rounding level.

    Two starts that end on one cost usually confirm a minimum, but when the circuit
    needs an arc outside the band, several grid starts can share one wrong basin (an arc
    in the band mimicking a tail); their residuals then show the missed process.
    """
    r, _ = problem.residual_and_jacobian(theta[problem.free])
    if not r @ r > rounding_floor(problem):
        return False
    order = np.argsort(problem.omega, kind="stable")
    parts = r.reshape(-1, 2)[order]  # real and imaginary parts, point by point
    zs = [z for z in (runs_z(parts[:, 0]), runs_z(parts[:, 1])) if math.isfinite(z)]
    return bool(zs) and min(zs) < RUNS_Z


def _restart(
    problem: Problem, best: Local, hits: int, counter: Counter, per_start: int
) -> tuple[Local, int]:
    """Run the local search again from the best point while that lowers its cost.

    For a best point that stopped on its evaluation budget, or one with an arc outside
    the band or doing another arc's work (`eisfit.fitting.structure.suspect_arcs`): there the cost
    surface is a long flat valley (the arc's R trades against the intercept, its Q
    against n), along which Levenberg-Marquardt's damping grows until its steps no longer
    count, and MINPACK's evaluation budget runs out.  A fresh start from the same point
    has its damping reset (Madsen, Nielsen & Tingleff, Methods for Non-Linear Least
    Squares Problems, 2nd ed. (2004), sec. 3.2) and walks on.  A restart that lowers the
    cost by more than `SAME_COST` is one start's result (the others reached the old
    cost, not this one); one that ends on the same cost and converged confirms the point
    is a minimum.
    """
    for _ in range(_RESTARTS):
        try:
            again = batch_round(problem, [best.theta], counter, per_start).best
        except BudgetExceededError:
            break  # the point reached stands
        if again is None or again.cost > best.cost:
            break
        improved = again.cost < best.cost * (1 - SAME_COST)
        best, hits = replace(again, start=best.start), (1 if improved else hits)
        if not improved:
            break
    return best, hits


def solve(
    problem: Problem,
    *,
    user_initial: dict[int, float],
    n_starts: int,
    n_spare: int = 0,
    max_nfev: int | None,
    deadline: float,
    starting_points: Callable[..., list[np.ndarray]],
    canonical_arc_order: Callable[..., np.ndarray] | None,
    revive: Callable[..., list[np.ndarray]] | None = None,
) -> Outcome:
    """Run local fits from the candidate starts until the best cost is confirmed."""
    counter = Counter(max_nfev=max_nfev, deadline=deadline)
    base = problem.base
    if problem.free.size == 0:
        theta = problem.theta(np.zeros(0))
        return Outcome(
            problem=problem,
            theta=theta,
            start=theta,
            found=True,
            converged=True,
            stopped=False,
            hits=0,
            nfev=1,
            n_starts=0,
            message="all parameters fixed: model evaluated, nothing fitted",
        )
    starts = []
    free_set = set(problem.free.tolist())
    if user_initial and free_set <= set(user_initial):
        starts.append(_clip(problem, _merge(base, user_initial)))
    held = np.array([i for i in range(base.size) if i not in free_set], dtype=int)
    # a complete user start with n_starts=1 (the batch's warm path) needs no search
    candidates = (
        starting_points(
            problem.circuit,
            problem.omega,
            problem.z,
            problem.w_re,
            problem.w_im,
            n_starts=n_starts,
            n_spare=n_spare if _batchable(problem) else 0,
        )
        if len(starts) < n_starts
        else []
    )
    if candidates:  # all at once: one array operation per step, not one per candidate
        merged = _merge(np.array(candidates), user_initial)
        merged[:, held] = base[held]  # fixed values and expressions keep their own
        starts.extend(_clip(problem, merged))
    starts, spares = starts[:n_starts], starts[n_starts:]
    per_start = _NFEV_PER_START * (problem.free.size + 1)
    best: Local | None = None
    hits, message = 0, ""
    tried = len(starts)
    try:
        if _batchable(problem):
            best, hits, tried = _search_batched(problem, starts, counter, per_start, revive, spares)
        else:
            best, hits = _search_sequential(problem, starts, counter, per_start)
    except BudgetExceededError:
        message = "stopped: the time or evaluation budget ran out before any start finished"
    if best is None:
        return Outcome(
            problem=problem,
            theta=starts[0] if starts else base,
            start=starts[0] if starts else base,
            found=False,
            converged=False,
            stopped=counter.stopped,
            hits=0,
            nfev=counter.nfev,
            n_starts=tried,
            message=message or "no start gave a finite residual",
        )
    theta = best.theta
    if canonical_arc_order is not None:
        reordered = canonical_arc_order(problem.circuit, theta)
        v = reordered[problem.free]
        if np.all((v >= problem.floor) & (v <= problem.ceil)):  # per-arc bounds still hold
            theta = reordered
    # what the optimiser knows; `eisfit.fitting.verdict` turns it (and the residuals) into a status
    return Outcome(
        problem=problem,
        theta=theta,
        start=best.start,
        found=True,
        converged=best.converged,
        stopped=counter.stopped,
        hits=hits,
        nfev=counter.nfev,
        n_starts=tried,
    )


def _merge(base: np.ndarray, values: dict[int, float]) -> np.ndarray:
    """``base`` (..., p) with the given parameters set."""
    out = base.copy()
    for i, v in values.items():
        out[..., i] = v
    return out


def _clip(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Move starts (..., p) inside the bounds of the free parameters (positive ones > 0)."""
    out = theta.copy()
    v = np.clip(out[..., problem.free], problem.floor, problem.ceil)
    tiny = np.maximum(problem.floor, 0.0) + 1e-12 * np.where(
        np.isfinite(problem.ceil), problem.ceil, 1.0
    )
    out[..., problem.free] = np.where(problem.log & (v <= 0), tiny, v)
    return out
