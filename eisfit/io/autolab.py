"""Metrohm Autolab exports: Eco Chemie FRA ``.dfr`` and the Z60W CSV data file.

**Eco Chemie FRA ``.dfr``** (Autolab FRA software; pyimpspec ``tests/data.dfr``): plain
text, one number per line (leading space, decimal point), blank lines ignored:

====== =====================================================================
line   content
====== =====================================================================
1      ``VERSION8.0`` (format version)
2      N, the number of points
3      an integer of unknown meaning (``1``)
then   N blocks of 9 lines: f (Hz), Z' (ohm), **-Z''** (ohm, positive for a
       capacitive arc), E_dc (V), I_dc (A), time (s: kept as
       ``meta.extra["elapsed_s"]`` of the first point), three unknown values
after  a trailer of unknown layout (in the sample: three ``1.0``, two dates
       ``DD.MM.YYYY HH:MM:SS``, five ``2.0``); the dates are kept verbatim in
       ``meta.extra["trailer_dates"]`` but not interpreted (their meaning is not
       documented; the sample's header was anonymised)
====== =====================================================================

Z'' is stored negated: the same control spectrum is in pyimpspec's ``data.z`` with
Z''(10 kHz) = -26.56 ohm and in ``data.dfr`` as +26.56; pyimpspec's ``parse_dfr`` also
negates it.  The point count is written before the data, so a file with fewer than N
complete blocks is truncated: `ReadError`.  A file with N = 0 holds no data: `ReadError`.

**Z60W data file** (``exampleDataAutolab.txt`` of impedance.py: "Autolab data saved in
the Z60W (ZView) format"): Scribner's ZPlotW/Z60W CSV, documented in
`eisfit.io.zview`, with the magic ``"Z60W Data File: Version 1.1"``.  Z''(b) has the
physical sign (a battery's inductive high-frequency points are positive).  The Autolab
export leaves the free header lines empty and writes 0 in the Ampl, Bias and Time columns,
so there is no timestamp.

Autolab NOVA's ASCII/CSV table exports (``Frequency (Hz)``, ``Z' (Ω)``, ``-Z'' (Ω)``...)
are plain delimited text and belong to `eisfit.io.csv`.

Sources: pyimpspec ``data/formats/dfr.py`` (line meanings), impedance.py
``preprocessing.readAutolab`` (Z60W columns 0, 4, 5), the sample files themselves.
"""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import Point, build_spectra, number
from .registry import FileFormat
from .sniffing import head_text, iter_lines
from .zview import read_scribner_csv

__all__ = ["FORMATS", "read_dfr", "read_z60w"]

_VERSION = re.compile(r"version\s*\d+(?:\.\d+)*", re.I)
_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?")
_BLOCK_LINES = 9
_MAX_TRAILER_DATES = 16  # dates kept from the trailer (the sample has two)


def read_dfr(path: Path) -> list[Spectrum]:
    """Read an Eco Chemie FRA ``.dfr`` file (format: see the module docstring).

    Read line by line: the first line that is not the format (no version line, a value
    that is not a number) stops the reading with its line number.
    """
    lines = ((n, t.strip()) for n, t in iter_lines(path) if t.strip())
    top = list(islice(lines, 3))
    if not top or not _VERSION.fullmatch(top[0][1]):
        line = top[0][0] if top else None
        raise ReadError(path, "not an Eco Chemie .dfr file: no 'VERSIONx.y' first line", line=line)
    if len(top) < 3 or not re.fullmatch(r"[0-9]+", top[1][1]):
        line = top[1][0] if len(top) > 1 else top[0][0]
        raise ReadError(path, "expected the number of points on the second line", line=line)
    count = int(top[1][1])
    if count == 0:
        raise ReadError(path, "the file announces 0 points: empty export", line=top[1][0])
    points = []
    last = top[2][0]
    for k in range(count):
        block = list(islice(lines, _BLOCK_LINES))
        if len(block) < _BLOCK_LINES:
            end = block[-1][0] if block else last
            message = f"truncated: {count} points announced, {k} complete"
            raise ReadError(path, message, line=end)
        (line, f_text), (_, re_text), (_, im_text) = block[:3]
        f = number(f_text, path, line, "frequency")
        re_ = number(re_text, path, block[1][0], "Z'")
        minus_im = number(im_text, path, block[2][0], "-Z''")
        elapsed = number(block[5][1], path, block[5][0], "time")
        points.append(Point(line, f, complex(re_, -minus_im), elapsed))
        last = block[-1][0]
    dates = tuple(islice((t for _, t in lines if _DATE.fullmatch(t)), _MAX_TRAILER_DATES))
    extra = {
        "instrument": "Metrohm Autolab (Eco Chemie FRA)",
        "technique": "EIS",
        "format": "autolab-dfr",
        "version": top[0][1],
        "trailer_dates": dates,
    }
    return build_spectra(path, points, extra)


def read_z60w(path: Path) -> list[Spectrum]:
    """Read a ``"Z60W Data File"`` CSV as exported by Autolab (layout: `eisfit.io.zview`)."""
    extra = {"instrument": "Metrohm Autolab (Z60W export)", "format": "autolab-z60w"}
    return read_scribner_csv(path, extra)


def _sniff_dfr(head: bytes, name: str) -> float:
    lines = [t.strip() for t in head_text(head).split("\n") if t.strip()][:3]
    if len(lines) == 3 and _VERSION.fullmatch(lines[0]) and re.fullmatch(r"[0-9]+", lines[1]):
        return 0.95
    return 0.3 if name.endswith(".dfr") else 0.0


def _sniff_z60w(head: bytes, name: str) -> float:
    first = head_text(head).lstrip().split("\n", 1)[0].lower()
    return 0.95 if first.startswith('"z60w data file') else 0.0


FORMATS = (
    FileFormat(
        name="autolab-dfr",
        description="Metrohm Autolab / Eco Chemie FRA .dfr",
        extensions=(".dfr",),
        sniff=_sniff_dfr,
        read=read_dfr,
    ),
    FileFormat(
        name="autolab-z60w",
        description='Autolab export in the Scribner "Z60W Data File" CSV layout',
        extensions=(".txt", ".z"),
        sniff=_sniff_z60w,
        read=read_z60w,
    ),
)
