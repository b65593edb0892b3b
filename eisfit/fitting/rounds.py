"""Running a set of starts: MINPACK local fits with an active set, batched races.

The pieces `eisfit.fitting.solver` builds its search from: `local_fit` (MINPACK's lmder from one
start, bounds kept by holding a value on the bound it stepped past and refitting the
rest, released again when the refitted point pulls it back inside), `batch_round` (all
starts advanced together by the batched Levenberg-Marquardt of `eisfit.fitting.lm`, or its
compiled twin in `eisfit.fitting.compiled`, then the leader polished by `local_fit`), and the
evaluation and time budget they share (`Counter`).  See `eisfit.fitting.api` for what is
minimised.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BudgetExceededError
from . import compiled
from .lm import ROW_BYTES, BatchResult, batched_lm

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem

__all__ = [
    "POLISH_RATIO",
    "SAME_COST",
    "Counter",
    "Local",
    "Round",
    "batch_round",
    "local_fit",
    "rounding_floor",
    "stacked_residuals",
]

SAME_COST = 1e-6  # costs within this (relative) are one minimum
_BATCH_ITER = 40  # iterations of the batched race before MINPACK takes over
POLISH_RATIO = 3.0  # leaders whose race cost exceeds this times the best are not polished
_DROP_RATIO = 3.0  # batched starts this far above the best are dropped (after _GRACE steps)
_GRACE = 3
_PATIENT_GRACE = 10  # a patient round (see `batch_round`) drops and stops this much later
_FTOL = 1e-9  # a batched start has converged when a step lowers its cost by less (relative)


@dataclass
class Counter:
    """Model evaluations a fit has used, its limits (evaluations, wall-clock deadline from
    time.perf_counter) and whether it ever ran out of them."""

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
            raise BudgetExceededError


@dataclass(frozen=True)
class Local:
    """Where a local fit ended (full parameter vector, natural units), its cost (sum of
    squared weighted residuals), whether its convergence test passed, and its start."""

    theta: np.ndarray
    cost: float
    converged: bool
    start: np.ndarray


def local_fit(
    problem: Problem, start: np.ndarray, counter: Counter, max_nfev: int, *, release: bool = True
) -> Local:
    """MINPACK from ``start`` with the bounds kept by an active set (see below).

    A value MINPACK steps past its bound is held there and the rest refitted; with
    ``release``, a value the refitted point then pulls back inside (`_release`) is freed
    again, so the fit does not stop on a bound that is not its optimum.
    """
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

    from scipy.optimize import leastsq  # here: only a polish needs it (start-up, issue 15)

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
            return Local(theta=theta, cost=float(r @ r), converged=True, start=start)
        remaining = max(max_nfev - (counter.nfev - used_before), 2)  # one budget in all
        local = replace(local_fit(held, theta, counter, remaining, release=False), start=start)
        if not release:
            return local
        return _release(problem, local, counter, max_nfev - (counter.nfev - used_before))
    theta = problem.theta(nat)
    return Local(theta=theta, cost=cost, converged=ier in (1, 2, 3, 4), start=start)


def _release(problem: Problem, local: Local, counter: Counter, max_nfev: int) -> Local:
    """Refit with every bound value freed when the gradient at ``local`` pulls one inside.

    The active set holds a value on the bound MINPACK stepped past; once the others are
    refitted, the optimum may lie inside after all (an arc above the band whose n touched
    1 on the way).  The Karush-Kuhn-Tucker test: a value on its lower bound whose cost
    gradient is negative (on the upper, positive) is not optimal there (Nocedal & Wright,
    Numerical Optimization, 2nd ed. (2006), sec. 12.1 and 16.5).  The refit is kept only
    when it lowers the cost; it gets what is left of the start's budget.
    """
    v = local.theta[problem.free]
    low, high = v <= problem.floor, v >= problem.ceil
    if not (low.any() or high.any()) or max_nfev <= 2:
        return local
    r, j = problem.residual_and_jacobian(v)
    g = j @ r  # half the gradient of the cost w.r.t. the free values (natural units)
    if not ((low & (g < 0)) | (high & (g > 0))).any():
        return local
    try:
        freed = local_fit(problem, local.theta, counter, max_nfev, release=False)
    except BudgetExceededError:
        return local  # the point reached stands
    return replace(freed, start=local.start) if freed.cost < local.cost else local


def rounding_floor(problem: Problem) -> float:
    """The cost at which the residuals are rounding errors of the weighted data.

    (100 machine epsilons of |w z| per value, squared and summed.)  A noise-free
    spectrum fitted by its own circuit ends there; no step can lower the cost further, so
    convergence tests on relative decrease never pass and the evaluation budget runs out
    at a point that is a minimum to working precision (Dennis & Schnabel, Numerical
    Methods for Unconstrained Optimization and Nonlinear Equations (1983), sec. 7.2: stop
    when the function is at its noise level).
    """
    weighted = np.concatenate([problem.w_re * problem.z.real, problem.w_im * problem.z.imag])
    return float((100.0 * np.finfo(float).eps) ** 2 * (weighted @ weighted))


def stacked_residuals(problem: Problem) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
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
    problem: Problem,
    x0: np.ndarray,
    counter: Counter,
    should_stop: Callable[[int], bool],
    *,
    patient: bool = False,
) -> BatchResult:
    """The batched race from ``x0`` (internal coordinates): compiled when numba is there
    (`eisfit.fitting.compiled`), else `batched_lm` on numpy.  Batched rounds only run for circuits
    with a batch evaluator, which are the closed-form chains the kernel evaluates.
    ``patient``: see `batch_round`."""
    log = problem.log
    with np.errstate(divide="ignore"):  # log(0) = -inf: no lower bound
        lower = np.where(log, np.log(np.maximum(problem.floor, 0.0)), problem.floor)
        upper = np.where(log, np.log(problem.ceil), problem.ceil)
    options = {
        "drop_ratio": _DROP_RATIO,
        "grace": _PATIENT_GRACE if patient else _GRACE,
        "ftol": _FTOL,
        "same_cost": 0.0 if patient else SAME_COST,
        "max_iter": _BATCH_ITER,
    }
    layout = problem.circuit.layout
    if layout is None or not compiled.used_for(problem.omega.size):
        stacked = stacked_residuals(problem)
        row_bytes = 16 * (problem.free.size + 1) * problem.omega.size  # residuals + Jacobian
        per_call = max(1, ROW_BYTES // row_bytes)
        return batched_lm(stacked, x0, lower=lower, upper=upper, should_stop=should_stop,
                          rows_per_call=per_call, **options)  # fmt: skip
    if should_stop(0):
        counter.stopped = True
        raise BudgetExceededError
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


@dataclass(frozen=True)
class Round:
    """What a batched round found: the best point (None: no finite cost), how many
    starts reached its cost, and the starts the race left unfinished (`batch_round`)."""

    best: Local | None
    hits: int
    pending: tuple[np.ndarray, ...] = ()


def batch_round(
    problem: Problem,
    starts: list[np.ndarray],
    counter: Counter,
    per_start: int,
    *,
    patient: bool = False,
) -> Round:
    """Race ``starts`` together, then polish the leader (and a close runner-up) with MINPACK.

    The race ends once its leader has converged and a second start reached the same cost
    (`eisfit.fitting.lm`), and it drops starts that lag far behind: quick when the starts share
    one basin.  A *patient* round counts no such confirmation and drops starts later
    (`_PATIENT_GRACE` iterations), for starts that each explore a different place of an
    arc (`eisfit.fitting.structure.revived_starts`) and may need the whole race to get there.
    ``pending``: the rows the race stopped before they converged, at costs within the
    drop ratio of the best and not on it: each may still be descending to another basin.
    """
    used = counter.nfev

    def should_stop(n_rows: int) -> bool:
        counter.nfev = used + n_rows
        return (counter.max_nfev is not None and counter.nfev > counter.max_nfev) or (
            time.perf_counter() > counter.deadline
        )

    if counter.max_nfev is not None:  # the first batched call already evaluates every start
        starts = starts[: max(counter.max_nfev - used, 1)]
    x0 = problem.to_internal(np.array(starts))
    out = _run_batch(problem, x0, counter, should_stop, patient=patient)
    order = np.argsort(out.cost, kind="stable")
    if not np.isfinite(out.cost[order[0]]):
        if should_stop(out.n_rows):
            counter.stopped = True
            raise BudgetExceededError
        return Round(None, 0)
    lowest = out.cost[order[0]]
    hits = int(np.sum(out.cost <= lowest * (1 + SAME_COST)))
    if should_stop(out.n_rows):
        # the budget ran out inside the batch: its best row stands, unpolished
        counter.stopped = True
        k = order[0]
        theta = _theta_of(problem, out.x[k])
        return Round(Local(theta, float(lowest), bool(out.converged[k]), starts[k]), hits)
    best, hits = _polish(problem, out, order, hits, starts, counter, per_start)
    unfinished = (
        ~out.converged & (out.cost > lowest * (1 + SAME_COST)) & (out.cost <= _DROP_RATIO * lowest)
    )
    pending = tuple(_theta_of(problem, out.x[k]) for k in np.flatnonzero(unfinished))
    return Round(best, hits, pending)


def _theta_of(problem: Problem, x: np.ndarray) -> np.ndarray:
    """The full parameter vector of a batch row ``x`` (internal coordinates), clipped in
    natural units too: exp(log(bound)) can land an ulp outside the bound."""
    theta = problem.base.copy()
    nat = np.where(problem.log, np.exp(x), x)
    theta[problem.free] = np.clip(nat, problem.floor, problem.ceil)
    return theta


def _polish(
    problem: Problem,
    out: BatchResult,
    order: np.ndarray,
    hits: int,
    starts: list[np.ndarray],
    counter: Counter,
    per_start: int,
) -> tuple[Local | None, int]:
    """MINPACK polishes the race's leader and, unless confirmed, a close runner-up."""
    free = problem.free
    lowest = out.cost[order[0]]
    # MINPACK polishes the leader and, unless confirmed, the runner-up when it is close:
    # a start still crawling along a valley when the batch stopped may yet win
    best: Local | None = None
    for rank, k in enumerate(order[:2]):
        if rank and (hits >= 2 or out.cost[k] > POLISH_RATIO * lowest):
            break
        theta = _theta_of(problem, out.x[k])
        if hits >= 2 and out.converged[k]:
            # two starts converged to one cost: a minimum, and LM already sits on it
            lead = Local(theta=theta, cost=float(out.cost[k]), converged=True, start=starts[k])
            return lead, hits
        # a value the batch holds on a bound stays held: MINPACK would step past the
        # bound and need a second run (`local_fit`'s active set)
        pinned = out.pinned[k]
        held = problem.hold(pinned, theta[free]) if pinned.any() else problem
        # the runner-up gets a third of the budget: it only has to show it can win
        budget, used_k = per_start if rank == 0 else per_start // 3, counter.nfev
        try:
            local = local_fit(held, theta, counter, budget)
            if pinned.any():  # the held values may not be optimal on their bounds after all
                local = _release(problem, local, counter, budget - (counter.nfev - used_k))
        except BudgetExceededError:
            # the polish ran out of budget: the batch's point stands as it was
            local = Local(theta, float(out.cost[k]), bool(out.converged[k]), theta)
        if local.cost > out.cost[k] * (1 + SAME_COST):
            # a polish that ends above the batch's point (a value clamped on a bound and too
            # little budget left to refit the rest) does not replace it
            local = Local(theta, float(out.cost[k]), bool(out.converged[k]), theta)
        local = replace(local, start=starts[k])
        if best is None or local.cost < best.cost:
            best = local
    return best, hits
