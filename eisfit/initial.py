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
``G``/``Wo``/``Ws``... element with (1, tau)       (a, tau)
=====================  ==========================  =====================================

For every combination of time constants on a log grid (4 per decade, reaching two
decades beyond the measured band so that arcs just outside it are found), the weighted
linear least-squares problem for the amplitudes is solved in one batched call; the best
combinations with physical (positive) amplitudes become the starting points of the
non-linear fit.  This is variable projection (Golub & Pereyra, SIAM J. Numer. Anal. 10
(1973) 413) done by exhaustive search instead of by descent, so it cannot be trapped by a
poor first guess, and it is deterministic.  Arcs of the same kind are taken in written
order from high to low frequency, which removes the label-switching symmetry.

Circuits that are not a chain of such units (nested parallels, Randles cells) fall back
to starting values derived from the data scales plus a deterministic quasi-random
(Halton) spread of log-scale parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import nnls

from .circuits.elements import get_element
from .circuits.model import Circuit
from .units import ARC_N0, SPIKE_N0, Unit, series_units, unit_params

__all__ = ["starting_points"]

_POINTS_PER_DECADE = 4
_MAX_COMBINATIONS = 8_000
_BEYOND_DECADES = 1.0  # the tau grid reaches this far past the measured band
_MIN_GAP = 3  # grid steps (3/4 decade) between time constants of arcs of one kind
# units whose amplitude is a resistance; one far above |Z| means cancelling columns
_RESISTIVE = frozenset({"R", "arc_CPER", "arc_CR", "G", "K", "Zarc", "Wo", "Ws"})


def _basis(unit: Unit, omega: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Columns (n_points, n_taus) of the unit's impedance with amplitude 1."""
    jw = 1j * omega[:, None]
    fam = unit.family
    if fam == "R":
        return np.ones_like(jw)
    if fam == "L":
        return jw
    if fam == "C":
        return 1.0 / jw
    if fam == "CPE":
        return jw**-SPIKE_N0
    if fam == "W":
        return (1 - 1j) / np.sqrt(omega[:, None])
    if fam == "La":
        return jw**0.98
    if fam == "arc_CPER":  # (j w tau)^n0 as a real power and one rotation: no complex pow
        return 1.0 / (1.0 + (omega[:, None] * taus) ** ARC_N0 * np.exp(0.5j * np.pi * ARC_N0))
    if fam == "arc_CR":
        return 1.0 / (1.0 + jw * taus)
    kind = get_element(fam)
    cols = []
    for tau in taus:
        p = np.array([1.0, tau] + ([ARC_N0] if fam == "Zarc" else []))
        cols.append(kind.impedance(p, omega))
    return np.stack(cols, axis=1)


def _tau_grid(omega: np.ndarray, n_tau_units: int) -> np.ndarray:
    lo = math.log10(1.0 / omega.max()) - _BEYOND_DECADES
    hi = math.log10(1.0 / omega.min()) + _BEYOND_DECADES
    per_decade = _POINTS_PER_DECADE
    while True:
        n = max(round((hi - lo) * per_decade) + 1, n_tau_units + 1)
        if math.comb(n, n_tau_units) <= _MAX_COMBINATIONS or per_decade <= 1:
            return np.logspace(lo, hi, n)
        per_decade -= 1


@lru_cache(maxsize=64)
def _combinations(families: tuple[str, ...], n_grid: int) -> np.ndarray:
    """Grid-index combinations (n_comb, n_tau_units) for tau units of these families.

    Units of one family take ascending grid positions in written order; the result is
    cached because every spectrum of a run uses the same few shapes.
    """
    if not families:
        return np.zeros((1, 0), dtype=np.intp)
    kinds = list(dict.fromkeys(families))
    per_family = []
    for fam in kinds:
        combos = np.array(
            list(itertools.combinations(range(n_grid), families.count(fam))), dtype=np.intp
        ).reshape(-1, families.count(fam))
        # arcs of one kind closer than _MIN_GAP grid steps are one arc split in two
        spread = np.diff(combos, axis=1).min(axis=1, initial=n_grid)
        per_family.append(combos[spread >= _MIN_GAP])
    # cartesian product of the per-family choices, as index arrays
    grids = np.meshgrid(*[np.arange(len(c)) for c in per_family], indexing="ij")
    picks = [c[g.ravel()] for c, g in zip(per_family, grids, strict=True)]
    out = np.empty((picks[0].shape[0], len(families)), dtype=np.intp)
    for fam, pick in zip(kinds, picks, strict=True):
        cols = [i for i, f in enumerate(families) if f == fam]
        out[:, cols] = pick
    out.setflags(write=False)
    return out


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
    basis = grid.parts * w[:, None]
    norms = _column_norms(basis)
    norms[norms == 0] = 1.0
    basis /= norms  # unit columns: the ridge below then means the same for every column
    y = np.concatenate([z.real, z.imag]) * w
    gram, by = basis.T @ basis, basis.T @ y
    amps_t, amps_f, cost = _solve_combinations(gram, by, y @ y, nf, grid)
    # amplitude of every unit (n_units, C), in `grid.order`: fixed units, then tau units
    amps = np.empty((len(units), cost.size))
    np.divide(amps_f, norms[:nf, None], out=amps[:nf])
    np.divide(amps_t, norms[grid.tau_cols], out=amps[nf:])
    abs_z = np.abs(z)
    feasible = _feasible(grid, amps, 10.0 * float(abs_z.max()))

    # the DRT's least-squares matrix [fixed columns, weighted unit Debye columns]
    drt_matrix = np.empty((basis.shape[0], nf + grid.debye.shape[1]))
    drt_matrix[:, :nf] = basis[:, :nf]
    debye = np.multiply(grid.debye, w[:, None], out=drt_matrix[:, nf:])
    debye /= _column_norms(debye)
    drt = _drt_rows(units, drt_matrix, nf, y, feasible)
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
    spread out by `_spread_out` over the first ``40 * n_all`` candidates.

    The spread-out selection is greedy and rarely looks past the first ten or so per
    start, so a short head of the ranking is sorted first; only if the greedy pass runs
    out of it is the full head sorted (the candidates of the short pass are a prefix of
    the full list, so the result is the same either way).
    """
    n_ranked = 40 * n_all  # candidates `_spread_out` may look at
    lead = max(n_starts - len(drt), 1)
    for m in (min(10 * n_all, n_ranked), n_ranked):
        ranked = _smallest(cost, m)
        candidates = np.concatenate([ranked[:lead], drt, ranked])[:n_ranked]
        rows = _spread_keys(candidates.tolist(), grid.keys, grid.near, n_all)
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
    parts: np.ndarray  # basis (2 n_points, M): fixed units, then n_grid columns per family
    debye: np.ndarray  # Debye columns (2 n_points, n_grid) for the DRT
    order: tuple[Unit, ...]  # the units as the rows of amplitudes: fixed, then tau units
    n_fixed: int  # fixed units (no tau): the first basis columns, one each
    positive: np.ndarray  # rows (in `order`) of amplitudes that must be positive
    resistive: np.ndarray  # rows of resistances: not far above |Z|
    per_omega: np.ndarray  # rows of inductances: their floor is scaled by 1 / max(omega)
    combos: np.ndarray  # grid indices (C, k) of the tau units in every combination
    tau_cols: np.ndarray  # basis column (k, C) of each tau unit in every combination
    pair_index: np.ndarray  # flat index into an (M, M) matrix of the column pairs in
    # `_lower_pairs` order (k (k + 1) / 2, C): the lower triangle of each k x k system
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
    blocks = [_basis(u, omega, taus[:1]) for u in order[:n_fixed]]
    offsets, col = {}, n_fixed
    for fam in dict.fromkeys(u.family for u in tau_units):
        rep = next(u for u in tau_units if u.family == fam)
        blocks.append(_basis(rep, omega, taus))
        offsets[fam] = col
        col += taus.size
    columns = np.concatenate(blocks, axis=1)
    debye = 1.0 / (1.0 + 1j * omega[:, None] * taus)
    combos = _combinations(tuple(u.family for u in tau_units), taus.size)
    first = np.array([offsets[u.family] for u in tau_units], dtype=np.intp)
    # C-contiguous: fancy indexing with (or gathering rows of) strided index arrays is slow
    tau_cols = np.ascontiguousarray(first[:, None] + combos.T)
    pair_index = np.array(
        [tau_cols[i] * columns.shape[1] + tau_cols[j] for i, j in _lower_pairs(len(tau_units))],
        dtype=np.intp,
    ).reshape(-1, combos.shape[0])
    keys, near = _packed_keys(combos)
    grid = _Grid(
        taus=taus,
        parts=np.concatenate([columns.real, columns.imag]),
        debye=np.concatenate([debye.real, debye.imag]),
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
        a.setflags(write=False)
    return grid


def _rows_where(order: tuple[Unit, ...], test: Callable[[Unit], bool]) -> np.ndarray:
    return np.array([i for i, u in enumerate(order) if test(u)], dtype=np.intp)


def _smallest(values: np.ndarray, m: int) -> np.ndarray:
    """The first ``m`` of ``np.argsort(values, kind="stable")``, without a full sort."""
    if values.size <= m:
        return np.argsort(values, kind="stable")
    kth = np.partition(values, m - 1)[m - 1]
    if np.isnan(kth):
        return np.argsort(values, kind="stable")[:m]
    below = np.flatnonzero(values < kth)
    tied = np.flatnonzero(values == kth)[: m - below.size]  # ties by index, as stable sorts
    pick = np.concatenate([below, tied])
    return pick[np.argsort(values[pick], kind="stable")]


def _spread_out(ranked: np.ndarray, combos: np.ndarray, n_starts: int) -> list[int]:
    """The first ``n_starts`` of ``ranked``, skipping any within one grid step of one taken."""
    keys, near = _packed_keys(combos)
    return _spread_keys(ranked.tolist(), keys, near, n_starts)


def _packed_keys(combos: np.ndarray) -> tuple[list[int], tuple[int, ...]]:
    """Each combination packed into one integer, and the offsets of the packed keys of its
    neighbourhood (none without tau units: nothing is then blocked).  Cached per grid."""
    k = combos.shape[1]
    if not k:
        return [0] * combos.shape[0], ()
    base = int(combos.max(initial=0)) + 3  # digits of a key shifted by one: no wrapping
    keys = ((combos + 1) @ (base ** np.arange(k))).tolist()
    return keys, _neighbour_offsets(k, base)


def _spread_keys(ranked: list[int], keys: list[int], near: tuple[int, ...], n: int) -> list[int]:
    """`_spread_out` on packed keys: greedy in rank order, a taken combination blocks the
    3^k keys of its neighbourhood, so each candidate costs one set lookup."""
    blocked: set[int] = set()
    taken: list[int] = []
    for r in ranked:
        key = keys[r]
        if key in blocked:
            continue  # too close to a start already taken
        taken.append(r)
        if len(taken) >= n:
            break
        blocked.update([key + d for d in near])
    return taken


@lru_cache(maxsize=16)
def _neighbour_offsets(k: int, base: int) -> tuple[int, ...]:
    """Packed-key offsets of every combination within one grid step in each of k places."""
    steps = base ** np.arange(k)
    return tuple(int(np.dot(d, steps)) for d in itertools.product((-1, 0, 1), repeat=k))


def _solve_combinations(
    gram: np.ndarray, by: np.ndarray, yy: float, nf: int, grid: _Grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares amplitudes and costs of every tau combination, in one batch.

    The columns shared by all combinations (the first ``nf``: series R, L...) are
    eliminated once (Schur complement), leaving one small k x k system per combination
    for the k tau units.
    Returns (tau amplitudes (k, C), fixed amplitudes (f, C), costs (C,)).
    """
    eye_f = np.eye(nf)
    g_ff = gram[:nf, :nf] + 1e-10 * eye_f
    g_ff_inv = np.linalg.inv(g_ff) if nf else np.zeros((0, 0))
    g_fx, b_f = gram[:nf], by[:nf]  # (f, M), (f,)
    reduced = gram - g_fx.T @ g_ff_inv @ g_fx
    b_red = by - g_fx.T @ (g_ff_inv @ b_f)
    yy_red = yy - b_f @ g_ff_inv @ b_f
    b_t = b_red[grid.tau_cols]  # (k, C)
    amps = _solve_small(reduced.ravel()[grid.pair_index], b_t)
    # sums over the k units, term by term (each row of a (k, C) array is contiguous); the
    # assignments broadcast the scalar left when there are no tau units
    cost = np.empty(b_t.shape[1])
    cost[:] = yy_red - _dot(b_t, amps)
    # back-substitute the fixed amplitudes: G_ff a_f = b_f - G_ft a_t
    rhs = np.empty((nf, cost.size))
    for r in range(nf):
        rhs[r] = b_f[r] - _dot(g_fx[r][grid.tau_cols], amps)
    amps_f = g_ff_inv @ rhs if nf else rhs
    return amps, amps_f, cost


def _solve_small(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``(G_i + 1e-10 I) a = b[:, i]`` for every combination ``i``.

    ``g`` (k (k + 1) / 2, C) holds the lower triangle of each combination's reduced Gram
    matrix G_i, in `_lower_pairs` order, and ``b`` (k, C) its right-hand side.  An LDL^T
    factorisation unrolled over the k units, each entry a (C,) array: k is the number of
    tau units (2-4) and C the thousands of combinations, for which one batched LAPACK
    call per k x k matrix costs several times more.  The matrices are Gram matrices of
    unit columns plus a ridge, symmetric positive definite: no pivoting.  Returns the
    amplitudes (k, C).
    """
    k = b.shape[0]
    low: list[list[np.ndarray]] = [[] for _ in range(k)]  # low[i][p]: L_ip, p < i
    diag: list[np.ndarray] = []
    for j in range(k):
        ld = [low[j][p] * diag[p] for p in range(j)]  # L_jp D_p
        diag.append(_minus_dot(g[_lower(j, j)] + 1e-10, low[j], ld))
        for i in range(j + 1, k):
            low[i].append(_minus_dot(g[_lower(i, j)], low[i], ld) / diag[j])
    fwd: list[np.ndarray] = []  # L y = b
    for i in range(k):
        fwd.append(_minus_dot(b[i], low[i], fwd))
    amps = np.empty_like(b)  # D L^T a = y
    for i in reversed(range(k)):
        later = range(i + 1, k)
        amps[i] = _minus_dot(fwd[i] / diag[i], [low[p][i] for p in later], list(amps[i + 1 :]))
    return amps


def _lower_pairs(k: int) -> list[tuple[int, int]]:
    """Index pairs (i, j), j <= i, of the lower triangle of a k x k matrix, row by row."""
    return [(i, j) for i in range(k) for j in range(i + 1)]


def _lower(i: int, j: int) -> int:
    """Position of the pair (i, j), j <= i, in `_lower_pairs`."""
    return i * (i + 1) // 2 + j


def _minus_dot(a: np.ndarray, xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> np.ndarray:
    """``a - sum(x * y for x, y in zip(xs, ys))``, or ``a`` itself if there are no terms."""
    return a - _dot(xs, ys) if len(xs) else a


def _dot(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> np.ndarray | float:
    """``sum(x * y for x, y in zip(xs, ys))``, the terms added left to right as there (so
    the same values to the last bit) but without its first addition to 0, which costs a
    pass over the C values of the arrays."""
    if not len(xs):
        return 0.0
    total = xs[0] * ys[0]
    for x, y in zip(xs[1:], ys[1:], strict=True):
        total += x * y
    return total


def _drt_rows(
    units: list[Unit], matrix: np.ndarray, nf: int, y: np.ndarray, feasible: np.ndarray
) -> np.ndarray:
    """Rows of the tau-combination table whose time constants sit on peaks of a discrete DRT.

    The grid ranks combinations with a fixed arc shape (n0); an arc of another shape can
    then be mimicked by two neighbours while a small arc elsewhere is missed.  A
    non-negative least-squares fit of Debye elements on the same tau grid (a distribution
    of relaxation times without regularisation, so its peaks are sparse clusters) finds
    where the arcs are whatever their shape; combinations of its largest peaks become
    candidates too.  ``matrix`` holds the ``nf`` fixed columns, then the Debye ones:
    weighted, stacked, unit-norm columns.  Only for circuits whose tau units are all of
    one kind.
    """
    tau_units = [u for u in units if u.has_tau]
    if not tau_units or len({u.family for u in tau_units}) != 1:
        return np.zeros(0, dtype=np.intp)
    k = len(tau_units)
    try:
        amps, _ = nnls(matrix, y, maxiter=100 * y.size)
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
    row_of = _combination_rows(tau_units[0].family, k, g.size)
    rows = [row_of.get(choice, -1) for choice in itertools.combinations(top, k)]
    return np.array([r for r in rows if r >= 0 and feasible[r]], dtype=np.intp)


@lru_cache(maxsize=64)
def _combination_rows(family: str, k: int, n_grid: int) -> dict[tuple[int, ...], int]:
    """Row of each grid-index tuple in ``_combinations((family,) * k, n_grid)``."""
    combos = _combinations((family,) * k, n_grid)
    return {tuple(c): i for i, c in enumerate(combos.tolist())}


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
    return _generic_starts(circuit, omega, z, n_starts + n_spare)
