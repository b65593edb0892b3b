"""PalmSens PSTrace / MethodSCRIPT sessions (``.pssession``): JSON in UTF-16.

Structure (the PalmSens SDK's example and test sessions, pyimpspec's fixture
``tests/data.pssession`` and its reader ``pyimpspec/data/formats/pssession.py``):

* **Encoding**: UTF-16 little-endian with a byte-order mark, and a second mark (``FF FE``)
  or a stray byte after the closing brace.  Anything after the last ``}`` is ignored; a file
  without a mark is decoded as UTF-16-LE when its second byte is NUL, else as UTF-8.
* **Keys** are PascalCase in some PSTrace versions and lower-case in others (``Type`` /
  ``type``): every key is matched case-insensitively.
* ``Measurements``: a list, one entry per method run (CV, DPV, EIS... may be mixed).  Each has
  ``Title``, ``TimeStamp`` (local time as .NET ticks: 100 ns since 0001-01-01),
  ``UTCTimeStamp``, ``DeviceSerial``, ``DeviceFW``, ``Method`` (the method file as text;
  its ``NOTES=`` line is URL-encoded) and ``DataSet.Values``: a list of arrays, each with
  ``Description``, ``ArrayType``, ``Unit`` (``Type``, symbol ``S``, quantity label ``Q``)
  and ``DataValues`` (a list of ``{"V": value, ...}``).
* **Impedance arrays**: frequency (unit ``PalmSens.Units.Hertz``, description
  ``Frequency``), Z' (``PalmSens.Units.ZRe``), Z'' (``PalmSens.Units.ZIm``, labelled
  ``Q: "-Z''"``: the array holds **-Z''**, positive for a capacitive arc, and is negated
  here; an array labelled ``Z''`` without the minus would be read as is).  A measurement
  without these three arrays (CV, DPV...) is skipped with a warning; a session without any
  raises `ReadError`.

Each EIS measurement is one spectrum, in file order.  Should its frequencies restart (a
scan over potential or time stored in one data set), the measurement is split where the
sweep direction breaks or a frequency repeats, and ``extra["scan"]`` numbers the parts; a
split at a repeated frequency is named on both parts (``split at point 13: frequency 1000
Hz repeats point 12``).
``meta.timestamp`` is ``TimeStamp`` (local, as PSTrace shows it); ``extra`` holds
``title``, ``device_serial``, ``firmware``, ``notes``.  Points with f <= 0 or a
non-finite value are dropped with a warning.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..errors import ReadError, SpectrumError
from ..spectrum import Spectrum, SpectrumMeta
from ._notes import repeat_note
from .registry import FileFormat
from .sniffing import read_bytes, read_head

__all__ = ["FORMATS", "read_pssession", "sniff_pssession"]

_PALMSENS = "PalmSens".encode("utf-16-le")
_ROLES = {  # role -> (unit type suffix, description)
    "frequency": (".hertz", "frequency"),
    "real": (".zre", "zre"),
    "imag": (".zim", "zim"),
}


def sniff_pssession(head: bytes, name: str) -> float:
    """Confidence that ``head`` starts a PSTrace session: UTF-16 JSON naming PalmSens."""
    by_name = name.lower().endswith(".pssession")
    body = head[2:] if head.startswith(codecs.BOM_UTF16_LE) else head
    if body.startswith('{"'.encode("utf-16-le")) and _PALMSENS in head[:4096]:
        return 0.95 + 0.05 * by_name
    return 0.3 if by_name else 0.0


def read_pssession(path: str | Path) -> list[Spectrum]:
    """Read every EIS measurement of a PalmSens .pssession file (see the module docstring)."""
    document = _load(path)
    measurements = _get(document, "measurements")
    if not isinstance(measurements, list):
        raise ReadError(path, "no 'Measurements' list: not a PSTrace session")
    parts: list[tuple[Mapping[str, Any], list[float], list[complex], int | None, Notes]] = []
    skipped: list[str] = []
    for number, measurement in enumerate(measurements, start=1):
        if not isinstance(measurement, Mapping):
            raise ReadError(path, f"measurement {number} is not a JSON object")
        title = str(_get(measurement, "title") or f"measurement {number}")
        arrays = _impedance_arrays(measurement, title, path)
        if arrays is None:
            skipped.append(f"skipped {title!r}: not an impedance measurement")
            continue
        scans, dropped = _split_scans(*arrays)
        note = f"{title}: dropped {dropped} point(s) with f <= 0 or a non-finite value"
        if not scans:
            skipped.append(f"skipped {title!r}: no impedance points")
        for scan, (frequency, impedance, splits) in enumerate(scans):
            scan_number = scan if len(scans) > 1 else None
            notes = (note,) if dropped else ()
            parts.append((measurement, frequency, impedance, scan_number, (*notes, *splits)))
    if not parts:
        found = "; ".join(skipped) or "the session holds no measurements"
        raise ReadError(path, f"no impedance data ({found})")
    return [_spectrum(index, *part, skipped, path) for index, part in enumerate(parts)]


def _load(path: str | Path) -> Any:
    """The session's JSON document; a file whose first characters are not ``{`` is refused
    after reading its first bytes (the JSON itself can only be parsed whole)."""
    start, encoding = _encoding(read_head(path, 64))
    try:  # not final: the head may end inside a character
        text = codecs.getincrementaldecoder(encoding)().decode(start)
    except UnicodeDecodeError:
        text = ""  # the full decoding below names the bad byte
    if text.lstrip("\ufeff \t\r\n")[:1] not in ("", "{"):
        raise ReadError(path, "not a PSTrace session: no JSON object found")
    data, encoding = _encoding(read_bytes(path))
    if encoding != "utf-8-sig" and len(data) % 2:
        data = data[:-1]  # a stray byte after the last character
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReadError(path, f"not {encoding} text at byte {exc.start}: {exc.reason}") from None
    text = text.lstrip("\ufeff \t\r\n")
    text = text[: text.rfind("}") + 1]
    if not text.startswith("{"):
        raise ReadError(path, "not a PSTrace session: no JSON object found")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON at character {exc.pos}: {exc.msg}"
        raise ReadError(path, message, line=exc.lineno) from None
    except RecursionError:
        raise ReadError(path, "invalid JSON: nested too deeply") from None


def _encoding(data: bytes) -> tuple[bytes, str]:
    """``data`` without a UTF-16 byte-order mark, and the encoding to decode it with."""
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:], "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:], "utf-16-be"
    return data, "utf-16-le" if data[1:2] == b"\x00" else "utf-8-sig"


def _get(mapping: Any, key: str) -> Any:
    """``mapping[key]`` matching the key case-insensitively; None when absent."""
    if not isinstance(mapping, Mapping):
        return None
    if key in mapping:
        return mapping[key]
    return next((value for name, value in mapping.items() if str(name).lower() == key), None)


def _impedance_arrays(
    measurement: Mapping[str, Any], title: str, path: str | Path
) -> tuple[list[float], list[float], list[float]] | None:
    """Frequency, Z', Z'' (physical sign) of a measurement, or None if it has no EIS data."""
    found: dict[str, tuple[list[float], float]] = {}
    values = _get(_get(measurement, "dataset"), "values")
    for array in values if isinstance(values, list) else []:
        unit = _get(array, "unit")
        unit_type = str(_get(unit, "type") or "").lower()
        description = str(_get(array, "description") or "").lower()
        for role, (suffix, name) in _ROLES.items():
            if role not in found and (unit_type.endswith(suffix) or description == name):
                stores_minus = not str(_get(unit, "q") or "-").startswith("Z")
                sign = -1.0 if role == "imag" and stores_minus else 1.0
                found[role] = (_numbers(array, f"{title}: {description}", path), sign)
    if len(found) < 3:
        return None
    (f, _), (real, _), (imag, imag_sign) = (found[r] for r in ("frequency", "real", "imag"))
    if not len(f) == len(real) == len(imag):
        message = f"{title}: {len(f)} frequencies, {len(real)} Z' and {len(imag)} Z'' values"
        raise ReadError(path, message)
    return f, real, [imag_sign * value for value in imag]


def _numbers(array: Any, what: str, path: str | Path) -> list[float]:
    values = _get(array, "datavalues")
    if not isinstance(values, list):
        raise ReadError(path, f"{what}: no DataValues list")
    out = []
    for item in values:
        value = _get(item, "v")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ReadError(path, f"{what}: value {str(value)[:40]!r} is not a number")
        out.append(float(value))
    return out


Scan = tuple[list[float], list[complex], list[str]]  # f, Z, warnings of its own
Notes = tuple[str, ...]


def _split_scans(
    frequency: list[float], real: list[float], imag: list[float]
) -> tuple[list[Scan], int]:
    """Valid points split at sweep restarts (direction breaks or repeats); number dropped.

    A split at a repeated frequency is named on both scans (``split at point 13:
    frequency 1000 Hz repeats point 12``, points counted from 1 in the data set).
    """
    scans: list[Scan] = []
    dropped = 0
    last = 0  # the point number of the last valid point
    for number, (f, re_, im) in enumerate(zip(frequency, real, imag, strict=True), start=1):
        if not (f > 0 and math.isfinite(f) and math.isfinite(re_) and math.isfinite(im)):
            dropped += 1
            continue
        if scans and _continues(scans[-1][0], f):
            scans[-1][0].append(f)
            scans[-1][1].append(complex(re_, im))
        else:
            splits = []
            if scans and f == scans[-1][0][-1]:
                splits.append(repeat_note(number, f, last, unit="point"))
                scans[-1][2].append(splits[0])
            scans.append(([f], [complex(re_, im)], splits))
        last = number
    return scans, dropped


def _continues(previous: list[float], f: float) -> bool:
    if f == previous[-1]:
        return False
    if len(previous) < 2:
        return True
    return (previous[-1] < previous[-2]) == (f < previous[-1])


def _spectrum(
    index: int,
    measurement: Mapping[str, Any],
    frequency: list[float],
    impedance: list[complex],
    scan: int | None,
    own: Notes,
    skipped: list[str],
    path: str | Path,
) -> Spectrum:
    title = str(_get(measurement, "title") or "")
    extra: dict[str, Any] = {"instrument": "PalmSens", "technique": "EIS"}
    extra["format"] = "palmsens-pssession"
    for key, name in (
        ("title", "title"),
        ("device_serial", "deviceserial"),
        ("firmware", "devicefw"),
    ):
        if value := _get(measurement, name):
            extra[key] = str(value).strip()
    if notes := re.search(r"^NOTES=(.*)$", str(_get(measurement, "method") or ""), re.M):
        extra["notes"] = unquote(notes.group(1).strip().replace("%crlf", "\n"))
    if scan is not None:
        extra["scan"] = scan
    extra["warnings"] = (*own, *skipped)
    meta = SpectrumMeta(
        source=str(path), index=index, timestamp=_ticks(_get(measurement, "timestamp")), extra=extra
    )
    try:
        return Spectrum(frequency, impedance, meta)
    except SpectrumError as exc:
        raise ReadError(path, f"{title or f'spectrum {index}'}: {exc}") from None


def _ticks(value: Any) -> datetime | None:
    """.NET ticks (100 ns since 0001-01-01) to a naive datetime; None if not plausible."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    try:
        return datetime(1, 1, 1) + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


FORMATS = (
    FileFormat(
        name="palmsens-pssession",
        description="PalmSens PSTrace session (.pssession, UTF-16 JSON)",
        extensions=(".pssession",),
        sniff=sniff_pssession,
        read=read_pssession,
    ),
)
