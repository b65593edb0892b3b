"""What the BioLogic .mpt and .mpr readers share: splitting a run into spectra, dates.

An EC-Lab / BT-Lab run is a table of rows in acquisition order.  Both readers turn their
file into a `Run` (all rows, impedance with the physical sign) and call `run_spectra`:

* Rows that are not impedance points are dropped: f = 0 (rows of the other techniques of
  a modular sequence: OCV, CA, GCPL... write f = 0), f < 0, or a NaN / non-finite value.
  Dropped rows do not end a spectrum by themselves: a sweep interrupted by NaN or
  infinite rows stays one spectrum (issue 13).  The f = 0 and f < 0 rows are counted in
  a warning on every spectrum of the file; the NaN / infinite ones in a warning on the
  spectrum they belong to, naming their lines (records of an .mpr): ``dropped 3 rows
  with NaN or infinite values (lines 15-17)`` (wording: `eisfit.io._notes`).
* A new spectrum starts where ``cycle number``, ``z cycle`` or ``Ns`` (technique index in
  a sequence) changes, at every loop start written by EC-Lab (the ``Loop k from point
  number a to b`` lines of an .mpt, the ``VMP loop`` module of an .mpr), also when the
  change or loop start falls on a dropped row, and where the frequency sweep breaks: the
  first two points of a spectrum set its direction (falling or rising), and a point that
  goes the other way, or repeats the previous frequency, starts the next spectrum.  So
  the EIS blocks of a modular sequence separate where the next sweep restarts, even
  without an ``Ns`` column.  A repeated frequency is never dropped: it begins a new
  spectrum (EC-Lab never repeats one inside a sweep; a loop of single-frequency
  measurements gives one spectrum per point), and both spectra say so: ``split at line
  13: frequency 1000 Hz repeats line 12``.
* ``meta.timestamp`` is the time of the spectrum's first point (acquisition start plus its
  ``time/s``); ``meta.cycle`` its ``cycle number`` (else ``z cycle``); ``meta.temperature_k``
  the median of a ``Temperature/°C`` column when it reads between -150 and 1000 C.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ReadError
from ..spectrum import Spectrum
from ._notes import dropped_note, owners, repeat_note
from .sniffing import make_spectrum

__all__ = [
    "Run",
    "add_seconds",
    "complex_array",
    "ole_datetime",
    "parse_eclab_datetime",
    "run_spectra",
]

# EC-Lab writes dates month first whatever the separator ("08.27.2015", "01/10/2024",
# "04-05-24"), with optional fractional seconds; yadg's mpt extractor accepts the same
# four patterns (%m/%d/%Y, %m.%d.%Y, %m-%d-%Y, with .%f).
_DATETIME = re.compile(
    r"\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*$"
)
_OLE_EPOCH = datetime(1899, 12, 30)  # day 0 of the OLE Automation (Excel) date


@dataclass(frozen=True)
class Run:
    """All rows of one BioLogic file in acquisition order, with what splits them."""

    frequency_hz: np.ndarray  # float, every row (f = 0 rows included)
    impedance_ohm: np.ndarray  # complex, physical sign
    groups: Sequence[np.ndarray] = ()  # columns whose change starts a new spectrum
    loop_starts: Sequence[int] = ()  # row indices where EC-Lab says a loop starts
    cycle: np.ndarray | None = None  # cycle number of each row
    temperature_c: np.ndarray | None = None
    timestamp_of: Callable[[int], datetime | None] = field(default=lambda row: None)
    line_of: Callable[[int], int | None] = field(default=lambda row: None)


def run_spectra(
    path: str | Path, run: Run, extra: Mapping[str, Any], warnings: Sequence[str]
) -> list[Spectrum]:
    """Split ``run`` into spectra (rules: module docstring) and build them."""
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
    rows, bounds, own = _blocks(run, valid)
    firsts = rows[bounds[:-1]].tolist()  # the first row of each spectrum
    place = _placer(run)
    nan_rows = np.flatnonzero(~finite).tolist()
    for row, owner in zip(nan_rows, owners(firsts, nan_rows), strict=True):
        own[owner].append(("nan", row, row))
    temperature_k, temperature_note = _temperature(run.temperature_c, valid)
    if temperature_note:
        notes.append(temperature_note)
    shared = tuple(notes)
    cycles = run.cycle[firsts].tolist() if run.cycle is not None else [math.nan] * len(firsts)
    f_points, z_points = f[rows], z[rows]
    spectra = []
    for index, (first, cycle) in enumerate(zip(firsts, cycles, strict=True)):
        a, b = bounds[index], bounds[index + 1]
        spectra.append(
            make_spectrum(
                path,
                index,
                f_points[a:b],
                z_points[a:b],
                line=run.line_of(first),
                timestamp=run.timestamp_of(first),
                cycle=round(cycle) if math.isfinite(cycle) else None,
                temperature_k=temperature_k,
                extra={**extra, "warnings": shared + _own_notes(own[index], f, place)},
            )
        )
    return spectra


Event = tuple[str, int, int]  # ("nan", row, row) or ("repeat", row, previous row)


def _blocks(run: Run, valid: np.ndarray) -> tuple[np.ndarray, list[int], list[list[Event]]]:
    """The spectra: the valid rows (in order), where each spectrum starts among them and
    where the last ends (spectrum ``k`` is ``rows[bounds[k]:bounds[k + 1]]``), and each
    spectrum's own events: ("repeat", row, previous) where a repeated frequency split it
    from its neighbour (on both spectra)."""
    f = run.frequency_hz
    n = f.size
    start = np.zeros(n, dtype=bool)
    for column in run.groups:
        column = _carried(column)  # a NaN row (all columns NaN) keeps its cycle: no change
        same = (column[1:] == column[:-1]) | (np.isnan(column[1:]) & np.isnan(column[:-1]))
        start[1:] |= ~same
    for row in run.loop_starts:
        if 0 < row < n:
            start[row] = True
    marks = np.cumsum(start)  # a change on a dropped row still starts the next spectrum
    rows = np.flatnonzero(valid)
    starts, repeat = _starts(f[rows], marks[rows])
    bounds = [*np.flatnonzero(starts).tolist(), rows.size]
    own: list[list[Event]] = [[] for _ in bounds[1:]]
    block_of = np.cumsum(starts) - 1
    for i in np.flatnonzero(repeat).tolist():
        event = ("repeat", int(rows[i]), int(rows[i - 1]))
        own[block_of[i] - 1].append(event)
        own[block_of[i]].append(event)
    return rows, bounds, own


def _starts(points: np.ndarray, mark: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which points (frequencies in acquisition order, with their marks) start a spectrum,
    and which of those start one by repeating the previous frequency.

    A spectrum starts at the first point, where the mark changes, where the frequency
    repeats, and where the sweep breaks.  A spectrum's direction is that of its first
    step, and every later step goes the same way, so point ``i`` breaks the sweep exactly
    when its step turns (``up[i] != up[i - 1]``) and point ``i - 1`` did not start a
    spectrum.  In a run of consecutive turns (a zigzag) the starts thus alternate: on the
    run's even offsets when the point before the run continues a spectrum, on its odd
    offsets when it starts one, which (not being a turn) it does exactly when it is a
    forced start (first point, new mark, repeat).
    """
    size = points.size
    new_mark = mark[1:] != mark[:-1]
    repeat = np.zeros(size, dtype=bool)
    repeat[1:] = ~new_mark & (points[1:] == points[:-1])
    forced = repeat.copy()
    forced[0] = True
    forced[1:] |= new_mark
    up = np.zeros(size, dtype=bool)
    up[1:] = points[1:] > points[:-1]
    turn = np.zeros(size, dtype=bool)
    turn[2:] = (up[2:] != up[1:-1]) & ~forced[2:]
    index = np.arange(size)
    run_start = turn.copy()
    run_start[1:] &= ~turn[:-1]
    first = np.maximum.accumulate(np.where(run_start, index, 0))  # of each run of turns
    even = (index - first) % 2 == 0
    starts = forced | (turn & (even != forced[np.maximum(first - 1, 0)]))
    return starts, repeat


def _carried(column: np.ndarray) -> np.ndarray:
    """``column`` with every NaN replaced by the last value before it (leading NaN kept)."""
    values = np.asarray(column, dtype=float)
    index = np.where(np.isnan(values), 0, np.arange(values.size))
    np.maximum.accumulate(index, out=index)
    return values[index]


def _placer(run: Run) -> Callable[[int], tuple[str, int]]:
    """Where a row is, for a warning: its line in a text file, else its record number."""

    def place(row: int) -> tuple[str, int]:
        line = run.line_of(row)
        return ("line", line) if line is not None else ("record", row + 1)

    return place


def _own_notes(
    events: list[Event], f: np.ndarray, place: Callable[[int], tuple[str, int]]
) -> tuple[str, ...]:
    """The warnings of one spectrum: its NaN / infinite rows, the repeats that split it."""
    nan_rows = [row for kind, row, _ in events if kind == "nan"]
    out = []
    if nan_rows:
        unit = place(nan_rows[0])[0]
        out.append(dropped_note([place(row)[1] for row in nan_rows], unit=unit))
    for kind, row, previous in events:
        if kind == "repeat":
            unit, where = place(row)
            out.append(repeat_note(where, float(f[row]), place(previous)[1], unit=unit))
    return tuple(out)


def _temperature(values: np.ndarray | None, valid: np.ndarray) -> tuple[float | None, str]:
    if values is None:
        return None, ""
    readings = values[valid & np.isfinite(values)]
    if readings.size == 0:
        return None, ""
    median = float(np.median(readings))
    if -150.0 < median < 1000.0:
        return median + 273.15, ""
    return None, f"temperature column reads {median:g} °C: implausible, not used"


def parse_eclab_datetime(text: str) -> tuple[datetime | None, str]:
    """An EC-Lab date-time (month first, see `_DATETIME`) and a warning ("" when fine).

    A first number above 12 is taken as the day (day-first locale), with a warning.
    Placeholders (``xx/xx/xxxx``, ``DD/MM/YYYY``) and impossible dates give None.
    """
    match = _DATETIME.match(text)
    if not match:
        return None, f"acquisition start {text.strip()!r} is not a date: no timestamps"
    a, _, b, year, hour, minute, second, fraction = match.groups()
    month, day = int(a), int(b)
    note = ""
    if month > 12 >= day:
        month, day = day, month
        note = f"acquisition start {text.strip()!r} read day first"
    year_value = int(year) + (2000 if len(year) == 2 else 0)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(
            year_value, month, day, int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:
        return None, f"acquisition start {text.strip()!r} is not a valid date: no timestamps"
    return value, note


def ole_datetime(days: float) -> datetime | None:
    """An OLE Automation date (days since 1899-12-30), rounded to the millisecond."""
    if not 0.0 < days < 2958465.0:  # up to 9999-12-31
        return None
    milliseconds = round(days * 86_400_000)
    return _OLE_EPOCH + timedelta(milliseconds=milliseconds)


def complex_array(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """``real + j imag`` without arithmetic (no warnings for inf or NaN parts)."""
    out = np.empty(real.shape, dtype=complex)
    out.real, out.imag = real, imag
    return out


def add_seconds(start: datetime | None, seconds: float) -> datetime | None:
    """``start`` plus ``seconds`` (None when either is unknown or not finite)."""
    if start is None or not np.isfinite(seconds) or abs(seconds) > 1e10:
        return None
    return start + timedelta(seconds=float(seconds))
