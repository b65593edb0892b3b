"""Combinations of grid time constants: enumerate them, solve them all, pick spread ones.

The algebra of the linear pre-fit in `eisfit.fitting.initial`: for every choice of time
constants of the k tau units (a *combination*), the weighted least-squares amplitudes and
cost come from one small k x k system once the columns shared by all combinations are
eliminated; thousands of combinations are solved together, each entry of the unrolled
LDL^T factorisation a (C,) array.  The best combinations are then taken greedily, skipping
any within one grid step of one already taken.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = [
    "combination_rows",
    "combinations",
    "lower_pairs",
    "packed_keys",
    "smallest",
    "solve_combinations",
    "solve_small",
    "spread_keys",
]

_MIN_GAP = 3  # grid steps (3/4 decade) between time constants of arcs of one kind


@lru_cache(maxsize=64)
def combinations(families: tuple[str, ...], n_grid: int) -> np.ndarray:
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


def smallest(values: np.ndarray, m: int) -> np.ndarray:
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


def packed_keys(combos: np.ndarray) -> tuple[list[int], tuple[int, ...]]:
    """Each combination packed into one integer, and the offsets of the packed keys of its
    neighbourhood (none without tau units: nothing is then blocked).  Cached per grid."""
    k = combos.shape[1]
    if not k:
        return [0] * combos.shape[0], ()
    base = int(combos.max(initial=0)) + 3  # digits of a key shifted by one: no wrapping
    keys = ((combos + 1) @ (base ** np.arange(k))).tolist()
    return keys, _neighbour_offsets(k, base)


def spread_keys(ranked: list[int], keys: list[int], near: tuple[int, ...], n: int) -> list[int]:
    """The first ``n`` of ``ranked``, skipping any within one grid step of one taken.

    Greedy in rank order on the combinations' packed keys: a taken combination blocks the
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


def solve_combinations(
    gram: np.ndarray,
    by: np.ndarray,
    yy: float,
    nf: int,
    tau_cols: np.ndarray,
    pair_index: np.ndarray,
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
    b_t = b_red[tau_cols]  # (k, C)
    amps = solve_small(reduced.ravel()[pair_index], b_t)
    # sums over the k units, term by term (each row of a (k, C) array is contiguous); the
    # assignments broadcast the scalar left when there are no tau units
    cost = np.empty(b_t.shape[1])
    cost[:] = yy_red - _dot(b_t, amps)
    # back-substitute the fixed amplitudes: G_ff a_f = b_f - G_ft a_t
    rhs = np.empty((nf, cost.size))
    for r in range(nf):
        rhs[r] = b_f[r] - _dot(g_fx[r][tau_cols], amps)
    amps_f = g_ff_inv @ rhs if nf else rhs
    return amps, amps_f, cost


def solve_small(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``(G_i + 1e-10 I) a = b[:, i]`` for every combination ``i``.

    ``g`` (k (k + 1) / 2, C) holds the lower triangle of each combination's reduced Gram
    matrix G_i, in `lower_pairs` order, and ``b`` (k, C) its right-hand side.  An LDL^T
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


def lower_pairs(k: int) -> list[tuple[int, int]]:
    """Index pairs (i, j), j <= i, of the lower triangle of a k x k matrix, row by row."""
    return [(i, j) for i in range(k) for j in range(i + 1)]


def _lower(i: int, j: int) -> int:
    """Position of the pair (i, j), j <= i, in `lower_pairs`."""
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


@lru_cache(maxsize=64)
def combination_rows(family: str, k: int, n_grid: int) -> dict[tuple[int, ...], int]:
    """Row of each grid-index tuple in ``combinations((family,) * k, n_grid)``."""
    combos = combinations((family,) * k, n_grid)
    return {tuple(c): i for i, c in enumerate(combos.tolist())}
