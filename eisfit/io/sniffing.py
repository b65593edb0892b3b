"""Small helpers shared by the readers: bytes, text, numbers, errors, building spectra.

Every reader needs the same few things done the same way, so they live here:

* reading files as bytes and as lines of text (`open_binary`, `read_bytes`, `read_head`,
  `decode`, `split_lines`, `check_text`, `iter_lines`, `iter_line_blocks`, `text_lines`)
  is `eisfit.io.textfile`'s, re-exported here;
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
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta
from .textfile import (
    CHUNK_BYTES,
    CONTROL,
    MAX_LINE_BYTES,
    TEXT_ENCODINGS,
    check_text,
    decode,
    file_size,
    iter_line_blocks,
    iter_lines,
    open_binary,
    read_bytes,
    read_head,
    split_lines,
    text_lines,
)

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "TEXT_ENCODINGS",
    "check_text",
    "decode",
    "file_size",
    "head_text",
    "is_binary",
    "iter_line_blocks",
    "iter_lines",
    "make_spectrum",
    "monotonic",
    "number",
    "open_binary",
    "read_bytes",
    "read_head",
    "split_fields",
    "split_lines",
    "text_lines",
]

# re.ASCII: with re.I alone, "ınf" (dotless i) matched and then float() raised ValueError
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)",
    re.I | re.ASCII,
)


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
    return bool(CONTROL.search(head[:4096].decode("latin-1")))


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
    """A `Spectrum` with ``meta.source=str(path)``; invalid data -> `ReadError`.

    ``frequency_hz`` and ``impedance_ohm``: sequences or arrays of numbers (Hz, ohm).
    """
    if _has_infinity(frequency_hz, impedance_ohm):
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


def _has_infinity(frequency_hz: Sequence[float], impedance_ohm: Sequence[complex]) -> bool:
    """Whether a frequency, or the real or imaginary part of an impedance, is infinite (one
    numpy pass per array).  Data that are not numbers are left to `Spectrum`, which
    explains what is wrong with them."""
    try:
        f = np.asarray(frequency_hz, dtype=float)
        z = np.asarray(impedance_ohm, dtype=complex)
    except (TypeError, ValueError):
        return False
    return bool(np.isinf(f).any() or np.isinf(z).any())
