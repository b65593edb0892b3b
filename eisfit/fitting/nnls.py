"""Non-negative least squares on numpy alone: min |A x - b| subject to x >= 0.

The starting-value pre-fit (`eisfit.fitting.initial`) solves one such problem per fit:
a discrete distribution of relaxation times, Debye columns on the tau grid.  This is the
active-set algorithm NNLS of Lawson & Hanson, *Solving Least Squares Problems*
(Prentice-Hall 1974; SIAM 1995), ch. 23, p. 161, the algorithm behind
``scipy.optimize.nnls``: it needs no scipy, whose ``optimize`` package costs a fresh
process about 0.4 s to import, more than a whole fit of one spectrum (issue 15).

Steps (the book's numbering): the passive set P starts empty and x = 0 (1); the dual
w = A^T (b - A x) (2); while some index outside P has w_j > tol and P has fewer than
rank-many indices (3), the largest such w_j enters P (4-5); z solves the unconstrained
problem on the columns of P (6); while some z_j <= 0 in P (7), x moves towards z as far
as feasibility allows, alpha = min x_j / (x_j - z_j) over those j (8-10), and the
indices whose x reached 0 leave P (11), then z is solved again; x = z (12).  An index
whose column is numerically dependent on those of P, or whose coefficient would not be
positive on entering, is passed over until x next changes (the book's tests at step 5).

As in the book, a long A (m > n) is first reduced to its triangular factor (A = QR:
|A x - b|^2 = |R x - Q^T b|^2 + const), and the columns of P are kept as an updated QR
factorisation: a Householder reflection when a column enters, Givens rotations when one
leaves (ch. 24; Golub & Van Loan, *Matrix Computations*, 4th ed., sec. 6.5), so each
step costs a few small products instead of a new least-squares solve.  x agrees with
scipy's to rounding, not bit for bit (``tests/test_nnls.py``; fits seeded from either
are the same).

Cost: in Python each step pays numpy's call overheads, so a pre-fit's problem (about
160 x 45) takes some 3-8 ms against scipy's 0.2-0.4 ms (medians over 40 fits of random
80-point spectra on a loaded 2-core machine).  That pays where a job is small enough
that importing ``scipy.optimize`` would cost more (fewer than about 50 fits, a job
declared with `eisfit.fitting.workload`), not in a batch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import FitInputError

__all__ = ["nnls"]

#: a column entering P whose part outside the span of P's columns is below this share of
#: its norm counts as dependent on them (Lawson & Hanson's test at step 5 uses 0.01 eps
#: relative to the column's norm; a little looser here, the columns being rounded sums)
DEPENDENT = 100.0 * np.finfo(np.float64).eps


def nnls(
    matrix: npt.ArrayLike, target: npt.ArrayLike, *, maxiter: int | None = None
) -> tuple[np.ndarray, float]:
    """``(x, |A x - b|)`` with x >= 0 minimising |A x - b| for ``matrix`` A (m, n) and
    ``target`` b (m,), as ``scipy.optimize.nnls``.

    ``maxiter`` bounds the inner iterations, those that move x back to feasibility
    (default 3 n, as Lawson & Hanson's code and scipy); past it RuntimeError is raised,
    as scipy raises it.  A non-finite or misshapen input raises `FitInputError`.
    """
    a0 = np.asarray(matrix, dtype=np.float64)
    b0 = np.asarray(target, dtype=np.float64)
    if b0.ndim == 2 and b0.shape[1:] == (1,):
        b0 = b0[:, 0]
    if a0.ndim != 2 or b0.ndim != 1 or a0.shape[0] != b0.size:
        raise FitInputError(f"nnls needs A (m, n) and b (m,), got {a0.shape} and {b0.shape}")
    if not (np.isfinite(a0).all() and np.isfinite(b0).all()):
        raise FitInputError("nnls: A and b must be finite")
    m, n = a0.shape
    limit = maxiter if maxiter else 3 * n
    scale = float(np.abs(a0).sum(axis=0).max(initial=0.0) * np.abs(b0).max(initial=0.0))
    tol = 10.0 * np.finfo(np.float64).eps * max(m, n) * scale
    a, b = a0, b0
    if m > n:  # the triangular reduction: the same x on n rows
        q, a = np.linalg.qr(a0)
        b = q.T @ b0
    x = _Active(a, b).solve(tol, limit)
    residual = b0 - a0 @ x
    return x, float(np.sqrt(residual @ residual))


class _Active:
    """The passive set P of one NNLS run and the QR factorisation of its columns:
    ``qt @ a[:, order] == r[:, :k]`` (upper triangular), ``qt`` orthogonal, ``qb = qt @ b``."""

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = a, b
        rows, n = a.shape
        self.qt = np.eye(rows)
        self.qb = b.copy()
        self.r = np.zeros((rows, n))
        self.order: list[int] = []
        self.norms = np.sqrt((a * a).sum(axis=0))

    def solve(self, tol: float, limit: int) -> np.ndarray:
        """The solution x (n,), by the steps of the module docstring."""
        a, b = self.a, self.b
        rows, n = a.shape
        x = np.zeros(n)
        passive = np.zeros(n, dtype=bool)
        passed_over = np.zeros(n, dtype=bool)
        w = a.T @ b
        iterations = entries = 0
        while len(self.order) < rows:
            entries += 1
            if entries > 10 * (n + limit):  # rounding can make the book's steps cycle
                raise RuntimeError("Maximum number of iterations reached (cycling).")
            free = ~passive & ~passed_over & (w > tol)
            if not free.any():
                break
            j = int(np.argmax(np.where(free, w, -np.inf)))
            if not self._enter(j):
                passed_over[j] = True
                continue
            z = self._coefficients()
            if not z[-1] > 0.0:  # would not be positive: out again, try the next one
                self.order.pop()
                passed_over[j] = True
                continue
            passive[j] = True
            while z.size and z.min() <= 0.0:
                iterations += 1
                if iterations > limit:
                    raise RuntimeError("Maximum number of iterations reached.")
                xp = x[self.order]
                blocked = z <= 0.0
                gap = xp[blocked] - z[blocked]  # > 0: x >= 0 >= z; 0 only if both are 0
                ratios = np.divide(xp[blocked], gap, out=np.zeros(gap.size), where=gap > 0.0)
                step = xp + ratios.min() * (z - xp)
                step[np.flatnonzero(blocked)[np.argmin(ratios)]] = 0.0  # reached the bound
                x[self.order] = step
                for position in reversed(range(len(self.order))):
                    if not step[position] > 0.0:
                        passive[self.order[position]] = False
                        x[self.order[position]] = 0.0
                        self._leave(position)
                z = self._coefficients()
            x[:] = 0.0
            x[self.order] = z
            w = a.T @ (b - a @ x)
            passed_over[:] = False
        return x

    def _enter(self, j: int) -> bool:
        """Append column j to the factorisation (a Householder reflection zeroes its part
        below row k); False, and nothing changed, when it depends on P's columns."""
        k = len(self.order)
        u = self.qt @ self.a[:, j]
        tail = u[k:]
        norm = float(np.sqrt(tail @ tail))
        if not norm > DEPENDENT * self.norms[j]:
            return False
        alpha = -norm if tail[0] >= 0.0 else norm
        v = tail.copy()
        v[0] -= alpha
        vv = float(v @ v)
        if vv > 0.0:
            self.qt[k:] -= np.outer(v, (2.0 / vv) * (v @ self.qt[k:]))
            self.qb[k:] -= v * ((2.0 / vv) * float(v @ self.qb[k:]))
        column = self.r[:, k]
        column[:k] = u[:k]
        column[k] = alpha
        column[k + 1 :] = 0.0
        self.order.append(j)
        return True

    def _leave(self, position: int) -> None:
        """Drop the column at ``position`` of P; Givens rotations restore the triangle."""
        k = len(self.order)
        r = self.r
        r[:, position : k - 1] = r[:, position + 1 : k]
        r[:, k - 1] = 0.0
        del self.order[position]
        for i in range(position, k - 1):
            f, g = r[i, i], r[i + 1, i]
            h = float(np.hypot(f, g))
            if h == 0.0:
                continue
            c, s = f / h, g / h
            rotation = np.array([[c, s], [-s, c]])
            r[i : i + 2, i : k - 1] = rotation @ r[i : i + 2, i : k - 1]
            r[i + 1, i] = 0.0
            self.qt[i : i + 2] = rotation @ self.qt[i : i + 2]
            self.qb[i : i + 2] = rotation @ self.qb[i : i + 2]

    def _coefficients(self) -> np.ndarray:
        """z on P (in the order of ``order``): the triangular system R z = Q^T b."""
        k = len(self.order)
        if k == 0:
            return np.zeros(0)
        return np.linalg.solve(self.r[:k, :k], self.qb[:k])
