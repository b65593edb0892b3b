"""eisfit.io.lcr (LCR |Z|-theta, Agilent 4294A, Zahner CSV, FRA gain) and eisfit.io.novocontrol."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import REAL, read_outcome

import eisfit.io
from eisfit import ReadError, Spectrum, UnsupportedFormatError
from eisfit.io.novocontrol import EPS0_F_PER_M
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(8e4, 5e5, 0.9), Arc(4e5, 100.0, 0.8)))


def _spectrum(n: int = 12, seed: int = 5) -> Spectrum:
    rng = np.random.default_rng(seed)
    return simulate(CELL.circuit, CELL.values, np.logspace(6.5, 1.5, n), noise=0.01, rng=rng)


def _comma(value: float, digits: int = 6) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


# --- fixture writers -----------------------------------------------------------------


def write_lcr(
    folder: Path, spectrum: Spectrum, celsius: int, when: datetime, n: int | None = None
) -> Path:
    """The thesis LCR meter's layout: latin-1, tabs, decimal comma, T in the file name."""
    lines = [
        f"Time: {when:%H:%M}; Datum: {when:%d.%m.%Y}",
        "Sample Area [sqmm]: 0,000",
        "Sample Thickness [mm]: 1,250",
        "Voltage Level [V]: 0,010",
        "",
        "",
        "F[Hz]\t\tZ[Ohm]\t\tTheta\t\tTemperatur[°C]",
    ]
    for f, z in list(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True))[:n]:
        lines.append("\t".join([_comma(f), _comma(abs(z)), _comma(np.degrees(np.angle(z)))]))
    path = folder / f"{when:%d.%m.%Y}__LRC_0_  {celsius}°C.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def write_4294a(path: Path, spectrum: Spectrum, unit: str = "DEG") -> Path:
    scale = 1.0 if unit == "RAD" else 180 / np.pi
    lines = [
        "4294A REV1.11",
        '"DATE: Jan 25 2018"',
        "",
        "",
        f'"MEASURE PARAMETER: IMPEDANCE MAG PHASE ({unit})"',
    ]
    lines += ['"SWEEP TYPE: LOG FREQ"', f'"NUMBER of POINTS: {len(spectrum)}"', ""]
    for trace, values in (
        ("A", np.abs(spectrum.impedance_ohm)),
        ("B", np.angle(spectrum.impedance_ohm) * scale),
    ):
        lines += [
            f'"TRACE: {trace}"',
            '"FORMAT: LOG"',
            "",
            '"Frequency"\t"Data Trace Real"\t"Data Trace Imag"',
        ]
        lines += [
            f"{f:.11e}\t{v:.16e}\t0.000000e+00"
            for f, v in zip(spectrum.frequency_hz, values, strict=True)
        ]
        lines += ["", ""]
    path.write_text("\r\n".join(lines), encoding="ascii")
    return path


def _si(value: float) -> str:
    for prefix, scale in (("k", 1e3), ("", 1.0), ("m", 1e-3)):
        if abs(value) >= scale or prefix == "m":
            return f"{value / scale:.3f}{prefix}"
    raise AssertionError


def write_zahner_csv(path: Path, spectrum: Spectrum) -> Path:
    lines = ["Frequency;Impedance;Phase"]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        lines.append(";".join([_si(f), _si(abs(z)), _si(np.degrees(np.angle(z)))]))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_novocontrol(
    path: Path, spectra: list[Spectrum], kind: str, *, kelvin=(300.0,), geometry=True
) -> Path:
    """WinDETA ASCII with Zs, Zp or Eps columns; several temperatures via a Temp. column."""
    diameter_mm, thickness_mm = 10.0, 1.0
    c0 = EPS0_F_PER_M * math.pi * (diameter_mm / 2e3) ** 2 / (thickness_mm / 1e3)
    lines = ["NZSP pellet, 7.3.2024, 9:05"]
    if geometry:
        lines.append(
            f"Diameter[mm] {diameter_mm:.3e}  Thickness[mm] {thickness_mm:.3e}"
            "  Spacer Capacity[pF] 0.000e+00  Spacer Area[mm^2] 0.000e+00"
        )
    lines.append(f"Fixed value(s) :  Temp. [K]={kelvin[0]:.4e}  AC Volt  [Vrms]=1.000e-01")
    columns = {
        "zs": ["Zs' [Ohms]", "Zs'' [Ohms]"],
        "zp": ["Zp' [Ohms]", "Zp'' [Ohms]"],
        "eps": ["Eps'    ", "Eps''   "],
    }[kind]
    temp = ["Temp. [°C]"] if len(spectra) > 1 else []
    lines.append("\t".join([" Freq. [Hz]", *temp, *columns, "M Temp [K]"]))
    for spectrum, k in zip(spectra, kelvin, strict=True):
        for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
            if kind == "zs":
                pair = (z.real, z.imag)
            elif kind == "zp":
                pair = (1 / (1 / z).real, 1 / (1 / z).imag)
            else:
                eps = 1 / (1j * 2 * math.pi * f * c0 * z)
                pair = (eps.real, -eps.imag)
            cells = [f, *([k - 273.15] if temp else []), *pair, k + 0.01]
            lines.append("\t".join(f"{c:.16e}" for c in cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


# --- LCR |Z|-theta -------------------------------------------------------------------


def test_lcr_ztheta_round_trip_with_timestamp_temperature_and_metadata(tmp_path: Path) -> None:
    spectrum = _spectrum()
    path = write_lcr(tmp_path, spectrum, -41, datetime(2015, 7, 17, 16, 26))
    (back,) = eisfit.io.read(path)
    assert eisfit.io.detect(path) == "lcr-ztheta"
    np.testing.assert_allclose(back.frequency_hz, spectrum.frequency_hz, rtol=1e-6)
    np.testing.assert_allclose(back.impedance_ohm, spectrum.impedance_ohm, rtol=1e-5)
    assert back.meta.timestamp == datetime(2015, 7, 17, 16, 26)
    assert back.meta.temperature_k == pytest.approx(232.15)
    assert (
        back.meta.extra["sample_thickness_mm"] == 1.25 and "sample_area_mm2" not in back.meta.extra
    )
    assert back.meta.extra["ac_amplitude_v"] == 0.01 and back.meta.extra["format"] == "lcr-ztheta"


def test_lcr_ztheta_errors_name_the_line(tmp_path: Path) -> None:
    path = write_lcr(tmp_path, _spectrum(), 29, datetime(2015, 7, 17, 9, 37))
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    lines[9] = "63,497000\tdefekt\t-67,2"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(ReadError, match="non-numeric value 'defekt'") as info:
        eisfit.io.read(path)
    assert info.value.line == 10
    empty = write_lcr(tmp_path, _spectrum(), 50, datetime(2015, 7, 17, 9, 37), n=0)
    with pytest.raises(ReadError, match="header row but no data rows"):
        eisfit.io.read(empty)


# --- Agilent 4294A, Zahner CSV, FRA gain ---------------------------------------------------


@pytest.mark.parametrize("unit", ["DEG", "RAD"])
def test_4294a_round_trip(tmp_path: Path, unit: str) -> None:
    spectrum = _spectrum()
    path = write_4294a(tmp_path / "impedance.txt", spectrum, unit)
    assert eisfit.io.detect(path) == "agilent-4294a"
    (back,) = eisfit.io.read(path)
    np.testing.assert_allclose(back.frequency_hz, spectrum.frequency_hz, rtol=1e-11)
    np.testing.assert_allclose(back.impedance_ohm, spectrum.impedance_ohm, rtol=1e-13)
    assert back.meta.timestamp == datetime(2018, 1, 25) and back.meta.extra["warnings"] == ()
    text = path.read_bytes().decode("ascii").replace("POINTS: 12", "POINTS: 20")
    path.write_bytes(text.encode("ascii"))
    assert eisfit.io.read(path)[0].meta.extra["warnings"] == ("aborted sweep: 12 of 20 points",)


def test_4294a_refuses_other_parameters_and_unequal_traces(tmp_path: Path) -> None:
    path = write_4294a(tmp_path / "a.txt", _spectrum())
    text = path.read_bytes().decode("ascii")
    path.write_bytes(text.replace("IMPEDANCE MAG", "ADMITTANCE MAG").encode())
    with pytest.raises(ReadError, match="is not 'IMPEDANCE MAG PHASE'"):
        eisfit.io.read(path)
    path.write_bytes(text.rsplit("\r\n", 5)[0].encode())
    with pytest.raises(ReadError, match="equal length"):
        eisfit.io.read(path)


def test_zahner_csv_with_si_prefixes(tmp_path: Path) -> None:
    spectrum = _spectrum()
    path = write_zahner_csv(tmp_path / "EIS.csv", spectrum)
    assert eisfit.io.detect(path) == "zahner-csv"
    assert "m;" in path.read_text() or "k;" in path.read_text()
    (back,) = eisfit.io.read(path)
    np.testing.assert_allclose(back.frequency_hz, spectrum.frequency_hz, rtol=1e-3)
    np.testing.assert_allclose(back.impedance_ohm, spectrum.impedance_ohm, rtol=2e-3)


@pytest.mark.parametrize(
    "text",
    [
        "% Moku:Go Frequency Response Analyzer\n% Frequency (Hz), Channel A (dBm)\n1e1, -6.8\n",
        "in Sa,Frequency in Hz,Gain in dB,Phase in °,Amplitude in Vpp\n1,10,-3.4,0.1,1\n",
    ],
)
def test_fra_gain_files_are_refused_not_misread(tmp_path: Path, text: str) -> None:
    path = tmp_path / "shunt.csv"
    path.write_text(text, encoding="utf-8")
    assert eisfit.io.detect(path) == "fra-gain"
    with pytest.raises(UnsupportedFormatError, match="not an impedance spectrum"):
        eisfit.io.read(path)


# --- Novocontrol ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zs", "zp", "eps"])
def test_novocontrol_impedance_from_each_column_set(tmp_path: Path, kind: str) -> None:
    spectrum = _spectrum()
    path = write_novocontrol(tmp_path / "30.TXT", [spectrum], kind)
    assert eisfit.io.detect(path) == "novocontrol"
    (back,) = eisfit.io.read(path)
    np.testing.assert_array_equal(back.frequency_hz, spectrum.frequency_hz)
    np.testing.assert_allclose(back.impedance_ohm, spectrum.impedance_ohm, rtol=1e-12)
    assert back.meta.timestamp == datetime(2024, 3, 7, 9, 5)
    assert back.meta.temperature_k == 300.0 and back.meta.extra["ac_amplitude_v"] == 0.1
    assert bool(back.meta.extra["warnings"]) == (kind == "eps")


def test_novocontrol_several_temperatures(tmp_path: Path) -> None:
    spectra = [_spectrum(seed=s) for s in range(3)]
    path = write_novocontrol(tmp_path / "X4.txt", spectra, "zs", kelvin=(295.15, 323.15, 343.15))
    back = eisfit.io.read(path)
    assert [s.meta.temperature_k for s in back] == pytest.approx([295.15, 323.15, 343.15])
    assert [s.meta.index for s in back] == [0, 1, 2]
    for got, want in zip(back, spectra, strict=True):
        np.testing.assert_allclose(got.impedance_ohm, want.impedance_ohm, rtol=1e-12)


def test_novocontrol_errors(tmp_path: Path) -> None:
    path = write_novocontrol(tmp_path / "a.txt", [_spectrum()], "eps", geometry=False)
    with pytest.raises(ReadError, match="no geometry to convert"):
        eisfit.io.read(path)
    text = write_novocontrol(tmp_path / "b.txt", [_spectrum()], "zs").read_text(encoding="cp1252")
    (tmp_path / "b.txt").write_text(text.replace("e+05\t", "e+05x\t", 1), encoding="cp1252")
    with pytest.raises(ReadError, match="expected 4 numbers") as info:
        eisfit.io.read(tmp_path / "b.txt")
    assert info.value.line is not None and info.value.line > 4
    sweep = text.replace(" Freq. [Hz]", "Temp. [K]\tFreq. [Hz]", 1).split("\r\n")[:4]
    (tmp_path / "c.txt").write_text("\r\n".join(sweep), encoding="cp1252")
    with pytest.raises(ReadError, match="temperature sweep at fixed frequency"):
        eisfit.io.read(tmp_path / "c.txt", format="novocontrol")


# --- fuzz -----------------------------------------------------------------------------


def _fixtures(folder: Path) -> list[Path]:
    spectrum = _spectrum(6)
    return [
        write_lcr(folder, spectrum, 42, datetime(2015, 7, 22, 14, 25)),
        write_4294a(folder / "z.txt", spectrum),
        write_zahner_csv(folder / "EIS.csv", spectrum),
        write_novocontrol(
            folder / "n.txt", [spectrum, _spectrum(6, 1)], "eps", kelvin=(300.0, 350.0)
        ),
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, 3),
    cut=st.floats(0, 1),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=3)), max_size=4),
)
def test_fuzz_damaged_files(tmp_path_factory, which: int, cut: float, edits) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    source = _fixtures(folder)[which]
    data = bytearray(source.read_bytes())
    for where, replacement in edits:
        index = int(where * (len(data) - 1))
        data[index : index + 1] = replacement
    source.write_bytes(bytes(data[: int(cut * len(data))]))
    read_outcome(eisfit.io.read, source, names_file=True)


# --- real exports ----------------------------------------------------------------------

LCR = REAL / "m0l0t0ph__thesis" / "Experimentelles" / "Impedanzmessungen" / "LATP_LMNO"
NOVO = REAL / "AleksandrVakulenko__Novocontrol-file-import"


@pytest.mark.skipif(not LCR.is_dir(), reason="shared real-data folder not present")
def test_real_lcr_series_has_temperatures_and_a_capacitive_electrolyte() -> None:
    files = sorted(LCR.rglob("*LRC*.txt"))
    assert len(files) == 16
    for path in files:
        (spectrum,) = eisfit.io.read(path)
        assert len(spectrum) == 401 and -80 <= spectrum.meta.temperature_k - 273.15 <= 150
        assert spectrum.meta.timestamp.year == 2015
        assert np.median(spectrum.impedance_ohm.imag) < 0  # LATP pellet: capacitive


@pytest.mark.skipif(not NOVO.is_dir(), reason="shared real-data folder not present")
def test_real_novocontrol_permittivity_route_matches_the_zs_columns(tmp_path: Path) -> None:
    """24_T1.TXT has Eps', Eps'' and Zs', Zs'': drop the Zs columns, compare (5 digits)."""
    path = NOVO / "examples1" / "24_T1.TXT"
    (reference,) = eisfit.io.read(path)
    lines = path.read_bytes().decode("cp1252").splitlines()
    keep = [i for i, name in enumerate(lines[3].split("\t")) if "Zs" not in name]
    stripped = lines[:3] + [
        "\t".join(line.split("\t")[i] for i in keep) for line in lines[3:] if line
    ]
    (tmp_path / "eps.txt").write_text("\n".join(stripped), encoding="cp1252")
    (derived,) = eisfit.io.read(tmp_path / "eps.txt")
    np.testing.assert_allclose(derived.impedance_ohm, reference.impedance_ohm, rtol=5e-5)
    assert reference.meta.temperature_k == pytest.approx(449.44)
