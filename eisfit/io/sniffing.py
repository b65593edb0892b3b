"""Small helpers shared by the readers: bytes, text, numbers, errors, building spectra.

Every reader needs the same few things done the same way, so they live here:

* `read_bytes` opens a file and turns "missing", "a directory" and "no permission" into a
  `ReadError` naming the file.
* `decode` turns bytes into text: a UTF-16 or UTF-8 byte-order mark is honoured, then
  UTF-8 is tried, then Windows-1252 (what European Windows installs write: ``°``, ``µ``,
  ``Ω`` in column names), then latin-1, which maps every byte and cannot fail.
* `split_lines` splits text on LF, CRLF or CR; `check_text` raises `ReadError` naming the
  1-based line of the first NUL or other C0 control character (other than tab, CR, LF,
  form feed): such a file is binary.
* `text_lines` does all of these: read, decode, split, check.
* `head_text` is the never-raising decode for ``sniff`` functions (it works on the first
  `HEAD_BYTES`, which may end inside a multi-byte character).
* `number` parses one field: ``1.5``, ``-2e-3``, ``nan``, ``inf``; with
  ``decimal_comma=True`` also ``1,5`` (German / French locales).  Returns None when the
  field is not a number, so callers can name the bad field in their error.
* `monotonic` says whether frequencies form one sweep (strictly rising or falling): the
  readers split several sweeps in one table where it fails.
* `make_spectrum` builds a `Spectrum` and wraps the `SpectrumError` of invalid data into a
  `ReadError` naming the file, the spectrum and a line.

Which column of a table holds what (header names, layouts): `eisfit.io._columns`.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta

__all__ = [
    "check_text",
    "decode",
    "head_text",
    "is_binary",
    "make_spectrum",
    "monotonic",
    "number",
    "read_bytes",
    "split_fields",
    "split_lines",
    "text_lines",
]

_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)", re.I
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, or `ReadError` for a missing file, a directory, no permission."""
    target = Path(path)
    if target.is_dir():
        raise ReadError(path, "is a directory, not a file")
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except OSError as exc:
        raise ReadError(path, f"cannot read the file: {exc.strerror or exc}") from None


def decode(data: bytes, path: str | Path) -> str:
    """Bytes to text (see the module docstring for the order of encodings tried)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise ReadError(path, f"undecodable UTF-16 text: {exc.reason}", line=line) from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def split_lines(text: str) -> list[str]:
    """``text`` split on LF, CRLF or CR, without the line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def check_text(
    lines: list[str], path: str | Path, *, control: re.Pattern[str] = _CONTROL
) -> list[str]:
    """``lines`` as they are, or `ReadError` naming the first line holding a character of
    ``control`` (by default C0 controls but tab, CR, LF, form feed): not a text file."""
    for index, line in enumerate(lines, start=1):
        if bad := control.search(line):
            message = f"control character {ord(bad.group()):#04x}: not a text file (binary?)"
            raise ReadError(path, message, line=index)
    return lines


def text_lines(path: str | Path, data: bytes | None = None) -> list[str]:
    """The file's lines (without line ends), decoded and checked to be text."""
    text = decode(read_bytes(path) if data is None else data, path)
    return check_text(split_lines(text), path)


def head_text(head: bytes) -> str:
    """Best-effort text of a file's first bytes for a sniffer; never raises."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    text = head.decode("utf-8", errors="replace")
    if "\ufffd" in text[:-4]:  # not UTF-8 (a trailing cut character is fine)
        text = head.decode("cp1252", errors="replace")
    return text.lstrip("\ufeff")


def is_binary(head: bytes) -> bool:
    """Whether a file's first bytes hold a NUL or other control character (not text)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return bool(_CONTROL.search(head[:4096].decode("latin-1")))


def number(text: str, *, decimal_comma: bool = False) -> float | None:
    """The float in ``text`` (surrounding spaces allowed), or None when it is not a number."""
    text = text.strip()
    if decimal_comma:
        text = text.replace(",", ".")
    return float(text) if _NUMBER.fullmatch(text) else None


def split_fields(text: str, delimiter: str | None) -> list[str]:
    """Split a line on ``delimiter`` (None: runs of whitespace), strip fields, drop trailing
    empty ones."""
    fields = text.split() if delimiter is None else [f.strip() for f in text.split(delimiter)]
    while fields and not fields[-1]:
        fields.pop()
    return fields


def monotonic(frequencies: Sequence[float]) -> bool:
    """Strictly falling or strictly rising (one sweep, which the readers keep together)."""
    steps = [b - a for a, b in pairwise(frequencies)]
    return all(s < 0 for s in steps) or all(s > 0 for s in steps)


def make_spectrum(
    path: str | Path,
    index: int,
    frequency_hz: Sequence[float],
    impedance_ohm: Sequence[complex],
    *,
    line: int | None = None,
    timestamp: datetime | None = None,
    cycle: int | None = None,
    temperature_k: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Spectrum:
    """A `Spectrum` with ``meta.source=str(path)``; invalid data -> `ReadError`."""
    for value in (*frequency_hz, *(x for z in impedance_ohm for x in (z.real, z.imag))):
        if math.isinf(value):
            message = f"spectrum {index}: infinite value in the data"
            raise ReadError(path, message, line=line)
    try:
        return Spectrum(
            frequency_hz=frequency_hz,
            impedance_ohm=impedance_ohm,
            meta=SpectrumMeta(
                source=str(path),
                index=index,
                timestamp=timestamp,
                cycle=cycle,
                temperature_k=temperature_k,
                extra=dict(extra or {}),
            ),
        )
    except SpectrumError as exc:
        raise ReadError(path, f"spectrum {index}: {exc}", line=line) from None
