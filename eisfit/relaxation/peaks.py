"""Peaks of a DRT: where they are, how large (area = resistance), how wide.

Rules (`find_peaks`):

* a peak is a local maximum of gamma on the output grid at least ``MIN_HEIGHT`` (5 %)
  of the largest value (inside the measured band when the caller says so) and with a
  prominence (height above the higher of the two
  minima that separate it from higher ground, the topographic definition used by
  scipy.signal.peak_prominences) of at least ``MIN_PROMINENCE`` (5 %) of the largest
  value: a ripple on the flank of a peak is not a peak of its own;
* its position is the maximum refined by a parabola through the three grid points
  around it (in ln tau): tau in s and f = 1 / (2 pi tau) in Hz;
* its resistance is the area of gamma over ln tau between the minima separating it from
  its neighbouring peaks (the lowest point between two retained peaks; the first and last
  peaks extend to the ends of the grid), so that the resistances add up to the total
  polarisation resistance; overlapping peaks share their overlap at that minimum;
* its width is the full width at half maximum in decades of tau, found by linear
  interpolation of the half-maximum crossings inside its own segment; when only one
  side crosses (a shoulder), twice that half-width; NaN when neither does.

The split overstates a small peak next to a large, broad one (it receives the large
peak's tail): on 50 synthetic two-arc spectra (bench/drt_bench.py set, noise-free),
arcs two decades apart with a tenfold resistance ratio came out 8-21 % too large.  A
decomposition into one Cole-Cole distribution per peak, fitted to gamma by least
squares, was tried and was worse on the same spectra (areas off by more than 5 % for 28
arcs of 100 against 16 for the split, noise-free; 30 against 28 at 1 % noise), because
a regularised peak is not Cole-Cole shaped; it was dropped.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_HEIGHT", "MIN_PROMINENCE", "DRTPeak", "find_peaks"]

MIN_HEIGHT = 0.05
MIN_PROMINENCE = 0.05
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class DRTPeak:
    """One peak of a DRT.

    ``tau_s``: time constant (s) at the maximum; ``frequency_hz`` = 1 / (2 pi tau);
    ``resistance_ohm``: area of the peak over ln tau; ``width_decades``: FWHM in
    log10 tau (NaN when undetermined); ``share``: fraction of the total polarisation
    resistance; ``height_ohm``: gamma at the maximum (ohm per unit ln tau).
    """

    tau_s: float
    frequency_hz: float
    resistance_ohm: float
    width_decades: float
    share: float
    height_ohm: float

    def to_dict(self) -> dict[str, float | None]:
        from .._util import finite_or_none

        return {
            "tau_s": finite_or_none(self.tau_s),
            "frequency_hz": finite_or_none(self.frequency_hz),
            "resistance_ohm": finite_or_none(self.resistance_ohm),
            "width_decades": finite_or_none(self.width_decades),
            "share": finite_or_none(self.share),
            "height_ohm": finite_or_none(self.height_ohm),
        }


def _maxima(gamma: np.ndarray) -> np.ndarray:
    """Indices of strict local maxima (plateaus: their first point)."""
    g = gamma
    up = np.concatenate([[True], g[1:] > g[:-1]])
    down = np.concatenate([g[:-1] > g[1:], [True]])
    flat_right = np.concatenate([g[:-1] == g[1:], [False]])
    idx = np.flatnonzero(up & (down | flat_right))
    # a plateau counts when the first lower point after it goes down
    keep = []
    for i in idx:
        j = i
        while j + 1 < g.size and g[j + 1] == g[i]:
            j += 1
        if j + 1 == g.size or g[j + 1] < g[i]:
            keep.append(i)
    return np.asarray(keep, dtype=int)


def _prominence(gamma: np.ndarray, i: int) -> float:
    g = gamma
    higher_left = np.flatnonzero(g[:i] > g[i])
    lo = higher_left[-1] if higher_left.size else 0
    higher_right = np.flatnonzero(g[i + 1 :] > g[i])
    hi = i + 1 + higher_right[0] if higher_right.size else g.size - 1
    base = max(float(np.min(g[lo : i + 1])), float(np.min(g[i : hi + 1])))
    return float(g[i] - base)


def _refine(ln_tau: np.ndarray, gamma: np.ndarray, i: int) -> float:
    if i == 0 or i == gamma.size - 1:
        return float(ln_tau[i])
    y0, y1, y2 = gamma[i - 1], gamma[i], gamma[i + 1]
    den = y0 - 2.0 * y1 + y2
    if den >= 0.0:
        return float(ln_tau[i])
    shift = 0.5 * (y0 - y2) / den
    h = ln_tau[i + 1] - ln_tau[i]
    return float(ln_tau[i] + max(-0.5, min(0.5, shift)) * h)


def _crossing(ln_tau: np.ndarray, gamma: np.ndarray, i: int, stop: int, half: float) -> float:
    """ln tau where gamma falls to ``half`` walking from ``i`` towards ``stop``; NaN if it
    does not within the segment."""
    step = 1 if stop > i else -1
    j = i
    while j != stop:
        k = j + step
        if gamma[k] <= half:
            t = (gamma[j] - half) / (gamma[j] - gamma[k])
            return float(ln_tau[j] + t * (ln_tau[k] - ln_tau[j]))
        j = k
    return math.nan


def find_peaks(
    ln_tau: np.ndarray, gamma: np.ndarray, *, top: float | None = None
) -> tuple[DRTPeak, ...]:
    """The peaks of ``gamma`` (ohm per unit ln tau) on the equally spaced ``ln_tau``
    grid, by the rules of the module docstring, in order of increasing tau.  ``top``: the
    value the height and prominence rules are fractions of (default: gamma's largest;
    `eisfit.relaxation.api` gives its largest inside the measured band)."""
    if gamma.size < 3 or not np.all(np.isfinite(gamma)):
        return ()
    top = float(np.max(gamma)) if top is None or not top > 0 else float(top)
    if top <= 0.0:
        return ()
    kept = [
        int(i)
        for i in _maxima(gamma)
        if gamma[i] >= MIN_HEIGHT * top and _prominence(gamma, int(i)) >= MIN_PROMINENCE * top
    ]
    if not kept:
        return ()
    bounds = [0]
    for a, b in itertools.pairwise(kept):
        bounds.append(a + int(np.argmin(gamma[a : b + 1])))
    bounds.append(gamma.size - 1)
    h = float(ln_tau[1] - ln_tau[0])
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (gamma[1:] + gamma[:-1]) * h)])
    total = float(cumulative[-1])
    peaks = []
    for n, i in enumerate(kept):
        lo, hi = bounds[n], bounds[n + 1]
        area = float(cumulative[hi] - cumulative[lo])
        half = 0.5 * float(gamma[i])
        left = _crossing(ln_tau, gamma, i, lo, half)
        right = _crossing(ln_tau, gamma, i, hi, half)
        centre = _refine(ln_tau, gamma, i)
        if math.isfinite(left) and math.isfinite(right):
            width = right - left
        elif math.isfinite(left):
            width = 2.0 * (centre - left)
        elif math.isfinite(right):
            width = 2.0 * (right - centre)
        else:
            width = math.nan
        tau = math.exp(centre)
        peaks.append(
            DRTPeak(
                tau_s=tau,
                frequency_hz=1.0 / (2.0 * math.pi * tau),
                resistance_ohm=area,
                width_decades=width / _LN10,
                share=area / total if total > 0 else math.nan,
                height_ohm=float(gamma[i]),
            )
        )
    return tuple(peaks)
