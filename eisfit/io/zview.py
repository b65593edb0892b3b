"""Scribner ZPlot/ZView files: ``.z`` (ZPLOT2 ASCII), ZPlotW/Z60W CSV and ZView text exports.

**ZPLOT2 ASCII** (``.z``, written by ZPlot when measuring and by ZView when saving):

* Line 1 is the magic ``ZPLOT2 ASCII``.  Header lines follow (``Key: value``, indented
  ``Begin X`` / ``End X`` blocks) up to a line ``End Comments``.  Useful keys:
  ``Measured Data, ZPlot: 3.2c`` / ``Saved Data, ZView: 3`` (software),
  ``Experiment Type: Sweep Frequency, Control Voltage`` (technique), ``Date: MM-DD-YYYY``
  and ``Time: HH:MM:SS`` (start of the measurement, US order: ``12-17-2019`` exists),
  ``Data Points: N`` (points planned; fewer rows = aborted sweep, read with a warning).
* The last header line before ``End Comments`` names the columns, tab separated:
  ``Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range`` (``Aux`` in place of
  ``GD`` in ZView-saved files).  Columns are found by these names; without a column line
  the order above is assumed.
* Rows after ``End Comments``: numbers separated by tabs (``, `` is accepted too).
  ``Z''(b)`` holds Im(Z) with the **physical sign** (negative for a capacitive arc:
  checked on the ZPlot 3.2c example data of impedance.py, ``data/Circuit*_EIS_*.z``,
  whose high-frequency inductive points are positive).  ``Time(Sec)`` is the time
  since the start of the run.
* Fixed-frequency experiments (``Experiment Type`` without ``Frequency``) are refused.

**ZPlotW / Z60W CSV** (``exampleDataZPlot_noComments.z``; Z60W is the same layout and
is read by `eisfit.io.autolab`): a quoted magic line ``"ZPlotW Data File: Version
3.2c"`` (or ``"Z60W Data File: Version 1.1"``), then quoted free lines (data kind,
experiment type, ``Date: MM-DD-YYYY    Time: HH:MM:SS``, user comment, open-circuit
potential, sweep kind), the sweep definition ``0,3,0,1,<f_start>,<f_end>``, the number
of points planned, the quoted column line (``Freq(Hz)`` or ``Freq (Hz)``, same nine
columns as above) and comma-separated rows.  Same sign convention as ZPLOT2.

**ZView text export** (``zview-txt``; e.g. EC-Lab's "export for ZView" ``.txt``): no
header, three columns frequency (Hz), Z' (ohm), Z'' (ohm, **physical sign**: the 12
EC-Lab exports of the m0l0t0ph/thesis corpus have Z'' < 0 on their capacitive arcs),
tab separated (``;`` or spaces accepted), decimal comma on European installs (accepted
with tab or ``;``).  `eisfit.io.csv` reads the same data as a headerless table.

Common rules (shared with `eisfit.io.autolab`, `princeton`, `chi` and `p00`; see
`eisfit.io._text_table`): rows with f <= 0 or a non-finite value are dropped with a
warning in ``meta.extra["warnings"]``; several sweeps in one table are split where the
sweep direction reverses or a frequency repeats, each a `Spectrum` with ``meta.index``
0..n-1; ``meta.timestamp`` is the start written in the header plus the elapsed time of
the spectrum's first point, where the file has both; that elapsed time (s, or None) is
kept in ``meta.extra["elapsed_s"]``.

Sources: the files themselves (impedance.py ``data/*.z``, pyimpspec ``tests/data.z``);
impedance.py ``preprocessing.readZPlot`` and pyimpspec ``data/formats/z.py`` (which
columns hold f, Z', Z'').
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import build_spectra, row_point
from .registry import FileFormat
from .sniffing import head_text, iter_lines, number

__all__ = ["FORMATS", "read_scribner_csv", "read_zplot", "read_zplot_csv", "read_zview_txt"]

_ZPLOT_COLUMNS = ("freq(hz)", "ampl", "bias", "time(sec)", "z'(a)", "z''(b)", "gd", "err", "range")
_FREQ_COLUMN = re.compile(r"freq\s*\(hz\)", re.I)
_HEADER_KEYS = ("experiment type", "date", "time", "data points")  # the header keys used
_TXT_COLUMNS = ((0, "frequency"), (1, "Z'"), (2, "Z''"))
_DATE_TIME = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})\D+(\d{1,2}):(\d{2}):(\d{2})")


def us_date_time(text: str) -> datetime | None:
    """``MM-DD-YYYY ... HH:MM:SS`` (ZPlot's order) as a datetime, or None."""
    match = _DATE_TIME.search(text)
    if not match:
        return None
    month, day, year, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


# --- ZPLOT2 ASCII ------------------------------------------------------------------------


def read_zplot(path: Path) -> list[Spectrum]:
    """Read a ZPLOT2 ASCII ``.z`` file (format: see the module docstring)."""
    lines = iter_lines(path)
    if not next(lines)[1].strip().upper().startswith("ZPLOT2 ASCII"):
        raise ReadError(path, "not a ZPLOT2 ASCII file: first line is not 'ZPLOT2 ASCII'", line=1)
    header: dict[str, str] = {}
    columns: tuple[str, ...] = _ZPLOT_COLUMNS
    software = "Scribner ZPlot/ZView"
    for number_, text in lines:  # the header, read as it comes (only the keys used are kept)
        if text.strip().lower() == "end comments":
            end = number_
            break
        key, sep, value = text.partition(":")
        key = key.strip()
        if _FREQ_COLUMN.search(text):
            columns = tuple(re.sub(r"\s+\(", "(", text).lower().split())
        elif key.lower().startswith(("measured data,", "saved data,")):
            program = key.split(",")[-1].strip()
            vendor = "Scribner " if program.lower() in ("zplot", "zview") else ""
            software = f"{vendor}{program} {value.strip()}".strip()
        elif sep and key.lower() in _HEADER_KEYS and key.lower() not in header:
            header[key.lower()] = value.strip()
            if key.lower() == "experiment type" and "freq" not in value.lower():
                message = f"experiment type {value.strip()!r} is not a frequency sweep"
                raise ReadError(path, message, line=number_)
    else:
        raise ReadError(path, "no 'End Comments' line: header never ends (truncated?)")
    experiment = header.get("experiment type") or None
    extra = {"instrument": software, "technique": experiment, "format": "zplot-z"}
    start = us_date_time(f"{header.get('date', '')} {header.get('time', '')}")
    expected = _int(header.get("data points", ""))
    return _read_rows(path, lines, end, columns, extra, start, expected)


def _read_rows(
    path: Path,
    lines: Iterator[tuple[int, str]],
    last_header_line: int,
    columns: tuple[str, ...],
    extra: dict[str, Any],
    start: datetime | None,
    expected: int | None,
) -> list[Spectrum]:
    """The rows ``lines`` (after line ``last_header_line``), in the ZPlot column layout
    ``columns``; a row that is not numbers stops the reading with its line."""
    try:
        f_col, re_col, im_col = (columns.index(n) for n in ("freq(hz)", "z'(a)", "z''(b)"))
    except ValueError:
        names = ", ".join(columns)
        raise ReadError(path, f"no Freq(Hz), Z'(a) and Z''(b) columns in ({names})") from None
    time_col = columns.index("time(sec)") if "time(sec)" in columns else None
    wanted = ((f_col, "Freq(Hz)"), (re_col, "Z'(a)"), (im_col, "Z''(b)"))
    elapsed = None if time_col is None else (time_col, "Time(Sec)")
    points = []
    for line, text in lines:
        if not text.strip():
            continue
        tab = "\t" in text
        fields = text.split("\t") if tab else text.split(",") if "," in text else text.split()
        points.append(row_point(path, line, fields, wanted, elapsed=elapsed, comma=tab))
    if not points:
        raise ReadError(path, "header but no data rows (empty export)", line=last_header_line)
    return build_spectra(path, points, extra, start=start, expected_points=expected)


def _int(text: str) -> int | None:
    text = text.strip().strip('"').strip()
    return int(text) if text.isascii() and text.isdigit() else None  # not "²" (isdigit)


# --- ZPlotW / Z60W CSV -----------------------------------------------------------------


def read_scribner_csv(path: Path, extra: dict[str, Any]) -> list[Spectrum]:
    """Read a ZPlotW/Z60W ``"... Data File"`` CSV; ``extra`` names instrument and format."""
    lines = iter_lines(path)
    top = [next(lines)[1]]
    if "data file" not in top[0].lower():
        raise ReadError(path, "not a Scribner CSV data file: no 'Data File' magic line", line=1)
    head = 0 if _FREQ_COLUMN.search(top[0]) else None
    while head is None and len(top) < 60 and (item := next(lines, None)) is not None:
        top.append(item[1])
        head = len(top) - 1 if _FREQ_COLUMN.search(item[1]) else None
    if head is None:
        raise ReadError(path, "no quoted column line naming Freq(Hz) in the first 60 lines")
    columns = tuple(re.sub(r"\s+\(", "(", top[head].replace('"', " ")).lower().split())
    free = [t.strip().strip('"').strip() for t in top[1:head]]
    start = next((d for d in map(us_date_time, free) if d is not None), None)
    expected = _int(top[head - 1]) if head > 1 else None
    technique = free[1] if len(free) > 1 and free[1] else None
    software = top[0].strip().strip('"').strip()
    extra = {**extra, "technique": technique, "software": software}
    return _read_rows(path, lines, head + 1, columns, extra, start, expected)


def read_zplot_csv(path: Path) -> list[Spectrum]:
    """Read a ZPlotW CSV data file (``exampleDataZPlot_noComments.z``)."""
    return read_scribner_csv(path, {"instrument": "Scribner ZPlot", "format": "zplot-csv"})


# --- ZView text export -----------------------------------------------------------------


def read_zview_txt(path: Path) -> list[Spectrum]:
    """Read a headerless f, Z', Z'' text export for ZView (format: module docstring)."""
    points = []
    for number_, text in iter_lines(path):
        if not text.strip():
            continue
        separator = "\t" if "\t" in text else ";" if ";" in text else None
        fields = [f for f in text.split(separator) if f.strip()] if separator else text.split()
        if len(fields) != 3:
            message = f"expected 3 fields (frequency, Z', Z''), found {len(fields)}"
            raise ReadError(path, message, line=number_)
        comma = separator is not None
        points.append(row_point(path, number_, fields, _TXT_COLUMNS, comma=comma))
    if not points:
        raise ReadError(path, "empty file: no data rows")
    extra = {"instrument": None, "technique": "EIS", "format": "zview-txt"}
    return build_spectra(path, points, extra)


# --- sniffers ----------------------------------------------------------------------------


def _sniff_zplot(head: bytes, name: str) -> float:
    text = head_text(head).lstrip()
    if text.upper().startswith("ZPLOT2 ASCII"):
        return 0.95
    lower = text.lower()
    if "\nend comments" in lower and "freq(hz)" in lower:
        return 0.7
    return 0.3 if name.endswith(".z") else 0.0


def _sniff_zplot_csv(head: bytes, name: str) -> float:
    first = head_text(head).lstrip().split("\n", 1)[0].lower()
    if first.startswith('"zplotw data file'):
        return 0.95
    if first.startswith('"') and "data file: version" in first and "z60w" not in first:
        return 0.9
    return 0.0


def _sniff_zview_txt(head: bytes, name: str) -> float:
    lines = [t for t in head_text(head).splitlines() if t.strip()]
    if len(head) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the head may end inside a line
    if len(lines) < 3:
        return 0.0
    comma = False
    for text in lines:
        fields = text.strip().split("\t")
        values = [number(field, decimal_comma=True) for field in fields]
        if len(fields) != 3 or None in values or not values[0] > 0:
            return 0.0
        comma = comma or "," in text
    return 0.9 if comma else 0.4


FORMATS = (
    FileFormat(
        name="zplot-z",
        description="Scribner ZPlot/ZView .z (ZPLOT2 ASCII)",
        extensions=(".z",),
        sniff=_sniff_zplot,
        read=read_zplot,
    ),
    FileFormat(
        name="zplot-csv",
        description="Scribner ZPlotW CSV data file (.z without comment block)",
        extensions=(".z",),
        sniff=_sniff_zplot_csv,
        read=read_zplot_csv,
    ),
    FileFormat(
        name="zview-txt",
        description="ZView text import: headerless f, Z', Z'' (tab, decimal comma)",
        extensions=(".txt",),
        sniff=_sniff_zview_txt,
        read=read_zview_txt,
    ),
)
