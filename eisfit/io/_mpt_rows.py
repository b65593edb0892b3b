"""The data rows of an EC-Lab .mpt export, read a chunk of lines at a time (`read_rows`).

An .mpt data section is a tab-separated table of numbers, one row per line, often
10^5 - 10^6 rows.  Reading it one cell at a time in Python cost about 11 of the 16 s of a
profiled read of 10^4 spectra (issue 15), so the lines are taken `CHUNK_LINES` at a time
(memory stays bounded: one chunk of lines, plus the columns kept: 8 bytes per row and
column, and the ``time/s`` cells) and each chunk goes one of two ways, with the same
result:

* **plain chunk**: every row has as many fields as the chunk's first row (at least one
  more than the last wanted column), and every cell of a wanted numeric column is a
  number.  This is checked with one regular expression over the chunk's text (`_row_re`),
  then the chunk is split into fields at once and each numeric column is converted with
  Python's ``float`` into a numpy array (`_floats`): the same doubles as the line-by-line
  path, which converts with ``float`` too (checked in ``tests/test_mpt_fast.py``).
  A cell is accepted when it is a number as `eisfit.io.sniffing.number` with
  ``decimal_comma=True`` reads one (``1.5``, ``-2e-3``, ``1,5``, ``.5``, ``5.``, ``nan``,
  ``inf``, ``infinity`` in any ASCII case), with spaces around it; anything else (a
  non-ASCII space, an empty cell) makes the chunk not plain.  Trailing blank lines (the
  file's final line end) are skipped, as the line-by-line path skips every blank line.
* **any other chunk** (a short or blank row inside it, a cell that is not a number, an
  optional column missing or not numeric, rows of different widths) is read line by
  line, as the reader always did: a required cell that is not a number raises
  `ReadError` naming its line and column, a short row says how many fields it lacks, an
  optional cell that is not a number (``cycle number``, ``Temperature/°C``...) reads NaN.

A `ReadError` that `iter_lines` raises while a chunk is taken (a control character, an
over-long line) is raised after the lines before it were read, so that an error in
those lines is reported first, as when the lines were read one by one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from ..errors import ReadError
from .sniffing import number

__all__ = ["CHUNK_LINES", "REQUIRED", "Rows", "read_rows"]

CHUNK_LINES = 4096  # lines read and converted at once
REQUIRED = ("frequency", "real", "minus_imag", "imag")  # a bad cell here is an error
_NOT_NUMERIC = ("time", "stack_real", "stack_minus_imag")

# `sniffing._NUMBER` after ``number``'s strip and comma-to-dot replacement, ASCII letters
# only, every quantifier possessive: a cell can be matched one way only, so a failing
# chunk fails in time linear in its length (no backtracking over earlier rows).
_NUMBER = (
    r"[+-]?+(?:(?:[0-9]++(?:[.,][0-9]*+)?+|[.,][0-9]++)(?:[eE][+-]?+[0-9]++)?+"
    r"|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?+)"
)
_NUMERIC_CELL = rf" *+{_NUMBER} *+"
_ANY_CELL = r"[^\t\n]*+"


@dataclass(frozen=True)
class Rows:
    """The data rows of one file: each numeric column (NaN where an optional cell is not a
    number), the ``time/s`` cells as written (not stripped; [] without that column), and
    the 1-based line of each row."""

    values: Mapping[str, np.ndarray]
    times: Sequence[str]
    line_numbers: np.ndarray


@dataclass(frozen=True)
class _Layout:
    """Which columns a row must provide (from the column header)."""

    columns: Mapping[str, int]  # role -> field index
    names: Sequence[str]  # column names, for messages
    numeric: tuple[str, ...]  # roles converted to float, in column-header order
    needed: int  # a row with fewer fields is truncated (one past the last required column)
    last: int  # the last field any role reads


@dataclass(frozen=True)
class _Part:
    values: Mapping[str, np.ndarray]
    times: list[str]
    line_numbers: np.ndarray


def read_rows(
    path: str | Path,
    lines: Iterator[tuple[int, str]],
    columns: Mapping[str, int],
    names: Sequence[str],
) -> Rows:
    """Every data row left in ``lines`` (``(line number, text)`` from `iter_lines`), with
    the columns of ``columns`` (role -> field index; ``names``: the column names)."""
    layout = _layout(columns, names)
    values: dict[str, list[np.ndarray]] = {role: [] for role in layout.numeric}
    times: list[str] = []
    line_numbers: list[np.ndarray] = []
    for chunk, error in _chunks(lines):
        if chunk:
            part = _plain(chunk, layout) or _line_by_line(path, chunk, layout)
            for role, column in part.values.items():
                values[role].append(column)
            times.extend(part.times)
            line_numbers.append(part.line_numbers)
        if error is not None:
            raise error
    return Rows(
        values={role: _concatenate(parts, float) for role, parts in values.items()},
        times=times,
        line_numbers=_concatenate(line_numbers, np.int64),
    )


def _layout(columns: Mapping[str, int], names: Sequence[str]) -> _Layout:
    numeric = tuple(role for role in columns if role not in _NOT_NUMERIC)
    needed = max(columns[role] for role in REQUIRED if role in columns) + 1
    used = [columns[role] for role in (*numeric, "time") if role in columns]
    return _Layout(dict(columns), list(names), numeric, needed, max(used))


def _chunks(
    lines: Iterator[tuple[int, str]],
) -> Iterator[tuple[list[tuple[int, str]], ReadError | None]]:
    """``lines`` in lists of `CHUNK_LINES`, each with the `ReadError` that ended the
    iteration after its lines (None while the lines go on)."""
    while True:
        chunk: list[tuple[int, str]] = []
        try:
            for item in islice(lines, CHUNK_LINES):
                chunk.append(item)
        except ReadError as error:
            yield chunk, error
            return
        yield chunk, None
        if len(chunk) < CHUNK_LINES:
            return


def _plain(chunk: list[tuple[int, str]], layout: _Layout) -> _Part | None:
    """The rows of a plain chunk (module docstring), or None when it is not plain.

    A plain chunk has no blank line but at its end, so its rows are on consecutive lines
    (`iter_lines` numbers every line), from the chunk's first line on.
    """
    texts = [text for _, text in chunk]
    n = len(texts)
    while n and not texts[n - 1].strip():
        n -= 1
    del texts[n:]
    if n == 0:
        empty = np.empty(0)
        return _Part({role: empty for role in layout.numeric}, [], np.empty(0, np.int64))
    width = texts[0].count("\t") + 1
    if width <= layout.last:
        return None
    text = "\n".join(texts)
    numeric_fields = frozenset(layout.columns[role] for role in layout.numeric)
    if not _row_re(width, numeric_fields).fullmatch(text):
        return None
    fields = text.replace("\n", "\t").split("\t")
    comma = "," in text
    values = {
        role: _floats(fields[layout.columns[role] :: width], comma=comma) for role in layout.numeric
    }
    times = fields[layout.columns["time"] :: width] if "time" in layout.columns else []
    return _Part(values, times, np.arange(chunk[0][0], chunk[0][0] + n, dtype=np.int64))


@functools.lru_cache(maxsize=32)
def _row_re(width: int, numeric_fields: frozenset[int]) -> re.Pattern[str]:
    """Lines of exactly ``width`` tab-separated fields, those of ``numeric_fields`` numbers,
    joined by LF."""
    row = "\t".join(_NUMERIC_CELL if i in numeric_fields else _ANY_CELL for i in range(width))
    return re.compile(rf"(?:{row}\n)*+{row}")


def _floats(cells: list[str], *, comma: bool) -> np.ndarray:
    """Cells already checked to be numbers (`_NUMBER`) as floats; ``comma``: some cell of
    the chunk may hold a decimal comma."""
    if comma:
        cells = "\n".join(cells).replace(",", ".").split("\n")
    return np.fromiter(map(float, cells), dtype=float, count=len(cells))


def _line_by_line(path: str | Path, chunk: list[tuple[int, str]], layout: _Layout) -> _Part:
    """The rows of any chunk, one line at a time: the errors name the line."""
    columns = layout.columns
    values: dict[str, list[float]] = {role: [] for role in layout.numeric}
    times: list[str] = []
    line_numbers: list[int] = []
    for number_, text in chunk:
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split("\t")]
        if len(fields) < layout.needed:
            message = (
                f"expected at least {layout.needed} fields, found {len(fields)} (truncated row?)"
            )
            raise ReadError(path, message, line=number_)
        for role in layout.numeric:
            index = columns[role]
            value = number(fields[index], decimal_comma=True) if index < len(fields) else None
            if value is None:
                if role in REQUIRED:
                    shown = fields[index][:40]
                    message = f"non-numeric value {shown!r} in column {layout.names[index]!r}"
                    raise ReadError(path, message, line=number_)
                value = float("nan")
            values[role].append(value)
        if "time" in columns:
            index = columns["time"]
            times.append(fields[index] if index < len(fields) else "")
        line_numbers.append(number_)
    return _Part(
        {role: np.array(column, dtype=float) for role, column in values.items()},
        times,
        np.array(line_numbers, dtype=np.int64),
    )


def _concatenate(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
