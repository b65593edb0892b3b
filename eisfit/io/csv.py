"""Generic delimited text (CSV, TSV, TXT): impedance spectra as columns, one point a row.

Format read by `read_csv` (registered as ``csv``; written by `write_csv`):

* **Encoding** (see `eisfit.io.sniffing`): UTF-16 or UTF-8 with a byte-order mark, UTF-8,
  Windows-1252, latin-1.  A NUL or other control character means a binary file:
  `ReadError` naming the line.  LF, CRLF or CR line ends.
* **Lines**: blank lines and lines starting with ``#`` are skipped anywhere; line numbers
  in errors count every physical line.
* **Delimiter**, sniffed from the first non-comment line: tab if it holds one, else ``;``,
  else ``,``, else runs of whitespace.  Fields may be double-quoted; trailing empty fields
  are dropped.  With ``;`` or tab a decimal comma is accepted (``1,5`` = 1.5), with ``,``
  or whitespace only a decimal point.
* **Header**: the first non-comment line is a header unless every field is a number.
  Names are matched case- and space-insensitively with a unit suffix removed (``/Ohm``,
  ``(Hz)``, ``[°]``, ``_ohm``, `` in Hz``...); the first match of each role wins:

  ========= ==============================================================================
  frequency ``f``, ``freq``, ``frequency``, ``Hz``, ``frequency_hz``, ``F[Hz]``
  Z'        ``Z'``, ``Re(Z)``, ``ReZ``, ``Zre``, ``Zreal``, ``z_real``, ``real``,
            ``Real_Z``, ``Re_Z``, ``Zprime``, ``Z_prime``
  Z''       ``Z''``, ``Z"``, ``Im(Z)``, ``ImZ``, ``Zim``, ``Zimag``, ``imag``, ``imaginary``,
            ``Imag_Z``, ``Im_Z``, ``Zbis``, ``Zdoubleprime``, ``Z_double_prime``
  |Z|       ``|Z|``, ``Zmod``, ``Mod(Z)``, ``abs(Z)``, ``Impedance`` (Zahner), ``Z[Ohm]``
  phase     ``phase``, ``Phase(Z)``, ``theta``, ``phi``, ``Zphz``: degrees, or radians when
            the name's unit says ``rad`` (``phase/rad``)
  spectrum  ``spectrum``, ``loop_index``, ``loop``, ``cycle``, ``cycle number`` (optional)
  ========= ==============================================================================

  A leading minus (``-Im(Z)``, ``-Z''``, ``-phase``) means the column holds the negated
  quantity; it is flipped back, so every `Spectrum` has the physical sign, Z = Z' + jZ''
  with Z'' < 0 for a capacitive arc.  Z', Z'' are used when both are present, else
  Z = |Z| (cos(phase) + j sin(phase)) with the physical phase (negative when capacitive,
  as EC-Lab's ``Phase(Z)/deg`` and Zahner's ``Phase`` are).  Other columns are ignored.
  The name alone decides the sign: no sign is guessed from the data.  A Z'' column without
  a minus (``Zbis``, ``Imag_Z``...) whose values are all positive over a spectrum whose
  Z'' does not peak at its highest frequency (as an inductor's would) is almost surely
  -Z'' of a capacitive arc: it is read as written, with a warning naming the column and
  the fix (``-Zbis`` in the header, or ``columns={"-imag": ...}``).
  A header with gain columns (``Gain in dB``) is a transfer function, not an impedance:
  `ReadError`.
* **Headerless** files must have exactly three columns, read as frequency (Hz), Z' (ohm)
  and Z'' (ohm) *with the physical sign* (as impedance.py's and DRTtools' readers do).
  No sign is guessed from the data: a headerless file holding -Z'' reads as inductive
  (with the warning above).
  Name the columns with ``read_csv(path, columns={"frequency": 0, "real": 1, "-imag": 2})``
  for such files, or for any ambiguous header (``columns={"frequency": "Freq", ...}``).
* **Rows that are not impedance points** are dropped and listed in ``extra["warnings"]``
  of the spectrum they interrupt, which stays one spectrum: rows with f = 0 (other
  techniques, end-of-loop markers; ``dropped 1 row(s) that are not points: line 4: f = 0
  Hz``) and rows with a NaN (or empty) or infinite value (``dropped 2 rows with NaN or
  infinite values (lines 6-7)``).  A negative frequency is an error.
* **Several spectra** in one file: with a spectrum column, a new spectrum starts wherever
  its value changes.  Without one, spectra are split where the sweep direction reverses:
  the first two points of a spectrum set its direction, and a point that breaks it, or
  repeats the previous frequency, starts the next spectrum (both then carry the warning
  ``split at line 13: frequency 1000 Hz repeats line 12``).  Repeated sweeps in the same
  direction split exactly; for alternating sweeps the turning point goes to the first
  one.  A line repeating the header also starts a new spectrum (files joined with cat).
  A frequency repeated inside one spectrum (possible only with a spectrum column) is an
  error naming both lines.

The file is read line by line: a file that is not such a table is refused at its first
line that cannot be one (with that line's number), after reading little of it.

Spectrum ``i`` gets ``SpectrumMeta(source=str(path), index=i)`` and ``extra`` with
``format``, ``columns`` (the header names used) and ``warnings``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum
from ._columns import layout_from_header
from ._rows import spectra_from_rows
from .registry import HEAD_BYTES, FileFormat
from .sniffing import head_text, is_binary, iter_lines, monotonic, number

__all__ = ["FORMATS", "read_csv", "write_csv"]


def read_csv(
    path: str | Path,
    *,
    columns: Mapping[str, str | int] | None = None,
    phase_unit: str | None = None,
) -> list[Spectrum]:
    """Read every spectrum in a delimited text file (format: see the module docstring).

    ``columns`` maps roles to header names or 0-based indices and replaces the automatic
    column recognition: roles ``frequency``, ``real``, ``imag``, ``modulus``, ``phase``,
    ``spectrum``; ``-real``, ``-imag``, ``-phase`` for columns holding the negated value.
    ``phase_unit`` (``"deg"`` or ``"rad"``) overrides the unit read from the header.
    """
    lines = (
        (number_, text)
        for number_, text in iter_lines(path)
        if text.strip() and not text.lstrip().startswith("#")
    )
    first = next(lines, None)
    if first is None:
        raise ReadError(path, "empty file: no header and no data rows")
    delimiter = _delimiter(first[1])
    rows = ((n, _split(text, delimiter, path, n)) for n, text in chain([first], lines))
    return spectra_from_rows(
        path,
        rows,
        decimal_comma=delimiter in ("\t", ";"),
        columns=columns,
        phase_unit=phase_unit,
        extra={"format": "csv"},
    )


def write_csv(
    spectra: Spectrum | Iterable[Spectrum],
    path: str | Path,
    *,
    significant_digits: int | None = None,
    comments: Sequence[str] | None = None,
) -> Path:
    """Write spectra as ``frequency_hz,z_real_ohm,z_imag_ohm`` (Z'' with the physical sign).

    A fourth column ``spectrum`` (0, 1, ...) is added when there is more than one spectrum,
    or when the frequencies of a single one are not monotonic (which `read_csv` would
    otherwise split).  Numbers are written exactly (shortest round-trip repr), so
    `read_csv` gives back identical arrays; ``significant_digits`` rounds them instead
    (smaller files, no exact round trip).  ``comments`` become leading ``#`` lines.
    Returns the path written.
    """
    items = [spectra] if isinstance(spectra, Spectrum) else list(spectra)
    if not items:
        raise SpectrumError("write_csv needs at least one spectrum")
    if significant_digits is not None and not 1 <= significant_digits <= 17:
        raise ValueError("significant_digits must be between 1 and 17")
    indexed = len(items) > 1 or not monotonic([float(f) for f in items[0].frequency_hz])
    out = [f"# {line}" for comment in comments or () for line in comment.splitlines() or [""]]
    out.append("frequency_hz,z_real_ohm,z_imag_ohm" + (",spectrum" if indexed else ""))
    for index, spectrum in enumerate(items):
        tail = f",{index}" if indexed else ""
        for f, z in zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True):
            values = (float(f), float(z.real), float(z.imag))
            if significant_digits is None:
                text = ",".join(repr(v) for v in values)
            else:
                text = ",".join(format(v, f".{significant_digits}g") for v in values)
            out.append(text + tail)
    target = Path(path)
    target.write_text("\n".join(out) + "\n", encoding="utf-8", newline="\n")
    return target


def sniff(head: bytes, name: str) -> float:
    """0.8 for a recognised header over numeric rows, 0.6 for three numeric columns."""
    if is_binary(head):
        return 0.0
    lines = head_text(head).replace("\r", "\n").split("\n")
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut
    lines = [text for text in lines[:200] if text.strip() and not text.lstrip().startswith("#")]
    if not lines:
        return 0.0
    delimiter = _delimiter(lines[0])
    comma = delimiter in ("\t", ";")
    table = [[f.strip().strip('"') for f in _fields(t, delimiter)] for t in lines[:12]]
    numeric = [
        bool(r) and all(number(c, decimal_comma=comma) is not None for c in r) for r in table
    ]
    if numeric[0]:
        same = all(n and len(r) == 3 for n, r in zip(numeric, table, strict=True))
        return 0.6 if same else 0.1
    try:
        layout_from_header(tuple(table[0]), None)
    except ValueError:
        return 0.05
    return 0.8 if all(numeric[1:]) else 0.3


def _delimiter(text: str) -> str | None:
    return next((d for d in ("\t", ";", ",") if d in text), None)


def _fields(text: str, delimiter: str | None) -> list[str]:
    fields = text.split() if delimiter is None else text.split(delimiter)
    while fields and not fields[-1].strip():
        fields.pop()
    return fields


def _split(text: str, delimiter: str | None, path: str | Path, line: int) -> list[str]:
    if delimiter is None:
        return text.split()
    try:
        fields = [f.strip() for f in next(csv.reader([text], delimiter=delimiter))]
    except csv.Error as exc:
        raise ReadError(path, f"cannot split the line into fields: {exc}", line=line) from None
    while fields and not fields[-1]:
        fields.pop()
    return fields


FORMATS = (
    FileFormat(
        name="csv",
        description="delimited text (CSV/TSV/TXT): frequency with Z', Z'' or |Z|, phase",
        extensions=(".csv", ".txt", ".tsv", ".dat"),
        sniff=sniff,
        read=read_csv,
    ),
)
