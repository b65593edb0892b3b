"""Compiled twin of `eisfit.kk.model.skip_certain` (imported only when numba already is).

`skip_certain` certifies the M values of the lin-KK search whose mu is certainly at or
above the threshold, so that only the M that can stop the search is solved exactly.  It
is an accelerator, not part of the result: an M it certifies could not have stopped the
search, so any rigorous certification gives the same M, mu and verdict as solving every
M exactly (the docstring of `skip_certain` gives the bound).  In numpy it costs about
0.8 ms per spectrum of 60 points (the zero-padded Gram matrices of 16 M values at once
and their inverses: call overhead on small arrays); compiled, one M at a time, about
0.1 ms.  Measured side by side in ``bench/batch_bench.py``'s notes (issue 15).

The test is the same, M by M: the Gram matrix G of the unit-norm columns [fixed, RC],
its inverse, the normal-equation solution x, the bound |dx| <= safety * kappa * eps *
|x| with kappa = trace(G) * |G^-1|_F, and mu of the R_k shifted by that bound.  The
numpy version pads every M of a block to the largest and decouples the padding with
identity columns, which adds one per padded column to trace(G) and to |G^-1|_F^2; the
same terms are added here (``pad``), so both certify the same M values up to rounding.
A Gram matrix that cannot be inverted certifies nothing from that M on.

Imported by `eisfit.kk.model` only when numba is already in the process (the batch's fit
kernel loaded it): a single ``eisfit kk`` or ``eisfit fit`` never pays numba's import
for it.  ``EISFIT_JIT=0`` turns it off with the fit kernel.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["first_uncertain"]


@numba.njit(cache=True, error_model="numpy")
def _certain(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed: np.ndarray,
    m: int,
    pad: int,
    mu_threshold: float,
    safety: float,
    max_kappa: float,
) -> bool:
    """Whether mu of the fit with M = ``m`` RC columns is certainly >= ``mu_threshold``."""
    n = omega.size
    f = fixed.shape[1]
    p = f + m
    a = np.empty((2 * n, p))
    a[:, :f] = fixed
    lo, hi = -math.log(omega.max()), -math.log(omega.min())
    tau = np.exp(np.linspace(lo, hi, m))
    for i in range(n):
        for k in range(m):
            x = omega[i] * tau[k]
            re = 1.0 / (1.0 + x * x)
            a[i, f + k] = re * weight[i]
            a[n + i, f + k] = -x * re * weight[n + i]
    gram = a.T @ a
    rhs = a.T @ b
    scale = np.sqrt(np.diag(gram).copy())
    for j in range(p):
        if scale[j] == 0.0:
            return False  # a column of zeros: nothing to certify
    for j in range(p):
        rhs[j] /= scale[j]
        for k in range(p):
            gram[j, k] /= scale[j] * scale[k]
    try:
        inv = np.linalg.inv(gram)
    except Exception:  # singular to working precision
        return False
    x = inv @ rhs
    trace = 0.0
    fro2 = 0.0
    for j in range(p):
        trace += gram[j, j]
        for k in range(p):
            fro2 += inv[j, k] * inv[j, k]
    kappa = (trace + pad) * math.sqrt(fro2 + pad)
    err = safety * kappa * np.finfo(np.float64).eps * math.sqrt(np.sum(x * x))
    shift = 0.0
    neg = 0.0
    pos = 0.0
    for k in range(f, p):
        shift += 1.0 / scale[k]
        r_k = x[k] / scale[k]
        if r_k < 0:
            neg -= r_k
        else:
            pos += r_k
    shift *= 2.0 * err
    neg += shift
    pos -= shift
    if not pos > 0:
        return False
    return bool(1.0 - neg / pos >= mu_threshold and kappa < max_kappa)


@numba.njit(cache=True, error_model="numpy")
def first_uncertain(
    omega: np.ndarray,
    weight: np.ndarray,
    b: np.ndarray,
    fixed: np.ndarray,
    m: int,
    cap: int,
    mu_threshold: float,
    first_m: int,
    screen: int,
    safety: float,
    max_kappa: float,
) -> int:
    """The first M from ``m`` on (at most ``cap``) whose mu is not certainly >=
    ``mu_threshold``: `eisfit.kk.model.skip_certain`, with its blocks of ``screen`` M
    values (half after the first block) deciding only the padding of the bound."""
    while m < cap:
        stop = min(m + (screen if m == first_m else screen // 2), cap)
        for mm in range(m, stop):
            if not _certain(
                omega, weight, b, fixed, mm, stop - 1 - mm, mu_threshold, safety, max_kappa
            ):
                return mm
        m = stop
    return m
