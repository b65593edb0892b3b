"""Elchemea Analytical ``.i2b``: one impedance spectrum as a short text file.

Layout, as far as it is known (pyimpspec's anonymised fixture ``tests/data.i2b`` and its
reader ``pyimpspec/data/formats/i2b.py``, which skips the first five non-blank lines)::

    Some metadata              <- free-text header lines (the fixture has four)
    ...
                               <- blank lines anywhere are ignored
    29                         <- number of points N, alone on its line
    10000.0 109.009 -26.5557   <- N rows: frequency (Hz), Z' (ohm), Z'' (ohm), space-separated
    ...

* **Sign**: Z'' is stored with the physical sign (negative for a capacitive arc): the
  fixture holds the same spectrum as pyimpspec's Ivium, PalmSens and CSV fixtures, whose
  conventions are documented, with Z'' < 0.
* **Header**: everything before the count line is kept, stripped, in ``extra["header"]``.
  The count line is the first line holding a single non-negative integer and followed by a
  row of three numbers, so a header line that is just a number does not confuse the reader.
* **Numbers**: ``1.5e3`` style; a decimal comma (``1,5``) is accepted since the fields are
  separated by whitespace.  **Encoding**: UTF-8, else latin-1.
* **Rows**: a row with f <= 0 or a non-finite value, or repeating the frequency of an
  earlier row, is dropped with a warning (the first measurement of a frequency is kept).
  Fewer rows than announced (an aborted or cut file ending on a whole row) read with a
  warning; more rows than announced, or a row that is not three numbers, raise `ReadError`
  with its line.
* No multi-spectrum layout is known: a file is one spectrum (``meta.index`` 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta
from .registry import HEAD_BYTES, FileFormat
from .sniffing import iter_lines, split_lines

__all__ = ["FORMATS", "read_i2b", "sniff_i2b"]

_COUNT = re.compile(r"\d{1,9}")
_NUMBER = re.compile(r"[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf)", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_HEADER_LINES = 50


def sniff_i2b(head: bytes, name: str) -> float:
    """Confidence that ``head`` starts an .i2b file: a count line, then that many rows."""
    by_name = 0.05 if name.lower().endswith(".i2b") else 0.0
    text = head.decode("latin-1")
    if _CONTROL.search(text):
        return by_name
    lines = [line.strip() for line in split_lines(text) if line.strip()]
    complete = len(head) < HEAD_BYTES
    if not complete:
        lines = lines[:-1]  # the last line may be cut off
    found = _find_count(list(enumerate(lines[: _MAX_HEADER_LINES + 2])))
    if found is None:
        return 0.3 if by_name else 0.0
    position, count = found
    rows = lines[position + 1 :]
    if not all(_row(line) is not None for line in rows[:count]):
        return 0.3 if by_name else 0.1
    if complete and len(rows) != count:
        return 0.3 if by_name else 0.1
    return 0.9 + by_name


def read_i2b(path: str | Path) -> list[Spectrum]:
    """Read the spectrum of an Elchemea Analytical .i2b file (format: module docstring)."""
    lines = ((n, t.strip()) for n, t in _read_lines(path) if t.strip())
    numbered = list(islice(lines, _MAX_HEADER_LINES + 2))
    if not numbered:
        raise ReadError(path, "empty file")
    found = _find_count(numbered)
    if found is None:
        message = "no line holding the number of points followed by a row of 3 numbers"
        raise ReadError(path, message + " (not an Elchemea .i2b file?)")
    position, count = found
    count_line = numbered[position][0]
    warnings: list[str] = []
    frequency, impedance = [], []
    seen: set[float] = set()
    n_rows = 0
    for number, line in chain(numbered[position + 1 :], lines):
        if n_rows == count:
            message = f"{count} points announced on line {count_line}, but more rows follow"
            raise ReadError(path, message, line=number)
        n_rows += 1
        values = _row(line)
        if values is None:
            shown = line if len(line) <= 60 else line[:57] + "..."
            message = f"expected 3 numbers (frequency, Z', Z''), found {shown!r}"
            raise ReadError(path, message, line=number)
        f, real, imag = values
        if not (f > 0 and math.isfinite(f) and math.isfinite(real) and math.isfinite(imag)):
            warnings.append(f"dropped line {number}: f <= 0 or a non-finite value")
            continue
        if f in seen:
            warnings.append(f"dropped line {number}: frequency {f:g} Hz repeats an earlier row")
            continue
        seen.add(f)
        frequency.append(f)
        impedance.append(complex(real, imag))
    if n_rows < count:
        warnings.insert(0, f"aborted or truncated run: {n_rows} of {count} points")
    if not frequency:
        raise ReadError(
            path, "no impedance points (every row is empty or invalid)", line=count_line
        )
    header = tuple(line for _, line in numbered[:position])
    extra = {
        "instrument": "Elchemea Analytical",
        "technique": "EIS",
        "format": "elchemea-i2b",
        "header": header,
        "warnings": tuple(warnings),
    }
    try:
        return [Spectrum(frequency, impedance, SpectrumMeta(str(path), 0, extra=extra))]
    except SpectrumError as exc:
        raise ReadError(path, str(exc), line=count_line) from None


def _read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """The file's numbered lines, read as needed: UTF-8, else latin-1 (not `iter_lines`'
    default cp1252 / UTF-16 guesses); a control character, form feed included, means a
    binary file."""
    return iter_lines(path, encodings=("utf-8", "latin-1"), control=_CONTROL)


def _find_count(numbered: list[tuple[int, str]]) -> tuple[int, int] | None:
    """Position (in ``numbered``) and value of the count line, or None."""
    for position, (_, line) in enumerate(numbered[:-1]):
        if _COUNT.fullmatch(line) and _row(numbered[position + 1][1]) is not None:
            return position, int(line)
    return None


def _row(line: str) -> tuple[float, float, float] | None:
    fields = line.split()
    if len(fields) != 3 or not all(_NUMBER.fullmatch(field) for field in fields):
        return None
    f, real, imag = (float(field.replace(",", ".")) for field in fields)
    return f, real, imag


FORMATS = (
    FileFormat(
        name="elchemea-i2b",
        description="Elchemea Analytical impedance spectrum (.i2b text)",
        extensions=(".i2b",),
        sniff=sniff_i2b,
        read=read_i2b,
    ),
)
