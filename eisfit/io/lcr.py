"""|Z| / phase exports of LCR meters and impedance analysers, and gain files that are not Z.

**LCR-meter |Z|-theta ASCII** (``lcr-ztheta``; a temperature series of an LATP thesis,
m0l0t0ph/thesis ``Impedanzmessungen/LATP_LMNO``; the meter's software is not named):

* latin-1 text, tab separated, **decimal comma**.  Line 1 ``Time: 14:25; Datum:
  22.07.2015`` (start, DD.MM.YYYY), then ``Sample Area [sqmm]: 0,000``,
  ``Sample Thickness [mm]: 0,000``, ``Voltage Level [V]: 0,010``, blank lines.
* Column line ``F[Hz]  Z[Ohm]  Theta  Temperatur[°C]`` (fields separated by two tabs),
  then rows ``f |Z| theta`` (one tab, the temperature column is never filled).
  Z = |Z| (cos theta + j sin theta), theta in degrees with the physical sign (-64° on a
  capacitive arc).  The temperature is in the file name (``..._  42°C.txt``) and goes
  to ``meta.temperature_k``.  Rows are read by `eisfit.io.csv`'s table engine (so a
  repeated frequency starts a new spectrum, f = 0 / NaN rows are dropped with a warning).

**Agilent / Keysight 4294A ASCII** (``agilent-4294a``; ethz-pes/impedance_analyzer_4294A
``data/impedance.txt`` and its ``utils/read_4294A.m``): line 1 ``4294A REV1.11``, quoted
``"KEY: value"`` lines (``DATE: Jan 25 2018``, ``MEASURE PARAMETER: IMPEDANCE MAG PHASE
(DEG)``, ``NUMBER of POINTS: 534``), then two blocks ``"TRACE: A"`` and ``"TRACE: B"``,
each with a column line ``"Frequency" "Data Trace Real" "Data Trace Imag"`` and tab
separated rows.  Trace A holds |Z| (ohm), trace B the phase (degrees, or radians when
the parameter says ``(RAD)``), both in their "Real" column; Z = |Z| exp(j phase).  Other
measure parameters (admittance, Cp-D...) are refused, as are traces whose frequencies
differ or repeat.  Fewer rows than ``NUMBER of POINTS``: an aborted sweep, read with a
warning.

**Zahner Thales CSV** (``zahner-csv``; Zahner-elektrik/Thales-Remote-Python
``Examples/EISCVLaTeX/EIS.csv``): header ``Frequency;Impedance;Phase``, ``;`` separated
rows; numbers carry SI prefixes (``735.948m``, ``1.462k``).  Impedance is |Z| in ohm,
phase in degrees with the physical sign (-88° capacitive).

**Frequency-response-analyser gain files** (``fra-gain``; Liquid Instruments Moku:Go FRA
CSV with ``% Moku:Go Frequency Response Analyzer`` comment lines, Rohde & Schwarz scope
FRA CSV with ``Gain in dB`` columns; j-zimmermann/ImpedanceFitter ``tests``): these hold
a transfer function (gain and phase of a shunt network), not an impedance.  They are
recognised so that reading them fails with a clear `UnsupportedFormatError` instead of
being misread as Z.
"""

from __future__ import annotations

import cmath
import math
import re
from datetime import datetime
from itertools import chain, islice
from pathlib import Path

from ..errors import ReadError, UnsupportedFormatError
from ..spectrum import Spectrum
from ._rows import spectra_from_rows
from .registry import FileFormat
from .sniffing import head_text, is_binary, iter_lines, make_spectrum, number, split_fields

__all__ = ["FORMATS", "read_4294a", "read_lcr_ztheta", "read_zahner_csv"]

_LCR_START = re.compile(r"^\s*Time:\s*(\d{1,2}):(\d{2});\s*Datum:\s*(\d{1,2})\.(\d{1,2})\.(\d{4})")
_LCR_HEADER = re.compile(r"^\s*F\s*\[Hz\]\s*\t", re.I)
_MAX_HEADER_LINES = 200  # the column line comes after ~6 header lines; junk stops here
_4294A_KEY = re.compile(r"[A-Za-z][A-Za-z0-9 ()/_.&+-]*")  # "NUMBER of POINTS", "BW"...
_NAME_TEMPERATURE = re.compile(
    r"(-?\d+(?:[.,]\d+)?)\s*(?:°|\udcb0|\ufffd|deg)?\s*C(?:_\d+)?\.", re.I
)
_LCR_KEYS = {
    "sample area [sqmm]": "sample_area_mm2",
    "sample thickness [mm]": "sample_thickness_mm",
    "voltage level [v]": "ac_amplitude_v",
}
_SI = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}


def read_lcr_ztheta(path: Path) -> list[Spectrum]:
    """Read an LCR-meter |Z|-theta temperature-point file (see the module docstring)."""
    lines = iter_lines(path)
    meta: dict[str, object] = {"format": "lcr-ztheta", "instrument": "LCR meter"}
    meta["technique"] = "impedance sweep (|Z|, theta)"
    first, header = "", None
    for line, text in islice(lines, _MAX_HEADER_LINES):
        if _LCR_HEADER.match(text):
            header = (line, [f for f in text.split("\t") if f.strip()])
            break
        first = first or (text if line == 1 else "")
        key, _, value = text.partition(":")
        amount = number(value, decimal_comma=True)
        if key.strip().lower() in _LCR_KEYS and amount:  # 0 means "not entered"
            meta[_LCR_KEYS[key.strip().lower()]] = amount
    if header is None:
        message = f"no column line 'F[Hz]  Z[Ohm]  Theta' in the first {_MAX_HEADER_LINES} lines"
        raise ReadError(path, message)
    rows = chain([header], ((i, split_fields(text, "\t")) for i, text in lines if text.strip()))
    spectra = spectra_from_rows(path, rows, decimal_comma=True, extra=meta)
    found = _LCR_START.match(first)
    timestamp = None
    if found:
        hour, minute, day, month, year = (int(g) for g in found.groups())
        try:
            timestamp = datetime(year, month, day, hour, minute)
        except ValueError:
            raise ReadError(path, f"invalid date or time {first.strip()!r}", line=1) from None
    kelvin = None
    if match := _NAME_TEMPERATURE.search(Path(path).name):
        kelvin = float(match.group(1).replace(",", ".")) + 273.15
    return [s.with_meta(timestamp=timestamp, temperature_k=kelvin) for s in spectra]


def read_4294a(path: Path) -> list[Spectrum]:
    """Read an Agilent 4294A |Z|/phase ASCII export (see the module docstring)."""
    header: dict[str, str] = {}
    traces: dict[str, list[tuple[int, float, float]]] = {}
    current = None
    for line, text in iter_lines(path):
        stripped = text.strip().strip('"')
        if not stripped or stripped.startswith("Frequency") or stripped.startswith("4294A"):
            continue
        fields = split_fields(text, "\t")
        if len(fields) == 3 and all(number(f) is not None for f in fields):
            if current is None:
                raise ReadError(path, "data row before any 'TRACE:' line", line=line)
            f, value, _ = (number(x) for x in fields)
            traces[current].append((line, f, value))  # type: ignore[arg-type]
            continue
        key, colon, value = stripped.partition(":")
        if not colon or not _4294A_KEY.fullmatch(key.strip()):
            raise ReadError(path, f"unexpected line {stripped[:40]!r}", line=line)
        header[key.strip().upper()] = value.strip()
        if key.strip().upper() == "TRACE":
            current = value.strip().upper()
            traces[current] = []
    parameter = header.get("MEASURE PARAMETER", "")
    if not re.search(r"IMPEDANCE MAG PHASE \((DEG|RAD)\)", parameter):
        raise ReadError(path, f"measure parameter {parameter!r} is not 'IMPEDANCE MAG PHASE'")
    if set(traces) != {"A", "B"} or len(traces["A"]) != len(traces["B"]):
        sizes = {k: len(v) for k, v in traces.items()}
        raise ReadError(path, f"need traces A (|Z|) and B (phase) of equal length, found {sizes}")
    scale = 1.0 if "RAD" in parameter else math.pi / 180.0
    for (line, fa, _), (_, fb, _) in zip(traces["A"], traces["B"], strict=True):
        if abs(fa - fb) > 1e-9 * abs(fa):
            raise ReadError(path, f"trace B frequency {fb:g} differs from trace A's", line=line)
    pairs = zip(traces["A"], traces["B"], strict=True)
    z = [mod * cmath.exp(1j * phase * scale) for (_, _, mod), (_, _, phase) in pairs]
    warnings = []
    planned = number(header.get("NUMBER OF POINTS", ""))
    if planned is not None and planned > len(z):
        warnings.append(f"aborted sweep: {len(z)} of {planned:g} points")
    timestamp = _date_4294a(header.get("DATE", ""))
    extra = {"format": "agilent-4294a", "instrument": "Agilent 4294A", "warnings": tuple(warnings)}
    extra["technique"] = parameter
    first = traces["A"][0][0] if traces["A"] else None
    f = [fa for _, fa, _ in traces["A"]]
    return [make_spectrum(path, 0, f, z, line=first, timestamp=timestamp, extra=extra)]


def read_zahner_csv(path: Path) -> list[Spectrum]:
    """Read a Zahner Thales ``Frequency;Impedance;Phase`` CSV (see the module docstring)."""
    rows = (
        (line, [_si_number(f) if k else f for f in split_fields(text, ";")])
        for k, (line, text) in enumerate((n, t) for n, t in iter_lines(path) if t.strip())
    )
    extra = {"format": "zahner-csv", "instrument": "Zahner Thales", "technique": "EIS"}
    return spectra_from_rows(path, rows, decimal_comma=True, extra=extra)


def read_fra_gain(path: Path) -> list[Spectrum]:
    """Refuse a frequency-response-analyser gain file: it is not an impedance."""
    raise UnsupportedFormatError(
        path,
        "this is a frequency response analyser export (gain in dB and phase of a transfer"
        " function, e.g. Moku:Go or Rohde & Schwarz FRA), not an impedance spectrum;"
        " convert the gain to Z with your shunt values first and save f, Z', Z'' as CSV",
    )


def _date_4294a(text: str) -> datetime | None:
    """``Jan 25 2018`` (English month abbreviations, whatever the locale)."""
    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    found = re.fullmatch(r"([A-Za-z]{3})\s+(\d{1,2})\s+(\d{4})", text.strip())
    if not found or found.group(1).lower() not in months:
        return None
    month = months.index(found.group(1).lower()) + 1
    try:
        return datetime(int(found.group(3)), month, int(found.group(2)))
    except ValueError:
        return None


def _si_number(text: str) -> str | float:
    text = text.strip()
    if text and text[-1] in _SI and (value := number(text[:-1], decimal_comma=True)) is not None:
        return value * _SI[text[-1]]
    return text


def _lines(head: bytes) -> list[str]:
    return [] if is_binary(head) else head_text(head).replace("\r", "\n").split("\n")[:40]


def _sniff_lcr(head: bytes, name: str) -> float:
    lines = _lines(head)
    if lines and _LCR_START.match(lines[0]):
        return 0.95
    return 0.9 if any(_LCR_HEADER.match(t) and "theta" in t.lower() for t in lines) else 0.0


def _sniff_4294a(head: bytes, name: str) -> float:
    lines = _lines(head)
    return 0.95 if lines and lines[0].strip().startswith("4294A") else 0.0


def _sniff_zahner_csv(head: bytes, name: str) -> float:
    lines = _lines(head)
    first = "".join(lines[0].split()).lower() if lines else ""
    return 0.9 if first == "frequency;impedance;phase" else 0.0


def _sniff_fra_gain(head: bytes, name: str) -> float:
    text = "\n".join(_lines(head)[:12]).lower()
    if "moku" in text and "frequency response analyzer" in text:
        return 0.95
    return 0.9 if "frequency in hz" in text and "gain in db" in text else 0.0


FORMATS = (
    FileFormat(
        "lcr-ztheta",
        "LCR meter |Z|-theta ASCII (decimal comma)",
        (".txt",),
        _sniff_lcr,
        read_lcr_ztheta,
    ),
    FileFormat(
        "agilent-4294a",
        "Agilent/Keysight 4294A |Z|-phase ASCII",
        (".txt",),
        _sniff_4294a,
        read_4294a,
    ),
    FileFormat(
        "zahner-csv",
        "Zahner Thales CSV (Frequency;Impedance;Phase)",
        (".csv",),
        _sniff_zahner_csv,
        read_zahner_csv,
    ),
    FileFormat(
        "fra-gain",
        "FRA gain/phase CSV (Moku:Go, R&S): refused, not impedance",
        (".csv",),
        _sniff_fra_gain,
        read_fra_gain,
    ),
)
