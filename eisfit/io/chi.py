"""CH Instruments text export of an "A.C. Impedance" run (CHI 600/700 series software).

Layout (impedance.py ``data/exampleDataCHInstruments.txt``, CHI660E; the same header
shape is written for every CHI technique):

======================= ==========================================================
line 1                  date and time, ``Feb. 20, 2020   15:55:08`` (month name,
                        abbreviated with a dot or written out: ``July 19, 2022``)
line 2                  technique: ``A.C. Impedance``
``File:``               the binary file the export came from
``Data Source:``        ``Experiment`` (or ``Simulation``)
``Instrument Model:``   ``CHI660E``
``Header:``, ``Note:``  user text
parameters              ``Init E (V) = 0``, ``High Frequency (Hz) = 2e+6``,
                        ``Low Frequency (Hz) = 0.1``, ``Amplitude (V) = 0.025``...
column line             ``Freq/Hz, Z'/ohm, Z"/ohm, Z/ohm, Phase/deg``
rows                    comma-separated numbers, after one blank line
======================= ==========================================================

``Z"`` holds Im(Z) with the **physical sign**: negative on the capacitive arc, with a
negative phase on the same rows (checked on the sample).  Columns are found by name
(``Freq``, ``Z'``, ``Z"``; a tab separator is accepted too).  Only "A.C. Impedance" is
a frequency sweep; other techniques (cyclic voltammetry, "Impedance - Time" at a fixed
frequency...) are refused with a `ReadError` naming the technique.  ``meta.timestamp`` is
the date of line 1 (the start of the run as CHI writes it).  One spectrum per file.

Sources: impedance.py ``preprocessing.readCHInstruments`` (columns 0-2 after the
``Freq/Hz`` line); the CHI header layout as shown by potentiostat-data-parser's README.
"""

from __future__ import annotations

import re
from datetime import datetime
from itertools import chain, islice
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import build_spectra, row_point
from .registry import FileFormat
from .sniffing import head_text, iter_lines

__all__ = ["FORMATS", "read_chi"]

_DATE = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_KEYS = ("file:", "data source:", "instrument model:")
_NAMES = ("Freq/Hz", "Z'/ohm", 'Z"/ohm')  # the columns read, as named in errors
_MAX_HEADER_LINES = 200  # the column line comes after ~20 header lines; junk stops here


def _date(text: str) -> datetime | None:
    match = _DATE.match(text.strip())
    if not match or match.group(1)[:3].lower() not in _MONTHS:
        return None
    month = _MONTHS.index(match.group(1)[:3].lower()) + 1
    day, year, hour, minute, second = (int(g) for g in match.groups()[1:])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _role(name: str) -> str:
    key = name.strip().lower().replace("\u2019", "'")
    for role, prefixes in (("f", ("freq",)), ("im", ('z"', "z''")), ("re", ("z'",))):
        if key.startswith(prefixes):
            return role
    return ""


def read_chi(path: Path) -> list[Spectrum]:
    """Read a CH Instruments A.C. Impedance text export (format: see the module docstring).

    Read line by line: the column line must come within the first `_MAX_HEADER_LINES`
    lines, and a row that is not numbers stops the reading with its line number.
    """
    lines = iter_lines(path)
    top = [text for _, text in islice(lines, 8)]
    if len(top) < 3 or not any(t.lower().startswith(_KEYS) for t in top[2:8]):
        raise ReadError(path, "not a CH Instruments export: no 'File:' / 'Instrument Model:'")
    technique = top[1].strip()
    if technique.lower() != "a.c. impedance":
        message = f"technique is {technique!r}, not 'A.C. Impedance' (no impedance spectrum)"
        raise ReadError(path, message, line=2)
    numbered = chain(enumerate(top, start=1), lines)
    top_lines = islice(numbered, _MAX_HEADER_LINES)
    found = next((item for item in top_lines if item[1].lower().startswith("freq")), None)
    if found is None:
        message = f"no column line starting with 'Freq/Hz' in the first {_MAX_HEADER_LINES} lines"
        raise ReadError(path, message + " (empty export?)")
    header_line, header = found
    separator = "\t" if "\t" in header else ","
    roles = [_role(n) for n in header.split(separator)]
    if any(r not in roles for r in ("f", "re", "im")):
        raise ReadError(path, "column line lacks Freq, Z' or Z\"", line=header_line)
    columns = [(roles.index(r), n) for r, n in zip(("f", "re", "im"), _NAMES, strict=True)]
    expected = f"{len(roles)} fields"
    points = []
    for line, text in numbered:
        if text.strip():
            fields = text.split(separator)
            points.append(row_point(path, line, fields, columns, expected=expected))
    if not points:
        raise ReadError(path, "column line but no data rows (empty export)", line=header_line)
    model = next(
        (t.split(":", 1)[1].strip() for t in top[2:8] if t.lower().startswith("instrument model:")),
        "",
    )
    extra = {
        "instrument": f"CH Instruments {model}".strip(),
        "technique": technique,
        "format": "chi-txt",
    }
    return build_spectra(path, points, extra, start=_date(top[0]))


def _sniff_chi(head: bytes, name: str) -> float:
    lines = head_text(head).splitlines()[:8]
    if len(lines) < 5 or _date(lines[0]) is None:
        return 0.0
    found = sum(any(t.lower().startswith(k) for t in lines[2:8]) for k in _KEYS)
    if found < 2:
        return 0.0
    return 0.95 if lines[1].strip().lower() == "a.c. impedance" else 0.9


FORMATS = (
    FileFormat(
        name="chi-txt",
        description="CH Instruments A.C. Impedance text export",
        extensions=(".txt",),
        sniff=_sniff_chi,
        read=read_chi,
    ),
)
