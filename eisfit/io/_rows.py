"""Spectra from a table of cells: the engine behind the CSV, spreadsheet and LCR readers.

`spectra_from_rows` takes the rows of a table as (1-based line, cells), the first row
maybe a header, and applies the rules documented in `eisfit.io.csv`'s docstring: the
header (or a ``columns=`` mapping) gives the layout (`eisfit.io._columns`), a headerless
table needs exactly f, Z', Z''; rows with f = 0 are dropped with a warning listing them,
rows with a NaN or infinite value with the shared warning of `eisfit.io._notes`
(``dropped 2 rows with NaN or infinite values (lines 6-7)``), and neither ends a
spectrum: dropped rows belong to the spectrum they interrupt (those before the first
point to the first); a spectrum column, a reversing sweep or a repeated header line
starts a new spectrum, and where the split is a repeated frequency both spectra say so
(``split at line 13: frequency 1000 Hz repeats line 12``); a negative frequency or a
frequency repeated inside one spectrum (possible with a spectrum column) is a
`ReadError` naming the lines.  The rows are consumed one at a time, so a reader that
produces them lazily stops reading at the first row that cannot be a table row.  A Z''
column found by its name (or the third column of a headerless table) that is positive
over a whole capacitive-looking spectrum is read as written, with a warning
(`sign_warning`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from ..errors import ReadError
from ..spectrum import Spectrum
from ._columns import Layout, layout_from_header, layout_from_mapping, point
from ._notes import dropped_note, repeat_note
from .sniffing import make_spectrum, monotonic, number

__all__ = ["Cell", "sign_warning", "spectra_from_rows"]

Cell = str | float | None


@dataclass
class _Block:
    rows: list[tuple[int, float, complex]] = field(default_factory=list)
    group: float | None = None
    dropped: list[str] = field(default_factory=list)  # f = 0 rows, "line 4: f = 0 Hz"
    nonfinite: list[int] = field(default_factory=list)  # lines of NaN / infinite rows
    notes: list[str] = field(default_factory=list)  # splits at a repeated frequency

    def empty(self) -> bool:
        return not (self.rows or self.dropped or self.nonfinite)


def spectra_from_rows(
    path: str | Path,
    rows: Iterable[tuple[int, Sequence[Cell]]],
    *,
    decimal_comma: bool,
    columns: Mapping[str, str | int] | None = None,
    phase_unit: str | None = None,
    extra: Mapping[str, Any] | None = None,
    context: str = "",
) -> list[Spectrum]:
    """Spectra from a table: ``rows`` of (1-based line, cells), the first maybe a header.

    Shared by the text, spreadsheet and LCR readers.  ``context`` prefixes messages
    (``"sheet 'A': "``).  ``rows`` may be a lazy iterator: it is read once, in order, and
    the first row that is not a table row raises before the rest is read.
    """
    items = iter(rows)
    head = next(items, None)
    if head is None:
        raise ReadError(path, f"{context}no header and no data rows")
    first_line, first = head
    if len(first) < 3:
        message = f"found {len(first)} column(s), need at least 3 (frequency and two for Z)"
        raise ReadError(path, context + message, line=first_line)
    second = next(items, None)
    if columns is None and second is None and not all(_value(c, False) is not None for c in first):
        raise ReadError(path, f"{context}header row but no data rows", line=first_line)
    headerless = all(_value(cell, decimal_comma) is not None for cell in first)
    header = None if headerless else tuple(str(c or "").strip() for c in first)
    try:
        if columns is not None:
            layout = layout_from_mapping(columns, header, len(first), phase_unit)
        elif header is None:
            if len(first) != 3:
                message = f"no header, so exactly 3 columns are needed, found {len(first)}"
                raise ValueError(message + "; add a header or pass columns=...")
            layout = layout_from_mapping({"frequency": 0, "real": 1, "imag": 2}, None, 3, None)
        else:
            layout = layout_from_header(header, phase_unit)
    except ValueError as exc:
        raise ReadError(path, f"{context}{exc}", line=first_line) from None
    data = chain([head] if header is None else [], [] if second is None else [second], items)
    blocks = [_Block()]
    for line, cells in data:
        if header is not None and tuple(str(c or "").strip() for c in cells) == header:
            blocks.append(_Block())
            continue
        try:
            f, z, group = point(layout, [_value(c, decimal_comma) for c in cells], cells)
        except ValueError as exc:
            raise ReadError(path, f"{context}{exc}", line=line) from None
        _add(path, blocks, line, f, z, group, context)
    return _build(path, blocks, layout, extra, context, check_sign=columns is None)


def _add(
    path: str | Path,
    blocks: list[_Block],
    line: int,
    f: float,
    z: complex,
    group: float | None,
    context: str,
) -> None:
    """Put one row into the current spectrum, or start the next one (rules: docstring)."""
    block = blocks[-1]
    finite = math.isfinite(f) and math.isfinite(z.real) and math.isfinite(z.imag)
    if not block.empty() and _starts_new(block, f, group, finite):
        if group is None and f == block.rows[-1][1]:
            note = repeat_note(line, f, block.rows[-1][0])
            block.notes.append(note)
            blocks.append(_Block(group=group, notes=[note]))
        else:
            blocks.append(_Block(group=group))
    elif block.empty():
        block.group = group
    if not finite:
        blocks[-1].nonfinite.append(line)
    elif f == 0:
        blocks[-1].dropped.append(f"line {line}: f = 0 Hz")
    elif f < 0:
        message = f"{context}frequency must be > 0 Hz, found {f:g}"
        raise ReadError(path, message, line=line)
    else:
        blocks[-1].rows.append((line, f, z))


def _value(cell: Cell, decimal_comma: bool) -> float | None:
    if cell is None:
        return math.nan
    if isinstance(cell, float | int):
        return float(cell)
    return math.nan if not cell.strip() else number(cell, decimal_comma=decimal_comma)


def _starts_new(block: _Block, frequency: float, group: float | None, finite: bool) -> bool:
    """Whether a row begins a new spectrum after the rows of ``block``."""
    if group is not None:
        return group != block.group
    if not finite or frequency == 0 or not block.rows:
        return False
    return not monotonic([f for _, f, _ in block.rows[-2:]] + [frequency])


def _build(
    path: str | Path,
    blocks: list[_Block],
    layout: Layout,
    extra: Mapping[str, Any] | None,
    context: str,
    *,
    check_sign: bool,
) -> list[Spectrum]:
    dropped = [d for block in blocks for d in block.dropped]
    dropped += [f"line {n}: NaN or infinite value" for block in blocks for n in block.nonfinite]
    kept: list[_Block] = []
    pending = _Block()  # dropped rows of a block without points join a neighbour
    for block in blocks:
        if block.rows:
            block.dropped[:0], block.nonfinite[:0] = pending.dropped, pending.nonfinite
            block.notes[:0], pending = pending.notes, _Block()
            kept.append(block)
        else:
            pending.dropped += block.dropped
            pending.nonfinite += block.nonfinite
            pending.notes += block.notes
    if kept:
        kept[-1].dropped += pending.dropped
        kept[-1].nonfinite += pending.nonfinite
    blocks = kept
    if not blocks:
        why = f" ({len(dropped)} rows dropped: {dropped[0]}...)" if dropped else ""
        raise ReadError(path, f"{context}no impedance data rows{why}")
    out = []
    for index, block in enumerate(blocks):
        seen: dict[float, int] = {}
        for line, f, _ in block.rows:
            if f in seen:
                message = f"{context}spectrum {index}: frequency {f:g} Hz repeats line {seen[f]}"
                raise ReadError(path, message, line=line)
            seen[f] = line
        warnings = []
        if block.dropped:
            shown = "; ".join(block.dropped[:3]) + ("; ..." if len(block.dropped) > 3 else "")
            warnings.append(f"dropped {len(block.dropped)} row(s) that are not points: {shown}")
        if block.nonfinite:
            warnings.append(dropped_note(block.nonfinite))
        warnings += list(dict.fromkeys(block.notes))
        imag = layout.columns.get("imag")
        if check_sign and imag is not None and imag.sign > 0:
            note = sign_warning(imag.name, [f for _, f, _ in block.rows],
                                [z.imag for _, _, z in block.rows])  # fmt: skip
            warnings += [note] if note else []
        out.append(
            make_spectrum(
                path,
                index,
                [f for _, f, _ in block.rows],
                [z for _, _, z in block.rows],
                line=block.rows[0][0],
                extra={**(extra or {}), "columns": layout.names, "warnings": tuple(warnings)},
            )
        )
    return out


def sign_warning(name: str, frequency_hz: Sequence[float], imag_ohm: Sequence[float]) -> str:
    """A warning when the Z'' column ``name`` (read with its sign as written) looks like -Z''.

    Every value positive (3 points or more) while the largest is not at the highest
    frequency: an inductor's Z'' = 2 pi f L rises with frequency, so this is a capacitive
    spectrum written as -Z'' under a name without the minus.  The data are not changed
    (no sign is guessed, as for headerless tables, see `eisfit.io.csv`); "" otherwise.
    """
    if len(imag_ohm) < 3 or min(imag_ohm) <= 0:
        return ""
    top = max(range(len(imag_ohm)), key=lambda i: imag_ohm[i])
    if frequency_hz[top] == max(frequency_hz):
        return ""
    fix = f"name it '-{name}'" if not name.startswith("column ") else "add a header"
    return (
        f"every value in the {name!r} column is positive, as -Z'' is on a capacitive arc; "
        "it was read as written (Z'' > 0: inductive), since the name does not say -Z''; "
        f"if the column holds -Z'', {fix} or pass columns={{'-imag': ...}}"
    )
