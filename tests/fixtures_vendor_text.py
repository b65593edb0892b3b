"""Synthetic spectra for the tests of the ZView, Autolab, Princeton, CHI and .P00 readers.

Format writers live in each test module; fuzzing, the real-data MANIFEST and the peer
readers in `reader_checks`.
"""

from __future__ import annotations

import numpy as np

from eisfit import Spectrum
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))


def sample(
    seed: int = 0, n_points: int = 25, *, f_max: float = 1e6, f_min: float = 0.1
) -> Spectrum:
    """A noisy two-arc spectrum, high to low frequency (inductive points at the top)."""
    rng = np.random.default_rng(seed)
    frequency = np.logspace(np.log10(f_max), np.log10(f_min), n_points)
    return simulate(CELL.circuit, CELL.values, frequency, noise=0.01, rng=rng)
