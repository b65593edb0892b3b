"""Tests of the lin-KK validity check (eisfit.kk)."""

from __future__ import annotations

import contextlib
import io
import json

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


def _noisy(z: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return z * (1 + NOISE * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))


def _spectrum(z: np.ndarray, source: str | None = "synthetic") -> Spectrum:
    return Spectrum(FREQ, z, SpectrumMeta(source=source))


def _z_kk(z: np.ndarray, result: KKResult) -> np.ndarray:
    """The fitted KK impedance, recovered from the relative residuals."""
    return z - (result.residuals_real + 1j * result.residuals_imag) * np.abs(z)


def test_ideal_circuit_is_consistent() -> None:
    result = kk_check(_spectrum(_ideal()))
    assert result.valid
    assert result.mu < 0.85
    assert result.max_residual < 1e-3
    assert result.residuals_real.shape == result.residuals_imag.shape == (N,)
    assert "consistent" in result.message and "(synthetic)" in result.message


def test_noisy_circuit_is_consistent_with_residuals_at_noise_level() -> None:
    result = kk_check(_spectrum(_noisy(_ideal())))
    assert result.valid
    assert result.mu < 0.85
    rms = np.sqrt(np.mean(np.r_[result.residuals_real, result.residuals_imag] ** 2))
    assert 0.5 * NOISE < rms < 1.5 * NOISE
    assert result.max_residual < min(5 * NOISE, result.residual_limit)


def _drifting_arc() -> np.ndarray:
    # Measured from high to low frequency, a few periods per point; the low-frequency arc
    # grows by 30 % during the sweep (a cell that is still changing).
    t = np.cumsum(3.0 / FREQ)
    return _ideal(r_lf_scale=1 + 0.3 * t / t[-1])


def _growing_low_half() -> np.ndarray:
    factor = np.ones(N)
    factor[N // 2 :] = np.linspace(1.0, 1.3, N - N // 2)
    return _ideal() * factor


@pytest.mark.parametrize("make", [_drifting_arc, _growing_low_half])
def test_non_stationary_spectrum_is_not_consistent(make) -> None:
    result = kk_check(_spectrum(make()))
    assert not result.valid
    assert result.max_residual > result.residual_limit
    assert "not consistent" in result.message


def test_drift_is_still_caught_under_noise() -> None:
    assert not kk_check(_spectrum(_noisy(_drifting_arc()))).valid


def test_inductance_term_matters_when_the_data_have_one() -> None:
    # With 1 uH the high-frequency points are strongly inductive (Z'' > 0), which positive
    # RC elements cannot give; negative ones mimic a small inductance but not this much.
    spectrum = _spectrum(_ideal() + 1j * OMEGA * 0.9e-6)
    assert kk_check(spectrum).valid
    assert not kk_check(spectrum, with_inductance=False).valid
    no_l = _spectrum(_ideal() - 1j * OMEGA * 1e-7)
    assert kk_check(no_l, with_inductance=False).valid


def test_result_is_independent_of_point_order_and_impedance_scale() -> None:
    z = _noisy(_ideal())
    ref = kk_check(_spectrum(z))
    order = np.random.default_rng(7).permutation(N)
    shuffled = kk_check(Spectrum(FREQ[order], z[order]))
    scaled = kk_check(_spectrum(z * 1e3))
    for other in (shuffled, scaled):
        assert other.n_rc == ref.n_rc
        assert other.mu == pytest.approx(ref.mu, abs=1e-9)
    np.testing.assert_allclose(shuffled.residuals_real, ref.residuals_real[order], atol=1e-12)
    np.testing.assert_allclose(scaled.residuals_imag, ref.residuals_imag, atol=1e-12)
    again = kk_check(_spectrum(z))  # deterministic
    np.testing.assert_array_equal(again.residuals_real, ref.residuals_real)


def test_result_arrays_are_read_only_and_to_dict_is_json() -> None:
    result = kk_check(_spectrum(_noisy(_ideal())))
    with pytest.raises(ValueError):
        result.residuals_real[0] = 1.0
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["valid"] is True and summary["n_rc"] == result.n_rc
    assert summary["mu_reached"] is True
    assert "residuals_real" not in summary
    full = json.loads(json.dumps(result.to_dict(residuals=True)))
    assert len(full["residuals_imag"]) == N


def test_cap_without_mu_falling_is_reported() -> None:
    result = kk_check(_spectrum(_ideal()), max_rc=30)
    assert result.n_rc == 30 and result.mu >= 0.85
    assert "cap" in result.message
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
        {"mu_threshold": 1.5},
    ],
)
def test_unusable_options_raise(options) -> None:
    with pytest.raises(FitInputError):
        kk_check(_spectrum(_ideal()), **options)


# --- oracle: impedance.py 1.7.1 ---------------------------------------------------------
# impedance.validation.linKK uses the same model (R0 + L + M RC elements on the grid
# tau = 1/omega_max .. 1/omega_min), the same 1/|Z| weighting and the same mu, so the two
# must agree on M, mu and the fitted impedance.  Differences, none of which matter here:
#  * it starts at M=1 (grid = [tau_max]) and stops at mu <= c; we start at M=2, stop at mu < c;
#  * it solves the normal equations inv(A'A) A'b, which squares the condition number: on
#    noise-free data mu only falls at large M (~50 here), where that solution is round-off
#    and its mu collapses earlier (M=47) than our SVD least squares (M=54).  So M and mu are
#    compared on noisy data (the real use) and, for noise-free data, at a fixed M;
#  * it prints every 10th M, and under numpy 2 its eval()-based circuit evaluation breaks
#    on the repr "np.float64(...)": legacy print options restore the numpy 1 repr.


def _impedance_py_linkk(z: np.ndarray, **kwargs) -> tuple[int, float, np.ndarray]:
    from impedance.validation import linKK

    numpy2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
    legacy = np.printoptions(legacy="1.25") if numpy2 else contextlib.nullcontext()
    with legacy, contextlib.redirect_stdout(io.StringIO()):
        m, mu, z_fit, _, _ = linKK(FREQ, z, fit_type="complex", add_cap=False, **kwargs)
    return m, mu, z_fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_impedance_py_on_noisy_data(seed: int) -> None:
    z = _noisy(_ideal(), seed)
    ours = kk_check(_spectrum(z))
    m, mu, z_fit = _impedance_py_linkk(z, c=0.85, max_M=N)
    assert ours.n_rc == m
    assert ours.mu == pytest.approx(mu, abs=1e-6)
    np.testing.assert_allclose(_z_kk(z, ours), z_fit, rtol=1e-7)


def test_matches_impedance_py_at_fixed_m_on_ideal_data() -> None:
    z = _ideal()
    ours = kk_check(_spectrum(z), max_rc=20, mu_threshold=-np.inf)  # never stops early
    m, mu, z_fit = _impedance_py_linkk(z, c=None, max_M=20)
    assert ours.n_rc == m == 20
    assert ours.mu == pytest.approx(mu, abs=1e-9)
    np.testing.assert_allclose(_z_kk(z, ours), z_fit, rtol=1e-9)
