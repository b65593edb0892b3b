"""eisfit.io.autolab: Eco Chemie FRA .dfr and the Z60W CSV data file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures_vendor_text import (
    NO_REAL,
    REAL,
    check_peers,
    manifest_rows,
    mutate,
    outcome,
    row_id,
    sample,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def _assert_exact(got: Spectrum, want: Spectrum) -> None:
    np.testing.assert_array_equal(got.frequency_hz, want.frequency_hz)
    np.testing.assert_array_equal(got.impedance_ohm, want.impedance_ohm)


# --- .dfr ----------------------------------------------------------------------------------


def test_dfr_round_trip_negates_the_stored_minus_z_imag(tmp_path: Path) -> None:
    spectrum = sample(1)
    path = write_dfr(tmp_path / "run.dfr", spectrum)
    (back,) = autolab.read_dfr(path)
    _assert_exact(back, spectrum)
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
    with pytest.raises(ReadError, match=message) as info:
        autolab.read_dfr(path)
    assert info.value.line == line


# --- Z60W ------------------------------------------------------------------------------------


def test_z60w_round_trip(tmp_path: Path) -> None:
    spectrum = sample(3)
    path = write_z60w(tmp_path / "autolab.txt", spectrum)
    (back,) = autolab.read_z60w(path)
    _assert_exact(back, spectrum)
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
    plain = b"frequency_hz,z_real_ohm,z_imag_ohm\n1000.0,1.0,-2.0\n100.0,2.0,-3.0\n"
    prose = b"VERSION control notes\nnothing to see\n"
    for fmt in autolab.FORMATS:
        for head, name in ((plain, "data.csv"), (prose, "notes.txt")):
            assert fmt.sniff(head, name) < 0.3


@settings(max_examples=200, deadline=None)
@given(head=st.binary(max_size=300), name=st.sampled_from(["a.dfr", "a.txt", "a"]))
def test_sniffers_never_raise(head: bytes, name: str) -> None:
    for fmt in autolab.FORMATS:
        assert 0.0 <= fmt.sniff(head, name) <= 1.0


_FUZZ = {
    "dfr": (lambda p: write_dfr(p, sample(5, 5)), autolab.read_dfr),
    "z60w": (lambda p: write_z60w(p, sample(6, 5)), autolab.read_z60w),
}


@pytest.mark.parametrize("kind", sorted(_FUZZ))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cut=st.integers(0, 1500),
    flips=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 255)), max_size=4),
    insert=st.tuples(st.integers(0, 3000), st.binary(max_size=12)),
)
def test_mutated_files_read_or_raise_eisfit_errors(
    tmp_path: Path, kind: str, cut: int, flips, insert
) -> None:
    write, read = _FUZZ[kind]
    path = write(tmp_path / f"fuzz-{kind}")
    path.write_bytes(mutate(path.read_bytes(), cut, flips, insert))
    outcome(read, path)


# --- real exports ----------------------------------------------------------------------

_ROWS = manifest_rows("Autolab")


@NO_REAL
@pytest.mark.parametrize("row", _ROWS, ids=[row_id(r) for r in _ROWS])
def test_real_exports(row: dict[str, str]) -> None:
    path = REAL / row["path"]
    name = "autolab-dfr" if ".dfr" in row["format"] else "autolab-z60w"
    read = autolab.read_dfr if name == "autolab-dfr" else autolab.read_z60w
    if row["n_spectra_guess"] == "0":
        with pytest.raises(ReadError):
            read(path)
        return
    spectra = read(path)
    assert len(spectra) == int(row["n_spectra_guess"])
    assert eisfit.io.detect(path) == name
    check_peers(row, spectra)
