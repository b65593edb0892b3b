"""Gamry Framework data files (.DTA, the "EXPLAIN" format): impedance curves.

Layout (text, Windows-1252; tab-separated):

* line 1 ``EXPLAIN``, then one keyword per line: ``KEY<TAB>TYPE<TAB>value...``, e.g.
  ``TAG EISPOT`` (``GALVEIS`` for galvanostatic EIS), ``TITLE LABEL Potentiostatic EIS``,
  ``DATE LABEL 3/18/2020``, ``TIME LABEL 16:54:44[.727375]``, ``PSTAT PSTAT REF600P-36072``,
  ``FREQINIT/FREQFINAL/PTSPERDEC QUANT``, ``AREA QUANT`` (cm²), ``DRIFTCOR SELECTOR``,
  ``FRAMEWORKVERSION LABEL 7.8.2``, ``EXPERIMENTABORTED TOGGLE T``.
* a table is ``NAME<TAB>TABLE[<TAB>count]``, a column-name row, a units row, then rows
  that start with whitespace.  Impedance curves are tables named ``ZCURVE`` (any table
  whose name ends in ``ZCURVE`` and has the columns is read): each is one spectrum, in
  file order.  Other tables (``OCVCURVE``, ``FRACURVE``...) are skipped.
* columns found by name: ``Freq`` (Hz), ``Zreal``, ``Zimag`` (ohm; Zimag is signed, < 0
  for a capacitive arc, the physical sign: checked against ``Zphz`` in the tests);
  ``Zmod``/``Zphz`` (degrees) are used only when Zreal/Zimag are missing; ``Time`` (s),
  ``Temp`` (°C) optional; others (``Pt``, ``Zsig``, ``Idc``, ``Vdc``, ``IERange``...) are
  ignored.  Rows are split on any whitespace (hand-edited files use spaces).
* numbers: ``1.23E-006``, or decimal commas from European installs (``109,0091``).
* drift correction (``DRIFTCOR`` on, columns ``ZrealDrCor``/``ZimagDrCor``): the curve gives
  two spectra, the drift-corrected one first, then the uncorrected one (pyimpspec's order),
  flagged by ``extra["drift_corrected"]``.
* ``EXPERIMENTABORTED TOGGLE T``: the run was stopped; the points written are returned and
  ``extra["warnings"]`` says "aborted run: N of M planned points" (M from FREQINIT,
  FREQFINAL and PTSPERDEC when they predict more points than were written).
* ``meta.timestamp`` is DATE + TIME, the start of the experiment as written (Gamry's
  ``Time`` column counts from the start of each curve, not from DATE/TIME).  DATE is in
  the Windows short-date format of the PC: ``M/D/YYYY`` (US), ``D.M.YYYY`` (German),
  ``D-M-YYYY``, ``YYYY-MM-DD``.  With ``/`` the order is month first unless a date in the
  file (DATE, DCCALDATE, ACCALDATE) has a first field above 12; an ambiguous date read
  month first gets a warning.  ``meta.temperature_k``: median of ``Temp`` when it reads
  between -150 and 1000 °C (the column holds -327.63 or 1395 without a thermocouple).
* ``meta.extra``: ``format`` (``gamry-dta``), ``instrument`` (``Gamry`` + PSTAT label),
  ``technique`` (TAG), ``technique_name`` (TITLE), ``software`` (Framework version),
  ``electrode_area_cm2``, ``drift_corrected``, ``curve``, ``warnings``.

Sources: Gamry's EXPLAIN files of the shared corpus (Framework 7.05 to 7.10, EISPOT and
GALVEIS, US and European locales, aborted and drift-corrected runs); impedance.py
``readGamry`` and pyimpspec ``parse_dta`` (column positions, drift-correction order);
bcliang/gamry-parser (EXPERIMENTABORTED).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import ReadError
from ..spectrum import Spectrum
from .registry import FileFormat
from .sniffing import head_text, iter_lines, make_spectrum, number

__all__ = ["FORMATS", "read_dta", "sniff_dta"]

_DATE = re.compile(r"\s*(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})\s*$")
_TIME = re.compile(r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*$")
_DATE_KEYS = ("DATE", "DCCALDATE", "ACCALDATE")
_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:\s|$)")  # TAG, ZCURVE, PSTATSERIALNO...


def sniff_dta(head: bytes, name: str) -> float:
    """``EXPLAIN`` first line -> 0.9 (0.95 with an impedance curve or TAG line)."""
    text = head_text(head).lstrip("\ufeff")
    if text.partition("\n")[0].strip() == "EXPLAIN":
        return 0.95 if ("ZCURVE" in text or "\nTAG\t" in text) else 0.9
    return 0.2 if name.lower().endswith(".dta") else 0.0


def read_dta(path: str | Path) -> list[Spectrum]:
    """Read every impedance curve of a Gamry .DTA file (format: module docstring)."""
    lines = iter_lines(path)
    first = next(lines)[1]
    if first.lstrip("\ufeff").strip() != "EXPLAIN":
        shown = first[:60] if first.strip() else "empty"
        raise ReadError(path, f"not a Gamry EXPLAIN file: line 1 is {shown!r}", line=1)
    keys, curves = _tables(path, lines)
    if not curves:
        tag = _value(keys, "TAG", 0) or "?"
        raise ReadError(path, f"no impedance curve (ZCURVE table) in this Gamry file (TAG {tag})")
    extra, warnings = _metadata(keys)
    timestamp = _timestamp(keys, warnings)
    variants = [
        (number_, variant)
        for number_, (header_line, names, rows) in enumerate(curves)
        for variant in _curve(path, header_line, names, rows, keys, warnings)
    ]
    spectra: list[Spectrum] = []
    for number_, (drift, f, z, temperature_k, line) in variants:
        curve_extra = {**extra, "curve": number_, "drift_corrected": drift}
        spectra.append(
            make_spectrum(
                path, len(spectra), f, z, line=line, timestamp=timestamp,
                temperature_k=temperature_k, extra={**curve_extra, "warnings": tuple(warnings)},
            )
        )  # fmt: skip
    return spectra


Curve = tuple[int, list[str], list[tuple[int, str]]]  # keyword line, column names, rows


def _tables(
    path: str | Path, lines: Iterator[tuple[int, str]]
) -> tuple[dict[str, list[str]], list[Curve]]:
    """The keywords (first occurrence of each) and the impedance curves after line 1.

    Read as the lines come: a line that is neither a keyword line (``KEY<TAB>...``), an
    indented line (table rows, note text) nor blank is not EXPLAIN format (stop); rows of
    tables that are not impedance curves are skipped, not kept.
    """
    keys: dict[str, list[str]] = {}
    curves: list[Curve] = []
    item = next(lines, None)
    while item is not None:
        line, text = item
        fields = text.split("\t")
        item = next(lines, None)
        if not fields[0].strip() or text[:1].isspace():
            continue
        if not _KEYWORD.match(text):
            shown = text.strip()[:40]
            raise ReadError(path, f"not a Gamry keyword line: {shown!r}", line=line)
        keys.setdefault(fields[0].strip(), [f.strip() for f in fields[1:]])
        if len(fields) > 1 and fields[1].strip() == "TABLE":
            names = item[1].split() if item is not None else []
            units = next(lines, None) if item is not None else None  # the units row
            item = next(lines, None) if units is not None else None
            wanted = fields[0].strip().endswith("ZCURVE") or {"Freq", "Zreal"} <= set(names)
            rows: list[tuple[int, str]] = []
            while item is not None and item[1][:1].isspace() and item[1].strip():
                if wanted:
                    rows.append(item)
                item = next(lines, None)
            if wanted:
                curves.append((line, names, rows))
    return keys, curves


def _value(keys: dict[str, list[str]], key: str, position: int = 1) -> str:
    """Field ``position`` after the keyword (1: the value after the type), or ""."""
    fields = keys.get(key, [])
    return fields[position] if len(fields) > position else ""


def _metadata(keys: dict[str, list[str]]) -> tuple[dict[str, object], list[str]]:
    def value(key: str, position: int = 1) -> str:
        return _value(keys, key, position)

    extra: dict[str, object] = {"format": "gamry-dta", "instrument": "Gamry"}
    if pstat := value("PSTAT"):
        extra["instrument"] = f"Gamry {pstat}"
    if tag := value("TAG", 0):
        extra["technique"] = tag
    if title := value("TITLE"):
        extra["technique_name"] = title
    if version := value("FRAMEWORKVERSION"):
        extra["software"] = f"Gamry Framework {version}"
    area = number(value("AREA"), decimal_comma=True)
    if area is not None and math.isfinite(area) and area > 0:
        extra["electrode_area_cm2"] = area
    return extra, []


def _curve(
    path: str | Path,
    header_line: int,
    names: list[str],
    rows: list[tuple[int, str]],
    keys: dict[str, list[str]],
    warnings: list[str],
) -> list[tuple[bool, list[float], list[complex], float | None, int]]:
    column = {name: i for i, name in reversed(list(enumerate(names)))}
    if "Freq" not in column or not ({"Zreal", "Zimag"} <= column.keys()
                                    or {"Zmod", "Zphz"} <= column.keys()):  # fmt: skip
        raise ReadError(path, f"impedance curve without Freq, Zreal, Zimag columns ({names})",
                        line=header_line + 1)  # fmt: skip
    if not rows:
        raise ReadError(path, "the impedance curve holds no data rows", line=header_line + 3)
    table = np.full((len(rows), len(names)), np.nan)
    for k, (line, text) in enumerate(rows):
        fields = text.split()
        if len(fields) != len(names):
            message = f"expected {len(names)} fields, found {len(fields)} (truncated row?)"
            raise ReadError(path, message, line=line)
        for j, field in enumerate(fields):
            value = number(field, decimal_comma=True)
            if value is None and names[j] in ("Freq", "Zreal", "Zimag", "Zmod", "Zphz"):
                raise ReadError(path, f"non-numeric {names[j]} value {field[:40]!r}", line=line)
            table[k, j] = np.nan if value is None else value
    f = table[:, column["Freq"]]
    if {"Zreal", "Zimag"} <= column.keys():
        z = _complex(table[:, column["Zreal"]], table[:, column["Zimag"]])
    else:
        modulus, phase = table[:, column["Zmod"]], np.deg2rad(table[:, column["Zphz"]])
        with np.errstate(all="ignore"):
            z = _complex(modulus * np.cos(phase), modulus * np.sin(phase))
        warnings.append("no Zreal/Zimag columns: Z computed from Zmod and Zphz")
    _aborted(keys, len(rows), warnings)
    temperature_k = _temperature(table[:, column["Temp"]] if "Temp" in column else None, warnings)
    first = rows[0][0]
    plain = (False, f.tolist(), z.tolist(), temperature_k, first)
    drift_on = _value(keys, "DRIFTCOR") not in ("", "0")
    if drift_on and {"ZrealDrCor", "ZimagDrCor"} <= column.keys():
        corrected = _complex(table[:, column["ZrealDrCor"]], table[:, column["ZimagDrCor"]])
        return [(True, f.tolist(), corrected.tolist(), temperature_k, first), plain]
    return [plain]


def _complex(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """``real + j imag`` without arithmetic (no warnings for inf or NaN parts)."""
    out = np.empty(real.shape, dtype=complex)
    out.real, out.imag = real, imag
    return out


def _aborted(keys: dict[str, list[str]], n_points: int, warnings: list[str]) -> None:
    if _value(keys, "EXPERIMENTABORTED") != "T" or any(w.startswith("aborted") for w in warnings):
        return
    planned = None
    values = [number(_value(keys, k), decimal_comma=True)
              for k in ("FREQINIT", "FREQFINAL", "PTSPERDEC")]  # fmt: skip
    if all(v is not None and math.isfinite(v) and v > 0 for v in values):
        fi, ff, ppd = (float(v) for v in values if v is not None)
        planned = round(abs(math.log10(fi / ff)) * ppd) + 1
    if planned is not None and planned > n_points:
        warnings.append(f"aborted run: {n_points} of {planned} planned points (EXPERIMENTABORTED)")
    else:
        warnings.append(f"aborted run (EXPERIMENTABORTED): {n_points} points recorded")


def _temperature(values: np.ndarray | None, warnings: list[str]) -> float | None:
    if values is None or not np.isfinite(values).any():
        return None
    median = float(np.nanmedian(values))
    if -150.0 < median < 1000.0:
        return median + 273.15
    note = f"Temp column reads {median:g} °C: implausible (no thermocouple?), not used"
    if note not in warnings:
        warnings.append(note)
    return None


def _date_parts(text: str) -> tuple[int, int, int, str] | None:
    match = _DATE.match(text)
    if not match:
        return None
    a, separator, b, c = match.groups()
    return int(a), int(b), int(c), separator


def _timestamp(keys: dict[str, list[str]], warnings: list[str]) -> datetime | None:
    date_text, time_text = _value(keys, "DATE"), _value(keys, "TIME")
    parts, clock = _date_parts(date_text), _TIME.match(time_text)
    if parts is None or clock is None:
        if date_text or time_text:
            warnings.append(f"DATE {date_text!r} / TIME {time_text!r} not readable: no timestamp")
        return None
    a, b, c, separator = parts
    if a > 31:  # YYYY-MM-DD
        year, month, day = a, b, c
    elif separator == "/":
        others = [_date_parts(_value(keys, k)) for k in _DATE_KEYS]
        day_first = any(p is not None and p[3] == "/" and p[0] > 12 for p in others)
        month_first = any(p is not None and p[3] == "/" and p[1] > 12 for p in others)
        year, month, day = (c, b, a) if day_first and not month_first else (c, a, b)
        if not (day_first or month_first) and a != b:
            warnings.append(f"DATE {date_text!r} is ambiguous: read month first (US)")
    else:  # D.M.YYYY (German) or D-M-YYYY
        year, month, day = c, b, a
    hour, minute, second, fraction = clock.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year + (2000 if year < 100 else 0), month, day,
                        int(hour), int(minute), int(second or 0), micro)  # fmt: skip
    except ValueError:
        warnings.append(f"DATE {date_text!r} / TIME {time_text!r} not a valid date: no timestamp")
        return None


FORMATS = (
    FileFormat(
        name="gamry-dta",
        description="Gamry Framework EXPLAIN data file (.DTA): impedance curves",
        extensions=(".dta",),
        sniff=sniff_dta,
        read=read_dta,
    ),
)
