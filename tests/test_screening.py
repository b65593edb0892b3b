"""eisfit.screening.screen: each kind found when injected, absent on clean data; drop, prepare."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reader_checks import NO_REAL, REAL

import eisfit.io
from eisfit import Spectrum, SpectrumError, SpectrumMeta, get_model
from eisfit.screening.points import MIN_POINTS
from eisfit.screening.screen import (
    POINT_KINDS,
    drop_flagged,
    estimate_noise,
    format_findings,
    prepare,
    screen,
    screen_all,
)
from eisfit.spectrum import Finding, format_hz
from eisfit.synthetic import cpe_q, simulate

F_HZ = np.logspace(6, -1, 71)  # 10 points per decade, high to low


def arc(i: int, r: float, f0: float, n: float) -> dict[str, float]:
    return {f"R{i}.R": r, f"CPE{i}.Q": cpe_q(r, f0, n), f"CPE{i}.n": n}


# realistic cells of every shipped model (1 cm2)
CELLS = {
    "intercept-soli": {"L0.L": 3e-7, "R0.R": 400.0, **arc(1, 2120.0, 80.0, 0.8)},
    "gb-soli": {
        "L0.L": 3e-7,
        "R0.R": 150.0,
        **arc(1, 300.0, 5e5, 0.9),
        **arc(2, 2120.0, 50.0, 0.75),
    },
    "bulk-gb-soli": {
        "L0.L": 2e-7,
        "R0.R": 3.0,
        **arc(1, 1000.0, 3e6, 0.95),
        **arc(2, 300.0, 5e4, 0.9),
        **arc(3, 1500.0, 50.0, 0.75),
    },
    "bulk-gb-soli-ct": {
        "L0.L": 2e-7,
        "R0.R": 3.0,
        **arc(1, 1000.0, 3e6, 0.95),
        **arc(2, 300.0, 5e4, 0.9),
        **arc(3, 1500.0, 1e3, 0.8),
        **arc(4, 800.0, 2.0, 0.85),
    },
    "blocking": {"R0.R": 200.0, **arc(1, 500.0, 2e5, 0.9), "CPE2.Q": 2e-6, "CPE2.n": 0.85},
    "blocking-bulk-gb": {
        "R0.R": 2.0,
        **arc(1, 1000.0, 3e6, 0.95),
        **arc(2, 400.0, 3e4, 0.9),
        "CPE3.Q": 2e-6,
        "CPE3.n": 0.85,
    },
}


def cell(
    name: str = "gb-soli",
    *,
    noise: float = 0.01,
    seed: int = 0,
    frequency_hz: np.ndarray = F_HZ,
    changes: dict[str, float] | None = None,
    source: str | None = "cell.mpt",
) -> Spectrum:
    values = CELLS[name] | (changes or {})
    return simulate(
        get_model(name).circuit,
        values,
        frequency_hz,
        noise=noise,
        rng=np.random.default_rng(seed),
        meta=SpectrumMeta(source=source),
    )


def with_z(spectrum: Spectrum, z: np.ndarray) -> Spectrum:
    return Spectrum(spectrum.frequency_hz, z, spectrum.meta)


def kinds(spectrum: Spectrum) -> list[str]:
    return [f.kind for f in spectrum.meta.findings]


def only(spectrum: Spectrum, kind: str) -> Finding:
    found = [f for f in spectrum.meta.findings if f.kind == kind]
    assert len(found) == 1, format_findings(spectrum.meta.findings)
    return found[0]


# --------------------------------------------------------------------------- clean data


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("noise", [0.0, 0.005, 0.02])
def test_clean_synthetic_spectra_have_no_findings(name: str, noise: float) -> None:
    for seed in range(3):
        screened = screen(cell(name, noise=noise, seed=seed))
        assert screened.meta.findings == (), format_findings(screened.meta.findings)


def _inductive(seed: int = 3) -> Spectrum:
    """A small cell (20 ohm intercept, 200 ohm arc) on 3 uH leads: inductive above ~50 kHz."""
    changes = {"L0.L": 3e-6, "R0.R": 20.0, **arc(1, 200.0, 80.0, 0.8)}
    return cell("intercept-soli", noise=0.003, seed=seed, changes=changes)


def test_a_plain_inductive_head_is_not_a_finding() -> None:
    for seed in range(3):
        spectrum = _inductive(seed)
        assert (spectrum.impedance_ohm.imag[:13] > 0).all()  # Z'' > 0 above 50 kHz
        assert screen(spectrum).meta.findings == ()


def test_screen_returns_the_same_points_with_findings_set() -> None:
    spectrum = cell()
    assert spectrum.meta.findings is None
    screened = screen(spectrum)
    assert screened.meta.findings == ()
    np.testing.assert_array_equal(screened.frequency_hz, spectrum.frequency_hz)
    np.testing.assert_array_equal(screened.impedance_ohm, spectrum.impedance_ohm)
    assert screened.meta.source == spectrum.meta.source


def test_noise_estimate_follows_the_noise() -> None:
    for noise in (0.005, 0.01, 0.02):
        estimates = [estimate_noise(cell(name, noise=noise, seed=1)) for name in CELLS]
        assert 0.7 * noise < np.median(estimates) < 1.3 * noise, (noise, estimates)
    assert estimate_noise(cell(noise=0.0)) == pytest.approx(1e-3)  # the floor
    assert estimate_noise(cell(frequency_hz=F_HZ[: MIN_POINTS - 1])) is None


# --------------------------------------------------------------------------- outliers


@pytest.mark.parametrize(
    ("index", "size"),
    # at the end of the band a point is checked against an extrapolation, with a wider
    # uncertainty: there a spike must be larger to be seen
    [(8, 0.1), (30, 0.1), (52, 0.1), (8, 0.3), (30, 0.3), (52, 0.3), (70, 0.3)],
)
def test_an_injected_spike_is_an_outlier_named_by_frequency(index: int, size: float) -> None:
    spectrum = cell("bulk-gb-soli", noise=0.005, seed=2)
    z = spectrum.impedance_ohm.copy()
    z[index] *= 1 + size * np.exp(0.7j)
    finding = only(screen(with_z(spectrum, z)), "outlier")
    assert finding.points == (index,)
    assert finding.severity == "warning"
    assert f"({format_hz(spectrum.frequency_hz[index])})" in finding.message
    assert "--drop-flagged-points" in finding.message
    if index == 70:  # the lowest frequency: cropping also removes it
        assert f"--f-min {F_HZ[69]:.3g}" in finding.message


def test_two_spikes_are_both_found_and_their_neighbours_are_not() -> None:
    spectrum = cell("gb-soli", noise=0.01, seed=4)
    z = spectrum.impedance_ohm.copy()
    z[20] *= 0.8
    z[22] *= 1.2 * np.exp(-0.5j)
    assert only(screen(with_z(spectrum, z)), "outlier").points == (20, 22)


def test_scatter_at_the_noise_level_is_not_an_outlier() -> None:
    # a noisy low-frequency end: the last 15 points at 5 % noise
    spectrum = cell("gb-soli", noise=0.005, seed=5)
    rng = np.random.default_rng(9)
    z = spectrum.impedance_ohm.copy()
    z[-15:] *= 1 + 0.05 * (rng.standard_normal(15) + 1j * rng.standard_normal(15))
    assert "outlier" not in kinds(screen(with_z(spectrum, z)))


# --------------------------------------------------------------------------- heads


def test_an_artefact_point_at_f_max_is_an_inductive_artefact_to_crop() -> None:
    # the case: one point at 1 MHz off the trend pins R0 at 0
    spectrum = cell("gb-soli", noise=0.005, seed=1)
    z = spectrum.impedance_ohm.copy()
    z[0] = 0.1 * z[0].real + 1j * z[0].imag
    finding = only(screen(with_z(spectrum, z)), "inductive_artefact")
    assert finding.points == (0,)
    assert "--f-max 7.94e5" in finding.message  # the next point down: 794 kHz
    assert "1 point above 794 kHz" in finding.message
    assert "outlier" not in kinds(screen(with_z(spectrum, z)))


def test_a_resonance_in_the_head_is_an_inductive_artefact() -> None:
    spectrum = _inductive()
    z = spectrum.impedance_ohm.copy()
    f = spectrum.frequency_hz
    top = f > 2.5e5  # Z'' bends down above 250 kHz: a series resonance of the leads
    z[top] = z[top].real + 1j * z[top].imag * (2.5e5 / f[top]) ** 1.5
    finding = only(screen(with_z(spectrum, z)), "inductive_artefact")
    assert "resonance" in finding.message
    assert set(finding.points) <= set(np.flatnonzero(top))
    assert 0 in finding.points and "--f-max" in finding.message


def test_a_rising_real_part_in_the_head_is_an_inductive_artefact() -> None:
    spectrum = _inductive()
    z = spectrum.impedance_ohm.copy()
    f = spectrum.frequency_hz
    z = z + 20.0 * (f / 1e6) ** 0.8  # Z' doubles toward f_max (a non-ideal cable)
    finding = only(screen(with_z(spectrum, z)), "inductive_artefact")
    assert "Z' rises" in finding.message


def test_a_real_part_falling_below_zero_in_the_head_is_one_finding() -> None:
    spectrum = _inductive()
    z = spectrum.impedance_ohm.copy()
    f = spectrum.frequency_hz
    z = z - 40.0 * (f / 1e6) ** 2  # Z' falls from the 20-ohm intercept to -20 ohm
    screened = screen(with_z(spectrum, z))
    finding = only(screened, "inductive_artefact")
    assert "below zero" in finding.message
    negative = set(np.flatnonzero(z.real < 0).tolist())
    assert negative <= set(finding.points)
    assert "negative_real" not in kinds(screened)  # the same points are not reported twice


# --------------------------------------------------------------------------- negative real


def test_negative_real_points_beyond_the_noise_are_found() -> None:
    spectrum = cell("intercept-soli", noise=0.01, seed=6)
    z = spectrum.impedance_ohm - 450.0  # an over-compensated series resistance
    finding = only(screen(with_z(spectrum, z)), "negative_real")
    below = np.flatnonzero(z.real < -0.05 * np.abs(z))
    assert set(below.tolist()) <= set(finding.points)
    assert all(z.real[i] < 0 for i in finding.points)
    assert "beyond the noise" in finding.message and "--f-max" in finding.message


def test_a_sign_flipped_spectrum_says_to_check_the_sign_convention() -> None:
    spectrum = cell("gb-soli", noise=0.01, seed=7)
    finding = only(screen(with_z(spectrum, -spectrum.impedance_ohm.conj())), "negative_real")
    assert len(finding.points) == len(spectrum)
    assert "sign convention" in finding.message


def test_a_slightly_negative_real_part_within_the_noise_is_not_a_finding() -> None:
    spectrum = cell("gb-soli", noise=0.01, seed=8, changes={"R0.R": 0.0, "L0.L": 0.0})
    z = spectrum.impedance_ohm.copy()
    z[0] = -0.01 * abs(z[0]) + 1j * z[0].imag  # one sigma below zero
    assert "negative_real" not in kinds(screen(with_z(spectrum, z)))


def test_short_spectra_are_screened_for_what_needs_no_noise_estimate() -> None:
    s = Spectrum([1e4, 1e3, 100.0, 10.0], [-50 - 5j, 20 - 10j, 40 - 20j, 60 - 5j])
    screened = screen(s)
    assert only(screened, "negative_real").points == (0,)
    assert "outlier" not in kinds(screened)


# --------------------------------------------------------------------------- non-monotonic


def test_two_merged_sweeps_are_non_monotonic() -> None:
    f = np.concatenate([np.logspace(6, 0, 31), np.logspace(5.9, 0.1, 30)])
    spectrum = Spectrum(f, np.linspace(10, 100, f.size) - 5j)
    finding = only(screen(spectrum), "non_monotonic")
    assert finding.points == (31,)
    assert "jumps back 1 time, first after point 30 (1 Hz) to 794 kHz" in finding.message
    assert screen(cell()).meta.findings == ()
    assert screen(cell().sorted(descending=False)).meta.findings == ()  # rising sweeps too


# --------------------------------------------------------------------------- truncated


def _siblings(n: int = 5) -> list[Spectrum]:
    return [cell("gb-soli", noise=0.005, seed=seed) for seed in range(n)]


def test_a_sibling_missing_its_low_frequency_half_is_truncated() -> None:
    spectra = _siblings()
    spectra[2] = spectra[2].crop(f_min_hz=300.0)  # 1 MHz - 316 Hz of 1 MHz - 0.1 Hz
    screened = screen_all(spectra)
    finding = only(screened[2], "truncated")
    assert finding.points == ()
    assert "the low-frequency half, below 316 Hz, is missing (3.5 of 7.0 decades)" in (
        finding.message
    )
    assert "4 siblings" in finding.message
    for i in (0, 1, 3, 4):
        assert screened[i].meta.findings == ()


def test_a_sibling_missing_its_top_or_most_points_is_truncated() -> None:
    spectra = _siblings(3)
    spectra[0] = spectra[0].crop(f_max_hz=1e4)
    assert (
        "the high-frequency part, above 10 kHz, is missing"
        in only(screen(spectra[0], siblings=spectra), "truncated").message
    )
    sparse = cell("gb-soli", frequency_hz=np.logspace(6, -1, 29))
    assert "much shorter" in only(screen(sparse, siblings=spectra[1:]), "truncated").message


def test_without_siblings_nothing_is_said_about_truncation() -> None:
    short = cell().crop(f_min_hz=100.0)
    assert screen(short).meta.findings == ()
    assert screen(short, siblings=[short]).meta.findings == ()  # itself is not a sibling
    assert screen_all([short])[0].meta == screen(short).meta


# --------------------------------------------------------------------------- drop_flagged


def _spiked() -> tuple[Spectrum, np.ndarray]:
    spectrum = cell("bulk-gb-soli", noise=0.005, seed=2)
    z = spectrum.impedance_ohm.copy()
    for i in (20, 45):
        z[i] *= 1.3
    return with_z(spectrum, z), spectrum.frequency_hz[[20, 45]]


def test_drop_flagged_removes_the_flagged_points_and_says_so() -> None:
    spectrum, frequencies = _spiked()
    screened = screen(spectrum)
    assert only(screened, "outlier").points == (20, 45)
    dropped = drop_flagged(screened)
    assert len(dropped) == len(spectrum) - 2
    assert not np.isin(frequencies, dropped.frequency_hz).any()
    assert dropped.meta.findings == ()
    low, high = format_hz(frequencies.min()), format_hz(frequencies.max())
    assert dropped.meta.removed == (f"removed 2 points flagged as outliers: {low}, {high}",)
    assert screen(dropped).meta.findings == ()


def test_drop_flagged_screens_an_unscreened_spectrum_and_keeps_other_findings() -> None:
    spectrum, _ = _spiked()
    assert drop_flagged(spectrum).meta == drop_flagged(screen(spectrum)).meta
    marked = screen(spectrum).with_meta(
        findings=(
            *screen(spectrum).meta.findings,
            Finding("non_monotonic", "jumps back", (10, 21, 50)),
            Finding("truncated", "low half missing"),
        )
    )
    dropped = drop_flagged(marked)
    assert [f.kind for f in dropped.meta.findings] == ["non_monotonic", "truncated"]
    assert dropped.meta.findings[0].points == (10, 20, 48)  # renumbered after 20 and 45 went
    assert len(dropped.meta.removed) == 1


def test_drop_flagged_records_each_kind_once_per_point() -> None:
    s = Spectrum([1e3, 100.0, 10.0, 1.0], [1 - 1j, 2 - 1j, 3 - 1j, 4 - 1j])
    marked = s.with_meta(
        findings=(
            Finding("outlier", "x", (1,)),
            Finding("negative_real", "y", (1, 2)),
        )
    )
    dropped = drop_flagged(marked)
    np.testing.assert_array_equal(dropped.frequency_hz, [1e3, 1.0])
    assert dropped.meta.removed == (
        "removed 1 point flagged as an outlier: 100 Hz",
        "removed 1 point flagged with Z' < 0: 10 Hz",
    )


def test_drop_flagged_without_findings_changes_nothing_and_refuses_to_empty() -> None:
    clean = screen(cell())
    assert drop_flagged(clean) is clean
    s = Spectrum([1e3, 100.0], [1 - 1j, 2 - 1j], SpectrumMeta(source="a.csv", index=3))
    with pytest.raises(SpectrumError, match=r"every point of spectrum 3 of a\.csv is flagged"):
        drop_flagged(s.with_meta(findings=(Finding("outlier", "x", (0, 1)),)))


# --------------------------------------------------------------------------- prepare


def test_prepare_crops_screens_and_optionally_drops() -> None:
    spectra = _siblings(3)
    spiked, _ = _spiked()
    spectra.append(spiked)
    out = prepare(spectra, f_max_hz=7e5)
    assert [len(s) for s in out] == [len(s) - 2 for s in spectra]  # 1 MHz and 794 kHz went
    for s in out:
        assert s.meta.removed == ("cropped to f <= 700 kHz: removed 2 points above",)
        assert s.meta.findings is not None
    assert "outlier" in kinds(out[3])
    assert all(s.meta.findings == () for s in out[:3])
    dropped = prepare(spectra, f_min_hz=1.0, drop_flagged=True)
    assert len(dropped[3]) == len(spectra[3]) - 10 - 2
    assert dropped[3].meta.removed[0] == "cropped to f >= 1 Hz: removed 10 points below"
    assert dropped[3].meta.removed[1].startswith("removed 2 points flagged as outliers: ")
    assert prepare([]) == []


def test_prepare_names_the_spectrum_cropping_would_empty() -> None:
    spectra = [cell(source="run.mpt").with_meta(index=i) for i in range(3)]
    spectra[1] = spectra[1].crop(f_min_hz=1e4)
    with pytest.raises(SpectrumError, match=r"spectrum 1 of run\.mpt, which covers 10 kHz - 1 MHz"):
        prepare(spectra, f_max_hz=5e3)


def test_prepare_screens_siblings_together() -> None:
    spectra = _siblings(4)
    spectra[0] = spectra[0].crop(f_min_hz=30.0)
    assert "truncated" in kinds(prepare(spectra)[0])


def test_format_findings() -> None:
    spectrum, _ = _spiked()
    lines = format_findings(screen(spectrum).meta.findings)
    assert len(lines) == 1 and lines[0].startswith("warning: outlier: 2 points far off")
    assert format_findings(None) == [] == format_findings(())


def test_point_kinds() -> None:
    assert set(POINT_KINDS) == {"negative_real", "outlier", "inductive_artefact"}


# --------------------------------------------------------------------------- any input


@st.composite
def _any_spectrum(draw) -> Spectrum:
    n = draw(st.integers(1, 60))
    exponents = draw(st.lists(st.floats(-3, 7), min_size=n, max_size=n, unique=True))
    f = np.unique(10.0 ** np.array(exponents))
    values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    re_ = draw(st.lists(values, min_size=f.size, max_size=f.size))
    im = draw(st.lists(values, min_size=f.size, max_size=f.size))
    order = draw(st.permutations(range(f.size)))
    return Spectrum(f[list(order)], (np.array(re_) + 1j * np.array(im))[list(order)])


@settings(max_examples=80, deadline=None)
@given(spectrum=_any_spectrum())
def test_any_valid_spectrum_is_screened_without_error(spectrum: Spectrum) -> None:
    screened = screen(spectrum, siblings=[cell()])
    for finding in screened.meta.findings:
        assert finding.severity == "warning"
        assert all(0 <= i < len(spectrum) for i in finding.points)
        assert (finding.kind in POINT_KINDS) == bool(finding.points) or (
            finding.kind == "non_monotonic"
        )
    try:
        dropped = drop_flagged(screened)
    except SpectrumError as exc:
        assert "is flagged" in str(exc)
    else:
        assert len(dropped) <= len(spectrum)


# --------------------------------------------------------------------------- real data


def _real(path: str) -> list[Spectrum]:
    return screen_all(eisfit.io.read(REAL / path))


@NO_REAL
def test_real_clean_spectra_have_no_findings() -> None:
    for path in (
        "ECSHackWeek__impedance.py/data/Circuit1_EIS_1.z",
        "ECSHackWeek__impedance.py/data/exampleDataBioLogic.mpt",
        "ECSHackWeek__impedance.py/data/exampleData.csv",
        "Zahner-elektrik__Zahner-Analysis-Python/Examples/ZHIT/ZHIT.ism",
        "Zahner-elektrik__Zahner-Analysis-Python/Examples/BasicIntroduction/rc-data.ism",
        # read with the physical sign: the file's negative columns are -Z' and -Z''
        "vyrjana__pyimpspec/tests/case-negative-real-imaginary.csv",
    ):
        for spectrum in _real(path):
            assert spectrum.meta.findings == (), (path, format_findings(spectrum.meta.findings))


@NO_REAL
def test_real_oddities_are_found() -> None:
    zahner = "Zahner-elektrik__Zahner-Analysis-Python/Examples/EditImpedanceData"
    (edited,) = _real(f"{zahner}/li-ion-battery-edited.ism")  # spikes put in by hand
    assert len(only(edited, "outlier").points) >= 2
    thesis = "m0l0t0ph__thesis/Experimentelles/Ausgewaehlte_Daten/LATP/PEIS"
    (top,) = _real(f"{thesis}/LATP_Korrosion_04_PEIS_C02.mpt")
    assert only(top, "inductive_artefact").points == (0,)  # the 1 MHz point: Z' 10 -> 1 ohm
    cloth = (
        "Houlbergg__Thesis/Python/Data/IRFB/240418-Cloth2-0p5M_FeCl2FeCl3-1M_HCl/"
        "240419-EIS-Cloth2-0p5M_FeCl2FeCl3-1M_HCl-05mLmin-1mHz_20ppd_C15.mpr"
    )
    for spectrum in _real(cloth):  # Z' falls from 0.09 to -0.09 ohm above 115 kHz
        assert "below zero" in only(spectrum, "inductive_artefact").message


@NO_REAL
def test_real_corpus_screening_invariants() -> None:
    from real_corpus_table import manifest_rows, outcome

    total = flagged = 0
    negative_files = set()
    for row in manifest_rows():
        result = outcome(row)
        if result.status != "read":
            continue
        for spectrum in screen_all(result.spectra):
            total += 1
            flagged += bool(spectrum.meta.findings)
            for finding in spectrum.meta.findings:
                assert all(0 <= i < len(spectrum) for i in finding.points)
                if finding.kind == "negative_real":
                    negative_files.add(row.path)
    assert total > 200
    # 68 of 239 when written, all looked at: real oddities, most of them in copies of the
    # same few runs (.mpr, .mpt and ZView exports of one measurement)
    assert flagged < 0.35 * total
    assert any("LATP_LMNO/1stTry" in p for p in negative_files)  # 127-351 of 401 points < 0
