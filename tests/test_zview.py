"""eisfit.io.zview: ZPLOT2 ASCII .z, ZPlotW CSV and headerless ZView text exports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fixtures_vendor_text import sample
from hypothesis import strategies as st
from reader_checks import (
    CHUNK,
    NO_REAL,
    PLAIN_CSV,
    REAL,
    assert_exact,
    assert_read_error,
    assert_sniffers_reject,
    check_real_export,
    manifest_rows,
    mutation_fuzz,
    row_id,
    sniffers_never_raise,
)

import eisfit.io
from eisfit import ReadError, Spectrum
from eisfit.io import zview

COLUMNS = "Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange"


# --- fixture writers -------------------------------------------------------------------


def write_zplot(
    path: Path,
    spectra: list[Spectrum],
    *,
    header: bool = True,
    data_points: int | None = None,
    experiment: str = "Sweep Frequency, Control Voltage",
    number=repr,
    comma: bool = False,
) -> Path:
    """A ZPLOT2 ASCII file as ZPlot 3.2c writes it; sweep k starts 100 s after sweep k-1."""
    lines = ["ZPLOT2 ASCII"]
    if header:
        lines += [
            "  Measured Data, ZPlot:       3.2c",
            f"  Experiment Type:            {experiment}",
            "  Date:                       10-12-2018",
            "  Time:                       12:32:21",
            "  Begin User Comments:        0",
            "  End User Comments:          0",
            "  Null Configuration:         0,3,0,1,50000,1",
            f"  Data Points:                {data_points or sum(len(s) for s in spectra)}",
        ]
    lines += [f"  {COLUMNS}", "End Comments"]
    for k, spectrum in enumerate(spectra):
        for i, (f, z) in enumerate(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)):
            values = [number(float(v)) for v in (f, 0.01, 0.0, 100.0 * k + 0.5 * i + 2.5)]
            values += [number(float(z.real)), number(float(z.imag)), number(0.0), "0", "4"]
            row = "\t".join(values)
            lines.append(row.replace(".", ",") if comma else row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_zplot_csv(path: Path, spectrum: Spectrum, *, data_points: int | None = None) -> Path:
    """A ZPlotW CSV data file (impedance.py's ``exampleDataZPlot_noComments.z`` layout)."""
    lines = [
        '"ZPlotW Data File: Version 3.2c"',
        '"Raw Data"',
        '"Sweep Frequency: Control Voltage"',
        "Date: 12-17-2019    Time: 16:24:35",
        "1.7 sccm CO, 800 C",
        '"Open Circuit Potential (V):  0 "',
        '"Frequency"',
        "0,3,0,1,300000,0.005",
        str(data_points or len(spectrum)),
        "\"  Freq(Hz)    Ampl     Bias   Time(Sec)   Z'(a)    Z''(b)    GD   Err   Range\"",
    ]
    for i, (f, z) in enumerate(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)):
        values = (float(f), 0.01, 0.0, 2.0 + i, float(z.real), float(z.imag), 0.0)
        lines.append(", ".join(repr(v) for v in values) + ", 0, 5")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_zview_txt(path: Path, spectra: list[Spectrum], *, comma: bool = True) -> Path:
    """EC-Lab's export for ZView: f, Z', Z'' (physical sign), tab, no header."""
    rows = []
    for spectrum in spectra:
        for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
            row = "\t".join(repr(float(v)) for v in (f, z.real, z.imag))
            rows.append(row.replace(".", ",") if comma else row)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- ZPLOT2 ASCII ------------------------------------------------------------------------


def test_zplot_round_trip_is_exact_with_metadata(tmp_path: Path) -> None:
    spectrum = sample(1)
    path = write_zplot(tmp_path / "run.z", [spectrum])
    (back,) = zview.read_zplot(path)
    assert_exact(back, spectrum)
    assert back.meta.source == str(path) and back.meta.index == 0
    assert back.meta.timestamp == datetime(2018, 10, 12, 12, 32, 23, 500000)  # start + 2.5 s
    extra = back.meta.extra
    assert extra["instrument"] == "Scribner ZPlot 3.2c"
    assert extra["technique"] == "Sweep Frequency, Control Voltage"
    assert extra["format"] == "zplot-z"
    assert extra["warnings"] == ()


def test_zplot_printed_precision(tmp_path: Path) -> None:
    spectrum = sample(2)
    path = write_zplot(tmp_path / "run.z", [spectrum], number=lambda v: f"{v:.6E}")
    (back,) = zview.read_zplot(path)
    printed = np.array([float(f"{v:.6E}") for v in spectrum.frequency_hz])
    np.testing.assert_array_equal(back.frequency_hz, printed)
    z = spectrum.impedance_ohm
    expected = [
        complex(float(f"{a:.6E}"), float(f"{b:.6E}")) for a, b in zip(z.real, z.imag, strict=True)
    ]
    np.testing.assert_array_equal(back.impedance_ohm, expected)


def test_zplot_two_sweeps_become_two_spectra(tmp_path: Path) -> None:
    first, second = sample(3), sample(4)
    path = write_zplot(tmp_path / "two.z", [first, second])
    spectra = zview.read_zplot(path)
    assert [s.meta.index for s in spectra] == [0, 1]
    assert_exact(spectra[0], first)
    assert_exact(spectra[1], second)
    assert spectra[1].meta.timestamp == datetime(2018, 10, 12, 12, 34, 3, 500000)  # +102.5 s


def test_zplot_aborted_run_warns(tmp_path: Path) -> None:
    path = write_zplot(tmp_path / "short.z", [sample(5)], data_points=40)
    (back,) = zview.read_zplot(path)
    assert back.meta.extra["warnings"] == ("aborted run: 25 of 40 points (or truncated file)",)


def test_zplot_without_comment_block_and_extension(tmp_path: Path) -> None:
    spectrum = sample(6)
    path = write_zplot(tmp_path / "data-z", [spectrum], header=False)
    (back,) = zview.read_zplot(path)
    assert_exact(back, spectrum)
    assert back.meta.timestamp is None
    assert zview.FORMATS[0].sniff(path.read_bytes(), "data-z") >= 0.9
    assert eisfit.io.detect(path) == "zplot-z"


def test_zplot_decimal_comma_and_crlf(tmp_path: Path) -> None:
    spectrum = sample(7)
    path = write_zplot(tmp_path / "comma.z", [spectrum], comma=True)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    (back,) = zview.read_zplot(path)
    assert_exact(back, spectrum)


def test_zplot_drops_nan_and_zero_frequency_rows(tmp_path: Path) -> None:
    path = write_zplot(tmp_path / "holes.z", [sample(8)])
    lines = path.read_text().splitlines()
    lines[12] = "NaN\t0\t0\t0\tNaN\tNaN\t0\t0\t4"
    lines[13] = "0\t0\t0\t0\t1.0\t-1.0\t0\t0\t4"
    path.write_text("\n".join(lines) + "\n")
    (back,) = zview.read_zplot(path)
    assert len(back) == 23
    assert back.meta.extra["warnings"] == (
        "dropped 1 row(s) with f <= 0 (not impedance)",
        "dropped 1 row with NaN or infinite values (line 13)",
    )


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.replace("End Comments\n", ""), "no 'End Comments' line", None),
        (lambda t: t.split("End Comments\n")[0] + "End Comments\n", "no data rows", 11),
        (lambda t: t.replace("Sweep Frequency, Control Voltage", "vs Time"), "not a frequency", 3),
        (
            lambda t: t.replace("End Comments\n", "End Comments\nbad\t0\t0\t0\t1\t1\t0\t0\t4\n"),
            "non-numeric value 'bad' in the Freq",
            12,
        ),
        (lambda t: t.rsplit("\t", 6)[0] + "\n", "expected 6 or more fields, found 3", 36),
        (lambda t: "ZPLOT ASCII\n" + t.split("\n", 1)[1], "first line", 1),
    ],
)
def test_zplot_errors_name_file_and_line(tmp_path: Path, edit, message: str, line) -> None:
    path = write_zplot(tmp_path / "bad.z", [sample(9)])
    path.write_text(edit(path.read_text()))
    assert_read_error(zview.read_zplot, path, message, line)


def test_binary_junk_with_z_extension_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.z"
    path.write_bytes(b"ZPLOT2 ASCII\n\x00\x01\x02\xff" * 20)
    with pytest.raises(ReadError, match="control character") as info:
        zview.read_zplot(path)
    assert info.value.line == 2
    with pytest.raises(ReadError):
        eisfit.io.read(path)


# --- ZPlotW CSV --------------------------------------------------------------------------


def test_zplot_csv_round_trip(tmp_path: Path) -> None:
    spectrum = sample(10)
    path = write_zplot_csv(tmp_path / "noComments.z", spectrum, data_points=79)
    (back,) = zview.read_zplot_csv(path)
    assert_exact(back, spectrum)
    assert back.meta.timestamp == datetime(2019, 12, 17, 16, 24, 37)
    assert back.meta.extra["format"] == "zplot-csv"
    assert back.meta.extra["software"] == "ZPlotW Data File: Version 3.2c"
    assert back.meta.extra["warnings"] == ("aborted run: 25 of 79 points (or truncated file)",)
    assert zview.FORMATS[1].sniff(path.read_bytes(), path.name) >= 0.9
    assert eisfit.io.detect(path) == "zplot-csv"


def test_zplot_csv_without_column_line_is_an_error(tmp_path: Path) -> None:
    path = write_zplot_csv(tmp_path / "x.z", sample(11))
    text = path.read_text().replace("Freq(Hz)", "Frequency")
    path.write_text(text)
    with pytest.raises(ReadError, match="no quoted column line"):
        zview.read_zplot_csv(path)


# --- ZView text export -----------------------------------------------------------------


@pytest.mark.parametrize("comma", [True, False])
def test_zview_txt_round_trip_and_sweeps(tmp_path: Path, comma: bool) -> None:
    spectra = [sample(12), sample(13)]
    path = write_zview_txt(tmp_path / "export.txt", spectra, comma=comma)
    back = zview.read_zview_txt(path)
    assert len(back) == 2
    for got, want in zip(back, spectra, strict=True):
        assert_exact(got, want)
        assert got.meta.extra["format"] == "zview-txt"
    score = zview.FORMATS[2].sniff(path.read_bytes(), path.name)
    assert score >= 0.9 if comma else 0.3 <= score < 0.9


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ("", "empty file", None),
        ("1,0\t2,0\t-3,0\t4,0\n", "expected 3 fields", 1),
        ("f\tZ'\tZ''\n1,0\t2,0\t-3,0\n", "non-numeric value 'f'", 1),
        ("0\t2,0\t-3,0\n", "no impedance data rows", None),
    ],
)
def test_zview_txt_errors(tmp_path: Path, content: str, message: str, line) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    assert_read_error(zview.read_zview_txt, path, message, line)


# --- sniffing and fuzzing ----------------------------------------------------------------


def test_sniffers_reject_plain_csv_and_text(tmp_path: Path) -> None:
    prose = b"Dear colleague,\nplease find the results attached.\nBest regards\n"
    assert_sniffers_reject(zview.FORMATS, prose, plain=PLAIN_CSV + b"10,3,-1\n")


test_sniffers_never_raise = sniffers_never_raise(zview.FORMATS, ["a.z", "a.txt", "a"])

test_mutated_files_read_or_raise_eisfit_errors = mutation_fuzz(
    {
        "zplot": (lambda p: write_zplot(p, [sample(14, 6)]), zview.read_zplot),
        "csv": (lambda p: write_zplot_csv(p, sample(15, 6)), zview.read_zplot_csv),
        "txt": (lambda p: write_zview_txt(p, [sample(16, 6)]), zview.read_zview_txt),
    },
    cut=2000,
    span=4000,
    chunk=CHUNK | st.text(max_size=12).map(str.encode),
)


# --- real exports ----------------------------------------------------------------------

_ROWS = manifest_rows("ZPlot/ZView", "ZView-import")


def _reader(row: dict[str, str]):
    if "ZView-import" in row["format"]:
        return zview.read_zview_txt, "zview-txt"
    if "comment block stripped" in row["format"]:
        return zview.read_zplot_csv, "zplot-csv"
    return zview.read_zplot, "zplot-z"


@NO_REAL
@pytest.mark.parametrize("row", _ROWS, ids=[row_id(r) for r in _ROWS])
def test_real_exports(row: dict[str, str]) -> None:
    read, name = _reader(row)
    check_real_export(row, read, name)


@NO_REAL
def test_real_zview_txt_sign_is_physical() -> None:
    rows = [r for r in _ROWS if "ZView-import" in r["format"]]
    assert len(rows) == 12
    for row in rows:
        (spectrum,) = zview.read_zview_txt(REAL / row["path"])
        assert np.median(spectrum.impedance_ohm.imag) < 0  # capacitive arcs below the axis
