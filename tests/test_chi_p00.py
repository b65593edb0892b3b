"""eisfit.io.chi (CH Instruments A.C. Impedance text) and eisfit.io.p00 (.P00 ASCII)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fixtures_vendor_text import sample
from reader_checks import (
    NO_REAL,
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
from eisfit.io import chi, p00

# --- fixture writers -------------------------------------------------------------------


def _chi_number(value: float) -> str:
    """CHI's style: 4 significant digits, exponent without padding (9.961e+4)."""
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


def write_chi(
    path: Path,
    spectrum: Spectrum,
    *,
    date: str = "Feb. 20, 2020   15:55:08",
    technique: str = "A.C. Impedance",
    number=repr,
) -> Path:
    lines = [
        date,
        technique,
        "File: c:\\data\\eis.bin",
        "Data Source:  Experiment",
        "Instrument Model:  CHI660E",
        "Header: ",
        "Note: ",
        "",
        "Init E (V) = 0",
        "High Frequency (Hz) = 1e+6",
        "Low Frequency (Hz) = 0.1",
        "Amplitude (V) = 0.005",
        "Quiet Time (sec) = 2",
        "",
        "Freq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg",
        "",
    ]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        values = (float(f), float(z.real), float(z.imag), abs(z))
        phase = np.degrees(np.angle(z))
        lines.append(", ".join(number(v) for v in values) + f", {phase:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_p00(
    path: Path,
    spectrum: Spectrum,
    *,
    start: str = "19.07.2018 09:40:30",
    count: int | None = None,
) -> Path:
    """A .P00 file: title, run dates, column line, point count, f Z' -Z'' rows."""
    lines = [
        "Procedure : EIS at OCP",
        f"{start} - 19.07.2018 09:52:47 i(init)= 183.1nA - i(end)= 7.88nA",
        "Description",
        "t =  736.4 s",
        " f/Hz       \t Z'/Ohm     \t -Z''/Ohm   \t time/s    \t Edc/V     \t Idc/A     \t",
        f" {len(spectrum) if count is None else count} ",
    ]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        values = (float(f), float(z.real), -float(z.imag), 59.3, 0.30981, 1.8311e-07)
        lines.append("\t".join(f" {v!r}" for v in values) + "\t")
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


# --- CH Instruments ----------------------------------------------------------------------


def test_chi_round_trip_with_metadata(tmp_path: Path) -> None:
    spectrum = sample(1)
    path = write_chi(tmp_path / "chi.txt", spectrum)
    (back,) = chi.read_chi(path)
    assert_exact(back, spectrum)
    assert back.meta.timestamp == datetime(2020, 2, 20, 15, 55, 8)
    assert back.meta.extra["instrument"] == "CH Instruments CHI660E"
    assert back.meta.extra["technique"] == "A.C. Impedance"
    assert back.meta.extra["format"] == "chi-txt"
    assert chi.FORMATS[0].sniff(path.read_bytes(), "chi.txt") >= 0.9
    assert eisfit.io.detect(path) == "chi-txt"


def test_chi_printed_precision_and_long_month(tmp_path: Path) -> None:
    spectrum = sample(2)
    path = write_chi(
        tmp_path / "chi.txt", spectrum, date="July 19, 2022   10:35:26", number=_chi_number
    )
    (back,) = chi.read_chi(path)
    assert back.meta.timestamp == datetime(2022, 7, 19, 10, 35, 26)
    np.testing.assert_array_equal(
        back.frequency_hz, [float(_chi_number(f)) for f in spectrum.frequency_hz]
    )
    z = spectrum.impedance_ohm
    expected = [
        complex(float(_chi_number(a)), float(_chi_number(b)))
        for a, b in zip(z.real, z.imag, strict=True)
    ]
    np.testing.assert_array_equal(back.impedance_ohm, expected)


def test_chi_other_technique_is_refused_clearly(tmp_path: Path) -> None:
    path = write_chi(tmp_path / "cv.txt", sample(3), technique="Cyclic Voltammetry")
    assert chi.FORMATS[0].sniff(path.read_bytes(), "cv.txt") >= 0.9
    with pytest.raises(ReadError, match=r"'Cyclic Voltammetry', not 'A\.C\. Impedance'") as info:
        eisfit.io.read(path)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.split("Freq/Hz")[0], "no column line", None),
        (lambda t: t.replace('Z"/ohm', "Zim/ohm"), "lacks Freq, Z' or Z\"", 15),
        (lambda t: t + "0.05, 1.0\n", "expected 5 fields, found 2", 42),
        (lambda t: t + "0.05, 1.0, x, 2, 3\n", "'x' in the Z\"/ohm column", 42),
        (
            lambda t: (
                t.replace("Instrument Model", "Gadget")
                .replace("File", "Doc")
                .replace("Data Source", "Origin")
            ),
            "not a CH",
            None,
        ),
    ],
)
def test_chi_errors(tmp_path: Path, edit, message: str, line) -> None:
    path = write_chi(tmp_path / "bad.txt", sample(4))
    path.write_text(edit(path.read_text()))
    assert_read_error(chi.read_chi, path, message, line)


# --- .P00 ----------------------------------------------------------------------------------


def test_p00_round_trip_negates_the_third_column(tmp_path: Path) -> None:
    spectrum = sample(5)
    path = write_p00(tmp_path / "run.P00", spectrum)
    (back,) = p00.read_p00(path)
    assert_exact(back, spectrum)
    assert back.meta.timestamp == datetime(2018, 7, 19, 9, 40, 30)
    assert back.meta.extra["procedure"] == "EIS at OCP"
    assert back.meta.extra["warnings"] == ()
    assert p00.FORMATS[0].sniff(path.read_bytes(), "run.p00") >= 0.9
    extensionless = tmp_path / "data-P00"
    extensionless.write_bytes(path.read_bytes())
    assert eisfit.io.detect(extensionless) == "p00"


def test_p00_anonymised_date_and_aborted_run(tmp_path: Path) -> None:
    path = write_p00(tmp_path / "run.P00", sample(6), start="DD.MM.YYYY HH:MM:SS", count=30)
    (back,) = p00.read_p00(path)
    assert back.meta.timestamp is None
    assert back.meta.extra["warnings"] == ("aborted run: 25 of 30 points (or truncated file)",)


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.replace(" 25 \n", " 20 \n"), "25 data rows but only 20 points", 27),
        (lambda t: t.replace(" 25 \n", " many \n"), "number of points", 6),
        (lambda t: t.replace(" f/Hz", " freq"), "no column line starting with 'f/Hz'", None),
        (lambda t: t.replace("-Z''/Ohm", "phase/deg"), "lacks f/Hz", 5),
        (lambda t: t.split(" 25 \n")[0] + " 25 \n", "no data rows", 6),
        (lambda t: t + " 1.0\t 2.0\n", "expected 3 or more fields", 32),
    ],
)
def test_p00_errors(tmp_path: Path, edit, message: str, line) -> None:
    path = write_p00(tmp_path / "bad.P00", sample(7))
    path.write_text(edit(path.read_text(encoding="latin-1")), encoding="latin-1")
    assert_read_error(p00.read_p00, path, message, line)


# --- sniffing and fuzzing ----------------------------------------------------------------


def test_sniffers_reject_plain_csv_and_text() -> None:
    prose = b"May 5, 2020 was a Tuesday.\nFile: none\nNothing else.\nReally.\nThe end.\n"
    assert_sniffers_reject((*chi.FORMATS, *p00.FORMATS), prose)


test_sniffers_never_raise = sniffers_never_raise(
    (*chi.FORMATS, *p00.FORMATS), ["a.p00", "a.txt", "a"]
)

test_mutated_files_read_or_raise_eisfit_errors = mutation_fuzz(
    {
        "chi": (lambda p: write_chi(p, sample(8, 5)), chi.read_chi),
        "p00": (lambda p: write_p00(p, sample(9, 5)), p00.read_p00),
    },
    cut=1000,
    span=2000,
)


# --- real exports ----------------------------------------------------------------------

_ROWS = manifest_rows("CH Instruments", "P00")


@NO_REAL
@pytest.mark.parametrize("row", _ROWS, ids=[row_id(r) for r in _ROWS])
def test_real_exports(row: dict[str, str]) -> None:
    if "P00" in row["format"]:
        check_real_export(row, p00.read_p00, "p00")
    else:
        check_real_export(row, chi.read_chi, "chi-txt")
