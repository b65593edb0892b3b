"""The lower limit of M for `eisfit.kk.linkk`: does a tau grid resolve the data yet?

Schönleber's mu rule (Electrochim. Acta 131 (2014) 20) stops at the first M where
negative R_k appear, taking them for over-fitting.  Negative R_k also appear while the
grid is too coarse for the data (narrow, ideal RC arcs such as dummy cells), and mu can
then fall below the threshold at M = 3 with residuals far above the noise.  Yrjänä &
Bobacka (Electrochim. Acta 504 (2024) 144951) therefore bound M from below, where adding
time constants stops improving the fit.  `Reference` implements that bound against a
dense grid; `lower_limit` finds it by bisection.

Decisions from estimates.  The reference returns decisions only, no number.  When the
compiled projection is available (`eisfit.kk.compiled`), the fits it needs (the dense
grid, the bisection's trial M) are estimated compiled, and a decision is taken from
the estimates when every comparison clears its threshold by far more than the estimates
can be off: residual sums of squares by `RSS_SLACK` (relative), structure scores by
`Z_SLACK` (relative to 1 + |z|).  The compiled and numpy projections differ by at most
1e-12 in the sums of squares and 7e-12 in z over 654 projections of 375 real and
synthetic spectra (up to the dense grid), so the margins hold five orders of magnitude
in reserve.  Anything closer is decided by the exact numpy fits, as without the
estimates: the decisions, and with them M, are those of the numpy path.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import compiled
from .design import CHUNK_POINTS, Design, Projection, Solution, project
from .noise import NOISE_FLOOR, Z_STRUCTURE, is_structured, structure_from_sums

__all__ = ["ALPHA_RESOLVED", "RSS_SLACK", "Z_SHIFT", "Z_SLACK", "Reference", "lower_limit"]

ALPHA_RESOLVED = 0.01  # level of the F-test "M fits as well as the dense grid"
Z_SHIFT = 2.0  # structure score a fit may exceed the dense grid's by
RSS_SLACK = 1e-7  # relative error allowed to an estimated residual sum of squares
Z_SLACK = 1e-6  # error allowed to an estimated structure score, relative to 1 + |z|

Stats = tuple[float, float, float]


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
        whole = design.n <= (design.chunk_points or CHUNK_POINTS)
        self._kernel = compiled.projection() if whole else None
        self._dense_estimate: tuple[float, Stats] | None = None

    def fit(self, m: int) -> Projection:
        """The fit with M RC columns (and every fixed column of the design)."""
        return project(self._design.with_columns(self._design.fixed, m))

    def accepts(self, solution: Solution | Projection) -> bool:
        """Whether a fit (its residual, rank and `structure` statistics) resolves the data."""
        if self._kernel is not None:
            dense_rss, dense_stats = self._estimated_dense()
            decided = _decision(
                solution.rank, self._p_ref, 2 * self._design.n,
                float(solution.residual @ solution.residual), lambda: solution.stats,
                dense_rss, lambda: dense_stats, estimated=True,
            )  # fmt: skip
            if decided is not None:
                return decided
        return self._accepts_exactly(solution)

    def accepts_m(self, m: int) -> bool:
        """``accepts(fit(m))``, from the estimated fit when it decides clearly."""
        if self._kernel is not None:
            rss, stats = self._estimate(m)
            dense_rss, dense_stats = self._estimated_dense()
            decided = _decision(
                self._design.fixed.shape[1] + m, self._p_ref, 2 * self._design.n, rss,
                lambda: stats, dense_rss, lambda: dense_stats, estimated=True,
            )  # fmt: skip
            if decided is not None:
                return decided
        return self.accepts(self.fit(m))

    @property
    def _p_ref(self) -> int:
        return self._design.fixed.shape[1] + self.m  # a QR projection keeps every column

    def _accepts_exactly(self, solution: Solution | Projection) -> bool:
        if self._dense is None:
            self._dense = self.fit(self.m)
        dense = self._dense
        decided = _decision(
            solution.rank, dense.rank, solution.residual.size,
            float(solution.residual @ solution.residual), lambda: solution.stats,
            float(dense.residual @ dense.residual), lambda: dense.stats, estimated=False,
        )  # fmt: skip
        assert decided is not None  # exact numbers always decide
        return decided

    def _estimate(self, m: int) -> tuple[float, Stats]:
        """(residual sum of squares, structure statistics) of the fit at M, compiled."""
        d = self._design
        sums = self._kernel(d.omega, d.weight, d.b, d.fixed, d.order, m)
        p = d.fixed.shape[1] + m
        return float(sums[0]), structure_from_sums(d.n, p, *(float(x) for x in sums))

    def _estimated_dense(self) -> tuple[float, Stats]:
        if self._dense_estimate is None:
            self._dense_estimate = self._estimate(self.m)
        return self._dense_estimate


def lower_limit(m_start: int, reference: Reference) -> int:
    """The smallest M in [m_start, M_ref] that the reference accepts, by bisection.

    The fit improves as the grid gets denser, so the accepted M form (nearly) an upper
    interval; M_ref itself is always accepted.
    """
    lo, hi = m_start, reference.m
    while lo < hi:
        mid = (lo + hi) // 2
        if reference.accepts_m(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _decision(
    p: int,
    p_ref: int,
    n_rows: int,
    rss: float,
    stats: Callable[[], Stats],
    rss_ref: float,
    dense_stats: Callable[[], Stats],
    *,
    estimated: bool,
) -> bool | None:
    """`Reference.accepts` on a fit of rank ``p`` and the reference of rank ``p_ref``;
    ``stats`` are computed only when the F-test passes.  With ``estimated`` numbers, None
    when a comparison is too close to call within `RSS_SLACK` / `Z_SLACK`."""
    from scipy.special import fdtri

    if p >= p_ref:
        return True
    dof_ref = n_rows - p_ref
    if estimated and not (rss_ref > 0.0 and math.isfinite(rss) and math.isfinite(rss_ref)):
        return None
    if dof_ref > 0 and rss_ref > 0.0:
        f_value = (rss - rss_ref) / (p_ref - p) / (rss_ref / dof_ref)
        critical = fdtri(p_ref - p, dof_ref, 1.0 - ALPHA_RESOLVED)
        margin = 0.0
        if estimated:
            margin = RSS_SLACK * (abs(rss) + abs(rss_ref)) / (p_ref - p) / (rss_ref / dof_ref)
        if f_value > critical + margin:
            return False
        if f_value > critical - margin:
            return None
    own = stats()
    structured = _structured(*own, estimated=estimated)
    if structured is None:
        return None
    if not structured:
        return True
    z, z_ref = own[2], dense_stats()[2]
    if not estimated:
        return bool(z <= z_ref + Z_SHIFT)
    if not (_plausible(z) and _plausible(z_ref)):
        return None
    if abs(z - z_ref - Z_SHIFT) <= Z_SLACK * (2.0 + abs(z) + abs(z_ref)):
        return None
    return bool(z <= z_ref + Z_SHIFT)


def _structured(s_r: float, s_d: float, z: float, *, estimated: bool) -> bool | None:
    """`eisfit.kk.noise.is_structured`; with ``estimated`` numbers None when too close."""
    if not estimated:
        return is_structured(s_r, s_d, z)
    if not (math.isfinite(s_r) and math.isfinite(s_d) and _plausible(z)):
        return None
    if abs(z - Z_STRUCTURE) <= Z_SLACK * (1.0 + abs(z)):
        return None
    excess2 = s_r**2 - s_d**2
    if abs(excess2 - NOISE_FLOOR**2) <= 2.0 * RSS_SLACK * (s_r**2 + s_d**2):
        return None
    return is_structured(s_r, s_d, z)


def _plausible(z: float) -> bool:
    """An estimated structure score far from where its exact value could be NaN: finite
    and below `_Z_PLAUSIBLE` in size (a score beyond it means a variance near zero,
    where the exact computation may give NaN instead)."""
    return math.isfinite(z) and abs(z) < _Z_PLAUSIBLE


_Z_PLAUSIBLE = 1e3
