"""eisfit.drt: the distribution of relaxation times (issue 16, item 1).

Truth comes from `eisfit.synthetic.simulate`: an R||C arc is a delta at tau = RC of area
R; an R||CPE arc (ZARC) is a symmetric distribution around tau0 = 1 / (2 pi f0) of area
R.  Tolerances are the issue's targets (peak tau within 0.1 decade, area within 5 %).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eisfit.drt import DRTPeak, DRTResult, basis, drt
from eisfit.errors import DRTError, EisfitError
from eisfit.spectrum import Spectrum, SpectrumMeta
from eisfit.synthetic import cpe_q, simulate

F = np.logspace(6, -1, 71)


def _two_arcs(
    *, f1: float = 1e5, r1: float = 200.0, f2: float = 10.0, r2: float = 1000.0,
    n1: float = 0.9, n2: float = 0.85, r0: float = 80.0, l_h: float = 0.0,
    noise: float = 0.0, seed: int = 0, frequency_hz: np.ndarray = F,
) -> Spectrum:
    values = {
        "L0.L": l_h, "R0.R": r0,
        "R1.R": r1, "CPE1.Q": cpe_q(r1, f1, n1), "CPE1.n": n1,
        "R2.R": r2, "CPE2.Q": cpe_q(r2, f2, n2), "CPE2.n": n2,
    }
    return simulate("L0-R0-p(R1,CPE1)-p(R2,CPE2)", values, frequency_hz, noise=noise,
                    rng=np.random.default_rng(seed), meta=SpectrumMeta(source="synthetic.csv"))


def _decades(a: float, b: float) -> float:
    return abs(math.log10(a / b))


def test_kernel_matches_adaptive_quadrature():
    from scipy.integrate import quad

    omega = 2 * np.pi * F
    grid = basis.make_grid(F, per_decade=10, extend_decades=1, fwhm_spacings=2)
    k_re, k_im = basis.kernel(omega, grid)
    for n, m in [(0, 0), (10, 40), (70, 90), (35, 50)]:
        y0 = grid.ln_tau[m]

        def phi(y: float, y0: float = y0) -> float:
            return math.exp(-((grid.eps * (y - y0)) ** 2))

        def x(y: float, n: int = n) -> float:
            return omega[n] * math.exp(y)

        re = quad(lambda y: phi(y) / (1 + x(y) ** 2), y0 - 10, y0 + 10, points=[y0])[0]
        im = quad(lambda y: -phi(y) * x(y) / (1 + x(y) ** 2), y0 - 10, y0 + 10, points=[y0])[0]
        assert k_re[n, m] == pytest.approx(re, rel=1e-9, abs=1e-14)
        assert k_im[n, m] == pytest.approx(im, rel=1e-9, abs=1e-14)


def test_penalty_is_the_integral_of_the_squared_derivative():
    grid = basis.make_grid(F, per_decade=10, extend_decades=1, fwhm_spacings=2)
    rng = np.random.default_rng(3)
    x = rng.random(grid.ln_tau.size)
    y = np.linspace(grid.ln_tau[0] - 3, grid.ln_tau[-1] + 3, 20001)
    gamma = basis.basis_matrix(y, grid) @ x
    h = y[1] - y[0]
    for order in (0, 1, 2):
        d = gamma
        for _ in range(order):
            d = np.gradient(d, h)
        numeric = float(np.sum(d * d) * h)
        assert x @ basis.penalty(grid, order) @ x == pytest.approx(numeric, rel=1e-3)


def test_single_rc_peak_is_at_rc_with_area_r():
    r, c = 500.0, 1e-6
    s = simulate("R0-p(R1,C1)", {"R0.R": 50.0, "R1.R": r, "C1.C": c}, F)
    result = drt(s)
    assert len(result.peaks) == 1
    peak = result.peaks[0]
    assert _decades(peak.tau_s, r * c) < 0.1
    assert peak.resistance_ohm == pytest.approx(r, rel=0.05)
    assert peak.frequency_hz == pytest.approx(1 / (2 * math.pi * peak.tau_s))
    assert result.r_inf_ohm == pytest.approx(50.0, rel=0.05)
    assert result.inductance_h is None
    assert peak.share == pytest.approx(1.0)


def test_two_zarcs_time_constants_and_areas():
    s = _two_arcs()
    result = drt(s)
    assert len(result.peaks) == 2
    hi, lo = result.peaks  # increasing tau: the high-frequency arc first
    assert _decades(hi.tau_s, 1 / (2 * math.pi * 1e5)) < 0.1
    assert _decades(lo.tau_s, 1 / (2 * math.pi * 10.0)) < 0.1
    assert hi.resistance_ohm == pytest.approx(200.0, rel=0.05)
    assert lo.resistance_ohm == pytest.approx(1000.0, rel=0.05)
    assert result.r_inf_ohm == pytest.approx(80.0, rel=0.05)
    assert sum(p.share for p in result.peaks) == pytest.approx(1.0)
    assert result.polarization_resistance_ohm == pytest.approx(1200.0, rel=0.03)
    assert result.residual_rms < 0.005
    assert np.all(result.gamma_ohm >= 0)


def test_too_few_points_names_the_source_and_the_minimum():
    s = _two_arcs(frequency_hz=np.logspace(5, 1, 6))
    with pytest.raises(DRTError, match=r"synthetic\.csv.*at least 10 points.*has 6"):
        drt(s)


@pytest.mark.parametrize(
    "options",
    [{"method": "bayes"}, {"regularization": -1.0}, {"regularization": "gcv"},
     {"inductance": "yes"}, {"criterion": "l-curve"}],
)
def test_bad_options_raise_drt_error(options):
    with pytest.raises(DRTError):
        drt(_two_arcs(), **options)


def test_not_a_spectrum():
    with pytest.raises(EisfitError):
        drt(np.ones(20))  # type: ignore[arg-type]


def test_json_is_strict_and_round_trips():
    result = drt(_two_arcs(noise=0.01), credible=True)
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = DRTResult.from_dict(json.loads(text))
    assert back.peaks == result.peaks
    np.testing.assert_array_equal(back.gamma_ohm, result.gamma_ohm)
    np.testing.assert_array_equal(back.z_fit_ohm, result.z_fit_ohm)
    assert back.to_dict() == result.to_dict()
    assert isinstance(back.peaks[0], DRTPeak)


def test_json_turns_nan_into_null():
    result = drt(_two_arcs())
    assert result.to_dict()["noise_estimate"] is None or math.isfinite(result.noise_estimate)
    peak = DRTPeak(1e-3, 159.0, 10.0, math.nan, 1.0, 5.0)
    assert peak.to_dict()["width_decades"] is None


def test_report_has_the_peak_table():
    text = drt(_two_arcs()).report()
    assert "R_inf" in text and "lambda" in text
    assert len([line for line in text.splitlines() if line.strip()[:1].isdigit()]) == 2
