"""The decision rules of the batched Levenberg-Marquardt solver (`eisfit.fitting.lm_rules`) and
the closed forms of a chain (`eisfit.notation.closed_forms`), each written once.

The rules are checked against what their docstrings promise (Nielsen's damping update,
Marquardt's scaling, the active set, the convergence and race tests); the numpy solver
and the compiled kernel are checked to take the same steps, iteration by iteration, and
the compiled rules and formulas to give the same numbers as the plain functions.  Tests
that need numba are skipped without it, as in ``tests/test_compiled.py``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from eisfit.fitting import lm_rules as rules
from eisfit.notation import closed_forms as cf
from eisfit.notation.model import compile_circuit

FTOL = 1e-9


# --------------------------------------------------------------------------- the rules


def test_a_step_that_does_as_predicted_is_taken_and_the_damping_shrinks_threefold() -> None:
    taken, done, lam, nu = rules.judge(10.0, 8.0, 2.0, 1e-3, 8.0, FTOL, False)  # rho = 1
    assert taken and not done
    assert lam == pytest.approx(1e-3 / 3.0, rel=1e-15)
    assert nu == rules.NU_START  # the run of rejections is over


@pytest.mark.parametrize(("rho", "factor"), [(0.5, 1.0), (0.25, 1.125), (0.1, 1.512)])
def test_a_step_worse_than_predicted_is_taken_with_nielsens_factor(
    rho: float, factor: float
) -> None:
    """max(1/3, 1 - (2 rho - 1)^3): a gain ratio below 1/2 grows the damping (up to 2x)."""
    taken, _, lam, _ = rules.judge(10.0, 10.0 - 2.0 * rho, 2.0, 1e-3, 2.0, FTOL, False)
    assert taken
    assert lam == pytest.approx(1e-3 * factor, rel=1e-12)


def test_rejections_in_a_row_grow_the_damping_geometrically() -> None:
    lam, nu = 1e-3, rules.NU_START
    grown = []
    for _ in range(4):
        taken, done, lam, nu = rules.judge(10.0, 11.0, 2.0, lam, nu, FTOL, False)
        assert not taken and not done
        grown.append(lam)
    np.testing.assert_allclose(grown, 1e-3 * np.array([2.0, 8.0, 64.0, 1024.0]), rtol=1e-15)


@pytest.mark.parametrize(
    ("trial", "predicted"),
    [(9.0, 0.0), (9.0, -1.0), (math.inf, 1.0), (10.0, 1.0)],
    ids=["no decrease predicted", "increase predicted", "overflow", "no decrease"],
)
def test_no_step_is_taken_without_a_predicted_and_actual_decrease(
    trial: float, predicted: float
) -> None:
    taken, done, lam, nu = rules.judge(10.0, trial, predicted, 1e-3, 2.0, FTOL, False)
    assert not taken and not done
    assert (lam, nu) == (2e-3, 4.0)


def test_a_start_converges_on_a_small_decrease_a_tiny_step_or_a_hopeless_damping() -> None:
    small = 10.0 * (1 - 0.5 * FTOL)
    assert rules.judge(10.0, small, 10.0 - small, 1e-3, 2.0, FTOL, False)[:2] == (True, True)
    assert rules.judge(10.0, 5.0, 5.0, 1e-3, 2.0, FTOL, True)[:2] == (True, True)
    assert rules.judge(10.0, 5.0, 5.0, 1e-3, 2.0, FTOL, False)[:2] == (True, False)
    # a rejected tiny step is not convergence, a damping pushed past the limit is
    assert rules.judge(10.0, 11.0, 1.0, 1e-3, 2.0, FTOL, True)[:2] == (False, False)
    at_limit = rules.LAMBDA_GIVE_UP / 2.0
    assert rules.judge(10.0, 11.0, 1.0, at_limit, 2.0, FTOL, False)[:2] == (False, False)
    assert rules.judge(10.0, 11.0, 1.0, at_limit, 4.0, FTOL, False)[:2] == (False, True)


def test_the_damping_never_shrinks_below_its_floor() -> None:
    _, _, lam, _ = rules.judge(10.0, 8.0, 2.0, rules.LAMBDA_FLOOR, 2.0, FTOL, False)
    assert lam == rules.LAMBDA_FLOOR


def test_marquardt_damping_scales_with_the_diagonal_and_is_never_zero() -> None:
    got = rules.damping(0.5, np.array([4.0, 0.0, 1e-40]))
    floor = 0.5 * rules.DIAGONAL_FLOOR
    np.testing.assert_array_equal(got, [2.0, floor, floor])


def test_a_parameter_is_pinned_only_on_a_bound_with_the_gradient_pointing_out() -> None:
    # gradient J r > 0: the step -J r lowers x; < 0: it raises x
    x = np.array([0.0, 0.0, 1.0, 1.0, 0.5, 0.5])
    g = np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0])
    got = rules.pinned(x, g, np.zeros(6), np.ones(6))
    np.testing.assert_array_equal(got, [True, False, True, False, False, False])
    assert rules.pinned(0.0, 1.0, 0.0, 1.0) and not rules.pinned(0.0, -1.0, 0.0, 1.0)


def test_clip_tiny_and_steepest_step() -> None:
    np.testing.assert_array_equal(rules.clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0), [0, 0.5, 1])
    assert rules.clip(-np.inf, -1.0, np.inf) == -1.0
    assert rules.tiny_step(1e-10, 1.0, 1e-9) and not rules.tiny_step(1e-8, 1.0, 1e-9)
    assert rules.tiny_step(1e-19, 0.0, 1e-9)  # relative to |x| + xtol: x = 0 is fine
    np.testing.assert_array_equal(rules.steepest_step(np.array([2.0, -4.0]), 2.0), [-1.0, 2.0])


def test_the_race_drops_far_starts_and_ends_on_a_confirmed_or_lonely_leader() -> None:
    assert not rules.racing(2, 3) and rules.racing(3, 3)
    np.testing.assert_array_equal(
        rules.dropped(np.array([1.0, 3.0, 3.1]), 1.0, 3.0), [False, False, True]
    )
    np.testing.assert_array_equal(
        rules.same_minimum(np.array([1.0, 1.0 + 1e-7, 1.0 + 1e-5]), 1.0, 1e-6), [True, True, False]
    )
    assert rules.lead_clock(2, 2, 5, 9) == 5  # the same leader: its clock runs on
    assert rules.lead_clock(1, 2, 5, 9) == 9  # a new leader: the clock restarts
    assert rules.race_over(2, 6, 5, 3)  # confirmed by a second start
    assert not rules.race_over(1, 7, 5, 3) and rules.race_over(1, 8, 5, 3)  # grace is over


# --------------------------------------------------------------------------- the closed forms


def test_arc_formulas_against_the_definition_and_finite_differences() -> None:
    omega = np.logspace(-1, 7, 9)
    r, q, n = 300.0, 2e-6, 0.83
    lw, ljw = np.log(omega), np.log(omega) + cf.HALF_PI_J

    def z_arc(r_: float, q_: float, n_: float) -> np.ndarray:
        return 1.0 / (1.0 / r_ + q_ * (1j * omega) ** n_)  # R in parallel with a CPE

    s = cf.power(n, lw, cf.rotation(n))
    np.testing.assert_allclose(s, (1j * omega) ** n, rtol=1e-13)
    z, d_r, d_q = cf.arc(r, q, s, 1.0 / cf.arc_denominator(r, q, s))
    d_n = cf.arc_exponent_derivative(d_q, q, ljw)
    np.testing.assert_allclose(z, z_arc(r, q, n), rtol=1e-13)
    for got, (i, value) in zip((d_r, d_q, d_n), enumerate((r, q, n)), strict=True):
        h = 1e-6 * value
        up, down = [r, q, n], [r, q, n]
        up[i], down[i] = value + h, value - h
        want = (z_arc(*up) - z_arc(*down)) / (2 * h)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7 * np.abs(want).max())


def test_spike_formulas_against_the_definition_and_finite_differences() -> None:
    omega = np.logspace(-1, 7, 9)
    q, e = 3e-5, 0.9
    lw, ljw = np.log(omega), np.log(omega) + cf.HALF_PI_J

    def z_cpe(q_: float, e_: float) -> np.ndarray:
        return 1.0 / (q_ * (1j * omega) ** e_)

    z, d_q, d_e = cf.spike(q, e, lw, cf.rotation(-e), ljw)
    np.testing.assert_allclose(z, z_cpe(q, e), rtol=1e-13)
    want_q = (z_cpe(q * (1 + 1e-6), e) - z_cpe(q * (1 - 1e-6), e)) / (2e-6 * q)
    want_e = (z_cpe(q, e + 1e-6) - z_cpe(q, e - 1e-6)) / 2e-6
    np.testing.assert_allclose(d_q, want_q, rtol=1e-7)
    np.testing.assert_allclose(d_e, want_e, rtol=1e-7, atol=1e-7 * np.abs(want_e).max())
    with np.errstate(divide="ignore", invalid="ignore"):
        assert not np.isfinite(cf.spike(0.0, e, lw, cf.rotation(-e), ljw)[0]).any()


def test_series_resistor_and_inductor() -> None:
    jw = 1j * np.logspace(0, 6, 4)
    assert cf.resistor(5.0) == (5.0, 1.0)
    z, d = cf.inductor(2e-6, jw)
    np.testing.assert_array_equal(z, 2e-6 * jw)
    np.testing.assert_array_equal(d, jw)


# --------------------------------------------------------------------------- one code, two paths


def test_the_numpy_path_does_not_import_numba() -> None:
    """The core install runs without numba: the rules and formulas must not pull it in."""
    code = (
        "import sys, numpy as np, eisfit\n"
        "from eisfit.synthetic import random_cell, simulate\n"
        "rng = np.random.default_rng(0); cell = random_cell(rng, 2)\n"
        "s = simulate(cell.circuit, cell.values, np.logspace(6, -1, 40), noise=0.005, rng=rng)\n"
        "assert eisfit.fit(s, cell.circuit, kk=False).success\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "EISFIT_JIT": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _compiled(fn):
    """``fn`` compiled as the kernel compiles it (importing the kernel registers its
    implementation of `eisfit.notation.closed_forms.scaled`)."""
    numba = pytest.importorskip("numba")
    from eisfit.fitting import chain_kernel  # noqa: F401

    return numba.njit(error_model="numpy")(fn)


def test_compiled_rules_decide_as_the_plain_ones() -> None:
    judge = _compiled(rules.judge)
    pinned = _compiled(rules.pinned)
    rng = np.random.default_rng(0)
    for _ in range(300):
        cost = float(10 ** rng.uniform(-3, 3))
        trial = cost * float(rng.choice([0.5, 1.0 - 1e-12, 1.0, 2.0, np.inf]))
        args = (cost, trial, float(rng.uniform(-1, 2)) * cost, float(10 ** rng.uniform(-16, 13)),
                float(rng.choice([2.0, 8.0])), FTOL, bool(rng.random() < 0.2))  # fmt: skip
        assert judge(*args) == rules.judge(*args)
        x, g = float(rng.choice([0.0, 0.5, 1.0])), float(rng.choice([-1.0, 0.0, 1.0]))
        assert pinned(x, g, 0.0, 1.0) == rules.pinned(x, g, 0.0, 1.0)


def test_compiled_formulas_agree_with_numpy_to_rounding() -> None:
    """The same formula on complex scalars in compiled code and on numpy arrays: equal up to
    the rounding of numpy's vectorised complex products (fused multiply-adds)."""
    arc, arc_denominator = _compiled(cf.arc), _compiled(cf.arc_denominator)
    arc_n = _compiled(cf.arc_exponent_derivative)
    omega = np.logspace(-2, 7, 50)
    ljw = np.log(omega) + cf.HALF_PI_J
    r, q, n = 750.0, 4e-9, 0.77
    s = cf.power(n, np.log(omega), cf.rotation(n))
    inv_d = 1.0 / cf.arc_denominator(r, q, s)
    want = cf.arc(r, q, s, inv_d)
    want_n = cf.arc_exponent_derivative(want[2], q, ljw)
    got = np.array([(arc_denominator(r, q, s[k]), *arc(r, q, s[k], inv_d[k])) for k in range(50)])
    np.testing.assert_allclose(got[:, 0], cf.arc_denominator(r, q, s), rtol=1e-15)
    for i in range(3):
        np.testing.assert_allclose(got[:, 1 + i], want[i], rtol=1e-15)
    got_n = np.array([arc_n(want[2][k], q, ljw[k]) for k in range(50)])
    np.testing.assert_allclose(got_n, want_n, rtol=1e-15)


@pytest.mark.parametrize("circuit", ["L0-R0-p(R1,CPE1)-p(R2,CPE2)", "R0-p(R1,C1)-CPE2"])
def test_numpy_and_compiled_solvers_take_the_same_steps(
    circuit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after 1, 2, ... iterations, both solvers stand at the same points with the same
    damping decisions (the same evaluations, starts converged and held): their linear
    algebra differs only in rounding."""
    pytest.importorskip("numba")
    monkeypatch.delenv("EISFIT_JIT", raising=False)
    from eisfit.fitting import compiled
    from eisfit.fitting.lm import batched_lm
    from eisfit.fitting.problem import Problem
    from eisfit.fitting.rounds import stacked_residuals

    c = compile_circuit(circuit)
    freq = np.logspace(6, -1, 50)
    omega = 2 * np.pi * freq
    values = {"L": 1e-6, "R": 200.0, "Q": 1e-6, "C": 1e-6, "n": 0.85}
    truth = np.array([values[p.short] for p in c.parameters])
    rng = np.random.default_rng(5)
    z = c.impedance(truth, freq) * (1 + 0.01 * rng.standard_normal(freq.size))
    w = 1.0 / np.abs(z)
    p = len(c)
    free, log = np.arange(p), np.array([par.short != "n" for par in c.parameters])
    lower, upper = np.where(log, -np.inf, 0.0), np.where(log, np.inf, 1.0)
    x_true = np.where(log, np.log(truth), truth)
    x0 = np.clip(x_true + np.where(log, 0.7, 0.08) * rng.standard_normal((4, p)), lower, upper)
    problem = Problem(circuit=c, omega=omega, z=z, w_re=w, w_im=w, free=free, log=log,
                      params=None, exprs=(), w_pair=np.repeat(w, 2), floor=np.zeros(p),
                      ceil=np.where(log, np.inf, 1.0), base=truth.copy())  # fmt: skip
    stacked = stacked_residuals(problem)
    for max_iter in range(1, 9):
        options = {"max_iter": max_iter, "ftol": FTOL, "drop_ratio": 3.0, "grace": 3}
        with np.errstate(all="ignore"):
            want = batched_lm(stacked, x0, lower=lower, upper=upper, **options)
        got = compiled.batched_chain_lm(c.layout, x0, lower=lower, upper=upper, base=truth,
                                        free=free, log=log, omega=omega, z=z, w_re=w, w_im=w,
                                        **options)  # fmt: skip
        assert (got.n_evaluations, got.n_rows) == (want.n_evaluations, want.n_rows), max_iter
        np.testing.assert_array_equal(got.converged, want.converged)
        np.testing.assert_array_equal(got.pinned, want.pinned)
        np.testing.assert_allclose(got.x, want.x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.cost, want.cost, rtol=1e-9)


def test_the_kernel_cache_is_keyed_on_the_shared_source() -> None:
    """numba keys a cached function on its own file only: `chain_lm` holds a digest of the
    rules and formulas it compiles in, so editing them cannot load a stale kernel.  (The
    digest function is private to the kernel: no public path shows the cache key.)"""
    pytest.importorskip("numba")
    from eisfit.fitting import chain_kernel

    cells = [cell.cell_contents for cell in chain_kernel.chain_lm.py_func.__closure__]
    # private: the cache key's fingerprint has no public view
    assert cells == [chain_kernel._shared_source_digest()]
