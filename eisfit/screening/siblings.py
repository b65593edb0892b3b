"""Siblings in screening: a spectrum much shorter than the others of its file or run.

`sibling_bands` gives, for every spectrum of a group, what the others typically cover
(leave-one-out medians of their band edges and point counts); `truncation` turns that
into the ``truncated`` finding of `eisfit.screening.screen`, naming the part of the band that
is missing.  A partial sweep fitted as if it were whole biased the SOLI resistance by
85 % and raised a false jump at t = 0 (issue 12).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..spectrum import Finding, Spectrum, format_hz

__all__ = ["MISSING_DECADES", "SHORT_FRACTION", "SiblingBand", "sibling_bands", "truncation"]

#: a sibling band reaching this many decades further counts as missing here
MISSING_DECADES = 0.5
#: a spectrum with fewer points than this fraction of its typical sibling is truncated
SHORT_FRACTION = 0.6


@dataclass(frozen=True)
class SiblingBand:
    """What a spectrum's siblings typically cover: the medians of their lowest and highest
    log10 frequency and of their number of points, over ``count`` siblings."""

    log_low: float
    log_high: float
    points: float
    count: int


def sibling_bands(spectra: Sequence[Spectrum]) -> list[SiblingBand | None]:
    """For every spectrum, the `SiblingBand` of all the others (None without others).

    Leave-one-out medians from one sort per statistic, so a cell of thousands of spectra
    costs no more than reading their bands.
    """
    n = len(spectra)
    if n < 2:
        return [None] * n
    lows = np.log10([float(s.frequency_hz.min()) for s in spectra])
    highs = np.log10([float(s.frequency_hz.max()) for s in spectra])
    counts = np.array([len(s) for s in spectra], dtype=float)
    med = [_loo_median(v) for v in (lows, highs, counts)]
    return [SiblingBand(float(a), float(b), float(c), n - 1) for a, b, c in zip(*med, strict=True)]


def _loo_median(values: np.ndarray) -> np.ndarray:
    """The median of ``values`` without element i, for every i."""
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    rank = np.empty(values.size, dtype=int)
    rank[order] = np.arange(values.size)
    m = values.size - 1  # elements left

    def kth(k: np.ndarray) -> np.ndarray:  # k-th smallest of the rest (0-based)
        return ranked[k + (k >= rank)]

    if m % 2:
        return kth(np.full(values.size, m // 2))
    return 0.5 * (kth(np.full(values.size, m // 2 - 1)) + kth(np.full(values.size, m // 2)))


def truncation(spectrum: Spectrum, band: SiblingBand) -> Finding | None:
    """The truncated finding, or None (see module docstring)."""
    low, high, typical, n_siblings = band.log_low, band.log_high, band.points, band.count
    own_low = math.log10(spectrum.frequency_hz.min())
    own_high = math.log10(spectrum.frequency_hz.max())
    band = max(high - low, 1e-9)
    missing = []
    if own_low - low > MISSING_DECADES:
        missing.append(
            f"the low-frequency {_share((own_low - low) / band)}, below"
            f" {format_hz(10**own_low)}, is missing ({own_low - low:.1f} of {band:.1f} decades)"
        )
    if high - own_high > MISSING_DECADES:
        missing.append(
            f"the high-frequency {_share((high - own_high) / band)}, above"
            f" {format_hz(10**own_high)}, is missing ({high - own_high:.1f} of {band:.1f}"
            " decades)"
        )
    short = len(spectrum) < SHORT_FRACTION * typical
    if not missing and not short:
        return None
    text = (
        f"{len(spectrum)} points over {format_hz(10**own_low)} - {format_hz(10**own_high)},"
        f" while its {n_siblings} sibling{'s' if n_siblings > 1 else ''} typically hold"
        f" {typical:.0f} points over {format_hz(10**low)} - {format_hz(10**high)}"
    )
    text += ": " + "; ".join(missing) if missing else ": much shorter than its siblings"
    text += " (an aborted or partial sweep?); compare it with care and keep it out of trends"
    return Finding("truncated", text)


def _share(fraction: float) -> str:
    return "half" if 0.4 <= fraction <= 0.6 else "part"
