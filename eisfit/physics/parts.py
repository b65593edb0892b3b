"""Error propagation for quantities derived from a fit (delta method).

The circuit is split into arcs, spikes and leads by `eisfit.notation.parts`; here the
fit covariance is rebuilt from a `FitResult` and gradients are propagated through it.
"""

from __future__ import annotations

import math

import numpy as np

from ..fitting.result import FitResult

__all__ = ["covariance", "propagate"]


def covariance(result: FitResult) -> np.ndarray:
    """Parameter covariance from the fit's standard errors and correlation matrix.

    Fixed parameters (stderr 0) get zero rows and columns even where the correlation is
    undefined; parameters the data do not determine keep NaN.
    """
    s = np.array([result.stderr[k] for k in result.values], dtype=float)
    corr = np.array(result.correlation, dtype=float)
    if corr.shape != (s.size, s.size):
        corr = np.full((s.size, s.size), np.nan)
    corr = corr.copy()
    np.fill_diagonal(corr, 1.0)
    cov = corr * np.outer(s, s)
    zero = s == 0
    cov[zero, :] = 0.0
    cov[:, zero] = 0.0
    return cov


def propagate(grad: np.ndarray, cov: np.ndarray) -> float:
    """First-order standard error sqrt(g^T Sigma g), using only the parameters g involves."""
    idx = np.flatnonzero(grad)
    if idx.size == 0:
        return 0.0
    g = grad[idx]
    var = float(g @ cov[np.ix_(idx, idx)] @ g)
    if not math.isfinite(var):
        return math.nan
    return math.sqrt(max(var, 0.0))
