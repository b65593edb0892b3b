"""Issue 12 item 7: the Arrhenius regression is chosen and stated, implausible Ea are warned
about, undetermined points are skipped and too few of them leave Ea undetermined."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from fixtures_arrhenius import AREA_CM2, THICKNESS_CM, temperature_series

import eisfit.physics.arrhenius as arrhenius_module
from eisfit import write_csv
from eisfit.cli.main import main
from eisfit.cli.tables import arrhenius_table
from eisfit.errors import PhysicsError
from eisfit.physics.activation import PLAUSIBLE_EA_EV, plausibility
from eisfit.physics.arrhenius import arrhenius_fit, arrhenius_series
from eisfit.physics.arrhenius_plot import plot_arrhenius
from eisfit.physics.geometry import Cell

KB = 8.617333262e-5
CELL = Cell(AREA_CM2, THICKNESS_CM)
#: a NASICON-like ceramic measured at 140-200 C (7 temperatures), Ea about 0.59 eV
T_K = np.arange(140.0, 201.0, 10.0) + 273.15


def _published_like(seed: int = 21) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conductivities with 1-3 % scatter and fit stderrs that differ 20-fold between points."""
    rng = np.random.default_rng(seed)
    sigma = 4e4 * np.exp(-0.59 / (KB * T_K)) / T_K
    sigma *= np.exp(0.02 * rng.standard_normal(T_K.size))
    stderr = sigma * np.geomspace(0.002, 0.04, T_K.size)[rng.permutation(T_K.size)]
    return T_K, sigma, stderr


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Intercept, slope and their OLS stderrs from the explicit normal equations."""
    n = x.size
    sxx = np.sum(x**2) * n - np.sum(x) ** 2
    slope = (n * np.sum(x * y) - np.sum(x) * np.sum(y)) / sxx
    intercept = (np.sum(y) - slope * np.sum(x)) / n
    s2 = np.sum((y - intercept - slope * x) ** 2) / (n - 2)
    return intercept, slope, math.sqrt(s2 * np.sum(x**2) / sxx), math.sqrt(s2 * n / sxx)


def test_unweighted_is_ordinary_least_squares_to_1e9() -> None:
    t, sigma, stderr = _published_like()
    fit = arrhenius_fit(t, sigma, role="bulk", conductivity_stderr_s_cm=stderr,
                        regression="unweighted")  # fmt: skip
    x, y = 1 / t, np.log(sigma * t)
    slope, intercept = np.polyfit(x, y, 1)
    a, b, se_a, se_b = _ols(x, y)
    assert (a, b) == pytest.approx((intercept, slope), rel=1e-12)
    assert fit.regression == "unweighted" and not fit.weighted
    assert fit.activation_energy_ev == pytest.approx(-slope * KB, rel=1e-9)
    assert math.log(fit.prefactor_s_k_cm) == pytest.approx(intercept, rel=1e-9)
    assert fit.activation_energy_stderr_ev == pytest.approx(se_b * KB, rel=1e-9)
    assert fit.prefactor_stderr_s_k_cm / fit.prefactor_s_k_cm == pytest.approx(se_a, rel=1e-9)
    assert fit.conductivity_stderr_s_cm == tuple(stderr)  # kept for the error bars


def test_weighted_default_follows_its_documented_formula() -> None:
    t, sigma, stderr = _published_like()
    fit = arrhenius_fit(t, sigma, role="bulk", conductivity_stderr_s_cm=stderr)
    assert fit.regression == "weighted" and fit.weighted
    x, y = 1 / t, np.log(sigma * t)
    w = (sigma / stderr) ** 2
    design = np.column_stack([np.ones_like(x), x])
    normal = design.T @ (w[:, None] * design)
    intercept, slope = np.linalg.solve(normal, design.T @ (w * y))
    chi2 = np.sum(w * (y - intercept - slope * x) ** 2)
    cov = np.linalg.inv(normal) * max(1.0, chi2 / (x.size - 2))
    assert fit.activation_energy_ev == pytest.approx(-slope * KB, rel=1e-9)
    assert fit.activation_energy_stderr_ev == pytest.approx(math.sqrt(cov[1, 1]) * KB, rel=1e-9)
    ols = arrhenius_fit(t, sigma, role="bulk", conductivity_stderr_s_cm=stderr,
                        regression="unweighted")  # fmt: skip
    # the point: the two regressions give different Ea on the same points
    assert abs(fit.activation_energy_ev - ols.activation_energy_ev) > 1e-3


def test_weighted_without_stderrs_is_unweighted_and_says_so() -> None:
    t, sigma, _ = _published_like()
    plain = arrhenius_fit(t, sigma, role="bulk", regression="weighted")
    assert plain.regression == "unweighted" and plain.warnings == ()
    assert plain.to_dict()["regression"] == "unweighted"


@pytest.mark.parametrize(
    ("ea", "fragment"),
    [(-0.156, "is negative"), (0.01, "is below 0.05 eV"), (3.0, "is above 2 eV")],
)
def test_implausible_activation_energy_is_warned(ea: float, fragment: str) -> None:
    t = np.array([300.0, 320.0, 340.0, 360.0])
    fit = arrhenius_fit(t, 1e3 * np.exp(-ea / (KB * t)) / t, role="bulk")
    assert fit.activation_energy_ev == pytest.approx(ea, rel=1e-9)
    assert fit.status == "warning"
    (warning,) = fit.warnings
    assert warning.startswith("bulk: Ea = ") and fragment in warning
    assert fit.to_dict()["status"] == "warning"


def test_plausible_activation_energy_is_not_warned() -> None:
    lo, hi = PLAUSIBLE_EA_EV
    assert plausibility("bulk", lo) is None and plausibility("bulk", hi) is None
    assert plausibility("bulk", 0.3) is None and plausibility("bulk", math.nan) is None
    t = np.array([300.0, 320.0, 340.0])
    assert arrhenius_fit(t, np.exp(-0.3 / (KB * t)) / t, role="bulk").status == "ok"


def test_undetermined_conductivities_are_skipped_by_temperature() -> None:
    t, sigma, stderr = _published_like()
    sigma = sigma.copy()
    sigma[[1, 4]] = np.nan
    fit = arrhenius_fit(t, sigma, role="bulk", conductivity_stderr_s_cm=stderr)
    assert fit.temperatures_k == tuple(np.delete(t, [1, 4]))
    assert fit.skipped_k == (t[1], t[4])
    assert "bulk: conductivity undetermined at 423.15 K (150.00 C), point skipped" in fit.warnings
    assert fit.weighted  # the stderrs of the skipped points do not matter
    full = arrhenius_fit(np.delete(t, [1, 4]), np.delete(sigma, [1, 4]), role="bulk",
                         conductivity_stderr_s_cm=np.delete(stderr, [1, 4]))  # fmt: skip
    assert fit.activation_energy_ev == full.activation_energy_ev


def test_fewer_than_two_usable_points_leave_ea_undetermined() -> None:
    fit = arrhenius_fit([400.0, 420.0, 440.0], [1e-4, math.nan, None], role="grain_boundary")
    assert fit.status == "undetermined" and math.isnan(fit.activation_energy_ev)
    assert math.isnan(fit.prefactor_s_k_cm) and math.isnan(fit.r_squared)
    assert fit.reason == "1 usable temperature(s), at least 2 needed"
    assert any("Ea undetermined" in w for w in fit.warnings)
    data = fit.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["activation_energy_ev"] == {"value": None, "stderr": None}
    assert np.isnan(fit.conductivity_s_cm(400.0))
    with pytest.raises(PhysicsError, match="must be finite and > 0"):
        arrhenius_fit([400.0, 420.0], [1e-4, -1e-4], role="bulk")  # negative is not NaN


# --- series, table, plot and command line ---------------------------------------------------


def _with_undetermined_bulk(monkeypatch, undetermined: set[int]) -> None:
    """Make the bulk conductivity (and so the total) undetermined at the ``undetermined``
    positions of the series, counted from the coldest temperature (the fitting order)."""
    real = arrhenius_module.analyse
    calls = []

    def analyse(result, cell, **kwargs):
        analysis = real(result, cell, **kwargs)
        calls.append(result)
        if len(calls) - 1 not in undetermined:
            return analysis
        parts = tuple(
            dataclasses.replace(c, conductivity_s_cm=math.nan) if c.role == "bulk" else c
            for c in analysis.contributions
        )
        return dataclasses.replace(analysis, contributions=parts, total_conductivity_s_cm=None)

    monkeypatch.setattr(arrhenius_module, "analyse", analyse)


@pytest.fixture(scope="module")
def synthetic():
    return temperature_series("intercept", seed=31)


def test_series_skips_undetermined_points_with_a_note(monkeypatch, synthetic) -> None:
    _with_undetermined_bulk(monkeypatch, {1})  # 288.15 K
    series = arrhenius_series(synthetic.spectra, None, synthetic.circuit, CELL,
                              regression="unweighted")  # fmt: skip
    assert series.regression == "unweighted"
    bulk = series.fits["bulk"]
    assert 288.15 not in [round(t, 2) for t in bulk.temperatures_k]
    assert [round(t, 2) for t in bulk.skipped_k] == [288.15]
    assert bulk.regression == "unweighted" and bulk.status == "ok"
    assert "bulk: conductivity undetermined at 288.15 K (15.00 C), point skipped" in (
        series.warnings
    )
    assert "total: fitted on 4 of 5 temperatures" in series.warnings
    assert series.fits["grain_boundary"].temperatures_k == synthetic.temperatures_k
    data = series.to_dict()
    assert data["regression"] == "unweighted"
    assert data["arrhenius"]["bulk"]["regression"] == "unweighted"
    assert data["temperatures"][1]["status"] in ("ok", "warning", "undetermined")


def test_series_with_one_usable_temperature_has_undetermined_ea(monkeypatch, synthetic) -> None:
    _with_undetermined_bulk(monkeypatch, {0, 1, 2, 3})
    series = arrhenius_series(synthetic.spectra, None, synthetic.circuit, CELL)
    bulk = series.fits["bulk"]
    assert bulk.status == "undetermined" and math.isnan(bulk.activation_energy_ev)
    assert bulk.reason == "conductivity at 1 of 5 temperatures, at least 2 needed"
    assert series.fits["grain_boundary"].status in ("ok", "warning")
    table = arrhenius_table(series)
    assert "Ea(bulk) undetermined: conductivity at 1 of 5 temperatures" in table
    assert not re.search(r"Ea\(bulk\) = ", table)
    data = series.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["activation_energy_ev"]["bulk"] == {"value": None, "stderr": None}
    assert data["arrhenius"]["bulk"]["status"] == "undetermined"
    legend = [t.get_text() for t in plot_arrhenius(series).axes[0].get_legend().get_texts()]
    assert "bulk: Ea undetermined" in legend


def test_table_and_plot_state_the_regression(synthetic) -> None:
    spectra, temps = synthetic.spectra[:3], synthetic.temperatures_k[:3]
    weighted = arrhenius_series(spectra, temps, synthetic.circuit, CELL)
    assert weighted.regression == "weighted"
    table = arrhenius_table(weighted)
    assert "regression: weighted least squares of ln(sigma T) on 1/T" in table
    assert re.search(r"Ea\(bulk\) = \S+ \+/- \S+ eV, A = .* S K/cm \(weighted\)", table)
    title = plot_arrhenius(weighted).axes[0].get_title()
    assert title == "Arrhenius fit: weighted least squares (by the fit stderrs)"
    plain = arrhenius_series(spectra, temps, synthetic.circuit, CELL, regression="unweighted")
    assert "regression: unweighted (ordinary) least squares" in arrhenius_table(plain)
    assert plot_arrhenius(plain).axes[0].get_title().endswith("unweighted least squares")
    with pytest.raises(PhysicsError, match="regression 'ols'"):
        arrhenius_series(spectra, temps, synthetic.circuit, CELL, regression="ols")


def test_cli_regression_option(capsys, synthetic, tmp_path: Path) -> None:
    paths = []
    for i, spectrum in enumerate(synthetic.spectra):
        paths.append(str(tmp_path / f"t{i}.csv"))
        write_csv(spectrum, paths[-1])
    temps_c = [f"{t - 273.15:g}" for t in synthetic.temperatures_k]
    geometry = ["--area-cm2", str(AREA_CM2), "--thickness-cm", str(THICKNESS_CM)]
    argv = ["arrhenius", *paths, "--temperature-c", *temps_c, "--circuit", synthetic.circuit,
            *geometry, "--json"]  # fmt: skip
    assert main([*argv, "--regression", "unweighted"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["regression"] == "unweighted"
    bulk = data["arrhenius"]["bulk"]
    assert bulk["regression"] == "unweighted"
    t = np.array(bulk["temperatures_k"])
    slope, intercept = np.polyfit(1 / t, np.log(np.array(bulk["conductivities_s_cm"]) * t), 1)
    assert bulk["activation_energy_ev"]["value"] == pytest.approx(-slope * KB, rel=1e-9)
    assert math.log(bulk["prefactor_s_k_cm"]["value"]) == pytest.approx(intercept, rel=1e-9)
    main(argv)
    assert json.loads(capsys.readouterr().out)["regression"] == "weighted"
    assert main([*argv, "--regression", "robust"]) == 2
    assert "invalid choice: 'robust'" in capsys.readouterr().err


def test_cli_exits_1_when_an_activation_energy_is_undetermined(
    capsys, monkeypatch, synthetic, tmp_path: Path
) -> None:
    _with_undetermined_bulk(monkeypatch, {0, 1, 2, 3})
    paths = []
    for i, spectrum in enumerate(synthetic.spectra):
        paths.append(str(tmp_path / f"t{i}.csv"))
        write_csv(spectrum, paths[-1])
    temps_c = [f"{t - 273.15:g}" for t in synthetic.temperatures_k]
    code = main(["arrhenius", *paths, "--temperature-c", *temps_c, "--circuit",
                 synthetic.circuit, "--area-cm2", str(AREA_CM2), "--thickness-cm",
                 str(THICKNESS_CM)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "Ea(bulk) undetermined: conductivity at 1 of 5 temperatures" in out
    assert "warning: bulk: conductivity undetermined at 273.15 K (0.00 C)" in out
