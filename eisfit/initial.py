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


def _stack(columns: np.ndarray, w_re: np.ndarray, w_im: np.ndarray) -> np.ndarray:
    return np.concatenate([columns.real * w_re[:, None], columns.imag * w_im[:, None]], axis=0)


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
    tau_units = [u for u in units if u.has_tau]
    grid = _unweighted(tuple(units), np.ascontiguousarray(omega, dtype=float).tobytes())
    taus, offsets = grid.taus, grid.offsets
    n_grid = taus.size
    basis = _stack(grid.columns, w_re, w_im)
    norms = np.linalg.norm(basis, axis=0)
    norms[norms == 0] = 1.0
    basis /= norms  # unit columns: the ridge below then means the same for every column
    y = np.concatenate([z.real * w_re, z.imag * w_im])
    gram, by = basis.T @ basis, basis.T @ y

    combos = _combinations(tuple(u.family for u in tau_units), n_grid)
    fixed_cols = [offsets[i] for i, u in enumerate(units) if not u.has_tau]
    # basis column of each tau unit in every combination, (C,) each
    tau_cols = [offsets[u.family] + combos[:, i] for i, u in enumerate(tau_units)]
    amps_t, amps_f, cost = _solve_combinations(
        gram, by, y @ y, fixed_cols, tau_cols, combos.shape[0]
    )
    # amplitude of every unit (C,) each, in `order`: fixed units first, then tau units
    order = [u for u in units if not u.has_tau] + tau_units
    amps = [a / norms[c] for a, c in zip(amps_f.T, fixed_cols, strict=True)]
    amps += [a / np.take(norms, c) for a, c in zip(amps_t, tau_cols, strict=True)]
    z_max = float(np.abs(z).max())
    feasible = np.ones(combos.shape[0], dtype=bool)
    for u, a in zip(order, amps, strict=True):
        if u.family not in ("R", "L", "La"):
            feasible &= a > 0  # must be positive
        if u.family in _RESISTIVE:
            feasible &= ~(np.abs(a) > 10.0 * z_max)  # far above |Z|: cancelling columns
    n_all = n_starts + n_spare  # spares: the next ones down the same ranking
    n_ranked = 40 * n_all  # candidates `_spread_out` may look at
    ranked = _smallest(np.where(feasible, cost, np.inf) if feasible.any() else cost, n_ranked)

    scale = float(np.median(np.abs(z)))
    debye = _stack(grid.debye, w_re, w_im)
    debye /= np.linalg.norm(debye, axis=0)
    drt = _drt_rows(units, debye, basis[:, fixed_cols], y, feasible)
    ranked = np.concatenate([ranked[: max(n_starts - len(drt), 1)], drt, ranked])
    rows = np.array(_spread_out(ranked[:n_ranked], combos, n_all), dtype=np.intp)
    # parameter values unit by unit, for all chosen rows at once
    thetas = np.empty((rows.size, len(circuit)))
    n_fixed = len(order) - len(tau_units)
    for j, u in enumerate(order):
        tau = taus[combos[rows, j - n_fixed]] if u.has_tau else np.nan
        vals = unit_params(u, _floor_amplitude(u, amps[j][rows], scale, omega), tau)
        for i, v in enumerate(vals):
            thetas[:, u.start + i] = v
    return thetas


@dataclass(frozen=True)
class _Grid:
    """What the pre-fit needs of one frequency grid, before weighting (shared by a run)."""

    taus: np.ndarray  # the tau grid
    columns: np.ndarray  # complex basis (n_points, M): fixed units, then n_grid per family
    offsets: dict[int | str, int]  # first column of fixed unit i / of tau family f
    debye: np.ndarray  # complex Debye columns (n_points, n_grid) for the DRT


@lru_cache(maxsize=32)
def _unweighted(units: tuple[Unit, ...], omega_bytes: bytes) -> _Grid:
    """Basis columns of ``units`` on one frequency grid: every spectrum of a run shares
    them (the grid pre-fit only weights them).  Cached by the bytes of omega."""
    omega = np.frombuffer(omega_bytes)
    tau_units = [u for u in units if u.has_tau]
    taus = _tau_grid(omega, len(tau_units))
    # basis: one column per fixed unit, then n_grid columns per tau family
    blocks, offsets = [], {}
    col = 0
    for i, u in enumerate(units):
        if not u.has_tau:
            blocks.append(_basis(u, omega, taus[:1]))
            offsets[i] = col
            col += 1
    for fam in dict.fromkeys(u.family for u in tau_units):
        rep = next(u for u in tau_units if u.family == fam)
        blocks.append(_basis(rep, omega, taus))
        offsets[fam] = col
        col += taus.size
    columns = np.concatenate(blocks, axis=1)
    debye = 1.0 / (1.0 + 1j * omega[:, None] * taus)
    for a in (taus, columns, debye):
        a.setflags(write=False)
    return _Grid(taus=taus, columns=columns, offsets=offsets, debye=debye)


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
    """The first ``n_starts`` of ``ranked``, skipping any within one grid step of one taken.

    Greedy in rank order.  Each combination is packed into one integer, and a taken one
    blocks the 3^k packed keys of its neighbourhood: one set lookup per candidate.
    """
    k = combos.shape[1]
    if not k:
        return ranked[:n_starts].tolist()
    base = int(combos.max()) + 3  # digits of a key shifted by one: neighbours never wrap
    digits = base ** np.arange(k)
    near = _neighbour_offsets(k, base)
    blocked: set[int] = set()
    taken: list[int] = []
    chunk = 8 * n_starts  # keys packed a chunk at a time: the loop usually ends early
    for lo in range(0, ranked.size, chunk):
        part = ranked[lo : lo + chunk]
        keys = ((combos[part] + 1) @ digits).tolist()
        for r, key in zip(part.tolist(), keys, strict=True):
            if key in blocked:
                continue  # too close to a start already taken
            taken.append(r)
            if len(taken) >= n_starts:
                return taken
            blocked.update([key + d for d in near])
    return taken


@lru_cache(maxsize=16)
def _neighbour_offsets(k: int, base: int) -> tuple[int, ...]:
    """Packed-key offsets of every combination within one grid step in each of k places."""
    steps = base ** np.arange(k)
    return tuple(int(np.dot(d, steps)) for d in itertools.product((-1, 0, 1), repeat=k))


def _solve_combinations(
    gram: np.ndarray,
    by: np.ndarray,
    yy: float,
    fixed: list[int],
    cols: list[np.ndarray],
    n_comb: int,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Least-squares amplitudes and costs of every tau combination, in one batch.

    The columns shared by all combinations (series R, L...) are eliminated once (Schur
    complement), leaving one small k x k system per combination for the k tau units.
    ``cols[j]`` is the basis column of tau unit j in each of the C combinations.
    Returns (k tau amplitudes (C,), fixed amplitudes (C, f), costs (C,)).
    """
    f = np.asarray(fixed, dtype=np.intp)
    eye_f = np.eye(f.size)
    g_ff = gram[np.ix_(f, f)] + 1e-10 * eye_f
    g_ff_inv = np.linalg.inv(g_ff) if f.size else np.zeros((0, 0))
    g_fx = gram[f]  # (f, M)
    reduced = gram - g_fx.T @ g_ff_inv @ g_fx
    b_red = by - g_fx.T @ (g_ff_inv @ by[f])
    yy_red = yy - by[f] @ g_ff_inv @ by[f]
    amps = _solve_small(reduced, b_red, cols)
    terms = (np.take(b_red, c) * a for c, a in zip(cols, amps, strict=True))
    cost = yy_red - sum(terms, np.zeros(n_comb))
    # back-substitute the fixed amplitudes: G_ff a_f = b_f - G_ft a_t
    rhs = by[f][:, None] - sum(
        np.take(g_fx, c, axis=1) * a for c, a in zip(cols, amps, strict=True)
    )
    amps_f = (g_ff_inv @ rhs).T if f.size else np.zeros((n_comb, 0))
    return amps, amps_f, cost


def _solve_small(
    reduced: np.ndarray, b_red: np.ndarray, cols: list[np.ndarray]
) -> list[np.ndarray]:
    """Solve ``(reduced[i, i] + 1e-10 I) a = b_red[i]`` for every combination ``i``.

    ``cols[j]`` holds the column index of tau unit j in every combination (C,).  An LDL^T
    factorisation unrolled over the k units, each entry a (C,) array: k is the number of
    tau units (2-4) and C the thousands of combinations, for which one batched LAPACK
    call per k x k matrix costs several times more.  The matrices are Gram matrices of
    unit columns plus a ridge, symmetric positive definite: no pivoting.  Returns the k
    amplitude arrays (C,).
    """
    k, flat = len(cols), reduced.ravel()
    rows = [c * reduced.shape[1] for c in cols]
    low: list[list[np.ndarray]] = [[] for _ in range(k)]  # low[i][p]: L_ip, p < i
    diag: list[np.ndarray] = []
    for j in range(k):
        ld = [low[j][p] * diag[p] for p in range(j)]  # L_jp D_p
        g_jj = np.take(flat, rows[j] + cols[j]) + 1e-10
        diag.append(g_jj - sum(low[j][p] * ld[p] for p in range(j)))
        for i in range(j + 1, k):
            g_ij = np.take(flat, rows[i] + cols[j])
            low[i].append((g_ij - sum(low[i][p] * ld[p] for p in range(j))) / diag[j])
    fwd: list[np.ndarray] = []  # L y = b
    for i in range(k):
        fwd.append(np.take(b_red, cols[i]) - sum(low[i][p] * fwd[p] for p in range(i)))
    amps: list[np.ndarray] = [np.empty(0)] * k  # D L^T a = y
    for i in reversed(range(k)):
        amps[i] = fwd[i] / diag[i] - sum(low[p][i] * amps[p] for p in range(i + 1, k))
    return amps


def _drt_rows(
    units: list[Unit],
    debye: np.ndarray,
    fixed: np.ndarray,
    y: np.ndarray,
    feasible: np.ndarray,
) -> np.ndarray:
    """Rows of the tau-combination table whose time constants sit on peaks of a discrete DRT.

    The grid ranks combinations with a fixed arc shape (n0); an arc of another shape can
    then be mimicked by two neighbours while a small arc elsewhere is missed.  A
    non-negative least-squares fit of Debye elements on the same tau grid (a distribution
    of relaxation times without regularisation, so its peaks are sparse clusters) finds
    where the arcs are whatever their shape; combinations of its largest peaks become
    candidates too.  ``debye`` and ``fixed`` are weighted, stacked, unit-norm columns.
    Only for circuits whose tau units are all of one kind.
    """
    tau_units = [u for u in units if u.has_tau]
    if not tau_units or len({u.family for u in tau_units}) != 1:
        return np.zeros(0, dtype=np.intp)
    k = len(tau_units)
    try:
        amps, _ = nnls(np.concatenate([fixed, debye], axis=1), y, maxiter=100 * y.size)
    except RuntimeError:
        return np.zeros(0, dtype=np.intp)
    g = amps[fixed.shape[1] :]
    if not g.max() > 0:
        return np.zeros(0, dtype=np.intp)
    nz = np.flatnonzero(g > 1e-6 * g.max())
    # clusters of neighbouring non-zero taus: their mass and mass-weighted centre
    first = np.concatenate([[0], np.flatnonzero(np.diff(nz) > 2) + 1])
    mass = np.add.reduceat(g[nz], first)
    centre = np.add.reduceat(g[nz] * nz, first) / mass
    peaks = [(float(m), round(float(c))) for m, c in zip(mass, centre, strict=True)]
    top = sorted(p[1] for p in sorted(peaks, reverse=True)[: k + 2])
    row_of = _combination_rows(tau_units[0].family, k, debye.shape[1])
    rows = [row_of.get(choice, -1) for choice in itertools.combinations(top, k)]
    return np.array([r for r in rows if r >= 0 and feasible[r]], dtype=np.intp)


@lru_cache(maxsize=64)
def _combination_rows(family: str, k: int, n_grid: int) -> dict[tuple[int, ...], int]:
    """Row of each grid-index tuple in ``_combinations((family,) * k, n_grid)``."""
    combos = _combinations((family,) * k, n_grid)
    return {tuple(c): i for i, c in enumerate(combos.tolist())}


def _floor_amplitude(unit: Unit, a: np.ndarray, scale: float, omega: np.ndarray) -> np.ndarray:
    """Replace non-positive amplitudes by a small physical one."""
    if unit.family == "L" or unit.family == "La":
        return np.maximum(np.abs(a), 1e-4 * scale / omega.max())
    return np.maximum(np.abs(a), 1e-4 * scale)


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
        starts = starts[np.isfinite(starts).all(axis=1)]
        if len(starts):
            return list(starts)
    return _generic_starts(circuit, omega, z, n_starts + n_spare)
