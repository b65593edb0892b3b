"""The linear KK model of `eisfit.kk.linkk`: columns, solves, M screening and series elements.

The model (Boukamp, J. Electrochem. Soc. 142 (1995) 1885; Schönleber, Klotz,
Ivers-Tiffée, Electrochim. Acta 131 (2014) 20) is

    Z_KK(omega) = R0 + j omega L + 1/(j omega C) + sum_k R_k / (1 + j omega tau_k),

with tau_k on a logarithmic grid from 1/omega_max to 1/omega_min.  It is linear in R0,
L, 1/C and the R_k; rows (real parts over imaginary parts) are weighted by 1/|Z|, so the
residuals b - A x are the relative residuals (Z - Z_KK)/|Z|.  The solves themselves run
block by block over the points (`eisfit.kk.design`), in memory bounded in N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import compiled
from . import design as kk_design
from .design import Design, Solution, downdate

__all__ = [
    "FIRST_M",
    "Elements",
    "Solution",
    "choose_elements",
    "default_cap",
    "dense_m",
    "downdate",
    "fixed_columns",
    "mu",
    "rc_columns",
    "skip_certain",
    "solve",
]

FIRST_M = 2  # the paper's tau grid (tau_1 = 1/omega_max, tau_M = 1/omega_min) needs M >= 2
DENSE_PER_DECADE = 6  # RC elements per decade of the reference grid (eisfit.kk.linkk)
ALPHA_ELEMENT = 0.001  # level of the t-test that keeps an automatic series C or L
CAP_PER_DECADE = 2 * DENSE_PER_DECADE  # default cap of M for long spectra (default_cap)
CAP_FLOOR = 100  # ... which never binds below this many points


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


def solve(a: np.ndarray, b: np.ndarray) -> Solution:
    """Least squares of ``b`` on given columns ``a`` (2N x p, real rows over imaginary
    rows): `eisfit.kk.design.solve` on one block of rows."""
    return kk_design.solve(kk_design.dense(a, b))


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


def default_cap(omega: np.ndarray) -> int:
    """The default cap of M: one RC element per point, and for long spectra
    `CAP_PER_DECADE` per decade of the band (but never fewer than `CAP_FLOOR`).

    Twice the density of the reference grid (`dense_m`), which already represents an
    ideal RC arc to about 1e-5 of |Z|: time constants packed closer are numerically
    redundant, and the rare search in which mu never falls (noise-free data) would
    otherwise solve up to N = 50,000 columns.  No spectrum of up to `CAP_FLOOR` points,
    nor one with fewer points per decade, is affected.
    """
    decades = math.log10(float(omega.max()) / float(omega.min()))
    per_decade = math.ceil(CAP_PER_DECADE * decades) + 1
    return int(min(omega.size, max(CAP_FLOOR, per_decade)))


# --------------------------------------------------------------------------- RC columns


def rc_columns(omega: np.ndarray, m: int) -> np.ndarray:
    """The M RC columns (2N, M) on the grid tau = 1/omega_max .. 1/omega_min, unweighted.

    The solves generate them block by block (`eisfit.kk.design.Design`); this array of
    all of them is for small problems and tests.
    """
    omega = np.asarray(omega, dtype=float)
    kernel = 1.0 / (1.0 + 1j * np.outer(omega, kk_design.tau_grid(omega, m)))
    return np.concatenate([kernel.real, kernel.imag])


_GRAMS_BYTES = 4 * 2**20  # padded RC blocks of `_grams` held at once, bytes


def _grams(design: Design, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A_M^T A_M, A_M^T b) of the designs with M = ``ms`` RC columns (the fixed columns
    of ``design``), zero-padded to the largest M: (len(ms), p, p) and (len(ms), p).

    All M are built from one kernel evaluation per block of points (their time
    constants side by side), in blocks of at most `_GRAMS_BYTES`.
    """
    n, f = design.n, design.fixed.shape[1]
    widest = int(ms.max())
    step = max(1, _GRAMS_BYTES // (16 * ms.size * (f + widest)))
    g = np.zeros((ms.size, f + widest, f + widest))
    rhs = np.zeros((ms.size, f + widest))
    key = (int(ms[0]), int(ms[-1]) + 1)
    for lo in range(0, n, step):
        points = np.arange(lo, min(lo + step, n))
        rows = np.concatenate([points, n + points])
        if points.size == n and 16 * n * ms.size * widest <= _CACHED_BYTES:
            padded = _padded_kernels(design.omega.tobytes(), *key)  # a short spectrum
        else:
            padded = _padded(design.omega[points], design.omega, *key)
        a = np.empty((ms.size, rows.size, f + widest))
        a[:, :, :f] = design.fixed[rows]
        a[:, :, f:] = (padded * design.weight[rows, None]).reshape(
            rows.size, ms.size, widest
        ).transpose(1, 0, 2)
        g += a.transpose(0, 2, 1) @ a
        rhs += design.b[rows] @ a
    return g, rhs


_CACHED_BYTES = 2**20  # padded kernels of short spectra are cached (16 entries at most)


def _padded(omega: np.ndarray, band: np.ndarray, m_start: int, m_stop: int) -> np.ndarray:
    """Unweighted RC columns of M = m_start..m_stop-1 at ``omega`` (grids over the
    ``band``), real rows over imaginary rows, side by side and zero-padded to the
    largest M: (2 n, n_M * (m_stop - 1))."""
    ms = range(m_start, m_stop)
    widest = m_stop - 1
    taus = np.concatenate([kk_design.tau_grid(band, m) for m in ms])
    # column of each time constant in the padded (M index, column) layout, flattened
    slots = np.concatenate([i * widest + np.arange(m) for i, m in enumerate(ms)])
    x = np.outer(omega, taus)
    re = 1.0 / (1.0 + x * x)
    padded = np.zeros((2 * omega.size, len(ms) * widest))
    padded[: omega.size, slots] = re
    padded[omega.size :, slots] = -x * re
    return padded


@lru_cache(maxsize=16)
def _padded_kernels(omega_bytes: bytes, m_start: int, m_stop: int) -> np.ndarray:
    """`_padded` of a whole short spectrum, cached by its grid: the spectra of a run
    usually share one."""
    omega = np.frombuffer(omega_bytes)
    out = _padded(omega, omega, m_start, m_stop)
    out.setflags(write=False)
    return out


_SCREEN = 16  # M values screened together
_SAFETY = 1e3  # factor on the forward-error estimate kappa * eps of the screening solve
_MAX_KAPPA = 1e10  # condition number (of the Gram matrix) beyond which nothing is certified


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

    When numba is already loaded (a batch: the fit kernel loaded it), the compiled twin
    in `eisfit.kk.screen_kernel` runs instead, about eight times faster
    (`eisfit.kk.compiled`).
    """
    kernel = compiled.certification()
    if kernel is not None:
        arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (omega, weight, b, fixed_cols)]
        options = (FIRST_M, _SCREEN, _SAFETY, _MAX_KAPPA)
        return int(kernel(*arrays, int(m), int(cap), float(mu_threshold), *options))
    f = fixed_cols.shape[1]
    order = np.arange(omega.size)  # the sums need no frequency order
    while m < cap:
        # the cap itself is always solved exactly; after a first block, smaller ones (the
        # cost grows with the cube of the largest M in a block)
        m_stop = min(m + (_SCREEN if m == FIRST_M else _SCREEN // 2), cap)
        ms = np.arange(m, m_stop)
        p = f + m_stop - 1
        # [fixed, rc]^T [fixed, rc] and [fixed, rc]^T b of every M, zero-padded
        gram, rhs = _grams(Design(omega, weight, b, fixed_cols, np.empty(0), order), ms)
        # unit-norm columns as in the exact solve: scale the Gram matrix, not the columns
        scale = np.sqrt(np.diagonal(gram, axis1=1, axis2=2))
        pad = scale == 0  # columns beyond this M
        scale = np.where(pad, 1.0, scale)
        gram /= scale[:, :, None] * scale[:, None, :]
        gram[:, np.arange(p), np.arange(p)] += pad  # padded columns decoupled: identity
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
