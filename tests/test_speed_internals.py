"""Tests of the shortcuts that make fits and the lin-KK check fast.

Each shortcut is checked against the plain computation it replaces, and the solver's work
is checked by counts (iterations, exact solves), never by wall-clock time.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import eisfit.kk.linkk as kk
from eisfit.fitting.combinations import lower_pairs, packed_keys, smallest, solve_small, spread_keys

# private: the normal-equation step is timed and checked alone; no public path reaches it
from eisfit.fitting.lm import _normal, batched_lm
from eisfit.spectrum import Spectrum
from eisfit.synthetic import random_cell, simulate

FREQ = np.logspace(np.log10(7e6), -1, 80)


# --------------------------------------------------------------------------- starting values


def test_unrolled_small_solves_match_lapack() -> None:
    rng = np.random.default_rng(0)
    cols = rng.standard_normal((40, 12))
    cols /= np.linalg.norm(cols, axis=0)
    gram, rhs = cols.T @ cols, rng.standard_normal(12)
    for k in (1, 2, 3, 4):
        idx = np.array(list(itertools.combinations(range(12), k)))
        lower = [gram[idx[:, i], idx[:, j]] for i, j in lower_pairs(k)]  # (pairs, C)
        got = solve_small(np.array(lower), np.ascontiguousarray(rhs[idx].T)).T
        g = gram[idx[:, :, None], idx[:, None, :]] + 1e-10 * np.eye(k)
        want = np.linalg.solve(g, rhs[idx][..., None])[..., 0]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def _spread_out_naive(ranked: np.ndarray, combos: np.ndarray, n: int) -> list[int]:
    taken: list[int] = []
    for r in ranked:
        if len(taken) >= n:
            break
        if all(np.abs(combos[r] - combos[t]).max() >= 2 for t in taken):
            taken.append(int(r))
    return taken


@pytest.mark.parametrize("m", [1, 7, 50, 200, 400])
def test_smallest_is_the_head_of_a_stable_argsort(m: int) -> None:
    """Partial selection keeps the order of a full stable sort, ties (inf: infeasible
    combinations, repeated costs) taken by index."""
    rng = np.random.default_rng(m)
    values = rng.integers(0, 30, 300).astype(float)
    values[rng.random(300) < 0.3] = np.inf
    expected = np.argsort(values, kind="stable")[:m]
    np.testing.assert_array_equal(smallest(values, m), expected)
    values[:5] = np.nan
    np.testing.assert_array_equal(smallest(values, m), np.argsort(values, kind="stable")[:m])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_spread_out_matches_the_greedy_definition(k: int) -> None:
    rng = np.random.default_rng(k)
    combos = np.array(list(itertools.combinations(range(14), k)))
    ranked = np.concatenate([rng.permutation(len(combos)), rng.integers(0, len(combos), 20)])
    for n in (1, 5, 20):
        got = spread_keys(ranked.tolist(), *packed_keys(combos), n)
        assert got == _spread_out_naive(ranked, combos, n)


# --------------------------------------------------------------------------- batched LM


def test_one_gram_product_gives_cost_gradient_and_normal_matrix() -> None:
    """`_normal` of row-scaled stacked [J; r] equals the textbook J J^T, J r and r.r."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 5, 40))  # 3 starts, 4 parameters, 40 residuals
    scale = np.exp(rng.standard_normal((3, 5)))
    scale[:, -1] = 1.0  # the residual row is not scaled
    a[1, -1, 7] = np.inf  # a non-finite residual: that start's cost is inf
    cost, grad, hess = _normal(a.copy(), scale)
    for k in (0, 2):
        jac, r = a[k, :-1] * scale[k, :-1, None], a[k, -1]
        np.testing.assert_allclose(cost[k], r @ r, rtol=1e-12)
        np.testing.assert_allclose(grad[k], jac @ r, rtol=1e-12)
        np.testing.assert_allclose(hess[k], jac @ jac.T, rtol=1e-12)
    assert cost[1] == np.inf


def test_lm_holds_a_parameter_on_its_bound_instead_of_crawling() -> None:
    """Linear least squares whose optimum has x0 < 0, bounded at 0: the active set stops
    at the bounded optimum within a few iterations (a projected step crawls for dozens)."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((30, 3))
    a[:, 1] += 0.9 * a[:, 0]  # correlated columns: projection alone makes slow progress
    y = a @ np.array([-1.0, 2.0, 0.5]) + 0.01 * rng.standard_normal(30)

    def stacked(x: np.ndarray) -> tuple[np.ndarray, None]:  # [J; r], rows not scaled
        r = x @ a.T - y
        return np.concatenate([np.broadcast_to(a.T, (x.shape[0], 3, 30)), r[:, None]], axis=1), None

    lower, upper = np.array([0.0, -np.inf, -np.inf]), np.full(3, np.inf)
    out = batched_lm(stacked, np.array([[1.0, 1.0, 1.0]]), lower=lower, upper=upper)
    assert out.converged[0]
    assert out.n_evaluations <= 12
    assert out.x[0, 0] == 0.0 and out.pinned[0, 0]
    # the other two are the least-squares solution with x0 = 0
    free = np.linalg.lstsq(a[:, 1:], y, rcond=None)[0]
    np.testing.assert_allclose(out.x[0, 1:], free, rtol=1e-6)


# --------------------------------------------------------------------------- lin-KK


def _exact_every_m(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain search: every M solved exactly (no screening)."""
    # private: the shortcut is switched off to compare with the full search
    monkeypatch.setattr(kk, "_skip_certain", lambda *args: args[4])


def _spectra() -> list[Spectrum]:
    rng = np.random.default_rng(11)
    out = []
    for n_arcs in (2, 3, 2, 3):
        cell = random_cell(rng, n_arcs)
        out.append(simulate(cell.circuit, cell.values, FREQ, noise=0.007, rng=rng))
    ideal = simulate(cell.circuit, cell.values, FREQ, noise=0.0, rng=rng)
    drift = Spectrum(FREQ, ideal.impedance_ohm * np.linspace(1.0, 1.3, FREQ.size))
    return [*out, ideal, drift]


@pytest.mark.parametrize(
    "options",
    [{}, {"with_inductance": False}, {"max_rc": 12}, {"mu_threshold": 0.95}, {"mu_threshold": 0.3}],
)
def test_screened_m_search_gives_the_exact_search_result(
    options: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = [kk.kk_check(s, **options) for s in _spectra()]
    _exact_every_m(monkeypatch)
    for spectrum, got in zip(_spectra(), fast, strict=True):
        want = kk.kk_check(spectrum, **options)
        assert got.n_rc == want.n_rc and got.mu == want.mu and got.valid == want.valid
        np.testing.assert_array_equal(got.residuals_real, want.residuals_real)
        assert got.message == want.message


def test_screening_leaves_one_exact_solve_on_noisy_data(monkeypatch: pytest.MonkeyPatch) -> None:
    solves = []
    exact = kk._fit

    def counting(*args: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        solves.append(args[-1].shape[1])
        return exact(*args)

    # private: lin-KK solves are counted; no public counter exists
    monkeypatch.setattr(kk, "_fit", counting)
    result = kk.kk_check(_spectra()[0])
    assert result.n_rc > 5
    assert solves == [result.n_rc]  # every smaller M was certified without a solve
