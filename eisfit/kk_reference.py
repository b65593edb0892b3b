"""The lower limit of M for `eisfit.kk`: does a tau grid resolve the data yet?

Schönleber's mu rule (Electrochim. Acta 131 (2014) 20) stops at the first M where
negative R_k appear, taking them for over-fitting.  Negative R_k also appear while the
grid is too coarse for the data (narrow, ideal RC arcs such as dummy cells), and mu can
then fall below the threshold at M = 3 with residuals far above the noise.  Yrjänä &
Bobacka (Electrochim. Acta 504 (2024) 144951) therefore bound M from below, where adding
time constants stops improving the fit.  `Reference` implements that bound against a
dense grid; `lower_limit` finds it by bisection.
"""

from __future__ import annotations

import numpy as np

from .kk_model import projection, rc_columns
from .kk_noise import is_structured, structure

__all__ = ["ALPHA_RESOLVED", "Z_SHIFT", "Reference", "lower_limit"]

ALPHA_RESOLVED = 0.01  # level of the F-test "M fits as well as the dense grid"
Z_SHIFT = 2.0  # structure score a fit may exceed the dense grid's by


class Reference:
    """Whether a fit at M resolves the data: the lower limit of M.

    Yrjänä & Bobacka (Electrochim. Acta 504 (2024) 144951) bound M from below where
    adding time constants stops improving the fit: below it, negative R_k can make mu
    fall under the threshold long before the grid resolves the data (narrow, ideal RC
    arcs: the known failure of the mu rule).  The reference is the fit on a dense grid,
    M_ref = `kk_model.DENSE_PER_DECADE` RC elements per decade (or the cap).  A fit is
    accepted when (1) an F-test at `ALPHA_RESOLVED` cannot tell its residual sum of
    squares from the reference's (the grids are nearly nested), and (2) its residuals
    are not structured (`eisfit.kk_noise.is_structured`), or no more than the
    reference's (by `Z_SHIFT`): structure that the dense grid removes is
    under-resolution, structure it keeps is in the data.
    """

    def __init__(
        self,
        omega: np.ndarray,
        weight: np.ndarray,
        b: np.ndarray,
        fixed_cols: np.ndarray,
        m: int,
    ) -> None:
        self.m = m
        self.order = np.argsort(omega)
        self._args = (omega, weight, b, fixed_cols)
        self._dense: tuple[np.ndarray, np.ndarray] | None = None
        self._z: float | None = None

    def fit(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(residual, orthonormal basis of the columns) of the fit with M RC elements."""
        omega, weight, b, fixed_cols = self._args
        return projection(np.hstack([fixed_cols, rc_columns(omega, m) * weight[:, None]]), b)

    def accepts(self, residual: np.ndarray, basis: np.ndarray, stats: tuple[float, ...]) -> bool:
        """Whether a fit (residual, basis, `structure` statistics) resolves the data."""
        from scipy.special import fdtri

        if self._dense is None:
            self._dense = self.fit(self.m)
        dense_residual, dense_basis = self._dense
        p_ref, p = dense_basis.shape[1], basis.shape[1]
        if p >= p_ref:
            return True
        rss_ref = float(dense_residual @ dense_residual)
        dof_ref = residual.size - p_ref
        if dof_ref > 0 and rss_ref > 0.0:
            f_value = (float(residual @ residual) - rss_ref) / (p_ref - p) / (rss_ref / dof_ref)
            if f_value > fdtri(p_ref - p, dof_ref, 1.0 - ALPHA_RESOLVED):
                return False
        if not is_structured(*stats):
            return True
        if self._z is None:
            self._z = structure(self.order, dense_residual, dense_basis)[2]
        return bool(stats[2] <= self._z + Z_SHIFT)


def lower_limit(m_start: int, reference: Reference) -> int:
    """The smallest M in [m_start, M_ref] that the reference accepts, by bisection.

    The fit improves as the grid gets denser, so the accepted M form (nearly) an upper
    interval; M_ref itself is always accepted.
    """
    lo, hi = m_start, reference.m
    while lo < hi:
        mid = (lo + hi) // 2
        residual, basis = reference.fit(mid)
        if reference.accepts(residual, basis, structure(reference.order, residual, basis)):
            hi = mid
        else:
            lo = mid + 1
    return lo
