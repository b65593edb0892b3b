"""Zahner Thales / Zahner Analysis ``.ism``: one impedance spectrum in a big-endian binary file.

Layout (every number big-endian; ``n`` is the number of points):

=========================  ================  ===============================================
offset                     type              content
=========================  ================  ===============================================
0                          int48             version tag ``00 00 FF FF FF FE`` (Thales) or
                                             ``00 00 FF FF FF FF`` (older Zahner Analysis)
6                          int48             ``n - 1``
12                         float64[n]        frequency (Hz)
12 + 8n                    float64[n]        \\|Z\\| (ohm)
12 + 16n                   float64[n]        phase (rad): Z = \\|Z\\| exp(j phase), the
                                             physical sign (negative for a capacitive arc)
12 + 24n                   float64[n]        clock time of each point, s since 1980-01-01
                                             00:00 local time (simulations write 0, 1, 2...)
12 + 32n                   int16[n]          significance of each point, 0...1000 (not read)
12 + 34n                   12 strings        each an int16 length and that many ASCII bytes
                                             with upper and lower case swapped: date
                                             ``DDMMYY``, system (the user's title), potential,
                                             current, temperature (``23.8+-0.1C``), time
                                             (``09:32:45 - 09:37:42``), comments 1-4, area,
                                             serial-quantity text
then                       binary            acquisition channels, more metadata (not read)
=========================  ================  ===============================================

Only the header, the arrays and the strings are read (the rest, channels and more
metadata, is never loaded): the version tag is checked first, and a header announcing
more points than the file holds (or more than 10 million) is refused before anything
else is read.

Facts from Zahner's MIT-licensed Zahner-Analysis-Python (``file_import/ism_import.py``,
``file_import/thales_file_utils.py``, ``file_export/ism_export.py``), checked against the
eight example files of that repository.  A file that ends right after the significance array
(written by Zahner's ``IsmExport`` without strings) reads with a warning.

**Sweep**: Thales starts at the start frequency, runs to one frequency limit and then sweeps
to the other; the lead-in from the start frequency overlaps the main sweep.  The spectrum is
the main sweep, from the point with the highest to the point with the lowest frequency (or
the reverse), in file order; points before or after it are dropped with a warning.  Zahner's
own reader returns the same points (reversed to rising frequency).  Points with a
non-finite or non-positive frequency, or a non-finite \\|Z\\| or phase, are dropped first,
and a frequency repeated within the sweep keeps only its first point, each with a warning.

**Metadata**: ``meta.timestamp`` is the earliest clock time of any point (the start of the
measurement) when the clock is real; for simulations (clock within a day of 1980) the date
and start-time strings are used, else ``None``.  Two-digit years below 70 are 20xx, others
19xx (as Zahner reads them).  ``meta.temperature_k`` comes from the temperature string;
-273.15 C (what simulations write) and readings within 1 C of 0 C whose scatter is at least
their value (what a disconnected thermometer input gives, e.g. ``-0.0+-0.4C`` in the
SetupCompensation examples and ``0.1+-0.8C`` in the drift example) are taken as "not
measured".  ``extra`` keeps the raw strings (``title``, ``potential``, ``current``,
``temperature``, ``time``, ``comments``, ``area``).
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta
from .registry import FileFormat
from .sniffing import file_size, open_binary

__all__ = ["FORMATS", "read_ism", "sniff_ism"]

_TAGS = (b"\x00\x00\xff\xff\xff\xfe", b"\x00\x00\xff\xff\xff\xff")
_EPOCH = datetime(1980, 1, 1)
_STRINGS = (
    "date", "title", "potential", "current", "temperature", "time",
    "comment 1", "comment 2", "comment 3", "comment 4", "area", "serial",
)  # fmt: skip
_TEMPERATURE = re.compile(r"\s*([+-]?\d+(?:\.\d*)?)\s*(?:\+-\s*(\d+(?:\.\d*)?)\s*)?°?C\b")
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d{2}):(\d{2})")
_MAX_POINTS = 10_000_000
_MAX_STRING_BYTES = len(_STRINGS) * (2 + 32767)  # 12 strings of at most 32767 bytes each


def sniff_ism(head: bytes, name: str) -> float:
    """Confidence that ``head`` starts a Zahner .ism file: the version tag and a sane header."""
    by_name = 0.2 if name.lower().endswith(".ism") else 0.0
    if len(head) < 20 or head[:6] not in _TAGS:
        return by_name
    n = int.from_bytes(head[6:12], "big", signed=True) + 1
    (first_frequency,) = struct.unpack(">d", head[12:20])
    if not 1 <= n <= _MAX_POINTS or not (math.isfinite(first_frequency) and first_frequency > 0):
        return max(by_name, 0.3)
    return 0.95 + by_name / 4


def read_ism(path: str | Path) -> list[Spectrum]:
    """Read the spectrum of a Zahner .ism file (format: see the module docstring)."""
    with open_binary(path) as handle:
        size = file_size(handle)
        data = handle.read(12)
        if data[:6] not in _TAGS:
            found = data[:6].hex(" ") or "an empty file"
            message = f"not a Zahner .ism file: starts with {found}, not 00 00 ff ff ff fe"
            raise ReadError(path, message)
        if len(data) < 12:
            raise ReadError(path, f"truncated: {len(data)} bytes, the header alone needs 12")
        n = int.from_bytes(data[6:12], "big", signed=True) + 1
        if not 1 <= n <= _MAX_POINTS:
            raise ReadError(path, f"corrupt header: it announces {n} points")
        end = 12 + 34 * n
        if size < end:
            message = f"truncated: {n} points need {end} bytes of data, the file has {size}"
            raise ReadError(path, message)
        data += handle.read(end + _MAX_STRING_BYTES - 12)  # the arrays and the 12 strings
    f, modulus, phase, clock = (np.frombuffer(data, ">f8", n, 12 + 8 * n * k) for k in range(4))
    strings, warnings = _strings(data, end, path)
    with np.errstate(all="ignore"):
        z = modulus * np.exp(1j * phase)
    keep = np.isfinite(f) & (f > 0) & np.isfinite(z)
    if not keep.any():
        raise ReadError(path, f"none of the {n} points has a positive frequency and finite |Z|")
    if not keep.all():
        warnings.append(f"dropped {n - int(keep.sum())} point(s) with a non-finite value or f <= 0")
    kept = np.flatnonzero(keep)
    fk = f[kept]
    ends = sorted((int(np.argmax(fk)), int(np.argmin(fk))))
    sweep = kept[ends[0] : ends[1] + 1]
    if sweep.size < kept.size:
        warnings.append(
            f"dropped {kept.size - sweep.size} point(s) outside the main sweep "
            f"({f[sweep[0]]:g} Hz to {f[sweep[-1]]:g} Hz): the lead-in from the start "
            "frequency overlaps it"
        )
    first = np.sort(np.unique(f[sweep], return_index=True)[1])
    if first.size < sweep.size:
        warnings.append(f"dropped {sweep.size - first.size} repeated frequency point(s)")
        sweep = sweep[first]
    extra: dict[str, object] = {"instrument": "Zahner", "technique": "EIS", "format": "zahner-ism"}
    for key in ("title", "potential", "current", "temperature", "time", "area"):
        if strings[key]:
            extra[key] = strings[key]
    extra["comments"] = tuple(
        strings[f"comment {i}"] for i in range(1, 5) if strings[f"comment {i}"]
    )
    extra["warnings"] = tuple(warnings)
    meta = SpectrumMeta(
        source=str(path),
        index=0,
        timestamp=_timestamp(clock[keep], strings),
        temperature_k=_temperature_k(strings.get("temperature", "")),
        extra=extra,
    )
    try:
        return [Spectrum(f[sweep], z[sweep], meta)]
    except SpectrumError as exc:
        raise ReadError(path, str(exc)) from None


def _strings(data: bytes, offset: int, path: str | Path) -> tuple[dict[str, str], list[str]]:
    """The 12 metadata strings after the arrays (empty when the file ends with the arrays)."""
    values = dict.fromkeys(_STRINGS, "")
    if offset == len(data):
        return values, ["no metadata strings after the data (file written without them)"]
    for key in _STRINGS:
        if offset + 2 > len(data):
            raise ReadError(path, f"truncated in the metadata strings, at the {key!r} string")
        length = int.from_bytes(data[offset : offset + 2], "big", signed=True)
        if length < 0 or offset + 2 + length > len(data):
            raise ReadError(path, f"corrupt or truncated {key!r} metadata string at byte {offset}")
        raw = data[offset + 2 : offset + 2 + length].decode("latin-1")
        values[key] = raw.swapcase().strip()
        offset += 2 + length
    return values, []


def _timestamp(clock: np.ndarray, strings: dict[str, str]) -> datetime | None:
    finite = clock[np.isfinite(clock)]
    if finite.size and 86400.0 < float(np.max(np.abs(finite))) < 1e10:
        return _EPOCH + timedelta(seconds=float(np.min(np.abs(finite))))
    date, time = strings.get("date", ""), _CLOCK.match(strings.get("time", ""))
    if not (re.fullmatch(r"\d{6}", date[:6]) and time):
        return None
    day, month, year = int(date[0:2]), int(date[2:4]), int(date[4:6])
    year += 2000 if year < 70 else 1900
    try:
        return datetime(year, month, day, *(int(part) for part in time.groups()))
    except ValueError:
        return None


def _temperature_k(text: str) -> float | None:
    """Kelvin from ``23.8+-0.1C``; None for simulations and readings indistinguishable from 0 C."""
    match = _TEMPERATURE.match(text)
    if match is None:
        return None
    celsius, spread = float(match.group(1)), float(match.group(2) or 0.0)
    if celsius <= -273.15 or (abs(celsius) < 1.0 and spread >= abs(celsius)):
        return None
    return celsius + 273.15


FORMATS = (
    FileFormat(
        name="zahner-ism",
        description="Zahner Thales / Zahner Analysis impedance spectrum (.ism, binary)",
        extensions=(".ism",),
        sniff=sniff_ism,
        read=read_ism,
    ),
)
