"""The statistics behind the lin-KK verdict (eisfit.kk.noise) and the model algebra
(eisfit.kk.model): checked against the plain matrix formulas and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eisfit.kk import model as kk_model
from eisfit.kk import noise as kk_noise
from eisfit.kk.model import fixed_columns, rc_columns

N = 40


def _difference_matrix(n: int) -> np.ndarray:
    d = np.zeros((2 * (n - 1), 2 * n))
    i = np.arange(n - 1)
    d[i, i], d[i, i + 1] = -1.0, 1.0
    d[n - 1 + i, n + i], d[n - 1 + i, n + i + 1] = -1.0, 1.0
    return d


def _kk_basis(n: int, m: int) -> np.ndarray:
    """Orthonormal basis of a lin-KK design (R0, L, C, m RC elements), frequency order."""
    f = np.logspace(-1, 5, n)
    omega = 2 * np.pi * f
    mod = np.abs(10 + 100 / (1 + (1j * omega * 1e-3) ** 0.8))
    weight = np.concatenate([1 / mod, 1 / mod])
    a = np.hstack(
        [fixed_columns(omega, mod, ["R0", "L", "C"]), rc_columns(omega, m) * weight[:, None]]
    )
    return np.linalg.qr(a / np.linalg.norm(a, axis=0))[0]


def test_noise_statistics_equal_the_matrix_formulas() -> None:
    rng = np.random.default_rng(0)
    u = _kk_basis(N, 12)
    r = rng.standard_normal(2 * N)
    r -= u @ (u.T @ r)
    d = _difference_matrix(N)
    p = np.eye(2 * N) - u @ u.T
    b = p @ d.T @ d @ p
    t_r, t_d = 2 * N - u.shape[1], np.trace(d @ p @ d.T)
    s2_r, s2_d = r @ r / t_r, np.sum((d @ r) ** 2) / t_d
    var = 2 * np.trace(b @ b) / t_d**2 - 2 / t_r
    got = kk_noise.structure(np.arange(N), r, u)
    np.testing.assert_allclose(
        got, [math.sqrt(s2_r), math.sqrt(s2_d), math.log(s2_r / s2_d) / math.sqrt(var)], rtol=1e-12
    )


@pytest.mark.parametrize("m", [8, 20])
def test_estimates_are_unbiased_and_the_structure_score_is_standard_normal(m: int) -> None:
    """Noise of sigma projected off a KK design: s_R and s_D estimate sigma, z ~ N(0, 1)."""
    rng = np.random.default_rng(m)
    u = _kk_basis(N, m)
    sigma = 0.01
    out = []
    for _ in range(600):
        e = sigma * rng.standard_normal(2 * N)
        out.append(kk_noise.structure(np.arange(N), e - u @ (u.T @ e), u))
    s_r, s_d, z = np.array(out).T
    assert np.mean(s_r**2) == pytest.approx(sigma**2, rel=0.05)
    assert np.mean(s_d**2) == pytest.approx(sigma**2, rel=0.05)
    assert abs(np.mean(z)) < 0.15 and 0.85 < np.std(z) < 1.15


def test_structure_score_sees_a_trend_and_band_test_finds_it() -> None:
    rng = np.random.default_rng(3)
    u = _kk_basis(N, 10)
    trend = np.zeros(2 * N)
    trend[16:24] = 0.03  # Z' alone 3 % off over 8 points: no KK model follows that
    e = 0.005 * rng.standard_normal(2 * N) + trend
    r = e - u @ (u.T @ e)
    s_r, s_d, z = kk_noise.structure(np.arange(N), r, u)
    assert z > kk_noise.Z_STRUCTURE and s_d < s_r
    part, lo, hi = kk_noise.band_over_limit(r, N, 2 * N - u.shape[1], s_d)
    assert part == 0 and 12 <= lo <= hi <= 28


def test_band_and_point_tests_rarely_fire_on_noise() -> None:
    """Under the null both tests are set to ALPHA = 0.2 % each: over 500 noise draws at
    most a few false alarms may occur."""
    rng = np.random.default_rng(5)
    u = _kk_basis(N, 14)
    alarms = 0
    for _ in range(500):
        e = 0.01 * rng.standard_normal(2 * N)
        r = e - u @ (u.T @ e)
        s_d = kk_noise.structure(np.arange(N), r, u)[1]
        over = np.abs(r).max() >= kk_noise.noise_limit(N, u.shape[1], s_d)
        band = kk_noise.band_over_limit(r, N, 2 * N - u.shape[1], s_d)
        alarms += bool(over or band is not None)
    assert alarms <= 6  # expected about 2 (0.4 %); 6 or more has probability < 2 %


def test_downdate_equals_solving_without_the_column() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((80, 12)) * np.logspace(0, 3, 12)
    b = rng.standard_normal(80)
    full = kk_model.solve(a, b)
    for drop in ([1], [2], [1, 2]):
        keep = [j for j in range(12) if j not in drop]
        want = kk_model.solve(a[:, keep], b)
        got = kk_model.downdate(full, drop)
        np.testing.assert_allclose(got.coef, want.coef, rtol=1e-9)
        np.testing.assert_allclose(got.residual, want.residual, atol=1e-12)
        projector = got.basis @ got.basis.T
        np.testing.assert_allclose(projector, want.basis @ want.basis.T, atol=1e-10)


def test_dense_grid_resolves_an_ideal_rc_arc_to_below_any_noise() -> None:
    """The claim behind DENSE_PER_DECADE: a Debye arc between two grid points is fitted
    to about 1e-5 of |Z|."""
    f = np.logspace(5, 0, 200)
    omega = 2 * np.pi * f
    m = kk_model.dense_m(omega)
    taus = np.exp(np.linspace(-math.log(omega.max()), -math.log(omega.min()), m))
    worst = 0.0
    for shift in np.linspace(0, 1, 5):
        tau0 = taus[m // 2] * (taus[1] / taus[0]) ** shift
        z = 10 + 100 / (1 + 1j * omega * tau0)
        mod = np.abs(z)
        weight = np.concatenate([1 / mod, 1 / mod])
        a = np.hstack([fixed_columns(omega, mod, ["R0"]), rc_columns(omega, m) * weight[:, None]])
        solution = kk_model.solve(a, np.concatenate([z.real, z.imag]) * weight)
        worst = max(worst, float(np.abs(solution.residual).max()))
    assert worst < 1e-4
