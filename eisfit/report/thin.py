"""Which points a spectrum figure draws: all of them, or an even subset of a long sweep.

Thinning is for drawing only: the fit, the lin-KK check and every number of the report
use every point.  Drawn as markers, every point of a 50,000-point spectrum made a 47 MB
report (issue 13), although no screen or page resolves more than a few hundred markers
per decade.  So a figure draws at most `MAX_DRAWN` points chosen evenly in log
frequency (for each of `MAX_DRAWN` log-spaced frequencies across the band, the nearest
point), and always the first and last points of the sweep and the points the caller
names (the points screening flagged, the largest residuals): nothing a reader must see
is thinned away.  `note` says what was drawn, in the figure itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["MAX_DRAWN", "drawn_points", "extremes", "note"]

MAX_DRAWN = 1000  # points drawn per curve at most, besides those always kept


def drawn_points(
    frequency_hz: np.ndarray, *, keep: Iterable[int] = (), max_points: int | None = None
) -> np.ndarray:
    """Indices of the points to draw, ascending (the spectrum's point order).

    Every point when there are at most ``max_points`` (default `MAX_DRAWN`); otherwise
    the point nearest each of ``max_points`` frequencies evenly spaced in log f, plus
    the first and last points and ``keep``.
    """
    limit = MAX_DRAWN if max_points is None else max(int(max_points), 2)
    f = np.asarray(frequency_hz, dtype=float)
    n = f.size
    if n <= limit:
        return np.arange(n)
    x = np.log10(f)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    targets = np.linspace(xs[0], xs[-1], limit)
    right = np.clip(np.searchsorted(xs, targets), 1, n - 1)
    nearer_left = (targets - xs[right - 1]) <= (xs[right] - targets)
    chosen = order[np.where(nearer_left, right - 1, right)]
    extra = np.fromiter((int(k) for k in keep), dtype=np.intp)
    extra = extra[(extra >= 0) & (extra < n)]
    return np.unique(np.concatenate([chosen, [0, n - 1], extra]))


def extremes(*series: np.ndarray) -> list[int]:
    """The index of the largest finite absolute value of each series (none if all NaN)."""
    out = []
    for values in series:
        magnitude = np.abs(np.asarray(values, dtype=float))
        if np.isfinite(magnitude).any():
            out.append(int(np.nanargmax(np.where(np.isfinite(magnitude), magnitude, np.nan))))
    return out


def note(drawn: int, total: int) -> str:
    """What a thinned figure says about itself, e.g. "drawn: 2,011 of 50,000 points ..."."""
    return (
        f"drawn: {drawn:,} of {total:,} points (evenly in log f; first, last, flagged "
        "and largest-residual points kept); all were fitted"
    )
