"""`eisfit.fitting.nnls` against hand-computed solutions, the optimality (KKT) conditions and
``scipy.optimize.nnls`` as an oracle, on random and on DRT-like (ill-conditioned) problems."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import nnls as scipy_nnls

import eisfit
from eisfit.errors import FitInputError
from eisfit.fitting.nnls import nnls
from eisfit.fitting.workload import workload
from eisfit.synthetic import random_cell, simulate


def _drt_problem(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A series R and 40 Debye columns (unit norm) against a noisy 3-arc spectrum: the
    shape of the pre-fit's problem, condition number about 1e10."""
    omega = 2 * np.pi * np.logspace(6, -1, int(rng.integers(20, 100)))
    taus = np.logspace(-8, 2, 40)
    debye = 1 / (1 + 1j * omega[:, None] * taus[None, :])
    a = np.hstack([np.concatenate([np.ones(omega.size), np.zeros(omega.size)])[:, None],
                   np.vstack([debye.real, debye.imag])])  # fmt: skip
    a /= np.linalg.norm(a, axis=0)
    z = rng.uniform(10, 100) + sum(
        rng.uniform(10, 100) / (1 + (1j * omega * 10 ** rng.uniform(-7, 1)) ** rng.uniform(0.7, 1))
        for _ in range(3)
    )
    z = z * (1 + 0.01 * rng.standard_normal(omega.size))
    return a, np.concatenate([z.real, z.imag])


def test_hand_computed_solutions() -> None:
    # x1 fits the mean of 2 and 1, x2 fits 1 exactly: residual (0.5, -0.5, 0)
    x, rnorm = nnls([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [2.0, 1.0, 1.0])
    np.testing.assert_allclose(x, [1.5, 1.0], rtol=1e-14)
    assert rnorm == pytest.approx(math.sqrt(0.5), rel=1e-14)
    # every unconstrained coefficient negative: x = 0, the residual is b
    x, rnorm = nnls([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [-1.0, -1.0, -1.0])
    np.testing.assert_array_equal(x, [0.0, 0.0])
    assert rnorm == pytest.approx(math.sqrt(3.0), rel=1e-14)
    # a bound that binds: orthogonal columns, A^T A = diag(2, 3), A^T b = (-2, 6), so the
    # unconstrained x = (-1, 2); x1 held at 0 leaves x2 = 6 / 3 = 2
    x, _ = nnls([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]], [1.0, -3.0, 2.0])
    np.testing.assert_allclose(x, [0.0, 2.0], atol=1e-14)


@pytest.mark.parametrize("seed", range(40))
def test_random_problems_meet_the_optimality_conditions_and_agree_with_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 60)), int(rng.integers(1, 40))
    a, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    x, rnorm = nnls(a, b)
    w = a.T @ (b - a @ x)  # the dual: <= 0 where x = 0, = 0 where x > 0
    slack = 1e-10 * np.abs(a).sum() * np.abs(b).max()
    assert (x >= 0).all()
    assert (w[x == 0] <= slack).all() and (np.abs(w[x > 0]) <= slack).all()
    assert rnorm == pytest.approx(np.linalg.norm(b - a @ x), rel=1e-12, abs=1e-12)
    x_ref, rnorm_ref = scipy_nnls(a, b)
    assert rnorm == pytest.approx(rnorm_ref, rel=1e-10, abs=1e-10 * np.linalg.norm(b))
    if m >= n:  # full column rank: the solution is unique
        np.testing.assert_allclose(x, x_ref, rtol=1e-8, atol=1e-10 * np.abs(x_ref).max())


def test_ill_conditioned_drt_problems_agree_with_scipy() -> None:
    rng = np.random.default_rng(15)
    for _ in range(30):
        a, b = _drt_problem(rng)
        x, rnorm = nnls(a, b, maxiter=100 * b.size)
        x_ref, rnorm_ref = scipy_nnls(a, b, maxiter=100 * b.size)
        assert rnorm == pytest.approx(rnorm_ref, rel=1e-10)
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-8 * np.abs(x_ref).max())


def test_dependent_and_zero_columns_are_passed_over() -> None:
    """Repeated, scaled and zero columns: rank 3 of 6; the residual is scipy's and the
    fitted values A x are the unique best ones."""
    rng = np.random.default_rng(9)
    base = rng.standard_normal((30, 3))
    a = np.hstack([base, base[:, :1], 2 * base[:, 1:2], np.zeros((30, 1))])
    b = base @ np.array([1.0, -0.5, 2.0]) + 0.1 * rng.standard_normal(30)
    x, rnorm = nnls(a, b)
    x_ref, rnorm_ref = scipy_nnls(a, b)
    assert (x >= 0).all() and x[5] == 0.0
    assert rnorm == pytest.approx(rnorm_ref, rel=1e-12)
    np.testing.assert_allclose(a @ x, a @ x_ref, rtol=0, atol=1e-10 * np.abs(b).max())


def test_too_few_iterations_raise_runtime_error_as_scipy_does() -> None:
    a, b = _drt_problem(np.random.default_rng(3))
    with pytest.raises(RuntimeError):
        scipy_nnls(a, b, maxiter=1)
    with pytest.raises(RuntimeError, match="iterations"):
        nnls(a, b, maxiter=1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.ones(3), np.ones(3)),
        (np.ones((3, 2)), np.ones(4)),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2)),
        (np.eye(2), np.array([1.0, np.inf])),
    ],
)
def test_bad_input_is_a_fit_input_error(a: np.ndarray, b: np.ndarray) -> None:
    with pytest.raises(FitInputError, match="nnls"):
        nnls(a, b)


def test_fits_are_the_same_with_either_nnls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-fit only picks DRT peaks from x, so swapping the solver changes no fit:
    20 random 2- and 3-arc spectra give the same optimum (measured: identical).

    Both fits run on numpy (``EISFIT_JIT=0``): a one-fit job also leaves the compiled
    kernel out, and the kernel's rounding differs from numpy's by up to 2e-9 in a poorly
    determined L on an AMD EPYC machine (that is the kernel's contract, "the same up to
    rounding", not the solver's), which made this test fail there."""
    import eisfit.fitting.nnls as numpy_nnls

    monkeypatch.setenv("EISFIT_JIT", "0")  # the same Levenberg-Marquardt path for both

    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return nnls(*args, **kwargs)

    monkeypatch.setattr(numpy_nnls, "nnls", counted)  # counts the numpy solver's use
    rng = np.random.default_rng(21)
    frequency_hz = np.logspace(np.log10(7e6), -1, 80)
    for i in range(20):
        cell = random_cell(rng, 2 + i % 2)
        spectrum = simulate(cell.circuit, cell.values, frequency_hz, noise=0.007, rng=rng)
        reference = eisfit.fit(spectrum, cell.circuit, kk=False)  # no job declared: scipy
        before = len(calls)
        with workload([len(spectrum)]):  # a one-fit job: the numpy solver
            ours = eisfit.fit(spectrum, cell.circuit, kk=False)
        assert len(calls) > before  # the numpy solver really ran
        assert ours.status == reference.status
        for name, value in reference.optimum.items():
            assert ours.optimum[name] == pytest.approx(value, rel=1e-9, abs=1e-300), name
