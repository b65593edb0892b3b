"""The block-by-block lin-KK solves (eisfit.kk.design) against the dense matrix formulas."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from eisfit.kk import design as kk_design
from eisfit.kk import model as kk_model
from eisfit.kk import noise as kk_noise
from eisfit.kk.linkk import kk_check
from eisfit.kk.model import fixed_columns
from eisfit.spectrum import Spectrum
from eisfit.synthetic import random_cell, simulate


def _design(n: int, m: int, seed: int, names: tuple[str, ...] = ("R0", "L", "C")):
    """A lin-KK design of a noisy random cell, its points in a shuffled order."""
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, 2)
    f = rng.permutation(np.logspace(6, -1, n))
    z = simulate(cell.circuit, cell.values, f, noise=0.01, rng=rng).impedance_ohm
    omega, mod = 2 * np.pi * f, np.abs(z)
    weight = np.concatenate([1 / mod, 1 / mod])
    b = np.concatenate([z.real, z.imag]) * weight
    fixed = fixed_columns(omega, mod, list(names))
    design = kk_design.Design(
        omega, weight, b, fixed, kk_design.tau_grid(omega, m), np.argsort(omega)
    )
    a = np.hstack([fixed, kk_model.rc_columns(omega, m) * weight[:, None]])
    return design, a, b


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 4096])
def test_blocks_give_the_dense_least_squares_solution(chunk: int) -> None:
    design, a, b = _design(90, 14, seed=3)
    got = kk_design.solve(replace(design, chunk_points=chunk))
    # the plain formulas: SVD of the unit-norm columns (the L column is ~1e6 the others)
    scale = np.linalg.norm(a, axis=0)
    u, s, vt = np.linalg.svd(a / scale, full_matrices=False)
    want = vt.T @ ((u.T @ b) / s) / scale
    np.testing.assert_allclose(got.coef, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(got.residual, b - u @ (u.T @ b), atol=1e-13)
    np.testing.assert_allclose(got.s, s, rtol=1e-12)
    u = got.basis
    np.testing.assert_allclose(u.T @ u, np.eye(got.rank), atol=1e-12)
    # the basis spans the columns: projecting them onto it leaves nothing
    scaled = a / np.linalg.norm(a, axis=0)
    assert np.abs(scaled - u @ (u.T @ scaled)).max() < 1e-8


@pytest.mark.parametrize("chunk", [1, 3, 50, 4096])
def test_structure_from_block_sums_equals_the_dense_formula(chunk: int) -> None:
    design, a, b = _design(120, 20, seed=5)
    got = kk_design.solve(replace(design, chunk_points=chunk))
    dense = kk_model.solve(a, b)  # one block, in the spectrum's own (shuffled) row order
    want = kk_noise.structure(design.order, dense.residual, dense.basis)
    np.testing.assert_allclose(got.stats, want, rtol=1e-9)
    np.testing.assert_allclose(
        kk_noise.structure(design.order, got.residual, got.basis), want, rtol=1e-9
    )


def test_downdate_from_blocks_equals_solving_without_the_column() -> None:
    design, _, _ = _design(70, 10, seed=8)
    design = replace(design, chunk_points=9)
    full = kk_design.solve(design)
    for drop in ([1], [2], [1, 2]):
        keep = [j for j in range(3) if j not in drop]
        want = kk_design.solve(replace(design, fixed=design.fixed[:, keep]))
        got = kk_design.downdate(full, drop)
        np.testing.assert_allclose(got.coef, want.coef, rtol=1e-8)
        np.testing.assert_allclose(got.residual, want.residual, atol=1e-11)
        np.testing.assert_allclose(got.stats, want.stats, rtol=1e-8)


@pytest.mark.parametrize("block_bytes", [2**10, 2**22])  # many blocks; one (cached)
def test_grams_of_several_m_equal_the_dense_products(
    block_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # private: the block size is made small to test blocking on a small spectrum
    monkeypatch.setattr(kk_model, "_GRAMS_BYTES", block_bytes)
    design, _, b = _design(33, 6, seed=2)
    ms = np.arange(3, 9)
    # private: blocked and unblocked Gram matrices compared directly
    g, rhs = kk_model._grams(design, ms)
    assert g.shape == (6, 3 + 8, 3 + 8) and rhs.shape == (6, 3 + 8)
    weight = design.weight[:, None]
    for i, m in enumerate(ms):
        a = np.hstack([design.fixed, kk_model.rc_columns(design.omega, m) * weight])
        p = a.shape[1]
        np.testing.assert_allclose(g[i, :p, :p], a.T @ a, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(rhs[i, :p], a.T @ b, rtol=1e-12, atol=1e-14)
        assert not g[i, p:].any() and not g[i, :, p:].any() and not rhs[i, p:].any()


def test_kk_check_does_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small blocks (as a 50,000-point spectrum has) give the verdict of one block."""
    rng = np.random.default_rng(17)
    spectra = []
    for n_arcs in (2, 3):
        cell = random_cell(rng, n_arcs)
        spectra.append(simulate(cell.circuit, cell.values, np.logspace(6.5, -1, 75), noise=0.006))
    ideal = spectra[0]
    spectra.append(
        Spectrum(ideal.frequency_hz, ideal.impedance_ohm * np.linspace(1.0, 1.25, 75))
    )  # drift: not consistent
    want = [kk_check(s) for s in spectra]
    monkeypatch.setattr(kk_design, "CHUNK_POINTS", 8)
    got = [kk_check(s) for s in spectra]
    assert [w.verdict for w in want] == ["consistent", "consistent", "not consistent"]
    for g, w in zip(got, want, strict=True):
        assert (g.verdict, g.n_rc, g.elements) == (w.verdict, w.n_rc, w.elements)
        assert g.mu == pytest.approx(w.mu, rel=1e-9)
        assert g.noise_estimate == pytest.approx(w.noise_estimate, rel=1e-9)
        np.testing.assert_allclose(g.residuals_real, w.residuals_real, atol=1e-12)


def test_default_cap_binds_only_on_long_spectra() -> None:
    omega = 2 * np.pi * np.logspace(6, -1, 71)
    assert kk_model.default_cap(omega) == 71  # one per point, as always
    omega = 2 * np.pi * np.logspace(7, -2, 50_000)
    assert kk_model.default_cap(omega) == 12 * 9 + 1
    omega = 2 * np.pi * np.logspace(3, 2, 400)  # one decade: the floor
    assert kk_model.default_cap(omega) == kk_model.CAP_FLOOR
