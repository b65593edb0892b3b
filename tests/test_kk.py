"""Tests of the lin-KK validity check (eisfit.kk.linkk): model, series C and L, M, verdict."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest

from eisfit.errors import FitInputError, SpectrumError
from eisfit.kk import KKResult, kk_check
from eisfit.spectrum import Spectrum, SpectrumMeta

N = 60
FREQ = np.logspace(6, -2, N)  # 1 MHz .. 10 mHz, 7.5 points per decade, high to low
OMEGA = 2 * np.pi * FREQ
NOISE = 0.005  # 0.5 % proportional noise


def _r_cpe(r: float, q: float, n: float, scale: np.ndarray | float = 1.0) -> np.ndarray:
    r = r * np.asarray(scale)
    return r / (1 + r * q * (1j * OMEGA) ** n)


def _ideal(r_lf_scale: np.ndarray | float = 1.0) -> np.ndarray:
    """R0 + (R1||CPE1) + (R2||CPE2) + L: KK-consistent by construction."""
    return 10.0 + _r_cpe(50.0, 1e-6, 0.9) + _r_cpe(100.0, 1e-3, 0.8, r_lf_scale) + 1j * OMEGA * 1e-7


def _blocking(cpe_n: float | None = 0.85) -> np.ndarray:
    """R0-p(R1,CPE1)-CPE2 (blocking electrodes); a pure capacitor C2 = 2 uF if n is None."""
    spike = 1 / (2e-6 * 1j * OMEGA) if cpe_n is None else 1 / (1e-5 * (1j * OMEGA) ** cpe_n)
    return 20.0 + _r_cpe(1000.0, 1e-9, 0.9) + spike


def _noisy(z: np.ndarray, seed: int = 1, noise: float = NOISE) -> np.ndarray:
    """Gaussian noise of ``noise`` |Z| on each of Z' and Z'' (as eisfit.synthetic does)."""
    rng = np.random.default_rng(seed)
    return z + noise * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def _spectrum(z: np.ndarray, source: str | None = "synthetic") -> Spectrum:
    return Spectrum(FREQ, z, SpectrumMeta(source=source))


def _z_kk(z: np.ndarray, result: KKResult) -> np.ndarray:
    """The fitted KK impedance, recovered from the relative residuals."""
    return z - (result.residuals_real + 1j * result.residuals_imag) * np.abs(z)


def _drifting_arc(growth: float = 0.3) -> np.ndarray:
    # Measured from high to low frequency, a few periods per point; the low-frequency arc
    # grows by 30 % during the sweep (a cell that is still changing).
    t = np.cumsum(3.0 / FREQ)
    return _ideal(r_lf_scale=1 + growth * t / t[-1])


def _growing_low_half() -> np.ndarray:
    factor = np.ones(N)
    factor[N // 2 :] = np.linspace(1.0, 1.3, N - N // 2)
    return _ideal() * factor


# --------------------------------------------------------------------------- verdicts


def test_ideal_circuit_is_consistent() -> None:
    result = kk_check(_spectrum(_ideal()))
    assert result.valid and result.verdict == "consistent"
    assert result.max_residual < 1e-3
    assert result.residuals_real.shape == result.residuals_imag.shape == (N,)
    assert "consistent" in result.message and "(synthetic)" in result.message


@pytest.mark.parametrize("noise", [0.005, 0.02])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_arc_at_two_noise_levels_is_consistent_with_the_limit_following_the_noise(
    noise: float, seed: int
) -> None:
    result = kk_check(_spectrum(_noisy(_ideal(), seed, noise)))
    assert result.valid, result.reason
    assert result.limit_source == "noise"
    assert result.noise_estimate == pytest.approx(noise, rel=0.25)
    rms = np.sqrt(np.mean(np.r_[result.residuals_real, result.residuals_imag] ** 2))
    assert 0.5 * noise < rms < 1.5 * noise
    # the limit is a few noise standard deviations (Bonferroni over the 120 residuals)
    assert 3.5 * noise < result.residual_limit < 6.0 * noise
    assert result.reason.startswith("consistent: residuals look like noise of")


@pytest.mark.parametrize("make", [_drifting_arc, _growing_low_half])
def test_non_stationary_spectrum_is_not_consistent(make) -> None:
    result = kk_check(_spectrum(make()))
    assert not result.valid and result.verdict == "not consistent"
    assert "not consistent" in result.message


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drift_at_low_noise_is_caught_and_located_at_low_frequency(seed: int) -> None:
    result = kk_check(_spectrum(_noisy(_drifting_arc(), seed)))
    assert not result.valid
    assert result.reason.startswith("not consistent: the ")
    # the band named starts in the lowest decade, where the sweep spends its time
    assert "trend to" in result.reason and "drift during the sweep" in result.reason


def test_an_isolated_bad_point_is_named_as_an_outlier() -> None:
    z = _noisy(_ideal(), 3)
    z[30] *= 1.08
    result = kk_check(_spectrum(z))
    assert not result.valid
    assert result.reason.startswith(f"not consistent: one point at {FREQ[30]:.3g} Hz")
    assert result.reason.endswith("(an outlier?)")


def test_very_noisy_data_are_undetermined_not_consistent() -> None:
    result = kk_check(_spectrum(_noisy(_ideal(), 2, noise=0.1)))
    assert result.verdict == "undetermined" and not result.valid  # nothing validated
    assert result.noise_estimate == pytest.approx(0.1, rel=0.3)
    assert result.reason.startswith("undetermined: the residuals scatter by")
    assert result.to_dict()["verdict"] == "undetermined"


def test_fixed_limit_judges_the_largest_residual_only() -> None:
    z = _noisy(_ideal(), 4)
    free = kk_check(_spectrum(z))
    tight = kk_check(_spectrum(z), residual_limit=0.5 * free.max_residual)
    loose = kk_check(_spectrum(z), residual_limit=2.0 * free.max_residual)
    assert (tight.valid, loose.valid) == (False, True)
    assert tight.limit_source == "fixed" and tight.residual_limit == 0.5 * free.max_residual
    assert "fixed" in tight.reason


def test_too_few_points_for_a_noise_estimate_use_the_conventional_limit() -> None:
    result = kk_check(Spectrum(FREQ[::10], _ideal()[::10]))
    assert math.isnan(result.noise_estimate)
    assert result.limit_source == "conventional" and result.residual_limit == 0.02
    assert "conventional 2 % limit" in result.reason
    assert result.valid == (result.max_residual < 0.02)


# --------------------------------------------------------------------------- series C, L


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_series_c_recovers_a_blocking_spectrum(seed: int) -> None:
    spectrum = _spectrum(_noisy(_blocking(), seed))
    result = kk_check(spectrum)
    assert result.valid, result.reason
    assert result.series_capacitance_f is not None and result.series_capacitance_f > 0
    assert "series C added" in result.elements and "series C added" in result.message
    without = kk_check(spectrum, with_capacitance=False)
    assert not without.valid
    assert without.max_residual > 5 * result.max_residual
    assert "no series C (switched off)" in without.message


def test_series_c_of_an_ideal_blocking_capacitor_is_its_capacitance() -> None:
    result = kk_check(_spectrum(_noisy(_blocking(cpe_n=None), 5)))
    assert result.valid
    assert result.series_capacitance_f == pytest.approx(2e-6, rel=0.02)


def test_inductive_head_is_handled_by_a_series_l() -> None:
    # 1 uH: the high-frequency points are strongly inductive (Z'' > 0), which positive
    # RC elements cannot give; negative ones mimic a small inductance but not this much
    spectrum = _spectrum(_ideal() + 1j * OMEGA * 0.9e-6)
    result = kk_check(spectrum)
    assert result.valid and "series L added" in result.elements
    assert result.series_inductance_h == pytest.approx(1.0e-6, rel=0.01)
    assert not kk_check(spectrum, with_inductance=False).valid
    noisy = kk_check(_spectrum(_noisy(_ideal() + 1j * OMEGA * 0.9e-6, 6)))
    assert noisy.valid and noisy.series_inductance_h == pytest.approx(1.0e-6, rel=0.1)


def test_elements_the_data_do_not_need_are_left_out_and_said_so() -> None:
    z = _noisy(10.0 + _r_cpe(50.0, 1e-6, 0.9) + _r_cpe(100.0, 1e-3, 0.8), 7)
    result = kk_check(_spectrum(z))
    assert result.valid
    assert result.series_capacitance_f is None and result.series_inductance_h is None
    assert "no series C (not needed, t=" in result.elements
    assert "no series L (not needed, t=" in result.elements
    forced = kk_check(_spectrum(z), with_capacitance=True, with_inductance=True)
    assert "series C (switched on)" in forced.elements
    assert forced.series_capacitance_f is not None and forced.series_inductance_h is not None


def test_ideal_rc_dummy_cell_is_resolved_before_mu_decides() -> None:
    # narrow (Debye) arcs: negative R_k appear at small M from the coarse grid, not from
    # over-fitting, and mu alone would stop there with residuals far above the noise
    z = _noisy(5.0 + 100.0 / (1 + 1j * OMEGA * 1e-5) + 300.0 / (1 + 1j * OMEGA * 1e-2), 8, 5e-4)
    result = kk_check(_spectrum(z))
    assert result.valid, result.reason
    assert result.max_residual < 6 * 5e-4
    assert result.noise_estimate == pytest.approx(5e-4, rel=0.3)


# --------------------------------------------------------------------------- invariants


def test_result_is_independent_of_point_order_and_impedance_scale() -> None:
    z = _noisy(_ideal())
    ref = kk_check(_spectrum(z))
    order = np.random.default_rng(7).permutation(N)
    shuffled = kk_check(Spectrum(FREQ[order], z[order]))
    scaled = kk_check(_spectrum(z * 1e3))
    for other in (shuffled, scaled):
        assert other.n_rc == ref.n_rc and other.elements == ref.elements
        assert other.mu == pytest.approx(ref.mu, abs=1e-9)
        assert other.noise_estimate == pytest.approx(ref.noise_estimate, rel=1e-9)
    np.testing.assert_allclose(shuffled.residuals_real, ref.residuals_real[order], atol=1e-12)
    np.testing.assert_allclose(scaled.residuals_imag, ref.residuals_imag, atol=1e-12)
    again = kk_check(_spectrum(z))  # deterministic
    np.testing.assert_array_equal(again.residuals_real, ref.residuals_real)


def test_result_arrays_are_read_only_and_to_dict_is_json() -> None:
    result = kk_check(_spectrum(_noisy(_blocking())))
    with pytest.raises(ValueError):
        result.residuals_real[0] = 1.0
    summary = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert summary["valid"] is True and summary["n_rc"] == result.n_rc
    assert summary["verdict"] == "consistent" and summary["reason"] == result.reason
    assert summary["noise_estimate"] == pytest.approx(result.noise_estimate)
    assert summary["limit_source"] == "noise"
    assert summary["series_capacitance_f"] == pytest.approx(result.series_capacitance_f)
    assert summary["series_inductance_h"] == result.series_inductance_h  # None or a value
    assert summary["elements"] == result.elements and summary["mu_reached"] is True
    assert "residuals_real" not in summary
    full = json.loads(json.dumps(result.to_dict(residuals=True)))
    assert len(full["residuals_imag"]) == N
    few = kk_check(Spectrum(FREQ[::10], _ideal()[::10])).to_dict()
    assert few["noise_estimate"] is None  # NaN is reported as undetermined, not a value
    json.dumps(few, allow_nan=False)


def test_cap_without_mu_falling_is_reported() -> None:
    result = kk_check(_spectrum(_ideal()), max_rc=30)
    assert result.n_rc == 30 and result.mu >= 0.85 and not result.mu_reached
    assert "cap" in result.message and result.to_dict()["mu_reached"] is False
    assert result.valid  # judged by residuals: a good fit with no over-fitting


def test_too_few_points_raise_and_name_the_source() -> None:
    spectrum = Spectrum(FREQ[:4], _ideal()[:4], SpectrumMeta(source="cell7.mpr"))
    with pytest.raises(SpectrumError, match=r"cell7\.mpr"):
        kk_check(spectrum)
    assert kk_check(Spectrum(FREQ[::12], _ideal()[::12])).n_rc >= 2  # 5 points are enough


@pytest.mark.parametrize(
    "options",
    [
        {"max_rc": 1},
        {"max_rc": 500},
        {"max_rc": 2.5},
        {"residual_limit": 0.0},
        {"residual_limit": math.nan},
        {"mu_threshold": 1.5},
        {"with_capacitance": "yes"},
        {"with_inductance": 1},
    ],
)
def test_unusable_options_raise(options) -> None:
    with pytest.raises(FitInputError):
        kk_check(_spectrum(_ideal()), **options)


# --- oracle: impedance.py 1.7.1 ---------------------------------------------------------
# impedance.validation.linKK uses the same model (R0 + L + M RC elements on the grid
# tau = 1/omega_max .. 1/omega_min, plus a series C with add_cap=True), the same 1/|Z|
# weighting and the same mu, so the two must agree on mu and the fitted impedance at the
# same M and with the same series elements.  M itself is not compared: eisfit's search
# keeps going where mu falls before the grid resolves the data (kk.py docstring), and
# impedance.py solves the normal equations inv(A'A) A'b, whose round-off decides M on
# noise-free data.  Under numpy 2 its eval()-based circuit evaluation breaks on the repr
# "np.float64(...)": legacy print options restore the numpy 1 repr.


def _impedance_py_linkk(z: np.ndarray, **kwargs) -> tuple[int, float, np.ndarray]:
    from impedance.validation import linKK

    numpy2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
    legacy = np.printoptions(legacy="1.25") if numpy2 else contextlib.nullcontext()
    with legacy, contextlib.redirect_stdout(io.StringIO()):
        m, mu, z_fit, _, _ = linKK(FREQ, z, fit_type="complex", **kwargs)
    return m, mu, z_fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_impedance_py_at_its_m_on_noisy_data(seed: int) -> None:
    z = _noisy(_ideal(), seed)
    m, mu, z_fit = _impedance_py_linkk(z, c=0.85, max_M=N, add_cap=False)
    ours = kk_check(
        _spectrum(z), max_rc=m, mu_threshold=-np.inf, with_capacitance=False, with_inductance=True
    )
    assert ours.n_rc == m
    assert ours.mu == pytest.approx(mu, abs=1e-6)
    np.testing.assert_allclose(_z_kk(z, ours), z_fit, rtol=1e-7)


def test_matches_impedance_py_with_a_series_capacitance() -> None:
    z = _noisy(_blocking(), 9)
    m, mu, z_fit = _impedance_py_linkk(z, c=None, max_M=20, add_cap=True)
    ours = kk_check(
        _spectrum(z), max_rc=20, mu_threshold=-np.inf, with_capacitance=True, with_inductance=True
    )
    assert ours.n_rc == m == 20
    assert ours.mu == pytest.approx(mu, abs=1e-6)
    np.testing.assert_allclose(_z_kk(z, ours), z_fit, rtol=1e-6)


def test_matches_impedance_py_at_fixed_m_on_ideal_data() -> None:
    z = _ideal()
    ours = kk_check(
        _spectrum(z), max_rc=20, mu_threshold=-np.inf, with_capacitance=False, with_inductance=True
    )
    m, mu, z_fit = _impedance_py_linkk(z, c=None, max_M=20, add_cap=False)
    assert ours.n_rc == m == 20
    assert ours.mu == pytest.approx(mu, abs=1e-9)
    np.testing.assert_allclose(_z_kk(z, ours), z_fit, rtol=1e-9)


# --- real exports (../shared/real-data, skipped in a fresh clone) -----------------------

REAL_FILES = {
    "ssb": "jdhuang-csm__hybrid-drt/tutorials/data/PEIS_SSB.mpr",
    "ssb_rest": "jdhuang-csm__hybrid-drt/webinar/data/SSB/Sample2_PEIS_AtRest.csv",
    "gamry_galv": "jdhuang-csm__hybrid-drt/tutorials/data/EISGALV_EISTest3.DTA",
    "gamry_example": "ECSHackWeek__impedance.py/data/exampleDataGamry.DTA",
    "gamry_pyimpspec": "vyrjana__pyimpspec/tests/data.dta",
}


def _real(key: str) -> list[Spectrum]:
    from reader_checks import REAL

    import eisfit

    return eisfit.read(REAL / REAL_FILES[key])


def _no_real() -> bool:
    from reader_checks import REAL

    return not REAL.exists()


real = pytest.mark.skipif(_no_real(), reason="../shared/real-data not present")


@real
def test_lpscl_ion_blocking_cell_is_consistent_with_a_series_c() -> None:
    (spectrum,) = _real("ssb")
    result = kk_check(spectrum)
    assert result.valid, result.reason
    assert result.series_capacitance_f is not None and result.series_capacitance_f > 0
    assert result.noise_estimate < 0.002  # a clean BioLogic measurement: ~0.1 % noise


@real
def test_every_spectrum_of_a_solid_state_cell_series_is_consistent() -> None:
    results = [kk_check(s) for s in _real("ssb_rest")]
    assert len(results) == 10 and all(r.valid for r in results), [r.reason for r in results]


@real
@pytest.mark.parametrize("name", [f"Circuit{c}_EIS_{r}.z" for c in (1, 2, 3) for r in (1, 2)])
def test_dummy_circuits_measured_by_zplot_are_consistent(name: str) -> None:
    # ideal R and C components: narrow arcs that Schoenleber's mu rule alone mis-judges
    from reader_checks import REAL

    import eisfit

    (spectrum,) = eisfit.read(REAL / "ECSHackWeek__impedance.py/data" / name)
    result = kk_check(spectrum)
    assert result.valid, result.reason


@real
def test_gamry_files() -> None:
    (clean,) = _real("gamry_pyimpspec")
    assert kk_check(clean).valid
    # galvanostatic EIS of a 60 mOhm cell: all but the top points are consistent; the
    # deviations sit at the highest frequencies, where the cable inductance dominates
    (galv,) = _real("gamry_galv")
    result = kk_check(galv)
    assert not result.valid and "artefact" in result.reason
    below = galv.frequency_hz < 7e5
    cropped = kk_check(Spectrum(galv.frequency_hz[below], galv.impedance_ohm[below]))
    assert cropped.valid, cropped.reason
    # impedance.py's Gamry example: +7..10 % residuals over its two lowest decades
    (example,) = _real("gamry_example")
    drift = kk_check(example)
    assert not drift.valid and "mHz" in drift.reason and "trend to" in drift.reason
