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

from eisfit.errors import DRTError, EisfitError
from eisfit.relaxation import DRTPeak, DRTResult, basis, drt
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
        assert k_re[n, m] == pytest.approx(re, rel=1e-9, abs=1e-10)
        assert k_im[n, m] == pytest.approx(im, rel=1e-9, abs=1e-10)


def test_kernel_table_interpolation_matches_direct_quadrature():
    grid = basis.make_grid(F, per_decade=10, extend_decades=1, fwhm_spacings=2)
    s = np.random.default_rng(2).uniform(-50, 50, 5001)
    re, _, im, _ = basis._quadrature(s, grid.eps)
    k_re, k_im = basis._interpolate(s, *basis._table(grid.eps))
    np.testing.assert_allclose(k_re, re, rtol=0, atol=1e-10)
    np.testing.assert_allclose(k_im, im, rtol=0, atol=1e-10)


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


def test_no_spurious_peak_at_one_percent_noise():
    """Ten noise draws of a two-arc cell: exactly the two arcs, nothing else above 5 %.

    The large arc's area is within 5 % every time; the small one (a fifth of it, four
    decades away) within 5 % typically and 10 % always: at 1 % noise its area moves
    with the regularisation (one draw in ten gives +9.5 %)."""
    errors = []
    for seed in range(10):
        result = drt(_two_arcs(noise=0.01, seed=seed))
        assert len(result.peaks) == 2, (seed, result.report())
        hi, lo = result.peaks
        assert _decades(hi.tau_s, 1 / (2 * math.pi * 1e5)) < 0.1
        assert _decades(lo.tau_s, 1 / (2 * math.pi * 10.0)) < 0.1
        assert lo.resistance_ohm == pytest.approx(1000.0, rel=0.05)
        assert hi.resistance_ohm == pytest.approx(200.0, rel=0.10)
        errors.append(abs(hi.resistance_ohm / 200.0 - 1))
        assert result.noise_estimate == pytest.approx(0.01, rel=0.25)
    assert np.median(errors) < 0.05


def test_arc_cut_by_the_band_edge_keeps_its_peak():
    """Apex at 2 MHz, band up to 1 MHz: the arc is a peak beyond the band, not R_inf.

    Its area is within 10 %, not the 5 % of in-band arcs: R_inf and the part of the arc
    beyond the band trade against each other (about 9 ohm of R_inf goes to the arc
    here, noise-free); bench/drt_bench.py measures this over many such spectra."""
    result = drt(_two_arcs(f1=2e6, r1=150.0, r0=50.0))
    hi = result.peaks[0]
    assert hi.tau_s < 1 / (2 * math.pi * F.max())  # outside the measured band
    assert _decades(hi.tau_s, 1 / (2 * math.pi * 2e6)) < 0.1
    assert hi.resistance_ohm == pytest.approx(150.0, rel=0.10)
    assert result.r_inf_ohm == pytest.approx(50.0, abs=15.0)


def test_series_inductance_is_fitted_and_found():
    s = _two_arcs(r0=10.0, r1=20.0, r2=100.0, l_h=5e-7)
    assert s.impedance_ohm[0].imag > 0  # an inductive head at 1 MHz
    result = drt(s)
    assert result.inductance_h == pytest.approx(5e-7, rel=0.05)
    assert result.r_inf_ohm == pytest.approx(10.0, rel=0.05)
    assert "Z'' > 0" in result.details["inductance"]
    assert drt(s, inductance=False).inductance_h is None


def test_inductance_without_evidence_is_not_reported():
    result = drt(_two_arcs(noise=0.01))
    assert result.inductance_h is None
    assert result.details["inductance"].startswith("not fitted")
    forced = drt(_two_arcs(noise=0.01), inductance=True)
    assert forced.inductance_h is not None and forced.inductance_h >= 0.0


def test_noise_only_gives_no_peaks_and_says_so():
    rng = np.random.default_rng(4)
    z = 100.0 * (1 + 0.01 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    result = drt(Spectrum(F, z, SpectrumMeta(source="noise.csv")))
    assert result.peaks == ()
    assert result.status == "undetermined"
    assert "no relaxation above the noise" in result.message
    assert result.r_inf_ohm == pytest.approx(100.0, rel=0.01)
    json.dumps(result.to_dict(), allow_nan=False)


def test_inductive_loop_is_a_warning_with_finite_numbers():
    omega = 2 * np.pi * F
    z = 50 + 300 / (1 + 1j * omega * 3e-4) + 1 / (1 / 80 + 1 / (1j * omega * 20.0))
    result = drt(Spectrum(F, z))
    assert result.status == "warning"
    assert "inductive loop" in result.message
    for value in (result.r_inf_ohm, result.regularization, result.polarization_resistance_ohm):
        assert math.isfinite(value)
    assert np.all(np.isfinite(result.gamma_ohm)) and np.all(np.isfinite(result.z_fit_ohm))


def test_given_lambda_is_used_and_more_smoothing_widens_peaks():
    s = _two_arcs(noise=0.01)
    auto = drt(s)
    smooth = drt(s, regularization=auto.regularization * 100)
    assert smooth.regularization_method == "given"
    assert smooth.regularization == pytest.approx(auto.regularization * 100)
    assert smooth.peaks[-1].width_decades > auto.peaks[-1].width_decades


@pytest.mark.parametrize("criterion", ["gcv", "re-im", "discrepancy"])
def test_every_criterion_finds_both_arcs_on_clean_data(criterion):
    result = drt(_two_arcs(noise=0.002), criterion=criterion)
    taus = sorted(p.tau_s for p in result.peaks if p.share > 0.1)
    assert len(taus) == 2
    assert result.regularization_method == criterion


def test_credible_band_brackets_gamma():
    result = drt(_two_arcs(noise=0.01), credible=True)
    assert result.gamma_lower_ohm is not None and result.gamma_upper_ohm is not None
    assert np.all(result.gamma_lower_ohm <= result.gamma_ohm + 1e-12)
    assert np.all(result.gamma_upper_ohm >= result.gamma_ohm - 1e-12)
    assert np.all(result.gamma_lower_ohm >= 0)
    assert np.any(result.gamma_upper_ohm > result.gamma_ohm)  # a band, not a line
    assert drt(_two_arcs(noise=0.01)).gamma_lower_ohm is None


def test_point_order_is_kept():
    s = _two_arcs(noise=0.01)
    flipped = Spectrum(s.frequency_hz[::-1], s.impedance_ohm[::-1], s.meta)
    a, b = drt(s), drt(flipped)
    np.testing.assert_allclose(b.z_fit_ohm[::-1], a.z_fit_ohm, rtol=1e-6)
    np.testing.assert_array_equal(b.frequency_hz, flipped.frequency_hz)


def test_zero_impedance_is_an_error():
    s = _two_arcs()
    z = s.impedance_ohm.copy()
    z[5] = 0.0
    with pytest.raises(DRTError, match="point 5 has Z = 0"):
        drt(Spectrum(s.frequency_hz, z, s.meta))


# --- command line -------------------------------------------------------------------


def _csv(tmp_path, spectrum: Spectrum, name: str = "cell.csv"):
    path = tmp_path / name
    rows = ["frequency_hz,z_real_ohm,z_imag_ohm"] + [
        f"{float(f)!r},{float(z.real)!r},{float(z.imag)!r}"
        for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cli_text_json_and_plot(tmp_path, capsys):
    from eisfit.cli.main import main

    path = _csv(tmp_path, _two_arcs(noise=0.005))
    png = tmp_path / "drt.png"
    assert main(["drt", str(path), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "R_inf" in out and "lambda" in out and "discrepancy" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["drt", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["peaks"]) == 2
    assert data["peaks"][1]["resistance_ohm"] == pytest.approx(1000.0, rel=0.05)


def test_cli_too_few_points_is_one_error_line(tmp_path, capsys):
    from eisfit.cli.main import main

    path = _csv(tmp_path, _two_arcs(frequency_hz=np.logspace(5, 1, 6)), "short.csv")
    assert main(["drt", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"eisfit: error: {path}: spectrum 0: ")
    assert "at least 10 points" in err[0]


def test_cli_noise_only_exits_1(tmp_path, capsys):
    from eisfit.cli.main import main

    rng = np.random.default_rng(4)
    z = 100.0 * (1 + 0.01 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    path = _csv(tmp_path, Spectrum(F, z), "noise.csv")
    assert main(["drt", str(path)]) == 1
    assert "undetermined" in capsys.readouterr().out


def test_cli_plot_must_be_png(tmp_path, capsys):
    from eisfit.cli.main import main

    path = _csv(tmp_path, _two_arcs())
    assert main(["drt", str(path), "--plot", str(tmp_path / "x.svg")]) == 2
    assert "PNG" in capsys.readouterr().err


def test_series_capacitance_of_a_blocking_electrode():
    """R0-(R1||C1)-C2: with capacitance="auto" the spike becomes a series C and the arc
    keeps its peak; without it gamma piles up at the slow end of the grid."""
    values = {"R0.R": 50.0, "R1.R": 500.0, "C1.C": 1e-7, "C2.C": 1e-5}
    s = simulate("R0-p(R1,C1)-C2", values, F, noise=0.005)
    result = drt(s, capacitance="auto")
    assert result.capacitance_f == pytest.approx(1e-5, rel=0.05)
    assert result.details["capacitance"].startswith("fitted")
    peak = max(result.peaks, key=lambda p: p.resistance_ohm)
    assert _decades(peak.tau_s, 500.0 * 1e-7) < 0.1
    assert peak.resistance_ohm == pytest.approx(500.0, rel=0.10)
    plain = drt(s)
    assert plain.capacitance_f is None
    assert plain.tau_s[np.argmax(plain.gamma_ohm)] > 1.0  # the spike piles up at the slow end
    # heights are judged inside the band, so the arc keeps its peak beside the spike's tail,
    # and the result says what the tail is
    arc = min(plain.peaks, key=lambda p: p.tau_s)
    assert _decades(arc.tau_s, 500.0 * 1e-7) < 0.1
    assert arc.resistance_ohm == pytest.approx(500.0, rel=0.10)
    assert plain.status == "warning" and "beyond the slow end of the band" in plain.message
    with pytest.raises(DRTError):
        drt(s, capacitance="sometimes")


def test_data_scattering_beyond_five_percent_give_undetermined_peaks() -> None:
    """Every other point 30 % off: lin-KK calls such data undetermined, and so does the
    DRT (its noise estimate takes the distortion in, so the fit itself looked fine)."""
    f = np.logspace(6, -1, 60)
    values = {"R0.R": 110.0, "R1.R": 80.0, "CPE1.Q": 2e-8, "CPE1.n": 0.9, "R2.R": 400.0,
              "CPE2.Q": 1.4e-5, "CPE2.n": 0.8}  # fmt: skip
    clean = simulate("R0-p(R1,CPE1)-p(R2,CPE2)", values, f, noise=0.0)
    z = clean.impedance_ohm.copy()
    z[::2] *= 1.3
    result = drt(Spectrum(frequency_hz=f, impedance_ohm=z))
    assert result.status == "undetermined" and "scatter" in result.message
    assert drt(clean).status == "ok"
