"""Plain delimited text: one or more impedance spectra as frequency, Z', Z'' columns.

Format read by `read_csv` (and written by `write_csv`):

* **Encoding**: UTF-8 (a byte-order mark is skipped), else latin-1; UTF-16 with a BOM is
  decoded too.  A NUL or other C0 control character (other than tab, CR, LF) means the
  file is not text: `ReadError` naming the line.
* **Lines**: LF, CRLF or CR endings; blank lines and lines starting with ``#`` (after
  leading spaces) are skipped anywhere; line numbers in errors count every physical line.
* **Delimiter**, sniffed from the first non-comment line: tab if it holds one, else ``;``,
  else ``,``, else runs of whitespace.  Fields may be double-quoted; trailing empty
  fields are dropped.  With ``;`` or tab a decimal comma is accepted (``1,5`` = 1.5);
  with ``,`` or whitespace only a decimal point.
* **Header**: the first non-comment line is a header unless every field is a number.
  Column names are matched case- and space-insensitively, with a unit suffix removed
  (``/Ohm``, ``(Hz)``, ``[Ω]``, ``_ohm``...):

  ========== ==========================================================================
  frequency  ``f``, ``freq``, ``frequency``, ``Hz``, ``frequency_hz``
  Z'         ``Z'``, ``Re(Z)``, ``ReZ``, ``Zre``, ``Zreal``, ``z_real``, ``real``
  Z''        ``Z''``, ``Z"``, ``Im(Z)``, ``ImZ``, ``Zim``, ``Zimag``, ``z_imag``,
             ``imag``, ``imaginary``
  spectrum   ``spectrum`` (optional): where its value changes a new spectrum starts
  ========== ==========================================================================

  A leading minus (``-Im(Z)``, ``-Z''``, ``-Z'``) means the column holds the negated
  quantity; it is flipped back, so every `Spectrum` has the physical sign (Z'' < 0 for
  a capacitive arc).  Other columns are ignored.  The first matching column wins.
* **Headerless** files must have exactly three columns, read as frequency (Hz), Z' (ohm)
  and Z'' (ohm) *with the physical sign*.  No sign is guessed from the data: a headerless
  file holding -Z'' reads as an inductive spectrum.  Give it a ``-Z''`` header instead.
* **Several spectra** in one file: with a ``spectrum`` column, a new spectrum starts
  wherever its value changes.  Without one, spectra are split where the sweep direction
  reverses: the first two points of a spectrum set its direction (falling or rising
  frequency), and a point that breaks it, or repeats the previous frequency, starts the
  next spectrum.  Repeated sweeps in the same direction split exactly; for alternating
  sweeps the turning point belongs to the first one.  A line repeating the header also
  starts a new spectrum (files joined with ``cat``).

Spectrum ``i`` (0-based, in file order) gets ``SpectrumMeta(source=str(path), index=i)``.
Every problem raises `ReadError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta

__all__ = ["read_csv", "write_csv"]

_FREQUENCY = frozenset({"f", "freq", "freq.", "frequency", "hz"})
_REAL = frozenset({"z'", "re(z)", "rez", "re", "zre", "z_re", "zreal", "z_real", "real"})
_IMAG = frozenset(
    {"z''", 'z"', "im(z)", "imz", "im", "zim", "z_im", "zimag", "z_imag", "imag", "imaginary"}
)
_SPECTRUM = frozenset({"spectrum", "spectrum_index"})
_UNIT = re.compile(r"(?:/|_|\(|\[)?(?:ohms?|ω|hz)[)\]]?$")
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|nan|inf|infinity)", re.I
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HEADERLESS = ("frequency", "Z'", "Z''")


@dataclass(frozen=True)
class _Layout:
    """Where the data live in each row, decided from the header (or its absence)."""

    frequency: int
    real: int
    imag: int
    real_sign: float  # -1.0 when the column holds -Z'
    imag_sign: float  # -1.0 when the column holds -Z''
    spectrum: int | None
    n_fields: int  # fields in the header (or 3 without one): the most a row may have
    header: tuple[str, ...] | None


@dataclass(frozen=True)
class _Row:
    line: int
    frequency_hz: float
    impedance_ohm: complex
    group: float | None


def read_csv(path: str | Path) -> list[Spectrum]:
    """Read every spectrum in a delimited text file (format: see the module docstring)."""
    lines = [
        (number, text)
        for number, text in enumerate(_read_text(path), start=1)
        if text.strip() and not text.lstrip().startswith("#")
    ]
    if not lines:
        raise ReadError(path, "empty file: no header and no data rows")
    first_line, first = lines[0]
    delimiter = next((d for d in ("\t", ";", ",") if d in first), None)
    decimal_comma = delimiter in ("\t", ";")
    fields = _split(first, delimiter, path, first_line)
    if len(fields) < 3:
        message = f"found {len(fields)} column(s), need at least 3 (frequency, Z', Z'')"
        raise ReadError(path, message, line=first_line)
    if all(_number(field, decimal_comma) is not None for field in fields):
        if len(fields) != 3:
            message = f"no header, so exactly 3 columns are needed, found {len(fields)}"
            raise ReadError(path, message + "; add a header naming the columns", line=first_line)
        layout = _Layout(0, 1, 2, 1.0, 1.0, None, 3, None)
    else:
        layout = _layout_from_header(fields, path, first_line)
        lines = lines[1:]
    blocks: list[list[_Row]] = [[]]
    for number, text in lines:
        fields = _split(text, delimiter, path, number)
        if layout.header is not None and tuple(fields) == layout.header:
            blocks.append([])
            continue
        row = _parse_row(fields, layout, decimal_comma, path, number)
        if blocks[-1] and _starts_new(blocks[-1], row):
            blocks.append([])
        blocks[-1].append(row)
    blocks = [block for block in blocks if block]
    if not blocks:
        raise ReadError(path, "header row but no data rows", line=first_line)
    return [_build(block, index, path) for index, block in enumerate(blocks)]


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
    indexed = len(items) > 1 or not _monotonic([float(f) for f in items[0].frequency_hz])
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


def _read_text(path: str | Path) -> list[str]:
    """The file's lines, decoded and checked to be text."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except OSError as exc:  # a directory, no permission...
        raise ReadError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise ReadError(path, f"undecodable UTF-16 text: {exc.reason}", line=line) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # maps every byte: cannot fail
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if bad := _CONTROL.search(line):
            message = f"control character {ord(bad.group()):#04x}: not a text file (binary?)"
            raise ReadError(path, message, line=number)
    return lines


def _split(text: str, delimiter: str | None, path: str | Path, line: int) -> list[str]:
    if delimiter is None:
        fields = text.split()
    else:
        try:
            fields = next(csv.reader([text], delimiter=delimiter))
        except csv.Error as exc:
            raise ReadError(path, f"cannot split the line into fields: {exc}", line=line) from None
        fields = [field.strip() for field in fields]
    while fields and not fields[-1]:
        fields.pop()
    return fields


def _number(text: str, decimal_comma: bool) -> float | None:
    if decimal_comma:
        text = text.replace(",", ".")
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


def _column_key(name: str) -> tuple[str, float]:
    """Canonical column role ('frequency', 'real', ...) and sign, or ('', 1.0)."""
    raw = "".join(name.split()).lower().replace("\u2212", "-").replace("\u2019", "'")
    sign = 1.0
    if raw.startswith("-"):
        raw, sign = raw[1:], -1.0
    for key in (raw, _UNIT.sub("", raw)):
        for role, names in (("frequency", _FREQUENCY), ("real", _REAL), ("imag", _IMAG)):
            if key in names:
                return role, sign
        if key in _SPECTRUM and sign > 0:
            return "spectrum", sign
    return "", 1.0


def _layout_from_header(fields: list[str], path: str | Path, line: int) -> _Layout:
    found: dict[str, tuple[int, float]] = {}
    for index, name in enumerate(fields):
        role, sign = _column_key(name)
        if role and role not in found and not (role == "frequency" and sign < 0):
            found[role] = (index, sign)
    names = ", ".join(repr(f) for f in fields)
    for role, label in (("frequency", "frequency"), ("real", "Z'"), ("imag", "Z''")):
        if role not in found:
            message = f"no {label} column in the header ({names}); accepted names: eisfit.io.csv"
            raise ReadError(path, message + " (|Z|/phase columns are not read)", line=line)
    (f, _), (re_, re_sign), (im, im_sign) = (found[r] for r in ("frequency", "real", "imag"))
    spectrum = found.get("spectrum", (None, 1.0))[0]
    return _Layout(f, re_, im, re_sign, im_sign, spectrum, len(fields), tuple(fields))


def _parse_row(
    fields: list[str], layout: _Layout, decimal_comma: bool, path: str | Path, line: int
) -> _Row:
    columns = [("frequency", layout.frequency), ("Z'", layout.real), ("Z''", layout.imag)]
    if layout.spectrum is not None:
        columns.append(("spectrum", layout.spectrum))
    needed = max(index for _, index in columns) + 1
    if not needed <= len(fields) <= layout.n_fields:
        expected = needed if needed == layout.n_fields else f"{needed} to {layout.n_fields}"
        raise ReadError(path, f"expected {expected} fields, found {len(fields)}", line=line)
    values: list[float] = []
    for label, index in columns:
        value = _number(fields[index], decimal_comma)
        if value is None:
            names = _HEADERLESS if layout.header is None else layout.header
            shown = fields[index] if len(fields[index]) <= 40 else fields[index][:37] + "..."
            message = f"non-numeric value {shown!r} in the {names[index]!r} column"
            raise ReadError(path, message, line=line)
        if not math.isfinite(value):
            raise ReadError(path, f"{label} is {fields[index]!r}, not a finite number", line=line)
        values.append(value)
    if values[0] <= 0:
        found = fields[layout.frequency]
        raise ReadError(path, f"frequency must be > 0 Hz, found {found!r}", line=line)
    real = -values[1] if layout.real_sign < 0 else values[1]
    imag = -values[2] if layout.imag_sign < 0 else values[2]
    group = values[3] if layout.spectrum is not None else None
    return _Row(line, values[0], complex(real, imag), group)


def _starts_new(block: list[_Row], row: _Row) -> bool:
    """Whether ``row`` begins a new spectrum after the rows of ``block``."""
    if row.group is not None:
        return row.group != block[-1].group
    return not _monotonic([r.frequency_hz for r in block[-2:]] + [row.frequency_hz])


def _monotonic(frequencies: list[float]) -> bool:
    """Strictly falling or strictly rising (a sweep, which the reader keeps together)."""
    steps = [b - a for a, b in pairwise(frequencies)]
    return all(s < 0 for s in steps) or all(s > 0 for s in steps)


def _build(block: list[_Row], index: int, path: str | Path) -> Spectrum:
    seen: dict[float, int] = {}
    for row in block:
        if row.frequency_hz in seen:
            message = f"frequency {row.frequency_hz:g} Hz repeats line {seen[row.frequency_hz]}"
            raise ReadError(path, f"spectrum {index}: {message}", line=row.line)
        seen[row.frequency_hz] = row.line
    try:
        return Spectrum(
            frequency_hz=[row.frequency_hz for row in block],
            impedance_ohm=[row.impedance_ohm for row in block],
            meta=SpectrumMeta(source=str(path), index=index),
        )
    except SpectrumError as exc:
        raise ReadError(path, f"spectrum {index}: {exc}", line=block[0].line) from None
