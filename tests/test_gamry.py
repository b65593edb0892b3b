"""eisfit.io.gamry: synthetic round trips, locales, aborted runs, errors, fuzz, real files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fixtures_gamry import dta_text, write_dta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import (
    NO_REAL,
    REAL,
    assert_exact_spectra,
    assert_same_as_pyimpspec,
    impedance_py,
    manifest_rows,
    read_outcome,
    truncate_and_flip,
)

from eisfit import ReadError, Spectrum
from eisfit.io import read
from eisfit.io.gamry import FORMATS, read_dta
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(1e-7, 25.0, (Arc(500.0, 1e4, 0.85),))
SNIFF = FORMATS[0].sniff


def _spectra(n: int, seed: int = 0, points: int = 31) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    f = np.logspace(6, -1, points)
    return [simulate(CELL.circuit, CELL.values, f, noise=0.005, rng=rng) for _ in range(n)]


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    written = _spectra(1)
    path = write_dta(tmp_path / "EIS.DTA", written)
    read = read_dta(path)
    assert_exact_spectra(read, written)
    meta = read[0].meta
    assert meta.source == str(path) and meta.timestamp == datetime(2020, 3, 18, 16, 54, 44)
    assert meta.temperature_k is None and meta.cycle is None
    assert dict(meta.extra) == {
        "format": "gamry-dta", "instrument": "Gamry REF600-12345", "technique": "EISPOT",
        "technique_name": "Potentiostatic EIS", "software": "Gamry Framework 7.8.2",
        "electrode_area_cm2": 0.5, "curve": 0, "drift_corrected": False, "warnings": (),
    }  # fmt: skip


@NO_REAL
def test_real_zimag_is_signed_as_zphz_says() -> None:
    """Gamry's Zimag is the physical imaginary part: atan2(Zimag, Zreal) is Zphz."""
    path = REAL / "ECSHackWeek__impedance.py" / "data" / "exampleDataGamry.DTA"
    table = path.read_text(encoding="latin-1").split("ZCURVE")[1].splitlines()[3:]
    rows = np.array([[float(v) for v in line.split()] for line in table if line.strip()])
    zreal, zimag, zphz = rows[:, 3], rows[:, 4], rows[:, 7]
    np.testing.assert_allclose(np.degrees(np.arctan2(zimag, zreal)), zphz, atol=1e-3)
    assert np.all(zimag < 0)
    np.testing.assert_array_equal(read_dta(path)[0].impedance_ohm.imag, zimag)


@pytest.mark.parametrize(
    "date, time, calibration, expected, warns",
    [
        ("25.1.2024", "11:02:08", "1.3.2024", datetime(2024, 1, 25, 11, 2, 8), False),
        ("01-02-2022", "00:00:01", "1-1-2022", datetime(2022, 2, 1, 0, 0, 1), False),
        ("2024-01-25", "11:02:08,5", "", datetime(2024, 1, 25, 11, 2, 8, 500000), False),
        ("10/25/2024", "21:09:58.727375", "1/3/2024", datetime(2024, 10, 25, 21, 9, 58, 727375),
         False),
        ("5/11/2016", "17:47:03", "5/6/2016", datetime(2016, 5, 11, 17, 47, 3), True),
        ("5/11/2016", "17:47:03", "13/6/2016", datetime(2016, 11, 5, 17, 47, 3), False),
        ("DD-M-YYYY", "HH:MM:SS", "", None, True),
    ],
)  # fmt: skip
def test_locale_dates(tmp_path: Path, date, time, calibration, expected, warns: bool) -> None:
    written = _spectra(1, seed=1)
    path = write_dta(tmp_path / "d.DTA", written, date=date, time=time,
                     calibration_date=calibration, decimal_comma="." in date)  # fmt: skip
    read = read_dta(path)
    assert_exact_spectra(read, written)
    assert read[0].meta.timestamp == expected
    assert bool(read[0].meta.extra["warnings"]) == warns


def test_several_curves_and_hand_edited_rows(tmp_path: Path) -> None:
    written = _spectra(3, seed=2)
    assert_exact_spectra(read_dta(write_dta(tmp_path / "multi.DTA", written, spaces=True)), written)


def test_aborted_run_returns_the_points_with_a_warning(tmp_path: Path) -> None:
    written = [_spectra(1, seed=3)[0].crop(f_min_hz=10.0)]
    read = read_dta(write_dta(tmp_path / "abort.DTA", written, aborted=True))
    assert_exact_spectra(read, written)
    n = len(written[0])
    assert read[0].meta.extra["warnings"] == (f"aborted run: {n} of 36 planned points "
                                              "(EXPERIMENTABORTED)",)  # fmt: skip


def test_drift_correction_gives_two_spectra(tmp_path: Path) -> None:
    raw, corrected = _spectra(2, seed=4)
    read = read_dta(write_dta(tmp_path / "drift.DTA", [raw], drift=[corrected]))
    assert_exact_spectra(read, [corrected, raw])
    assert [s.meta.extra["drift_corrected"] for s in read] == [True, False]


def test_polar_columns_and_temperature(tmp_path: Path) -> None:
    written = _spectra(1, seed=5)
    read = read_dta(write_dta(tmp_path / "p.DTA", written, polar_only=True, temperature_c=25.0))
    np.testing.assert_allclose(read[0].impedance_ohm, written[0].impedance_ohm, rtol=1e-12)
    assert read[0].meta.temperature_k == 298.15
    polar = "no Zreal/Zimag columns: Z computed from Zmod and Zphz"
    assert read[0].meta.extra["warnings"] == (polar,)
    hot = read_dta(write_dta(tmp_path / "t.DTA", written, temperature_c=1395.2))[0].meta
    assert hot.temperature_k is None and "implausible" in hot.extra["warnings"][0]


def _cut_row(text: str) -> str:
    head, _, tail = text.partition("ZCURVE")
    lines = tail.split("\r\n")
    lines[5] = lines[5].rsplit("\t", 4)[0]
    return head + "ZCURVE" + "\r\n".join(lines)


@pytest.mark.parametrize(
    "edit, message, line",
    [
        (lambda t: t.replace("EXPLAIN", "EXPLAINED", 1), "not a Gamry EXPLAIN", 1),
        (lambda t: t.split("ZCURVE")[0], "no impedance curve", None),
        (lambda t: t.split("ZCURVE")[0] + "ZCURVE\tTABLE\r\n\tPt\tFreq\r\n\t#\r\n", "without", 24),
        (lambda t: t.split("\t0\t1.0\t")[0], "no data rows", 26),
        (lambda t: t.replace("\t1.0\t1000000.0\t", "\t1.0\tabc\t", 1), "non-numeric Freq", 26),
        (_cut_row, "truncated row", 28),
        (lambda t: t.replace("\t1.0\t1000000.0\t", "\t1.0\t-5.0\t", 1), "must be > 0", 26),
    ],
)
def test_errors_name_the_line(tmp_path: Path, edit, message: str, line: int | None) -> None:
    path = tmp_path / "bad.DTA"
    path.write_bytes(edit(dta_text(_spectra(1))).encode("cp1252"))
    with pytest.raises(ReadError, match=message) as error:
        read_dta(path)
    assert error.value.line == line and error.value.path == str(path)


def test_eisfit_io_read_picks_this_reader_by_content(tmp_path: Path) -> None:
    written = _spectra(2, seed=6)
    for name in ("EIS.DTA", "data-dta"):
        spectra = read(write_dta(tmp_path / name, written))
        assert spectra[0].meta.extra["format"] == "gamry-dta" and len(spectra) == 2


def test_sniff(tmp_path: Path) -> None:
    dta = dta_text(_spectra(1)).encode("cp1252")
    assert SNIFF(dta, "data-dta") >= 0.9 and SNIFF(dta, "x.dta") >= 0.9
    for other in (b"frequency,z_real,z_imag\n1,2,3\n", b"\x00\xff random" * 50, b""):
        assert SNIFF(other, "x.csv") < 0.3
    assert SNIFF(b"freq\tzreal\n", "x.dta") <= 0.3


_DTA = dta_text(_spectra(2, points=5), aborted=True).encode("cp1252")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_fuzz(tmp_path: Path, data) -> None:
    if data.draw(st.booleans()):
        content = truncate_and_flip(data, _DTA)
    else:
        content = b"EXPLAIN\r\n" + data.draw(st.text(max_size=300)).encode()
    path = tmp_path / "fuzz.DTA"
    path.write_bytes(content)
    read_outcome(read_dta, path)


# --- real files (../shared/real-data) ------------------------------------------------


@NO_REAL
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("row", manifest_rows("Gamry"), ids=lambda r: r["path"][-50:])
def test_real_files(row: dict[str, str]) -> None:
    path = REAL / row["path"]
    assert SNIFF(path.read_bytes()[:65536], path.name.lower()) >= 0.9
    ours = read_dta(path)
    assert len(ours) == int(row["n_spectra_guess"].split()[0])
    if row["pyimpspec parse_data"].startswith("ok"):
        assert_same_as_pyimpspec(path, ours, exact_frequency=True)
    if row["impedance.py readFile"].startswith("[instrument=gamry] ok ("):
        f, z = impedance_py(path, "gamry")  # the last curve, uncorrected
        np.testing.assert_array_equal(ours[-1].frequency_hz, f)
        np.testing.assert_allclose(ours[-1].impedance_ohm, z, rtol=1e-9)
    if "ABORT" in path.name.upper():
        assert "aborted run" in " ".join(ours[0].meta.extra["warnings"])
