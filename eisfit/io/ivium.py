"""Ivium IviumSoft data files: ``.idf`` (one measurement) and ``.ids`` (a sequence of them).

Structure (pyimpspec's anonymised fixtures ``tests/data.idf`` and ``data.ids`` and its reader
``pyimpspec/data/formats/ids.py``; the BSD-2-licensed Ivium input-file reader of Galv /
Galvanalyser, Battery Intelligence Lab, Oxford, for the ``starttime`` format):

* Text lines (CRLF; a copy converted to LF also reads) with some binary inside: the file
  starts with 16 NUL bytes, and every settings section is preceded by a 4-byte
  little-endian length on a line of its own (``H\\x00\\x00\\x00``).  Bytes are decoded as
  latin-1; lines holding a NUL byte are those length words and are ignored.
* Settings are ``key=value`` lines: ``Method=Impedance``, ``Technique=Constant E``,
  ``Title=...``, ``starttime=`` (``DD/MM/YYYY HH:MM:SS``), ``serialnumber=``,
  ``Report.Process data=`` (``\\x1c\\x1e``-separated ``name : value`` lines such as
  ``start time  : DD.MM.YYYY HH:MM:SS``)...
* Data objects follow the settings: a line ``primary_data``, then the number of columns,
  the number of rows, and the rows (whitespace-separated numbers, ``1.09009E+02``).  For
  impedance the three columns are **Z' (ohm), Z'' (ohm), frequency (Hz)**, Z'' with the
  physical sign (the fixtures hold the same spectrum as pyimpspec's other formats, with
  Z'' < 0 for the capacitive arc).  Other objects (``osc_data``: raw waveforms) are skipped.
* An ``.ids`` file repeats settings + data objects once per measurement; each
  ``primary_data`` block is one spectrum, in file order, with the settings seen since the
  previous block.  Measurements whose ``Method`` is not an impedance method, or whose
  primary data do not have 3 columns, are skipped with a warning.

``meta.timestamp`` is ``starttime`` (else the start time of ``Report.Process data``),
read as day/month/year, ``None`` when missing or unreadable.  ``extra`` holds ``title``,
``technique`` (``Method (Technique)``), ``device`` and ``serial_number`` when written.
Rows with f <= 0 or a non-finite value, or repeating an earlier frequency of the same
block, are dropped with a warning (the first measurement of a frequency is kept); a decimal
comma is accepted.  Fewer rows than announced, a row of the wrong width, or no impedance
block at all raise `ReadError` with the line.  The file is read line by line; one that
neither starts with the 16 NUL bytes nor has a ``Method=`` / ``Version=`` line in its first
64 KiB (what the sniffer looks for) is refused before reading the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta
from .registry import HEAD_BYTES, FileFormat
from .sniffing import iter_lines, read_head

__all__ = ["FORMATS", "read_ivium", "sniff_ivium"]

_NUMBER = re.compile(r"[+-]?(?:\d+[.,]?\d*|[.,]\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf)", re.I)
_SETTINGS = ("Method", "Technique", "Title", "starttime", "serialnumber", "software",
             "Report.Process data")  # fmt: skip
_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


@dataclass
class _Block:
    """One measurement: its settings and the rows of its primary data."""

    settings: dict[str, str]
    line: int  # of the ``primary_data`` line
    columns: int
    rows: list[tuple[int, list[float]]] = field(default_factory=list)


def sniff_ivium(head: bytes, name: str) -> float:
    """Confidence that ``head`` starts an Ivium file: 16 NUL bytes, then ``key=value`` lines."""
    by_name = name.lower().endswith((".idf", ".ids"))
    keys = b"Method=" in head or b"Version=" in head
    if head.startswith(b"\x00" * 16) and keys:
        return 0.95 + 0.05 * by_name
    if keys and b"primary_data" in head:
        return 0.9
    return 0.25 if by_name else 0.0


def read_ivium(path: str | Path) -> list[Spectrum]:
    """Read every impedance measurement of an Ivium .idf or .ids file (see module docstring)."""
    head = read_head(path, HEAD_BYTES)
    if head and not (head.startswith(bytes(16)) or b"Method=" in head or b"Version=" in head):
        message = (
            "not an Ivium file (no primary_data block): it neither starts with 16 NUL bytes "
            f"nor has a Method= or Version= line in its first {HEAD_BYTES} bytes"
        )
        raise ReadError(path, message, line=1)
    lines = iter_lines(path, encodings=("latin-1",), control=None)  # binary words inside
    blocks = _blocks(lines, path)
    if not blocks:
        raise ReadError(path, "no primary_data block: the file holds no data (or is not Ivium)")
    spectra: list[Spectrum] = []
    skipped: list[str] = []
    for number, block in enumerate(blocks, start=1):
        method = block.settings.get("Method", "")
        label = f"measurement {number} ({block.settings.get('Title') or 'untitled'})"
        if method and "impedance" not in method.lower():
            skipped.append(f"{label} skipped: Method={method} is not impedance")
        elif block.columns != 3:
            skipped.append(f"{label} skipped: {block.columns} data columns, not Z', Z'', f")
        else:
            spectra.append(_spectrum(block, len(spectra), path))
    if not spectra:
        raise ReadError(path, "no impedance data: " + "; ".join(skipped), line=blocks[0].line)
    if skipped:
        spectra = [
            s.with_meta(extra={**s.meta.extra, "warnings": (*s.meta.extra["warnings"], *skipped)})
            for s in spectra
        ]
    return spectra


def _blocks(lines: Iterator[tuple[int, str]], path: str | Path) -> list[_Block]:
    """Split the file into measurements, each ending with its ``primary_data`` block.

    Read as the lines come; of the settings only the keys used (`_SETTINGS`) are kept.
    """
    blocks: list[_Block] = []
    settings: dict[str, str] = {}
    last = [0]  # the number of the last line read, for "the file ends" errors
    for number, line in lines:
        last[0] = number
        if "\x00" in line:
            continue
        if line.strip() == "primary_data":
            columns = _integer(lines, last, path, "number of columns")
            count = _integer(lines, last, path, "number of rows")
            block = _Block(settings, number, columns)
            for _ in range(count):
                item = next(lines, None)
                if item is None or not item[1].strip():
                    message = f"truncated: {count} rows announced after line {number}, "
                    message += f"found {len(block.rows)} rows"
                    raise ReadError(path, message, line=last[0] if item is None else item[0])
                last[0] = item[0]
                block.rows.append((item[0], _row(item[1], columns, path, item[0])))
            blocks.append(block)
            settings = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            if key.strip() in _SETTINGS:
                settings[key.strip()] = value.strip()
    return blocks


def _integer(lines: Iterator[tuple[int, str]], last: list[int], path: str | Path, what: str) -> int:
    item = next(lines, None)
    if item is None:
        raise ReadError(path, f"truncated: the file ends before the {what}", line=last[0])
    last[0] = item[0]
    text = item[1].strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ReadError(path, f"expected the {what}, found {text[:40]!r}", line=item[0])
    return int(text)


def _row(text: str, columns: int, path: str | Path, line: int) -> list[float]:
    fields = text.split()
    if len(fields) != columns or not all(_NUMBER.fullmatch(f) for f in fields):
        shown = text.strip() if len(text.strip()) <= 60 else text.strip()[:57] + "..."
        raise ReadError(path, f"expected {columns} numbers, found {shown!r}", line=line)
    return [float(f.replace(",", ".")) for f in fields]


def _spectrum(block: _Block, index: int, path: str | Path) -> Spectrum:
    frequency: list[float] = []
    impedance: list[complex] = []
    seen: set[float] = set()
    warnings: list[str] = []
    for line, (real, imag, f) in block.rows:
        if not (f > 0 and all(math.isfinite(v) for v in (real, imag, f))):
            warnings.append(f"dropped line {line}: f <= 0 or a non-finite value")
        elif f in seen:
            warnings.append(f"dropped line {line}: frequency {f:g} Hz repeats an earlier row")
        else:
            seen.add(f)
            frequency.append(f)
            impedance.append(complex(real, imag))
    if not frequency:
        raise ReadError(path, f"spectrum {index}: no impedance points", line=block.line)
    settings = block.settings
    extra: dict[str, object] = {"instrument": "Ivium", "format": "ivium"}
    method, technique = settings.get("Method", ""), settings.get("Technique", "")
    extra["technique"] = f"{method} ({technique})" if technique else method or "Impedance"
    process = _process_data(settings.get("Report.Process data", ""))
    for key, value in (
        ("title", settings.get("Title")),
        ("device", process.get("instrument")),
        ("serial_number", settings.get("serialnumber")),
        ("software", settings.get("software") or process.get("software vs")),
    ):
        if value:
            extra[key] = value
    extra["warnings"] = tuple(warnings)
    stamp = _timestamp(settings.get("starttime", "")) or _timestamp(process.get("start time", ""))
    meta = SpectrumMeta(source=str(path), index=index, timestamp=stamp, extra=extra)
    try:
        return Spectrum(frequency, impedance, meta)
    except SpectrumError as exc:
        raise ReadError(path, f"spectrum {index}: {exc}", line=block.line) from None


def _process_data(text: str) -> dict[str, str]:
    """``Report.Process data``: ``name : value`` items separated by ``\\x1c\\x1e``."""
    items = {}
    for item in re.split(r"[\x1c\x1e]+", text):
        name, colon, value = item.partition(":")
        if colon:
            items[name.strip().lower()] = value.strip()
    return items


def _timestamp(text: str) -> datetime | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


FORMATS = (
    FileFormat(
        name="ivium",
        description="Ivium IviumSoft data file (.idf) or data set (.ids)",
        extensions=(".idf", ".ids"),
        sniff=sniff_ivium,
        read=read_ivium,
    ),
)
