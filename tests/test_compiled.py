"""The compiled kernel (`eisfit.fitting.compiled`, numba) against the numpy path it replaces.

`make test` installs the ``fast`` extra, so these run there; without numba the module is
reported as skipped (and every other test runs on the numpy path).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

import eisfit
from eisfit.fitting import compiled
from eisfit.fitting.lm import batched_lm
from eisfit.fitting.problem import Problem
from eisfit.fitting.rounds import stacked_residuals
from eisfit.notation.model import compile_circuit
from eisfit.synthetic import random_cell, simulate

FREQ = np.logspace(np.log10(7e6), -1, 80)


@pytest.fixture(autouse=True)
def _kernel_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the kernel, also when the suite runs with EISFIT_JIT=0."""
    monkeypatch.delenv("EISFIT_JIT", raising=False)


OMEGA = 2 * np.pi * FREQ

# every kind of part the kernel evaluates: series R, L, C, CPE; R||CPE and R||C arcs in
# either order
CHAINS = [
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
    "R0-p(R1,C1)-p(CPE2,R2)",
    "L0-R0-p(R1,CPE1)-CPE2",
    "R0-p(C1,R1)-C2",
    "p(R1,CPE1)",
]


def _truth(circuit: str, rng: np.random.Generator) -> np.ndarray:
    """A parameter vector the spectrum determines: R 100-1000 ohm, arcs with time constants
    a decade or more apart inside the band, L = 1 uH (44 ohm at 7 MHz), series C or CPE
    of about 10 uF."""
    c = compile_circuit(circuit)
    theta = np.empty(len(c))
    for i, p in enumerate(c.parameters):
        if p.short == "n":
            theta[i] = rng.uniform(0.7, 0.95)
        elif p.symbol == "L":
            theta[i] = 1e-6
        elif p.symbol == "R":
            theta[i] = 10 ** rng.uniform(2, 3)
        else:
            theta[i] = 1e-5 * 10 ** rng.uniform(-0.3, 0.3)
    layout = c.layout
    for k, (r, q, n) in enumerate(zip(layout.arc_r, layout.arc_q, layout.arc_n, strict=True)):
        tau = 10.0 ** (-6 + 2 * k + rng.uniform(-0.3, 0.3))
        exponent = theta[n] if n >= 0 else 1.0
        theta[q] = tau**exponent / theta[r]
    return theta


def _problem(circuit: str, free: np.ndarray, rng: np.random.Generator) -> dict:
    c = compile_circuit(circuit)
    truth = _truth(circuit, rng)
    z = c.impedance(truth, FREQ) * (1 + 0.01 * rng.standard_normal(FREQ.size))
    log = np.array([c.parameters[i].short != "n" for i in free])
    w = 1.0 / np.abs(z)
    lower = np.where(log, -np.inf, 0.0)
    upper = np.where(log, np.inf, 1.0)
    return {
        "circuit": c,
        "truth": truth,
        "z": z,
        "free": free,
        "log": log,
        "w": w,
        "lower": lower,
        "upper": upper,
    }


def _numpy_stacked(pb: dict):
    """The residual function the numpy path gives `batched_lm` for the same problem."""
    c, free = pb["circuit"], pb["free"]
    problem = Problem(
        circuit=c,
        omega=OMEGA,
        z=pb["z"],
        w_re=pb["w"],
        w_im=pb["w"],
        free=free,
        log=pb["log"],
        params=None,
        exprs=(),
        w_pair=np.repeat(pb["w"], 2),
        floor=np.where(pb["log"], 0.0, pb["lower"]),
        ceil=np.where(pb["log"], np.inf, pb["upper"]),
        base=pb["truth"].copy(),
    )
    return stacked_residuals(problem)


def _compiled(pb: dict, x0: np.ndarray, **options):
    return compiled.batched_chain_lm(
        pb["circuit"].layout,
        x0,
        lower=pb["lower"],
        upper=pb["upper"],
        base=pb["truth"],
        free=pb["free"],
        log=pb["log"],
        omega=OMEGA,
        z=pb["z"],
        w_re=pb["w"],
        w_im=pb["w"],
        **options,
    )


def _starts(pb: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """Starts around the truth (factors up to 3 on scales, n moved by up to 0.1)."""
    nat = pb["truth"][pb["free"]]
    x = np.where(pb["log"], np.log(nat), nat)
    scales = rng.uniform(-1.1, 1.1, (n, x.size))
    jitter = np.where(pb["log"], scales, rng.uniform(-0.1, 0.1, (n, x.size)))
    return np.clip(x + jitter, pb["lower"], pb["upper"])


def test_compiled_kernel_is_active_with_numba() -> None:
    assert compiled.active()


@pytest.mark.parametrize("circuit", CHAINS)
def test_first_evaluation_matches_the_numpy_model(circuit: str) -> None:
    """With no iterations the kernel returns the cost of each start: the weighted residual
    sum of squares of the numpy model, with fixed parameters taken from ``base``."""
    rng = np.random.default_rng(1)
    c = compile_circuit(circuit)
    for free in (np.arange(len(c)), np.arange(len(c))[1:]):
        pb = _problem(circuit, free, rng)
        x0 = _starts(pb, rng, 6)
        out = _compiled(pb, x0, max_iter=0, ftol=1e-9)
        for x, cost in zip(x0, out.cost, strict=True):
            theta = pb["truth"].copy()
            theta[free] = np.where(pb["log"], np.exp(x), x)
            r = (c.impedance(theta, FREQ) - pb["z"]) * pb["w"]
            assert cost == pytest.approx(float(np.sum(r.real**2 + r.imag**2)), rel=1e-12)
        assert out.n_evaluations == 1 and out.n_rows == 6


@pytest.mark.parametrize("circuit", CHAINS)
@pytest.mark.parametrize("drop", [None, 3.0])
def test_kernel_takes_the_steps_of_batched_lm(circuit: str, drop: float | None) -> None:
    """Same algorithm as `eisfit.fitting.lm.batched_lm` on the same problem: the same best cost,
    and the same final points and costs for every start that stays well-conditioned.  (A
    start that lets a parameter vanish, log R -> -1e3, walks a flat direction where the
    rounding differences of the two linear solvers grow.)"""
    rng = np.random.default_rng(2)
    c = compile_circuit(circuit)
    # all free, and with the first parameter held at its true value
    for free in (np.arange(len(c)), np.arange(len(c))[1:]):
        pb = _problem(circuit, free, rng)
        x0 = _starts(pb, rng, 8)
        options = {"max_iter": 40, "ftol": 1e-9, "drop_ratio": drop, "grace": 3}
        with np.errstate(all="ignore"):  # as in eisfit.fit: overflowing trials cost inf
            stacked = _numpy_stacked(pb)
            want = batched_lm(stacked, x0, lower=pb["lower"], upper=pb["upper"], **options)
        got = _compiled(pb, x0, **options)
        assert got.cost.min() == pytest.approx(want.cost.min(), rel=1e-9)
        sane = (np.abs(want.x) < 60).all(axis=1) & (np.abs(got.x) < 60).all(axis=1)
        assert sane.sum() >= 4
        np.testing.assert_allclose(got.cost[sane], want.cost[sane], rtol=1e-8)
        np.testing.assert_allclose(got.x[sane], want.x[sane], rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(got.pinned[sane], want.pinned[sane])
        # when each start stops can differ: at a minimum, whether the last trial step
        # lowered the cost by 1e-16 (converged) or not (damping grows) is rounding
        assert got.converged[np.argmin(got.cost)]
        assert want.converged[np.argmin(want.cost)]


def test_a_start_on_a_bound_is_held_there() -> None:
    """Data of an arc with n = 1.05: within n <= 1 the optimum is on the bound, where the
    starts end, pinned, as with `batched_lm`."""
    rng = np.random.default_rng(3)
    circuit = "R0-p(R1,CPE1)"
    c = compile_circuit(circuit)
    pb = _problem(circuit, np.arange(len(c)), rng)
    truth = pb["truth"].copy()
    truth[3] = 1.05
    pb["z"] = c.impedance(truth, FREQ)
    pb["truth"][3] = 0.9
    x0 = _starts(pb, rng, 4)
    out = _compiled(pb, x0, max_iter=60, ftol=1e-12)
    with np.errstate(all="ignore"):
        want = batched_lm(
            _numpy_stacked(pb), x0, lower=pb["lower"], upper=pb["upper"], max_iter=60, ftol=1e-12
        )
    best = int(np.argmin(out.cost))
    assert out.x[best, 3] == 1.0 and out.pinned[best, 3]
    assert out.cost[best] == pytest.approx(want.cost.min(), rel=1e-9)


def test_budget_stops_before_the_next_iteration() -> None:
    rng = np.random.default_rng(4)
    pb = _problem(CHAINS[0], np.arange(11), rng)
    out = _compiled(pb, _starts(pb, rng, 5), max_iter=40, ftol=1e-9, max_rows=7)
    assert out.n_evaluations == 2 and out.n_rows == 10  # 5 + 5 > 7: no third call


def test_starts_that_overflow_are_left_out() -> None:
    rng = np.random.default_rng(5)
    pb = _problem(CHAINS[1], np.arange(len(compile_circuit(CHAINS[1]))), rng)
    x0 = _starts(pb, rng, 3)
    x0[1, 0] = 800.0  # exp(800) = inf
    out = _compiled(pb, x0, max_iter=10, ftol=1e-9)
    assert np.isinf(out.cost[1]) and np.isfinite(out.cost[[0, 2]]).all()
    np.testing.assert_array_equal(out.x[1], x0[1])  # never moved


def test_a_kernel_that_fails_to_build_falls_back_to_numpy_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(kernel: object) -> None:
        raise RuntimeError("LLVM said no")

    # private: a kernel build failure is simulated; no public hook exists
    monkeypatch.setattr(compiled, "_warm_up", broken)
    compiled._load.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="LLVM said no"):
            assert not compiled.active()
        rng = np.random.default_rng(8)
        cell = random_cell(rng, 2)
        spectrum = simulate(cell.circuit, cell.values, FREQ, noise=0.007, rng=rng)
        assert eisfit.fit(spectrum, cell.circuit, kk=False).success  # on numpy
    finally:
        compiled._load.cache_clear()  # the next test loads the real kernel again


def test_a_capacitance_underflowing_to_zero_costs_inf_not_an_exception() -> None:
    """exp(-800) = 0: the series C's impedance divides by zero.  Numpy gives inf (the start
    is left out), and so must the kernel, not Python's ZeroDivisionError."""
    rng = np.random.default_rng(7)
    circuit = "R0-p(C1,R1)-C2"
    pb = _problem(circuit, np.arange(4), rng)
    x0 = _starts(pb, rng, 3)
    x0[0, 3] = -800.0  # C2 = 0
    x0[1, 1] = -800.0  # C1 = 0: the arc is a plain resistor, still finite
    out = _compiled(pb, x0, max_iter=0, ftol=1e-9)
    assert np.isinf(out.cost[0]) and np.isfinite(out.cost[1:]).all()


def test_fits_are_the_same_with_and_without_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: 30 random 2- and 3-arc cells, with and without fixed values and bounds."""
    rng = np.random.default_rng(6)
    for i in range(30):
        cell = random_cell(rng, 2 + i % 2)
        spectrum = simulate(cell.circuit, cell.values, FREQ, noise=0.007, rng=rng)
        options: dict = {}
        if i % 3 == 1:
            options["fixed"] = {"L0.L": cell.values["L0.L"]}
        if i % 3 == 2:
            options["bounds"] = {"CPE1.n": (0.5, 0.95)}
        monkeypatch.setenv("EISFIT_JIT", "1")
        fast = eisfit.fit(spectrum, cell.circuit, kk=False, **options)
        monkeypatch.setenv("EISFIT_JIT", "0")
        assert not compiled.active()
        plain = eisfit.fit(spectrum, cell.circuit, kk=False, **options)
        assert fast.success == plain.success
        assert fast.chi2 == pytest.approx(plain.chi2, rel=1e-6)
        assert fast.status == plain.status and set(fast.undetermined) == set(plain.undetermined)
        for name, value in plain.optimum.items():
            if name in plain.undetermined:
                continue  # not an estimate: wherever the data let it drift
            assert fast.optimum[name] == pytest.approx(value, rel=1e-4, abs=1e-12), name
