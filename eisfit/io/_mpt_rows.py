"""The data rows of an EC-Lab .mpt export, read a chunk of lines at a time (`read_rows`).

An .mpt data section is a tab-separated table of numbers, one row per line, often
10^5 - 10^6 rows.  Reading it one line and one cell at a time in Python cost about 11 of
the 16 s of a profiled read of 10^4 spectra (issue 15), so the lines come a block at a time
(`eisfit.io.sniffing.iter_line_blocks`, about 1 MB of text; `LineFeed` gives the header
lines one by one first), each block is cut into chunks of `CHUNK_LINES` lines (memory
stays bounded: one block of lines, plus the columns kept: 8 bytes per row and column, and
the ``time/s`` cells as one string per chunk, `TextCells`), and each chunk goes one of two
ways, with the same result:

* **plain chunk**: every row has as many fields as the chunk's first row (at least one
  more than the last wanted column), and every cell of a wanted numeric column is a
  number.  The chunk is split into fields at once; each numeric column is checked with
  one regular expression over its joined text and converted with Python's ``float`` into
  a numpy array (`_floats`): the same doubles as the line-by-line path, which converts
  with ``float`` too (checked in ``tests/test_mpt_fast.py``).
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

A block is read whole before the next is asked for, so an error in its rows comes before
the `ReadError` that reading a later block may raise (a control character, an over-long
line), as when the lines were read one by one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from ..errors import ReadError
from .sniffing import number

__all__ = ["CHUNK_LINES", "REQUIRED", "LineFeed", "Rows", "TextCells", "read_rows"]

CHUNK_LINES = 4096  # lines read and converted at once
REQUIRED = ("frequency", "real", "minus_imag", "imag")  # a bad cell here is an error
_NOT_NUMERIC = ("time", "stack_real", "stack_minus_imag")
_SAMPLE = 256  # cells looked at to judge whether a column repeats its values

# `sniffing._NUMBER` after ``number``'s strip and comma-to-dot replacement, ASCII letters
# only, every quantifier possessive: a cell can be matched one way only, so a failing
# column fails in time linear in its length (no backtracking over earlier cells).
_NUMBER = (
    r"[+-]?+(?:(?:[0-9]++(?:[.,][0-9]*+)?+|[.,][0-9]++)(?:[eE][+-]?+[0-9]++)?+"
    r"|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?+)"
)
_CELL_RE = re.compile(rf" *+{_NUMBER} *+")
_COLUMN_RE = re.compile(rf"(?: *+{_NUMBER} *+\n)*+ *+{_NUMBER} *+")  # cells joined by LF


class TextCells:
    """A column of text cells, kept as one LF-joined string per chunk of rows: a few bytes
    a row instead of a string object each (``time/s`` of a 200 MB export would otherwise
    take about as much memory as the file).  ``cells[row]`` splits the chunk holding
    ``row`` and keeps that split until another chunk is asked for (rows are asked in
    order, so each chunk is split about once)."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # the first row of each chunk
        self._texts: list[str] = []
        self._size = 0
        self._split: tuple[int, list[str]] = (-1, [])

    def extend(self, cells: list[str]) -> None:
        """Add the cells of the next rows (none of them holds a line end)."""
        if cells:
            self._starts.append(self._size)
            self._texts.append("\n".join(cells))
            self._size += len(cells)

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, row: int) -> str:
        if not 0 <= row < self._size:
            raise IndexError(f"row {row} of {self._size}")
        chunk = bisect.bisect_right(self._starts, row) - 1
        if self._split[0] != chunk:
            self._split = (chunk, self._texts[chunk].split("\n"))
        return self._split[1][row - self._starts[chunk]]


@dataclass(frozen=True)
class Rows:
    """The data rows of one file: each numeric column (NaN where an optional cell is not a
    number), the ``time/s`` cells (not stripped; none without that column), and the
    1-based line of each row."""

    values: Mapping[str, np.ndarray]
    times: TextCells
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


class LineFeed:
    """The lines of `iter_line_blocks` one at a time (``next(feed)`` -> ``(line number,
    text)``, as `iter_lines` gives them: for a header), then the rest a block at a time
    (`rest`: for the data rows)."""

    def __init__(self, blocks: Iterator[tuple[int, list[str]]]) -> None:
        self._blocks = blocks
        self._first = 1  # the line number of self._lines[0]
        self._lines: list[str] = []
        self._at = 0  # lines of self._lines given out

    def __iter__(self) -> LineFeed:
        return self

    def __next__(self) -> tuple[int, str]:
        while self._at == len(self._lines):
            self._first, self._lines = next(self._blocks)
            self._at = 0
        self._at += 1
        return self._first + self._at - 1, self._lines[self._at - 1]

    def rest(self) -> Iterator[tuple[int, list[str]]]:
        """The lines not given out yet, a block at a time: ``(first line number, lines)``."""
        if self._at < len(self._lines):
            yield self._first + self._at, self._lines[self._at :]
        self._lines, self._at = [], 0
        yield from self._blocks


def read_rows(
    path: str | Path,
    blocks: Iterator[tuple[int, list[str]]],
    columns: Mapping[str, int],
    names: Sequence[str],
) -> Rows:
    """Every data row of ``blocks`` (``(first line number, lines)``, from
    `iter_line_blocks` or `LineFeed.rest`), with the columns of ``columns`` (role -> field
    index; ``names``: the column names).  A block is read whole before the next one is
    asked for, so an error of a row comes before the error of `iter_line_blocks` that a
    later block would raise, as when the lines are read one by one."""
    layout = _layout(columns, names)
    values: dict[str, list[np.ndarray]] = {role: [] for role in layout.numeric}
    times = TextCells()
    line_numbers: list[np.ndarray] = []
    for block_first, block in blocks:
        for at in range(0, len(block), CHUNK_LINES):
            texts, first = block[at : at + CHUNK_LINES], block_first + at
            part = _plain(first, texts, layout) or _line_by_line(path, first, texts, layout)
            for role, column in part.values.items():
                values[role].append(column)
            times.extend(part.times)
            line_numbers.append(part.line_numbers)
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


def _plain(first: int, texts: list[str], layout: _Layout) -> _Part | None:
    """The rows of a plain chunk of lines (``texts``, the first on line ``first``; module
    docstring), or None when it is not plain.  A plain chunk has no blank line but at its
    end, so its rows are on consecutive lines."""
    n = len(texts)
    while n and not texts[n - 1].strip():
        n -= 1
    if n < len(texts):
        texts = texts[:n]
    if n == 0:
        empty = np.empty(0)
        return _Part({role: empty for role in layout.numeric}, [], np.empty(0, np.int64))
    width = texts[0].count("\t") + 1
    if width <= layout.last or max(map(str.count, texts, repeat("\t"))) != width - 1:
        return None  # some row is narrower or wider than the first
    fields = "\t".join(texts).split("\t")
    if len(fields) != width * n:
        return None
    values = {}
    for role in layout.numeric:
        column = _floats(fields[layout.columns[role] :: width])
        if column is None:
            return None
        values[role] = column
    times = fields[layout.columns["time"] :: width] if "time" in layout.columns else []
    return _Part(values, times, np.arange(first, first + n, dtype=np.int64))


def _floats(cells: list[str]) -> np.ndarray | None:
    """The cells of a column as floats, or None when one is not a number (`_NUMBER`).

    The column is checked with one regular expression over its LF-joined text and each
    cell converted by ``float`` (after a decimal comma became a point).  A column that
    repeats a few values (the frequencies of every loop, a cycle number) is checked and
    converted once per distinct cell instead, about twice as fast; whether it repeats is
    judged on its first `_SAMPLE` cells.
    """
    if len(set(cells[:_SAMPLE])) * 4 < min(len(cells), _SAMPLE):
        table = dict.fromkeys(cells)
        for cell in table:
            if not _CELL_RE.fullmatch(cell):
                return None
            table[cell] = float(cell.replace(",", "."))
        return np.fromiter(map(table.__getitem__, cells), dtype=float, count=len(cells))
    text = "\n".join(cells)
    if not _COLUMN_RE.fullmatch(text):
        return None
    if "," in text:
        cells = text.replace(",", ".").split("\n")
    return np.fromiter(map(float, cells), dtype=float, count=len(cells))


def _line_by_line(path: str | Path, first: int, texts: list[str], layout: _Layout) -> _Part:
    """The rows of any chunk of lines, one line at a time: the errors name the line."""
    columns = layout.columns
    values: dict[str, list[float]] = {role: [] for role in layout.numeric}
    times: list[str] = []
    line_numbers: list[int] = []
    for number_, text in enumerate(texts, first):
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
