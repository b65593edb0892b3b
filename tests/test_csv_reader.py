"""eisfit.io.csv: round trips, column spellings, delimiters, splitting, every error case."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import REAL, corruption_fuzz, random_content_fuzz

import eisfit.io
import eisfit.io.sniffing as sniffing
from eisfit import ReadError, Spectrum, SpectrumError, SpectrumMeta
from eisfit.io import read_csv, write_csv
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(6, -1, 22)

# f, Z', Z'' of three points (physical sign), and the same as text in several layouts
POINTS = [(1000.0, 10.5, -2.25), (100.0, 20.0, -7.5), (10.0, 30.125, -1.0)]


def _write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _table(header: str | None, sep: str = ",", sign: float = 1.0, comma: bool = False) -> str:
    rows = [] if header is None else [header]
    for f, real, im in POINTS:
        cells = [repr(f), repr(real), repr(sign * im)]
        rows.append(sep.join(c.replace(".", ",") if comma else c for c in cells))
    return "\n".join(rows) + "\n"


def _assert_points(spectra: list[Spectrum]) -> None:
    assert len(spectra) == 1
    expected = np.array([complex(re, im) for _, re, im in POINTS])
    np.testing.assert_array_equal(spectra[0].frequency_hz, [p[0] for p in POINTS])
    np.testing.assert_array_equal(spectra[0].impedance_ohm, expected)


def _sample(seed: int, n_spectra: int = 1) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    return [
        simulate(CELL.circuit, CELL.values, FREQ, noise=0.01, rng=rng) for _ in range(n_spectra)
    ]


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("n_spectra", [1, 3])
def test_write_read_round_trip_is_exact(tmp_path: Path, n_spectra: int) -> None:
    spectra = _sample(1, n_spectra)
    path = write_csv(spectra, tmp_path / "out.csv", comments=["made by a test", "two lines"])
    back = read_csv(path)
    assert len(back) == n_spectra
    for i, (a, b) in enumerate(zip(spectra, back, strict=True)):
        np.testing.assert_array_equal(a.frequency_hz, b.frequency_hz)
        np.testing.assert_array_equal(a.impedance_ohm, b.impedance_ohm)
        names = ("frequency_hz", "z_real_ohm", "z_imag_ohm") + (
            ("spectrum",) if i or n_spectra > 1 else ()
        )
        extra = {"format": "csv", "columns": names}
        assert b.meta == SpectrumMeta(source=str(path), index=i, extra={**extra, "warnings": ()})
    header = path.read_text().splitlines()[2]
    assert header == "frequency_hz,z_real_ohm,z_imag_ohm" + (",spectrum" if n_spectra > 1 else "")


def test_write_adds_spectrum_column_for_a_non_monotonic_single_spectrum(tmp_path: Path) -> None:
    spectrum = Spectrum([10.0, 1.0, 100.0, 5.0], [1 - 1j, 2 - 2j, 3 - 3j, 4 - 4j])
    path = write_csv(spectrum, tmp_path / "out.csv")
    assert path.read_text().startswith("frequency_hz,z_real_ohm,z_imag_ohm,spectrum\n")
    (back,) = read_csv(path)
    np.testing.assert_array_equal(back.impedance_ohm, spectrum.impedance_ohm)


def test_write_with_rounding_and_bad_input(tmp_path: Path) -> None:
    spectrum = _sample(2)[0]
    path = write_csv(spectrum, tmp_path / "r.csv", significant_digits=6)
    (back,) = read_csv(path)
    np.testing.assert_allclose(back.impedance_ohm, spectrum.impedance_ohm, rtol=1e-5)
    with pytest.raises(SpectrumError):
        write_csv([], tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="significant_digits"):
        write_csv(spectrum, tmp_path / "x.csv", significant_digits=0)


_finite = st.floats(allow_nan=False, allow_infinity=False)
_positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False)


@st.composite
def _spectra(draw: st.DrawFn) -> list[Spectrum]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        f = draw(st.lists(_positive, min_size=1, max_size=12, unique=True))
        re = draw(st.lists(_finite, min_size=len(f), max_size=len(f)))
        im = draw(st.lists(_finite, min_size=len(f), max_size=len(f)))
        out.append(Spectrum(f, [complex(a, b) for a, b in zip(re, im, strict=True)]))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spectra=_spectra())
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, spectra) -> None:
    path = write_csv(spectra, tmp_path_factory.mktemp("rt") / "rt.csv")
    back = read_csv(path)
    assert len(back) == len(spectra)
    for a, b in zip(spectra, back, strict=True):
        np.testing.assert_array_equal(a.frequency_hz, b.frequency_hz)
        np.testing.assert_array_equal(a.impedance_ohm.real, b.impedance_ohm.real)
        np.testing.assert_array_equal(a.impedance_ohm.imag, b.impedance_ohm.imag)


# --- headers, signs, delimiters ---------------------------------------------------------


_FREQ_NAMES = ["f", "freq", "Frequency", "Hz", "freq/Hz", "Frequency (Hz)", "FREQ [Hz]"]
_REAL_NAMES = ["Z'", "Re(Z)", "ReZ", "Zreal", "real", "Re(Z)/Ohm", "Z' (Ω)", "z_real_ohm", "Zre"]
_IMAG_NAMES = ["Z''", 'Z"', "Im(Z)", "Zimag", "Im(Z)/Ohm", "z_imag_ohm", "imaginary", "Z'' [ohm]"]
_HEADERS = (
    [(f, "Z'", "Z''") for f in _FREQ_NAMES]
    + [("frequency_hz", r, "Z''") for r in _REAL_NAMES]
    + [("f", "Zre", i) for i in _IMAG_NAMES]
)


@pytest.mark.parametrize(("freq", "real", "imag"), _HEADERS)
def test_header_spellings(tmp_path: Path, freq: str, real: str, imag: str) -> None:
    _assert_points(read_csv(_write(tmp_path, _table(f"{freq};{real};{imag}", sep=";"))))


@pytest.mark.parametrize("imag", ["-Im(Z)", "-Z''", "-Im(Z)/Ohm", "-Zimag", "\u2212Z''", "- Z''"])
def test_leading_minus_flips_the_imaginary_column(tmp_path: Path, imag: str) -> None:
    _assert_points(read_csv(_write(tmp_path, _table(f"freq/Hz\t Re(Z)/Ohm\t{imag}", "\t", -1))))


def test_leading_minus_on_the_real_column_and_extra_columns(tmp_path: Path) -> None:
    text = "time/s,f,-Z',|Z|,-Z''\n" + "".join(
        f"{i},{f},{-re},{abs(complex(re, im))},{-im}\n" for i, (f, re, im) in enumerate(POINTS)
    )
    _assert_points(read_csv(_write(tmp_path, text)))


@pytest.mark.parametrize("sep", [",", ";", "\t", " ", "   ", " \t "])
@pytest.mark.parametrize("header", [None, "f{s}Z'{s}Z''"])
def test_delimiters(tmp_path: Path, sep: str, header: str | None) -> None:
    head = None if header is None else header.format(s=sep)
    _assert_points(read_csv(_write(tmp_path, _table(head, sep))))


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_comma(tmp_path: Path, sep: str) -> None:
    _assert_points(read_csv(_write(tmp_path, _table(f"f{sep}Z'{sep}Z''", sep, comma=True))))
    _assert_points(read_csv(_write(tmp_path, _table(None, sep, comma=True), "headerless.txt")))


def test_headerless_is_physical_sign_without_guessing(tmp_path: Path) -> None:
    (spectrum,) = read_csv(_write(tmp_path, _table(None, sign=-1.0)))
    assert np.all(spectrum.impedance_ohm.imag > 0)  # read as given: inductive, not flipped


def test_comments_blank_lines_crlf_bom_quotes_latin1(tmp_path: Path) -> None:
    text = '# exported at 25 °C\r\n\r\n"f","Z\'","Z\'\'",\r\n  # note\r\n' + _table(None, ",")
    _assert_points(read_csv(_write(tmp_path, codecs.BOM_UTF8 + text.encode())))
    _assert_points(read_csv(_write(tmp_path, text.replace("\r\n", "\r").encode("latin-1"))))
    _assert_points(read_csv(_write(tmp_path, text.encode("utf-16"))))


# --- several spectra ------------------------------------------------------------------


def _rows(fs: list[float], scale: float = 1.0) -> str:
    return "".join(f"{f},{scale * (1 + i)},{-scale * (2 + i)}\n" for i, f in enumerate(fs))


@pytest.mark.parametrize(
    ("sweeps", "sizes"),
    [
        ([[1e4, 1e3, 1e2], [1e4, 1e3, 1e2], [1e4, 1e3]], [3, 3, 2]),  # repeated, falling
        ([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]], [3, 3]),  # repeated, rising
        ([[100.0, 10.0], [10.0, 100.0, 1000.0]], [2, 3]),  # alternating, shared turning point
        ([[100.0, 10.0, 1.0], [0.5, 5.0, 50.0]], [4, 2]),  # alternating: turning point goes first
        ([[5.0], [5.0], [5.0]], [1, 1, 1]),  # repeats of the same frequency
    ],
)
def test_split_where_the_sweep_reverses(tmp_path: Path, sweeps, sizes) -> None:
    text = "f,Z',Z''\n" + "".join(_rows(s) for s in sweeps)
    spectra = read_csv(_write(tmp_path, text))
    assert [len(s) for s in spectra] == sizes
    assert [s.meta.index for s in spectra] == list(range(len(sizes)))
    assert all(s.meta.source == str(tmp_path / "data.csv") for s in spectra)


def test_split_by_spectrum_column_and_repeated_header(tmp_path: Path) -> None:
    text = "f,Z',Z'',spectrum\n1,1,-1,0\n10,2,-2,0\n5,3,-3,0\n1,4,-4,1\n2,5,-5,1\n"
    assert [len(s) for s in read_csv(_write(tmp_path, text))] == [3, 2]
    joined = "f,Z',Z''\n" + _rows([1.0, 2.0]) + "f,Z',Z''\n" + _rows([3.0, 4.0])
    assert [len(s) for s in read_csv(_write(tmp_path, joined))] == [2, 2]


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("f,Z',Z''\n1,2,3\n\n2,abc,4\n", 4, "non-numeric value 'abc'"),
        ("1,2,3\n2,3\n", 2, "expected 3 fields, found 2"),
        ("1;2\n3;4\n", 1, "need at least 3"),
        ("# c\nfoo,Z',Z''\n1,2,3\n", 2, "no frequency column"),
        ("f,|Z|,volts\n1,2,3\n", 1, "no Z' and Z'' columns, nor |Z| and phase"),
        ("f;Gain in dB;Phase in °\n1;2;3\n", 1, "gain (transfer function)"),
        ("f,Z',Z''\n", 1, "no data rows"),
        ("1,2,3,4\n", 1, "exactly 3 columns"),
        (b"f,Z',Z''\n1,2,3\n\x00\x01\xff\n", 3, "not a text file"),
        (b"\xff\xfe\x00", 1, "undecodable"),
        ("f,Z',Z''\n1,2,3\n-2,2,3\n", 3, "frequency must be > 0"),
        ("f,Z',Z'',spectrum\n1,2,3,0\n2,2,3,0\n1,5,5,0\n", 4, "repeats line 2"),
        ("f,\"Z',Z''\n1,2,3\n", 1, "need at least 3"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, content, line: int, fragment: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ReadError) as info:
        read_csv(path)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert fragment in str(info.value)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ReadError, match="empty file") as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"nope\.csv: no such file"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(ReadError, match="directory"):
        read_csv(tmp_path)


def test_spectrum_validation_errors_are_wrapped(tmp_path: Path, monkeypatch) -> None:
    def reject(**_: object) -> Spectrum:
        raise SpectrumError("invalid for a test")

    monkeypatch.setattr(sniffing, "Spectrum", reject)
    path = _write(tmp_path, _table("f,Z',Z''"))
    with pytest.raises(ReadError, match=r"line 2: spectrum 0: invalid for a test") as info:
        read_csv(path)
    assert info.value.path == str(path)


_VALID = (
    "# comment\nfreq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm\n"
    + "".join(f"{f:g};{10 + i},5;{i},25\n" for i, f in enumerate([1e5, 1e4, 1e3, 1e2, 1e5, 1e4]))
).encode()


test_fuzz_corrupted_files_give_spectra_or_read_error = corruption_fuzz(
    read_csv, _VALID, "fuzz.csv", examples=400, nonempty=True
)
test_fuzz_random_bytes = random_content_fuzz(
    read_csv, "random.bin", content=st.binary(max_size=200), examples=200, nonempty=True
)


# --- real exports from other projects (read-only, when the shared folder exists) -----

_PYIMPSPEC = REAL / "vyrjana__pyimpspec" / "tests"
_VARIANTS = [
    "data-comma-decimal-separator.csv",
    "data-header-variant-1.csv",
    "data-header-variant-2.csv",
    "data-header-variant-3.csv",
    "data-semicolon.csv",
    "data-space.csv",
    "data-tab.csv",
    "case-negative-real-imaginary.csv",
    "data-header-variant-4.csv",  # |Z| and -phase columns
]


@pytest.mark.skipif(not _PYIMPSPEC.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize("name", _VARIANTS)
def test_pyimpspec_csv_variants_match_the_reference(name: str) -> None:
    (reference,) = read_csv(_PYIMPSPEC / "data-comma.csv")
    (spectrum,) = read_csv(_PYIMPSPEC / name)
    np.testing.assert_allclose(spectrum.frequency_hz, reference.frequency_hz, rtol=1e-12)
    np.testing.assert_allclose(spectrum.impedance_ohm, reference.impedance_ohm, rtol=1e-9)
    assert len(reference) == 29 and np.all(reference.impedance_ohm.imag < 0)


@pytest.mark.skipif(not _PYIMPSPEC.is_dir(), reason="shared real-data folder not present")
def test_pyimpspec_multi_spectrum_files() -> None:
    assert [len(s) for s in read_csv(_PYIMPSPEC / "case-multiple-spectra.csv")] == [29] * 4
    assert [len(s) for s in read_csv(_PYIMPSPEC / "case-multiple-spectra-reverse.csv")] == [29] * 2


# --- |Z| / phase columns, explicit column mapping, dropped rows -----------------------

_Z = np.array([complex(re, im) for _, re, im in POINTS])


def _polar(header: str, sep: str = ",", scale: float = 180 / np.pi, sign: float = 1.0) -> str:
    rows = [header]
    for (f, _, _), z in zip(POINTS, _Z, strict=True):
        rows.append(sep.join(repr(float(v)) for v in (f, abs(z), sign * np.angle(z) * scale)))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("header", "scale", "sign"),
    [
        ("f,|Z|,phase", 180 / np.pi, 1.0),
        ("Frequency;Impedance;Phase", 180 / np.pi, 1.0),  # Zahner Thales spelling
        ("freq/Hz,|Z|/Ohm,Phase(Z)/deg", 180 / np.pi, 1.0),  # EC-Lab spelling
        ("frequency,|Z|,-phase", 180 / np.pi, -1.0),  # pyimpspec header-variant-4
        ("F[Hz],Z[Ohm],Theta", 180 / np.pi, 1.0),  # LCR-meter spelling
        ("f,Zmod,phase/rad", 1.0, 1.0),
        ("f,Mod(Z),theta (rad)", 1.0, 1.0),
    ],
)
def test_modulus_and_phase_columns(tmp_path: Path, header: str, scale: float, sign: float) -> None:
    sep = ";" if ";" in header else ","
    (spectrum,) = read_csv(_write(tmp_path, _polar(header.replace(",", sep), sep, scale, sign)))
    np.testing.assert_allclose(spectrum.impedance_ohm, _Z, rtol=1e-13)


def test_real_and_imaginary_win_over_modulus_and_phase(tmp_path: Path) -> None:
    text = "f,|Z|,phase,Z',Z''\n" + "".join(f"{f},1,0,{re},{im}\n" for f, re, im in POINTS)
    (spectrum,) = read_csv(_write(tmp_path, text))
    np.testing.assert_array_equal(spectrum.impedance_ohm, _Z)
    assert spectrum.meta.extra["columns"] == ("f", "Z'", "Z''")


@pytest.mark.parametrize(
    "columns",
    [
        {"frequency": "Freq", "real": "Zre", "imag": "-Zim"},  # minus in the column's name
        {"frequency": "Freq", "real": "Zre", "-imag": "-Zim"},  # ... not applied twice
        {"frequency": 0, "real": 1, "-imag": 2},
        {"frequency": " freq ", "real": "ZRE", "-imag": 2, "spectrum": "run"},
    ],
)
def test_explicit_column_mapping(tmp_path: Path, columns: dict) -> None:
    text = "Freq,Zre,-Zim,run\n" + "".join(f"{f},{re},{-im},7\n" for f, re, im in POINTS)
    _assert_points(read_csv(_write(tmp_path, text), columns=columns))


def test_explicit_mapping_for_headerless_and_polar_files(tmp_path: Path) -> None:
    headerless = "".join(f"{f} {re} {-im} 0\n" for f, re, im in POINTS)
    path = _write(tmp_path, headerless, "drt.txt")
    _assert_points(read_csv(path, columns={"frequency": 0, "real": 1, "-imag": 2}))
    polar = _write(tmp_path, _polar("a,b,c", scale=1.0), "polar.csv")
    columns = {"frequency": "a", "modulus": "b", "phase": "c"}
    np.testing.assert_allclose(
        read_csv(polar, columns=columns, phase_unit="rad")[0].impedance_ohm, _Z
    )


@pytest.mark.parametrize(
    ("columns", "fragment"),
    [
        ({"frequency": 0, "real": 1, "imag": 2, "volts": 3}, "unknown column role 'volts'"),
        ({"frequency": 0, "-modulus": 1, "phase": 2}, "unknown column role '-modulus'"),
        ({"real": 1, "imag": 2}, "has no 'frequency'"),
        ({"frequency": 0, "real": 1}, "needs 'real' and 'imag'"),
        ({"frequency": "nope", "real": 1, "imag": 2}, "no column 'nope'"),
        ({"frequency": 0, "real": 1, "imag": 9}, "column index 9 is out of range"),
    ],
)
def test_bad_column_mappings(tmp_path: Path, columns: dict, fragment: str) -> None:
    path = _write(tmp_path, _table("f,a,b"))
    with pytest.raises(ReadError, match=re.escape(fragment)) as info:
        read_csv(path, columns=columns)
    assert info.value.line == 1
    with pytest.raises(ReadError, match="has no header line"):
        read_csv(
            _write(tmp_path, _table(None), "x.csv"),
            columns={"frequency": "f", "real": 1, "imag": 2},
        )
    with pytest.raises(ReadError, match="unknown phase unit"):
        read_csv(_write(tmp_path, _polar("f,|Z|,phase"), "p.csv"), phase_unit="grad")


def test_zero_frequency_and_nan_rows_are_dropped_with_warnings(tmp_path: Path) -> None:
    text = (
        "freq/Hz,|Z|/Ohm,Phase(Z)/deg,loop_index\n"
        "100,1,-10,0\n10,2,-20,0\n0,0,0,0\n"  # end-of-loop marker of the hybrid-drt export
        "100,3,-30,1\n,4,-40,1\n10,nan,-5,1\n1,5,-50,1\n"
    )
    spectra = read_csv(_write(tmp_path, text))
    assert [len(s) for s in spectra] == [2, 2]
    assert spectra[0].meta.extra["warnings"] == (
        "dropped 1 row(s) that are not points: line 4: f = 0 Hz",
    )
    assert spectra[1].meta.extra["warnings"] == (
        "dropped 2 rows with NaN or infinite values (lines 6-7)",
    )
    with pytest.raises(ReadError, match=r"no impedance data rows \(2 rows dropped"):
        read_csv(_write(tmp_path, "f,Z',Z''\n0,1,2\n0,1,3\n", "zeros.csv"))


def test_ec_lab_style_text_export_with_decimal_comma(tmp_path: Path) -> None:
    header = "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\t|Z|/Ohm\tPhase(Z)/deg\ttime/s\t<Ewe>/V\t<I>/mA"
    rows = [header]
    for f, re_, im in POINTS:
        z = complex(re_, im)
        cells = [f, re_, -im, abs(z), np.degrees(np.angle(z)), 1.5, 0.1, -0.2]
        rows.append("\t".join(f"{c:.10E}".replace(".", ",") for c in cells))
    path = _write(tmp_path, "\r\n".join(rows) + "\r\n", "export.txt")
    _assert_points(read_csv(path))
    assert eisfit.io.detect(path) == "csv"


def test_sniff_scores(tmp_path: Path) -> None:
    from eisfit.io.csv import sniff

    assert sniff(_table("f,Z',Z''").encode(), "a.csv") == 0.8
    assert sniff(_table(None, "\t", comma=True).encode(), "a.txt") == 0.6
    assert sniff(b"hello world\nthis is a readme\n", "a.txt") < 0.25
    assert sniff(b"\x00\x01binary", "a.csv") == 0.0
    assert sniff(b"in Sa,Frequency in Hz,Gain in dB,Phase in \xc2\xb0\n1,2,3,4\n", "a.csv") < 0.25


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real-data folder not present")
def test_drttools_headerless_files_hold_the_physical_sign() -> None:
    """MANIFEST says f, Z', -Z''; pyDRTtools builds Z = Z' + 1j*col3 (runs.py EIS_object),
    and the data agree: a Li-ion cell is inductive (Z'' > 0) at 1 kHz and shows a
    capacitive diffusion tail (Z'' < 0, growing) at the lowest frequencies."""
    folder = REAL / "ciuccislab__pyDRTtools" / "EIS data"
    for path in [*folder.glob("text files/*.txt"), *folder.glob("csv files/*.csv")]:
        (spectrum,) = eisfit.io.read(path)
        z = spectrum.impedance_ohm
        assert spectrum.frequency_hz[0] > 900 and z[0].imag > 0
        assert z[-1].imag < z[-10].imag < 0 and z[-1].real > z[-10].real
