"""The verdict on a fit (`eisfit.fitting.verdict`) and the default bounds (`eisfit.fitting.bounds`).

Issue 12: a parameter the data cannot determine is reported as undetermined with the
reason, never as 2.35e99 ohm; the status says what the numbers are worth.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum, compile_circuit
from eisfit.fitting.bounds import SPAN, resolvable_bounds
from eisfit.fitting.verdict import apex_findings, predicted_decrease, residual_findings, runs_z
from eisfit.physics import Cell, analyse, get_model
from eisfit.status import EXIT_CODES, STATUSES, exit_code, worst
from eisfit.synthetic import simulate

F = np.logspace(6, -1, 57)
GB_SOLI = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
TRUTH = {
    "L0.L": 2e-7, "R0.R": 110.0, "R1.R": 80.0, "CPE1.Q": 1.8e-8, "CPE1.n": 0.9,
    "R2.R": 400.0, "CPE2.Q": 1.4e-5, "CPE2.n": 0.8,
}  # fmt: skip


def _spectrum(values=TRUTH, noise=0.003, seed=1, f=F) -> Spectrum:
    return simulate(GB_SOLI, values, f, noise=noise, rng=np.random.default_rng(seed))


def test_status_words_and_exit_codes() -> None:
    assert STATUSES == ("ok", "warning", "undetermined", "failed", "error")
    assert worst([]) == "ok" and worst(["warning", "ok"]) == "warning"
    assert worst(["undetermined", "failed", "warning"]) == "failed"
    assert [EXIT_CODES[s] for s in STATUSES] == [0, 0, 1, 1, 2]
    assert exit_code(["ok", "warning"]) == 0 and exit_code(["ok", "undetermined"]) == 1
    with pytest.raises(ValueError, match="unknown status"):
        worst(["fine"])


def test_a_clean_fit_is_ok_confirmed_and_fully_determined() -> None:
    result = eisfit.fit(_spectrum(), GB_SOLI)
    assert result.status == "ok" and result.success and result.reasons == ()
    assert "(confirmed)" in result.message
    assert not result.undetermined
    assert all(math.isfinite(v) for v in result.values.values())
    assert dict(result.optimum) == dict(result.values)


def test_an_arc_not_closed_at_low_frequency_is_undetermined_not_1e99() -> None:
    """The issue's case: only the capacitive tail of the low-frequency arc is in the band.
    The SOLI resistance is not a number the data hold: NaN with the reason and a fix, no
    ASR from it, and the rest of the fit stays usable."""
    values = {**TRUTH, "R2.R": 4e9}  # apex ~1e-6 Hz: five decades below 0.1 Hz
    result = eisfit.fit(_spectrum(values), GB_SOLI)
    assert result.status == "undetermined" and result.success
    assert math.isnan(result.values["R2.R"]) and math.isnan(result.stderr["R2.R"])
    why = result.undetermined["R2.R"]
    assert "below the band" in why or "default bound" in why
    assert "lower frequency" in why or "not closed" in why  # it says what to do
    assert "e-0" not in why  # the side and the band edge, not a meaningless far apex value
    assert result.optimum["R2.R"] <= SPAN * np.abs(result.spectrum.impedance_ohm).max()
    assert "(confirmed)" not in result.message
    analysis = analyse(result, Cell(1.0, 0.1), roles=get_model("gb-soli").roles)
    soli = analysis.by_role("soli")
    assert math.isnan(soli.resistance_ohm) and soli.asr_ohm_cm2 is None
    assert math.isnan(analysis.total_resistance_ohm)
    bulk = analysis.by_role("bulk")  # the intercept is still measured
    assert bulk.resistance_ohm == pytest.approx(110.0, rel=0.02)
    assert bulk.conductivity_s_cm is not None
    text = result.report()
    assert "R2.R       = undetermined" in text and "1e+99" not in text


def test_a_plain_resistor_leaves_the_arcs_absent_and_the_total_resistance_sharp() -> None:
    f = np.logspace(6, -1, 50)
    z = 2.0 + 1e-4 * np.random.default_rng(1).standard_normal(f.size)
    model = get_model("gb-soli")
    result = eisfit.fit(Spectrum(f, z), model.circuit, bounds=model.bounds)
    assert result.status == "undetermined"
    assert any("absent" in r for r in result.reasons)
    analysis = analyse(result, Cell(1.0, 0.1), roles=model.roles)
    assert math.isnan(analysis.by_role("soli").resistance_ohm)
    assert analysis.total_resistance_ohm == pytest.approx(2.0, rel=1e-3)  # a short: seen


def test_a_parameter_on_the_users_bound_is_undetermined_with_the_reason() -> None:
    result = eisfit.fit(_spectrum(), GB_SOLI, bounds={"R2.R": (500.0, 1e4)})
    assert result.optimum["R2.R"] == pytest.approx(500.0)
    assert "bound given to the fit" in result.undetermined["R2.R"]
    assert result.status == "undetermined"


def test_natural_limits_are_values_not_bounds() -> None:
    """n = 1 (an ideal capacitor) and L = 0 (no lead inductance) are physical values."""
    values = {**TRUTH, "CPE1.n": 1.0, "L0.L": 0.0}
    result = eisfit.fit(_spectrum(values, noise=0.0), GB_SOLI)
    assert "CPE1.n" not in result.undetermined and "L0.L" not in result.undetermined
    assert result.values["CPE1.n"] == pytest.approx(1.0, abs=1e-6)
    assert math.isfinite(result.values["L0.L"])


def test_an_arc_above_the_band_is_a_resistance_to_these_data() -> None:
    values = {**TRUTH, "CPE1.Q": 1e-13, "CPE1.n": 1.0}  # grain-boundary apex ~2e7 * ... Hz
    f = np.logspace(4, -1, 40)  # band ends at 10 kHz: the arc lies decades above it
    result = eisfit.fit(_spectrum(values, f=f), GB_SOLI)
    assert result.status == "undetermined"
    assert any("above the band" in r for r in result.reasons) or "R1.R" in result.undetermined


def test_default_bounds_follow_the_measured_band() -> None:
    circuit = compile_circuit("L0-R0-p(R1,C1)-p(R2,CPE2)-Wo1")
    f = np.array([1e5, 1e3, 10.0])
    z = np.array([100 - 1j, 200 - 50j, 900 - 400j])
    bounds = {circuit.parameters[i].name: b for i, b in resolvable_bounds(circuit, f, z).items()}
    z_max, z_min = np.abs(z).max(), np.abs(z).min()
    w_max, w_min = 2 * np.pi * 1e5, 2 * np.pi * 10.0
    assert bounds["R1.R"] == (0.0, SPAN * z_max) and bounds["Wo1.Z0"] == (0.0, SPAN * z_max)
    assert bounds["C1.C"] == pytest.approx((1 / (SPAN * w_max * z_max), SPAN / (w_min * z_min)))
    assert bounds["L0.L"] == pytest.approx((0.0, SPAN * z_max / w_max))
    assert bounds["Wo1.tau"] == pytest.approx((1 / (SPAN * w_max), SPAN / w_min))
    assert "CPE2.n" not in bounds  # physical bounds only


def test_predicted_decrease_is_zero_at_a_minimum_and_large_away_from_it() -> None:
    rng = np.random.default_rng(0)
    jac = rng.standard_normal((40, 3))
    x_true = np.array([1.0, -2.0, 0.5])
    y = jac @ x_true + 0.01 * rng.standard_normal(40)
    x_best = np.linalg.lstsq(jac, y, rcond=None)[0]
    active = np.ones(3, dtype=bool)
    assert predicted_decrease(jac, jac @ x_best - y, active) < 1e-12
    assert predicted_decrease(jac, jac @ (x_best + 1.0) - y, active) > 0.99


def test_runs_test_tells_noise_from_structure() -> None:
    rng = np.random.default_rng(3)
    assert abs(runs_z(rng.standard_normal(200))) < 3
    assert runs_z(np.sin(np.linspace(0, 6, 200))) < -10  # long runs: structure
    assert math.isnan(runs_z(np.ones(10)))  # one sign only: nothing to judge


def test_systematic_residuals_above_the_noise_are_a_warning() -> None:
    f = np.logspace(5, -1, 60)
    structured = 0.02 * np.sin(np.log10(f)) * (1 + 1j)
    assert "systematic residuals" in residual_findings(f, structured, 0.001)[0]
    assert residual_findings(f, structured, 0.02) == []  # within the noise: fine
    rng = np.random.default_rng(2)
    noise = 0.01 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    assert residual_findings(f, noise, 0.001) == []  # large but random: lin-KK's job
    assert residual_findings(f, 1e-4 * structured, 1e-7) == []  # below the 0.2 % floor


def test_a_wrong_circuit_is_a_warning_with_the_reason() -> None:
    result = eisfit.fit(_spectrum(noise=0.002), "R0-p(R1,CPE1)")
    assert result.status == "warning"
    assert any("systematic residuals" in r for r in result.reasons)
    assert "(confirmed)" not in result.message


@pytest.mark.parametrize(
    ("theta", "side", "name"),
    [((100.0, 1e6, 1.0, 0.9), "below 0.01 Hz", "R1.R"),  # apex ~1e-7 Hz
     ((100.0, 100.0, 1e-16, 1.0), "above 1e+07 Hz", "CPE1.Q")],  # apex ~1e13 Hz
)  # fmt: skip
def test_a_far_apex_names_its_side_and_the_band_edge_not_its_value(
    theta: tuple[float, ...], side: str, name: str
) -> None:
    """An apex decades outside the band is not a number the data hold (1e-33 Hz was
    printed before): the reason gives the side and the edge moved out by a decade."""
    circuit = compile_circuit("R0-p(R1,CPE1)")
    f = np.logspace(6, -1, 50)
    undetermined, warnings = apex_findings(circuit, np.array(theta), f, np.full(50, 100.0))
    assert side in undetermined[name] and "e-07" not in undetermined[name]
    assert "e+13" not in undetermined[name] and not warnings
