"""Effective capacitances (Hsu-Mansfeld, Brug) and apex frequency against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eisfit import compile_circuit
from eisfit.physics.capacitance import (
    apex_frequency_gradient,
    apex_frequency_hz,
    brug_capacitance_f,
    brug_gradient,
    hsu_mansfeld_capacitance_f,
    hsu_mansfeld_gradient,
)
from eisfit.synthetic import cpe_q


def test_hsu_mansfeld_hand_calculation() -> None:
    # R = 1000 ohm, Q = 1e-6 S s^n, n = 0.8:
    # Q R^(1-n) = 1e-6 * 1000^0.2 = 10^-6 * 10^0.6 = 10^-5.4; C = (10^-5.4)^(1/0.8) = 10^-6.75
    assert hsu_mansfeld_capacitance_f(1000.0, 1e-6, 0.8) == pytest.approx(10**-6.75, rel=1e-13)
    expected = 10**-6.75
    assert expected == pytest.approx(1.778279410038923e-07, rel=1e-15)


def test_brug_hand_calculation() -> None:
    # Q = 1e-5, n = 0.9, R_ct = 1000, R_e = 100:  1/R_e + 1/R_ct = 0.011
    # log10 C = (-5)/0.9 + (-0.1/0.9) log10(0.011) = -5.555556 + 0.217623 = -5.337933
    expected = 10 ** (-5 / 0.9 - (0.1 / 0.9) * math.log10(0.011))
    assert brug_capacitance_f(1e-5, 0.9, 1000.0, 100.0) == pytest.approx(expected, rel=1e-13)
    assert expected == pytest.approx(4.5927e-06, rel=1e-4)


def test_brug_blocking_limit() -> None:
    # R_ct -> infinity: C = Q^(1/n) R_e^((1-n)/n)
    q, n, r_e = 2e-6, 0.85, 250.0
    blocking = brug_capacitance_f(q, n, math.inf, r_e)
    assert blocking == pytest.approx(q ** (1 / n) * r_e ** ((1 - n) / n), rel=1e-13)
    assert brug_capacitance_f(q, n, 1e30, r_e) == pytest.approx(blocking, rel=1e-12)


@pytest.mark.parametrize("r", [10.0, 3e3])
def test_ideal_capacitor_is_returned_unchanged_for_n_1(r: float) -> None:
    assert hsu_mansfeld_capacitance_f(r, 4.7e-9, 1.0) == pytest.approx(4.7e-9, rel=1e-14)
    assert brug_capacitance_f(4.7e-9, 1.0, r, 20.0) == pytest.approx(4.7e-9, rel=1e-14)


def test_formulas_differ_as_hirschorn_warns() -> None:
    # the same CPE read with the wrong formula can be off by tens of per cent
    hm = hsu_mansfeld_capacitance_f(1000.0, 1e-5, 0.8)
    brug = brug_capacitance_f(1e-5, 0.8, 1000.0, 50.0)
    assert abs(hm / brug - 1) > 0.3


@pytest.mark.parametrize("n", [0.6, 0.8, 1.0])
def test_apex_frequency_inverts_cpe_q_and_is_the_summit(n: float) -> None:
    r, f0 = 800.0, 3.3e3
    q = cpe_q(r, f0, n)
    assert apex_frequency_hz(r, q, n) == pytest.approx(f0, rel=1e-13)
    # Hsu-Mansfeld C equals 1 / (R w0) at the apex
    assert hsu_mansfeld_capacitance_f(r, q, n) == pytest.approx(1 / (r * 2 * math.pi * f0))
    # and the apex is where -Z'' is largest
    f = np.logspace(1, 6, 20001)
    z = compile_circuit("p(R1,CPE1)").impedance([r, q, n], f)
    assert f[np.argmax(-z.imag)] == pytest.approx(f0, rel=2e-3)


def _central_difference(func, args: tuple[float, ...], k: int) -> float:
    h = 1e-6 * abs(args[k])
    up = list(args)
    down = list(args)
    up[k] += h
    down[k] -= h
    return (func(*up)[0] - func(*down)[0]) / (2 * h)


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (hsu_mansfeld_gradient, (1234.0, 3e-7, 0.83)),
        (hsu_mansfeld_gradient, (20.0, 1e-9, 0.97)),
        (apex_frequency_gradient, (1234.0, 3e-7, 0.83)),
        (brug_gradient, (3e-6, 0.78, 900.0, 120.0)),
        (brug_gradient, (3e-6, 0.78, math.inf, 120.0)),
    ],
)
def test_analytic_gradients_match_finite_differences(func, args) -> None:
    _, grad = func(*args)
    for k, g in enumerate(grad):
        if math.isinf(args[k]):
            assert g == 0.0
            continue
        assert g == pytest.approx(_central_difference(func, args, k), rel=1e-6, abs=1e-30)
