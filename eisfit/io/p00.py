"""``.P00`` ASCII impedance files (vendor not identified; read by pyimpspec's ``parse_p00``).

Layout (pyimpspec ``tests/data.P00``, whose header was anonymised by pyimpspec):

=============== ================================================================
``Procedure :`` title of the measurement procedure
date line       ``DD.MM.YYYY HH:MM:SS - DD.MM.YYYY HH:MM:SS i(init)= 183.1nA -
                i(end)= 7.88nA``: start and end of the run, currents
free lines      ``Description``, ``t =  736.4 s``
column line     ``f/Hz  Z'/Ohm  -Z''/Ohm  time/s  Edc/V  Idc/A`` (tab separated,
                padded with spaces, a trailing tab)
count line      N, the number of points
rows            N rows of tab-separated numbers (``10.000e+03``: mantissa kept
                between 10 and 100, decimal point)
=============== ================================================================

The third column is **-Z''** (positive for a capacitive arc: the same control spectrum
is in pyimpspec's ``data.z`` with Z''(10 kHz) = -26.56 ohm and here as +26.556), so it is
negated.  Columns are found by their names (``f/Hz``, ``Z'/Ohm``, ``-Z''/Ohm``); a
``Z''/Ohm`` column without the minus would be taken as Im(Z) itself.
``meta.timestamp`` is the start date of the date line when it holds real digits (the
anonymised sample does not).  The ``time/s`` column is constant over the sample's sweep,
so its meaning is unclear and it is not added to the timestamp.  Fewer rows than N: an
aborted or truncated run, read with a warning; more rows than N: `ReadError`.

Sources: pyimpspec ``data/formats/p00.py`` (column meanings, sign) and the sample file.
"""

from __future__ import annotations

import re
from datetime import datetime
from itertools import islice
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import build_spectra, row_point
from .registry import FileFormat
from .sniffing import head_text, iter_lines

__all__ = ["FORMATS", "read_p00"]

_MAX_HEADER_LINES = 200  # the column line comes after ~5 header lines; junk stops here
_START = re.compile(r"\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})")


def _start(text: str) -> datetime | None:
    """The start date of a date line ``DD.MM.YYYY HH:MM:SS - ...``, or None."""
    match = _START.match(text)
    if not match:
        return None
    day, month, year, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _columns(header: str) -> tuple[int, int, int, float]:
    """Indices of f, Z', Z'' and the sign that turns the Z'' column into Im(Z)."""
    names = ["".join(n.split()).lower() for n in header.split("\t")]
    found: dict[str, tuple[int, float]] = {}
    for index, name in enumerate(names):
        base = name.split("/")[0]
        role = {"f": "f", "z'": "re", "z''": "im", "-z''": "im"}.get(base)
        if role and role not in found:
            found[role] = (index, -1.0 if base.startswith("-") else 1.0)
    if len(found) < 3:
        raise KeyError(header)
    return found["f"][0], found["re"][0], found["im"][0], found["im"][1]


def read_p00(path: Path) -> list[Spectrum]:
    """Read a ``.P00`` file (format: see the module docstring).

    Read line by line: the column line must come within the first `_MAX_HEADER_LINES`
    lines, and a row that is not numbers stops the reading with its line number.
    """
    lines = iter_lines(path)
    title, dated, header = "", "", None
    for number_, text in islice(lines, _MAX_HEADER_LINES):
        if text.strip().lower().startswith("f/hz"):
            header = (number_, text)
            break
        if number_ == 1 and text.lower().startswith("procedure"):
            title = text.partition(":")[2].strip()
        dated = dated or (text if _START.match(text) else "")
    if header is None:
        raise ReadError(path, "no column line starting with 'f/Hz': not a .P00 file")
    try:
        f_col, re_col, im_col, im_sign = _columns(header[1])
    except KeyError:
        raise ReadError(
            path, "column line lacks f/Hz, Z'/Ohm or -Z''/Ohm", line=header[0]
        ) from None
    count_item = next(((n, t) for n, t in lines if t.strip()), None)
    if count_item is None or not re.fullmatch(r"[0-9]+", count_item[1].strip()):
        line = count_item[0] if count_item else header[0]
        raise ReadError(path, "expected the number of points after the column line", line=line)
    count = int(count_item[1])
    columns = ((f_col, "f/Hz"), (re_col, "Z'/Ohm"), (im_col, "Z''/Ohm"))
    points = []
    for line, text in lines:
        if text.strip():
            fields = text.split("\t")
            points.append(row_point(path, line, fields, columns, im_sign=im_sign))
    if not points:
        raise ReadError(path, f"{count} points announced but no data rows", line=count_item[0])
    if len(points) > count:
        message = f"{len(points)} data rows but only {count} points announced"
        raise ReadError(path, message, line=points[count].line)
    extra = {"instrument": None, "technique": "EIS", "format": "p00", "procedure": title or None}
    return build_spectra(path, points, extra, start=_start(dated), expected_points=count)


def _sniff_p00(head: bytes, name: str) -> float:
    lines = [t.strip() for t in head_text(head).splitlines()[:30]]
    for i, text in enumerate(lines[:-1]):
        if text.lower().startswith("f/hz") and "z'/ohm" in text.lower():
            return 0.95 if re.fullmatch(r"[0-9]+", lines[i + 1]) else 0.7
    return 0.3 if name.endswith(".p00") else 0.0


FORMATS = (
    FileFormat(
        name="p00",
        description=".P00 ASCII impedance file (f/Hz, Z'/Ohm, -Z''/Ohm)",
        extensions=(".p00",),
        sniff=_sniff_p00,
        read=read_p00,
    ),
)
