"""Caches in a batch's output folder (``DIR/.cache``) that make a resumed batch cheap.

They only save time: deleting ``.cache`` is always safe, and every entry is checked
against the real thing before use.

``read/<key>.pickle``: the spectra of one input file in `eisfit.series_fit.pack` form
(numpy arrays and plain meta values), so unchanged files are not parsed again.  The key is
the sha256 of the eisfit version, the path as given and the file's content sha256: an
edited file, a different path or another eisfit version misses the cache.  Only files read
without error are stored.  Loading uses a restricted unpickler that builds nothing but
numpy arrays, numpy scalars and datetimes, so a cache file cannot run code; a file that
does not load (truncated, foreign, from an incompatible numpy) counts as a miss.

``rows.json``: for every fits/ record, its stem, spectrum and settings digests, the
record's size and modification time (ns) and its ``row``, so a resumed batch need not
parse every fits/*.json; an entry is used only while the record's size and time are
unchanged, otherwise the record itself is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

from . import __version__
from .io import read
from .physics.contributions import json_ready
from .series_fit import pack, unpack
from .spectrum import Spectrum

__all__ = ["RowIndex", "cached_read", "load_rows", "save_rows"]

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
}
_BROKEN = (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a read cache")


def _key(path: Path, sha256: str) -> str:
    text = f"{__version__}\0{path}\0{sha256}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _load(file: Path) -> list[Spectrum] | None:
    try:
        with file.open("rb") as handle:
            packed = _Unpickler(handle).load()
        return [unpack(item) for item in packed]
    except FileNotFoundError:
        return None
    except (*_BROKEN, IndexError, KeyError):
        return None


def cached_read(path: Path, sha256: str | None, cache_dir: Path | None) -> list[Spectrum]:
    """`eisfit.read` of ``path`` through the cache (no cache without a digest or folder).

    Raises what `eisfit.read` raises; a cache that cannot be written is skipped silently
    (it only costs time).
    """
    if sha256 is None or cache_dir is None:
        return read(path)
    file = cache_dir / f"{_key(path, sha256)}.pickle"
    spectra = _load(file)
    if spectra is not None:
        return spectra
    spectra = read(path)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.tmp{os.getpid()}")
        tmp.write_bytes(pickle.dumps([pack(s) for s in spectra], protocol=5))
        os.replace(tmp, file)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
    return spectra


#: stem -> [spectrum digest, settings digest, record size, record mtime_ns, row]
RowIndex = dict[str, list[Any]]
_ROWS_VERSION = 1


def load_rows(cache_dir: Path | None) -> RowIndex:
    """The row index (empty when absent or unreadable)."""
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / "rows.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != [_ROWS_VERSION, __version__]:
        return {}
    rows = data.get("rows")
    return rows if isinstance(rows, dict) else {}


def indexed_row(
    index: RowIndex, stem: str, record: Path, digest: str, settings_digest: str
) -> dict[str, Any] | None:
    """The stored row of ``record`` from the index, when the entry matches it exactly."""
    entry = index.get(stem)
    if not isinstance(entry, list) or len(entry) != 5 or entry[:2] != [digest, settings_digest]:
        return None
    try:
        stat = record.stat()
    except OSError:
        return None
    if entry[2:4] != [stat.st_size, stat.st_mtime_ns] or not isinstance(entry[4], dict):
        return None
    return entry[4]


def save_rows(cache_dir: Path, fits_dir: Path, entries: dict[str, tuple[str, str, Any]]) -> None:
    """Write the index: ``entries`` stem -> (spectrum digest, settings digest, stored row)."""
    rows: RowIndex = {}
    for stem, (digest, settings_digest, row) in entries.items():
        try:
            stat = (fits_dir / f"{stem}.json").stat()
        except OSError:
            continue
        rows[stem] = [digest, settings_digest, stat.st_size, stat.st_mtime_ns, json_ready(row)]
    text = json.dumps({"version": [_ROWS_VERSION, __version__], "rows": rows}, allow_nan=False)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".rows.json.tmp{os.getpid()}"
        tmp.write_text(text)
        os.replace(tmp, cache_dir / "rows.json")
    except OSError:
        pass
