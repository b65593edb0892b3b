"""Arrhenius fits (`eisfit.physics.arrhenius`): exact recovery, uncertainties, plots, series."""

from __future__ import annotations

import dataclasses
import io
import json
import math

import numpy as np
import pytest
from fixtures_arrhenius import AREA_CM2, EA_EV, THICKNESS_CM, Series, temperature_series
from matplotlib.figure import Figure

import eisfit.physics.arrhenius as arrhenius_module
from eisfit import Spectrum
from eisfit.errors import EisfitError, PhysicsError
from eisfit.physics.arrhenius import (
    BOLTZMANN_EV_PER_K,
    ArrheniusFit,
    ArrheniusSeries,
    arrhenius_fit,
    arrhenius_series,
)
from eisfit.physics.arrhenius_plot import plot_arrhenius
from eisfit.physics.geometry import Cell
from eisfit.physics.models import get_model

KB = 8.617333262e-5
CELL = Cell(AREA_CM2, THICKNESS_CM)
T_K = np.array([253.15, 273.15, 298.15, 323.15, 348.15, 373.15])


def _sigma(t_k: np.ndarray, ea_ev: float, prefactor: float) -> np.ndarray:
    return prefactor * np.exp(-ea_ev / (KB * t_k)) / t_k


def test_boltzmann_constant_is_codata() -> None:
    assert BOLTZMANN_EV_PER_K == 8.617333262e-5


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_recovery_without_noise(weighted: bool) -> None:
    sigma = _sigma(T_K, 0.37, 2.5e4)
    stderr = 0.01 * sigma if weighted else None
    result = arrhenius_fit(T_K, sigma, role="bulk", conductivity_stderr_s_cm=stderr)
    assert result.role == "bulk" and result.weighted is weighted
    assert result.activation_energy_ev == pytest.approx(0.37, rel=1e-12)
    assert result.prefactor_s_k_cm == pytest.approx(2.5e4, rel=1e-10)
    assert result.r_squared == pytest.approx(1.0, abs=1e-12)
    if weighted:  # no scatter: the propagated 1 % error alone, var(slope) = 1e-4 / Sxx
        sxx = np.sum((1 / T_K - np.mean(1 / T_K)) ** 2)
        expected = KB * math.sqrt(1e-4 / sxx)
        assert result.activation_energy_stderr_ev == pytest.approx(expected, rel=1e-9)
    else:
        assert result.activation_energy_stderr_ev < 1e-10
    np.testing.assert_allclose(result.conductivity_s_cm(T_K), sigma, rtol=1e-10)
    assert result.temperatures_k == tuple(T_K) and result.warnings == ()


def test_unsorted_input_gives_the_same_line() -> None:
    sigma = _sigma(T_K, 0.25, 1e3)
    order = [3, 0, 5, 1, 4, 2]
    a = arrhenius_fit(T_K, sigma, role="total")
    b = arrhenius_fit(T_K[order], sigma[order], role="total")
    assert a.activation_energy_ev == pytest.approx(b.activation_energy_ev, rel=1e-12)


def _monte_carlo(
    n_trials: int, rel_noise: np.ndarray, *, pass_stderr: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = _sigma(T_K, 0.42, 3e5)
    ea, ea_se, a, a_se = (np.empty(n_trials) for _ in range(4))
    for k in range(n_trials):
        sigma = truth * np.exp(rel_noise * rng.standard_normal(T_K.size))
        stderr = rel_noise * sigma if pass_stderr else None
        r = arrhenius_fit(T_K, sigma, role="bulk", conductivity_stderr_s_cm=stderr)
        ea[k], ea_se[k] = r.activation_energy_ev, r.activation_energy_stderr_ev
        a[k], a_se[k] = r.prefactor_s_k_cm, r.prefactor_stderr_s_k_cm
    return ea, ea_se, a, a_se


def test_unweighted_stderr_matches_monte_carlo_scatter() -> None:
    ea, ea_se, a, a_se = _monte_carlo(3000, np.full(T_K.size, 0.02), pass_stderr=False, seed=1)
    assert np.mean(ea) == pytest.approx(0.42, abs=3 * np.std(ea) / math.sqrt(ea.size))
    # the regression variance is unbiased: compare RMS stderr with the observed spread
    assert math.sqrt(np.mean(ea_se**2)) == pytest.approx(np.std(ea), rel=0.06)
    assert math.sqrt(np.mean((a_se / a) ** 2)) == pytest.approx(np.std(np.log(a)), rel=0.06)


def test_weighted_stderr_matches_monte_carlo_and_beats_unweighted() -> None:
    noise = np.array([0.002, 0.004, 0.01, 0.02, 0.04, 0.08])  # heteroscedastic
    ea_w, se_w, *_ = _monte_carlo(3000, noise, pass_stderr=True, seed=2)
    ea_u, *_ = _monte_carlo(3000, noise, pass_stderr=False, seed=2)
    spread = np.std(ea_w)
    # the propagated error alone is exact; the Birge factor max(1, chi2/dof) only inflates
    assert np.min(se_w) == pytest.approx(spread, rel=0.05)
    assert 1.0 <= np.median(se_w) / spread < 1.3
    assert spread < 0.8 * np.std(ea_u)  # 1/var(ln sigma) weights are the efficient ones


def test_birge_ratio_inflates_understated_errors() -> None:
    rng = np.random.default_rng(3)
    sigma = _sigma(T_K, 0.3, 1e4) * np.exp(0.05 * rng.standard_normal(T_K.size))
    tiny = arrhenius_fit(T_K, sigma, role="bulk", conductivity_stderr_s_cm=1e-4 * sigma)
    plain = arrhenius_fit(T_K, sigma, role="bulk")
    # errors 500x too small: the scatter decides, as in the unweighted fit
    assert tiny.activation_energy_stderr_ev == pytest.approx(
        plain.activation_energy_stderr_ev, rel=1e-9
    )


def test_two_temperatures_give_a_line_without_uncertainty() -> None:
    t = np.array([300.0, 350.0])
    result = arrhenius_fit(t, _sigma(t, 0.5, 1e6), role="grain_boundary")
    assert result.activation_energy_ev == pytest.approx(0.5, rel=1e-12)
    assert math.isnan(result.activation_energy_stderr_ev)
    assert math.isnan(result.prefactor_stderr_s_k_cm)
    assert any("no uncertainty" in w for w in result.warnings)
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["activation_energy_ev"] == {"value": pytest.approx(0.5), "stderr": None}


def test_unusable_stderr_falls_back_to_unweighted_with_a_warning() -> None:
    sigma = _sigma(T_K, 0.3, 1e4)
    stderr = 0.01 * sigma
    stderr[2] = math.nan
    result = arrhenius_fit(T_K, sigma, role="total", conductivity_stderr_s_cm=stderr)
    assert not result.weighted
    assert any("unweighted" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("temperatures", "sigma", "fragment"),
    [
        ([300.0], [1e-3], "at least 2 different temperatures"),
        ([300.0, 300.0], [1e-3, 2e-3], "at least 2 different temperatures"),
        ([300.0, 320.0], [1e-3, -1e-3], "conductivities_s_cm must be finite and > 0"),
        ([300.0, 320.0], [1e-3, math.inf], "conductivities_s_cm must be finite and > 0"),
        ([300.0, 320.0], [1e-3, 1e-3], "regression 'robust': expected one of weighted"),
        ([-3.0, 320.0], [1e-3, 1e-3], "temperatures_k must be finite and > 0"),
        ([300.0, 320.0, 340.0], [1e-3, 1e-3], "3 temperatures but 2 conductivities"),
        (["hot", 320.0], [1e-3, 1e-3], "must be numbers"),
    ],
)
def test_bad_input_raises_physics_error(temperatures, sigma, fragment: str) -> None:
    regression = "robust" if "robust" in fragment else None
    with pytest.raises(PhysicsError, match=fragment) as info:
        arrhenius_fit(temperatures, sigma, role="bulk", regression=regression)
    assert isinstance(info.value, EisfitError) and isinstance(info.value, ValueError)


def test_stderr_length_must_match() -> None:
    with pytest.raises(PhysicsError, match="2 stderrs for 6 conductivities"):
        arrhenius_fit(T_K, _sigma(T_K, 0.3, 1), role="bulk", conductivity_stderr_s_cm=[1, 2])


def _fits() -> list[ArrheniusFit]:
    rng = np.random.default_rng(4)
    out = []
    for role, ea in (("bulk", 0.3), ("grain_boundary", 0.45), ("total", 0.38)):
        sigma = _sigma(T_K, ea, 1e4) * np.exp(0.01 * rng.standard_normal(T_K.size))
        out.append(arrhenius_fit(T_K, sigma, role=role, conductivity_stderr_s_cm=0.01 * sigma))
    return out


def test_plot_has_points_lines_labels_and_units() -> None:
    figure = plot_arrhenius(_fits())
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "1000 / T (1/K)"
    assert "σ T" in ax.get_ylabel() and "S K cm⁻¹" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 3 and legend[0].startswith("bulk: Ea = 0.")
    assert "grain boundary" in legend[1] and legend[2].endswith(" eV")
    assert len(ax.containers) == 3  # one error-bar container per role
    line = ax.get_lines()
    x = np.concatenate([ln.get_xdata() for ln in line])
    assert x.min() == pytest.approx(1000 / T_K.max()) and x.max() == pytest.approx(1000 / T_K.min())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_plot_of_nothing_is_an_empty_labelled_figure() -> None:
    figure = plot_arrhenius([])
    assert figure.axes[0].get_xlabel() == "1000 / T (1/K)"
    assert figure.axes[0].get_legend() is None


# --- temperature series of spectra ------------------------------------------------------


@pytest.fixture(scope="module")
def resolved() -> tuple[Series, ArrheniusSeries]:
    synthetic = temperature_series("resolved", seed=11)
    order = [3, 0, 5, 1, 4, 2]  # given out of order: the series sorts them
    spectra = [synthetic.spectra[i] for i in order]
    temps = [synthetic.temperatures_k[i] for i in order]
    return synthetic, arrhenius_series(spectra, temps, synthetic.circuit, CELL)


def _assert_recovers(series: ArrheniusSeries, synthetic: Series, roles: tuple[str, ...]) -> None:
    assert tuple(series.fits) == roles
    for role in roles:
        got = series.fits[role]
        truth = arrhenius_fit(synthetic.temperatures_k, synthetic.truth_sigma(role), role=role)
        se = got.activation_energy_stderr_ev
        assert 0 < se < 0.01, (role, se)
        z = (got.activation_energy_ev - truth.activation_energy_ev) / se
        assert abs(z) < 4, (role, got.activation_energy_ev, truth.activation_energy_ev, se)
        assert got.weighted and got.r_squared > 0.99
        deviation = np.array(got.conductivities_s_cm) - synthetic.truth_sigma(role)
        assert np.all(np.abs(deviation) < 4 * np.array(got.conductivity_stderr_s_cm)), role


def test_series_recovers_bulk_gb_and_total_activation_energies(resolved) -> None:
    synthetic, series = resolved
    assert series.temperatures_k == synthetic.temperatures_k  # sorted, coldest first
    assert [r.spectrum.meta.temperature_k for r in series.results] == list(series.temperatures_k)
    assert all(r.success for r in series.results)
    for analysis in series.analyses:
        assert [c.role for c in analysis.contributions if c.capacitance_f] == [
            "bulk",
            "grain_boundary",
            "soli",
        ]
    _assert_recovers(series, synthetic, ("bulk", "grain_boundary", "total"))
    assert series.fits["bulk"].activation_energy_ev == pytest.approx(EA_EV["bulk"], abs=0.01)
    gb = series.fits["grain_boundary"].activation_energy_ev
    assert gb == pytest.approx(EA_EV["grain_boundary"], abs=0.01)


def test_series_to_dict_and_plot(resolved) -> None:
    _, series = resolved
    data = series.to_dict()
    json.dumps(data, allow_nan=False)
    assert set(data["activation_energy_ev"]) == {"bulk", "grain_boundary", "total"}
    assert set(data["activation_energy_ev"]["bulk"]) == {"value", "stderr"}
    rows = data["temperatures"]
    assert [row["temperature_k"] for row in rows] == list(series.temperatures_k)
    assert rows[0]["temperature_c"] == pytest.approx(-60.0)
    assert set(rows[0]["conductivity_s_cm"]) == {"bulk", "grain_boundary", "total"}
    sigma, stderr = series.conductivities("bulk")[2]
    assert rows[2]["conductivity_s_cm"]["bulk"] == {"value": sigma, "stderr": stderr}
    assert data["cell"]["area_cm2"] == AREA_CM2 and data["circuit"] == series.circuit
    figure = plot_arrhenius(series)
    assert len(figure.axes[0].get_legend().get_texts()) == 3


def test_series_warm_starts_from_the_previous_temperature(monkeypatch) -> None:
    synthetic = temperature_series("intercept", seed=12)
    calls: list[dict | None] = []
    real_fit = arrhenius_module.fit

    def recording_fit(spectrum, circuit, **kwargs):
        calls.append(kwargs.get("initial"))
        return real_fit(spectrum, circuit, **kwargs)

    monkeypatch.setattr(arrhenius_module, "fit", recording_fit)
    spectra = list(reversed(synthetic.spectra))
    series = arrhenius_series(spectra, None, synthetic.circuit, CELL)  # temperatures from meta
    assert calls[0] is None
    for previous, initial in zip(series.results, calls[1:], strict=False):
        assert initial == dict(previous.values)
    _assert_recovers(series, synthetic, ("bulk", "grain_boundary", "total"))
    assert series.analyses[0].by_role("bulk").elements == ("R0",)  # the intercept is the bulk


def test_blocking_cell_named_model_orders_bulk_before_grain_boundary() -> None:
    synthetic = temperature_series("blocking", seed=13)
    model = get_model("blocking-bulk-gb")
    assert model.circuit == synthetic.circuit
    series = arrhenius_series(synthetic.spectra, synthetic.temperatures_k, model, CELL)
    assert series.model == "blocking-bulk-gb"
    for analysis in series.analyses:
        assert analysis.by_role("bulk").elements[0] == "R1"
        assert analysis.by_role("grain_boundary").elements[0] == "R2"
        assert analysis.by_role("electrode").elements == ("CPE3",)
    _assert_recovers(series, synthetic, ("bulk", "grain_boundary", "total"))
    assert series.to_dict()["model"] == "blocking-bulk-gb"


def test_role_override_swaps_what_is_fitted(resolved) -> None:
    synthetic, _ = resolved
    roles = {"R1": "grain_boundary", "R2": "bulk"}  # deliberately inverted by the user
    spectra, temps = synthetic.spectra[:3], synthetic.temperatures_k[:3]
    series = arrhenius_series(spectra, temps, synthetic.circuit, CELL, roles=roles)
    assert series.analyses[0].by_role("bulk").elements[0] == "R2"
    gb = series.fits["bulk"].activation_energy_ev  # R2 is the 0.45 eV arc
    assert gb == pytest.approx(EA_EV["grain_boundary"], abs=0.02)


def test_series_bad_input() -> None:
    synthetic = temperature_series("intercept", seed=14, temperatures_c=(0.0, 20.0))
    spectra, temps = synthetic.spectra, synthetic.temperatures_k
    with pytest.raises(PhysicsError, match="needs the cell geometry"):
        arrhenius_series(spectra, temps, synthetic.circuit, None)  # type: ignore[arg-type]
    with pytest.raises(PhysicsError, match="3 temperatures for 2 spectra"):
        arrhenius_series(spectra, [*temps, 300.0], synthetic.circuit, CELL)
    with pytest.raises(PhysicsError, match="only once"):
        arrhenius_series(spectra, [temps[0], temps[0]], synthetic.circuit, CELL)
    bare = [Spectrum(s.frequency_hz, s.impedance_ohm) for s in spectra]
    with pytest.raises(
        PhysicsError, match=r"no temperature given or recorded for spectra \[0, 1\]"
    ):
        arrhenius_series(bare, None, synthetic.circuit, CELL)


def test_two_temperature_series_warns_about_missing_uncertainty() -> None:
    synthetic = temperature_series("intercept", seed=15, temperatures_c=(10.0, 40.0))
    series = arrhenius_series(synthetic.spectra, synthetic.temperatures_k, synthetic.circuit, CELL)
    assert math.isnan(series.fits["bulk"].activation_energy_stderr_ev)
    assert any("no uncertainty" in w for w in series.warnings)
    assert series.to_dict()["activation_energy_ev"]["bulk"]["stderr"] is None


def test_a_fit_that_does_not_converge_is_left_out_with_a_warning(monkeypatch, resolved) -> None:
    synthetic, _ = resolved
    real_fit = arrhenius_module.fit

    def flaky_fit(spectrum, circuit, **kwargs):
        result = real_fit(spectrum, circuit, **kwargs)
        if spectrum is synthetic.spectra[2]:
            return dataclasses.replace(result, success=False, message="gave up")
        return result

    monkeypatch.setattr(arrhenius_module, "fit", flaky_fit)
    series = arrhenius_series(synthetic.spectra, None, synthetic.circuit, CELL)
    assert [r.success for r in series.results] == [True, True, False, True, True, True]
    assert series.fits["bulk"].temperatures_k == tuple(
        t for i, t in enumerate(synthetic.temperatures_k) if i != 2
    )
    assert any("233.15 K: fit did not converge (gave up)" in w for w in series.warnings)
    assert any("bulk: fitted on 5 of 6 temperatures" in w for w in series.warnings)
    assert series.to_dict()["temperatures"][2]["success"] is False


def test_role_changes_between_temperatures_are_reported(resolved) -> None:
    _, series = resolved
    first = series.analyses[0]
    swapped = arrhenius_module.analyse(
        series.results[1], CELL, roles={"R1": "grain_boundary", "R2": "bulk"}
    )
    # private: the role-change note is tested on a constructed swap a real series rarely gives
    notes = arrhenius_module._role_changes(series.temperatures_k[:2], [first, swapped])
    assert len(notes) == 2
    assert notes[0].startswith("bulk is not the same element at every temperature (R1+CPE1 from")
    assert "--role" in notes[0]
    assert arrhenius_module._role_changes(series.temperatures_k, series.analyses) == []
