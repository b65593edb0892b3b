"""eisfit.io.ivium: Ivium .idf/.ids written by a fixture writer, real files, fuzz."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from reader_checks import REAL, assert_same_as_pyimpspec, corruption_fuzz, random_content_fuzz

from eisfit import ReadError, Spectrum
from eisfit.io.ivium import FORMATS, read_ivium, sniff_ivium
from eisfit.synthetic import Arc, SyntheticCell, simulate

PYIMPSPEC = REAL / "vyrjana__pyimpspec" / "tests"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
FREQ = np.logspace(5, -1, 19)
END = b"\x00\x00\x00\x00"


def measurement(
    rows: list[tuple[float, float, float]],
    *,
    method: str = "Impedance",
    title: str = "Test",
    starttime: str = "16/07/2024 09:32:45",
    comma: bool = False,
) -> list[bytes | str]:
    """One measurement: length-prefixed settings sections, then the data objects."""
    process = "instrument  : IviumStat\x1c\x1estart time  : 17.07.2024 10:00:00\x1c\x1e"
    sections = [
        ["Peaks=false", "Corrosion=false", "Levels=false", "ECN=false", "Solarcell=false"],
        [f"starttime={starttime}", "endtime=", "serialnumber=A12345", "software=4.1"],
        [f"Method={method}", "Technique=Constant E", f"Title={title}", "E start=0",
         "Data Options.AnalogInputTitle=Peripheral Port", f"Report.Process data={process}",
         "Mconfig=0"],
    ]  # fmt: skip
    out: list[bytes | str] = []
    for lines in sections:
        out += [struct.pack("<i", sum(len(line) + 2 for line in lines)), *lines]
    out += [struct.pack("<i", 70000), "2         ", "Data Objects    ", "0         "]
    out += ["primary_data    ", "3         ", f"{len(rows):<10d}"]
    for a, b, c in rows:
        row = f"{a:<12.5E} {b:<12.5E}\t{c:<12.5E}"
        out.append(row.replace(".", ",") if comma else row)
    out += ["7         ", "osc_data        ", "1         ", "3         ", "2         "]
    return [*out, "1.00000E+05  4.11584E-05  3.71661E-04", "4.00000E+00  7.44146E-05  3.68E-03"]


def ivium_bytes(*measurements: list[bytes | str], newline: str = "\r\n") -> bytes:
    """An .idf (one measurement) or .ids file; measurements are separated by NUL words."""
    nl = newline.encode()
    out = bytearray(bytes(16))
    for number, items in enumerate(measurements):
        if number:
            out += END + nl + END + nl
        for item in items:
            out += (item if isinstance(item, bytes) else item.encode("latin-1")) + nl
    return bytes(out + END + nl + END + nl)


def _rows(seed: int = 0, frequency: np.ndarray = FREQ) -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(seed)
    spectrum = simulate(CELL.circuit, CELL.values, frequency, noise=0.01, rng=rng)
    z = spectrum.impedance_ohm
    return list(zip(z.real, z.imag, spectrum.frequency_hz, strict=True))


def _check(spectrum: Spectrum, rows: list[tuple[float, float, float]]) -> None:
    printed = [[float(f"{v:.5E}") for v in row] for row in rows]  # what the file holds
    np.testing.assert_array_equal(spectrum.frequency_hz, [row[2] for row in printed])
    expected = [complex(row[0], row[1]) for row in printed]
    np.testing.assert_array_equal(spectrum.impedance_ohm, expected)


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("comma", [False, True])
def test_idf_round_trip(tmp_path: Path, newline: str, comma: bool) -> None:
    rows = _rows()
    path = tmp_path / "cell.idf"
    path.write_bytes(ivium_bytes(measurement(rows, comma=comma), newline=newline))
    (spectrum,) = read_ivium(path)
    _check(spectrum, rows)
    meta = spectrum.meta
    assert (meta.source, meta.index) == (str(path), 0)
    assert meta.timestamp == datetime(2024, 7, 16, 9, 32, 45)
    assert meta.extra["title"] == "Test" and meta.extra["device"] == "IviumStat"
    assert meta.extra["technique"] == "Impedance (Constant E)"
    assert meta.extra["serial_number"] == "A12345" and meta.extra["warnings"] == ()


def test_ids_with_several_measurements_skips_other_methods(tmp_path: Path) -> None:
    first, second = _rows(1), _rows(2, FREQ[:12])
    cv = [(0.1 * i, 1e-6 * i, 0.5 * i) for i in range(5)]
    path = tmp_path / "series.ids"
    path.write_bytes(
        ivium_bytes(
            measurement(first, title="A", starttime="01/02/2024 10:00:00"),
            measurement(cv, method="CyclicVoltammetry", title="CV"),
            measurement(second, title="B", starttime="01/02/2024 11:30:00"),
        )
    )
    spectra = read_ivium(path)
    assert [s.meta.index for s in spectra] == [0, 1]
    _check(spectra[0], first)
    _check(spectra[1], second)
    assert [s.meta.extra["title"] for s in spectra] == ["A", "B"]
    assert spectra[1].meta.timestamp == datetime(2024, 2, 1, 11, 30)
    assert all(
        "Method=CyclicVoltammetry is not impedance" in s.meta.extra["warnings"][0] for s in spectra
    )


def test_utf8_reencoded_copy_and_process_data_start_time(tmp_path: Path) -> None:
    rows = _rows()
    data = ivium_bytes(measurement(rows, starttime=""), newline="\n")
    path = tmp_path / "copy.idf"
    path.write_bytes(data.decode("latin-1").encode("utf-8"))  # as in pyimpspec's data.ids
    (spectrum,) = read_ivium(path)
    _check(spectrum, rows)
    assert spectrum.meta.timestamp == datetime(2024, 7, 17, 10, 0, 0)


def test_invalid_rows_are_dropped_with_a_warning(tmp_path: Path) -> None:
    rows = _rows()
    rows[4] = (1.0, 2.0, 0.0)
    rows[5] = (float("nan"), 2.0, 5.0)
    rows[7] = (1.0, 2.0, rows[6][2])
    path = tmp_path / "cell.idf"
    path.write_bytes(ivium_bytes(measurement(rows)))
    (spectrum,) = read_ivium(path)
    assert len(spectrum) == len(FREQ) - 3
    warnings = spectrum.meta.extra["warnings"]
    assert len(warnings) == 3 and "repeats an earlier row" in warnings[2]


def _bad(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_files_raise_read_error(tmp_path: Path) -> None:
    good = ivium_bytes(measurement(_rows()))
    rows_start = good.index(b"primary_data")
    cases = {
        "empty.idf": (b"", "no primary_data block", None),
        "settings.idf": (good[:rows_start], "no primary_data block", None),
        "cut.idf": (good[: rows_start + 200], "truncated: 19 rows announced", 30),
        "count.idf": (good.replace(b"3         \r\n19", b"3         \r\nxx"), "number of rows", 26),
        "row.idf": (good.replace(b"E+05 ", b"E+05 x", 1), "expected 3 numbers", 27),
        "cv.idf": (ivium_bytes(measurement(_rows(), method="CV")), "no impedance data", 24),
    }
    for name, (content, message, line) in cases.items():
        path = _bad(tmp_path, name, content)
        with pytest.raises(ReadError, match=message) as info:
            read_ivium(path)
        assert info.value.path == str(path) and info.value.line == line, name
    with pytest.raises(ReadError, match="no such file"):
        read_ivium(tmp_path / "missing.idf")


def test_sniff(tmp_path: Path) -> None:
    head = ivium_bytes(measurement(_rows()))[:65536]
    assert sniff_ivium(head, "cell.idf") >= 0.9 and sniff_ivium(head, "cell") >= 0.9
    assert sniff_ivium(b"freq,re,im\n1,2,3\n", "data.csv") < 0.3
    assert sniff_ivium(b"lorem ipsum " * 50, "notes.txt") < 0.3
    assert sniff_ivium(bytes(100), "zeros.bin") < 0.3
    assert FORMATS[0].read is read_ivium and FORMATS[0].extensions == (".idf", ".ids")


VALID = ivium_bytes(measurement(_rows(3, FREQ[:4])))


test_fuzz_corrupted_files = corruption_fuzz(read_ivium, VALID, "fuzz.ids", nonempty=True)
test_fuzz_random_content = random_content_fuzz(
    read_ivium, "random.idf", sniff=sniff_ivium, nonempty=True
)


# --- real exports (MANIFEST rows "Ivium IviumSoft .idf/.ids") ---------------------------


@pytest.mark.skipif(not PYIMPSPEC.is_dir(), reason="shared real-data folder not present")
@pytest.mark.parametrize(
    ("name", "count"), [("data.idf", 1), ("data-idf", 1), ("data.ids", 2), ("data-ids", 2)]
)
def test_real_files_match_pyimpspec(name: str, count: int) -> None:
    path = PYIMPSPEC / name
    assert sniff_ivium(path.read_bytes()[:65536], name) >= 0.9
    spectra = read_ivium(path)
    assert [len(s) for s in spectra] == [29] * count
    assert all(np.all(s.impedance_ohm.imag < 0) for s in spectra)
    assert_same_as_pyimpspec(path, spectra)
