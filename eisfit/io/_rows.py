"""Spectra from a table of cells: the engine behind the CSV, spreadsheet and LCR readers.

`spectra_from_rows` takes the rows of a table as (1-based line, cells), the first row
maybe a header, and applies the rules documented in `eisfit.io.csv`'s docstring: the
header (or a ``columns=`` mapping) gives the layout (`eisfit.io._columns`), a headerless
table needs exactly f, Z', Z''; rows with f = 0 or NaN are dropped with a warning; a
spectrum column, a reversing sweep or a repeated header line starts a new spectrum; a
negative frequency, an infinite value or a frequency repeated inside one spectrum is a
`ReadError` naming the line.  A Z'' column found by its name (or the third column of a
headerless table) that is positive over a whole capacitive-looking spectrum is read as
written, with a warning (`sign_warning`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ReadError
from ..spectrum import Spectrum
from ._columns import Layout, layout_from_header, layout_from_mapping, point
from .sniffing import make_spectrum, monotonic, number

__all__ = ["Cell", "sign_warning", "spectra_from_rows"]

Cell = str | float | None


@dataclass
class _Block:
    rows: list[tuple[int, float, complex]] = field(default_factory=list)
    group: float | None = None
    dropped: list[str] = field(default_factory=list)


def spectra_from_rows(
    path: str | Path,
    rows: Sequence[tuple[int, Sequence[Cell]]],
    *,
    decimal_comma: bool,
    columns: Mapping[str, str | int] | None = None,
    phase_unit: str | None = None,
    extra: Mapping[str, Any] | None = None,
    context: str = "",
) -> list[Spectrum]:
    """Spectra from a table: ``rows`` of (1-based line, cells), the first maybe a header.

    Shared by the text, spreadsheet and LCR readers.  ``context`` prefixes messages
    (``"sheet 'A': "``).
    """
    if not rows:
        raise ReadError(path, f"{context}no header and no data rows")
    first_line, first = rows[0]
    if len(first) < 3:
        message = f"found {len(first)} column(s), need at least 3 (frequency and two for Z)"
        raise ReadError(path, context + message, line=first_line)
    if columns is None and len(rows) == 1 and not all(_value(c, False) is not None for c in first):
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
    blocks = [_Block()]
    for line, cells in rows if header is None else rows[1:]:
        if header is not None and tuple(str(c or "").strip() for c in cells) == header:
            blocks.append(_Block())
            continue
        try:
            f, z, group = point(layout, [_value(c, decimal_comma) for c in cells], cells)
        except ValueError as exc:
            raise ReadError(path, f"{context}{exc}", line=line) from None
        block = blocks[-1]
        if (block.rows or block.dropped) and _starts_new(block, f, group):
            blocks.append(_Block(group=group))
        elif not (block.rows or block.dropped):
            block.group = group
        if math.isnan(f) or math.isnan(z.real) or math.isnan(z.imag):
            blocks[-1].dropped.append(f"line {line}: NaN value")
        elif f == 0:
            blocks[-1].dropped.append(f"line {line}: f = 0 Hz")
        elif f < 0:
            message = f"{context}frequency must be > 0 Hz, found {f:g}"
            raise ReadError(path, message, line=line)
        else:
            blocks[-1].rows.append((line, f, z))
    return _build(path, blocks, layout, extra, context, check_sign=columns is None)


def _value(cell: Cell, decimal_comma: bool) -> float | None:
    if cell is None:
        return math.nan
    if isinstance(cell, float | int):
        return float(cell)
    return math.nan if not cell.strip() else number(cell, decimal_comma=decimal_comma)


def _starts_new(block: _Block, frequency: float, group: float | None) -> bool:
    """Whether a row begins a new spectrum after the rows of ``block``."""
    if group is not None:
        return group != block.group
    if math.isnan(frequency) or frequency == 0 or not block.rows:
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
    kept: list[_Block] = []
    pending: list[str] = []  # dropped rows of a block without points join a neighbour
    for block in blocks:
        if block.rows:
            block.dropped[:0], pending = pending, []
            kept.append(block)
        else:
            pending += block.dropped
    if kept:
        kept[-1].dropped += pending
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
