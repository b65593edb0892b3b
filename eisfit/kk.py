"""Kramers-Kronig validity check of a spectrum by the lin-KK test.

Method (Schönleber, Klotz, Ivers-Tiffée, "A Method for Improving the Robustness of
linear Kramers-Kronig Validity Tests", Electrochim. Acta 131 (2014) 20-27,
doi:10.1016/j.electacta.2014.01.034, after Boukamp, J. Electrochem. Soc. 142 (1995) 1885):
the spectrum is fitted by a model that satisfies the Kramers-Kronig relations by
construction,

    Z_KK(omega) = R0 + j omega L + sum_k R_k / (1 + j omega tau_k),   k = 1..M,

with the M time constants fixed on a logarithmic grid from tau_1 = 1/omega_max to
tau_M = 1/omega_min.  Only R0, L (optional) and the R_k are free, so the fit is linear:
one least-squares solve of the real and imaginary parts stacked together, every row
weighted by 1/|Z|.  Data that a KK-compliant model reproduces to within the noise are
called consistent; drift, non-linearity or instrument artefacts leave residuals.

Choosing M.  Too few RC elements under-fit (systematic residuals even on good data), too
many over-fit (they chase the noise, and some R_k turn negative).  Schönleber's

    mu = 1 - sum_{R_k < 0} |R_k| / sum_{R_k >= 0} |R_k|

is 1 while every R_k is positive and falls once over-fitting sets in; M grows from 2
(the smallest M for which the grid above is defined) until mu < mu_threshold (0.85 is
the paper's heuristic, also impedance.py's default).
M is capped at ``max_rc``; by default one RC element per measured point, so the tau grid
is never denser than the frequency grid (impedance.py uses a fixed cap of 50).  The search
result is that of solving every M in turn, but an M whose mu a cheap block solve (normal
equations, with a bound on its error) places at or above the threshold is not solved
exactly: it could not have stopped the search.  RC columns are cached per frequency grid.

Verdict.  ``residuals_real/imag`` are (Z_data - Z_KK)/|Z| at the chosen M, and the
spectrum is called consistent when the largest of them is below ``residual_limit``
(default 2 % of |Z|; it should sit a few times above the noise level of the data).
mu only selects M, as in the paper: if it never falls below the threshold up to the cap,
no over-fitting was seen and the fit at the cap is judged by its residuals alone.  Noisy
or drifting data give ``valid=False``, never an exception.  Known limit of the method: a
spectrum made of ideal, narrow (Debye) arcs can push mu below the threshold before the
grid resolves them, giving a false "not consistent"; broad (CPE-like) arcs, as in real
cells, are much less prone to it.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .errors import FitInputError, SpectrumError
from .spectrum import Spectrum

__all__ = ["KKResult", "kk_check"]

MIN_POINTS = 5
_FIRST_M = 2  # the paper's tau grid (tau_1 = 1/omega_max, tau_M = 1/omega_min) needs M >= 2


@dataclass(frozen=True)
class KKResult:
    """Outcome of a lin-KK test; arrays are read-only and in the spectrum's point order."""

    valid: bool  # max_residual < residual_limit at the chosen M
    mu: float  # Schönleber's mu at the chosen M
    n_rc: int  # M, the number of RC elements used
    mu_threshold: float
    residual_limit: float  # fraction of |Z|
    max_residual: float  # max |residual| over points, real and imaginary, fraction of |Z|
    residuals_real: np.ndarray = field(repr=False)  # (Z'_data - Z'_KK) / |Z|
    residuals_imag: np.ndarray = field(repr=False)  # (Z''_data - Z''_KK) / |Z|
    message: str  # one sentence for logs and reports

    def to_dict(self, *, residuals: bool = False) -> dict[str, Any]:
        """A JSON-serialisable summary; residual arrays as lists only if ``residuals``."""
        out: dict[str, Any] = {
            "method": "lin-KK (Schoenleber 2014)",
            "valid": bool(self.valid),
            "mu": _finite_or_none(self.mu),
            "n_rc": int(self.n_rc),
            "mu_reached": bool(self.mu < self.mu_threshold),
            "mu_threshold": _finite_or_none(self.mu_threshold),
            "residual_limit": float(self.residual_limit),
            "max_residual": _finite_or_none(self.max_residual),
            "message": self.message,
        }
        if residuals:
            out["residuals_real"] = [float(v) for v in self.residuals_real]
            out["residuals_imag"] = [float(v) for v in self.residuals_imag]
        return out


def kk_check(
    spectrum: Spectrum,
    *,
    mu_threshold: float = 0.85,
    residual_limit: float = 0.02,
    max_rc: int | None = None,
    with_inductance: bool = True,
) -> KKResult:
    """Run the lin-KK test on ``spectrum`` and say whether it is KK-consistent.

    Raises `SpectrumError` for fewer than 5 points or a point with Z = 0, and
    `FitInputError` for options that cannot work; anything else returns a `KKResult`.
    """
    where = f" ({spectrum.meta.source})" if spectrum.meta.source else ""
    n = len(spectrum)
    if n < MIN_POINTS:
        raise SpectrumError(f"lin-KK needs at least {MIN_POINTS} points, got {n}{where}")
    if not 0.0 < residual_limit < math.inf:
        raise FitInputError(f"residual_limit must be a positive fraction, got {residual_limit}")
    if not mu_threshold <= 1.0:
        raise FitInputError(f"mu_threshold must be <= 1, got {mu_threshold}")
    n_extra = 2 if with_inductance else 1
    try:
        cap = n if max_rc is None else operator.index(max_rc)
    except TypeError:
        raise FitInputError(f"max_rc must be an integer, got {max_rc!r}") from None
    if not _FIRST_M <= cap <= 2 * n - n_extra:
        raise FitInputError(
            f"max_rc must be between {_FIRST_M} and {2 * n - n_extra} for {n} points, got {cap}"
        )

    omega = spectrum.angular_frequency
    z = spectrum.impedance_ohm
    mod = np.abs(z)
    zero = np.flatnonzero(mod == 0)
    if zero.size:
        raise SpectrumError(f"lin-KK needs |Z| > 0{where}: point {zero[0]} has Z = 0")
    weight = np.concatenate([1.0 / mod, 1.0 / mod])  # rows: real parts, then imaginary parts
    b = np.concatenate([z.real, z.imag]) * weight
    # Columns that do not depend on M: R0 (real only) and L (imaginary only).
    fixed = [np.concatenate([1.0 / mod, np.zeros(n)])]
    if with_inductance:
        fixed.append(np.concatenate([np.zeros(n), omega / mod]))
    fixed_cols = np.column_stack(fixed)

    m = _FIRST_M
    while True:
        # M values whose mu is certainly >= mu_threshold are skipped: they cannot stop the
        # search, so only the M that stops it (or the cap) needs the exact solve
        m = _skip_certain(omega, weight, b, fixed_cols, m, cap, mu_threshold)
        z_kk, r_k = _fit(omega, weight, b, fixed_cols, _rc_columns(omega, m))
        mu = _mu(r_k)
        if mu < mu_threshold or m >= cap:
            break
        m += 1
    mu_reached = mu < mu_threshold

    rel = (z - z_kk) / mod
    res_re, res_im = _readonly(rel.real), _readonly(rel.imag)
    max_res = float(max(np.abs(res_re).max(), np.abs(res_im).max()))
    valid = max_res < residual_limit
    cap_note = "" if mu_reached else f" (cap; mu never < {mu_threshold:g})"
    verdict = "consistent" if valid else f"not consistent (limit {100 * residual_limit:g} %)"
    message = (
        f"lin-KK{where}: M={m}{cap_note}, mu={mu:.2f}, "
        f"max residual {100 * max_res:.2g} % -> {verdict}"
    )
    return KKResult(
        valid=valid,
        mu=float(mu),
        n_rc=m,
        mu_threshold=float(mu_threshold),
        residual_limit=float(residual_limit),
        max_residual=max_res,
        residuals_real=res_re,
        residuals_imag=res_im,
        message=message,
    )


def _fit(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed_cols: np.ndarray,
    kernel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted linear least squares for one tau grid: (Z_KK at omega, R_k).

    ``kernel`` holds the unweighted RC columns, real parts stacked over imaginary parts.
    """
    rc_cols = kernel * weight[:, None]
    a = np.hstack([fixed_cols, rc_cols])
    # Unit-norm columns: the L column (omega/|Z|) can be ~1e6 times the others, which
    # would otherwise distort the rank decision of the SVD-based solver.
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0
    coef = np.linalg.lstsq(a / scale, b, rcond=None)[0] / scale
    n = omega.size
    fitted = (a @ coef) / weight
    z_kk = fitted[:n] + 1j * fitted[n:]
    return z_kk, coef[fixed_cols.shape[1] :]


@lru_cache(maxsize=128)
def _rc_columns_cached(omega_bytes: bytes, m: int) -> np.ndarray:
    omega = np.frombuffer(omega_bytes)
    tau = np.exp(np.linspace(-math.log(omega.max()), -math.log(omega.min()), m))
    kernel = 1.0 / (1.0 + 1j * np.outer(omega, tau))  # N x M, response of unit-R RC elements
    out = np.concatenate([kernel.real, kernel.imag])
    out.setflags(write=False)
    return out


def _rc_columns(omega: np.ndarray, m: int) -> np.ndarray:
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


def _skip_certain(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed_cols: np.ndarray,
    m: int,
    cap: int,
    mu_threshold: float,
) -> int:
    """The first M from ``m`` on (at most ``cap``) whose mu is not certainly >= mu_threshold.

    The exact fit of every M is an SVD least-squares solve (`_fit`), most of the cost of
    the test.  Here blocks of M values are solved together through the normal equations
    of the same unit-norm columns, and an M is certified when mu stays >= mu_threshold
    under a bound on the error of that cheaper solve: |dx| <= safety * kappa * eps * |x|,
    kappa a bound on the condition number of the Gram matrix (trace times the Frobenius
    norm of its inverse; kappa**0.5 bounds that of the columns, so the exact solve is far
    from its rank cutoff).  A certified M could not have stopped the search, so skipping
    it gives the same M and mu as solving every M exactly.
    """
    f = fixed_cols.shape[1]
    key = np.ascontiguousarray(omega, dtype=float).tobytes()
    while m < cap:
        # the cap itself is always solved exactly; after a first block, smaller ones (the
        # cost grows with the cube of the largest M in a block)
        m_stop = min(m + (_SCREEN if m == _FIRST_M else _SCREEN // 2), cap)
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


def _mu(r_k: np.ndarray) -> float:
    """Schönleber's mu (eq. 21): 1 - (negative resistor mass) / (positive resistor mass)."""
    neg = float(-r_k[r_k < 0].sum())
    pos = float(r_k[r_k >= 0].sum())
    if pos == 0.0:
        return 1.0 if neg == 0.0 else -math.inf
    return 1.0 - neg / pos


def _readonly(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out.setflags(write=False)
    return out


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
