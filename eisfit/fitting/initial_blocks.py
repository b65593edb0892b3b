"""Basis columns of the starting-value pre-fit (`eisfit.fitting.initial`), and its sums for long
spectra built block by block over the points.

The pre-fit's basis has 2N rows (real parts over imaginary parts) and a column per fixed
unit and per grid time constant of each family, the DRT's a Debye column per grid time
constant: for N = 50,000 points and a 45-point tau grid, 37 MB each, and the pre-fit
made several weighted and normalised copies of both (and scipy's ``nnls`` one more).
For spectra of more than `CHUNK_POINTS` points nothing of that size is held
(`blocked_prefit`):

* the Gram matrix and B^T y of the weighted unit-norm columns are summed over blocks of
  points (the column norms in a first pass, the products in a second);
* the DRT's non-negative least squares min |A x - y| subject to x >= 0 is solved on
  its triangular reduction: with A = QR, |A x - y|^2 = |R x - Q^T y|^2 + |y|^2 -
  |Q^T y|^2, so the same x minimises |R x - Q^T y| (Lawson & Hanson, *Solving Least
  Squares Problems*, 1974, ch. 23 reduce NNLS the same way).  R and Q^T y come from a
  sequential TSQR over the blocks (Demmel, Grigori, Hoemmen & Langou, SIAM J. Sci.
  Comput. 34 (2012) A206), as in `eisfit.kk.design`.

Every point enters both; only the rounding of the sums differs from whole arrays.
Shorter spectra keep the whole-array path of `eisfit.fitting.initial` unchanged.
"""

from __future__ import annotations

import numpy as np

from ..notation.elements import get_element
from .structure import ARC_N0, SPIKE_N0, Unit

__all__ = ["CHUNK_POINTS", "basis", "blocked_prefit", "debye_columns", "unit_columns"]

CHUNK_POINTS = 2048  # points per block (and the longest spectrum pre-fitted whole)


def basis(unit: Unit, omega: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Columns (n_points, n_taus) of the unit's impedance with amplitude 1."""
    jw = 1j * omega[:, None]
    fam = unit.family
    if fam == "R":
        return np.ones_like(jw)
    if fam == "L":
        return jw
    if fam == "C":
        return 1.0 / jw
    if fam == "CPE":
        return jw**-SPIKE_N0
    if fam == "W":
        return (1 - 1j) / np.sqrt(omega[:, None])
    if fam == "La":
        return jw**0.98
    if fam == "arc_CPER":  # (j w tau)^n0 as a real power and one rotation: no complex pow
        return 1.0 / (1.0 + (omega[:, None] * taus) ** ARC_N0 * np.exp(0.5j * np.pi * ARC_N0))
    if fam == "arc_CR":
        return 1.0 / (1.0 + jw * taus)
    kind = get_element(fam)
    cols = []
    for tau in taus:
        p = np.array([1.0, tau] + ([ARC_N0] if fam == "Zarc" else []))
        cols.append(kind.impedance(p, omega))
    return np.stack(cols, axis=1)


def unit_columns(
    order: tuple[Unit, ...], n_fixed: int, taus: np.ndarray, omega: np.ndarray
) -> tuple[np.ndarray, dict[str, int]]:
    """The pre-fit basis at ``omega`` (2 n_points, M), real parts over imaginary parts:
    one column per fixed unit (the first ``n_fixed`` of ``order``), then one per grid
    time constant for each family of the tau units, in order of first appearance; and
    the first column of each family."""
    blocks = [basis(u, omega, taus[:1]) for u in order[:n_fixed]]
    offsets, col = {}, n_fixed
    for unit in order[n_fixed:]:
        if unit.family not in offsets:
            blocks.append(basis(unit, omega, taus))
            offsets[unit.family] = col
            col += taus.size
    columns = np.concatenate(blocks, axis=1)
    return np.concatenate([columns.real, columns.imag]), offsets


def debye_columns(omega: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Debye columns 1 / (1 + j omega tau) (2 n_points, n_taus), real over imaginary."""
    debye = 1.0 / (1.0 + 1j * omega[:, None] * taus)
    return np.concatenate([debye.real, debye.imag])


def _blocks(
    order: tuple[Unit, ...], n_fixed: int, taus: np.ndarray, omega: np.ndarray, w: np.ndarray
):
    """(rows of the points of a block in the stacked order, weighted basis, weighted
    Debye columns), block after block."""
    n = omega.size
    for lo in range(0, n, CHUNK_POINTS):
        points = np.arange(lo, min(lo + CHUNK_POINTS, n))
        rows = np.concatenate([points, n + points])
        weight = w[rows, None]
        yield rows, unit_columns(order, n_fixed, taus, omega[points])[0] * weight, (
            debye_columns(omega[points], taus) * weight
        )


def blocked_prefit(
    order: tuple[Unit, ...],
    n_fixed: int,
    taus: np.ndarray,
    omega: np.ndarray,
    w: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(gram, B^T y, column norms, DRT matrix, DRT data) of the pre-fit, block by block.

    ``w`` are the weights of the stacked rows (real over imaginary), ``y`` the weighted
    data.  gram and B^T y are those of the unit-norm weighted basis B (norms of zero
    columns taken as 1); the DRT matrix [fixed columns of B, unit-norm weighted Debye
    columns] is returned as its triangular reduction R and the data as Q^T y (module
    docstring): an NNLS on them has the solution of the full one.
    """
    norms_sq, debye_sq = 0.0, 0.0
    for _, cols, debye in _blocks(order, n_fixed, taus, omega, w):
        norms_sq = norms_sq + np.add.reduce(cols * cols, axis=0)
        debye_sq = debye_sq + np.add.reduce(debye * debye, axis=0)
    norms, debye_norms = np.sqrt(norms_sq), np.sqrt(debye_sq)
    norms[norms == 0] = 1.0
    width = n_fixed + debye_norms.size
    gram, by = 0.0, 0.0
    r = np.zeros((0, width + 1))
    for rows, cols, debye in _blocks(order, n_fixed, taus, omega, w):
        cols /= norms
        gram = gram + cols.T @ cols
        by = by + cols.T @ y[rows]
        block = np.hstack([cols[:, :n_fixed], debye / debye_norms, y[rows, None]])
        r = np.linalg.qr(np.vstack([r, block]), mode="r")
    if r.shape[0] < width + 1:
        r = np.vstack([r, np.zeros((width + 1 - r.shape[0], width + 1))])
    return np.asarray(gram), np.asarray(by), norms, r[:width, :width], r[:width, width]
