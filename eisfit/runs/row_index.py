"""The row index of a batch folder (``.cache/rows.json``): a resumed batch takes each
finished spectrum's row from here instead of parsing its fits/ record.

For every fits/ record it holds stem -> [spectrum digest, settings digest, record size,
record mtime (ns), row, checksum], where checksum is the sha256 of the canonical JSON
(sorted keys, no spaces) of the first five; an entry is used only while its checksum
matches and the record's size and mtime are unchanged, otherwise the record itself is
read.  It only saves time: an index that is missing, damaged, too large (`RUN_MAX_BYTES`)
or of another version is empty, and an entry that fails any check is a miss.

Layout: one JSON document ``{"version": [2, <eisfit version>], "rows": {...}}`` written
one entry per line, so that it is written as rows finish (`RowIndexWriter`, through a
temporary file moved into place when the run ends or is interrupted) and read without
holding it whole (`RowIndexFile`: it keeps a 64-bit hash and the offset of each line,
16 bytes an entry, and reads an entry when asked; ~2 kB a row would otherwise be held
for every spectrum of a resumed run, issue 15).  A file of another layout that is still
such a document (an older eisfit, an edit) is read whole (`load_rows`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from array import array
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._util import json_ready
from .._version import __version__
from ..errors import JsonError
from .safe_json import RECORD_MAX_BYTES, RUN_MAX_BYTES, load_json, loads_json

__all__ = [
    "INDEX_NAME",
    "RowIndex",
    "RowIndexFile",
    "RowIndexWriter",
    "indexed_row",
    "load_rows",
    "save_rows",
]

INDEX_NAME = "rows.json"
#: stem -> [spectrum digest, settings digest, record size, record mtime_ns, row, checksum]
RowIndex = dict[str, list[Any]]
_ROWS_VERSION = 2
_ROWS_DEPTH = 16


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _entry_checksum(fields: list[Any]) -> str:
    return hashlib.sha256(_canonical(fields)).hexdigest()


def _header() -> bytes:
    """The first line of an index written one entry per line."""
    return json.dumps({"version": [_ROWS_VERSION, __version__]})[:-1].encode() + b', "rows": {\n'


def load_rows(cache_dir: Path | None) -> RowIndex:
    """The whole row index (empty when absent, unreadable, too large or of another version)."""
    if cache_dir is None:
        return {}
    try:
        data = load_json(cache_dir / INDEX_NAME, max_bytes=RUN_MAX_BYTES, max_depth=_ROWS_DEPTH)
    except JsonError:
        return {}
    if not isinstance(data, dict) or data.get("version") != [_ROWS_VERSION, __version__]:
        return {}
    rows = data.get("rows")
    return rows if isinstance(rows, dict) else {}


def indexed_row(
    index: Any, stem: str, record: Path, digest: str, settings_digest: str
) -> dict[str, Any] | None:
    """The stored row of ``record`` from the index (a `RowIndex` or `RowIndexFile`), when
    the entry matches it exactly.

    The entry's checksum must match its content, its digests these, and its size and
    mtime the record's ``stat``; otherwise None (the caller reads the record).
    """
    entry = index.get(stem)
    if not isinstance(entry, list) or len(entry) != 6 or entry[:2] != [digest, settings_digest]:
        return None
    try:
        if entry[5] != _entry_checksum(entry[:5]):
            return None
        info = record.stat()
    except (OSError, ValueError, TypeError):
        return None
    if entry[2:4] != [info.st_size, info.st_mtime_ns] or not isinstance(entry[4], dict):
        return None
    return entry[4]


def _stem_hash(stem: str) -> int:
    return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=8).digest(), "little",
                          signed=True)  # fmt: skip


class RowIndexFile:
    """The row index at ``cache_dir``, read an entry at a time (see the module docstring).

    `get` returns the entry list of a stem, or None; never raises.  Close it when done
    (`close`, or use it as a context manager).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self._handle: IO[bytes] | None = None
        self._whole: RowIndex | None = None
        self._hashes = np.zeros(0, dtype=np.int64)
        self._offsets = np.zeros(0, dtype=np.int64)
        if cache_dir is None:
            self._whole = {}
            return
        try:
            self._scan(cache_dir / INDEX_NAME)
        except (OSError, MemoryError, ValueError):
            self.close()
            self._whole = {}
        if self._handle is None and self._whole is None:
            self._whole = load_rows(cache_dir)  # another layout: read whole, as before

    def _scan(self, path: Path) -> None:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # no FIFO wait
        handle = os.fdopen(descriptor, "rb")
        info = os.fstat(handle.fileno())
        header = _header()
        if (not stat.S_ISREG(info.st_mode) or info.st_size > RUN_MAX_BYTES
                or handle.readline(len(header)) != header):  # fmt: skip
            handle.close()
            if stat.S_ISREG(info.st_mode) and info.st_size <= RUN_MAX_BYTES:
                return  # another layout: `load_rows`
            self._whole = {}
            return
        hashes, offsets = array("q"), array("q")
        offset = len(header)
        while True:
            line = handle.readline(RECORD_MAX_BYTES)
            if not line:
                break
            key = _line_key(line)
            if key is not None:
                hashes.append(_stem_hash(key))
                offsets.append(offset)
            offset += len(line)
        order = np.argsort(np.frombuffer(hashes, dtype=np.int64), kind="stable")
        self._hashes = np.frombuffer(hashes, dtype=np.int64)[order]
        self._offsets = np.frombuffer(offsets, dtype=np.int64)[order]
        self._handle = handle

    def get(self, stem: str, default: Any = None) -> Any:
        """The entry of ``stem`` (the last one written for it), or ``default``."""
        if self._whole is not None:
            return self._whole.get(stem, default)
        if self._handle is None:
            return default
        h = _stem_hash(stem)
        end = int(np.searchsorted(self._hashes, h, side="right"))
        for k in range(end - 1, -1, -1):  # the last line written for it first
            if self._hashes[k] != h:
                break
            entry = self._entry(int(self._offsets[k]), stem)
            if entry is not None:
                return entry
        return default

    def _entry(self, offset: int, stem: str) -> Any:
        try:
            assert self._handle is not None
            self._handle.seek(offset)
            line = self._handle.readline(RECORD_MAX_BYTES).rstrip(b"\n").rstrip(b",")
            data = loads_json(b"{" + line + b"}", max_depth=_ROWS_DEPTH)
        except (OSError, JsonError, ValueError):
            return None
        return data.get(stem) if isinstance(data, dict) and len(data) == 1 else None

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None

    def __enter__(self) -> RowIndexFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line_key(line: bytes) -> str | None:
    """The stem of an entry line ``"stem": [...]`` (stems hold no quote or backslash of
    their own, `eisfit.runs.names`), or None."""
    end = line.find(b'": [')
    if not line.startswith(b'"') or end < 1:
        return None
    try:
        key = loads_json(line[: end + 1], max_depth=1)
    except JsonError:
        return None
    return key if isinstance(key, str) else None


class RowIndexWriter:
    """Writes the row index as rows finish: `add` an entry, then `close` (moves the file
    into place) or `abort` (drops it).  A folder that cannot be written only disables it."""

    def __init__(self, cache_dir: Path, fits_dir: Path) -> None:
        self._fits = fits_dir
        self._path = cache_dir / INDEX_NAME
        self._tmp = cache_dir / f".{INDEX_NAME}.tmp{os.getpid()}"
        self._first = True
        self._handle: IO[bytes] | None = None
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._handle = self._tmp.open("wb")
            self._handle.write(_header())
        except OSError:
            self.abort()

    def add(self, stem: str, digest: str, settings_digest: str, row: Any) -> None:
        """The entry of the fits/ record ``stem`` (already written), with its stored ``row``.

        Left out when the record is missing or the row is not JSON-ready: that only
        costs reading the record on the next run."""
        if self._handle is None:
            return
        try:
            info = (self._fits / f"{stem}.json").stat()
            fields = [digest, settings_digest, info.st_size, info.st_mtime_ns, json_ready(row)]
            line = json.dumps([*fields, _entry_checksum(fields)], allow_nan=False)
            text = ("" if self._first else ",\n") + json.dumps(stem) + ": " + line
            self._handle.write(text.encode())
        except (ValueError, TypeError):
            return
        except OSError:
            self.abort()
            return
        self._first = False

    def close(self) -> None:
        """Finish the file and move it into place (``os.replace``: whole or not at all)."""
        if self._handle is None:
            return
        try:
            self._handle.write(b"\n}}\n")
            self._handle.close()
            self._handle = None
            os.replace(self._tmp, self._path)
        except OSError:
            self.abort()

    def abort(self) -> None:
        """Drop the file being written (the index in place stays as it was)."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)


def save_rows(cache_dir: Path, fits_dir: Path, entries: dict[str, tuple[str, str, Any]]) -> None:
    """Write the index: ``entries`` stem -> (spectrum digest, settings digest, stored row).

    An entry whose record is missing or whose row is not JSON-ready is left out (it only
    costs reading that record on the next run); a folder that cannot be written is skipped.
    """
    writer = RowIndexWriter(cache_dir, fits_dir)
    for stem, (digest, settings_digest, row) in entries.items():
        writer.add(stem, digest, settings_digest, row)
    writer.close()
