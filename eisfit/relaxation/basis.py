"""Gaussian radial basis functions on a log-tau grid, their RC-kernel integrals and the
derivative penalty: the linear algebra behind `eisfit.relaxation.drt`.

Convention.  gamma(y), y = ln(tau / 1 s), is in ohm per unit ln tau, so that

    Z(omega) = R_inf + j omega L + integral gamma(y) / (1 + j omega e^y) dy

and the area of a peak of gamma over ln tau is its resistance in ohm (an RC element
R || C is R times a delta function at ln(RC)).  gamma is expanded as
gamma(y) = sum_m x_m phi(y - y_m), phi(u) = exp(-(eps u)^2), with the centres y_m equally
spaced in ln tau (Wan, Saccoccio, Chen & Ciucci, Electrochim. Acta 184 (2015) 483,
sec. 2: the radial-basis discretisation of the DRT; Ciucci & Chen, Electrochim. Acta 167
(2015) 439 for the Gaussian form).  The area of one basis function is sqrt(pi) / eps.

Kernel integrals.  With s = ln(omega tau_m) + u, the real and imaginary parts of
1 / (1 + j e^s) are (1 - tanh s) / 2 and -1 / (2 cosh s); each matrix element is the
integral of one of them against the Gaussian, which depends on omega and tau_m only
through ln(omega tau_m).  That function of one variable is computed once per Gaussian
shape by Gauss-Hermite quadrature (``_HERMITE_NODES`` nodes: the Gaussian is about four
times narrower than the kernel, so the rule is exact to ~1e-12) on a fine grid of s with
its derivative, and every matrix element is a cubic Hermite interpolation in that table
(`_table`; checked against adaptive quadrature in tests/test_drt.py); matrices are also
cached per (frequencies, grid).  This is where the speed comes from: a 401 x 72 kernel
took 620 ms by direct quadrature per element pair, it takes about a millisecond.

Penalty.  The Tikhonov term is lambda * integral (d^k gamma / dy^k)^2 dy = lambda x^T P x
(Wan et al. 2015, eq. 15-18).  For Gaussians the Gram matrix of the k-th derivatives is
closed form: with C(d) = integral phi(y) phi(y + d) dy = sqrt(pi / 2) / eps *
exp(-eps^2 d^2 / 2), P_ij = (-1)^k C^(2k)(d_ij), d_ij = y_i - y_j.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Grid", "gamma_on", "kernel", "make_grid", "penalty"]

_HERMITE_NODES = 24
_CACHE_SIZE = 64
_TINY = 1e-150  # kernel values below this are set to 0 (far below double rounding of O(1))
_MAX_EXPONENT = 300.0  # exp(-300) ~ 1e-130: the Gaussian is 0 beyond
_S_MAX = 40.0  # |ln(omega tau)| beyond which the kernel is its limit (e^-40 ~ 4e-18)
_S_STEP = 0.01


@dataclass(frozen=True)
class Grid:
    """The basis: centres ``ln_tau`` (ln of tau in s, ascending, equally spaced) and the
    Gaussian shape ``eps`` (1 / unit ln tau)."""

    ln_tau: np.ndarray
    eps: float

    @property
    def spacing(self) -> float:
        """Distance between neighbouring centres in ln tau."""
        return float(self.ln_tau[1] - self.ln_tau[0])

    @property
    def area(self) -> float:
        """Area of one basis function over ln tau (ohm per unit coefficient)."""
        return math.sqrt(math.pi) / self.eps


def make_grid(
    frequency_hz: np.ndarray,
    *,
    per_decade: float,
    extend_decades: float,
    fwhm_spacings: float,
) -> Grid:
    """Centres from tau = 1 / (2 pi f_max) / 10^extend to 1 / (2 pi f_min) * 10^extend.

    ``per_decade``: centres per decade of tau; ``extend_decades``: how far the grid
    reaches beyond the measured band on each side (so that an arc cut by the band edge
    keeps its peak); ``fwhm_spacings``: full width at half maximum of each Gaussian in
    units of the centre spacing.
    """
    tau_low = 1.0 / (2.0 * math.pi * float(np.max(frequency_hz)))
    tau_high = 1.0 / (2.0 * math.pi * float(np.min(frequency_hz)))
    lo = math.log10(tau_low) - extend_decades
    hi = math.log10(tau_high) + extend_decades
    count = max(math.ceil((hi - lo) * per_decade) + 1, 3)
    ln_tau = np.linspace(lo, hi, count) * math.log(10.0)
    ln_tau.setflags(write=False)
    spacing = float(ln_tau[1] - ln_tau[0])
    eps = 2.0 * math.sqrt(math.log(2.0)) / (fwhm_spacings * spacing)
    return Grid(ln_tau, eps)


def kernel(omega: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(K_re, K_im), each len(omega) x len(grid.ln_tau): the real and imaginary parts of
    the impedance of each basis function with unit coefficient, in ohm (read-only)."""
    return _cached_kernel(
        np.ascontiguousarray(omega, float).tobytes(), grid.ln_tau.tobytes(), grid.eps
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _cached_kernel(
    omega_bytes: bytes, ln_tau_bytes: bytes, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    omega = np.frombuffer(omega_bytes)
    ln_tau = np.frombuffer(ln_tau_bytes)
    s = np.log(omega)[:, None] + ln_tau[None, :]
    k_re, k_im = _interpolate(s, *_table(eps))
    # no subnormal numbers: they make every later product (SVD, NNLS) ~50x slower
    k_re[np.abs(k_re) < _TINY] = 0.0
    k_im[np.abs(k_im) < _TINY] = 0.0
    k_re.setflags(write=False)
    k_im.setflags(write=False)
    return k_re, k_im


def _quadrature(s: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    """Kernel integrals and their derivatives in s at the points ``s`` (1-D), by
    Gauss-Hermite quadrature: (re, d re/ds, im, d im/ds)."""
    nodes, weights = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
    t = s[:, None] + (nodes / eps)[None, :]
    w = weights / eps
    sech = 1.0 / np.cosh(np.clip(t, -700.0, 700.0))
    re = (0.5 * (1.0 - np.tanh(t))) @ w
    d_re = (-0.5 * sech * sech) @ w
    im = (-0.5 * sech) @ w
    d_im = (0.5 * np.tanh(t) * sech) @ w
    return re, d_re, im, d_im


@lru_cache(maxsize=4)
def _table(eps: float) -> tuple[np.ndarray, ...]:
    """The kernel integrals depend on omega and tau_m only through s = ln(omega tau_m):
    tabulated once per Gaussian shape on s in [-_S_MAX, _S_MAX], step `_S_STEP`, with
    their derivatives for cubic Hermite interpolation (error ~ step^4 / 384 times the
    fourth derivative: below 1e-10 of the basis function's area)."""
    s = np.arange(-_S_MAX, _S_MAX + _S_STEP / 2, _S_STEP)
    return (s, *_quadrature(s, eps))


def _interpolate(
    s: np.ndarray, grid: np.ndarray, re: np.ndarray, d_re: np.ndarray, im: np.ndarray,
    d_im: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Cubic Hermite interpolation of the tables at ``s``; beyond the table the kernel is
    the basis area (real part, omega tau -> 0) or 0."""
    h = _S_STEP
    u = (np.clip(s, grid[0], grid[-1]) - grid[0]) / h
    i = np.minimum(u.astype(int), grid.size - 2)
    t = u - i
    t2, t3 = t * t, t * t * t
    h00, h10 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t
    h01, h11 = -2 * t3 + 3 * t2, t3 - t2
    out = []
    for values, slopes in ((re, d_re), (im, d_im)):
        out.append(h00 * values[i] + h10 * h * slopes[i]
                   + h01 * values[i + 1] + h11 * h * slopes[i + 1])  # fmt: skip
    k_re, k_im = out
    k_re[s < grid[0]] = re[0]
    k_re[s > grid[-1]] = 0.0
    k_im[(s < grid[0]) | (s > grid[-1])] = 0.0
    return k_re, k_im


def penalty(grid: Grid, order: int) -> np.ndarray:
    """P with x^T P x = integral (d^order gamma / d ln tau^order)^2 d ln tau (order 0, 1
    or 2); closed form for Gaussians (module docstring)."""
    d = grid.ln_tau[:, None] - grid.ln_tau[None, :]
    b = grid.eps**2 / 2.0
    c = math.sqrt(math.pi / 2.0) / grid.eps * np.exp(-b * d * d)
    if order == 0:
        return c
    if order == 1:  # -C''(d)
        return c * (2.0 * b - 4.0 * b * b * d * d)
    if order == 2:  # C''''(d)
        d2 = d * d
        return c * (16.0 * b**4 * d2 * d2 - 48.0 * b**3 * d2 + 12.0 * b * b)
    raise ValueError(f"penalty order must be 0, 1 or 2, got {order}")


def gamma_on(ln_tau: np.ndarray, grid: Grid, coefficients: np.ndarray) -> np.ndarray:
    """gamma (ohm per unit ln tau) at ``ln_tau`` from the basis coefficients."""
    return basis_matrix(ln_tau, grid) @ coefficients


def basis_matrix(ln_tau: np.ndarray, grid: Grid) -> np.ndarray:
    """Phi[i, m] = phi(ln_tau_i - y_m)."""
    u = grid.eps * (ln_tau[:, None] - grid.ln_tau[None, :])
    u2 = u * u
    return np.where(u2 < _MAX_EXPONENT, np.exp(-np.minimum(u2, _MAX_EXPONENT)), 0.0)
