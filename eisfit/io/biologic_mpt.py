"""BioLogic EC-Lab / BT-Lab text exports (.mpt), and the .mps settings file (rejected).

Layout of an .mpt (tab-separated text, any EC-Lab version seen: 10.33 to 11.61):

* line 1 ``EC-Lab ASCII FILE`` (``BT-Lab ASCII FILE`` from BT-Lab), line 2
  ``Nb header lines : N``: the file's first N lines are header, line N is the column
  header, data rows follow.  ``N = 3`` means no settings block.
* header lines 3 to N-1: the technique's full name on line 4 (``Potentio Electrochemical
  Impedance Spectroscopy`` = PEIS, ``Galvano ...`` = GEIS), then ``key : value`` lines:
  ``Acquisition started on : MM/DD/YYYY HH:MM:SS[.fff]`` (EC-Lab writes month first with
  the separator of the Windows locale: ``08.27.2015``, ``01/10/2024``; see `_biologic`),
  ``Device : SP-150 (SN ...)``, ``EC-Lab for windows v11.18 (software)``,
  ``Electrode surface area : 0.001 cm²`` (0.001 is EC-Lab's default, kept as written),
  ``Time format : Elapsed | Absolute ...`` and ``Loop k from point number a to b``.
* columns are found by name, case-insensitively: ``freq/Hz``, ``Re(Z)/Ohm``,
  ``-Im(Z)/Ohm`` (EC-Lab stores -Im(Z), positive for a capacitive arc; it is negated to
  the physical sign; a plain ``Im(Z)/Ohm`` is taken as signed), ``time/s``, ``cycle
  number``, ``z cycle``, ``Ns``, ``Temperature/°C``.  Other columns (``<Ewe>/V``,
  ``<I>/mA``, ``|Z|/Ohm``, admittance...) are ignored.  A stack-mode export (``Re(Zstack)``,
  ``-Im(Zstack)``) is read from its stack columns, with a warning.
* numbers: ``1.0003201E+003`` or, from European installs, decimal commas
  (``1000024,25``).  Encoding: Windows-1252 / latin-1 (``µ``, ``°``, ``²`` in names).
* time: ``time/s`` counts seconds from the acquisition start ("Elapsed", the default);
  an "Absolute" export writes a date-time string per row (or an Excel day number, when the
  header says ``Excel``), which is used directly.

Several loops or cycles in one file become separate spectra; f = 0 rows (other techniques
of a modular sequence) are dropped.  Rules, timestamps, cycle and temperature: `_biologic`.
``meta.extra``: ``format``, ``instrument``, ``technique``, ``technique_name``,
``software``, ``channel``, ``electrode_area_cm2`` (when written), ``warnings``.

A file that has only the column header line (no ``EC-Lab ASCII FILE`` header, e.g. the
pyimpspec fixture ``data-mpt``) is read too when this reader is asked for, but its sniff
score stays low: such files belong to the generic CSV reader.

``.mps`` files (``EC-LAB SETTING FILE``) hold the settings of an experiment, no data:
reading one raises a `ReadError` saying so.

Sources: files of the EC-Lab versions above in the shared corpus (impedance.py, pyimpspec,
yadg, biologic-converter, PyEIS and thesis exports); yadg ``extractors/eclab/mpt.py``
(date formats, header sections); galvani ``BioLogic.py`` (magic line, header count).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from ..errors import ReadError
from ..spectrum import Spectrum
from ._biologic import (
    Run,
    add_seconds,
    complex_array,
    ole_datetime,
    parse_eclab_datetime,
    run_spectra,
)
from ._biologic_columns import MPT_COLUMNS, TECHNIQUES
from ._mpt_rows import LineFeed, read_rows
from .registry import FileFormat
from .sniffing import head_text, iter_line_blocks, iter_lines, number

__all__ = ["FORMATS", "read_mps", "read_mpt", "sniff_mps", "sniff_mpt"]

_MAGIC = re.compile(r"(EC|BT)-Lab ASCII FILE\s*", re.I)
_SETTINGS_MAGIC = re.compile(r"(EC|BT)-Lab SETTINGS? FILE\s*", re.I)
_NB_HEADER = re.compile(r"\s*Nb header lines\s*:\s*(\d+)\s*$", re.I)
_SOFTWARE = re.compile(r"\s*((?:EC|BT)-Lab)\b.*?\bv\s*([\d.]+)\s*\(software\)", re.I)
_LOOP = re.compile(r"\s*Loop\s+\d+\s+from point number\s+(\d+)\s+to\s+\d+", re.I)
_AREA = re.compile(r"\s*([0-9]+(?:[.,][0-9]*)?)\s*cm")


def sniff_mpt(head: bytes, name: str) -> float:
    """Magic first line -> 0.95; a bare EC-Lab column header or the extension -> low."""
    first, _, rest = head_text(head).lstrip("\ufeff").partition("\n")
    if _MAGIC.fullmatch(first):
        return 0.98 if _NB_HEADER.match(rest.partition("\n")[0]) else 0.95
    if first.lower().startswith("freq/hz\t"):
        return 0.15
    return 0.2 if name.lower().endswith(".mpt") else 0.0


def sniff_mps(head: bytes, name: str) -> float:
    """``EC-LAB SETTING FILE`` first line -> 0.95 (so reading it gives the clear error)."""
    first = head_text(head).lstrip("\ufeff").partition("\n")[0]
    if _SETTINGS_MAGIC.fullmatch(first):
        return 0.95
    return 0.3 if name.lower().endswith(".mps") else 0.0


def read_mps(path: str | Path) -> list[Spectrum]:
    """Always raises: an .mps file holds settings, not measured data."""
    first = next(iter_lines(path))[1].lstrip("\ufeff")
    if not _SETTINGS_MAGIC.fullmatch(first):
        raise ReadError(path, f"not an EC-Lab settings file: line 1 is {first[:60]!r}", line=1)
    _settings_error(path)


def _settings_error(path: str | Path) -> NoReturn:
    message = (
        "EC-Lab settings file (.mps): it holds the settings of an experiment, not measured "
        "data; read the run's .mpr or .mpt data file instead"
    )
    raise ReadError(path, message, line=1)


def read_mpt(path: str | Path) -> list[Spectrum]:
    """Read every impedance spectrum of an EC-Lab .mpt export (format: module docstring).

    The file is read as needed, a block of lines at a time (`iter_line_blocks`; the data
    rows a chunk of lines at a time: `_mpt_rows`), and refused at the first line that
    cannot be part of an .mpt (line 1 without the magic, line 2 without the header count,
    a data row that is not numbers), so a large file of something else costs little.
    """
    lines = LineFeed(iter_line_blocks(path))
    first = next(lines)[1].lstrip("\ufeff")
    if _SETTINGS_MAGIC.fullmatch(first):
        _settings_error(path)
    if _MAGIC.fullmatch(first):
        second = next(lines, None)
        match = _NB_HEADER.match(second[1]) if second is not None else None
        if not match:
            raise ReadError(path, "line 2 should be 'Nb header lines : N'", line=2)
        n_header = int(match.group(1))
        if n_header < 3:
            message = f"header announces {n_header} lines, but it has at least 3"
            raise ReadError(path, message, line=2)
        extra, start, warnings, loops, excel = _header(_header_lines(path, lines, n_header))
        column_line = next(lines, None)
        if column_line is None:
            _truncated(path, n_header, n_header - 1)
        names_text = column_line[1]
        if n_header == 3:
            warnings.append("no EC-Lab header (column names only): no metadata, no timestamps")
    elif first.lower().startswith("freq/hz\t"):
        n_header, names_text = 1, first
        extra, start, warnings, loops, excel = _header(iter(()))
        warnings.append("no EC-Lab header (column names only): no metadata, no timestamps")
    else:
        shown = first[:60] if first.strip() else "empty"
        message = f"not an EC-Lab .mpt export: line 1 is {shown!r}, not 'EC-Lab ASCII FILE'"
        raise ReadError(path, message, line=1)
    raw = [name.strip() for name in names_text.split("\t")]
    names = [_normalise(name) for name in raw]
    columns = _find_columns(names, raw, path, n_header, warnings)
    run = _rows(path, lines.rest(), columns, raw, (start, excel), loops)
    if run.frequency_hz.size == 0:
        message = "header only: the file holds no data rows (the run recorded no points)"
        raise ReadError(path, message, line=n_header)
    return run_spectra(path, run, extra, warnings)


def _header_lines(
    path: str | Path, lines: Iterator[tuple[int, str]], n_header: int
) -> Iterator[str]:
    """Lines 3 to ``n_header`` - 1 (the settings block), read from ``lines``."""
    for expected in range(3, n_header):
        item = next(lines, None)
        if item is None:
            _truncated(path, n_header, expected - 1)
        yield item[1]


def _truncated(path: str | Path, n_header: int, n_lines: int) -> NoReturn:
    message = f"header announces {n_header} lines but the file has {n_lines} (truncated?)"
    raise ReadError(path, message, line=2)


def _normalise(name: str) -> str:
    text = " ".join(name.split()).lower()
    return text.replace("ω", "ohm").replace("\u2212", "-")


def _header(
    header: Iterator[str],
) -> tuple[dict[str, object], datetime | None, list[str], list[int], bool]:
    """Metadata of the settings block (lines 3 to N - 1), read one line at a time."""
    extra: dict[str, object] = {"format": "biologic-mpt", "instrument": "BioLogic"}
    warnings: list[str] = []
    start: datetime | None = None
    loops: list[int] = []
    excel = False
    technique = ""
    for index, line in enumerate(header):
        if index in (1, 2) and not technique and line.strip():  # file line 4 or 5
            technique = line.strip()
            if ":" not in technique:
                extra["technique"] = TECHNIQUES.get(technique.lower(), technique)
                extra["technique_name"] = technique
        key, sep, value = (part.strip() for part in line.partition(" : "))
        if loop := _LOOP.match(line):
            loops.append(int(loop.group(1)))
        elif software := _SOFTWARE.match(line):
            extra["software"] = f"{software.group(1)} v{software.group(2)}"
        elif not sep:
            continue
        elif key == "Acquisition started on":
            start, note = parse_eclab_datetime(value)
            if note:
                warnings.append(note)
        elif key == "Device":
            extra["instrument"] = f"BioLogic {value}"
        elif key == "Run on channel":
            extra["channel"] = value
        elif key == "Electrode surface area" and (area := _AREA.match(value)):
            extra["electrode_area_cm2"] = float(area.group(1).replace(",", "."))
        elif key == "Time format":
            excel = "excel" in value.lower()
    return extra, start, warnings, loops, excel


def _find_columns(
    names: list[str], raw: list[str], path: str | Path, line: int, warnings: list[str]
) -> dict[str, int]:
    found = {
        role: next(i for i, name in enumerate(names) if name in accepted)
        for role, accepted in MPT_COLUMNS.items()
        if any(name in accepted for name in names)
    }
    if "frequency" not in found:
        shown = ", ".join(repr(n) for n in raw[:8] if n) + (" ..." if len(raw) > 8 else "")
        raise ReadError(path, f"no frequency column ('freq/Hz') in the column header ({shown})",
                        line=line)  # fmt: skip
    if "real" not in found and "stack_real" in found and "stack_minus_imag" in found:
        found["real"], found["minus_imag"] = found["stack_real"], found["stack_minus_imag"]
        found.pop("imag", None)
        warnings.append("stack-mode export: Z is the whole stack (Re(Zstack), -Im(Zstack))")
    if "real" not in found or not ({"minus_imag", "imag"} & found.keys()):
        message = "no 'Re(Z)/Ohm' and '-Im(Z)/Ohm' columns in the column header"
        raise ReadError(path, message, line=line)
    return found


def _rows(
    path: str | Path,
    blocks: Iterator[tuple[int, list[str]]],
    columns: dict[str, int],
    names: list[str],
    clock: tuple[datetime | None, bool],
    loops: list[int],
) -> Run:
    start, excel = clock
    rows = read_rows(path, blocks, columns, names)
    array, times, line_numbers = rows.values, rows.times, rows.line_numbers
    imag = -array["minus_imag"] if "minus_imag" in array else array["imag"]

    def timestamp_of(row: int) -> datetime | None:
        if not times:
            return None
        text = times[row].strip()
        seconds = number(text, decimal_comma=True)
        if seconds is None:
            return parse_eclab_datetime(text)[0]
        return ole_datetime(seconds) if excel else add_seconds(start, seconds)

    return Run(
        frequency_hz=array["frequency"],
        impedance_ohm=complex_array(array["real"], imag),
        groups=[array[role] for role in ("cycle", "z_cycle", "ns") if role in array],
        loop_starts=loops,
        cycle=array.get("cycle", array.get("z_cycle")),
        temperature_c=array.get("temperature"),
        timestamp_of=timestamp_of,
        line_of=lambda row: int(line_numbers[row]),
    )


FORMATS = (
    FileFormat(
        name="biologic-mpt",
        description="BioLogic EC-Lab / BT-Lab text export (.mpt)",
        extensions=(".mpt",),
        sniff=sniff_mpt,
        read=read_mpt,
    ),
    FileFormat(
        name="biologic-mps",
        description="BioLogic EC-Lab settings file (.mps): no data, reading it explains why",
        extensions=(".mps",),
        sniff=sniff_mps,
        read=read_mps,
    ),
)
