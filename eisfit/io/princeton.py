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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import ReadError
from ..spectrum import Spectrum
from ._text_table import Field, Point, build_spectra, row_point
from .registry import FileFormat
from .sniffing import head_text, iter_lines

__all__ = ["FORMATS", "read_parstat", "read_powersuite", "read_versastudio"]

_SECTION = re.compile(r"<([A-Za-z][A-Za-z0-9_]*)>")
_KEPT = re.compile(r"Application|Instrument|Experiment|Action\d+")  # key=value sections read
_SEGMENT = re.compile(r"Segment\d+")
_MAX_SECTION_LINES = 10_000  # an Action holds ~20 lines
_PARSTAT = ("frequency(hz)", "zre(ohms)", "zim(ohms)")
_POWERSUITE = ("frequency", "zre", "zimg")
_VERSA = ("frequency(hz)", "zreal", "zimag")


def _key(name: str) -> str:
    return "".join(name.split()).lower()


def _table(
    path: Path, names: tuple[str, str, str], time_name: str | None, extra: dict[str, str]
) -> list[Spectrum]:
    """A one-header-line tab-separated table whose columns ``names`` hold f, Z', Z''."""
    lines = iter_lines(path)
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        raise ReadError(path, "empty file")
    header = [_key(f) for f in first[1].split("\t")]
    missing = [n for n in names if n not in header]
    if missing:
        raise ReadError(path, f"no column {missing[0]!r} in the header", line=first[0])
    raw = [f.strip() for f in first[1].split("\t")]
    columns = [(header.index(n), raw[header.index(n)]) for n in names]
    elapsed = (header.index(time_name), time_name) if time_name in header else None
    points = []
    for line, text in lines:
        fields = [f.strip() for f in text.split("\t")]
        if any(fields):
            points.append(row_point(path, line, fields, columns, elapsed=elapsed))
    if not points:
        raise ReadError(path, "header but no data rows (empty export)", line=first[0])
    return build_spectra(path, points, {**extra, "technique": "EIS"})


def read_parstat(path: Path) -> list[Spectrum]:
    """Read a Parstat multi-segment ASCII export (format: see the module docstring)."""
    extra = {"instrument": "Princeton Applied Research (Parstat)", "format": "parstat-txt"}
    return _table(path, _PARSTAT, "elapsedtime(s)", extra)


def read_powersuite(path: Path) -> list[Spectrum]:
    """Read a PowerSuite ASCII export (format: see the module docstring)."""
    extra = {"instrument": "Princeton Applied Research (PowerSuite)", "format": "powersuite-txt"}
    return _table(path, _POWERSUITE, None, extra)


Body = list[tuple[int, str]]


@dataclass
class _Section:
    """One top-level ``<Name>`` ... ``</Name>`` block: its key=value lines, or for a
    ``<SegmentN>`` its rows, parsed as they are read."""

    name: str
    opened: int  # line of the opening tag
    body: Body = field(default_factory=list)
    segment: _SegmentRows | None = None


class _SegmentRows:
    """The rows of one ``<SegmentN>``: after its ``Definition=`` line, each row is parsed
    when read (a row that is not numbers stops the reading); rows of a segment that is
    not impedance (no Frequency(Hz), Z Real, Z Imag) are skipped, not kept."""

    def __init__(self, path: Path, opened: int) -> None:
        self.path, self.opened = path, opened
        self.layout: tuple[list[Field], Field | None, str] | None = None
        self.impedance = False
        self.early = 0  # rows before the Definition line
        self.points: list[Point] = []

    def add(self, line: int, text: str) -> None:
        if text.startswith("Definition="):
            if self.layout is not None or self.impedance:
                return  # the first Definition counts
            if self.early:
                message = f"{self.early} data row(s) before the Definition= line"
                raise ReadError(self.path, message, line=line)
            names = [_key(n) for n in text.partition("=")[2].split(",")]
            if all(n in names for n in _VERSA):
                columns = [(names.index(n), n) for n in _VERSA]
                time = names.index("elapsedtime(s)") if "elapsedtime(s)" in names else None
                width = f"{len(names)} fields as in the Definition"
                self.layout = (columns, None if time is None else (time, "time"), width)
            self.impedance = self.layout is not None
            self.early = -1  # the Definition was seen
        elif "=" not in text and text.strip():
            if self.layout is not None:
                columns, elapsed, width = self.layout
                fields = text.split(",")
                self.points.append(
                    row_point(self.path, line, fields, columns, elapsed=elapsed, expected=width)
                )
            elif self.early >= 0:
                self.early += 1

    def result(self) -> list[Point] | None:
        """The points of an impedance segment, or None for other segments."""
        if self.layout is None:
            return None
        if not self.points:
            raise ReadError(self.path, "impedance segment without data rows", line=self.opened)
        return self.points


def _sections(path: Path, lines: Iterator[tuple[int, str]]) -> list[_Section]:
    """Every top-level section, read as the lines come.

    A non-blank line outside any section is not .par (stop); segment rows are parsed as
    they are read (`_SegmentRows`); the bodies of sections that are not read (graphs,
    views, the XML dock layout) are skipped, and a kept key=value section longer than
    `_MAX_SECTION_LINES` is refused.
    """
    sections: list[_Section] = []
    current: _Section | None = None
    for line, text in lines:
        stripped = text.strip()
        if current is None:
            match = _SECTION.fullmatch(stripped)
            if match:
                name = match.group(1)
                current = _Section(name, line)
                if _SEGMENT.fullmatch(name):
                    current.segment = _SegmentRows(path, line)
            elif stripped:
                shown = stripped if len(stripped) <= 40 else stripped[:37] + "..."
                message = f"text {shown!r} outside any <Section> ... </Section> block"
                raise ReadError(path, message + ": not a VersaStudio .par file", line=line)
        elif stripped == f"</{current.name}>":
            sections.append(current)
            current = None
        elif current.segment is not None:
            current.segment.add(line, text)
        elif _KEPT.fullmatch(current.name):
            if len(current.body) >= _MAX_SECTION_LINES:
                message = f"section <{current.name}> is longer than {_MAX_SECTION_LINES} lines"
                raise ReadError(path, message + ": not a VersaStudio .par file", line=line)
            current.body.append((line, text))
    if current is not None:
        raise ReadError(path, f"section <{current.name}> never closed (truncated?)",
                        line=current.opened)  # fmt: skip
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
    sections = _sections(path, iter_lines(path))
    if not sections:
        raise ReadError(path, "no <Section> ... </Section> blocks: not a VersaStudio .par file")
    info = {s.name: _values(s.body) for s in sections if s.segment is None}
    owner: dict[int, dict[str, str]] = {}
    segment = 1
    for section in sections:
        if re.fullmatch(r"Action\d+", section.name):
            action = _values(section.body)
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
    for section in sections:
        if section.segment is None:
            continue
        number_ = int(section.name[7:])
        action = owner.get(number_, {})
        extra = {
            "instrument": f"Princeton Applied Research {device}".strip(),
            "software": software.strip(),
            "technique": action.get("Name"),
            "format": "versastudio-par",
            "segment": number_,
        }
        points = section.segment.result()
        if points is None:
            continue
        for spectrum in build_spectra(
            path, points, extra, start=start, expected_points=_planned(action)
        ):
            spectra.append(spectrum.with_meta(index=len(spectra)))
    if not spectra:
        raise ReadError(path, "no impedance segment (with Frequency(Hz), Z Real, Z Imag rows)")
    return spectra


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
