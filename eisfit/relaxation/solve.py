"""The regularised least-squares problem of the DRT, the choice of its strength and its
non-negative solution.

Rows are the real parts, then the imaginary parts, each divided by |Z| at its frequency
(modulus weighting, as eisfit's fits and lin-KK: the residuals are relative, and the 1 %
noise of a frequency-response analyser weighs the same at every point).  Columns are the
basis coefficients x (penalised by lambda x^T P x, `eisfit.relaxation.basis.penalty`) and the
free columns R_inf and, when fitted, L and 1/C (not penalised).

Choosing lambda.  For the unconstrained problem everything a criterion needs is a
function of the singular values of the standard-form matrix (Hansen, Rank-Deficient and
Discrete Ill-Posed Problems, SIAM 1998, sec. 2.3 and 7.2): with the free columns
projected out and y = R x (P = R^T R), one SVD U S V^T of the projected A R^-1 gives
for every lambda the filter factors f_i = s_i^2 / (s_i^2 + lambda), the residual
|r|^2 = |b_perp|^2 + sum ((1 - f_i) beta_i)^2 (beta = U^T b) and the trace of the
influence matrix k + sum f_i; so a criterion on a grid of 10 lambdas per decade costs
microseconds.  Three criteria are implemented (`CRITERIA`):

* ``gcv``: generalised cross-validation, argmin n |r|^2 / (n - tr H)^2 (Golub, Heath &
  Wahba, Technometrics 21 (1979) 215);
* ``re-im``: the re-im discrepancy of Saccoccio, Wan, Chen & Ciucci, Electrochim. Acta
  147 (2014) 470: fit the real parts alone and the imaginary parts alone, predict each
  part from the other part's gamma, and take the lambda with the smallest weighted
  misfit |Z' - Z'(x_im)|^2 + |Z'' - Z''(x_re)|^2 (R_inf from the real fit, L from the
  imaginary one);
* ``discrepancy``: Morozov's discrepancy principle: the largest lambda whose residual
  does not exceed what the noise leaves, |r|^2 <= tau sigma^2 n with tau = 1.2 (Hansen
  1998, sec. 7.2: tau slightly above 1), sigma the relative noise per component:
  Wahba's estimate from the same SVD (`choose`), at least `NOISE_FLOOR`.  (Not lin-KK's
  estimate: `eisfit.kk` and `eisfit.relaxation` are siblings in the import layers.)  The
  lambda is refined between grid points by bisection.

``discrepancy`` is the default (`eisfit.relaxation.api.DEFAULT_CRITERION`) because it is the
only one that does not under-smooth at 1 % noise.  Measured on the two-arc set of
bench/drt_bench.py (50 spectra each, seeds 7 and 8, 1 % noise), arcs within 0.1 decade
and 5 % / spurious peaks (with the 5 x noise significance rule of `eisfit.relaxation.api`;
without it in brackets): gcv 69 and 55 of 100 / 28 and 30 (54, 55); re-im 68 and 62 /
21 and 17 (40, 45); discrepancy 82 and 85 / 0 and 0 (1, 3).  GCV's under-smoothing is
the failure the issue reported for pyDRTtools; tau = 1.0 left 1-11 spurious peaks per
50 spectra before the significance rule, tau = 1.5 none but widened the arcs cut by the
band edge (area p90 25.7 % against 22.7 %); the expected residual with the degrees of
freedom, |r|^2 <= sigma^2 (n - tr H), under-smoothed like GCV (49 spurious peaks).

The chosen lambda is then used in a non-negative least-squares solve of the stacked
system [A F; sqrt(lambda) R 0] [x; c] = [b; 0] (scipy.optimize.nnls), so that gamma >= 0,
R_inf >= 0, L >= 0 and 1/C >= 0.  The criteria judge the unconstrained solution, which
the non-negative one follows wherever gamma is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CRITERIA", "DRTProblem", "Spectral", "choose", "nnls_solve", "spectral"]

CRITERIA = ("gcv", "re-im", "discrepancy")
#: log10 lambda grid on which criteria are evaluated (10 per decade)
LOG10_LAMBDAS = np.linspace(-12.0, 3.0, 151)
DISCREPANCY_TAU = 1.2
#: smallest noise assumed (fraction of |Z| per component): about the accuracy of a good
#: frequency-response analyser (0.1 % in |Z|, 0.1 degree), as lin-KK's floor in eisfit.kk
NOISE_FLOOR = 1e-3


@dataclass(frozen=True)
class DRTProblem:
    """Weighted design: ``a`` (rows x M basis columns), ``free`` (rows x k, R_inf and
    maybe L), ``data`` (rows), ``root`` (M x M upper, R^T R = P), ``n`` frequencies;
    rows 0..n-1 real parts, n..2n-1 imaginary parts."""

    a: np.ndarray
    free: np.ndarray
    data: np.ndarray
    root: np.ndarray
    n: int


@dataclass(frozen=True)
class Spectral:
    """SVD of a standard-form problem: singular values ``s``, ``beta`` = U^T b_perp,
    ``outside`` = |b_perp|^2 - |beta|^2, ``rows``, ``k`` free columns, and what maps y
    back to x and c: ``vt``, plus the pieces of the projection."""

    s: np.ndarray
    beta: np.ndarray
    outside: float
    rows: int
    k: int
    vt: np.ndarray

    def filters(self, lambdas: np.ndarray) -> np.ndarray:
        s2 = self.s[:, None] ** 2
        return s2 / (s2 + lambdas[None, :])

    def residual2(self, lambdas: np.ndarray) -> np.ndarray:
        f = self.filters(lambdas)
        return self.outside + np.sum(((1.0 - f) * self.beta[:, None]) ** 2, axis=0)

    def trace(self, lambdas: np.ndarray) -> np.ndarray:
        return self.k + np.sum(self.filters(lambdas), axis=0)

    def y(self, lambdas: np.ndarray) -> np.ndarray:
        """Standard-form coefficients y = R x, one column per lambda."""
        s = self.s[:, None]
        return self.vt.T @ (s * self.beta[:, None] / (s * s + lambdas[None, :]))


def _standard_form(a: np.ndarray, root: np.ndarray) -> np.ndarray:
    from scipy.linalg import solve_triangular

    return solve_triangular(root, a.T, trans="T", lower=False).T  # a R^-1


def spectral(a_std: np.ndarray, free: np.ndarray, data: np.ndarray) -> Spectral:
    """SVD of the standard-form design ``a_std`` (= A R^-1) with the ``free`` columns
    projected out."""
    k = free.shape[1]
    if k:
        q, _ = np.linalg.qr(free)
        a_p = a_std - q @ (q.T @ a_std)
        b_p = data - q @ (q.T @ data)
    else:
        a_p, b_p = a_std, data
    u, s, vt = np.linalg.svd(a_p, full_matrices=False)
    beta = u.T @ b_p
    outside = max(float(b_p @ b_p - beta @ beta), 0.0)
    return Spectral(s, beta, outside, a_p.shape[0], k, vt)


def _free_coefficients(free: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of the free columns for the residual data ``rest``
    (rows x lambdas)."""
    if not free.shape[1]:
        return np.zeros((0, rest.shape[1]))
    return np.linalg.lstsq(free, rest, rcond=None)[0]


def _re_im(problem: DRTProblem, a_std: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """The re-im discrepancy score (module docstring) for each lambda."""
    from scipy.linalg import solve_triangular

    n = problem.n
    parts = []
    for rows in (slice(0, n), slice(n, 2 * n)):
        free = problem.free[rows]
        used = np.flatnonzero(np.any(free != 0.0, axis=0))
        sp = spectral(a_std[rows], free[:, used], problem.data[rows])
        x = solve_triangular(problem.root, sp.y(lambdas), lower=False)
        c = np.zeros((problem.free.shape[1], lambdas.size))
        rest = problem.data[rows, None] - problem.a[rows] @ x
        c[used] = _free_coefficients(free[:, used], rest)
        parts.append((x, c))
    (x_re, c_re), (x_im, c_im) = parts
    # each part predicted from the other part's gamma, with its own free terms
    pred_re = problem.a[:n] @ x_im + problem.free[:n] @ c_re
    pred_im = problem.a[n:] @ x_re + problem.free[n:] @ c_im
    return np.sum((problem.data[:n, None] - pred_re) ** 2, axis=0) + np.sum(
        (problem.data[n:, None] - pred_im) ** 2, axis=0
    )


def choose(
    problem: DRTProblem, criterion: str, *, noise: float | None = None
) -> tuple[float, dict[str, float]]:
    """(lambda, scores) for ``criterion``.  ``scores["noise"]`` is the relative noise
    per component: ``noise`` when given, else Wahba's estimate |r|^2 / (n - tr H) at the
    GCV choice, at least `NOISE_FLOOR` (Wahba, J. R. Stat. Soc. B 45 (1983) 133, eq. 3.2;
    the residual variance of a linear smoother), which ``discrepancy`` then uses."""
    lambdas = 10.0**LOG10_LAMBDAS
    a_std = _standard_form(problem.a, problem.root)
    sp = spectral(a_std, problem.free, problem.data)
    rss = sp.residual2(lambdas)
    dof = sp.rows - sp.trace(lambdas)
    gcv = sp.rows * rss / np.maximum(dof, 1e-12) ** 2
    i_gcv = int(np.nanargmin(gcv))
    if noise is None or not math.isfinite(noise) or noise <= 0.0:
        noise = max(math.sqrt(rss[i_gcv] / max(dof[i_gcv], 1.0)), NOISE_FLOOR)
    scores = {"noise": float(noise), "gcv_lambda": float(lambdas[i_gcv])}
    if criterion == "gcv":
        i = i_gcv
    elif criterion == "re-im":
        i = int(np.nanargmin(_re_im(problem, a_std, lambdas)))
    elif criterion == "discrepancy":
        target = noise**2 * sp.rows * DISCREPANCY_TAU
        ok = np.flatnonzero(rss <= target)
        i = int(ok[-1]) if ok.size else i_gcv
        if ok.size and i + 1 < lambdas.size:
            lam = _bisect(sp, float(target), LOG10_LAMBDAS[i], LOG10_LAMBDAS[i + 1])
            rms = math.sqrt(float(sp.residual2(np.array([lam]))[0]) / sp.rows)
            return lam, {**scores, "residual_rms": rms}
    else:
        raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    scores["residual_rms"] = float(math.sqrt(rss[i] / sp.rows))
    return float(lambdas[i]), scores


def _bisect(sp: Spectral, target: float, lo: float, hi: float) -> float:
    """The lambda between 10^lo and 10^hi whose residual equals ``target`` (|r|^2 grows
    with lambda), by bisection in log lambda to 1e-3 decade."""
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if float(sp.residual2(np.array([10.0**mid]))[0]) <= target:
            lo = mid
        else:
            hi = mid
    return float(10.0**lo)


def nnls_solve(problem: DRTProblem, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, c): the non-negative solution of the stacked regularised system."""
    from scipy.optimize import nnls

    m = problem.a.shape[1]
    k = problem.free.shape[1]
    top = np.hstack([problem.a, problem.free])
    bottom = np.hstack([math.sqrt(lam) * problem.root, np.zeros((m, k))])
    rhs = np.concatenate([problem.data, np.zeros(m)])
    # scale the free columns to the basis columns' size so that nnls's tolerances fit
    scale = np.ones(m + k)
    if k:
        norms = np.linalg.norm(problem.free, axis=0)
        ref = float(np.max(np.linalg.norm(problem.a, axis=0))) or 1.0
        scale[m:] = np.where(norms > 0, ref / np.where(norms > 0, norms, 1.0), 1.0)
    sol, _ = nnls(np.vstack([top, bottom]) * scale[None, :], rhs, maxiter=50 * (m + k))
    sol = sol * scale
    return sol[:m], sol[m:]
