"""What the vendor text readers share: a table row as a `Point`, and building the spectra.

Used by `eisfit.io.zview`, `autolab`, `princeton`, `chi` and `p00`.  Their text comes
from `eisfit.io.sniffing.iter_lines` (UTF-8, cp1252, latin-1, UTF-16 with a BOM; a
control character means "not text": `ReadError` with the line), read as they go, so a
file of something else is refused at its first line that is not a data row.  Each
reader finds its columns, turns every data row into a `Point` (`row_point`, or `number`
field by field) and calls `build_spectra`, which applies the common rules:

* Rows with f <= 0 are dropped with a warning in ``meta.extra["warnings"]`` of every
  spectrum (``dropped 20 row(s) with f <= 0 (not impedance)``: rows of other
  techniques); rows with a NaN or infinite value are dropped without ending the sweep
  they interrupt, with a warning naming their lines on that spectrum (``dropped 2 rows
  with NaN or infinite values (lines 13-14)``, wording of `eisfit.io._notes`).
* Several sweeps in one table are split where the sweep direction reverses or a
  frequency repeats (so no spectrum holds a duplicate frequency), each a `Spectrum` with
  ``meta.index`` 0..n-1; a split at a repeated frequency is named on both spectra
  (``split at line 13: frequency 1000 Hz repeats line 12``).
* ``meta.timestamp`` is the start written in the header plus the elapsed time of the
  spectrum's first point, where the file has both; that elapsed time (s, or None) is kept
  in ``meta.extra["elapsed_s"]``.
* A file announcing more points than it holds (one sweep) reads with an "aborted run"
  warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ReadError
from ..spectrum import Spectrum
from ._notes import dropped_note, owners, repeat_note
from .sniffing import make_spectrum, monotonic
from .sniffing import number as parse_float

__all__ = ["Field", "Point", "build_spectra", "number", "row_point"]

Field = tuple[int, str]  # (0-based field index, column name used in error messages)


@dataclass(frozen=True)
class Point:
    """One table row: where it was, f, Z (physical sign), elapsed time if written."""

    line: int
    frequency_hz: float
    impedance_ohm: complex
    elapsed_s: float | None = None


def number(text: str, path: str | Path, line: int, what: str, *, comma: bool = False) -> float:
    """``text`` as a float (NaN/inf allowed); `ReadError` naming the column if it is not one."""
    value = parse_float(text, decimal_comma=comma)
    if value is None:
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:37] + "..."
        raise ReadError(path, f"non-numeric value {shown!r} in the {what} column", line=line)
    return value


def row_point(
    path: str | Path,
    line: int,
    fields: Sequence[str],
    columns: Sequence[Field],
    *,
    elapsed: Field | None = None,
    comma: bool = False,
    im_sign: float = 1.0,
    expected: str | None = None,
) -> Point:
    """The `Point` of one row whose ``columns`` hold f (Hz), Z' and Z'' (ohm).

    ``elapsed``: the column of the elapsed time (s), if any; ``im_sign`` -1.0 for a column
    holding -Z''; ``comma``: decimal commas allowed.  A row too short for these columns
    raises `ReadError` "expected N or more fields" (``expected`` replaces "N or more
    fields"); a field that is not a number raises `ReadError` naming its column.
    """
    needed = max(index for index, _ in (*columns, *((elapsed,) if elapsed else ()))) + 1
    if len(fields) < needed:
        message = f"expected {expected or f'{needed} or more fields'}, found {len(fields)}"
        raise ReadError(path, message, line=line)
    f, re_, im = (number(fields[index], path, line, name, comma=comma) for index, name in columns)
    time = None
    if elapsed is not None:
        time = number(fields[elapsed[0]], path, line, elapsed[1], comma=comma)
    return Point(line, f, complex(re_, im_sign * im), time)


def build_spectra(
    path: str | Path,
    points: Sequence[Point],
    extra: dict[str, Any],
    *,
    start: datetime | None = None,
    expected_points: int | None = None,
    warnings: Sequence[str] = (),
    temperature_k: float | None = None,
) -> list[Spectrum]:
    """Drop non-impedance rows, split sweeps and build the spectra (see module docstring)."""
    notes = list(warnings)
    nonpositive = sum(1 for p in points if _finite_point(p) and p.frequency_hz <= 0)
    if nonpositive:
        notes.append(f"dropped {nonpositive} row(s) with f <= 0 (not impedance)")
    blocks: list[list[Point]] = []
    own: list[list[str]] = []  # each spectrum's own warnings
    nan_lines: list[int] = []
    for point in points:
        if not _finite_point(point):
            nan_lines.append(point.line)
            continue
        if point.frequency_hz <= 0:
            continue
        if not blocks or _starts_new(blocks[-1], point):
            if blocks and point.frequency_hz == blocks[-1][-1].frequency_hz:
                note = repeat_note(point.line, point.frequency_hz, blocks[-1][-1].line)
                own[-1].append(note)
                own.append([note])
            else:
                own.append([])
            blocks.append([])
        blocks[-1].append(point)
    if not blocks:
        raise ReadError(path, "no impedance data rows (need f > 0 and finite Z)")
    by_owner: dict[int, list[int]] = {}
    for line, owner in zip(nan_lines, owners([b[0].line for b in blocks], nan_lines), strict=True):
        by_owner.setdefault(owner, []).append(line)
    for owner, lines in by_owner.items():
        own[owner].insert(0, dropped_note(lines))
    if expected_points and len(blocks) == 1 and len(points) < expected_points:
        notes.append(f"aborted run: {len(points)} of {expected_points} points (or truncated file)")
    spectra = []
    for index, block in enumerate(blocks):
        stamp = start
        if start is not None and block[0].elapsed_s is not None:
            try:
                stamp = start + timedelta(seconds=block[0].elapsed_s)
            except (OverflowError, ValueError):
                stamp = start
        spectra.append(
            make_spectrum(
                path,
                index,
                [p.frequency_hz for p in block],
                [p.impedance_ohm for p in block],
                line=block[0].line,
                timestamp=stamp,
                temperature_k=temperature_k,
                extra={
                    **extra,
                    "elapsed_s": block[0].elapsed_s,
                    "warnings": (*notes, *own[index]),
                },
            )
        )
    return spectra


def _finite_point(point: Point) -> bool:
    z = point.impedance_ohm
    return math.isfinite(point.frequency_hz) and math.isfinite(z.real) and math.isfinite(z.imag)


def _starts_new(block: list[Point], point: Point) -> bool:
    return not monotonic([p.frequency_hz for p in block[-2:]] + [point.frequency_hz])
