"""The chunked .mpt row reader, the vectorised split into spectra and the vectorised
infinity check give what the line-by-line code gave (issue 15, reader speed).

The reference is the code as it was before (commit 5c22dbf), kept here and only here:
`iter_lines` line by line (`_reference_lines`) and `_reference_rows` (the .mpt reader's
row loop) instead of `iter_line_blocks` and the chunks, `_reference_run_spectra` with
`_reference_blocks` (the split into spectra, one row at a time) and
`_reference_make_spectrum`.  Every case reads a file with the library and with the
reference patched in, and compares the outcome: the spectra (frequencies and impedances
bit for bit, every meta field, the warnings) or the error (type, message, line).  The
chunk size is made small (1, 2, 5 lines) so that plain and non-plain chunks and chunk
boundaries meet every edit, and the size of a read (`textfile.CHUNK_BYTES`) too, so that
the reading's own errors (a control character, an over-long line) come between blocks.
`iter_line_blocks` is also compared with `iter_lines` directly, on random bytes.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_biologic import mpt_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_checks import NO_REAL, REAL, manifest, row_id

import eisfit.io._mpt_rows as mpt_rows
import eisfit.io.biologic_mpr as biologic_mpr
import eisfit.io.biologic_mpt as biologic_mpt
import eisfit.io.sniffing as sniffing
import eisfit.io.textfile as textfile
from eisfit import ReadError, Spectrum
from eisfit.errors import SpectrumError
from eisfit.io._biologic import (
    Run,
    _carried,
    _own_notes,
    _placer,
    _temperature,
    add_seconds,
    complex_array,
    ole_datetime,
    parse_eclab_datetime,
    run_spectra,
)
from eisfit.io._notes import owners
from eisfit.io.sniffing import make_spectrum, number
from eisfit.spectrum import SpectrumMeta
from eisfit.synthetic import Arc, SyntheticCell, simulate

ROOT = Path(__file__).resolve().parents[1]
CELL = SyntheticCell(2e-7, 12.0, (Arc(340.0, 2e5, 0.9), Arc(800.0, 30.0, 0.8)))
CHUNK_SIZES = (1, 2, 5, 4096)

# --- the reference: the code before the change -----------------------------------------


def _reference_rows(
    path: str | Path,
    lines: Any,
    columns: dict[str, int],
    names: list[str],
    clock: tuple[datetime | None, bool],
    loops: list[int],
) -> Run:
    start, excel = clock
    numeric = [role for role in columns if role not in ("time", "stack_real", "stack_minus_imag")]
    needed = max(columns[role] for role in ("frequency", "real", "minus_imag", "imag")
                 if role in columns) + 1  # fmt: skip
    values: dict[str, list[float]] = {role: [] for role in numeric}
    times: list[str] = []
    line_numbers: list[int] = []
    for number_, text in lines:
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split("\t")]
        if len(fields) < needed:
            message = f"expected at least {needed} fields, found {len(fields)} (truncated row?)"
            raise ReadError(path, message, line=number_)
        for role in numeric:
            index = columns[role]
            value = number(fields[index], decimal_comma=True) if index < len(fields) else None
            if value is None:
                if role in ("frequency", "real", "minus_imag", "imag"):
                    shown = fields[index][:40]
                    message = f"non-numeric value {shown!r} in column {names[index]!r}"
                    raise ReadError(path, message, line=number_)
                value = float("nan")
            values[role].append(value)
        if "time" in columns:
            index = columns["time"]
            times.append(fields[index] if index < len(fields) else "")
        line_numbers.append(number_)
    array = {role: np.array(column, dtype=float) for role, column in values.items()}
    imag = -array["minus_imag"] if "minus_imag" in array else array["imag"]

    def timestamp_of(row: int) -> datetime | None:
        if not times:
            return None
        seconds = number(times[row], decimal_comma=True)
        if seconds is None:
            return parse_eclab_datetime(times[row])[0]
        return ole_datetime(seconds) if excel else add_seconds(start, seconds)

    return Run(
        frequency_hz=array["frequency"],
        impedance_ohm=complex_array(array["real"], imag),
        groups=[array[role] for role in ("cycle", "z_cycle", "ns") if role in array],
        loop_starts=loops,
        cycle=array.get("cycle", array.get("z_cycle")),
        temperature_c=array.get("temperature"),
        timestamp_of=timestamp_of,
        line_of=lambda row: line_numbers[row],
    )


def _reference_lines(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """`iter_lines`, one line a block: the reference reads the file line by line."""
    return ((number_, [text]) for number_, text in sniffing.iter_lines(path))


def _reference_rows_of_blocks(
    path: str | Path, blocks: Iterator[tuple[int, list[str]]], *args: Any
) -> Run:
    lines = ((first + k, text) for first, block in blocks for k, text in enumerate(block))
    return _reference_rows(path, lines, *args)


def _reference_run_spectra(
    path: str | Path, run: Run, extra: Mapping[str, Any], warnings: Sequence[str]
) -> list[Spectrum]:
    f, z = run.frequency_hz, run.impedance_ohm
    n = f.size
    if n == 0:
        raise ReadError(path, "the file holds no data rows (the run recorded no points)")
    finite = np.isfinite(f) & np.isfinite(z.real) & np.isfinite(z.imag)
    valid = finite & (f > 0)
    notes = list(warnings)
    for count, what in (
        (int(np.sum(finite & (f == 0))), "with f = 0 Hz (points of non-impedance techniques)"),
        (int(np.sum(finite & (f < 0))), "with f < 0 Hz"),
    ):
        if count:
            notes.append(f"dropped {count} of {n} rows {what}")
    if not valid.any():
        raise ReadError(path, f"none of the {n} data rows is an impedance point (f > 0 Hz)")
    blocks, own = _reference_blocks(run, valid)
    place = _placer(run)
    nan_rows = np.flatnonzero(~finite).tolist()
    for row, owner in zip(nan_rows, owners([b[0] for b in blocks], nan_rows), strict=True):
        own[owner].append(("nan", row, row))
    temperature_k, temperature_note = _temperature(run.temperature_c, valid)
    if temperature_note:
        notes.append(temperature_note)
    spectra = []
    for index, rows in enumerate(blocks):
        first = rows[0]
        cycle = None
        if run.cycle is not None and np.isfinite(run.cycle[first]):
            cycle = round(float(run.cycle[first]))
        spectra.append(
            _reference_make_spectrum(
                path,
                index,
                f[rows].tolist(),
                z[rows].tolist(),
                line=run.line_of(first),
                timestamp=run.timestamp_of(first),
                cycle=cycle,
                temperature_k=temperature_k,
                extra={**extra, "warnings": (*notes, *_own_notes(own[index], f, place))},
            )
        )
    return spectra


def _reference_blocks(run: Run, valid: np.ndarray) -> tuple[list[list[int]], list[list[Any]]]:
    f = run.frequency_hz
    n = f.size
    start = np.zeros(n, dtype=bool)
    for column in run.groups:
        column = _carried(column)
        same = (column[1:] == column[:-1]) | (np.isnan(column[1:]) & np.isnan(column[:-1]))
        start[1:] |= ~same
    for row in run.loop_starts:
        if 0 < row < n:
            start[row] = True
    marks = np.cumsum(start)
    blocks: list[list[int]] = []
    own: list[list[Any]] = []
    for row in np.flatnonzero(valid).tolist():
        last = blocks[-1][-1] if blocks else -1
        if last >= 0 and marks[row] == marks[last] and f[row] == f[last]:
            own[-1].append(("repeat", row, last))
            own.append([("repeat", row, last)])
            blocks.append([])
        elif last < 0 or marks[row] != marks[last] or _reference_breaks_sweep(f, blocks[-1], row):
            own.append([])
            blocks.append([])
        blocks[-1].append(row)
    return blocks, own


def _reference_breaks_sweep(f: np.ndarray, block: list[int], row: int) -> bool:
    step = f[row] - f[block[-1]]
    if step == 0:
        return True
    if len(block) < 2:
        return False
    return (step > 0) != (f[block[1]] > f[block[0]])


def _reference_make_spectrum(
    path: str | Path,
    index: int,
    frequency_hz: Sequence[float],
    impedance_ohm: Sequence[complex],
    *,
    line: int | None = None,
    timestamp: datetime | None = None,
    cycle: int | None = None,
    temperature_k: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Spectrum:
    for value in (*frequency_hz, *(x for z in impedance_ohm for x in (z.real, z.imag))):
        if math.isinf(value):
            message = f"spectrum {index}: infinite value in the data"
            raise ReadError(path, message, line=line)
    try:
        return Spectrum(
            frequency_hz=frequency_hz,
            impedance_ohm=impedance_ohm,
            meta=SpectrumMeta(
                source=str(path),
                index=index,
                timestamp=timestamp,
                cycle=cycle,
                temperature_k=temperature_k,
                extra=dict(extra or {}),
            ),
        )
    except SpectrumError as exc:
        raise ReadError(path, f"spectrum {index}: {exc}", line=line) from None


# --- comparing outcomes ----------------------------------------------------------------


def _spectrum_key(spectrum: Spectrum) -> tuple[Any, ...]:
    meta = spectrum.meta
    f, z = spectrum.frequency_hz, spectrum.impedance_ohm
    return (f.dtype.str, f.tobytes(), z.dtype.str, z.tobytes(), meta.source, meta.index,
            meta.timestamp, meta.cycle, meta.temperature_k, dict(meta.extra))  # fmt: skip


def _outcome(read: Callable[[], list[Spectrum]]) -> Any:
    """The spectra, bit for bit with their meta, or the error (type, text, line)."""
    try:
        return [_spectrum_key(s) for s in read()]
    except Exception as exc:  # the reference may fail with something else than ReadError
        return (type(exc).__name__, str(exc), getattr(exc, "line", None))


def _compare(path: Path, reader: Callable[[Path], list[Spectrum]], chunk: int) -> Any:
    """The library's outcome (chunks of ``chunk`` lines) and the reference's, equal."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mpt_rows, "CHUNK_LINES", chunk)
        got = _outcome(lambda: reader(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(biologic_mpt, "iter_line_blocks", _reference_lines)
        patch.setattr(biologic_mpt, "_rows", _reference_rows_of_blocks)
        patch.setattr(biologic_mpt, "run_spectra", _reference_run_spectra)
        patch.setattr(biologic_mpr, "run_spectra", _reference_run_spectra)
        want = _outcome(lambda: reader(path))
    assert got == want
    return got


# --- synthetic files -------------------------------------------------------------------


def _spectra(n: int = 3, points: int = 12, *, rising: bool = False) -> list[Spectrum]:
    rng = np.random.default_rng(n + points)
    f = np.logspace(6, -1, points)
    f = f[::-1] if rising else f
    return [simulate(CELL.circuit, CELL.values, f, noise=0.01, rng=rng) for _ in range(n)]


def _split(text: str) -> tuple[list[str], list[str]]:
    """Header lines (through the column header) and data rows of an .mpt text."""
    lines = text.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    at = next(i for i, line in enumerate(lines) if line.startswith("freq/Hz"))
    return lines[: at + 1], lines[at + 1 :]


def _with_rows(edit: Callable[[list[list[str]]], list[Any]], **options: Any) -> str:
    """An .mpt text whose data rows (lists of cells) went through ``edit``; an edit may
    return a row as a string (written as it is)."""
    head, rows = _split(mpt_text(_spectra(), **options))
    cells = edit([row.split("\t") for row in rows])
    body = [row if isinstance(row, str) else "\t".join(row) for row in cells]
    return "\r\n".join([*head, *body]) + "\r\n"


def _set(row: int, column: int, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def edit(rows: list[list[str]]) -> list[list[str]]:
        rows[row][column] = value
        return rows

    return edit


def _table(names: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A minimal EC-Lab export of ``rows`` under the column ``names``."""
    head = ["EC-Lab ASCII FILE", "Nb header lines : 6", "",
            "Potentio Electrochemical Impedance Spectroscopy",
            "Acquisition started on : 01/05/2026 09:00:00", "\t".join(names)]  # fmt: skip
    return "\n".join([*head, *("\t".join(str(c) for c in row) for row in rows)]) + "\n"


def _zigzag() -> str:
    f = [1000, 100, 1000, 100, 10, 20, 30, 20, 10, 10, 5, 50, 500, 400, 300, 300, 200, 7]
    return _table(["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"], [(x, 1.5, 0.25) for x in f])


def _wide() -> str:
    names = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "z cycle", "Ns",
             "Temperature/°C", "Re(Zstack)/Ohm", "-Im(Zstack)/Ohm", ""]  # fmt: skip
    rows = [(f, 2.0, 0.5, 2 * k, k // 6, k // 12, 25.0 + k % 3, 9.0, 1.0, "")
            for k, f in enumerate(np.tile(np.logspace(5, 0, 6), 4).tolist())]  # fmt: skip
    return _table(names, rows)


def _stack() -> str:
    names = ["freq/Hz", "Re(Zstack)/Ohm", "-Im(Zstack)/Ohm", "time/s", "Temperature/°C"]
    rows = [(f, 3.0, 0.5, k, "x" if k == 4 else 1500.0) for k, f in enumerate([9, 8, 7, 6, 5])]
    return _table(names, rows)


def _widths(rows: list[list[str]]) -> list[Any]:
    rows[2].append("")
    rows[5].append("7")
    return rows


def _blank_lines(rows: list[list[str]]) -> list[Any]:
    return [*rows[:4], "", *rows[4:8], "   ", *rows[8:12], "\t\t", *rows[12:], "", " "]


def _nan_rows(rows: list[list[str]]) -> list[Any]:
    for row in (3, 4):
        rows[row][:3] = ["NaN", "NaN", "NaN"]
    rows[10][0], rows[11][1], rows[12][2], rows[13][0] = "nan", "-Infinity", "INF", "inf"
    rows[20][7], rows[21][9] = "nan", "NaN"
    return rows


def _spaces(rows: list[list[str]]) -> list[Any]:
    rows[4][0] = f"  {rows[4][0]} "
    rows[14][1] = f"\xa0{rows[14][1]}"
    rows[24][2] = f"{rows[24][2]}\x0c"
    return rows


def _duplicate(rows: list[list[str]]) -> list[Any]:
    return [*rows[:8], rows[7][:], *rows[8:]]


CASES: dict[str, Callable[[], str]] = {
    "plain": lambda: mpt_text(_spectra()),
    "decimal_comma": lambda: mpt_text(_spectra(), decimal_comma=True),
    "rising": lambda: mpt_text(_spectra(rising=True)),
    "modular_f0_rows": lambda: mpt_text(_spectra(), ocv_rows=3),
    "no_loops_no_cycles": lambda: mpt_text(_spectra(), loops=False, cycles=False),
    "absolute_time": lambda: mpt_text(_spectra(), time_format="Absolute"),
    "excel_time": lambda: mpt_text(_spectra(), time_format="Excel"),
    "no_header": lambda: mpt_text(_spectra(), header=False),
    "signed_imag": lambda: mpt_text(_spectra(), imag_name="Im(Z)/Ohm"),
    "rounded": lambda: mpt_text(_spectra(), number_format="%.4E"),
    "header_only": lambda: _with_rows(lambda rows: []),
    "blank_rows_only": lambda: _with_rows(lambda rows: ["", "  ", ""]),
    "nan_rows": lambda: _with_rows(_nan_rows),
    "repeated_frequency": lambda: _with_rows(_duplicate, loops=False),
    "blank_lines": lambda: _with_rows(_blank_lines),
    "spaces": lambda: _with_rows(_spaces),
    "row_widths": lambda: _with_rows(_widths),
    "ascii_case": lambda: _with_rows(_set(6, 0, "iNf")),
    "junk_required": lambda: _with_rows(_set(9, 1, "abc")),
    "empty_required": lambda: _with_rows(_set(9, 2, "")),
    "junk_optional": lambda: _with_rows(_set(9, 7, "x1")),
    "empty_optional": lambda: _with_rows(_set(30, 9, "")),
    "missing_optional": lambda: _with_rows(lambda rows: [*rows[:9], rows[9][:3], *rows[10:]]),
    "missing_time": lambda: _with_rows(lambda rows: [*rows[:9], rows[9][:4], *rows[10:]]),
    "truncated_row": lambda: _with_rows(lambda rows: [*rows[:9], rows[9][:2], *rows[10:]]),
    "truncated_last_row": lambda: _with_rows(lambda rows: [*rows[:-1], rows[-1][:1]]),
    "comma_in_a_dot_file": lambda: _with_rows(_set(5, 1, "12,5")),
    "zigzag_sweeps": _zigzag,
    "wide_z_cycle_ns_temperature": _wide,
    "stack_mode_bad_temperature": _stack,
}
# cells that sniffing.number reads, or not, or (ınf, İnfinity) crashes on
CELLS = ("1,5", ",5", "5,", "+.5e-3", "1E+003", "00012", "-0", "1e-400", "1e400", "1_0",
         "0x10", "1.5.5", "+-1", ".", "e5", "1e", "١٢", "ınf", "İnfinity", "1,5,5", "--1",
         "1e+", " ", "∞", "1d5", "NAN", "-nan", "infinityy", "Infinity", "+inf")  # fmt: skip


def _write(folder: Path, name: str, text: str) -> Path:
    """``text`` as EC-Lab writes it (Windows-1252), or UTF-8 where that cannot hold it."""
    path = folder / f"{name}.mpt"
    try:
        path.write_bytes(text.encode("cp1252"))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_synthetic_cases_read_as_before(tmp_path: Path, case: str, chunk: int) -> None:
    _compare(_write(tmp_path, case, CASES[case]()), biologic_mpt.read_mpt, chunk)


@pytest.mark.parametrize("column", [0, 1, 7])
@pytest.mark.parametrize("cell", CELLS)
def test_every_kind_of_cell_reads_as_before(tmp_path: Path, cell: str, column: int) -> None:
    path = _write(tmp_path, "cell", _with_rows(_set(9, column, cell)))
    for chunk in (4, 4096):
        _compare(path, biologic_mpt.read_mpt, chunk)


def test_the_cases_cover_spectra_and_errors(tmp_path: Path) -> None:
    """The cases above are not all errors (or all alike): a guard on the comparisons."""
    kinds = {case: _compare(_write(tmp_path, case, CASES[case]()), biologic_mpt.read_mpt, 5)
             for case in CASES}  # fmt: skip
    errors = {case for case, outcome in kinds.items() if isinstance(outcome, tuple)}
    assert {"junk_required", "truncated_row", "header_only", "empty_required"} <= errors
    assert {"plain", "decimal_comma", "nan_rows", "junk_optional", "spaces"}.isdisjoint(errors)
    assert len(kinds["repeated_frequency"]) == len(kinds["plain"]) + 1
    assert len(kinds["zigzag_sweeps"]) == 8  # counted by hand


@pytest.mark.parametrize("order", ["bad_row_first", "control_first"])
def test_an_error_of_iter_lines_inside_a_chunk_comes_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """`iter_lines` checks a block of bytes before yielding its lines: a NUL in a later
    block must not hide a bad row of an earlier one, and the reverse."""
    monkeypatch.setattr(textfile, "CHUNK_BYTES", 200)
    bad, nul = (5, 30) if order == "bad_row_first" else (30, 5)

    def edit(rows: list[list[str]]) -> list[list[str]]:
        rows[bad][0] = "junk"
        rows[nul][1] = "1\x00"
        return rows

    path = _write(tmp_path, order, _with_rows(edit))
    got = _compare(path, biologic_mpt.read_mpt, 4096)
    assert ("junk" in got[1]) == (order == "bad_row_first")


def test_a_long_line_inside_a_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textfile, "CHUNK_BYTES", 150)
    monkeypatch.setattr(textfile, "MAX_LINE_BYTES", 400)
    path = _write(tmp_path, "long", _with_rows(lambda rows: [*rows[:20], "9" * 2000, *rows[20:]]))
    for chunk in CHUNK_SIZES:
        assert "longer than" in _compare(path, biologic_mpt.read_mpt, chunk)[1]


def test_plain_files_take_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons above are not all made on the line-by-line path."""
    calls: list[int] = []
    slow = mpt_rows._line_by_line

    def counted(path: Any, first: int, texts: list[str], layout: Any) -> Any:
        calls.append(len(texts))
        return slow(path, first, texts, layout)

    monkeypatch.setattr(mpt_rows, "_line_by_line", counted)
    for case in ("plain", "decimal_comma", "rising", "nan_rows", "absolute_time", "no_header"):
        assert biologic_mpt.read_mpt(_write(tmp_path, case, CASES[case]()))
    assert calls == []
    biologic_mpt.read_mpt(_write(tmp_path, "junk", CASES["junk_optional"]()))
    assert len(calls) == 1 and calls[0] >= len(_split(CASES["junk_optional"]())[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["cell", "drop", "copy", "blank", "cut", "tab"]),
            st.integers(0, 200),
            st.integers(0, 9),
            st.sampled_from(("1", "2,5", "NaN", "inf", "", " ", "x", "0", "-1", *CELLS)),
        ),
        max_size=6,
    ),
    chunk=st.sampled_from((1, 3, 7, 4096)),
)
def test_random_edits_read_as_before(edits: list[tuple[str, int, int, str]], chunk: int) -> None:
    def edit(rows: list[list[str]]) -> list[Any]:
        for kind, at, column, cell in edits:
            if not rows:
                break
            i = at % len(rows)
            if kind == "cell":
                rows[i][column % len(rows[i])] = cell
            elif kind == "drop":
                del rows[i]
            elif kind == "copy":
                rows.insert(i, rows[i][:])
            elif kind == "blank":
                rows.insert(i, [cell])
            elif kind == "cut":
                rows[i] = rows[i][: column % len(rows[i]) + 1]
            else:
                rows[i].append(cell)
        return rows

    with tempfile.TemporaryDirectory() as folder:
        _compare(_write(Path(folder), "edited", _with_rows(edit)), biologic_mpt.read_mpt, chunk)


_BYTES = st.lists(
    st.sampled_from([b"1.5", b"\t", b"\n", b"\r", b"\r\n", b"\x0c", b"\x0b", b"\x00", b" ",
                     b"\xe9", b"\x85", b"\x81", "\u2028".encode(), "é".encode(), b"abc"]),
    max_size=60,
).map(b"".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    data=_BYTES | st.binary(max_size=80),
    chunk_bytes=st.sampled_from([2, 3, 7, 64]),
    bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
    control=st.booleans(),
)
def test_line_blocks_are_the_lines_of_iter_lines(
    data: bytes, chunk_bytes: int, bom: bytes, control: bool
) -> None:
    """Same lines, numbers and errors, whatever the bytes, encoding and size of a read."""
    options: dict[str, Any] = {} if control else {"control": None}
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(textfile, "CHUNK_BYTES", chunk_bytes)
        patch.setattr(textfile, "MAX_LINE_BYTES", 50)
        path = Path(folder) / "any.txt"
        path.write_bytes(bom + data)
        got = _outcome(lambda: [(first + k, line)
                                for first, lines in sniffing.iter_line_blocks(path, **options)
                                for k, line in enumerate(lines)])  # fmt: skip
        want = _outcome(lambda: list(sniffing.iter_lines(path, **options)))
    assert got == want


# --- the split into spectra ------------------------------------------------------------

_FREQUENCIES = st.sampled_from([1.0, 2.0, 3.0, 10.0, 100.0, 0.0, -1.0, math.nan, math.inf])


@settings(max_examples=300, deadline=None)
@given(
    f=st.lists(_FREQUENCIES, min_size=1, max_size=40),
    groups=st.lists(st.sampled_from([0.0, 1.0, 2.0, math.nan]), min_size=40, max_size=40),
    loops=st.lists(st.integers(-2, 42), max_size=4),
    use_groups=st.booleans(),
)
def test_the_split_into_spectra_is_the_row_by_row_one(
    f: list[float], groups: list[float], loops: list[int], use_groups: bool
) -> None:
    n = len(f)
    run = Run(
        frequency_hz=np.array(f),
        impedance_ohm=np.full(n, 1.0 - 0.5j),
        groups=[np.array(groups[:n])] if use_groups else [],
        loop_starts=loops,
        cycle=np.array(groups[:n]) if use_groups else None,
        line_of=lambda row: row + 7,
    )
    got = _outcome(lambda: run_spectra("run.mpt", run, {"format": "x"}, ["note"]))
    want = _outcome(lambda: _reference_run_spectra("run.mpt", run, {"format": "x"}, ["note"]))
    assert got == want


def test_a_zigzag_sweep_starts_a_spectrum_at_every_other_turn() -> None:
    f = np.array([100.0, 10.0, 100.0, 10.0, 100.0, 10.0, 1.0])
    run = Run(frequency_hz=f, impedance_ohm=np.full(f.size, 1.0 + 0j))
    spectra = run_spectra("zigzag.mpt", run, {}, [])
    assert [s.frequency_hz.tolist() for s in spectra] == [[100.0, 10.0], [100.0, 10.0],
                                                          [100.0, 10.0, 1.0]]  # fmt: skip


# --- conversions -----------------------------------------------------------------------


def test_the_column_conversion_gives_the_doubles_of_float() -> None:
    rng = np.random.default_rng(15)
    values = rng.standard_normal(3000) * 10.0 ** rng.integers(-320, 300, 3000)
    cells = [f"{v:.9E}" for v in values] + [repr(v) for v in values.tolist()]
    cells += ["".join(rng.choice(list("0123456789"), 25)) + "e-" + str(k) for k in range(340)]
    cells += ["4.9e-324", "2.4703282292062328e-324", "1.7976931348623157e308", "1e400",
              "-0", "nan", "-nan", "INF", "-Infinity", " 1.5 ", "5.", "+.5"]  # fmt: skip
    got = mpt_rows._floats(cells)
    want = np.array([float(c) for c in cells])
    assert got is not None and got.dtype == np.float64
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    commas = [c.replace(".", ",") for c in cells]
    got = mpt_rows._floats(commas)
    assert got is not None and np.array_equal(got.view(np.int64), want.view(np.int64))
    repeated = [cells[k % 7] for k in range(1000)]  # converted once per distinct cell
    want = np.array([float(c) for c in repeated])
    got = mpt_rows._floats(repeated)
    assert got is not None and np.array_equal(got.view(np.int64), want.view(np.int64))


def test_text_cells_give_back_every_cell() -> None:
    cells = mpt_rows.TextCells()
    written = [f"{k}.5" for k in range(23)]
    for start in (0, 5, 5, 12, 20):
        cells.extend(written[start : start + 7] if start < 20 else written[20:])
    expected = written[0:7] + written[5:12] + written[5:12] + written[12:19] + written[20:]
    assert len(cells) == len(expected)
    assert [cells[row] for row in range(len(cells))] == expected
    assert [cells[row] for row in reversed(range(len(cells)))] == expected[::-1]
    with pytest.raises(IndexError):
        cells[len(cells)]


@pytest.mark.parametrize("cell", [*CELLS, "1.5", " 2 ", "\xa01", "1\x0c", "", "12,"])
@pytest.mark.parametrize("copies", [1, 300])  # one regex over the column; each distinct cell
def test_a_cell_the_plain_path_accepts_is_a_number_of_sniffing(cell: str, copies: int) -> None:
    """The plain path accepts a subset of what `number` accepts, with the same value."""
    got = mpt_rows._floats([cell] * copies)
    if got is not None:
        value = number(cell, decimal_comma=True)
        assert value is not None
        assert np.array_equal(got, [value] * copies, equal_nan=True)


@pytest.mark.parametrize(
    ("frequency", "impedance"),
    [
        ([1.0, math.inf], [1 + 1j, 2 + 2j]),
        ([1.0, 2.0], [1 + 1j, complex(math.inf, 1.0)]),
        ([1.0, 2.0], [1 + 1j, complex(1.0, -math.inf)]),
        ([1.0, 2.0], [1.0, math.inf]),
        ([1.0, math.nan], [1 + 1j, 2 + 2j]),
        ([1.0, 2.0], [1 + 1j, 2 + 2j]),
        ([2.0, 2.0], [1 + 1j, 2 + 2j]),
    ],
)
@pytest.mark.parametrize("as_array", [False, True])
def test_make_spectrum_checks_infinity_as_before(
    frequency: list[float], impedance: list[complex], as_array: bool
) -> None:
    f, z = (np.array(frequency), np.array(impedance)) if as_array else (frequency, impedance)
    got = _outcome(lambda: [make_spectrum("x.csv", 3, f, z, line=9)])
    want = _outcome(lambda: [_reference_make_spectrum("x.csv", 3, f, z, line=9)])
    assert got == want


# --- real exports and the bundled run --------------------------------------------------


def _biologic_rows() -> list[dict[str, str]]:
    return [r for r in manifest() if "BioLogic EC-Lab .mp" in r["format"]]


@pytest.mark.parametrize("path", sorted((ROOT / "sample_spectra").glob("**/*.mpt")), ids=str)
def test_the_bundled_run_reads_as_before(path: Path) -> None:
    for chunk in (7, 4096):
        assert len(_compare(path, biologic_mpt.read_mpt, chunk)) >= 1


@NO_REAL
@pytest.mark.parametrize("row", _biologic_rows(), ids=row_id)
def test_real_biologic_exports_read_as_before(row: dict[str, str]) -> None:
    path = REAL / row["path"]
    reader = biologic_mpr.read_mpr if ".mpr" in row["format"] else biologic_mpt.read_mpt
    for chunk in (3, 4096):
        _compare(path, reader, chunk)
