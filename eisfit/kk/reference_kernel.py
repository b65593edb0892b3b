"""Compiled estimates for the lin-KK reference (imported only when numba already is).

`eisfit.kk.reference.Reference` only decides (does M resolve the data?), it returns no
number: the fit on the dense reference grid and the bisection's fits at trial M serve an
F-test and a structure test.  Those fits are QR projections (`eisfit.kk.design.project`);
here the same projection runs compiled and returns the sums the decision needs: the
residual sum of squares and the sums of `eisfit.kk.noise.structure_from_sums`.  The
reference decides from these estimates only when every comparison clears its threshold
by a wide margin, and recomputes exactly (numpy) otherwise, so its decisions, and with
them the M search, are those of the numpy path (`Reference.accepts`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["projection_sums"]


@numba.njit(cache=True, error_model="numpy")
def projection_sums(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed: np.ndarray,
    order: np.ndarray,
    m: int,
) -> tuple[float, float, float, float, float]:
    """(|r|^2, |D r|^2, |V|_F^2, |V^T V|_F^2, dtv2) of the projection of ``b`` off the
    unit-norm columns [fixed, RC(M = ``m``)], rows in frequency order (``order``):
    the inputs of `eisfit.kk.noise.structure_from_sums` (V = D Q, D the first
    differences within Z' and within Z'').  NaN when a column is zero."""
    n = omega.size
    f = fixed.shape[1]
    p = f + m
    a = np.empty((2 * n, p))
    rhs = np.empty(2 * n)
    tau = np.exp(np.linspace(-math.log(omega.max()), -math.log(omega.min()), m))
    for row in range(n):
        i = order[row]
        for j in range(f):
            a[row, j] = fixed[i, j]
            a[n + row, j] = fixed[n + i, j]
        rhs[row] = b[i]
        rhs[n + row] = b[n + i]
        for k in range(m):
            x = omega[i] * tau[k]
            re = 1.0 / (1.0 + x * x)
            a[row, f + k] = re * weight[i]
            a[n + row, f + k] = -x * re * weight[n + i]
    for j in range(p):
        norm = math.sqrt(np.sum(a[:, j] * a[:, j]))
        if norm == 0.0:
            return math.nan, math.nan, math.nan, math.nan, math.nan
        a[:, j] /= norm
    q, _ = np.linalg.qr(a)
    q = np.ascontiguousarray(q)
    r = rhs - q @ (np.ascontiguousarray(q.T) @ rhs)
    rr = np.sum(r * r)
    dr = r[1:] - r[:-1]
    dr[n - 1] = 0.0  # the difference across the seam of Z' and Z''
    drdr = np.sum(dr * dr)
    v = q[1:] - q[:-1]
    v[n - 1] = 0.0
    v2 = np.sum(v * v)
    vtv = v.T @ v
    vtv2 = np.sum(vtv * vtv)
    dtv = v[1:] - v[:-1]
    seam = np.sum((v[n - 2] - v[n - 1]) ** 2) + np.sum((v[n] - v[n - 1]) ** 2)
    edges = np.sum(v[0] ** 2) + np.sum(v[n - 2] ** 2) + np.sum(v[n] ** 2) + np.sum(v[-1] ** 2)
    dtv2 = np.sum(dtv * dtv) - seam + edges
    return rr, drdr, v2, vtv2, dtv2
