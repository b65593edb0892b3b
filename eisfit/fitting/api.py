"""Complex non-linear least squares with automatic starting values.

What is minimised: the sum over points of ``(w' (Z'_fit - Z'))^2 + (w'' (Z''_fit - Z''))^2``
with the weights of `weights` (modulus by default).  The solvers use the circuit's
analytic Jacobian and work on the logarithm of positive scale parameters (R, Q, C, tau,
...).  Bounds, physical (0 <= n <= 1, R0 >= 0) or the user's, are kept by an active set
(projection in the batched solver, hold-and-refit in the MINPACK polish).

Starting values come from `eisfit.fitting.initial.starting_points`.  For chains of R, L, C, CPE
and R||CPE / R||C arcs (every Na|SSE|Na model) all starts are advanced together by the
batched Levenberg-Marquardt of `eisfit.fitting.lm`, starts falling far behind are dropped; when
no second start confirms the best cost, as many spare candidates are run; an arc the
best solution lets vanish (or flattens below n = 0.5) is re-seeded across the band; and
MINPACK polishes the winner unless two starts converged to its cost.  Other circuits race
their starts one by one with MINPACK and polish the leaders.  A search stops when two
starts agree on the lowest cost, the candidates are used up, or the evaluation/time
budget is spent.

Parameters, bounds, fixed values and constraint expressions are lmfit
`Parameters`; the final uncertainties come from the covariance of the analytic Jacobian
at the optimum, scaled by the reduced chi-square as lmfit does (not scaled for user
sigmas, which are taken as absolute).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import CircuitError, EisfitError, FitInputError
from ..notation.grammar import Element, Series
from ..notation.model import Circuit, compile_circuit
from ..screening.screen import screen
from ..spectrum import Spectrum
from . import compiled
from .bounds import resolvable_bounds
from .initial import starting_points
from .problem import Problem
from .result import FitResult
from .solver import solve

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
from .structure import canonical_arc_order, revived_starts
from .surrogate import default_starts
from .weighting import Weighting, usable_points, weights

__all__ = ["Weighting", "fit", "weights"]

def _boundary_params(circuit: Circuit) -> frozenset[int]:
    """Indices of series R and L values, fitted linearly (bounded below) instead of as logs.

    The optimum of a series resistance or lead inductance is often at or near zero (an arc
    just above the band absorbs the intercept; a cell without leads has no inductance),
    which a log parameter can only creep towards.
    """
    parts = circuit.tree.parts if isinstance(circuit.tree, Series) else (circuit.tree,)
    names = {p.name for p in parts if isinstance(p, Element) and p.symbol in ("R", "L")}
    return frozenset(i for i, p in enumerate(circuit.parameters) if p.element in names)


def _as_index_map(
    circuit: Circuit, mapping: Mapping[str, object] | None, what: str
) -> dict[int, object]:
    out: dict[int, object] = {}
    for key, value in (mapping or {}).items():
        try:
            i = circuit.index(key)
        except CircuitError as exc:
            raise FitInputError(f"{what}: {exc}") from None
        if i in out:
            raise FitInputError(
                f"{what}: {circuit.parameters[i].name} is given twice (as {key!r} too)"
            )
        out[i] = value
    return out


@dataclass(frozen=True)
class _Table:
    """Validated starting/fixed values and bounds of every parameter (natural units)."""

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _build_table(
    circuit: Circuit,
    initial: dict[int, object],
    fixed: dict[int, object],
    bounds: dict[int, object],
    expressions: dict[int, object],
    defaults: dict[int, tuple[float, float]],
) -> _Table:
    """Values and bounds: the user's bounds, else the defaults of `eisfit.fitting.bounds`, else
    the physical ones.  Fixed values are checked against the physical bounds only."""
    n = len(circuit)
    value, lower, upper = np.ones(n), np.empty(n), np.empty(n)
    for i, p in enumerate(circuit.parameters):
        lo, hi = p.lower, p.upper
        if i not in bounds and i not in fixed:
            lo, hi = defaults.get(i, (lo, hi))
        if i in bounds:
            try:
                lo, hi = (float(b) for b in bounds[i])  # type: ignore[union-attr]
            except (TypeError, ValueError):
                raise FitInputError(f"bounds for {p.name} must be a (lower, upper) pair") from None
            if not lo < hi:
                raise FitInputError(f"bounds for {p.name}: lower {lo} must be < upper {hi}")
            if p.log_scale and lo < 0:
                lo = 0.0
        v = fixed.get(i, initial.get(i, np.nan))
        try:
            v = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise FitInputError(f"value for {p.name} is not a number: {v!r}") from None
        if i in fixed and not math.isfinite(v):
            raise FitInputError(f"fixed value for {p.name} must be finite")
        if i in fixed and p.log_scale and v <= 0:
            raise FitInputError(f"fixed value for {p.name} must be > 0")
        if i in fixed and not lo <= v <= hi:
            raise FitInputError(f"fixed value {v:g} for {p.name} is outside [{lo:g}, {hi:g}]")
        if i in fixed and i in expressions:
            raise FitInputError(f"{p.name} is both fixed and given by an expression")
        value[i] = v if math.isfinite(v) else 1.0
        lower[i], upper[i] = lo, hi
    return _Table(value=value, lower=lower, upper=upper)


def _lmfit_params(
    circuit: Circuit, table: _Table, fixed: dict[int, object], expressions: dict[int, object]
) -> lmfit.Parameters:
    """lmfit Parameters evaluating the constraint expressions (only built when there are any)."""
    import lmfit  # imported here: it pulls in scipy.stats, ~1 s at start-up, rarely needed

    params = lmfit.Parameters()
    for i, p in enumerate(circuit.parameters):
        params.add(
            p.identifier,
            value=table.value[i],
            min=table.lower[i],
            max=table.upper[i],
            vary=i not in fixed,
        )
    names = list(params)
    for i, expr in expressions.items():
        try:
            params[names[i]].set(expr=str(expr))
            params[names[i]].value  # noqa: B018 - evaluates once to catch bad expressions
        except (NameError, SyntaxError, ValueError, TypeError) as exc:
            raise FitInputError(f"constraint expression for {names[i]}: {exc}") from None
    return params


def _count(value: object, what: str) -> int:
    """A whole-number option, or a `FitInputError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise FitInputError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FitInputError(f"timeout_s must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise FitInputError(f"timeout_s must be > 0, got {value!r}")
    return seconds


def fit(
    spectrum: Spectrum,
    circuit: str | Circuit,
    *,
    initial: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    expressions: Mapping[str, str] | None = None,
    weighting: Weighting = "modulus",
    sigma: npt.ArrayLike | None = None,
    n_starts: int | None = None,
    max_nfev: int | None = None,
    timeout_s: float | None = None,
    kk: bool = True,
) -> FitResult:
    """Fit ``circuit`` to ``spectrum``; no starting values needed.

    Parameter names may be readable (``CPE1.n``), identifiers (``CPE1_n``, also used inside
    ``expressions``, e.g. ``{"CPE2.n": "CPE1_n"}``) or impedance.py's (``CPE1_1``).
    ``initial`` values are tried first; missing ones come from the data.  ``n_starts`` caps
    the number of starting points (default 4 + 2 per time-constant unit, at most 16),
    ``max_nfev`` the model evaluations over
    all of them, ``timeout_s`` the wall time (default 10 s).  Parameters without given
    ``bounds`` get the default bounds of what the band can resolve (`eisfit.fitting.bounds`).
    Points the weighting cannot use (Z = 0) are removed first (`eisfit.fitting.weighting`); a
    spectrum not screened yet (``meta.findings`` None) is then screened
    (`eisfit.screening.screen`).  The result's ``status`` says what the numbers are worth
    (`eisfit.fitting.verdict`): undetermined parameters are NaN with their reason, a fit that is
    unusable is ``failed`` (``success=False``) with a message; bad input raises
    `FitInputError`.
    """
    model = compile_circuit(circuit)
    if model.batchable and len(spectrum) <= compiled.MAX_POINTS:
        compiled.prepare()  # the first fit of a process compiles the kernel: not timed
    spectrum = usable_points(spectrum, weighting)  # Z = 0 under 1/|Z|: removed, recorded
    if spectrum.meta.findings is None:  # not screened yet: what the data show joins the verdict
        spectrum = screen(spectrum)
    t0 = time.perf_counter()
    fixed_i = _as_index_map(model, fixed, "fixed")
    expr_i = _as_index_map(model, expressions, "expressions")
    initial_i = _as_index_map(model, initial, "initial")
    bounds_i = _as_index_map(model, bounds, "bounds")
    defaults = resolvable_bounds(model, spectrum.frequency_hz, spectrum.impedance_ohm)
    table = _build_table(model, initial_i, fixed_i, bounds_i, expr_i, defaults)
    params = _lmfit_params(model, table, fixed_i, expr_i) if expr_i else None
    free = np.array(
        [i for i in range(len(model)) if i not in fixed_i and i not in expr_i], dtype=int
    )
    n_points = len(spectrum)
    if 2 * n_points <= free.size:
        raise FitInputError(
            f"{n_points} point{'s give' if n_points != 1 else ' gives'} {2 * n_points} values, "
            f"too few for {free.size} free "
            f"parameters of {model.text}"
        )
    w_re, w_im = weights(spectrum, weighting, sigma)
    # Bounds (physical ones and the user's) are kept by an active set: solve without them,
    # hold any value past a bound at the bound, solve the rest again.  Optima often sit on
    # a bound (n = 1, R0 = 0), where a smooth bounding transform would stall.
    linear = _boundary_params(model) - set(bounds_i)
    log = np.array([model.parameters[i].log_scale and i not in linear for i in free], dtype=bool)
    problem = Problem(
        circuit=model,
        omega=spectrum.angular_frequency,
        z=spectrum.impedance_ohm,
        w_re=w_re,
        w_im=w_im,
        free=free,
        log=log,
        params=params,
        exprs=tuple(sorted(expr_i)),
        floor=table.lower[free],
        ceil=table.upper[free],
        w_pair=np.column_stack([w_re, w_im]).ravel(),
        base=table.value.copy(),
    )
    n_default = default_starts(model)
    spares = n_default if n_starts is None else 0
    n_starts = n_default if n_starts is None else max(_count(n_starts, "n_starts"), 1)
    warm = n_starts == 1 and set(free.tolist()) <= set(initial_i)
    with np.errstate(all="ignore"):  # non-finite trial values are handled explicitly
        outcome = solve(
            problem,
            user_initial={i: float(table.value[i]) for i in initial_i},
            n_starts=n_starts,
            # a given n_starts is a cap; by default, as many again are kept in reserve for
            # fits whose best cost no second start confirmed
            n_spare=spares,
            max_nfev=None if max_nfev is None else _count(max_nfev, "max_nfev"),
            deadline=t0 + (10.0 if timeout_s is None else _seconds(timeout_s)),
            starting_points=starting_points,
            canonical_arc_order=None if (fixed_i or expr_i) else canonical_arc_order,
            revive=None if (fixed_i or expr_i) else revived_starts,
        )
    kk_result = None
    warnings: list[str] = list(outcome.warnings)
    if kk:
        from ..kk.linkk import kk_check

        try:
            kk_result = kk_check(spectrum)
        except EisfitError as exc:
            warnings.append(f"KK check not run: {exc}")
    with np.errstate(all="ignore"):
        return outcome.to_result(
            spectrum, weighting, fixed_i, time.perf_counter() - t0, kk_result, warnings,
            user_bounds=frozenset(bounds_i), warm=warm,
        )  # fmt: skip
