"""Rows that are not points, and repeated frequencies, in every reader that splits spectra.

Issue 13, item 7: a sweep interrupted by NaN or infinite rows stays one spectrum with
those points dropped and a warning naming the lines; a spectrum split off at a repeated
frequency says so, with the lines, on both sides.  Checked on EC-Lab .mpt and .mpr,
delimited text (csv), ZPlot .z and PalmSens sessions; wording from `eisfit.io._notes`.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import numpy as np
import pytest
from fixtures_biologic import mpr_bytes
from fixtures_vendor_text import sample

import eisfit
from eisfit.io import read_csv

# private module, tested directly: the readers' note wording has no public entry of its own
from eisfit.io._notes import dropped_note, owners, place_list, repeat_note
from eisfit.io.biologic_mpr import read_mpr
from eisfit.io.biologic_mpt import read_mpt
from eisfit.io.palmsens import read_pssession
from eisfit.io.zview import read_zplot

SWEEP = sample(1, n_points=12)  # 1 MHz down to 0.1 Hz
F = SWEEP.frequency_hz
Z = SWEEP.impedance_ohm
BAD = ("nan", "inf", "-inf", "NaN")


def _mpt(path: Path, rows: list[tuple[str, ...]], names: tuple[str, ...] = ()) -> Path:
    """A minimal .mpt (3 header lines: data rows start on line 4)."""
    columns = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", *names)
    lines = ["EC-Lab ASCII FILE", "Nb header lines : 3", "\t".join(columns)]
    path.write_text("\r\n".join([*lines, *("\t".join(r) for r in rows)]) + "\r\n")
    return path


def _point(k: int, *extra: str) -> tuple[str, ...]:
    return (repr(float(F[k])), repr(float(Z[k].real)), repr(float(-Z[k].imag)), *extra)


# --- the wording --------------------------------------------------------------------------


def test_place_lists_join_runs_and_stop_after_six() -> None:
    assert place_list([17, 15, 16, 20]) == "15-17, 20"
    assert place_list(list(range(1, 40, 2))) == "1, 3, 5, 7, 9, 11, ..."
    assert dropped_note([15, 16, 17]) == "dropped 3 rows with NaN or infinite values (lines 15-17)"
    one = dropped_note([4], unit="record")
    assert one == "dropped 1 row with NaN or infinite values (record 4)"
    assert repeat_note(13, 1000.0, 12) == "split at line 13: frequency 1000 Hz repeats line 12"
    assert owners([4, 20, 40], [2, 4, 19, 25, 99]) == [0, 0, 0, 1, 2]


# --- EC-Lab .mpt / .mpr ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD)
def test_mpt_sweep_interrupted_by_nonfinite_rows_stays_one_spectrum(tmp_path, bad) -> None:
    rows = [_point(k) for k in range(12)]
    rows[5:8] = [(bad, "1.0", "2.0"), ("1000.0", bad, "2.0"), ("100.0", "1.0", bad)]
    (spectrum,) = read_mpt(_mpt(tmp_path / "gap.mpt", rows))
    keep = [k for k in range(12) if k not in (5, 6, 7)]
    np.testing.assert_array_equal(spectrum.frequency_hz, F[keep])
    np.testing.assert_array_equal(spectrum.impedance_ohm, Z[keep])
    note = "dropped 3 rows with NaN or infinite values (lines 9-11)"  # rows 5-7: lines 9-11
    said = spectrum.meta.extra["warnings"]
    assert note in said and isinstance(said, tuple)  # the batch copies each string


def test_mpt_nonfinite_rows_are_named_on_the_spectrum_they_interrupt(tmp_path) -> None:
    rows = [_point(k) for k in range(12)] + [("nan", "nan", "nan")] + [_point(k) for k in range(12)]
    rows[3] = ("nan", "1", "2")  # in the first sweep
    first, second = read_mpt(_mpt(tmp_path / "two.mpt", rows))
    assert [len(first), len(second)] == [11, 12]  # the restart at 1 MHz splits, NaN does not
    note = "dropped 2 rows with NaN or infinite values (lines 7, 16)"
    assert note in first.meta.extra["warnings"]
    assert not any("NaN" in w for w in second.meta.extra["warnings"])


def test_mpt_modular_sequence_still_splits_where_the_next_sweep_restarts(tmp_path) -> None:
    ocv = [("0", "0", "0")] * 4  # another technique of the sequence: f = 0
    rows = ocv + [_point(k) for k in range(12)] + ocv + [_point(k) for k in range(8)]
    spectra = read_mpt(_mpt(tmp_path / "seq.mpt", rows))
    assert [len(s) for s in spectra] == [12, 8]
    assert "dropped 8 of 28 rows with f = 0 Hz" in spectra[1].meta.extra["warnings"][1]


def test_mpt_nan_in_every_column_keeps_the_cycle(tmp_path) -> None:
    """A NaN row whose cycle number is NaN too is no cycle change (lead's fault probe)."""
    rows = [_point(k, "1") for k in range(12)]
    rows[4:6] = [("NaN", "NaN", "NaN", "NaN")] * 2
    (spectrum,) = read_mpt(_mpt(tmp_path / "nan.mpt", rows, ("cycle number",)))
    assert len(spectrum) == 10 and spectrum.meta.cycle == 1
    assert "dropped 2 rows with NaN or infinite values (lines 8-9)" in spectrum.meta.extra[
        "warnings"
    ]


def test_mpt_cycle_change_on_a_dropped_row_still_starts_the_next_spectrum(tmp_path) -> None:
    """Two falling half-sweeps that do not restart: only the cycle number separates them,
    and it changes on an f = 0 row (the next point keeps the new number)."""
    rows = [_point(k, "1") for k in range(6)] + [("0", "0", "0", "2")]
    rows += [_point(k, "2") for k in range(6, 12)]
    spectra = read_mpt(_mpt(tmp_path / "cycles.mpt", rows, ("cycle number",)))
    assert [len(s) for s in spectra] == [6, 6]
    assert [s.meta.cycle for s in spectra] == [1, 2]


def test_mpt_repeated_frequency_loop_gives_one_point_spectra_that_say_why(tmp_path) -> None:
    rows = [_point(4)] * 4  # a single-frequency measurement repeated: lines 4-7
    spectra = read_mpt(_mpt(tmp_path / "loop.mpt", rows))
    assert [len(s) for s in spectra] == [1, 1, 1, 1]
    f = f"{F[4]:g}"
    notes = [[w for w in s.meta.extra["warnings"] if w.startswith("split")] for s in spectra]
    assert notes == [
        [f"split at line 5: frequency {f} Hz repeats line 4"],
        [f"split at line 5: frequency {f} Hz repeats line 4",
         f"split at line 6: frequency {f} Hz repeats line 5"],
        [f"split at line 6: frequency {f} Hz repeats line 5",
         f"split at line 7: frequency {f} Hz repeats line 6"],
        [f"split at line 7: frequency {f} Hz repeats line 6"],
    ]  # fmt: skip


def test_mpt_repeat_inside_a_sweep_splits_and_both_parts_say_so(tmp_path) -> None:
    rows = [_point(k) for k in range(6)] + [_point(5)] + [_point(k) for k in range(6, 12)]
    first, second = read_mpt(_mpt(tmp_path / "twice.mpt", rows))
    assert [len(first), len(second)] == [6, 7]
    note = f"split at line 10: frequency {F[5]:g} Hz repeats line 9"
    assert note in first.meta.extra["warnings"] and note in second.meta.extra["warnings"]


def test_mpr_nonfinite_records_are_named_by_record(tmp_path) -> None:
    data = bytearray(mpr_bytes([SWEEP], loops=False))
    for k in (3, 4):  # replace two stored frequencies (float32) by NaN and inf
        value = np.float32(F[k]).tobytes()
        assert data.count(value) == 1
        at = data.index(value)
        data[at : at + 4] = np.float32(np.nan if k == 3 else np.inf).tobytes()
    path = tmp_path / "gap.mpr"
    path.write_bytes(bytes(data))
    (spectrum,) = read_mpr(path)
    assert len(spectrum) == 10
    assert (
        "dropped 2 rows with NaN or infinite values (records 4-5)"
        in (spectrum.meta.extra["warnings"])
    )


# --- delimited text ------------------------------------------------------------------------


def _csv(path: Path, rows: list[str], header: str = "f,Z',Z''") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _csv_row(k: int) -> str:
    return f"{float(F[k])!r},{float(Z[k].real)!r},{float(Z[k].imag)!r}"


@pytest.mark.parametrize("bad", BAD)
def test_csv_nonfinite_rows_stay_inside_one_spectrum(tmp_path, bad) -> None:
    rows = [_csv_row(k) for k in range(12)]
    rows[2] = f"{bad},1,2"
    rows[3] = f"1000,{bad},2"
    (spectrum,) = read_csv(_csv(tmp_path / "gap.csv", rows))
    np.testing.assert_array_equal(spectrum.frequency_hz, np.delete(F, [2, 3]))
    assert spectrum.meta.extra["warnings"] == (
        "dropped 2 rows with NaN or infinite values (lines 4-5)",
    )


def test_csv_repeated_frequency_splits_and_both_spectra_say_so(tmp_path) -> None:
    rows = [_csv_row(k) for k in range(7)] + [_csv_row(6)] + [_csv_row(k) for k in range(7, 12)]
    first, second = read_csv(_csv(tmp_path / "twice.csv", rows))
    assert [len(first), len(second)] == [7, 6]
    note = f"split at line 9: frequency {F[6]:g} Hz repeats line 8"
    assert first.meta.extra["warnings"] == (note,) == second.meta.extra["warnings"]


def test_csv_repeat_inside_a_spectrum_column_group_is_an_error_naming_both_lines(tmp_path):
    rows = ["1000,1,-2,0", "100,2,-3,0", "1000,3,-4,0"]
    path = _csv(tmp_path / "dup.csv", rows, header="f,Z',Z'',spectrum")
    with pytest.raises(eisfit.ReadError, match=r"frequency 1000 Hz repeats line 2") as info:
        read_csv(path)
    assert info.value.line == 4


# --- ZPlot .z (the vendor text table rules) ---------------------------------------------------


def _zplot(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["ZPLOT2 ASCII", "Experiment Type: Sweep Frequency, Control Voltage", "End Comments"]
    lines += [f"{f}\t0\t0\t0\t{re}\t{im}\t0\t0\t4" for f, re, im in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _z_row(k: int) -> tuple[str, str, str]:
    return repr(float(F[k])), repr(float(Z[k].real)), repr(float(Z[k].imag))


@pytest.mark.parametrize("bad", BAD)
def test_zplot_nonfinite_rows_are_named_and_do_not_split(tmp_path, bad) -> None:
    rows = [_z_row(k) for k in range(12)]
    rows[8] = (rows[8][0], bad, rows[8][2])
    (spectrum,) = read_zplot(_zplot(tmp_path / "gap.z", rows))
    assert len(spectrum) == 11
    assert spectrum.meta.extra["warnings"] == (
        "dropped 1 row with NaN or infinite values (line 12)",
    )


def test_zplot_repeat_splits_and_nan_rows_go_to_the_sweep_they_interrupt(tmp_path) -> None:
    rows = [_z_row(k) for k in range(6)] + [("nan", "0", "0")] + [_z_row(5)]
    rows += [_z_row(k) for k in range(6, 12)]
    first, second = read_zplot(_zplot(tmp_path / "twice.z", rows))
    assert [len(first), len(second)] == [6, 7]
    note = f"split at line 11: frequency {F[5]:g} Hz repeats line 9"
    assert first.meta.extra["warnings"] == (
        "dropped 1 row with NaN or infinite values (line 10)",
        note,
    )
    assert second.meta.extra["warnings"] == (note,)


# --- PalmSens sessions (no lines: points) -------------------------------------------------------


def test_palmsens_repeated_frequency_split_is_named_by_point(tmp_path) -> None:
    f = [*map(float, F[:5]), float(F[4]), *map(float, F[5:8])]
    z = [complex(v) for v in (*Z[:5], Z[4], *Z[5:8])]

    def array(kind: str, q: str, values: list[float]) -> dict:
        unit = {"Type": f"PalmSens.Units.{kind}", "S": "", "Q": q}
        return {"Description": kind, "Unit": unit, "DataValues": [{"V": v} for v in values]}

    values = [array("Hertz", "Frequency", f), array("ZRe", "Z'", [v.real for v in z]),
              array("ZIm", "-Z''", [-v.imag for v in z])]  # fmt: skip
    document = {"Measurements": [{"Title": "EIS", "DataSet": {"Values": values}}]}
    path = tmp_path / "twice.pssession"
    path.write_bytes(codecs.BOM_UTF16_LE + json.dumps(document).encode("utf-16-le"))
    first, second = read_pssession(path)
    assert [len(first), len(second)] == [5, 4]
    note = f"split at point 6: frequency {F[4]:g} Hz repeats point 5"
    assert first.meta.extra["warnings"] == (note,) == second.meta.extra["warnings"]
