"""eisfit.io.elchemea: Elchemea .i2b written by a fixture writer, real files, fuzz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reader_checks import (
    REAL,
    assert_read_error,
    assert_same_as_pyimpspec,
    corruption_fuzz,
    random_content_fuzz,
)

from eisfit import ReadError, Spectrum
from eisfit.io.elchemea import FORMATS, read_i2b, sniff_i2b
from eisfit.synthetic import Arc, SyntheticCell, simulate

PYIMPSPEC = REAL / "vyrjana__pyimpspec" / "tests"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(6, -1, 22)
HEADER = ("Sample: Na|NZSP|Na", "Operator: test", "25 C", "")


def i2b_text(
    spectrum: Spectrum,
    *,
    header: tuple[str, ...] = HEADER,
    count: int | None = None,
    comma: bool = False,
    newline: str = "\r\n",
) -> str:
    """An .i2b file: header lines, the number of points, then ``f Z' Z''`` rows."""
    rows = []
    for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
        row = " ".join(repr(float(v)) for v in (f, z.real, z.imag))
        rows.append(row.replace(".", ",") if comma else row)
    lines = [*header, str(len(rows) if count is None else count), *rows]
    return newline.join(lines) + newline


def write_i2b(path: Path, spectrum: Spectrum, **options) -> Path:
    path.write_text(i2b_text(spectrum, **options), encoding="latin-1", newline="")
    return path


def _sample() -> Spectrum:
    return simulate(CELL.circuit, CELL.values, FREQ, noise=0.01)


@pytest.mark.parametrize("comma", [False, True])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_round_trip(tmp_path: Path, comma: bool, newline: str) -> None:
    expected = _sample()
    path = write_i2b(tmp_path / "cell.i2b", expected, comma=comma, newline=newline)
    (spectrum,) = read_i2b(path)
    np.testing.assert_array_equal(spectrum.frequency_hz, expected.frequency_hz)
    np.testing.assert_array_equal(spectrum.impedance_ohm, expected.impedance_ohm)
    assert (spectrum.meta.source, spectrum.meta.index) == (str(path), 0)
    assert spectrum.meta.extra["header"] == HEADER[:3]
    assert spectrum.meta.extra["warnings"] == ()
    assert spectrum.meta.extra["format"] == "elchemea-i2b"


def test_numeric_header_line_is_not_taken_for_the_count(tmp_path: Path) -> None:
    expected = _sample()
    path = write_i2b(tmp_path / "n.i2b", expected, header=("7", "area 1 cm2", "12"))
    (spectrum,) = read_i2b(path)
    assert len(spectrum) == len(FREQ) and spectrum.meta.extra["header"] == ("7", "area 1 cm2", "12")


def test_aborted_run_and_invalid_rows_give_warnings(tmp_path: Path) -> None:
    text = i2b_text(_sample(), count=30).replace(repr(float(FREQ[2])), "0.0", 1)
    path = tmp_path / "aborted.i2b"
    path.write_text(text, encoding="latin-1")
    (spectrum,) = read_i2b(path)
    assert len(spectrum) == len(FREQ) - 1
    assert spectrum.meta.extra["warnings"] == (
        "aborted or truncated run: 22 of 30 points",
        "dropped line 8: f <= 0 or a non-finite value",
    )


def test_repeated_frequency_keeps_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "repeat.i2b"
    path.write_text("h\n3\n10 2 -3\n1 2 -3\n10 5 -6\n", encoding="latin-1")
    (spectrum,) = read_i2b(path)
    np.testing.assert_array_equal(spectrum.impedance_ohm, [2 - 3j, 2 - 3j])
    assert spectrum.meta.extra["warnings"] == (
        "dropped line 5: frequency 10 Hz repeats an earlier row",
    )


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ("", "empty file", None),
        ("only a header\nand words\n", "no line holding the number of points", None),
        ("h\n2\n1 2 3\n2 3 4\n3 4 5\n", "2 points announced on line 2, but more rows", 5),
        ("h\n3\n1 2 3\n2 3 x\n3 4 5\n", "expected 3 numbers", 4),
        ("h\n1\n0 2 3\n", "no impedance points", 2),
        ("h\n2\n1 2 3\n2 3\x00 4\n", "control character 0x00", 4),
    ],
)
def test_bad_files_raise_read_error(
    tmp_path: Path, content: str, message: str, line: int | None
) -> None:
    path = tmp_path / "bad.i2b"
    path.write_text(content, encoding="latin-1")
    assert_read_error(read_i2b, path, message, line)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="no such file"):
        read_i2b(tmp_path / "missing.i2b")


def test_sniff(tmp_path: Path) -> None:
    head = write_i2b(tmp_path / "cell.i2b", _sample()).read_bytes()
    assert sniff_i2b(head, "cell.i2b") >= 0.9 and sniff_i2b(head, "cell") >= 0.9
    assert sniff_i2b(b"frequency,z_real,z_imag\n1,2,3\n2,3,4\n", "data.csv") < 0.3
    assert sniff_i2b(b"f Z' Z''\n1 2 3\n2 3 4\n", "data.txt") < 0.3
    assert sniff_i2b(b"lorem ipsum dolor\n" * 30, "notes.txt") < 0.3
    assert sniff_i2b(b"\x00\x01\x02binary", "x.i2b") < 0.3
    assert FORMATS[0].read is read_i2b and FORMATS[0].extensions == (".i2b",)


VALID = i2b_text(simulate(CELL.circuit, CELL.values, FREQ[:5])).encode("latin-1")


test_fuzz_corrupted_files = corruption_fuzz(read_i2b, VALID, "fuzz.i2b", count=1)
test_fuzz_random_content = random_content_fuzz(read_i2b, "random.i2b", sniff=sniff_i2b, count=1)


# --- real exports (MANIFEST rows "Elchemea Analytical .i2b") ----------------------------


@pytest.mark.skipif(not PYIMPSPEC.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize("name", ["data.i2b", "data-i2b"])
def test_real_files_match_pyimpspec(name: str) -> None:
    path = PYIMPSPEC / name
    assert sniff_i2b(path.read_bytes()[:65536], name) >= 0.9
    spectra = read_i2b(path)
    assert [len(s) for s in spectra] == [29]
    assert_same_as_pyimpspec(path, spectra)
    assert np.all(spectra[0].impedance_ohm.imag < 0)
