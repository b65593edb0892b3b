"""The multi-start Levenberg-Marquardt loop: which starts run, how far, which one wins.

Kept apart from `eisfit.fitting` (which validates options and builds the problem) and
from `eisfit.outcome` (which turns the winner into a `FitResult`) so that each stays
small.  See `eisfit.fitting` for what is minimised.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import leastsq

from . import compiled
from .lm import BatchResult, batched_lm
from .outcome import Outcome

if TYPE_CHECKING:  # pragma: no cover
    from .fitting import _Problem

__all__ = ["solve"]

_SAME_COST = 1e-6
_NFEV_PER_START = 20  # times (number of free parameters + 1)
_RACE_NFEV = 30  # MINPACK evaluations each start gets before the leaders are chosen
_MAX_POLISHED = 4  # race leaders polished at most
_BATCH_ITER = 40  # iterations of the batched race before MINPACK takes over
_POLISH_RATIO = 3.0  # leaders whose race cost exceeds this times the best are not polished
_DROP_RATIO = 3.0  # batched starts this far above the best are dropped (after _GRACE steps)
_GRACE = 3
_FTOL = 1e-9  # a batched start has converged when a step lowers its cost by less (relative)


class _BudgetExceededError(Exception):
    """Raised inside the residual function once the time or evaluation budget is spent."""


@dataclass
class _Counter:
    nfev: int = 0
    max_nfev: int | None = None
    deadline: float = float("inf")
    stopped: bool = False  # the budget ran out at some point of the search

    def tick(self) -> None:
        self.nfev += 1
        if (self.max_nfev is not None and self.nfev > self.max_nfev) or (
            time.perf_counter() > self.deadline
        ):
            self.stopped = True
            raise _BudgetExceededError


@dataclass(frozen=True)
class _Local:
    theta: np.ndarray
    cost: float
    converged: bool
    start: np.ndarray


def _local_fit(problem: _Problem, start: np.ndarray, counter: _Counter, max_nfev: int) -> _Local:
    x0 = problem.to_internal(start)
    used_before = counter.nfev

    cache: dict[str, np.ndarray] = {}

    def fun(x: np.ndarray) -> np.ndarray:
        # MINPACK asks for the Jacobian at the point it last evaluated: compute both at once
        counter.tick()
        nat, dnat = problem.from_internal(x)
        r, j = problem.residual_and_jacobian(nat)
        cache["x"], cache["jac"] = x.copy(), np.where(np.isfinite(j), j, 0.0) * dnat[:, None]
        return np.where(np.isfinite(r), r, 1e150)

    def jac(x: np.ndarray) -> np.ndarray:
        if "x" in cache and np.array_equal(cache["x"], x):
            return cache["jac"]
        nat, dnat = problem.from_internal(x)
        _, j = problem.residual_and_jacobian(nat)
        return np.where(np.isfinite(j), j, 0.0) * dnat[:, None]

    # MINPACK's lmder through scipy's thin legacy wrapper: least_squares(method="lm")
    # calls the same routine with several layers of per-call bookkeeping on top.
    x, _, info, _, ier = leastsq(
        fun,
        x0,
        Dfun=jac,
        col_deriv=True,
        full_output=True,
        xtol=1e-10,
        gtol=1e-10,
        maxfev=max_nfev,
    )
    cost = float(info["fvec"] @ info["fvec"])
    nat, _ = problem.from_internal(x)
    clamped = np.clip(nat, problem.floor, problem.ceil)
    outside = clamped != nat
    if outside.any():
        # active set: a value past its physical bound is held there and the rest refitted
        held = problem.hold(outside, clamped)
        theta = held.theta(clamped[~outside])
        if held.free.size == 0:
            r, _ = held.residual_and_jacobian(np.zeros(0))
            return _Local(theta=theta, cost=float(r @ r), converged=True, start=start)
        remaining = max(max_nfev - (counter.nfev - used_before), 2)  # one budget in all
        return _local_fit(held, theta, counter, remaining)
    theta = problem.theta(nat)
    return _Local(theta=theta, cost=cost, converged=ier in (1, 2, 3, 4), start=start)


def _batchable(problem: _Problem) -> bool:
    return problem.circuit.batchable and not problem.exprs


def _search_sequential(
    problem: _Problem, starts: list[np.ndarray], counter: _Counter, per_start: int
) -> tuple[_Local | None, int]:
    """Race every start for a few MINPACK steps, polish leaders until two agree.

    When the budget runs out, the best point reached so far stands (the verdict judges
    how close to a minimum it is); nothing reached at all raises `_BudgetExceededError`.
    """
    best: _Local | None = None
    hits = 0
    raced = []
    for start in starts:
        try:
            raced.append(_local_fit(problem, start, counter, _RACE_NFEV))
        except _BudgetExceededError:
            break
    raced = sorted((r for r in raced if np.isfinite(r.cost)), key=lambda r: r.cost)
    if not raced and counter.stopped:
        raise _BudgetExceededError
    for lead in raced[:_MAX_POLISHED]:
        if best is not None and lead.cost > _POLISH_RATIO * best.cost:
            break  # the rest ended the race far above the best: other basins
        if counter.stopped:
            best = best or lead
            break
        try:
            local = _local_fit(problem, lead.theta, counter, per_start)
        except _BudgetExceededError:
            local = replace(lead, converged=False)
        local = replace(local, start=lead.start)
        if best is None or local.cost < best.cost * (1 - _SAME_COST):
            best, hits = local, 1
        elif local.cost <= best.cost * (1 + _SAME_COST):
            hits += 1
            best = local if local.cost < best.cost else best
        if hits >= 2:
            break
    return best, hits


def _search_batched(
    problem: _Problem,
    starts: list[np.ndarray],
    counter: _Counter,
    per_start: int,
    revive: Callable[..., list[np.ndarray]] | None = None,
    spares: list[np.ndarray] | None = None,
) -> tuple[_Local | None, int, int]:
    """Run every start to convergence together (`eisfit.lm`), polish the best with MINPACK.

    When the best solution has let an arc vanish (zero resistance or a time constant far
    outside the band), the arc is re-seeded across the band (``revive``) and those starts
    are run too: a vanished arc is the usual sign of a missed small arc.  When no second
    start confirmed the best cost, the ``spares`` (the next candidates) are run as well.
    Returns (best, starts that reached its cost, starts run).
    """
    best, hits = _batch_round(problem, starts, counter, per_start)
    n_run = len(starts)
    if best is None:
        return best, hits, n_run
    if hits < 2 and spares:
        try:
            more, more_hits = _batch_round(problem, spares, counter, per_start)
        except _BudgetExceededError:
            return best, hits, n_run  # the first round's answer stands
        n_run += len(spares)
        if more is not None and more.cost < best.cost * (1 - _SAME_COST):
            best, hits = more, more_hits
        elif more is not None and more.cost <= best.cost * (1 + _SAME_COST):
            hits += more_hits
    extra = revive(problem.circuit, best.theta, problem.omega, problem.z) if revive else []
    if extra:
        try:
            second, _ = _batch_round(
                problem, list(_clip(problem, np.array(extra))), counter, per_start
            )
        except _BudgetExceededError:
            return best, hits, n_run
        if second is not None and second.cost < best.cost * (1 - _SAME_COST):
            best, hits = second, 1
    return best, hits, n_run


def _stacked_residuals(problem: _Problem) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The residual function `batched_lm` takes: [J; r] of every row of x (weighted
    Jacobian w.r.t. x, weighted residuals) and the row scales d theta / d x (the chain rule
    of log parameters)."""
    free, log, base, w_pair = problem.free, problem.log, problem.base, problem.w_pair
    all_free = free.size == base.size  # free is sorted and unique: then it is every index
    evaluate, omega, z_data = problem.circuit.evaluate_stacked, problem.omega, problem.z
    p = free.size
    rows = None if all_free else np.append(free, base.size)  # free dZ rows, then the Z row

    def stacked(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nat = np.where(log, np.exp(x), x)
        if all_free:
            theta = nat
        else:
            theta = np.broadcast_to(base, (x.shape[0], base.size)).copy()
            theta[:, free] = nat
        a = evaluate(theta, omega)  # fresh array: worked on in place
        a[:, -1] -= z_data
        if rows is not None:
            a = a[:, rows]
        out = a.view(float)  # real and imaginary parts interleaved, like w_pair
        out *= w_pair
        if not math.isfinite(out.sum()):  # one reduction instead of a mask on every call
            jac = out[:, :p]
            jac[~np.isfinite(jac)] = 0.0  # a non-finite residual stays: its cost is inf
        scale = np.ones((x.shape[0], p + 1))  # the residual row is not scaled
        scale[:, :p] = np.where(log, nat, 1.0)
        return out, scale

    return stacked


def _run_batch(
    problem: _Problem,
    x0: np.ndarray,
    counter: _Counter,
    should_stop: Callable[[int], bool],
) -> BatchResult:
    """The batched race from ``x0`` (internal coordinates): compiled when numba is there
    (`eisfit.compiled`), else `batched_lm` on numpy.  Batched rounds only run for circuits
    with a batch evaluator, which are the closed-form chains the kernel evaluates."""
    log = problem.log
    with np.errstate(divide="ignore"):  # log(0) = -inf: no lower bound
        lower = np.where(log, np.log(np.maximum(problem.floor, 0.0)), problem.floor)
        upper = np.where(log, np.log(problem.ceil), problem.ceil)
    options = {
        "drop_ratio": _DROP_RATIO,
        "grace": _GRACE,
        "ftol": _FTOL,
        "same_cost": _SAME_COST,
        "max_iter": _BATCH_ITER,
    }
    layout = problem.circuit.layout
    if layout is None or not compiled.active():
        stacked = _stacked_residuals(problem)
        return batched_lm(stacked, x0, lower=lower, upper=upper, should_stop=should_stop, **options)
    if should_stop(0):
        counter.stopped = True
        raise _BudgetExceededError
    used = counter.nfev
    return compiled.batched_chain_lm(
        layout,
        x0,
        lower=lower,
        upper=upper,
        base=problem.base,
        free=problem.free,
        log=log,
        omega=problem.omega,
        z=problem.z,
        w_re=problem.w_re,
        w_im=problem.w_im,
        # the kernel cannot read the clock: the caller checks it after the call
        max_rows=None if counter.max_nfev is None else counter.max_nfev - used,
        **options,
    )


def _batch_round(
    problem: _Problem, starts: list[np.ndarray], counter: _Counter, per_start: int
) -> tuple[_Local | None, int]:
    free, log, base = problem.free, problem.log, problem.base
    used = counter.nfev

    def should_stop(n_rows: int) -> bool:
        counter.nfev = used + n_rows
        return (counter.max_nfev is not None and counter.nfev > counter.max_nfev) or (
            time.perf_counter() > counter.deadline
        )

    if counter.max_nfev is not None:  # the first batched call already evaluates every start
        starts = starts[: max(counter.max_nfev - used, 1)]
    x0 = problem.to_internal(np.array(starts))
    out = _run_batch(problem, x0, counter, should_stop)
    order = np.argsort(out.cost, kind="stable")
    if not np.isfinite(out.cost[order[0]]):
        if should_stop(out.n_rows):
            counter.stopped = True
            raise _BudgetExceededError
        return None, 0
    lowest = out.cost[order[0]]
    hits = int(np.sum(out.cost <= lowest * (1 + _SAME_COST)))
    if should_stop(out.n_rows):
        # the budget ran out inside the batch: its best row stands, unpolished
        counter.stopped = True
        k = order[0]
        theta = base.copy()
        nat = np.where(log, np.exp(out.x[k]), out.x[k])
        theta[free] = np.clip(nat, problem.floor, problem.ceil)
        return _Local(theta, float(lowest), bool(out.converged[k]), starts[k]), hits
    # MINPACK polishes the leader and, unless confirmed, the runner-up when it is close:
    # a start still crawling along a valley when the batch stopped may yet win
    best: _Local | None = None
    for rank, k in enumerate(order[:2]):
        if rank and (hits >= 2 or out.cost[k] > _POLISH_RATIO * lowest):
            break
        theta = base.copy()
        # clipped in natural units too: exp(log(bound)) can land an ulp outside the bound
        nat = np.where(log, np.exp(out.x[k]), out.x[k])
        theta[free] = np.clip(nat, problem.floor, problem.ceil)
        if hits >= 2 and out.converged[k]:
            # two starts converged to one cost: a minimum, and LM already sits on it
            lead = _Local(theta=theta, cost=float(out.cost[k]), converged=True, start=starts[k])
            return lead, hits
        # a value the batch holds on a bound stays held: MINPACK would step past the
        # bound and need a second run (`_local_fit`'s active set)
        pinned = out.pinned[k]
        held = problem.hold(pinned, theta[free]) if pinned.any() else problem
        # the runner-up gets a third of the budget: it only has to show it can win
        try:
            local = _local_fit(held, theta, counter, per_start if rank == 0 else per_start // 3)
        except _BudgetExceededError:
            # the polish ran out of budget: the batch's point stands as it was
            local = _Local(theta, float(out.cost[k]), bool(out.converged[k]), theta)
        if local.cost > out.cost[k] * (1 + _SAME_COST) and out.converged[k]:
            local = _Local(theta=theta, cost=float(out.cost[k]), converged=True, start=theta)
        local = replace(local, start=starts[k])
        if best is None or local.cost < best.cost:
            best = local
    return best, hits


def solve(
    problem: _Problem,
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
    counter = _Counter(max_nfev=max_nfev, deadline=deadline)
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
    best: _Local | None = None
    hits, message = 0, ""
    tried = len(starts)
    try:
        if _batchable(problem):
            best, hits, tried = _search_batched(problem, starts, counter, per_start, revive, spares)
        else:
            best, hits = _search_sequential(problem, starts, counter, per_start)
    except _BudgetExceededError:
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
    # what the optimiser knows; `eisfit.verdict` turns it (and the residuals) into a status
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


def _clip(problem: _Problem, theta: np.ndarray) -> np.ndarray:
    """Move starts (..., p) inside the bounds of the free parameters (positive ones > 0)."""
    out = theta.copy()
    v = np.clip(out[..., problem.free], problem.floor, problem.ceil)
    tiny = np.maximum(problem.floor, 0.0) + 1e-12 * np.where(
        np.isfinite(problem.ceil), problem.ceil, 1.0
    )
    out[..., problem.free] = np.where(problem.log & (v <= 0), tiny, v)
    return out
