"""eisfit.io.princeton: Parstat ASCII, PowerSuite ASCII and VersaStudio .par."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fixtures_vendor_text import sample
from reader_checks import (
    NO_REAL,
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
from eisfit.io import princeton

PARSTAT_HEADER = (
    "Potential (V)\tCurrent (A)\tElapsed Time (s)\tFrequency (Hz)\tZre (ohms)\tZim (ohms)"
    "\t|Vac| (V)\t|Iac| (A)\t"
)
VERSA_COLUMNS = (
    "Segment #, Point #, E(V), I(A), Elapsed Time(s), ADC Sync Input(V), Current Range, Status, "
    "E Applied(V), Frequency(Hz), E Real, E Imag, I Real, I Imag, Z Real, Z Imag, E2 Status, "
    "E2(V), E2 Real, E2 Imag, Z2 Real, Z2 Imag, ActionId, AC Ampl"
)


# --- fixture writers -------------------------------------------------------------------


def write_parstat(path: Path, spectra: list[Spectrum], *, hold_rows: int = 10) -> Path:
    """A multi-segment Parstat export: a galvanostatic hold (f = 0) before every sweep."""
    rows, elapsed = [PARSTAT_HEADER], 0.0
    for spectrum in spectra:
        for _ in range(hold_rows):
            elapsed += 10.0
            rows.append(f"3.49\t-0.15\t{elapsed!r}\t0\t0\t0\t0\t0\t")
        for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
            elapsed += 1.0
            values = (3.5, 0.02, elapsed, float(f), float(z.real), float(z.imag), 0.005, 0.2)
            rows.append("\t".join(repr(v) for v in values) + "\t")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_powersuite(path: Path, spectrum: Spectrum) -> Path:
    """PowerSuite's ASCII export: Frequency, Zre, Zimg; CR CR LF; rising frequency."""
    rows = ["Frequency\t Zre\t Zimg"]
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        rows.append(f"{float(f)!r}\t {float(z.real)!r}\t {float(z.imag)!r}")
    path.write_bytes(("\r\r\n".join(rows) + "\r\r\n").encode())
    return path


def _eis_segment(number: int, spectrum: Spectrum, t0: float) -> list[str]:
    lines = [f"<Segment{number}>", "Type=2", "Version=3", f"Definition={VERSA_COLUMNS}"]
    for i, (f, z) in enumerate(zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)):
        head = [0, i, 0, -3.2e-06, t0 + 0.5 * i, -0.0024, 5, 53, 0, float(f), 0.1, 0.2, 0.3, 0.4]
        values = [*head, float(z.real), float(z.imag), 0, 0, 0, 0, 0, 0, 21, 0.02]
        lines.append(",".join(repr(v) for v in values))
    return [*lines, f"</Segment{number}>", ""]


def write_par(path: Path, spectra: list[Spectrum], *, ocv_segment: bool = True) -> Path:
    """A VersaStudio .par: one EIS action per spectrum (9 points/decade from 100 kHz to
    1 mHz), optionally an open-circuit action between, a dock layout at the end."""
    lines = ["<Application>", "Name=VersaStudio", "Version=2.52.3.0", "</Application>", ""]
    lines += ["<Action0>", "Segments=0", "Name=Common", "</Action0>", ""]
    lines += ["<Instrument>", "Type=VersaSTAT4", "Model=-400", "Options=FRA, EIS <Filter>"]
    lines += ["</Instrument>", "", "<Experiment>", "TimeAcquired=9:40:30 PM"]
    lines += ["DateAcquired=Thursday, July 19, 2018", "</Experiment>", ""]
    segments: list[str] = []
    action = segment = 0
    for k, spectrum in enumerate(spectra):
        action += 1
        segment += 1
        lines += [f"<Action{action}>", "Points Per Decade=9", "Point Spacing=Logarithmic"]
        lines += ["End Frequency (Hz)=0.001", "Start Frequency (Hz)=100000", "Segments=1"]
        lines += ["Name=Potentiostatic EIS", f"</Action{action}>", ""]
        segments += _eis_segment(segment, spectrum, 1000.0 * k + 1.5)
        if ocv_segment:
            action += 1
            segment += 1
            lines += [f"<Action{action}>", "Segments=1", "Name=Open Circuit", f"</Action{action}>"]
            segments += [f"<Segment{segment}>", "Type=1", "Definition=Segment #, Point #, E(V)"]
            segments += ["0,0,0.1", "0,1,0.1", f"</Segment{segment}>", ""]
    lines += ["", *segments, "<DockingLayout>", '<?xml version="1.0" encoding="utf-16"?>']
    lines += ['<DockPanel FormatVersion="1.0">', '  <Contents Count="6">', "</DockPanel>"]
    lines += ["</DockingLayout>"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _versa_sample(seed: int) -> Spectrum:
    return sample(seed, 61, f_max=1e5, f_min=10 ** (5 - 60 / 9))  # stopped at 0.0215 Hz


# --- Parstat / PowerSuite ------------------------------------------------------------------


def test_parstat_drops_other_segments_and_splits_sweeps(tmp_path: Path) -> None:
    spectra = [sample(1), sample(2)]
    path = write_parstat(tmp_path / "parstat.txt", spectra)
    back = princeton.read_parstat(path)
    assert [s.meta.index for s in back] == [0, 1]
    for got, want in zip(back, spectra, strict=True):
        assert_exact(got, want)
        assert got.meta.extra["warnings"] == ("dropped 20 row(s) with f <= 0 (not impedance)",)
        assert got.meta.extra["format"] == "parstat-txt"
    assert [s.meta.extra["elapsed_s"] for s in back] == [101.0, 226.0]
    assert princeton.FORMATS[0].sniff(path.read_bytes(), "parstat.txt") >= 0.9
    assert eisfit.io.detect(path) == "parstat-txt"


def test_parstat_only_holds_is_an_error(tmp_path: Path) -> None:
    path = write_parstat(tmp_path / "parstat.txt", [])
    path.write_text(path.read_text() + "3.49\t-0.15\t1.0\t0\t0\t0\t0\t0\t\n")
    with pytest.raises(ReadError, match="no impedance data rows"):
        princeton.read_parstat(path)


def test_powersuite_round_trip(tmp_path: Path) -> None:
    spectrum = sample(3, f_max=0.1, f_min=2e6)  # PowerSuite sweeps upwards
    path = write_powersuite(tmp_path / "ps.txt", spectrum)
    (back,) = princeton.read_powersuite(path)
    assert_exact(back, spectrum)
    assert back.meta.extra["format"] == "powersuite-txt"
    assert princeton.FORMATS[1].sniff(path.read_bytes(), "ps.txt") >= 0.9
    assert eisfit.io.detect(path) == "powersuite-txt"


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ("", "empty file", None),
        ("Frequency\t Zre\n1\t2\n", "no column 'zimg'", 1),
        ("Frequency\t Zre\t Zimg\n", "no data rows", 1),
        ("Frequency\t Zre\t Zimg\n1\t2\t-3\n2\t2\n", "expected 3 or more fields", 3),
        ("Frequency\t Zre\t Zimg\n1\t2\t-3\n2\t2\tnope\n", "'nope' in the Zimg column", 3),
    ],
)
def test_powersuite_errors(tmp_path: Path, content: str, message: str, line) -> None:
    path = tmp_path / "ps.txt"
    path.write_text(content)
    assert_read_error(princeton.read_powersuite, path, message, line)


# --- VersaStudio ---------------------------------------------------------------------------


def test_par_reads_the_impedance_segment_with_metadata(tmp_path: Path) -> None:
    spectrum = _versa_sample(4)
    path = write_par(tmp_path / "run.par", [spectrum])
    (back,) = princeton.read_versastudio(path)
    assert_exact(back, spectrum)
    assert back.meta.timestamp == datetime(2018, 7, 19, 21, 40, 31, 500000)
    extra = back.meta.extra
    assert extra["technique"] == "Potentiostatic EIS"
    assert extra["instrument"] == "Princeton Applied Research VersaSTAT4 -400"
    assert extra["software"] == "VersaStudio 2.52.3.0"
    assert extra["segment"] == 1
    assert extra["warnings"] == ("aborted run: 61 of 73 points (or truncated file)",)
    assert princeton.FORMATS[2].sniff(path.read_bytes(), "run.par") >= 0.9
    assert eisfit.io.detect(path) == "versastudio-par"


def test_par_with_two_eis_actions(tmp_path: Path) -> None:
    spectra = [_versa_sample(5), _versa_sample(6)]
    back = princeton.read_versastudio(write_par(tmp_path / "two.par", spectra))
    assert [s.meta.index for s in back] == [0, 1]
    assert [s.meta.extra["segment"] for s in back] == [1, 3]
    assert_exact(back[1], spectra[1])
    assert back[1].meta.timestamp - back[0].meta.timestamp == timedelta(seconds=1000)


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.replace("Z Real, Z Imag", "Zr, Zi"), "no impedance segment", None),
        (lambda t: t.split("</Segment1>")[0], "<Segment1> never closed", 32),
        (lambda t: t.replace("</Segment1>", "0,1,2\n</Segment1>"), "expected 24 fields", 97),
        (lambda t: "", "no <Section>", None),
    ],
)
def test_par_errors(tmp_path: Path, edit, message: str, line) -> None:
    path = write_par(tmp_path / "bad.par", [_versa_sample(7)], ocv_segment=False)
    path.write_text(edit(path.read_text()))
    assert_read_error(princeton.read_versastudio, path, message, line)


# --- sniffing and fuzzing ----------------------------------------------------------------


def test_sniffers_reject_plain_csv_and_text() -> None:
    prose = b"<html>\nFrequency of the Zre and Zimg\n</html>\n"
    assert_sniffers_reject(princeton.FORMATS, prose)


test_sniffers_never_raise = sniffers_never_raise(princeton.FORMATS, ["a.par", "a.txt", "a"])

test_mutated_files_read_or_raise_eisfit_errors = mutation_fuzz(
    {
        "parstat": (
            lambda p: write_parstat(p, [sample(8, 5)], hold_rows=3),
            princeton.read_parstat,
        ),
        "powersuite": (lambda p: write_powersuite(p, sample(9, 5)), princeton.read_powersuite),
        "par": (lambda p: write_par(p, [sample(10, 5)]), princeton.read_versastudio),
    },
    cut=3000,
    span=3000,
)


# --- real exports ----------------------------------------------------------------------

_ROWS = manifest_rows("Princeton Applied Research")
_READERS = {
    "Parstat": ("parstat-txt", princeton.read_parstat),
    "PowerSuite": ("powersuite-txt", princeton.read_powersuite),
    "VersaStudio": ("versastudio-par", princeton.read_versastudio),
}


@NO_REAL
@pytest.mark.parametrize("row", _ROWS, ids=[row_id(r) for r in _ROWS])
def test_real_exports(row: dict[str, str]) -> None:
    name, read = next(v for k, v in _READERS.items() if k in row["format"])
    check_real_export(row, read, name)


@NO_REAL
def test_real_versastudio_metadata() -> None:
    (spectrum,) = princeton.read_versastudio(
        REAL / "ECSHackWeek__impedance.py/data/exampleDataVersaStudio.par"
    )
    assert spectrum.meta.timestamp == datetime(2018, 7, 19, 9, 40, 31, 812000)
    assert spectrum.meta.extra["warnings"] == ("aborted run: 61 of 73 points (or truncated file)",)
