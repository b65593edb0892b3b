"""BioLogic EC-Lab binary data files (.mpr, "BIO-LOGIC MODULAR FILE").

The format is not published; these facts come from galvani (``galvani/BioLogic.py``,
GPL-3: read for facts only) and yadg (``extractors/eclab/mpr.py``), and were checked on
the 29 .mpr files of the shared corpus, 14 of them against the .mpt export of the same
run (equal frequencies, impedances and timestamps to the digits the .mpt prints).

* **File**: the 52-byte signature ``BIO-LOGIC MODULAR FILE\\x1a``, spaces to byte 48, four
  zero bytes; then modules, each ``MODULE`` + header + body.  Read module by module: the
  signature first, then each header, whose body length must fit in the file before the
  body is read (so a large file of something else costs a few bytes).
* **Module header**: short name (10 bytes, e.g. ``VMP Set``, ``VMP data``, ``VMP LOG``,
  ``VMP loop``), long name (25 bytes), then up to EC-Lab 11.4x: body length (u32),
  version (u32), date (8 ASCII bytes, ``MM/DD/YY`` with ``/``, ``.`` or ``-``); from
  EC-Lab 11.50: ``ff ff ff ff``, body length, version, an unknown u32, date.
* **VMP data** body: number of records (u32 at 0), number of columns (byte 4), column
  ids, zero padding, records.  By layout: version 2: ids u16 from byte 5, records at
  405; version 3: the same, records at 406; version 0 with an 11.50+ header: ids u16 from
  byte 6, records at 1007; version 0 (old): ids one byte each from byte 5, records at 100.
  Column ids -> dtypes: `_biologic_columns`.  The records must fill the body exactly,
  which checks the layout; one unknown column id is sized from what is left over.
* **VMP loop** body: count (u32), then that many u32 record indices where loops start
  (the last one is the number of records).
* **VMP LOG** body: the acquisition start as an OLE Automation date (f64, days since
  1899-12-30) at byte 465, 469, 473 (EC-Lab 10.x) or 585 (11.x); the one whose date
  matches the settings module's date is taken.  366 bytes after it: the EC-Lab version
  as a length-prefixed string.  Without a LOG module there are no timestamps.
* **VMP Set** body: byte 0 is the technique id (0x1D PEIS, 0x1E GEIS...; yadg's table).

Impedance: ``freq/Hz`` (id 32), ``Re(Z)/Ohm`` (37) and ``-Im(Z)/Ohm`` (38, negated to the
physical sign), all float32; stack-mode files use ``Re(Zstack)``/``-Im(Zstack)`` (424,
425).  float32 values are converted to the shortest decimal that round-trips in float32
(0.1 Hz reads as 0.1, not 0.10000000149), which equals the .mpt export to the digits it
prints.  Splitting into spectra (loops, ``cycle number``, ``z cycle``, ``Ns``, sweep
direction), dropped f = 0 rows, timestamps (start + ``time/s`` of the first point), cycle
and temperature follow `_biologic`, as for the .mpt.  A data module with no records (an
aborted or empty run) raises `ReadError`.  ``meta.extra``: ``format``, ``instrument``
(``BioLogic``: the model is not stored), ``technique``, ``software``, ``warnings``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import ReadError
from ..spectrum import Spectrum
from ._biologic import Run, add_seconds, complex_array, ole_datetime, run_spectra
from ._biologic_columns import COLUMNS, FLAG_IDS, TECHNIQUE_IDS
from .registry import FileFormat
from .sniffing import file_size, open_binary

__all__ = ["FORMATS", "read_mpr", "sniff_mpr"]

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\x00\x00\x00\x00"
_OLE_OFFSETS = (465, 469, 473, 585)
_VERSION_AFTER_OLE = 366
_SIZED = {1: "<u1", 2: "<u2", 4: "<f4", 8: "<f8"}


@dataclass(frozen=True)
class _Module:
    name: str
    version: int
    date: str
    body: bytes
    new_header: bool  # the EC-Lab >= 11.50 header (with ff ff ff ff)


def sniff_mpr(head: bytes, name: str) -> float:
    """The 'BIO-LOGIC MODULAR FILE' signature -> 0.95; the extension alone -> 0.2."""
    if head.startswith(MAGIC[:23]):
        return 0.98 if head.startswith(MAGIC) else 0.9
    return 0.2 if name.lower().endswith(".mpr") else 0.0


def read_mpr(path: str | Path) -> list[Spectrum]:
    """Read every impedance spectrum of an EC-Lab .mpr file (format: module docstring)."""
    with open_binary(path) as handle:
        modules = _modules(handle, path)
    by_name = {}
    for module in modules:
        by_name.setdefault(module.name, module)
    if "VMP data" not in by_name:
        found = ", ".join(m.name for m in modules) or "none"
        raise ReadError(path, f"no 'VMP data' module (modules: {found}): the file holds no data")
    records, warnings = _records(by_name["VMP data"], path)
    extra: dict[str, object] = {"format": "biologic-mpr", "instrument": "BioLogic"}
    settings = by_name.get("VMP Set")
    if settings is not None and settings.body:
        technique = settings.body[0]
        extra["technique"] = TECHNIQUE_IDS.get(technique, f"technique id {technique:#04x}")
    start = _log_start(by_name.get("VMP LOG"), settings, extra, warnings)
    loops = _loop_starts(by_name.get("VMP loop"), path)
    return run_spectra(path, _run(records, start, loops, path, warnings), extra, warnings)


def _modules(handle: BinaryIO, path: str | Path) -> list[_Module]:
    """The modules of the open file, read one at a time: the signature is checked first,
    and a module header announcing more bytes than the file holds is refused before its
    body is read (so a large file of something else costs a few bytes)."""
    size = file_size(handle)
    head = handle.read(len(MAGIC))
    if not head.startswith(MAGIC):
        found = head[:23].decode("latin-1") if head else "an empty file"
        message = f"not a BioLogic .mpr file: starts with {found!r}, not 'BIO-LOGIC MODULAR FILE'"
        if head.lstrip(b"\xef\xbb\xbf").upper().startswith((b"EC-LAB SETTING", b"BT-LAB SETTING")):
            message = "EC-Lab settings file (.mps): it holds settings, not measured data"
        raise ReadError(path, message)
    modules = []
    position = len(MAGIC)
    while position < size:
        handle.seek(position)
        tag = handle.read(6)
        if tag != b"MODULE":
            raise ReadError(path, f"corrupt: {tag!r} at byte {position}, expected 'MODULE'")
        header = handle.read(59)
        new_header = header[35:39] == b"\xff\xff\xff\xff"
        header_size = 59 if new_header else 51
        if len(header) < header_size:
            raise ReadError(path, f"truncated: module header at byte {position} is cut off")
        if new_header:
            length, version = struct.unpack_from("<II", header, 39)
        else:
            length, version = struct.unpack_from("<II", header, 35)
        body_start = position + 6 + header_size
        name = header[:10].decode("latin-1").strip(" \x00")
        if length > size - body_start:
            held = size - body_start
            message = f"truncated: module {name!r} needs {length} bytes, the file holds {held}"
            raise ReadError(path, message)
        handle.seek(body_start)
        body = handle.read(length)
        stamp = header[header_size - 8 : header_size].decode("latin-1").strip(" \x00")
        modules.append(_Module(name, version, stamp, body, new_header))
        position = body_start + length
    return modules


def _records(module: _Module, path: str | Path) -> tuple[np.ndarray, list[str]]:
    body = module.body
    if len(body) < 6:
        raise ReadError(path, f"truncated: the data module holds only {len(body)} bytes")
    (n_records,) = struct.unpack_from("<I", body, 0)
    n_columns = body[4]
    if module.version == 0 and module.new_header:
        ids, offset = _ids(body, 6, n_columns, "H", 1007), 1007
    elif module.version == 0:
        ids, offset = _ids(body, 5, n_columns, "B", 100), 100
    elif module.version in (2, 3):
        offset = 403 + module.version
        ids = _ids(body, 5, n_columns, "H", offset)
    else:
        raise ReadError(path, f"unknown data module version {module.version}")
    if len(body) < offset:
        raise ReadError(path, f"truncated: the data module holds only {len(body)} bytes")
    if not ids or len(ids) != n_columns:
        raise ReadError(path, f"corrupt data module: {n_columns} column ids do not fit its header")
    if n_records == 0:
        raise ReadError(path, "the data module holds no points (the run recorded nothing)")
    fields: list[tuple[str, str]] = []
    unknown: list[int] = []
    for cid in ids:
        if cid in FLAG_IDS:
            if ("flags", "<u1") not in fields:
                fields.append(("flags", "<u1"))
        elif cid in COLUMNS:
            fields.append((_field_name(fields, cid), COLUMNS[cid][0]))
        else:
            unknown.append(cid)
            fields.append((_field_name(fields, cid), ""))
    known = sum(np.dtype(dtype).itemsize for _, dtype in fields if dtype)
    space = len(body) - offset
    warnings = []
    if len(unknown) == 1 and space > known * n_records:
        left = (space - known * n_records) / n_records
        if left in _SIZED:
            fields = [(n, d or _SIZED[int(left)]) for n, d in fields]
            warnings.append(f"unknown column id {unknown[0]} ({int(left)} bytes) skipped")
    if any(not dtype for _, dtype in fields):
        raise ReadError(path, f"unknown column ids {unknown}: the data records cannot be laid out")
    record = np.dtype(fields)
    if space != record.itemsize * n_records:
        message = (
            f"data module holds {space} bytes of records, but {n_records} records of "
            f"{record.itemsize} bytes need {record.itemsize * n_records} (truncated or corrupt)"
        )
        raise ReadError(path, message)
    return np.frombuffer(body, dtype=record, count=n_records, offset=offset), warnings


def _ids(body: bytes, start: int, count: int, code: str, limit: int) -> tuple[int, ...]:
    """The column ids, or () when they would run past ``limit`` or the body."""
    end = start + count * struct.calcsize(code)
    if end > min(limit, len(body)):
        return ()
    return struct.unpack_from(f"<{count}{code}", body, start)


def _field_name(fields: list[tuple[str, str]], cid: int) -> str:
    """``"32"``; a repeated id gets ``"32#2"`` (only the first is read)."""
    taken = {name for name, _ in fields}
    name, k = f"{cid}", 1
    while name in taken:
        k += 1
        name = f"{cid}#{k}"
    return name


def _column(records: np.ndarray, cid: int) -> np.ndarray | None:
    if f"{cid}" not in (records.dtype.names or ()):
        return None
    values = records[f"{cid}"]
    if values.dtype == np.float32:  # shortest decimal that round-trips in float32
        return values.astype(str).astype(float)
    return values.astype(float)


def _run(
    records: np.ndarray, start: datetime | None, loops: list[int], path: str | Path,
    warnings: list[str],
) -> Run:  # fmt: skip
    f, real, minus_imag = (_column(records, cid) for cid in (32, 37, 38))
    if (real is None or minus_imag is None) and _column(records, 424) is not None:
        real, minus_imag = _column(records, 424), _column(records, 425)
        warnings.append("stack-mode file: Z is the whole stack (Re(Zstack), -Im(Zstack))")
    if f is None or real is None or minus_imag is None:
        raise ReadError(path, "no frequency, Re(Z) and -Im(Z) columns: not impedance data")
    time = _column(records, 4)
    cycle, z_cycle = _column(records, 24), _column(records, 469)
    if z_cycle is None:
        z_cycle = _column(records, 213)
    groups = [g for g in (cycle, z_cycle, _column(records, 131)) if g is not None]

    def timestamp_of(row: int) -> datetime | None:
        return start if time is None else add_seconds(start, float(time[row]))

    return Run(
        frequency_hz=f,
        impedance_ohm=complex_array(real, -minus_imag),
        groups=groups,
        loop_starts=loops,
        cycle=cycle if cycle is not None else z_cycle,
        temperature_c=_column(records, 462),
        timestamp_of=timestamp_of,
    )


def _module_date(module: _Module | None) -> date | None:
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2})", module.date if module else "")
    if not match:
        return None
    month, day, year = (int(part) for part in match.groups())
    try:
        return date(2000 + year, month, day)
    except ValueError:
        return None


def _log_start(
    log: _Module | None, settings: _Module | None, extra: dict[str, object], warnings: list[str]
) -> datetime | None:
    if log is None:
        warnings.append("no LOG module: acquisition start unknown, no timestamps")
        return None
    found: list[tuple[int, datetime]] = []
    for offset in _OLE_OFFSETS:
        if offset + 8 <= len(log.body):
            (days,) = struct.unpack_from("<d", log.body, offset)
            stamp = ole_datetime(days) if 29221.0 < days < 73051.0 else None  # 1980-2100
            if stamp is not None:
                found.append((offset, stamp))
    expected = _module_date(settings)
    matching = [item for item in found if item[1].date() == expected]
    if not (matching or found):
        warnings.append("no acquisition start found in the LOG module: no timestamps")
        return None
    offset, start = (matching or found)[0]
    at = offset + _VERSION_AFTER_OLE
    if at < len(log.body):
        text = log.body[at + 1 : at + 1 + log.body[at]].decode("latin-1")
        if re.fullmatch(r"\d+\.\d+", text):
            extra["software"] = f"EC-Lab v{text}"
    return start


def _loop_starts(loop: _Module | None, path: str | Path) -> list[int]:
    if loop is None or len(loop.body) < 4:
        return []
    (count,) = struct.unpack_from("<I", loop.body, 0)
    if 4 + 4 * count > len(loop.body):
        raise ReadError(path, f"corrupt loop module: {count} loop indices do not fit")
    return list(struct.unpack_from(f"<{count}I", loop.body, 4))


FORMATS = (
    FileFormat(
        name="biologic-mpr",
        description="BioLogic EC-Lab binary data file (.mpr)",
        extensions=(".mpr",),
        sniff=sniff_mpr,
        read=read_mpr,
    ),
)
