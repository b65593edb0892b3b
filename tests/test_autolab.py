"""eisfit.io.autolab: Eco Chemie FRA .dfr and the Z60W CSV data file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_vendor_text import sample
from reader_checks import (
    NO_REAL,
    assert_exact,
    assert_read_error,
    assert_sniffers_reject,
    check_real_export,
    manifest_rows,
    mutate,
    mutation_fuzz,
    read_outcome,
    row_id,
    sniffers_never_raise,
)

import eisfit.io
from eisfit import ReadError, Spectrum
from eisfit.io import autolab

# --- fixture writers -------------------------------------------------------------------


def write_dfr(path: Path, spectrum: Spectrum, *, count: int | None = None) -> Path:
    """A .dfr file: VERSION8.0, N, 1, nine lines per point (f, Z', -Z'', ...), a trailer."""
    lines = ["VERSION8.0", f" {len(spectrum) if count is None else count}", " 1"]
    for i, (f, z) in enumerate(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)):
        block = (float(f), float(z.real), -float(z.imag), 0.31, 1.8e-7, 10.0 + i, 0.0, 0.0, 0.0)
        lines += [f" {v!r}" for v in block]
    lines += [" 1.0", " 1.0", " 1.0", "13.07.2022 22:32:00", "12.11.2018 22:33:00"]
    lines += [" 2.0"] * 5
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def write_z60w(path: Path, spectrum: Spectrum) -> Path:
    """The Z60W CSV as the Autolab FRA software exports it (empty header, zero columns)."""
    lines = ['\ufeff"Z60W Data File: Version 1.1"'] + ['""'] * 7
    lines += ["0,2,0,1,0.1,10000", str(len(spectrum))]
    lines.append(
        "\"  Freq (Hz)    Ampl     Bias   Time(Sec)   Z'(a)    Z''(b)    GD   Err   Range\""
    )
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        lines.append(f"{float(f)!r},0,0,0,{float(z.real)!r},{float(z.imag)!r},0,0,0")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- .dfr ----------------------------------------------------------------------------------


def test_dfr_round_trip_negates_the_stored_minus_z_imag(tmp_path: Path) -> None:
    spectrum = sample(1)
    path = write_dfr(tmp_path / "run.dfr", spectrum)
    (back,) = autolab.read_dfr(path)
    assert_exact(back, spectrum)
    extra = back.meta.extra
    assert extra["format"] == "autolab-dfr" and extra["version"] == "VERSION8.0"
    assert extra["trailer_dates"] == ("13.07.2022 22:32:00", "12.11.2018 22:33:00")
    assert back.meta.timestamp is None and back.meta.index == 0
    assert extra["elapsed_s"] == 10.0
    assert autolab.FORMATS[0].sniff(path.read_bytes(), "run.dfr") >= 0.9
    extensionless = tmp_path / "data-dfr"
    extensionless.write_bytes(path.read_bytes())
    assert eisfit.io.detect(extensionless) == "autolab-dfr"


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.replace(" 25\n", " 0\n", 1), "announces 0 points", 2),
        (
            lambda t: "\n".join(t.splitlines()[:100]) + "\n",
            "truncated: 25 points announced, 10",
            100,
        ),
        (lambda t: t.replace(" 25\n", " many\n", 1), "number of points", 2),
        (lambda t: t.replace("VERSION8.0", "HELLO"), "VERSIONx.y", 1),
        (lambda t: t.replace(" 1\n", " 1\n x\n", 1), "non-numeric value 'x' in the frequency", 4),
        (lambda t: "", "VERSIONx.y", None),
    ],
)
def test_dfr_errors(tmp_path: Path, edit, message: str, line) -> None:
    path = write_dfr(tmp_path / "bad.dfr", sample(2))
    path.write_text(edit(path.read_text()))
    assert_read_error(autolab.read_dfr, path, message, line)


# --- Z60W ------------------------------------------------------------------------------------


def test_z60w_round_trip(tmp_path: Path) -> None:
    spectrum = sample(3)
    path = write_z60w(tmp_path / "autolab.txt", spectrum)
    (back,) = autolab.read_z60w(path)
    assert_exact(back, spectrum)
    assert back.meta.extra["format"] == "autolab-z60w"
    assert back.meta.extra["warnings"] == ()
    assert back.meta.timestamp is None
    assert autolab.FORMATS[1].sniff(path.read_bytes(), "autolab.txt") >= 0.9
    assert eisfit.io.detect(path) == "autolab-z60w"


def test_z60w_short_row_names_the_line(tmp_path: Path) -> None:
    path = write_z60w(tmp_path / "autolab.txt", sample(4))
    path.write_text(path.read_text() + "0.05,0,0\n")
    with pytest.raises(ReadError, match="expected 6 or more fields") as info:
        autolab.read_z60w(path)
    assert info.value.line == 37


# --- sniffing and fuzzing ----------------------------------------------------------------


def test_sniffers_reject_plain_csv_and_text() -> None:
    assert_sniffers_reject(autolab.FORMATS, b"VERSION control notes\nnothing to see\n")


test_sniffers_never_raise = sniffers_never_raise(autolab.FORMATS, ["a.dfr", "a.txt", "a"])

test_mutated_files_read_or_raise_eisfit_errors = mutation_fuzz(
    {
        "dfr": (lambda p: write_dfr(p, sample(5, 5)), autolab.read_dfr),
        "z60w": (lambda p: write_z60w(p, sample(6, 5)), autolab.read_z60w),
    },
    cut=1500,
    span=3000,
)


def test_non_ascii_digit_in_a_count_is_a_read_error(tmp_path: Path) -> None:
    """Found by the fuzz test: '²' passes str.isdigit() but not int()."""
    path = write_z60w(tmp_path / "z60w", sample(6, 5))
    path.write_bytes(mutate(path.read_bytes(), 126, [(450, 178)], (0, b"")))  # 178: '²'
    read_outcome(autolab.read_z60w, path)


# --- real exports ----------------------------------------------------------------------

_ROWS = manifest_rows("Autolab")


@NO_REAL
@pytest.mark.parametrize("row", _ROWS, ids=[row_id(r) for r in _ROWS])
def test_real_exports(row: dict[str, str]) -> None:
    if ".dfr" in row["format"]:
        check_real_export(row, autolab.read_dfr, "autolab-dfr")
    else:
        check_real_export(row, autolab.read_z60w, "autolab-z60w")
