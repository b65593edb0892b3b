"""Princeton Applied Research (AMETEK): Parstat ASCII, PowerSuite ASCII, VersaStudio ``.par``.

**Parstat ASCII export** (impedance.py ``data/exampleDataParstat.txt``): line 1 names the
tab-separated columns ``Potential (V)  Current (A)  Elapsed Time (s)  Frequency (Hz)
Zre (ohms)  Zim (ohms)  |Vac| (V)  |Iac| (A)`` (a trailing tab ends every line).  One
row per data point of *every* segment of the experiment: rows of non-impedance segments
(here 782 rows of a galvanostatic hold) have Frequency = 0 and are dropped with a
warning.  ``Zim`` has the **physical sign** (negative on the capacitive arc of the
sample).  Columns are found by name.  No start date is written, so ``meta.timestamp``
is None; ``Elapsed Time (s)`` of each spectrum's first point is kept in
``meta.extra["elapsed_s"]``.

**PowerSuite ASCII export** (``exampleDataPowersuite.txt``): header ``Frequency  Zre
Zimg`` (tab separated, a space after each tab), then f (Hz), Z' (ohm), Z'' (ohm, physical
sign: negative over the whole capacitive sample); CR CR LF line ends; rising frequency.

**VersaStudio ``.par``** (``exampleDataVersaStudio.par``; VersaSTAT 4, VersaStudio 2.52):
sections ``<Name>`` ... ``</Name>`` at the start of a line, holding ``key=value`` lines:
``<Application>`` (``Name``, ``Version``), ``<Instrument>`` (``Type``, ``Model``),
``<Experiment>`` (``DateAcquired=Thursday, July 19, 2018``, ``TimeAcquired=9:40:30 AM``),
``<Action0>``, ``<Action1>``... (one per step; ``Name=Potentiostatic EIS``,
``Segments=k``: the step owns the next k segments, counted across actions;
``Start Frequency (Hz)``, ``End Frequency (Hz)``, ``Points Per Decade``, ``Point
Spacing``), then ``<Segment1>``... with ``Definition=`` naming the comma-separated
columns (``Segment #, Point #, E(V), I(A), Elapsed Time(s), ..., Frequency(Hz), ...,
Z Real, Z Imag, ...``) followed by the data rows.  Other sections (graphs, an XML dock
layout) are skipped.  A segment is an impedance segment when its Definition has
``Frequency(Hz)``, ``Z Real`` and ``Z Imag``; ``Z Imag`` has the **physical sign**
(-384 ohm at 0.13 Hz in the sample).  Every impedance segment gives its own spectra.
``meta.timestamp`` = DateAcquired + TimeAcquired + the elapsed time of the first point.
For a logarithmic sweep the planned count, round(ppd * |log10(f_start/f_end)|) + 1, is
compared to the rows (the sample: 61 of 73 points, stopped early -> a warning).

Sources: impedance.py ``preprocessing.readParstat``, ``readPowerSuite`` and
``readVersaStudio`` (which columns hold f and Z), and the sample files.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import Point, build_spectra, row_point
from .registry import FileFormat
from .sniffing import head_text, text_lines

__all__ = ["FORMATS", "read_parstat", "read_powersuite", "read_versastudio"]

_SECTION = re.compile(r"<([A-Za-z][A-Za-z0-9_]*)>")
_PARSTAT = ("frequency(hz)", "zre(ohms)", "zim(ohms)")
_POWERSUITE = ("frequency", "zre", "zimg")
_VERSA = ("frequency(hz)", "zreal", "zimag")


def _key(name: str) -> str:
    return "".join(name.split()).lower()


def _table(
    path: Path, names: tuple[str, str, str], time_name: str | None, extra: dict[str, str]
) -> list[Spectrum]:
    """A one-header-line tab-separated table whose columns ``names`` hold f, Z', Z''."""
    lines = text_lines(path)
    first = next((i for i, t in enumerate(lines) if t.strip()), None)
    if first is None:
        raise ReadError(path, "empty file")
    header = [_key(f) for f in lines[first].split("\t")]
    missing = [n for n in names if n not in header]
    if missing:
        raise ReadError(path, f"no column {missing[0]!r} in the header", line=first + 1)
    raw = [f.strip() for f in lines[first].split("\t")]
    columns = [(header.index(n), raw[header.index(n)]) for n in names]
    elapsed = (header.index(time_name), time_name) if time_name in header else None
    points = []
    for line, text in enumerate(lines[first + 1 :], start=first + 2):
        fields = [f.strip() for f in text.split("\t")]
        if any(fields):
            points.append(row_point(path, line, fields, columns, elapsed=elapsed))
    if not points:
        raise ReadError(path, "header but no data rows (empty export)", line=first + 1)
    return build_spectra(path, points, {**extra, "technique": "EIS"})


def read_parstat(path: Path) -> list[Spectrum]:
    """Read a Parstat multi-segment ASCII export (format: see the module docstring)."""
    extra = {"instrument": "Princeton Applied Research (Parstat)", "format": "parstat-txt"}
    return _table(path, _PARSTAT, "elapsedtime(s)", extra)


def read_powersuite(path: Path) -> list[Spectrum]:
    """Read a PowerSuite ASCII export (format: see the module docstring)."""
    extra = {"instrument": "Princeton Applied Research (PowerSuite)", "format": "powersuite-txt"}
    return _table(path, _POWERSUITE, None, extra)


def _sections(path: Path, lines: list[str]) -> list[tuple[str, int, list[tuple[int, str]]]]:
    """(name, line of the opening tag, [(line, text), ...]) for every top-level section."""
    sections: list[tuple[str, int, list[tuple[int, str]]]] = []
    current: tuple[str, int, list[tuple[int, str]]] | None = None
    for line, text in enumerate(lines, start=1):
        stripped = text.strip()
        if current is None:
            match = _SECTION.fullmatch(stripped)
            if match:
                current = (match.group(1), line, [])
        elif stripped == f"</{current[0]}>":
            sections.append(current)
            current = None
        else:
            current[2].append((line, text))
    if current is not None:
        raise ReadError(path, f"section <{current[0]}> never closed (truncated?)", line=current[1])
    return sections


def _values(body: list[tuple[int, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for _, text in body:
        key, sep, value = text.partition("=")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def _acquired(experiment: dict[str, str]) -> datetime | None:
    text = f"{experiment.get('DateAcquired', '')} {experiment.get('TimeAcquired', '')}".strip()
    for fmt in ("%A, %B %d, %Y %I:%M:%S %p", "%B %d, %Y %I:%M:%S %p", "%A, %B %d, %Y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _planned(action: dict[str, str]) -> int | None:
    try:
        start = float(action["Start Frequency (Hz)"])
        end = float(action["End Frequency (Hz)"])
        per_decade = float(action["Points Per Decade"])
    except (KeyError, ValueError):
        return None
    if not action.get("Point Spacing", "").lower().startswith("log") or start <= 0 or end <= 0:
        return None
    planned = per_decade * abs(math.log10(start / end))
    return round(planned) + 1 if math.isfinite(planned) else None


def read_versastudio(path: Path) -> list[Spectrum]:
    """Read a VersaStudio ``.par`` file (format: see the module docstring)."""
    sections = _sections(path, text_lines(path))
    if not sections:
        raise ReadError(path, "no <Section> ... </Section> blocks: not a VersaStudio .par file")
    info = {name: _values(body) for name, _, body in sections if not name.startswith("Segment")}
    owner: dict[int, dict[str, str]] = {}
    segment = 1
    for name, _, body in sections:
        if re.fullmatch(r"Action\d+", name):
            action = _values(body)
            segments = action.get("Segments", "")
            count = int(segments) if re.fullmatch(r"[0-9]+", segments) else 0
            for k in range(segment, segment + count):
                owner[k] = action
            segment += count
    application, instrument = info.get("Application", {}), info.get("Instrument", {})
    software = f"{application.get('Name', 'VersaStudio')} {application.get('Version', '')}"
    device = f"{instrument.get('Type', '')} {instrument.get('Model', '')}".strip()
    start = _acquired(info.get("Experiment", {}))
    spectra: list[Spectrum] = []
    for name, opened, body in sections:
        if not re.fullmatch(r"Segment\d+", name):
            continue
        action = owner.get(int(name[7:]), {})
        extra = {
            "instrument": f"Princeton Applied Research {device}".strip(),
            "software": software.strip(),
            "technique": action.get("Name"),
            "format": "versastudio-par",
            "segment": int(name[7:]),
        }
        points = _segment_points(path, opened, body)
        if points is None:
            continue
        for spectrum in build_spectra(
            path, points, extra, start=start, expected_points=_planned(action)
        ):
            spectra.append(spectrum.with_meta(index=len(spectra)))
    if not spectra:
        raise ReadError(path, "no impedance segment (with Frequency(Hz), Z Real, Z Imag rows)")
    return spectra


def _segment_points(path: Path, opened: int, body: list[tuple[int, str]]) -> list[Point] | None:
    """The rows of an impedance segment, or None for other segments."""
    definition = next((t for _, t in body if t.startswith("Definition=")), None)
    if definition is None:
        return None
    names = [_key(n) for n in definition.partition("=")[2].split(",")]
    if any(n not in names for n in _VERSA):
        return None
    columns = [(names.index(n), n) for n in _VERSA]
    elapsed = (names.index("elapsedtime(s)"), "time") if "elapsedtime(s)" in names else None
    width = f"{len(names)} fields as in the Definition"
    points = []
    for line, text in body:
        if "=" not in text and text.strip():
            fields = text.split(",")
            points.append(row_point(path, line, fields, columns, elapsed=elapsed, expected=width))
    if not points:
        raise ReadError(path, "impedance segment without data rows", line=opened)
    return points


def _first_fields(head: bytes) -> list[str]:
    first = next((t for t in head_text(head).splitlines() if t.strip()), "")
    return [_key(f) for f in first.split("\t")]


def _sniff_parstat(head: bytes, name: str) -> float:
    fields = _first_fields(head)
    return 0.9 if all(n in fields for n in _PARSTAT) else 0.0


def _sniff_powersuite(head: bytes, name: str) -> float:
    fields = _first_fields(head)
    return 0.9 if all(n in fields for n in _POWERSUITE) else 0.0


def _sniff_versastudio(head: bytes, name: str) -> float:
    text = head_text(head)
    if text.lstrip().startswith("<Application>") and "Name=VersaStudio" in text:
        return 0.95
    if "\n<Segment1>" in text and "Definition=" in text:
        return 0.9
    return 0.3 if name.endswith(".par") else 0.0


FORMATS = (
    FileFormat(
        name="parstat-txt",
        description="Princeton Applied Research Parstat multi-segment ASCII export",
        extensions=(".txt",),
        sniff=_sniff_parstat,
        read=read_parstat,
    ),
    FileFormat(
        name="powersuite-txt",
        description="Princeton Applied Research PowerSuite ASCII export (Frequency, Zre, Zimg)",
        extensions=(".txt",),
        sniff=_sniff_powersuite,
        read=read_powersuite,
    ),
    FileFormat(
        name="versastudio-par",
        description="Princeton Applied Research VersaStudio .par",
        extensions=(".par",),
        sniff=_sniff_versastudio,
        read=read_versastudio,
    ),
)
