"""Tests for eisfit.notation.elements: values, impedance.py oracle, derivatives, robustness."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from impedance.models.circuits import elements as ipy

from eisfit.errors import CircuitError
from eisfit.notation.elements import (
    _SMALL,
    ELEMENTS,
    ElementType,
    ParamSpec,
    from_impedance_py_params,
    get_element,
    to_impedance_py_params,
)

SYMBOLS = sorted(ELEMENTS)
F_HZ = np.logspace(-3, 7, 61)
OMEGA = 2 * np.pi * F_HZ


def random_params(el: ElementType, rng: np.random.Generator) -> np.ndarray:
    """Log-uniform draws for scale parameters, uniform in [0.05, 0.95] for exponents."""
    out = []
    for spec in el.params:
        if spec.log_scale:
            lo, hi = (-7.0, 3.0) if spec.name == "tau" else (-6.0, 6.0)
            out.append(10.0 ** rng.uniform(lo, hi))
        else:
            out.append(rng.uniform(0.05, 0.95))
    return np.array(out)


# --------------------------------------------------------------------------- hand values


def test_resistor():
    z = get_element("R").impedance(np.array([12.5]), OMEGA)
    assert z.dtype == complex and z.shape == OMEGA.shape
    np.testing.assert_array_equal(z, 12.5 + 0j)


@pytest.mark.parametrize("omega", [1.0, 2 * np.pi * 1e3])
def test_capacitor_inductor(omega):
    w = np.array([omega])
    zc = get_element("C").impedance(np.array([1e-6]), w)[0]
    assert zc == pytest.approx(-1j / (omega * 1e-6), rel=1e-14)
    assert zc.imag < 0 and zc.real == 0
    zl = get_element("L").impedance(np.array([1e-6]), w)[0]
    assert zl == pytest.approx(1j * omega * 1e-6, rel=1e-14)
    assert zl.imag > 0


def test_capacitor_hand_value():
    # C = 1 uF at 1 kHz: |Z| = 1/(2 pi 1e3 1e-6) = 159.154943... ohm
    z = get_element("C").impedance(np.array([1e-6]), np.array([2 * np.pi * 1e3]))[0]
    assert z.imag == pytest.approx(-159.15494309189535, rel=1e-14)


def test_cpe_limits():
    cpe = get_element("CPE").impedance
    w = np.array([0.3, 1.0, 7e4])
    np.testing.assert_allclose(cpe(np.array([2e-6, 1.0]), w), 1 / (1j * w * 2e-6), rtol=1e-14)
    np.testing.assert_allclose(cpe(np.array([0.25, 0.0]), w), 4.0 + 0j, rtol=1e-14, atol=1e-14)
    # n = 1/2 at w = 1: 1/(Q sqrt(j)) = (1 - j)/(Q sqrt 2)
    z = cpe(np.array([2.0, 0.5]), np.array([1.0]))[0]
    assert z == pytest.approx((1 - 1j) / (2 * math.sqrt(2)), rel=1e-14)


def test_la_biologic_definition():
    z = get_element("La").impedance(np.array([3e-7, 0.5]), np.array([4.0]))[0]
    assert z == pytest.approx(3e-7 * 2 * (1 + 1j) / math.sqrt(2), rel=1e-14)
    z1 = get_element("La").impedance(np.array([3e-7, 1.0]), np.array([4.0]))[0]
    assert z1 == pytest.approx(4j * 3e-7, rel=1e-14)


def test_warburg_limits():
    w = np.array([1e-9, 1e-7])
    tau = 2.0
    ws = get_element("Ws").impedance(np.array([5.0, tau]), w)
    np.testing.assert_allclose(ws, 5.0 + 0j, rtol=1e-6)
    wo = get_element("Wo").impedance(np.array([5.0, tau]), w)
    np.testing.assert_allclose(wo, 5.0 / (1j * w * tau) + 5.0 / 3, rtol=1e-12)
    big = np.array([1e10, 1e14])  # coth, tanh -> 1: both -> Z0/sqrt(j w tau)
    ref = 5.0 / np.sqrt(1j * big * tau)
    for sym in ("Ws", "Wo"):
        np.testing.assert_allclose(
            get_element(sym).impedance(np.array([5.0, tau]), big), ref, rtol=1e-14
        )


# --------------------------------------------------------------------------- oracle


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_matches_impedance_py(symbol):
    el = get_element(symbol)
    fn = ipy.circuit_elements[symbol]
    rng = np.random.default_rng(20240917 + len(symbol))
    for _ in range(25):
        p = random_params(el, rng)
        ref = fn(to_impedance_py_params(symbol, p), list(F_HZ))
        ours = el.impedance(p, OMEGA)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=0, err_msg=f"{symbol} {p}")
        z, _ = el.impedance_and_derivatives(p, OMEGA)
        np.testing.assert_allclose(z, ours, rtol=1e-14, atol=0)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_param_conversion_roundtrip(symbol):
    p = [2.5e-3, 0.7, 0.4][: len(get_element(symbol).params)]
    back = from_impedance_py_params(symbol, to_impedance_py_params(symbol, p))
    np.testing.assert_allclose(back, p, rtol=1e-14)
    if symbol != "La":
        assert to_impedance_py_params(symbol, p) == p


def test_param_conversion_errors():
    with pytest.raises(CircuitError, match="n = 0"):
        to_impedance_py_params("La", [1.0, 0.0])
    with pytest.raises(CircuitError, match="takes 2"):
        to_impedance_py_params("CPE", [1.0])
    with pytest.raises(CircuitError, match="unknown element"):
        from_impedance_py_params("Q", [1.0])


def test_parameter_count_matches_impedance_py():
    # the order itself is pinned by test_matches_impedance_py (distinct random values)
    for symbol, el in ELEMENTS.items():
        assert ipy.circuit_elements[symbol].num_params == len(el.params)


def test_warburg_series_coefficients():
    from eisfit.notation.elements import _COTH, _TANH

    tanh = [1, -1 / 3, 2 / 15, -17 / 315, 62 / 2835, -1382 / 155925]
    coth = [1 / 3, -1 / 45, 2 / 945, -1 / 4725, 2 / 93555, -1382 / 638512875]
    np.testing.assert_allclose(_TANH[:6], tanh, rtol=1e-15)
    np.testing.assert_allclose(_COTH[:6], coth, rtol=1e-15)


# --------------------------------------------------------------------------- derivatives


def check_derivatives(el: ElementType, p: np.ndarray, w: np.ndarray, rtol: float = 1e-7):
    z, dz = el.impedance_and_derivatives(p, w)
    assert dz.shape == (len(p), w.size) and dz.dtype == complex
    np.testing.assert_allclose(z, el.impedance(p, w), rtol=1e-13)
    for k, spec in enumerate(el.params):
        h = 1e-6 * p[k] if spec.log_scale else 1e-6
        scale = p[k] if spec.log_scale else 1.0  # compare sensitivities p dZ/dp
        up, dn = p.copy(), p.copy()
        up[k] += h
        dn[k] -= h
        fd = (el.impedance(up, w) - el.impedance(dn, w)) / (2 * h)
        err = np.abs(dz[k] - fd) * scale
        bound = rtol * (np.abs(z) + np.abs(dz[k]) * scale)
        bad = err > bound
        assert not bad.any(), (
            f"{el.symbol} d/d{spec.name} p={p} w={w[bad][:3]} "
            f"analytic={dz[k][bad][:3]} fd={fd[bad][:3]}"
        )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_derivatives_random(symbol):
    el = get_element(symbol)
    rng = np.random.default_rng(7 + len(symbol))
    for _ in range(20):
        check_derivatives(el, random_params(el, rng), OMEGA)


@pytest.mark.parametrize("symbol", ["Wo", "Ws"])
@pytest.mark.parametrize("tau", [1e-6, 1.0, 1e4])
def test_warburg_derivatives_extreme(symbol, tau):
    wt = np.logspace(-8, 8, 321)  # crosses the series/closed-form switch
    check_derivatives(get_element(symbol), np.array([3.3, tau]), wt / tau)


@pytest.mark.parametrize("symbol", ["Wo", "Ws"])
def test_warburg_continuous_at_series_switch(symbol):
    el = get_element(symbol)
    w = _SMALL * (1 + np.array([-1e-12, 1e-12]))
    z, dz = el.impedance_and_derivatives(np.array([1.0, 1.0]), w)
    np.testing.assert_allclose(z[0], z[1], rtol=1e-11)
    np.testing.assert_allclose(dz[:, 0], dz[:, 1], rtol=1e-11)


@pytest.mark.parametrize("symbol", ["CPE", "La", "Zarc"])
@pytest.mark.parametrize("n", [0.0, 1.0])
def test_exponent_edges_derivatives(symbol, n):
    el = get_element(symbol)
    p = np.array([0.5, 1e-3, n]) if symbol == "Zarc" else np.array([0.5, n])
    check_derivatives(el, p, OMEGA)


# --------------------------------------------------------------------------- registry


def test_unknown_element():
    with pytest.raises(CircuitError) as info:
        get_element("X")
    msg = str(info.value)
    assert "unknown element 'X'" in msg
    for symbol in ("R", "CPE", "Wo", "La"):
        assert symbol in msg


def test_registry_read_only_and_specs():
    with pytest.raises(TypeError):
        ELEMENTS["Y"] = ELEMENTS["R"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del ELEMENTS["R"]  # type: ignore[attr-defined]
    for symbol, el in ELEMENTS.items():
        assert el.symbol == symbol and "Z =" in el.description
        assert all(isinstance(s, ParamSpec) for s in el.params)
        for spec in el.params:
            assert spec.lower < spec.upper
            assert spec.log_scale == (spec.name != "n")
    assert {"R", "C", "L", "CPE", "W", "Wo", "Ws", "G", "La"} <= set(ELEMENTS)
    assert [s.name for s in get_element("CPE").params] == ["Q", "n"]
    assert get_element("CPE").params[0].unit == "S s^n"
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_element("R").symbol = "Q"  # type: ignore[misc]


# --------------------------------------------------------------------------- robustness


@st.composite
def element_case(draw):
    el = ELEMENTS[draw(st.sampled_from(SYMBOLS))]
    p = []
    for spec in el.params:
        if spec.log_scale:
            p.append(draw(st.floats(min_value=1e-30, max_value=1e30)))
        else:
            p.append(draw(st.floats(min_value=spec.lower, max_value=spec.upper)))
    w = draw(st.lists(st.floats(min_value=1e-4, max_value=1e8), min_size=1, max_size=8))
    return el, np.array(p), np.array(w)


@settings(max_examples=400, deadline=None)
@given(element_case())
def test_finite_everywhere(case):
    el, p, w = case
    # numpy's default ignores harmless underflow to subnormals; everything else must not occur
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        z = el.impedance(p, w)
        z2, dz = el.impedance_and_derivatives(p, w)
    assert np.isfinite(z).all() and np.isfinite(z2).all() and np.isfinite(dz).all()


@pytest.mark.parametrize("text", ["CPE1", "R0-p(R1-W1,CPE1)"])
def test_a_zero_cpe_q_gives_non_finite_values_not_an_exception(text: str) -> None:
    """A fitter's trial step can underflow Q to 0.0: the model must come back non-finite
    (the step is then rejected), as numpy arithmetic does, not raise ZeroDivisionError."""
    from eisfit.notation.model import compile_circuit

    circuit = compile_circuit(text)
    theta = np.array([0.0, 0.9] if text == "CPE1" else [10.0, 100.0, 1.0, 0.0, 0.9])
    with np.errstate(all="ignore"):
        z, dz = circuit.evaluate_omega(theta, OMEGA)
    assert not np.all(np.isfinite(z)) and not np.all(np.isfinite(dz))
