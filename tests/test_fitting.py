"""Tests of eisfit.fit and FitResult: recovery, options, uncertainties, interop, bad input.

Spectra are synthetic (`eisfit.synthetic`) with known ground truth.  Recovery is judged by
z-scores, |value - truth| / stderr, not by fixed tolerances, and the optimum is compared
with a fit started at the truth.

numpy floating-point RuntimeWarnings raised inside `eisfit.fit` are *recorded* by the
`_fit` helper instead of being turned into errors by the project's ``filterwarnings =
error``, so that each test here fails only for the reason it is about.  Whether such
warnings escape from `eisfit.fit` is tested on its own, in
`test_no_floating_point_warnings_escape_from_fit`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import lmfit
import numpy as np
import pytest
from impedance.models.circuits import CustomCircuit
from impedance.models.circuits.fitting import wrapCircuit

import eisfit
from eisfit import (
    CircuitError,
    CircuitSyntaxError,
    EisfitError,
    FitInputError,
    FitResult,
    KKResult,
    Spectrum,
)
from eisfit.synthetic import cpe_q, random_cell, simulate

F_HZ = np.logspace(np.log10(7e6), -1, 80)  # 80 points, 7 MHz .. 0.1 Hz, high to low
NOISE = 0.005  # 0.5 % of |Z| on each of Z', Z''
WIDE_HZ = np.logspace(8, -3, 57)  # beyond the fitted band, for prediction checks

ONE_ARC = "R0-p(R1,CPE1)"
TWO_ARCS = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
THREE_ARCS = "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"
CIRCUITS = {1: ONE_ARC, 2: TWO_ARCS, 3: THREE_ARCS}

_FP_WARNING = r"(overflow|underflow|invalid value|divide by zero) encountered"


# --------------------------------------------------------------------------- helpers


def _fit_recording(*args: Any, **kwargs: Any) -> tuple[FitResult, list[str]]:
    """`eisfit.fit`, returning numpy floating-point warnings instead of raising them.

    Any other warning still follows the project's filter (an error).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message=_FP_WARNING, category=RuntimeWarning)
        result = eisfit.fit(*args, **kwargs)
    return result, [f"{w.filename}:{w.lineno}: {w.message}" for w in caught]


def _fit(*args: Any, **kwargs: Any) -> FitResult:
    return _fit_recording(*args, **kwargs)[0]


@dataclass(frozen=True)
class Case:
    circuit: str
    truth: dict[str, float]
    spectrum: Spectrum


def _one_arc_truth(rng: np.random.Generator) -> dict[str, float]:
    r0 = float(np.exp(rng.uniform(np.log(5.0), np.log(200.0))))
    r1 = float(np.exp(rng.uniform(np.log(100.0), np.log(5000.0))))
    apex = float(np.exp(rng.uniform(np.log(10.0), np.log(1e5))))
    n = float(rng.uniform(0.7, 0.95))
    return {"R0.R": r0, "R1.R": r1, "CPE1.Q": cpe_q(r1, apex, n), "CPE1.n": n}


@cache
def _case(n_arcs: int, seed: int, noise: float = NOISE) -> Case:
    """Ground truth drawn from ``default_rng(seed)``; the noise continues the same stream."""
    rng = np.random.default_rng(seed)
    if n_arcs == 1:
        truth = _one_arc_truth(rng)
    else:
        cell = random_cell(rng, n_arcs)
        assert cell.circuit == CIRCUITS[n_arcs]
        truth = cell.values
    spectrum = simulate(CIRCUITS[n_arcs], truth, F_HZ, noise=noise, rng=rng)
    return Case(CIRCUITS[n_arcs], truth, spectrum)


@cache
def _free_fit(n_arcs: int, seed: int) -> tuple[FitResult, tuple[str, ...]]:
    case = _case(n_arcs, seed)
    result, caught = _fit_recording(case.spectrum, case.circuit)
    return result, tuple(caught)


@cache
def _truth_fit(n_arcs: int, seed: int) -> FitResult:
    case = _case(n_arcs, seed)
    return _fit(case.spectrum, case.circuit, initial=case.truth, n_starts=1)


def _weights(
    z: np.ndarray, weighting: str, sigma: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The weights as documented in eisfit.fitting.api.weights, written out independently."""
    mod = np.abs(z)
    if weighting == "modulus":
        return 1 / mod, 1 / mod
    if weighting == "unit":
        return np.ones_like(mod), np.ones_like(mod)
    if weighting == "proportional":
        return 1 / np.maximum(np.abs(z.real), 1e-3 * mod), 1 / np.maximum(
            np.abs(z.imag), 1e-3 * mod
        )
    assert weighting == "sigma" and sigma is not None
    if np.iscomplexobj(sigma):
        return 1 / sigma.real, 1 / sigma.imag
    return 1 / sigma, 1 / sigma


def _ipy_model(circuit: str):
    """impedance.py's own evaluation of ``circuit``: f, *theta -> Z (independent of eisfit)."""
    stacked = wrapCircuit(circuit, {})

    def model(f: np.ndarray, theta: np.ndarray) -> np.ndarray:
        out = stacked(f, *theta)
        return out[: f.size] + 1j * out[f.size :]

    return model


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# --------------------------------------------------------------------------- 1. recovery

RECOVERY_CASES = [(n, seed) for n in (1, 2, 3) for seed in range(8)] + [(3, 10)]


@pytest.mark.parametrize(
    ("n_arcs", "seed"),
    RECOVERY_CASES,
)
def test_recovery_without_initial_values(n_arcs: int, seed: int) -> None:
    case = _case(n_arcs, seed)
    result, _ = _free_fit(n_arcs, seed)
    reference = _truth_fit(n_arcs, seed)
    assert result.success, result.message
    # the automatic search finds an optimum at least as good as a fit started at the truth
    assert result.chi2 <= reference.chi2 * (1 + 1e-3), (
        f"chi2 {result.chi2:.6g} > {reference.chi2:.6g} from the truth; {dict(result.values)}"
    )
    off, checked = [], []
    for name, truth in case.truth.items():
        value, se = result.values[name], result.stderr[name]
        if not (math.isfinite(se) and 0 < se < 0.5 * abs(value)):
            continue  # the data do not pin this one down: allowed to be loose
        checked.append(name)
        z = (value - truth) / se
        if abs(z) >= 5:
            off.append(f"{name}: fit {value:.5g} +- {se:.3g}, truth {truth:.5g}, z = {z:.1f}")
    assert not off, "\n".join(off)
    # not vacuous: most parameters are checked, and no arc parameter has a singular covariance
    assert len(checked) >= len(case.truth) // 2, checked
    arcs = [n for n in case.truth if not n.startswith(("L0.", "R0."))]
    assert all(math.isfinite(result.stderr[n]) for n in arcs), dict(result.stderr)


def test_no_floating_point_warnings_escape_from_fit() -> None:
    leaks = {case: _free_fit(*case)[1] for case in RECOVERY_CASES}
    leaks = {case: sorted(set(w))[:3] for case, w in leaks.items() if w}
    assert not leaks, f"{len(leaks)} of {len(RECOVERY_CASES)} fits leak warnings: {leaks}"


# --------------------------------------------------------------------------- 2. determinism


def test_same_input_gives_identical_values() -> None:
    case = _case(3, 1)
    copy = Spectrum(
        frequency_hz=case.spectrum.frequency_hz.copy(),
        impedance_ohm=case.spectrum.impedance_ohm.copy(),
    )
    a = _fit(case.spectrum, case.circuit)
    b = _fit(copy, case.circuit)
    assert dict(a.values) == dict(b.values)
    assert dict(a.stderr) == dict(b.stderr)
    assert a.chi2 == b.chi2
    assert a.nfev == b.nfev and a.n_starts == b.n_starts


def test_point_order_does_not_matter() -> None:
    case = _case(2, 2)
    a = _free_fit(2, 2)[0]
    ascending = case.spectrum.sorted(descending=False)
    b = _fit(ascending, case.circuit)
    for name in case.truth:
        assert b.values[name] == pytest.approx(a.values[name], rel=1e-6, abs=1e-12)
    assert b.chi2 == pytest.approx(a.chi2, rel=1e-9)
    # residuals follow the order of the spectrum's points; they are fractions of |Z|, and
    # values agreeing to 1e-6 move them by ~1e-9, so 1e-8 absolute is still a tight check
    np.testing.assert_allclose(b.residuals_real, a.residuals_real[::-1], rtol=1e-5, atol=1e-8)


def test_accepts_a_compiled_circuit() -> None:
    case = _case(1, 0)
    a = _fit(case.spectrum, eisfit.compile_circuit(case.circuit))
    b = _fit(case.spectrum, case.circuit)
    assert dict(a.values) == dict(b.values)
    assert a.circuit == case.circuit


# --------------------------------------------------------------------------- 3. ordering

ORDER_CIRCUITS = [
    TWO_ARCS,
    "p(CPE1,R1)-R0",
    "R0-p(R1-Wo1,CPE1)-p(C2,R2-p(R3,La3))-G4",
    "Zarc1-K2-W3-Ws4-L5-C6",
]


def test_result_values_follow_impedance_py_order() -> None:
    result = _free_fit(2, 0)[0]
    expected = ["L0.L", "R0.R", "R1.R", "CPE1.Q", "CPE1.n", "R2.R", "CPE2.Q", "CPE2.n"]
    assert list(result.values) == expected
    assert list(result.stderr) == expected
    assert list(result.initial) == expected
    np.testing.assert_array_equal(result.theta, [result.values[n] for n in expected])


def test_result_order_for_a_circuit_written_out_of_order() -> None:
    case = _case(1, 0)
    result = _fit(case.spectrum, "p(CPE1,R1)-R0")
    assert list(result.values) == ["CPE1.Q", "CPE1.n", "R1.R", "R0.R"]
    for name in result.values:
        assert result.values[name] == pytest.approx(_free_fit(1, 0)[0].values[name], rel=1e-5)


@pytest.mark.parametrize("circuit", ORDER_CIRCUITS)
def test_parameter_order_matches_impedance_py(circuit: str) -> None:
    model = eisfit.compile_circuit(circuit)
    ipy_names, _ = CustomCircuit(circuit, initial_guess=[1.0] * len(model)).get_param_names()
    # impedance.py names a one-parameter element by itself ("R0") and the k-th parameter of
    # a multi-parameter element "CPE1_k"
    counts = Counter(p.element for p in model.parameters)
    ours = [p.element if counts[p.element] == 1 else p.ipy_name for p in model.parameters]
    assert ours == ipy_names
    # readable names are element.short, in the same order
    assert list(model.names) == [f"{p.element}.{p.short}" for p in model.parameters]


@pytest.mark.parametrize("circuit", [TWO_ARCS])
def test_ipy_names_are_impedance_py_names(circuit: str) -> None:
    model = eisfit.compile_circuit(circuit)
    ipy_names, _ = CustomCircuit(circuit, initial_guess=[1.0] * len(model)).get_param_names()
    assert [p.ipy_name for p in model.parameters] == ipy_names


def test_multi_parameter_ipy_names_match_impedance_py() -> None:
    model = eisfit.compile_circuit(TWO_ARCS)
    ipy_names, _ = CustomCircuit(TWO_ARCS, initial_guess=[1.0] * len(model)).get_param_names()
    ours = [p.ipy_name for p in model.parameters]
    multi = [n for n in ipy_names if n.startswith("CPE")]
    assert multi == ["CPE1_0", "CPE1_1", "CPE2_0", "CPE2_1"]
    assert [n for n in ours if n.startswith("CPE")] == multi
    assert [ours.index(n) for n in multi] == [ipy_names.index(n) for n in multi]


def test_fixed_accepts_impedance_py_name_of_single_parameter_element() -> None:
    case = _case(1, 0)
    result = _fit(case.spectrum, case.circuit, fixed={"R0": 20.0})
    assert result.values["R0.R"] == 20.0


# --------------------------------------------------------------------------- 4. interop

LA_CIRCUIT = "La0-R0-p(R1,CPE1)"
LA_TRUTH = {
    "La0.L": 3e-6,
    "La0.n": 0.8,
    "R0.R": 20.0,
    "R1.R": 300.0,
    "CPE1.Q": cpe_q(300.0, 1e4, 0.9),
    "CPE1.n": 0.9,
}


@cache
def _la_spectrum() -> Spectrum:
    return simulate(LA_CIRCUIT, LA_TRUTH, F_HZ, noise=NOISE, rng=np.random.default_rng(7))


def _interop_result(kind: str) -> FitResult:
    if kind == "two arcs":
        return _free_fit(2, 0)[0]
    if kind == "La":
        return _fit(_la_spectrum(), LA_CIRCUIT)
    if kind == "La, fixed CPE1.n":
        return _fit(_la_spectrum(), LA_CIRCUIT, fixed={"CPE1.n": 0.9})
    if kind == "fixed CPE1.n":
        case = _case(2, 0)
        return _fit(case.spectrum, case.circuit, fixed={"CPE1.n": 0.9})
    if kind == "fixed La0.n":
        return _fit(_la_spectrum(), LA_CIRCUIT, fixed={"La0.n": 0.8})
    if kind == "expression":
        case = _case(2, 0)
        return _fit(case.spectrum, case.circuit, expressions={"CPE2.n": "CPE1_n"})
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    ["two arcs", "La", "La, fixed CPE1.n", "fixed CPE1.n", "fixed La0.n", "expression"],
)
def test_to_impedance_py_predicts_the_same(kind: str) -> None:
    result = _interop_result(kind)
    cc = result.to_impedance_py()
    assert isinstance(cc, CustomCircuit)
    assert cc.circuit == result.circuit
    for f in (result.spectrum.frequency_hz, WIDE_HZ):
        np.testing.assert_allclose(cc.predict(f), result.predict(f), rtol=1e-9, atol=0)
    # fixed parameters become impedance.py constants, the rest are fitted parameters
    model = result.model
    fixed_ipy = {model.parameters[model.index(n)].ipy_name for n in result.fixed}
    assert set(cc.constants) == fixed_ipy
    assert len(cc.parameters_) == len(result.values) - len(result.fixed)


def test_to_impedance_py_converts_la() -> None:
    result = _interop_result("La")
    cc = result.to_impedance_py()
    ell, n = result.values["La0.L"], result.values["La0.n"]
    # BioLogic L (jw)^n  ==  impedance.py (L' jw)^n  with  L' = L^(1/n)
    assert cc.parameters_[0] == pytest.approx(ell ** (1 / n), rel=1e-12)
    assert cc.parameters_[0] != pytest.approx(ell, rel=1e-3)
    np.testing.assert_allclose(cc.parameters_[1:], list(result.values.values())[1:], rtol=1e-15)


def test_to_impedance_py_with_fixed_resistor() -> None:
    case = _case(1, 0)
    result = _fit(case.spectrum, case.circuit, fixed={"R0.R": 20.0})
    cc = result.to_impedance_py()
    np.testing.assert_allclose(cc.predict(F_HZ), result.predict(F_HZ), rtol=1e-9)


def test_to_impedance_py_is_a_complete_fitted_model() -> None:
    result = _free_fit(2, 0)[0]
    cc = result.to_impedance_py()
    assert "CPE1_1" in str(cc)
    np.testing.assert_allclose(cc.conf_, list(result.stderr.values()), rtol=1e-12)


# --------------------------------------------------------------------------- 5. weightings

WEIGHTINGS = [
    ("unit", None),
    ("proportional", None),
    ("modulus", None),
    ("sigma", "real"),
    ("sigma", "complex"),
]


def _sigma(z: np.ndarray, kind: str | None) -> np.ndarray | None:
    if kind == "real":
        return 0.01 * np.abs(z)
    if kind == "complex":
        return 0.01 * (np.abs(z.real) + 1e-3 * np.abs(z)) + 0.02j * np.abs(z.imag) + 1e-6j
    return None


@pytest.mark.parametrize(("weighting", "sigma_kind"), WEIGHTINGS)
def test_weightings_recover_noise_free_spectrum(weighting: str, sigma_kind: str | None) -> None:
    rng = np.random.default_rng(3)
    cell = random_cell(rng, 2)
    spectrum = simulate(cell.circuit, cell.values, F_HZ)
    sigma = _sigma(spectrum.impedance_ohm, sigma_kind)
    result = _fit(spectrum, cell.circuit, weighting=weighting, sigma=sigma)
    assert result.success, result.message
    assert result.weighting == weighting
    assert result.to_dict()["weighting"] == weighting
    for name, truth in cell.values.items():
        assert result.values[name] == pytest.approx(truth, rel=1e-6), name


@pytest.mark.parametrize(("weighting", "sigma_kind"), WEIGHTINGS)
def test_chi2_is_the_weighted_sum_of_squares(weighting: str, sigma_kind: str | None) -> None:
    case = _case(2, 4)
    z = case.spectrum.impedance_ohm
    sigma = _sigma(z, sigma_kind)
    result = _fit(case.spectrum, case.circuit, weighting=weighting, sigma=sigma)
    zfit = result.predict(case.spectrum.frequency_hz)
    w_re, w_im = _weights(z, weighting, sigma)
    d = zfit - z
    chi2 = float(np.sum((w_re * d.real) ** 2) + np.sum((w_im * d.imag) ** 2))
    assert result.chi2 == pytest.approx(chi2, rel=1e-9)
    assert result.chi2_per_point == pytest.approx(chi2 / z.size, rel=1e-9)
    # residuals are relative to |Z| whatever the weighting
    np.testing.assert_allclose(result.residuals_real, (z - zfit).real / np.abs(z), atol=1e-12)
    np.testing.assert_allclose(result.residuals_imag, (z - zfit).imag / np.abs(z), atol=1e-12)


def test_sigma_weighting_is_absolute() -> None:
    """sigma = |Z| reproduces modulus weighting; stderr is then *not* scaled by chi2."""
    case = _case(2, 5)
    modulus = _fit(case.spectrum, case.circuit)
    absolute = _fit(
        case.spectrum, case.circuit, weighting="sigma", sigma=np.abs(case.spectrum.impedance_ohm)
    )
    assert absolute.chi2 == pytest.approx(modulus.chi2, rel=1e-6)
    scale = math.sqrt(modulus.reduced_chi2)
    for name in case.truth:
        # sigma = |Z| claims 100 % uncertainty: values end up undetermined (stderr > value),
        # but the estimates and their standard errors are the same
        assert absolute.optimum[name] == pytest.approx(modulus.optimum[name], rel=1e-5, abs=1e-12)
        assert absolute.stderr[name] == pytest.approx(modulus.stderr[name] / scale, rel=1e-3)


@pytest.mark.parametrize("weighting", ["Modulus", "weighted", "", "sigma2"])
def test_unknown_weighting(weighting: str) -> None:
    case = _case(1, 0)
    with pytest.raises(FitInputError, match="weighting"):
        eisfit.fit(case.spectrum, case.circuit, weighting=weighting)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sigma",
    [None, np.ones(79), np.ones((80, 1)), np.ones(81), -np.ones(80), np.zeros(80)],
    ids=["missing", "short", "2-D", "long", "negative", "zero"],
)
def test_bad_sigma(sigma) -> None:
    case = _case(1, 0)
    with pytest.raises(FitInputError, match="sigma"):
        eisfit.fit(case.spectrum, case.circuit, weighting="sigma", sigma=sigma)


# --------------------------------------------------------------------------- 6. options


@pytest.mark.parametrize("name", ["CPE1.n", "CPE1_1", "CPE1_n"])
def test_fixed_is_kept_exactly(name: str) -> None:
    case = _case(2, 0)
    result = _fit(case.spectrum, case.circuit, fixed={name: 0.9})
    assert result.success, result.message
    assert result.values["CPE1.n"] == 0.9
    assert result.stderr["CPE1.n"] == 0.0
    assert result.fixed == ("CPE1.n",)
    assert result.to_dict()["parameters"]["CPE1.n"]["fixed"] is True
    assert result.to_dict()["parameters"]["CPE1.Q"]["fixed"] is False
    # the other parameters are still fitted and have uncertainties
    assert all(result.stderr[n] > 0 for n in result.values if n != "CPE1.n")


def test_fixed_at_truth_then_fit_is_as_good_as_free_fit_at_truth() -> None:
    case = _case(1, 1)
    n_true = case.truth["CPE1.n"]
    result = _fit(case.spectrum, case.circuit, fixed={"CPE1.n": n_true})
    free = _free_fit(1, 1)[0]
    assert result.values["CPE1.n"] == n_true
    assert result.chi2 >= free.chi2 * (1 - 1e-9)  # one fewer free parameter cannot do better


@pytest.mark.parametrize("bounds", [(50.0, 100.0), (1000.0, 1e4), (100.0, 150.0)])
def test_bounds_are_respected(bounds: tuple[float, float]) -> None:
    case = _case(2, 3)  # R1.R is about 120 ohm
    lo, hi = bounds
    result = _fit(case.spectrum, case.circuit, bounds={"R1.R": bounds})
    assert lo <= result.optimum["R1.R"] <= hi
    free = _free_fit(2, 3)[0]
    if lo < free.values["R1.R"] < hi:  # the bound is not active
        assert result.chi2 <= free.chi2 * (1 + 1e-6)
        assert result.values["R1.R"] == pytest.approx(free.values["R1.R"], rel=1e-4)
    else:  # held on the user's bound: the bound, not the data, sets it
        assert math.isnan(result.values["R1.R"]) and result.status == "undetermined"
        assert "bound given to the fit" in result.undetermined["R1.R"]


def test_bounds_on_an_exponent() -> None:
    case = _case(2, 3)
    result = _fit(case.spectrum, case.circuit, bounds={"CPE2.n": (0.5, 0.7)})
    assert 0.5 <= result.values["CPE2.n"] <= 0.7


def test_initial_for_a_subset() -> None:
    case = _case(2, 1)
    initial = {"R1.R": 3 * case.truth["R1.R"], "CPE2.n": 0.7}
    result = _fit(case.spectrum, case.circuit, initial=initial)
    free = _free_fit(2, 1)[0]
    assert result.success, result.message
    assert result.chi2 <= free.chi2 * (1 + 1e-3)


def test_complete_initial_is_the_first_start() -> None:
    case = _case(2, 1)
    result = _truth_fit(2, 1)
    assert result.n_starts == 1
    for name, truth in case.truth.items():
        assert result.initial[name] == pytest.approx(truth, rel=1e-9), name


def test_expression_constraint() -> None:
    result = _interop_result("expression")
    free = _free_fit(2, 0)[0]
    assert result.success, result.message
    assert result.values["CPE2.n"] == pytest.approx(result.values["CPE1.n"], rel=1e-12)
    assert "CPE2.n" not in result.fixed
    assert result.stderr["CPE2.n"] == pytest.approx(result.stderr["CPE1.n"], rel=1e-6)
    assert result.chi2 >= free.chi2 * (1 - 1e-9)


@pytest.mark.parametrize("option", ["initial", "fixed", "bounds", "expressions"])
@pytest.mark.parametrize("bad", ["CPE9.n", "R1.Q", "Rx", "CPE1_2", "cpe1.n"])
def test_unknown_parameter_names(option: str, bad: str) -> None:
    case = _case(2, 0)
    value: Any = {"initial": 1.0, "fixed": 0.5, "bounds": (0.1, 0.9), "expressions": "CPE1_n"}
    with pytest.raises(FitInputError) as info:
        eisfit.fit(case.spectrum, case.circuit, **{option: {bad: value[option]}})
    assert bad in str(info.value)


def test_expression_referring_to_unknown_name() -> None:
    case = _case(2, 0)
    with pytest.raises(FitInputError, match="CPE9_n"):
        eisfit.fit(case.spectrum, case.circuit, expressions={"CPE2.n": "CPE9_n"})


@pytest.mark.parametrize(
    "bounds", [(5.0, 5.0), (6.0, 5.0), (math.nan, 5.0), (1.0,), "ab", 3.0, (1.0, 2.0, 3.0)]
)
def test_bad_bounds(bounds: Any) -> None:
    case = _case(2, 0)
    with pytest.raises(FitInputError, match=re.escape("R1.R")):
        eisfit.fit(case.spectrum, case.circuit, bounds={"R1.R": bounds})


@pytest.mark.parametrize(
    ("name", "value"),
    [("CPE1.n", math.nan), ("R1.R", math.inf), ("R1.R", -5.0), ("CPE1.Q", 0.0), ("R1.R", "x")],
)
def test_bad_fixed_values(name: str, value: Any) -> None:
    case = _case(2, 0)
    with pytest.raises(FitInputError, match=re.escape(name)):
        eisfit.fit(case.spectrum, case.circuit, fixed={name: value})


@pytest.mark.parametrize(
    ("fixed", "bounds"),
    [({"CPE1.n": 1.5}, None), ({"CPE1.n": -0.5}, None), ({"R1.R": 500.0}, {"R1.R": (100, 200)})],
)
def test_fixed_value_is_never_silently_changed(fixed, bounds) -> None:
    case = _case(1, 0)
    try:
        result = _fit(case.spectrum, case.circuit, fixed=fixed, bounds=bounds)
    except FitInputError:
        return
    for name, value in fixed.items():
        assert result.values[name] == value


@pytest.mark.parametrize(
    "options",
    [
        {"fixed": {"CPE1.n": 0.9, "CPE1_1": 0.8}},
        {"fixed": {"CPE1.n": 0.9}, "expressions": {"CPE1.n": "0.8"}},
    ],
    ids=["two-names", "fixed-and-expression"],
)
def test_contradictory_options_raise(options: dict[str, Any]) -> None:
    case = _case(1, 0)
    with pytest.raises(FitInputError):
        _fit(case.spectrum, case.circuit, **options)


def test_all_parameters_fixed() -> None:
    case = _case(1, 0)
    try:
        result = _fit(case.spectrum, case.circuit, fixed=case.truth)
    except FitInputError:
        return
    assert result.success, result.message
    assert dict(result.values) == case.truth


# --------------------------------------------------------------------------- 7. uncertainty


def _lmfit_reference(
    result: FitResult,
    *,
    weighting: str = "modulus",
    sigma: np.ndarray | None = None,
    expressions: dict[str, str] | None = None,
) -> lmfit.minimizer.MinimizerResult:
    """lmfit's least squares on the same weighted residual, started at eisfit's optimum.

    Residual: r = [w' (Z'_model - Z'), w'' (Z''_model - Z'')], the real parts of all points
    stacked on the imaginary parts, with w' = w'' = 1/|Z| for modulus weighting and
    1/sigma for sigma weighting.  The model is impedance.py's evaluation of the circuit
    (not eisfit's), parameters unbounded; MINPACK's finite-difference Jacobian gives the
    covariance, scaled by reduced chi2 except for (absolute) sigma weighting.
    """
    model = result.model
    f, z = result.spectrum.frequency_hz, result.spectrum.impedance_ohm
    w_re, w_im = _weights(z, weighting, sigma)
    ipy = _ipy_model(result.circuit)
    params = lmfit.Parameters()
    for p in model.parameters:
        params.add(p.identifier, value=result.values[p.name], vary=p.name not in result.fixed)
    for name, expr in (expressions or {}).items():
        params[model.parameters[model.index(name)].identifier].set(expr=expr)
    names = [p.identifier for p in model.parameters]

    def residual(ps: lmfit.Parameters) -> np.ndarray:
        d = ipy(f, np.array([ps[n].value for n in names])) - z
        return np.concatenate([w_re * d.real, w_im * d.imag])

    minimizer = lmfit.Minimizer(residual, params, scale_covar=weighting != "sigma")
    return minimizer.minimize(method="leastsq")


@pytest.mark.parametrize(
    "kind", ["two arcs", "three arcs", "fixed CPE1.n", "expression", "sigma", "one arc"]
)
def test_stderr_matches_lmfit_reference(kind: str) -> None:
    kwargs: dict[str, Any] = {}
    expressions = None
    if kind == "three arcs":
        result = _free_fit(3, 2)[0]
    elif kind == "one arc":
        result = _free_fit(1, 3)[0]
    elif kind == "sigma":
        case = _case(2, 0)
        # 3x the real noise: reduced chi2 ~ 1/9, so scaling the covariance would show
        sigma = 3 * NOISE * np.abs(case.spectrum.impedance_ohm)
        result = _fit(case.spectrum, case.circuit, weighting="sigma", sigma=sigma)
        kwargs = {"weighting": "sigma", "sigma": sigma}
    else:
        result = _interop_result(kind)
        if kind == "expression":
            expressions = {"CPE2.n": "CPE1_n"}
    assert result.success, result.message
    ref = _lmfit_reference(result, expressions=expressions, **kwargs)
    assert ref.success and ref.errorbars, ref.message
    # both sit at the same optimum ...
    assert ref.chisqr == pytest.approx(result.chi2, rel=1e-6)
    model = result.model
    for p in model.parameters:
        lm = ref.params[p.identifier]
        assert lm.value == pytest.approx(result.values[p.name], rel=1e-4, abs=1e-3 * lm.stderr)
        # ... and agree on the uncertainties (lmfit's Jacobian is a finite difference)
        if p.name in result.fixed:
            assert result.stderr[p.name] == 0.0
        else:
            assert result.stderr[p.name] == pytest.approx(lm.stderr, rel=0.05), p.name
    # correlations of the free parameters agree too
    free = [p for p in model.parameters if ref.params[p.identifier].vary]
    for i, a in enumerate(free):
        for b in free[i + 1 :]:
            ours = result.correlation[model.index(a.name), model.index(b.name)]
            theirs = ref.params[a.identifier].correl[b.identifier]
            assert ours == pytest.approx(theirs, abs=0.02), (a.name, b.name)


def test_stderr_agrees_with_monte_carlo_scatter() -> None:
    truth = {"R0.R": 20.0, "R1.R": 300.0, "CPE1.Q": cpe_q(300.0, 1e3, 0.85), "CPE1.n": 0.85}
    rng = np.random.default_rng(2024)
    values, stderrs = [], []
    for _ in range(40):
        spectrum = simulate(ONE_ARC, truth, F_HZ, noise=NOISE, rng=rng)
        result = _fit(spectrum, ONE_ARC, kk=False)
        assert result.success, result.message
        values.append([result.values[n] for n in truth])
        stderrs.append([result.stderr[n] for n in truth])
    scatter = np.std(values, axis=0, ddof=1)
    reported = np.median(stderrs, axis=0)
    ratio = dict(zip(truth, scatter / reported, strict=True))
    assert all(1 / 1.5 < r < 1.5 for r in ratio.values()), ratio
    # and the fits are unbiased at the level the 40 repeats resolve
    bias = (np.mean(values, axis=0) - list(truth.values())) / (reported / math.sqrt(40))
    assert np.all(np.abs(bias) < 4), dict(zip(truth, bias, strict=True))


# --------------------------------------------------------------------------- 8. bad input


@pytest.mark.parametrize(
    ("circuit", "n_points"),
    [(TWO_ARCS, 3), (TWO_ARCS, 4), (ONE_ARC, 2), (ONE_ARC, 1)],
)
def test_too_few_points(circuit: str, n_points: int) -> None:
    spectrum = _case(2, 0).spectrum.mask(np.arange(80) < n_points)
    with pytest.raises(FitInputError, match=r"\d+ points? gives? \d+ values, too few"):
        eisfit.fit(spectrum, circuit)


def test_just_enough_points_is_not_an_input_error() -> None:
    spectrum = _case(1, 0).spectrum.mask(np.arange(80) % 30 == 0)  # 3 points, 6 values, 4 params
    result = _fit(spectrum, ONE_ARC)
    assert isinstance(result, FitResult)
    assert result.kk is None  # lin-KK needs 5 points ...
    assert any("KK" in w for w in result.warnings)  # ... and says so
    # fixing parameters lowers the count: 2 points (4 values) for 2 free parameters
    two = _case(1, 0).spectrum.mask(np.arange(80) % 40 == 0)
    assert isinstance(_fit(two, ONE_ARC, fixed={"CPE1.n": 0.85, "R0.R": 10.0}), FitResult)


@pytest.mark.parametrize(
    ("circuit", "error"),
    [
        ("R0-p(R1,CPE1", CircuitSyntaxError),
        ("R0-X1", CircuitError),
        ("R0-R0", CircuitError),
        ("R0--R1", CircuitSyntaxError),
        ("", CircuitError),
        ("p(R1)", CircuitError),
    ],
)
def test_circuit_errors_propagate(circuit: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        eisfit.fit(_case(1, 0).spectrum, circuit)
    assert isinstance(info.value, EisfitError)
    assert not isinstance(info.value, FitInputError)


@pytest.mark.parametrize("budget", [{"timeout_s": 1e-6}, {"max_nfev": 1}])
@pytest.mark.parametrize("n_arcs", [1, 3])
def test_budget_exhaustion_returns_failure(budget: dict[str, float], n_arcs: int) -> None:
    case = _case(n_arcs, 0)
    result = _fit(case.spectrum, case.circuit, **budget)
    assert isinstance(result, FitResult)
    assert result.success is False
    assert result.message
    assert list(result.values) == list(eisfit.compile_circuit(case.circuit).names)
    if "max_nfev" in budget:
        assert result.nfev <= 2  # the evaluation that hits the cap ends the search
    json.dumps(result.to_dict(), allow_nan=False)
    assert isinstance(result.report(), str)


# --------------------------------------------------------------------------- 9. FitResult


def test_fit_result_is_frozen() -> None:
    result = _free_fit(1, 0)[0]
    for field in ("success", "chi2", "values", "message", "circuit"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, field, None)


def test_fit_result_mappings_are_read_only() -> None:
    result = _free_fit(1, 0)[0]
    for mapping in (result.values, result.stderr, result.initial):
        with pytest.raises(TypeError):
            mapping["R1.R"] = 1.0  # type: ignore[index]
        with pytest.raises(TypeError):
            del mapping["R1.R"]  # type: ignore[attr-defined]
    assert not result.correlation.flags.writeable


def test_fit_result_arrays_are_read_only() -> None:
    result = _free_fit(1, 0)[0]
    assert not result.residuals_real.flags.writeable
    assert not result.residuals_imag.flags.writeable


def _assert_no_nan(obj: Any, path: str = "") -> None:
    if isinstance(obj, float):
        assert math.isfinite(obj), path
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _assert_no_nan(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _assert_no_nan(v, f"{path}[{i}]")


@pytest.mark.parametrize("kind", ["two arcs", "undetermined", "fixed CPE1.n"])
def test_to_dict_is_json_without_nan(kind: str) -> None:
    if kind == "undetermined":
        # R0 and R2 in series: only their sum is determined, so both stderr are NaN
        result = _fit(_case(1, 0).spectrum, "R0-p(R1,CPE1)-R2")
        assert math.isnan(result.stderr["R0.R"]) and math.isnan(result.stderr["R2.R"])
        assert {"R0.R", "R2.R"} <= set(result.undetermined)
        assert result.status == "undetermined"
        assert math.isnan(result.values["R0.R"])
    else:
        result = _interop_result(kind)
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)
    _assert_no_nan(json.loads(text))
    assert list(d["parameters"]) == list(result.values)
    for name, entry in d["parameters"].items():
        value, se = result.values[name], result.stderr[name]
        assert entry["value"] == (value if math.isfinite(value) else None)
        assert entry["stderr"] == (se if math.isfinite(se) else None)
        assert entry["fixed"] == (name in result.fixed)
        assert entry["undetermined"] == result.undetermined.get(name)
        assert entry["optimum"] == pytest.approx(result.optimum[name])
    assert d["circuit"] == result.circuit
    assert d["n_points"] == len(result.spectrum)
    assert d["chi2"] == pytest.approx(result.chi2)


def test_report_names_every_parameter() -> None:
    result = _interop_result("fixed CPE1.n")
    text = result.report()
    assert isinstance(text, str)
    assert result.circuit in text
    for name in result.values:
        assert name in text
    assert "fixed" in text


# --------------------------------------------------------------------------- 10. KK


def test_kk_is_recorded() -> None:
    case = _case(2, 0)
    with_kk = _free_fit(2, 0)[0]
    assert isinstance(with_kk.kk, KKResult)
    assert with_kk.kk.valid  # synthetic data from a circuit are KK-consistent
    assert with_kk.to_dict()["kk"] == with_kk.kk.to_dict()
    without = _fit(case.spectrum, case.circuit, kk=False)
    assert without.kk is None
    assert without.to_dict()["kk"] is None
    assert dict(without.values) == dict(with_kk.values)


# --------------------------------------------------------------------------- 11. statistics


@pytest.mark.parametrize("kind", ["two arcs", "fixed CPE1.n", "expression", "La"])
def test_information_criteria(kind: str) -> None:
    result = _interop_result(kind)
    n = 2 * len(result.spectrum)
    k = len(result.values) - len(result.fixed) - (kind == "expression")
    log_term = n * math.log(result.chi2 / n)
    assert result.aic == pytest.approx(log_term + 2 * k, rel=1e-12)
    assert result.bic == pytest.approx(log_term + math.log(n) * k, rel=1e-12)
    assert result.reduced_chi2 == pytest.approx(result.chi2 / (n - k), rel=1e-12)
    assert result.chi2_per_point == pytest.approx(result.chi2 / len(result.spectrum), rel=1e-12)


def test_to_lmfit_carries_values_errors_and_fixed() -> None:
    case = _case(1, 0)
    result = _fit(case.spectrum, case.circuit, fixed={"CPE1.n": 0.9})
    params = result.to_lmfit()
    model = eisfit.compile_circuit(case.circuit)
    for p in model.parameters:
        assert params[p.identifier].value == result.values[p.name]
        assert params[p.identifier].vary is (p.name not in result.fixed)
    assert params["R1_R"].stderr == result.stderr["R1.R"]
    assert params["CPE1_n"].stderr is None
    corr = params["R1_R"].correl["CPE1_Q"]
    i, j = model.index("R1.R"), model.index("CPE1.Q")
    assert corr == result.correlation[i, j]


def test_a_cpe_q_that_underflows_during_the_fit_is_a_rejected_step_not_a_crash() -> None:
    """Regression: on this Randles spectrum (small Warburg) the MINPACK polish tried
    CPE1.Q = exp(x) = 0.0, and the CPE's Python-complex division raised
    ZeroDivisionError out of `eisfit.fit`.  The second spectrum of this draw is the one."""
    circuit = eisfit.compile_circuit("R0-p(R1-W1,CPE1)")
    rng = np.random.default_rng(7)
    for _ in range(2):
        r0, r1 = 10 ** rng.uniform(1, 3), 10 ** rng.uniform(1, 3)
        q, n = 10 ** rng.uniform(-9, -5), rng.uniform(0.7, 0.95)
        theta = np.array([r0, r1, 1.0, q, n])
        z = circuit.impedance(theta, F_HZ) * (1 + 0.005 * rng.standard_normal(F_HZ.size))
    result = eisfit.fit(Spectrum(frequency_hz=F_HZ, impedance_ohm=z), circuit, kk=False)
    assert result.success
    np.testing.assert_allclose(result.theta[[0, 1, 3, 4]], theta[[0, 1, 3, 4]], rtol=0.05)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("n_starts", "ten"),
        ("n_starts", 2.5),
        ("max_nfev", "many"),
        ("timeout_s", "soon"),
        ("timeout_s", 0),
    ],
)
def test_bad_budget_options_are_fit_input_errors(option: str, value: object) -> None:
    spectrum = simulate(ONE_ARC, {"R0.R": 10, "R1.R": 100, "CPE1.Q": 1e-6, "CPE1.n": 0.9}, F_HZ)
    with pytest.raises(eisfit.FitInputError, match=option):
        eisfit.fit(spectrum, ONE_ARC, **{option: value})
