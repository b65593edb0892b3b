"""The linear KK model of `eisfit.kk`: columns, solves, M screening and series elements.

The model (Boukamp, J. Electrochem. Soc. 142 (1995) 1885; Schönleber, Klotz,
Ivers-Tiffée, Electrochim. Acta 131 (2014) 20) is

    Z_KK(omega) = R0 + j omega L + 1/(j omega C) + sum_k R_k / (1 + j omega tau_k),

with tau_k on a logarithmic grid from 1/omega_max to 1/omega_min.  It is linear in R0,
L, 1/C and the R_k; rows (real parts over imaginary parts) are weighted by 1/|Z|, so the
residuals b - A x are the relative residuals (Z - Z_KK)/|Z|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "FIRST_M",
    "Elements",
    "Solution",
    "choose_elements",
    "dense_m",
    "downdate",
    "fixed_columns",
    "mu",
    "projection",
    "rc_columns",
    "skip_certain",
    "solve",
]

FIRST_M = 2  # the paper's tau grid (tau_1 = 1/omega_max, tau_M = 1/omega_min) needs M >= 2
DENSE_PER_DECADE = 6  # RC elements per decade of the reference grid (eisfit.kk)
ALPHA_ELEMENT = 0.001  # level of the t-test that keeps an automatic series C or L


def fixed_columns(omega: np.ndarray, mod: np.ndarray, names: list[str]) -> np.ndarray:
    """Weighted columns that do not depend on M: R0 (real), L (j omega), 1/C (1/(j omega))."""
    n = omega.size
    zeros = np.zeros(n)
    columns = {
        "R0": np.concatenate([1.0 / mod, zeros]),
        "L": np.concatenate([zeros, omega / mod]),
        "C": np.concatenate([zeros, -1.0 / (omega * mod)]),  # coefficient 1/C
    }
    return np.column_stack([columns[name] for name in names])


@dataclass(frozen=True)
class Solution:
    """A weighted linear least-squares solution.

    ``s``, ``vt`` and ``scale`` (singular values, right singular vectors and column
    norms of the columns) are None for a solution derived by removing columns.
    """

    coef: np.ndarray  # coefficients of the (unscaled) columns
    residual: np.ndarray  # b - A coef: the relative residuals, real over imaginary
    basis: np.ndarray  # orthonormal basis of the column space (2N x rank)
    s: np.ndarray | None = None
    vt: np.ndarray | None = None
    scale: np.ndarray | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rank(self) -> int:
        return int(self.basis.shape[1])


def solve(a: np.ndarray, b: np.ndarray) -> Solution:
    """Least squares on unit-norm columns, singular values cut as `np.linalg.lstsq` does.

    Unit-norm columns: the L column (omega/|Z|) can be ~1e6 times the others, which
    would otherwise distort the rank decision.
    """
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    u, s, vt = np.linalg.svd(a / scale, full_matrices=False)
    keep = s > s[0] * np.finfo(float).eps * max(a.shape)
    u, s, vt = u[:, keep], s[keep], vt[keep]
    ub = u.T @ b
    coef_scaled = vt.T @ (ub / s)
    return Solution(coef_scaled / scale, b - u @ ub, u, s, vt, scale)


def projection(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(residual, orthonormal basis of the columns) of the least-squares fit of b by a.

    For when only the projection of b on the columns is needed: a QR factorisation.
    """
    q = np.linalg.qr(a / np.linalg.norm(a, axis=0))[0]
    return b - q @ (q.T @ b), q


def mu(r_k: np.ndarray) -> float:
    """Schönleber's mu (eq. 21): 1 - (negative resistor mass) / (positive resistor mass)."""
    neg = float(-r_k[r_k < 0].sum())
    pos = float(r_k[r_k >= 0].sum())
    if pos == 0.0:
        return 1.0 if neg == 0.0 else -math.inf
    return 1.0 - neg / pos


def dense_m(omega: np.ndarray) -> int:
    """M of the reference grid: `DENSE_PER_DECADE` RC elements per decade of the band.

    A grid this dense represents an ideal (Debye) RC arc lying between two of its time
    constants to about 1e-5 of |Z|, below the noise of any measurement (the error
    shrinks about tenfold per added element per decade).
    """
    decades = math.log10(float(omega.max()) / float(omega.min()))
    return max(FIRST_M, math.ceil(DENSE_PER_DECADE * decades) + 1)


# --------------------------------------------------------------------------- RC columns


@lru_cache(maxsize=128)
def _rc_columns_cached(omega_bytes: bytes, m: int) -> np.ndarray:
    omega = np.frombuffer(omega_bytes)
    tau = np.exp(np.linspace(-math.log(omega.max()), -math.log(omega.min()), m))
    kernel = 1.0 / (1.0 + 1j * np.outer(omega, tau))  # N x M, response of unit-R RC elements
    out = np.concatenate([kernel.real, kernel.imag])
    out.setflags(write=False)
    return out


def rc_columns(omega: np.ndarray, m: int) -> np.ndarray:
    """The M RC columns (2N, M) on the grid tau = 1/omega_max .. 1/omega_min, unweighted.

    Cached by frequency grid: the spectra of a series usually share one.
    """
    return _rc_columns_cached(np.ascontiguousarray(omega, dtype=float).tobytes(), m)


_SCREEN = 16  # M values screened together
_SAFETY = 1e3  # factor on the forward-error estimate kappa * eps of the screening solve
_MAX_KAPPA = 1e10  # condition number (of the Gram matrix) beyond which nothing is certified


@lru_cache(maxsize=16)
def _padded_rc_columns(omega_bytes: bytes, m_start: int, m_stop: int) -> tuple[np.ndarray, ...]:
    """M = m_start..m_stop-1 and their RC columns (n_M, 2N, max M), zero-padded."""
    ms = np.arange(m_start, m_stop)
    out = np.zeros((ms.size, 2 * len(omega_bytes) // 8, m_stop - 1))
    for i, m in enumerate(ms.tolist()):
        out[i, :, :m] = _rc_columns_cached(omega_bytes, m)
    out.setflags(write=False)
    ms.setflags(write=False)
    return ms, out


def skip_certain(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed_cols: np.ndarray,
    m: int,
    cap: int,
    mu_threshold: float,
) -> int:
    """The first M from ``m`` on (at most ``cap``) whose mu is not certainly >= mu_threshold.

    The exact fit of every M is an SVD least-squares solve (`solve`), most of the cost
    of the test.  Here blocks of M values are solved together through the normal
    equations of the same unit-norm columns, and an M is certified when mu stays >=
    mu_threshold under a bound on the error of that cheaper solve: |dx| <= safety *
    kappa * eps * |x|, kappa a bound on the condition number of the Gram matrix (trace
    times the Frobenius norm of its inverse; kappa**0.5 bounds that of the columns, so
    the exact solve is far from its rank cutoff).  A certified M could not have stopped
    the search, so skipping it gives the same M and mu as solving every M exactly.
    """
    f = fixed_cols.shape[1]
    key = np.ascontiguousarray(omega, dtype=float).tobytes()
    while m < cap:
        # the cap itself is always solved exactly; after a first block, smaller ones (the
        # cost grows with the cube of the largest M in a block)
        m_stop = min(m + (_SCREEN if m == FIRST_M else _SCREEN // 2), cap)
        ms, kernels = _padded_rc_columns(key, m, m_stop)
        rc = kernels * weight[:, None]
        p = f + rc.shape[2]
        gram = np.empty((ms.size, p, p))  # blocks of [fixed, rc]^T [fixed, rc]
        gram[:, :f, :f] = fixed_cols.T @ fixed_cols
        gram[:, :f, f:] = fixed_cols.T @ rc
        gram[:, f:, :f] = gram[:, :f, f:].transpose(0, 2, 1)
        gram[:, f:, f:] = rc.transpose(0, 2, 1) @ rc
        # unit-norm columns as in the exact solve: scale the Gram matrix, not the columns
        scale = np.sqrt(np.diagonal(gram, axis1=1, axis2=2))
        pad = scale == 0  # columns beyond this M
        scale = np.where(pad, 1.0, scale)
        gram /= scale[:, :, None] * scale[:, None, :]
        gram[:, np.arange(p), np.arange(p)] += pad  # padded columns decoupled: identity
        rhs = np.concatenate([np.broadcast_to(b @ fixed_cols, (ms.size, f)), b @ rc], axis=1)
        rhs /= scale
        try:
            inv = np.linalg.inv(gram)
        except np.linalg.LinAlgError:
            return m
        x = (inv @ rhs[..., None])[..., 0]
        kappa = np.trace(gram, axis1=1, axis2=2) * np.sqrt(np.einsum("sij,sij->s", inv, inv))
        err = _SAFETY * kappa * np.finfo(float).eps * np.linalg.norm(x, axis=1)
        r_k = np.where(pad, 0.0, x / scale)[:, f:]
        shift = 2.0 * err * np.where(pad, 0.0, 1.0 / scale)[:, f:].sum(axis=1)
        neg = np.where(r_k < 0, -r_k, 0.0).sum(axis=1) + shift
        pos = np.where(r_k >= 0, r_k, 0.0).sum(axis=1) - shift
        with np.errstate(divide="ignore", invalid="ignore"):
            mu_low = np.where(pos > 0, 1.0 - neg / pos, -math.inf)
        certain = (mu_low >= mu_threshold) & (kappa < _MAX_KAPPA)
        if not certain.all():
            return int(ms[np.argmin(certain)])
        m = int(ms[-1]) + 1
    return m


# --------------------------------------------------------------------------- series L, C


@dataclass(frozen=True)
class Elements:
    """Which of the optional series elements the KK model keeps, and the evidence."""

    kept: tuple[str, ...]  # column names kept, "R0" first
    t_values: dict[str, float]  # t statistic of each optional element in the full model
    share: dict[str, float]  # its largest contribution in the band, fraction of |Z|


def choose_elements(
    solution: Solution,
    names: list[str],
    fixed_cols: np.ndarray,
    auto: dict[str, bool],
    floor: float,
) -> Elements:
    """Which automatic series L or C to drop: those not significant, or negligible.

    t = coefficient / standard error, from the SVD and the residual variance at this M;
    an element is kept when |t| exceeds the two-sided Student-t quantile at
    `ALPHA_ELEMENT` and it contributes at least ``floor`` of |Z| somewhere in the band
    (at the lowest frequency for C, the highest for L).  Elements that are not
    automatic (``auto[name]`` False) are always kept.
    """
    from scipy.special import stdtrit

    if solution.s is None or solution.vt is None or solution.scale is None:
        raise ValueError("choose_elements needs a solution from `solve`")
    dof = solution.residual.size - solution.rank
    residual_var = float(solution.residual @ solution.residual) / dof if dof > 0 else 0.0
    coef_scaled = solution.coef * solution.scale
    g_diag = np.sum((solution.vt / solution.s[:, None]) ** 2, axis=0)  # diag (A^T A)^-1
    t_crit = float(stdtrit(max(dof, 1), 1.0 - ALPHA_ELEMENT / 2))
    t_values: dict[str, float] = {}
    share: dict[str, float] = {}
    kept = []
    for j, name in enumerate(names):
        if name != "R0":
            se = math.sqrt(residual_var * g_diag[j])
            t = coef_scaled[j] / se if se > 0 else math.copysign(math.inf, coef_scaled[j])
            t_values[name] = float(t)
            # the columns are divided by |Z|: the largest entry times the coefficient is
            # the largest share of |Z| the element has
            share[name] = float(abs(solution.coef[j]) * np.abs(fixed_cols[:, j]).max())
            if auto.get(name) and (abs(t) < t_crit or share[name] < floor):
                continue
        kept.append(name)
    return Elements(tuple(kept), t_values, share)


def downdate(solution: Solution, drop: list[int]) -> Solution:
    """The least-squares solution with columns ``drop`` removed, from the full SVD.

    With G = (A^T A)^-1: x' = x - G[:, D] G[D, D]^-1 x[D], and the fit loses the
    directions A G[:, D] = U S^-1 V^T[:, D], which are orthogonal to the other columns.
    Exact for a full-rank solution; the caller solves again otherwise.
    """
    if solution.s is None or solution.vt is None or solution.scale is None:
        raise ValueError("downdate needs a solution from `solve`")
    s, vt, scale = solution.s, solution.vt, solution.scale
    coef_scaled = solution.coef * scale
    g_cols = (vt.T / s**2) @ vt[:, drop]  # G[:, D]
    shift = np.linalg.solve(g_cols[drop], coef_scaled[drop])
    new_scaled = coef_scaled - g_cols @ shift
    y = vt[:, drop] / s[:, None]  # (rank, |D|)
    residual = solution.residual + solution.basis @ (y @ shift)
    q = np.linalg.qr(y, mode="complete")[0]
    keep = [j for j in range(new_scaled.size) if j not in drop]
    return Solution(new_scaled[keep] / scale[keep], residual, solution.basis @ q[:, len(drop) :])
