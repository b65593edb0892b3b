"""Gaussian radial basis functions on a log-tau grid, their RC-kernel integrals and the
derivative penalty: the linear algebra behind `eisfit.drt.drt`.

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
through ln(omega tau_m).  The integral is computed by Gauss-Hermite quadrature
(``_HERMITE_NODES`` nodes: the Gaussian is about four times narrower than the kernel, so
the rule is exact to ~1e-12, checked against adaptive quadrature in tests/test_drt.py),
vectorised over all (frequency, centre) pairs and cached per (frequencies, grid): this is
where the speed comes from (a 71 x 120 kernel in well under a millisecond).

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
    nodes, weights = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
    # s[n, m, k] = ln(omega_n tau_m) + node_k / eps
    s = (np.log(omega)[:, None] + ln_tau[None, :])[:, :, None] + (nodes / eps)[None, None, :]
    w = weights / eps
    k_re = (0.5 * (1.0 - np.tanh(s))) @ w
    k_im = -(0.5 / np.cosh(np.clip(s, -700.0, 700.0))) @ w
    # no subnormal numbers: they make every later product (SVD, NNLS) ~50x slower
    k_re[np.abs(k_re) < _TINY] = 0.0
    k_im[np.abs(k_im) < _TINY] = 0.0
    k_re.setflags(write=False)
    k_im.setflags(write=False)
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
