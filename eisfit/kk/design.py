"""The lin-KK design matrix in blocks of points: least squares in memory bounded in N.

`eisfit.kk.linkk` fits the linear KK model (`eisfit.kk.model`) to every point of a spectrum.
Its design matrix A has 2N rows (real parts over imaginary parts, weighted by 1/|Z|) and
p = M + 3 columns: 46 MB for N = 50,000 points and M = 55, and a dense SVD holds several
copies of it.  Nothing here holds more than one block of `CHUNK_POINTS` points at a time
(plus vectors of length 2N and p x p matrices):

* **R by blocks** (sequential TSQR: Demmel, Grigori, Hoemmen & Langou, SIAM J. Sci.
  Comput. 34 (2012) A206, sec. 3.1): R of [A | b] is the R factor of [R_previous;
  block], block after block.  The last column holds Q^T b.
* **SVD from R** (the "R-SVD", Golub & Van Loan, Matrix Computations, 4th ed. 2013,
  sec. 5.4.9): with A = QR and R = U_r S V^T, A = (Q U_r) S V^T, so the singular values,
  the right singular vectors and U^T b of A come from the small p x p problem.  As in
  `numpy.linalg.lstsq`, columns are scaled to unit norm and singular values below
  s_max * eps * max(2N, p) are cut.
* **Basis rows on demand**: U = A V S^-1 is regenerated block by block (the
  ``transform`` V S^-1 is p x rank).  Formed this way U loses orthogonality by about
  eps times the condition number; the Gram matrix U^T U summed over the same pass gives
  a Cholesky factor L that restores it (U L^-T, the second step of CholeskyQR2:
  Fukaya, Nakatsukasa, Yanagisawa & Yamamoto, Proc. ScalA 2014, 31).
* **Residual statistics from sums**: the noise and structure statistics of
  `eisfit.kk.noise` need only |r|^2, |D r|^2 and traces of Gram matrices of first and
  second differences of U in frequency order (`kk_noise.structure_from_sums`), summed
  block by block with one row carried over between blocks.

A design of at most `CHUNK_POINTS` points is one block: it is solved whole, by the SVD
of its rows (the reference grid of `eisfit.kk.reference` by their QR factorisation,
`project`), and its statistics come from the dense formulas of `kk_noise.structure`.
Every point enters every fit; only the order of floating-point sums
differs between the paths (the tests compare them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .noise import structure, structure_from_sums

__all__ = [
    "CHUNK_POINTS",
    "Design",
    "Projection",
    "Solution",
    "dense",
    "downdate",
    "project",
    "solve",
    "tau_grid",
]

CHUNK_POINTS = 2048  # points per block: a block of p columns is 2 x 2048 x p x 8 bytes


def tau_grid(omega: np.ndarray, m: int) -> np.ndarray:
    """The paper's time constants: m values log-spaced from 1/omega_max to 1/omega_min (s).

    Read-only: grids are cached by band and M (the spectra of a run share them)."""
    return _tau_grid(float(omega.max()), float(omega.min()), int(m))


@lru_cache(maxsize=1024)
def _tau_grid(omega_max: float, omega_min: float, m: int) -> np.ndarray:
    out = np.exp(np.linspace(-math.log(omega_max), -math.log(omega_min), m))
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Design:
    """The weighted lin-KK design [fixed columns, m RC columns] and its data, by blocks.

    ``fixed``: columns that do not depend on M (2N x f, rows real over imaginary,
    already weighted), ``weight``: the row weights 1/|Z| (2N) applied to the RC columns,
    ``b``: the weighted data (2N).  ``order`` sorts the points by frequency; blocks come
    in that order.
    """

    omega: np.ndarray  # rad/s, spectrum order
    weight: np.ndarray  # (2N,) row weights of the RC columns
    b: np.ndarray  # (2N,) weighted data, real over imaginary
    fixed: np.ndarray  # (2N, f) weighted columns that do not depend on M
    tau: np.ndarray  # (M,) time constants of the RC columns, s (`tau_grid`)
    order: np.ndarray  # points in frequency order
    chunk_points: int | None = None  # None: `CHUNK_POINTS`

    @property
    def n(self) -> int:
        return int(self.omega.size)

    @property
    def m(self) -> int:
        return int(self.tau.size)

    @property
    def p(self) -> int:
        return int(self.fixed.shape[1]) + self.m

    def with_columns(self, fixed: np.ndarray, m: int) -> Design:
        """The same data with other fixed columns and M RC columns on `tau_grid`."""
        return Design(
            self.omega, self.weight, self.b, fixed, tau_grid(self.omega, m), self.order,
            self.chunk_points,
        )  # fmt: skip

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(points, their real rows, their imaginary rows), in frequency order."""
        n = self.n
        step = self.chunk_points or CHUNK_POINTS
        for lo in range(0, n, step):
            points = self.order[lo : lo + step]
            re_fixed, im_fixed = self.fixed[points], self.fixed[n + points]
            if not self.m:
                yield points, re_fixed, im_fixed
                continue
            re, im = rc_kernel(self.omega[points], self.tau)
            re = re * self.weight[points, None]
            im = im * self.weight[n + points, None]
            yield points, np.hstack([re_fixed, re]), np.hstack([im_fixed, im])


#: unweighted RC blocks up to this size (bytes) are cached (`rc_kernel`)
_KERNEL_CACHE_BYTES = 2**20


def rc_kernel(omega: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary parts of 1 / (1 + j omega tau) at ``omega`` (rows) for the time
    constants ``tau`` (columns), unweighted.

    1 / (1 + j x) = (1 - j x) / (1 + x^2), x = omega tau: real arithmetic.  Blocks of up
    to `_KERNEL_CACHE_BYTES` are cached by their frequencies and time constants (read-only):
    the spectra of a run share one grid, and the M search of `eisfit.kk.linkk` asks for the
    same blocks spectrum after spectrum.
    """
    if 16 * omega.size * tau.size > _KERNEL_CACHE_BYTES or omega.dtype != np.float64:
        return _rc_kernel(omega, tau)
    return _cached_kernel(omega.tobytes(), np.asarray(tau, dtype=np.float64).tobytes())


def _rc_kernel(omega: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.outer(omega, tau)
    re = 1.0 / (1.0 + x * x)
    return re, -x * re


@lru_cache(maxsize=256)
def _cached_kernel(omega_bytes: bytes, tau_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    re, im = _rc_kernel(np.frombuffer(omega_bytes), np.frombuffer(tau_bytes))
    re.setflags(write=False)
    im.setflags(write=False)
    return re, im


def dense(a: np.ndarray, b: np.ndarray) -> Design:
    """A design of given columns ``a`` (2N x p, real rows over imaginary rows) and ``b``."""
    a = np.asarray(a, dtype=float)
    if a.shape[0] % 2 or a.shape[0] != np.shape(b)[0]:
        raise ValueError("a and b need the same even number of rows (real over imaginary)")
    n = a.shape[0] // 2
    points = np.arange(n)
    return Design(points + 1.0, np.ones(2 * n), np.asarray(b, dtype=float), a, np.empty(0), points)


def _r_factor(design: Design) -> np.ndarray:
    """R of [A | b] ((p + 1) x (p + 1), upper triangular) by sequential TSQR."""
    n, p = design.n, design.p
    r = np.zeros((0, p + 1))
    for points, re, im in design.chunks():
        block = np.vstack(
            [
                r,
                np.column_stack([re, design.b[points]]),
                np.column_stack([im, design.b[n + points]]),
            ]
        )
        r = np.linalg.qr(block, mode="r")
    if r.shape[0] < p + 1:  # fewer rows than columns: R is trapezoidal
        r = np.vstack([r, np.zeros((p + 1 - r.shape[0], p + 1))])
    return r


@dataclass(frozen=True)
class Solution:
    """A weighted linear least-squares solution whose rows are regenerated on demand.

    ``coef``: coefficients of the solution's own (unscaled) columns.  ``design_coef``:
    the same in the columns of ``design`` (zero for columns removed by `downdate`).
    ``transform`` (p x rank) maps the design's columns to the SVD basis of the fitted
    column space, U = A transform.  ``s``, ``vt`` and ``scale`` (singular values, right
    singular vectors and column norms) are None for a solution derived by removing
    columns.  ``residual`` (b - A coef: the relative residuals, real over imaginary, in
    the spectrum's point order) and ``stats`` (`eisfit.kk.noise.structure`: s_R, s_D,
    z) are computed once, when first asked for, in one pass over the blocks.
    """

    coef: np.ndarray
    design: Design = field(repr=False)
    design_coef: np.ndarray = field(repr=False)
    transform: np.ndarray = field(repr=False)
    s: np.ndarray | None = None
    vt: np.ndarray | None = None
    scale: np.ndarray | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rank(self) -> int:
        return int(self.transform.shape[1])

    @property
    def residual(self) -> np.ndarray:
        return self._sweep()["residual"]

    @property
    def stats(self) -> tuple[float, float, float]:
        """(s_R, s_D, z) of `eisfit.kk.noise.structure` for these residuals and basis
        (computed when first asked for: most solutions of the M search never are)."""
        cache = self._sweep()
        if "stats" not in cache:
            rows, u = cache.pop("whole_basis")
            cache["stats"] = structure(np.arange(self.design.n), cache["residual"][rows], u)
        return cache["stats"]

    @property
    def basis(self) -> np.ndarray:
        """The orthonormal basis (2N x rank, spectrum order) as one array: for tests and
        small problems only (it is the one array of size 2N x p nothing else holds)."""
        design, n = self.design, self.design.n
        t = self.transform @ self._sweep()["correction"].T
        out = np.empty((2 * n, self.rank))
        for points, re, im in design.chunks():
            out[points], out[n + points] = re @ t, im @ t
        return out

    def _sweep(self) -> dict[str, Any]:
        if "residual" not in self.cache:
            self.cache.update(_sweep(self.design, self.design_coef, self.transform))
        return self.cache


def _sweep(design: Design, coef: np.ndarray, transform: np.ndarray) -> dict[str, Any]:
    """One pass over the blocks: the residual, and the structure statistics of it and of
    the basis U = A transform (Gram matrices of U and of its first and second differences
    within Z' and within Z'' in frequency order, see `kk_noise.structure_from_sums`)."""
    n, k = design.n, transform.shape[1]
    residual = np.empty(2 * n)
    whole = _whole(design)
    if whole is not None:  # one block: the dense formulas of `kk_noise.structure`
        rows, a = whole
        residual[rows] = design.b[rows] - a @ coef
        u = a @ transform
        correction = _orthonormalising(u.T @ u)
        return _statistics(design, residual, rows, u @ correction.T, correction)
    g_u, s_v, s_w = np.zeros((k, k)), np.zeros((k, k)), np.zeros((k, k))
    last_u: list[np.ndarray | None] = [None, None]
    last_v: list[np.ndarray | None] = [None, None]
    first_v: list[np.ndarray | None] = [None, None]
    for points, re, im in design.chunks():
        for part, rows in ((0, re), (1, im)):
            at = part * n + points
            residual[at] = design.b[at] - rows @ coef
            u = rows @ transform
            g_u += u.T @ u
            prev_u, prev_v = last_u[part], last_v[part]
            v = np.diff(u if prev_u is None else np.vstack([prev_u, u]), axis=0)
            last_u[part] = u[-1:]
            if not v.shape[0]:
                continue
            s_v += v.T @ v
            w = np.diff(v if prev_v is None else np.vstack([prev_v, v]), axis=0)
            s_w += w.T @ w
            first_v[part] = v[:1] if first_v[part] is None else first_v[part]
            last_v[part] = v[-1:]
    for rows in (*first_v, *last_v):  # the edges of both halves (kk_noise._noise)
        if rows is not None:
            s_w += rows.T @ rows
    correction = _orthonormalising(g_u)
    s_v = correction @ s_v @ correction.T
    s_w = correction @ s_w @ correction.T
    r_sorted = residual.reshape(2, n)[:, design.order]
    dr = np.diff(r_sorted, axis=1).ravel()
    stats = structure_from_sums(
        n,
        k,
        float(residual @ residual),
        float(dr @ dr),
        float(np.trace(s_v)),
        float(np.sum(s_v * s_v)),
        float(np.trace(s_w)),
    )
    return {"residual": residual, "stats": stats, "correction": correction}


def _orthonormalising(g: np.ndarray) -> np.ndarray:
    """L^-1 for the Cholesky factor L of U^T U, so that U L^-T is orthonormal (the
    identity when U^T U is not numerically positive definite)."""
    if not g.size:
        return np.eye(0)
    try:
        chol = np.linalg.cholesky(g)
    except np.linalg.LinAlgError:
        return np.eye(g.shape[0])
    return np.linalg.solve(chol, np.eye(g.shape[0]))


def solve(design: Design) -> Solution:
    """Least squares on unit-norm columns, singular values cut as `np.linalg.lstsq` does.

    Unit-norm columns: the L column (omega/|Z|) can be ~1e6 times the others, which
    would otherwise distort the rank decision.
    """
    p = design.p
    whole = _whole(design)
    if whole is None:  # by blocks: the SVD of R
        r_aug = _r_factor(design)
        r, qtb = r_aug[:p, :p], r_aug[:p, p]
    else:  # one block: the SVD of the rows themselves, which also gives U
        rows, r = whole
        qtb = design.b[rows]
    scale = np.linalg.norm(r, axis=0)
    scale[scale == 0] = 1.0
    u_r, s, vt = np.linalg.svd(r / scale, full_matrices=False)
    keep = s > s[0] * np.finfo(float).eps * max(2 * design.n, p)
    u_r, s, vt = u_r[:, keep], s[keep], vt[keep]
    ub = u_r.T @ qtb
    coef = (vt.T @ (ub / s)) / scale
    transform = (vt.T / s) / scale[:, None]
    solution = Solution(coef, design, coef, transform, s, vt, scale)
    if whole is not None:
        residual = np.empty(2 * design.n)
        residual[rows] = qtb - u_r @ ub
        solution.cache.update(_statistics(design, residual, rows, u_r, np.eye(s.size)))
    return solution


@dataclass(frozen=True)
class Projection:
    """What the reference of `eisfit.kk.reference` needs of a fit: the relative residuals
    (real over imaginary, spectrum order), the rank, and ``stats`` (`eisfit.kk.noise.structure`,
    computed when first asked for: a fit that fails the reference's F-test never is)."""

    residual: np.ndarray
    rank: int
    source: Solution | tuple[np.ndarray, np.ndarray] = field(repr=False)  # solution, or (rows, Q)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def stats(self) -> tuple[float, float, float]:
        if "stats" not in self.cache:
            if isinstance(self.source, Solution):
                self.cache["stats"] = self.source.stats
            else:
                rows, q = self.source
                n = q.shape[0] // 2
                self.cache["stats"] = structure(np.arange(n), self.residual[rows], q)
        return self.cache["stats"]


def project(design: Design) -> Projection:
    """The residual, rank and statistics of the fit: by a QR factorisation of the
    unit-norm columns when the design is one block (cheaper than the SVD; rank = the
    number of columns), else from `solve`."""
    whole = _whole(design)
    if whole is None:
        solution = solve(design)
        return Projection(solution.residual, solution.rank, solution)
    rows, a = whole
    q = np.linalg.qr(a / np.linalg.norm(a, axis=0))[0]
    residual = np.empty(2 * design.n)
    residual[rows] = design.b[rows] - q @ (q.T @ design.b[rows])
    return Projection(residual, q.shape[1], (rows, q))


def _whole(design: Design) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, A in those rows) when the design is one block, else None: the rows of
    `Design.chunks`' single block, real over imaginary, written into one array."""
    n = design.n
    if n > (design.chunk_points or CHUNK_POINTS):
        return None
    points = design.order
    rows = np.concatenate([points, n + points])
    f = design.fixed.shape[1]
    a = np.empty((2 * n, f + design.m))
    a[:, :f] = design.fixed[rows]
    if design.m:
        re, im = rc_kernel(design.omega[points], design.tau)
        np.multiply(re, design.weight[points, None], out=a[:n, f:])
        np.multiply(im, design.weight[n + points, None], out=a[n:, f:])
    return rows, a


def _statistics(
    design: Design, residual: np.ndarray, rows: np.ndarray, u: np.ndarray, correction: np.ndarray
) -> dict[str, Any]:
    """The sweep's results from a whole basis ``u`` (its ``rows``: frequency order); the
    statistics follow from ``whole_basis`` when asked for (`Solution.stats`)."""
    return {"residual": residual, "whole_basis": (rows, u), "correction": correction}


def downdate(solution: Solution, drop: list[int]) -> Solution:
    """The least-squares solution with columns ``drop`` removed, from the full SVD.

    With G = (A^T A)^-1 (unit-norm columns): x' = x - G[:, D] G[D, D]^-1 x[D], and the
    fit loses the directions A G[:, D] = U S^-1 V^T[:, D], which are orthogonal to the
    other columns.  Exact for a full-rank solution; the caller solves again otherwise.
    """
    if solution.s is None or solution.vt is None or solution.scale is None:
        raise ValueError("downdate needs a solution from `solve`")
    s, vt, scale = solution.s, solution.vt, solution.scale
    coef_scaled = solution.coef * scale
    g_cols = (vt.T / s**2) @ vt[:, drop]  # G[:, D]
    shift = np.linalg.solve(g_cols[drop], coef_scaled[drop])
    new_scaled = coef_scaled - g_cols @ shift
    new_scaled[drop] = 0.0  # zero up to rounding: the removed columns take no part
    y = vt[:, drop] / s[:, None]  # (rank, |D|)
    q = np.linalg.qr(y, mode="complete")[0]
    keep = [j for j in range(new_scaled.size) if j not in drop]
    return Solution(
        new_scaled[keep] / scale[keep],
        solution.design,
        new_scaled / scale,
        solution.transform @ q[:, len(drop) :],
    )
