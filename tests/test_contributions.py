"""Contributions: ASR (halving rule), conductivities, capacitances, uncertainties, warnings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fixtures_physics import FREQUENCY_HZ, arc_values, make_result, random_correlation

from eisfit import compile_circuit, fit
from eisfit.errors import PhysicsError
from eisfit.physics import EPS0_F_PER_CM, Cell, analyse
from eisfit.physics.capacitance import hsu_mansfeld_capacitance_f
from eisfit.synthetic import cpe_q, simulate

GB_SOLI = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
SULFIDE = "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"
BULK_SOLI_CT = {"R1": "bulk", "R2": "soli", "R3": "charge_transfer"}  # Na3SbS4 reading


def nzsp(r0=150.0, r_gb=300.0, r_soli=2120.0, **kw):
    values = {"L0.L": 3e-7, "R0.R": r0, **arc_values(1, r_gb, 5e5, 0.9)}
    values |= arc_values(2, r_soli, 50.0, 0.75)
    return make_result(GB_SOLI, values, **kw)


# ---------------------------------------------------------------- ASR and the halving rule


@pytest.mark.parametrize("area", [1.0, 0.785, 0.2, 2.54])
@pytest.mark.parametrize("r_soli", [2120.0, 298.0, 12.345])
def test_asr_is_exactly_half_r_times_area_per_interface_for_a_symmetric_cell(area, r_soli):
    analysis = analyse(nzsp(r_soli=r_soli), Cell(area, 0.1))
    soli = analysis.by_role("soli")
    assert soli.asr_ohm_cm2 == r_soli * area / 2
    assert soli.per_interface is True
    assert soli.asr_stderr_ohm_cm2 == soli.resistance_stderr_ohm * area / 2
    for role in ("bulk", "grain_boundary"):  # the electrolyte has no ASR and is never halved
        assert analysis.by_role(role).asr_ohm_cm2 is None
        assert analysis.by_role(role).per_interface is None


@pytest.mark.parametrize("area", [1.0, 0.785])
def test_asr_is_r_times_area_for_a_cell_that_is_not_symmetric(area):
    soli = analyse(nzsp(), Cell(area, 0.1, symmetric=False)).by_role("soli")
    assert soli.asr_ohm_cm2 == 2120.0 * area
    assert soli.per_interface is False


def test_conductivities_are_exact_and_the_electrolyte_is_never_halved():
    area, thick = 0.785, 0.123
    analysis = analyse(nzsp(r0=150.0, r_gb=300.0), Cell(area, thick))
    bulk, gb = analysis.by_role("bulk"), analysis.by_role("grain_boundary")
    assert bulk.elements == ("R0",) and bulk.resistance_ohm == 150.0
    assert bulk.conductivity_s_cm == thick / (150.0 * area)
    assert gb.conductivity_s_cm == thick / (300.0 * area)
    assert analysis.total_conductivity_s_cm == thick / ((150.0 + 300.0) * area)
    # the symmetric flag changes interfacial ASR only, never the electrolyte
    other = analyse(nzsp(r0=150.0, r_gb=300.0), Cell(area, thick, symmetric=False))
    assert other.by_role("bulk").conductivity_s_cm == bulk.conductivity_s_cm
    assert other.total_conductivity_s_cm == analysis.total_conductivity_s_cm
    # R_total = R_bulk + R_gb + R_interface (seed review eq. 4); the total is never halved
    assert analysis.total_resistance_ohm == 150.0 + 300.0 + 2120.0


def test_conductivity_stderr_is_first_order():
    analysis = analyse(nzsp(stderr={"R0.R": 3.0}), Cell(1.0, 0.1))
    bulk = analysis.by_role("bulk")
    assert bulk.conductivity_stderr_s_cm == pytest.approx(0.1 / 150.0**2 * 3.0, rel=1e-12)


def test_intercept_is_the_bulk_without_a_bulk_arc_and_a_lead_resistance_with_one():
    without = analyse(nzsp(), Cell(1.0, 0.1))
    assert without.by_role("bulk").elements == ("R0",)
    assert "not a contact resistance" in without.by_role("bulk").reason
    assert without.by_role("series") is None
    values = {"L0.L": 3e-7, "R0.R": 2.0, **arc_values(1, 1000.0, 3e6, 0.95)}
    values |= arc_values(2, 300.0, 5e4, 0.9) | arc_values(3, 1500.0, 50.0, 0.75)
    analysis = analyse(make_result(SULFIDE, values), Cell(1.0, 0.05))
    series = analysis.by_role("series")
    assert series.elements == ("R0",) and series.conductivity_s_cm is None
    assert "lead" in series.reason
    assert analysis.by_role("bulk").elements == ("R1", "CPE1")
    assert analysis.total_conductivity_s_cm == 0.05 / ((1000.0 + 300.0) * 1.0)
    assert analysis.total_resistance_ohm == 1000.0 + 300.0 + 1500.0  # no lead resistance


def test_intercept_alone_is_bulk_plus_grain_boundary():
    values = {"L0.L": 3e-7, "R0.R": 400.0, **arc_values(1, 2120.0, 50.0, 0.75)}
    analysis = analyse(make_result("L0-R0-p(R1,CPE1)", values), Cell(1.0, 0.1))
    assert "bulk + grain boundary" in analysis.by_role("bulk").reason
    assert analysis.total_conductivity_s_cm == 0.1 / (400.0 * 1.0)


# ------------------------------------------------ published numbers (docs/physics-notes.md sec. 5)


def test_na_nzsp_na_interfacial_1060_ohm_cm2_per_interface():
    # 1060 ohm cm2 per interface <-> R_interface = 2 x 1060 = 2120 ohm for 1 cm2
    soli = analyse(nzsp(r_soli=2120.0), Cell(1.0, 0.1)).by_role("soli")
    assert soli.asr_ohm_cm2 == 1060.0 and soli.per_interface is True
    # Na | NZSP(TiO2) | Na: 149 ohm cm2 per interface <-> 298 ohm for 1 cm2
    assert analyse(nzsp(r_soli=298.0), Cell(1.0, 0.1)).by_role("soli").asr_ohm_cm2 == 149.0


@pytest.mark.parametrize(("bulk", "interface", "ct"), [(87.2, 318.2, 13.6), (90.9, 6475.0, 464.3)])
def test_na_na3sbs4_na_bulk_interphase_and_charge_transfer(bulk, interface, ct):
    # Na | Na3SbS4 | Na at 60 C, 0 h and 160 h: bulk, interphase and charge-transfer arcs
    values = {"L0.L": 1e-7, "R0.R": 1.0, **arc_values(1, bulk, 5e6, 0.95)}
    values |= arc_values(2, interface, 5e3, 0.8) | arc_values(3, ct, 200.0, 0.85)
    area = 0.785
    analysis = analyse(make_result(SULFIDE, values), Cell(area, 0.08), roles=BULK_SOLI_CT)
    got = {c.role: c for c in analysis.contributions}
    assert got["bulk"].resistance_ohm == bulk and got["bulk"].asr_ohm_cm2 is None
    assert got["bulk"].conductivity_s_cm == 0.08 / (bulk * area)  # never halved
    assert got["soli"].asr_ohm_cm2 == interface * area / 2
    assert got["charge_transfer"].asr_ohm_cm2 == ct * area / 2
    assert analysis.total_resistance_ohm == pytest.approx(bulk + interface + ct, rel=1e-15)


def test_asr_750_and_1860_ohm_cm2_per_interface():
    # Na3SbS4 ASR 750 -> 1860 ohm cm2 per interface: R = 2 ASR / A
    for asr in (750.0, 1860.0):
        area = 0.5
        soli = analyse(nzsp(r_soli=2 * asr / area), Cell(area, 0.1)).by_role("soli")
        assert soli.asr_ohm_cm2 == pytest.approx(asr, rel=1e-15)


def test_cu_na3ps4_na_is_not_symmetric_so_nothing_is_halved():
    # Cu | Na3PS4 | Na: 500 ohm -> ~20,000 ohm; one Na interface, so ASR = R A
    for r in (500.0, 20000.0):
        soli = analyse(nzsp(r_soli=r), Cell(1.0, 0.1, symmetric=False)).by_role("soli")
        assert soli.asr_ohm_cm2 == r and soli.per_interface is False


# ---------------------------------------------------------------------- capacitances


def test_hsu_mansfeld_for_electrolyte_and_soli_brug_for_charge_transfer():
    r0, r_b, r_s, r_ct = 2.0, 1000.0, 1500.0, 800.0
    values = {"L0.L": 1e-7, "R0.R": r0, **arc_values(1, r_b, 3e6, 0.95)}
    values |= arc_values(2, r_s, 2e3, 0.8) | arc_values(3, r_ct, 1.0, 0.85)
    analysis = analyse(make_result(SULFIDE, values), Cell(1.3, 0.05), roles=BULK_SOLI_CT)
    bulk, soli, ct = (analysis.by_role(r) for r in ("bulk", "soli", "charge_transfer"))
    q1, q2, q3 = values["CPE1.Q"], values["CPE2.Q"], values["CPE3.Q"]
    assert bulk.capacitance_formula == "hsu-mansfeld"
    assert bulk.capacitance_f == pytest.approx((q1 * r_b**0.05) ** (1 / 0.95), rel=1e-12)
    assert soli.capacitance_f == pytest.approx((q2 * r_s**0.2) ** (1 / 0.8), rel=1e-12)
    assert ct.capacitance_formula == "brug"
    # R_e for the charge-transfer arc: everything faster (intercept, bulk, soli arcs)
    g = 1 / (r0 + r_b + r_s) + 1 / r_ct
    assert ct.capacitance_f == pytest.approx(q3 ** (1 / 0.85) * g ** (-0.15 / 0.85), rel=1e-12)
    # normalisation: C L/A for the electrolyte, C/A for interfaces; eps_r for bulk
    assert bulk.normalised_capacitance == pytest.approx(bulk.capacitance_f * 0.05 / 1.3)
    assert bulk.normalised_capacitance_unit == "F/cm"
    assert soli.normalised_capacitance == pytest.approx(soli.capacitance_f / 1.3)
    assert soli.normalised_capacitance_unit == "F/cm2"
    eps_r = bulk.capacitance_f * 0.05 / (EPS0_F_PER_CM * 1.3)
    assert bulk.relative_permittivity == pytest.approx(eps_r, rel=1e-12)
    assert soli.relative_permittivity is None
    assert bulk.apex_frequency_hz == pytest.approx(3e6, rel=1e-12)


def test_blocking_spike_uses_brug_with_the_whole_cell_as_r_e():
    values = {"R0.R": 2.0, **arc_values(1, 1000.0, 3e6, 0.95), **arc_values(2, 400.0, 3e4, 0.9)}
    values |= {"CPE3.Q": 2e-6, "CPE3.n": 0.85}
    analysis = analyse(make_result("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", values), Cell(1.0, 0.1))
    spike = analysis.by_role("electrode")
    assert spike.capacitance_formula == "brug"
    assert spike.capacitance_f == pytest.approx(2e-6 ** (1 / 0.85) * 1402.0 ** (0.15 / 0.85))
    assert math.isinf(spike.resistance_ohm) and spike.to_dict()["resistance_ohm"] is None
    assert analysis.total_resistance_ohm == 1400.0  # lead and spike are not counted
    assert [c.role for c in analysis.contributions] == [
        "series",
        "bulk",
        "grain_boundary",
        "electrode",
    ]
    assert any("expected with blocking electrodes" in w for w in analysis.warnings)


def test_zarc_k_and_ideal_capacitor_arcs_match_their_r_cpe_equivalents():
    r, f0, n = 500.0, 1e3, 0.8
    q = cpe_q(r, f0, n)
    tau = (r * q) ** (1 / n)
    cell = Cell(1.0, 0.1)
    ref = analyse(make_result("R0-p(R1,CPE1)", {"R0.R": 50.0, **arc_values(1, r, f0, n)}), cell)
    zarc = analyse(
        make_result("R0-Zarc1", {"R0.R": 50.0, "Zarc1.R": r, "Zarc1.tau": tau, "Zarc1.n": n}), cell
    )
    for got in (zarc.by_role("soli"),):
        assert got.capacitance_f == pytest.approx(ref.by_role("soli").capacitance_f, rel=1e-12)
        assert got.apex_frequency_hz == pytest.approx(f0, rel=1e-12)
    c = 1e-6
    rc = analyse(make_result("R0-p(R1,C1)", {"R0.R": 50.0, "R1.R": r, "C1.C": c}), cell)
    k = analyse(make_result("R0-K1", {"R0.R": 50.0, "K1.R": r, "K1.tau": r * c}), cell)
    for got in (rc.by_role("soli"), k.by_role("soli")):
        assert got.capacitance_formula == "ideal"
        assert got.capacitance_f == pytest.approx(c, rel=1e-12)
        assert got.apex_frequency_hz == pytest.approx(1 / (2 * math.pi * r * c), rel=1e-12)


# ---------------------------------------------------------------------- uncertainties


def _fd_stderr(result_factory, theta, cov, quantity):
    """sqrt(g^T C g) with g by central differences of the whole analyse() pipeline."""
    grad = np.zeros(theta.size)
    for k in range(theta.size):
        h = 1e-6 * abs(theta[k])
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (quantity(result_factory(up)) - quantity(result_factory(down))) / (2 * h)
    return math.sqrt(grad @ cov @ grad)


def test_propagated_stderr_matches_finite_difference_propagation():
    rng = np.random.default_rng(7)
    values = {"L0.L": 1e-7, "R0.R": 2.0, **arc_values(1, 1000.0, 3e6, 0.95)}
    values |= arc_values(2, 1500.0, 2e3, 0.8) | arc_values(3, 800.0, 1.0, 0.85)
    names = list(values)
    theta = np.array(list(values.values()))
    stderr = 0.02 * theta
    corr = random_correlation(rng, theta.size)
    cov = corr * np.outer(stderr, stderr)
    cell = Cell(1.3, 0.05)

    def factory(t):
        vals = dict(zip(names, t, strict=True))
        errs = dict(zip(names, stderr, strict=True))
        result = make_result(SULFIDE, vals, stderr=errs, correlation=corr)
        return analyse(result, cell, roles=BULK_SOLI_CT)

    analysis = factory(theta)
    checks = {
        "bulk C": (
            lambda a: a.by_role("bulk").capacitance_f,
            analysis.by_role("bulk").capacitance_stderr_f,
        ),
        "soli C": (
            lambda a: a.by_role("soli").capacitance_f,
            analysis.by_role("soli").capacitance_stderr_f,
        ),
        "ct Brug C": (
            lambda a: a.by_role("charge_transfer").capacitance_f,
            analysis.by_role("charge_transfer").capacitance_stderr_f,
        ),
        "soli ASR": (
            lambda a: a.by_role("soli").asr_ohm_cm2,
            analysis.by_role("soli").asr_stderr_ohm_cm2,
        ),
        "bulk sigma": (
            lambda a: a.by_role("bulk").conductivity_s_cm,
            analysis.by_role("bulk").conductivity_stderr_s_cm,
        ),
        "total sigma": (
            lambda a: a.total_conductivity_s_cm,
            analysis.total_conductivity_stderr_s_cm,
        ),
        "total R": (lambda a: a.total_resistance_ohm, analysis.total_resistance_stderr_ohm),
    }
    for label, (quantity, propagated) in checks.items():
        expected = _fd_stderr(factory, theta, cov, quantity)
        assert propagated == pytest.approx(expected, rel=1e-5), label


def test_propagated_stderr_agrees_with_monte_carlo_on_a_real_fit():
    rng = np.random.default_rng(11)
    values = {"L0.L": 3e-7, "R0.R": 150.0, **arc_values(1, 300.0, 5e5, 0.9)}
    values |= arc_values(2, 2120.0, 50.0, 0.75)
    # at 0.3 % noise the first-order propagation holds; at 1 % the strong Q-n correlation
    # (-0.994) of the gb arc makes the Monte-Carlo spread ~12 % wider (second-order terms)
    spectrum = simulate(GB_SOLI, values, FREQUENCY_HZ, noise=0.003, rng=rng)
    result = fit(spectrum, GB_SOLI, kk=False)
    analysis = analyse(result, Cell(1.0, 0.1))
    theta = result.theta
    s = np.array(list(result.stderr.values()))
    cov = result.correlation * np.outer(s, s)
    draws = rng.multivariate_normal(theta, cov, size=20000)
    i = {name: k for k, name in enumerate(result.values)}
    gb_c = [hsu_mansfeld_capacitance_f(d[i["R1.R"]], d[i["CPE1.Q"]], d[i["CPE1.n"]]) for d in draws]
    soli_c = [
        hsu_mansfeld_capacitance_f(d[i["R2.R"]], d[i["CPE2.Q"]], d[i["CPE2.n"]]) for d in draws
    ]
    total_sigma = 0.1 / (draws[:, i["R0.R"]] + draws[:, i["R1.R"]])
    assert analysis.by_role("grain_boundary").capacitance_stderr_f == pytest.approx(
        np.std(gb_c), rel=0.05
    )
    assert analysis.by_role("soli").capacitance_stderr_f == pytest.approx(np.std(soli_c), rel=0.05)
    assert analysis.total_conductivity_stderr_s_cm == pytest.approx(np.std(total_sigma), rel=0.05)


def test_fixed_parameters_contribute_no_uncertainty():
    result = nzsp(stderr={"R2.R": 0.0, "CPE2.Q": 0.0, "CPE2.n": 0.0})
    soli = analyse(result, Cell(1.0, 0.1)).by_role("soli")
    assert soli.resistance_stderr_ohm == 0.0 and soli.capacitance_stderr_f == 0.0


def test_undetermined_parameters_leave_derived_quantities_undetermined():
    """No stderr for R2 (the data do not determine it): no SOLI resistance, capacitance or
    ASR either, each None/NaN with the reason, never a number."""
    analysis = analyse(nzsp(stderr={"R2.R": math.nan}), Cell(1.0, 0.1))
    soli = analysis.by_role("soli")
    assert math.isnan(soli.resistance_ohm) and math.isnan(soli.resistance_stderr_ohm)
    assert soli.asr_ohm_cm2 is None and soli.capacitance_f is None
    assert soli.apex_frequency_hz is None
    assert any("soli resistance undetermined" in w for w in soli.warnings)
    assert soli.to_dict()["resistance_ohm"] is None and soli.to_dict()["asr_ohm_cm2"] is None
    assert math.isnan(analysis.total_resistance_ohm)
    # the electrolyte does not involve R2: still determined
    assert analysis.total_conductivity_s_cm is not None


def test_a_sum_of_poorly_separated_resistances_stays_determined():
    """R0 and R1 each +-200 ohm but anti-correlated: R0 + R1 is sharp, so the total
    conductivity is reported while bulk and grain boundary alone are undetermined."""
    names = compile_circuit(GB_SOLI).names
    corr = np.eye(len(names))
    i, j = names.index("R0.R"), names.index("R1.R")
    corr[i, j] = corr[j, i] = -0.9999
    result = nzsp(stderr={"R0.R": 400.0, "R1.R": 400.0}, correlation=corr)
    analysis = analyse(result, Cell(1.0, 0.1))
    assert math.isnan(analysis.by_role("bulk").resistance_ohm)
    assert math.isnan(analysis.by_role("grain_boundary").resistance_ohm)
    assert analysis.total_conductivity_s_cm is not None
    assert analysis.total_conductivity_stderr_s_cm < 0.1 * analysis.total_conductivity_s_cm


# ---------------------------------------------------------------- merging and overrides


def test_two_arcs_given_one_role_are_summed_and_said_so():
    analysis = analyse(nzsp(), Cell(1.0, 0.1), roles={"R1": "soli", "R2": "soli"})
    soli = analysis.by_role("soli")
    assert soli.elements == ("R1", "CPE1", "R2", "CPE2")
    assert soli.resistance_ohm == 300.0 + 2120.0
    assert soli.asr_ohm_cm2 == (300.0 + 2120.0) * 1.0 / 2
    assert soli.capacitance_f is None
    assert any("summed resistance" in w for w in analysis.warnings)
    assert [c.role for c in analysis.contributions].count("soli") == 1


def test_user_overrides_by_either_element_of_an_arc():
    analysis = analyse(nzsp(), Cell(1.0, 0.1), roles={"CPE2": "charge_transfer"})
    assert analysis.by_role("charge_transfer").elements == ("R2", "CPE2")
    assert analysis.by_role("charge_transfer").capacitance_formula == "brug"
    assert analysis.by_role("charge_transfer").reason.startswith("set by the user")


@pytest.mark.parametrize(
    ("roles", "match"),
    [
        ({"R9": "soli"}, "no such element"),
        ({"R1": "electrolyte"}, "allowed roles"),
        ({"R0": "soli"}, "allowed roles"),
        ({"L0": "bulk"}, "allowed roles"),
        ({"R1": "soli", "CPE1": "bulk"}, "conflicting"),
    ],
)
def test_bad_overrides_raise(roles, match):
    with pytest.raises(PhysicsError, match=match):
        analyse(nzsp(), Cell(1.0, 0.1), roles=roles)


def test_by_role_rejects_unknown_roles():
    with pytest.raises(PhysicsError, match="unknown role"):
        analyse(nzsp()).by_role("interface")


# ---------------------------------------------------------------------- bad input


def test_without_geometry_values_are_none_and_a_warning_says_what_is_missing():
    analysis = analyse(nzsp())
    soli = analysis.by_role("soli")
    assert soli.asr_ohm_cm2 is None and soli.per_interface is None
    assert any("no cell area" in w for w in soli.warnings)
    assert analysis.by_role("bulk").conductivity_s_cm is None
    assert analysis.total_conductivity_s_cm is None
    assert any("area_cm2, thickness_cm" in w for w in analysis.warnings)
    assert soli.capacitance_f is not None and soli.normalised_capacitance is None


def test_cell_must_be_a_cell():
    with pytest.raises(PhysicsError, match="Cell"):
        analyse(nzsp(), {"area_cm2": 1.0})  # type: ignore[arg-type]


def test_no_interfacial_arc_is_warned():
    values = {"L0.L": 3e-7, "R0.R": 150.0, **arc_values(1, 300.0, 5e5, 0.9)}
    result = make_result("L0-R0-p(R1,CPE1)", values)
    analysis = analyse(result, Cell(1.0, 0.1), roles={"R1": "grain_boundary"})
    assert analysis.by_role("soli") is None
    assert any("no interfacial" in w and "ASR" in w for w in analysis.warnings)
    short = analyse(make_result("L0-R0", {"L0.L": 1e-6, "R0.R": 3.0}), Cell(1.0, 0.1))
    assert any("no interfacial" in w for w in short.warnings)


def test_arc_outside_the_band_and_small_n_are_warned():
    values = {"L0.L": 3e-7, "R0.R": 150.0, **arc_values(1, 300.0, 3e7, 0.9)}
    values |= arc_values(2, 2120.0, 50.0, 0.45)
    analysis = analyse(make_result(GB_SOLI, values), Cell(1.0, 0.1))
    by_element = {c.elements[0]: c for c in analysis.contributions}
    assert any("outside the measured band" in w for w in by_element["R1"].warnings)
    assert any("n = 0.45 < 0.5" in w for w in by_element["R2"].warnings)


def test_implausible_permittivity_is_warned():
    values = {"L0.L": 1e-7, "R0.R": 2.0, **arc_values(1, 1000.0, 3e6, 0.95)}
    values |= arc_values(2, 300.0, 5e4, 0.9) | arc_values(3, 1500.0, 50.0, 0.75)
    bulk = analyse(make_result(SULFIDE, values), Cell(0.01, 1.0), roles={"R1": "bulk"})
    bulk = bulk.by_role("bulk")
    assert bulk.relative_permittivity > 300
    assert any("permittivity" in w for w in bulk.warnings)


def test_zero_bulk_resistance_gives_no_conductivity_and_a_warning():
    analysis = analyse(nzsp(r0=0.0), Cell(1.0, 0.1), roles={"R0": "bulk"})
    bulk = analysis.by_role("bulk")
    assert bulk.conductivity_s_cm is None
    assert any("conductivity undefined" in w for w in bulk.warnings)


def test_uninterpreted_elements_are_unassigned_with_no_number_invented():
    values = {"R0.R": 100.0, **arc_values(1, 1000.0, 100.0, 0.8), "W1.Aw": 50.0}
    analysis = analyse(make_result("R0-p(R1,CPE1)-W1", values), Cell(1.0, 0.1))
    w = analysis.by_role("unassigned")
    assert w.elements == ("W1",) and math.isnan(w.resistance_ohm)
    assert analysis.total_resistance_ohm == 1000.0 + 100.0


def test_a_fit_that_did_not_converge_is_warned():
    assert any("did not converge" in w for w in analyse(nzsp(success=False)).warnings)


def test_to_dict_is_strict_json():
    analysis = analyse(nzsp(), Cell(1.0, 0.1))
    text = json.dumps(analysis.to_dict(), allow_nan=False)
    data = json.loads(text)
    soli = next(c for c in data["contributions"] if c["role"] == "soli")
    assert soli["asr_ohm_cm2"] == 1060.0 and soli["per_interface"] is True
    assert data["cell"]["area_cm2"] == 1.0
    assert analysis.all_warnings == analysis.warnings + tuple(
        w for c in analysis.contributions for w in c.warnings
    )


def test_series_intercept_without_a_bulk_arc_is_warned():
    analysis = analyse(nzsp(), Cell(1.0, 0.1), roles={"R0": "series"})
    assert analysis.by_role("bulk") is None
    assert analysis.total_conductivity_s_cm == 0.1 / (300.0 * 1.0)  # gb only, and said so
    assert any("bulk resistance is missing" in w for w in analysis.warnings)
