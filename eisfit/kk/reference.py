"""The lower limit of M for `eisfit.kk.linkk`: does a tau grid resolve the data yet?

Schönleber's mu rule (Electrochim. Acta 131 (2014) 20) stops at the first M where
negative R_k appear, taking them for over-fitting.  Negative R_k also appear while the
grid is too coarse for the data (narrow, ideal RC arcs such as dummy cells), and mu can
then fall below the threshold at M = 3 with residuals far above the noise.  Yrjänä &
Bobacka (Electrochim. Acta 504 (2024) 144951) therefore bound M from below, where adding
time constants stops improving the fit.  `Reference` implements that bound against a
dense grid; `lower_limit` finds it by bisection.
"""

from __future__ import annotations

from .design import Design, Projection, Solution, project
from .noise import is_structured

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
    are not structured (`eisfit.kk.noise.is_structured`), or no more than the
    reference's (by `Z_SHIFT`): structure that the dense grid removes is
    under-resolution, structure it keeps is in the data.
    """

    def __init__(self, design: Design, m: int) -> None:
        self.m = m
        self._design = design
        self._dense: Projection | None = None

    def fit(self, m: int) -> Projection:
        """The fit with M RC elements (and every fixed column of the design)."""
        return project(self._design.with_columns(self._design.fixed, m))

    def accepts(self, solution: Solution | Projection) -> bool:
        """Whether a fit (its residual, rank and `structure` statistics) resolves the data."""
        from scipy.special import fdtri

        if self._dense is None:
            self._dense = self.fit(self.m)
        dense = self._dense
        p_ref, p = dense.rank, solution.rank
        if p >= p_ref:
            return True
        residual = solution.residual
        rss_ref = float(dense.residual @ dense.residual)
        dof_ref = residual.size - p_ref
        if dof_ref > 0 and rss_ref > 0.0:
            f_value = (float(residual @ residual) - rss_ref) / (p_ref - p) / (rss_ref / dof_ref)
            if f_value > fdtri(p_ref - p, dof_ref, 1.0 - ALPHA_RESOLVED):
                return False
        if not is_structured(*solution.stats):
            return True
        return bool(solution.stats[2] <= dense.stats[2] + Z_SHIFT)


def lower_limit(m_start: int, reference: Reference) -> int:
    """The smallest M in [m_start, M_ref] that the reference accepts, by bisection.

    The fit improves as the grid gets denser, so the accepted M form (nearly) an upper
    interval; M_ref itself is always accepted.
    """
    lo, hi = m_start, reference.m
    while lo < hi:
        mid = (lo + hi) // 2
        if reference.accepts(reference.fit(mid)):
            hi = mid
        else:
            lo = mid + 1
    return lo
