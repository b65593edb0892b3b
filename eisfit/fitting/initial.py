"""Automatic starting values: a linear pre-fit over a grid of time constants.

Most equivalent circuits used for solid electrolytes are a series chain of *units*, each
of which is linear in one amplitude once its time constant is fixed:

=====================  ==========================  =====================================
unit                   basis column (amplitude 1)  parameters from (amplitude a, tau)
=====================  ==========================  =====================================
``R``                  1                           R = a
``L``                  j w                         L = a
``C``                  1 / (j w)                   C = 1 / a
``CPE`` (spike)        (j w)^-n0                   Q = 1 / a, n = n0
``W``                  (1 - j) / sqrt(w)           Aw = a
``La``                 (j w)^n0                    L = a, n = n0
``p(R,CPE)``           1 / (1 + (j w tau)^n0)      R = a, Q = tau^n0 / a, n = n0
``p(R,C)``             1 / (1 + j w tau)           R = a, C = tau / a
``G``/``Wo``/``Ws``    element with (1, tau)       (a, tau)
=====================  ==========================  =====================================

For every combination of time constants on a log grid (4 per decade, reaching a decade
beyond the measured band so that arcs just outside it are found; arcs further out are
reached by `eisfit.fitting.structure.revived_starts`), the weighted
linear least-squares problem for the amplitudes is solved in one batched call; the best
combinations with physical (positive) amplitudes become the starting points of the
non-linear fit.  This is variable projection (Golub & Pereyra, SIAM J. Numer. Anal. 10
(1973) 413) done by exhaustive search instead of by descent, so it cannot be trapped by a
poor first guess, and it is deterministic.  Arcs of the same kind are taken in written
order from high to low frequency, which removes the label-switching symmetry.  The
algebra over the combinations lives in `eisfit.fitting.combinations`.

Circuits that are not a chain of such units (nested parallels, Randles cells) fall back
to starting values derived from the data scales plus a deterministic quasi-random
(Halton) spread of log-scale parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..notation.model import Circuit, compile_circuit
from .combinations import (
    combination_rows,
    combinations,
    lower_pairs,
    packed_keys,
    smallest,
    solve_combinations,
    spread_keys,
)
from .initial_blocks import CHUNK_POINTS, blocked_prefit, debye_columns, unit_columns
from .structure import Unit, series_units, unit_params
from .surrogate import SURROGATE_STARTS, lift, randles_surrogate
from .workload import declared

__all__ = ["starting_points"]

_POINTS_PER_DECADE = 4
_MAX_COMBINATIONS = 8_000
_BEYOND_DECADES = 1.0  # the tau grid reaches this far past the measured band
# units whose amplitude is a resistance; one far above |Z| means cancelling columns
_RESISTIVE = frozenset({"R", "arc_CPER", "arc_CR", "G", "K", "Zarc", "Wo", "Ws"})


def _tau_grid(omega: np.ndarray, n_tau_units: int) -> np.ndarray:
    lo = math.log10(1.0 / omega.max()) - _BEYOND_DECADES
    hi = math.log10(1.0 / omega.min()) + _BEYOND_DECADES
    per_decade = _POINTS_PER_DECADE
    while True:
        n = max(round((hi - lo) * per_decade) + 1, n_tau_units + 1)
        if math.comb(n, n_tau_units) <= _MAX_COMBINATIONS or per_decade <= 1:
            return np.logspace(lo, hi, n)
        per_decade -= 1


def _grid_starts(
    circuit: Circuit,
    units: list[Unit],
    omega: np.ndarray,
    z: np.ndarray,
    w_re: np.ndarray,
    w_im: np.ndarray,
    n_starts: int,
    n_spare: int = 0,
) -> np.ndarray:
    """Candidate parameter vectors (rows), best first."""
    grid = _unweighted(tuple(units), np.ascontiguousarray(omega, dtype=float).tobytes())
    nf = grid.n_fixed
    w = np.concatenate([w_re, w_im])  # weights of the stacked [real; imaginary] rows
    y = np.concatenate([z.real, z.imag]) * w
    if grid.parts is None:  # a long spectrum: no 2N-row matrix held (`initial_blocks`)
        gram, by, norms, drt_matrix, drt_y = blocked_prefit(grid.order, nf, grid.taus, omega, w, y)
    else:
        basis = grid.parts * w[:, None]
        norms = _column_norms(basis)
        norms[norms == 0] = 1.0
        basis /= norms  # unit columns: the ridge below then means the same for every column
        gram, by = basis.T @ basis, basis.T @ y
        # the DRT's least-squares matrix [fixed columns, weighted unit Debye columns]
        drt_matrix = np.empty((basis.shape[0], nf + grid.debye.shape[1]))
        drt_matrix[:, :nf] = basis[:, :nf]
        debye = np.multiply(grid.debye, w[:, None], out=drt_matrix[:, nf:])
        debye /= _column_norms(debye)
        drt_y = y
    amps_t, amps_f, cost = solve_combinations(gram, by, y @ y, nf, grid.tau_cols, grid.pair_index)
    # amplitude of every unit (n_units, C), in `grid.order`: fixed units, then tau units
    amps = np.empty((len(units), cost.size))
    np.divide(amps_f, norms[:nf, None], out=amps[:nf])
    np.divide(amps_t, norms[grid.tau_cols], out=amps[nf:])
    abs_z = np.abs(z)
    feasible = _feasible(grid, amps, 10.0 * float(abs_z.max()))
    drt = _drt_rows(units, drt_matrix, nf, drt_y, feasible, 100 * y.size)
    rows = _ranked_rows(
        np.where(feasible, cost, np.inf) if feasible.any() else cost,
        drt,
        grid,
        n_starts,
        n_starts + n_spare,  # spares: the next ones down the same ranking
    )
    floors = 1e-4 * _median(abs_z) / np.where(grid.per_omega, omega.max(), 1.0)
    return _thetas(circuit, grid, amps[:, rows], floors, grid.taus[grid.combos[rows]])


def _column_norms(a: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(a, axis=0)`` for a real ``a`` (the same sum), without its overhead."""
    return np.sqrt(np.add.reduce(a * a, axis=0))


def _feasible(grid: _Grid, amps: np.ndarray, limit: float) -> np.ndarray:
    """Combinations whose amplitudes (rows of ``amps`` in ``grid.order``) are physical.

    Amplitudes other than R, L, La must be positive, and resistive ones not above
    ``limit`` (an amplitude far above |Z| means cancelling columns).  NaN fails the first
    test and passes the second, as in a unit-by-unit formulation.
    """
    ok = (amps[grid.positive] > 0).all(axis=0)
    ok &= ~(np.abs(amps[grid.resistive]) > limit).any(axis=0)
    return ok


def _ranked_rows(
    cost: np.ndarray, drt: np.ndarray, grid: _Grid, n_starts: int, n_all: int
) -> np.ndarray:
    """Rows of the chosen combinations: the best few, the DRT ones, then the ranking on,
    spread out by `spread_keys` over the first ``40 * n_all`` candidates.

    The spread-out selection is greedy and rarely looks past the first ten or so per
    start, so a short head of the ranking is sorted first; only if the greedy pass runs
    out of it is the full head sorted (the candidates of the short pass are a prefix of
    the full list, so the result is the same either way).
    """
    n_ranked = 40 * n_all  # candidates `spread_keys` may look at
    lead = max(n_starts - len(drt), 1)
    for m in (min(10 * n_all, n_ranked), n_ranked):
        ranked = smallest(cost, m)
        candidates = np.concatenate([ranked[:lead], drt, ranked])[:n_ranked]
        rows = spread_keys(candidates.tolist(), grid.keys, grid.near, n_all)
        if len(rows) >= n_all or ranked.size < m:
            break  # enough rows, or the short head already held every combination
    return np.array(rows, dtype=np.intp)


def _thetas(
    circuit: Circuit, grid: _Grid, amps: np.ndarray, floors: np.ndarray, taus: np.ndarray
) -> np.ndarray:
    """Parameter vectors (rows) from the unit amplitudes ``amps`` (n_units, n_rows) in
    ``grid.order`` and the time constants ``taus`` (n_rows, n_tau_units) of the chosen
    rows.  Non-positive amplitudes are replaced by the small physical ``floors`` (one
    per unit)."""
    amps = np.maximum(np.abs(amps), floors[:, None])
    thetas = np.empty((len(circuit), amps.shape[1]))  # one contiguous row per parameter
    n_fixed = grid.n_fixed
    for j, u in enumerate(grid.order):
        tau = taus[:, j - n_fixed] if u.has_tau else np.nan
        for i, v in enumerate(unit_params(u, amps[j], tau)):
            thetas[u.start + i] = v
    return thetas.T


def _median(a: np.ndarray) -> float:
    """``np.median`` of a 1-D array (the same value, NaN included) at a tenth of its cost."""
    s = np.sort(a)
    if s.size == 0 or np.isnan(s[-1]):  # NaN sorts last; np.median then returns NaN
        return math.nan
    mid = s.size // 2
    return float(s[mid] if s.size % 2 else (s[mid - 1] + s[mid]) / 2)


@dataclass(frozen=True)
class _Grid:
    """What the pre-fit needs of one frequency grid, before weighting (shared by a run).

    Complex columns are stored as real parts over imaginary parts, the row order of the
    weighted least-squares problem, so that weighting them is one product.
    """

    taus: np.ndarray  # the tau grid
    # basis (2 n_points, M): fixed units, then n_grid columns per family, and the Debye
    # columns (2 n_points, n_grid) for the DRT; None for long spectra (`initial_blocks`)
    parts: np.ndarray | None
    debye: np.ndarray | None
    order: tuple[Unit, ...]  # the units as the rows of amplitudes: fixed, then tau units
    n_fixed: int  # fixed units (no tau): the first basis columns, one each
    positive: np.ndarray  # rows (in `order`) of amplitudes that must be positive
    resistive: np.ndarray  # rows of resistances: not far above |Z|
    per_omega: np.ndarray  # rows of inductances: their floor is scaled by 1 / max(omega)
    combos: np.ndarray  # grid indices (C, k) of the tau units in every combination
    tau_cols: np.ndarray  # basis column (k, C) of each tau unit in every combination
    pair_index: np.ndarray  # flat index into an (M, M) matrix of the column pairs in
    # `lower_pairs` order (k (k + 1) / 2, C): the lower triangle of each k x k system
    keys: list[int]  # each combination packed into one integer, for `_spread_keys`
    near: tuple[int, ...]  # packed-key offsets of a combination's neighbourhood


@lru_cache(maxsize=32)
def _unweighted(units: tuple[Unit, ...], omega_bytes: bytes) -> _Grid:
    """Basis columns of ``units`` on one frequency grid and the index arrays of the
    combinations: every spectrum of a run shares them (the grid pre-fit only weights
    them).  Cached by the bytes of omega."""
    omega = np.frombuffer(omega_bytes)
    tau_units = [u for u in units if u.has_tau]
    taus = _tau_grid(omega, len(tau_units))
    # basis: one column per fixed unit, then n_grid columns per tau family
    order = tuple(u for u in units if not u.has_tau) + tuple(tau_units)
    n_fixed = len(order) - len(tau_units)
    long = omega.size > CHUNK_POINTS  # then the columns are built block by block
    parts, offsets = unit_columns(order, n_fixed, taus, omega[: 1 if long else omega.size])
    combos = combinations(tuple(u.family for u in tau_units), taus.size)
    first = np.array([offsets[u.family] for u in tau_units], dtype=np.intp)
    # C-contiguous: fancy indexing with (or gathering rows of) strided index arrays is slow
    tau_cols = np.ascontiguousarray(first[:, None] + combos.T)
    pair_index = np.array(
        [tau_cols[i] * parts.shape[1] + tau_cols[j] for i, j in lower_pairs(len(tau_units))],
        dtype=np.intp,
    ).reshape(-1, combos.shape[0])
    keys, near = packed_keys(combos)
    grid = _Grid(
        taus=taus,
        parts=None if long else parts,
        debye=None if long else debye_columns(omega, taus),
        order=order,
        n_fixed=n_fixed,
        positive=_rows_where(order, lambda u: u.family not in ("R", "L", "La")),
        resistive=_rows_where(order, lambda u: u.family in _RESISTIVE),
        per_omega=np.array([u.family in ("L", "La") for u in order]),
        combos=combos,
        tau_cols=tau_cols,
        pair_index=pair_index,
        keys=keys,
        near=near,
    )
    for a in (grid.taus, grid.parts, grid.debye, grid.tau_cols, grid.pair_index):
        if a is not None:
            a.setflags(write=False)
    return grid


def _rows_where(order: tuple[Unit, ...], test: Callable[[Unit], bool]) -> np.ndarray:
    return np.array([i for i, u in enumerate(order) if test(u)], dtype=np.intp)


#: a declared job of fewer fits than this solves its NNLS on numpy (`eisfit.fitting.nnls`):
#: importing scipy.optimize costs a fresh process about 0.4 s, about 50 of those solves
SMALL_JOB_FITS = 50


def _nnls(matrix: np.ndarray, y: np.ndarray, maxiter: int) -> tuple[np.ndarray, float]:
    """Non-negative least squares: scipy's, or for a small declared job (`workload`) the
    numpy one, which agrees with it to rounding (``tests/test_nnls.py``)."""
    job = declared()
    if job is not None and len(job) < SMALL_JOB_FITS:
        from .nnls import nnls
    else:
        from scipy.optimize import nnls
    return nnls(matrix, y, maxiter=maxiter)


def _drt_rows(
    units: list[Unit],
    matrix: np.ndarray,
    nf: int,
    y: np.ndarray,
    feasible: np.ndarray,
    maxiter: int,
) -> np.ndarray:
    """Rows of the tau-combination table whose time constants sit on peaks of a discrete DRT.

    The grid ranks combinations with a fixed arc shape (n0); an arc of another shape can
    then be mimicked by two neighbours while a small arc elsewhere is missed.  A
    non-negative least-squares fit of Debye elements on the same tau grid (a distribution
    of relaxation times without regularisation, so its peaks are sparse clusters) finds
    where the arcs are whatever their shape; combinations of its largest peaks become
    candidates too.  ``matrix`` holds the ``nf`` fixed columns, then the Debye ones:
    weighted, stacked, unit-norm columns (or their triangular reduction, with ``y`` then
    Q^T y: `initial_blocks`).  Only for circuits whose tau units are all of one kind.
    """
    tau_units = [u for u in units if u.has_tau]
    if not tau_units or len({u.family for u in tau_units}) != 1:
        return np.zeros(0, dtype=np.intp)
    k = len(tau_units)
    try:
        amps, _ = _nnls(matrix, y, maxiter)
    except RuntimeError:
        return np.zeros(0, dtype=np.intp)
    g = amps[nf:]
    g_max = g.max()
    if not g_max > 0:
        return np.zeros(0, dtype=np.intp)
    nz = np.flatnonzero(g > 1e-6 * g_max)
    # clusters of neighbouring non-zero taus: their mass and mass-weighted centre
    first = np.concatenate([[0], np.flatnonzero(nz[1:] - nz[:-1] > 2) + 1])
    mass = np.add.reduceat(g[nz], first)
    centre = np.add.reduceat(g[nz] * nz, first) / mass
    peaks = [(m, round(c)) for m, c in zip(mass.tolist(), centre.tolist(), strict=True)]
    top = sorted(p[1] for p in sorted(peaks, reverse=True)[: k + 2])
    row_of = combination_rows(tau_units[0].family, k, g.size)
    rows = [row_of.get(choice, -1) for choice in itertools.combinations(top, k)]
    return np.array([r for r in rows if r >= 0 and feasible[r]], dtype=np.intp)


def _generic_starts(
    circuit: Circuit, omega: np.ndarray, z: np.ndarray, n_starts: int
) -> list[np.ndarray]:
    """Scale-based values for any circuit, spread by a Halton sequence in log space."""
    r_scale = max(float(np.ptp(z.real)), 1e-3 * float(np.median(np.abs(z))))
    w_mid = float(np.sqrt(omega.min() * omega.max()))
    n_r = max(sum(p.unit == "ohm" for p in circuit.parameters), 1)
    base = []
    for p in circuit.parameters:
        if not p.log_scale:
            base.append(min(max(0.85, p.lower), p.upper))
        elif p.unit == "ohm":
            base.append(r_scale / n_r)
        elif p.short == "tau":
            base.append(1.0 / w_mid)
        elif p.symbol == "L" or p.symbol == "La":
            base.append(1e-3 * r_scale / omega.max())
        elif p.symbol in ("C", "CPE"):
            base.append(1.0 / (w_mid * r_scale / n_r))
        else:  # Warburg coefficient and anything else scaled in ohm * s^-1/2
            base.append(r_scale * math.sqrt(w_mid) / n_r)
    base_arr = np.array(base)
    logs = np.array([p.log_scale for p in circuit.parameters])
    starts = [base_arr]
    for k in range(1, n_starts):
        spread = np.array([_halton(k, _PRIMES[i % len(_PRIMES)]) for i in range(len(base_arr))])
        theta = base_arr.copy()
        theta[logs] = base_arr[logs] * 10.0 ** (4.0 * spread[logs] - 2.0)
        starts.append(theta)
    return starts


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _halton(index: int, base: int) -> float:
    result, frac = 0.0, 1.0 / base
    while index > 0:
        result += frac * (index % base)
        index //= base
        frac /= base
    return result


def starting_points(
    circuit: Circuit,
    omega: np.ndarray,
    z: np.ndarray,
    w_re: np.ndarray,
    w_im: np.ndarray,
    *,
    n_starts: int = 8,
    n_spare: int = 0,
) -> list[np.ndarray]:
    """Candidate parameter vectors (natural units), most promising first.

    ``omega`` in rad/s, ``z`` the measured impedance, ``w_re``/``w_im`` the fit weights of
    the real and imaginary residuals.  Always returns at least one candidate.  With
    ``n_spare``, up to that many further candidates follow the first ``n_starts`` (which
    do not change), for a second round when the first is not conclusive.
    """
    units = series_units(circuit)
    if units is not None:
        with np.errstate(all="ignore"):
            starts = _grid_starts(circuit, units, omega, z, w_re, w_im, n_starts, n_spare)
        starts = starts[np.isfinite(starts).all(axis=1)]  # a copy: contiguous rows
        if len(starts):
            return list(starts)
    generic = _generic_starts(circuit, omega, z, n_starts + n_spare)
    surrogate = randles_surrogate(circuit.tree)
    if surrogate is None:
        return generic
    # Randles blocks: seeded through their arcs (`eisfit.fitting.surrogate`); the generic
    # starts follow, so a circuit the surrogate describes badly still has them
    sub = compile_circuit(surrogate.tree)
    seeded = starting_points(sub, omega, z, w_re, w_im, n_starts=SURROGATE_STARTS)
    return lift(circuit, surrogate, sub, seeded) + generic
