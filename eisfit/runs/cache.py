"""Caches in a batch's output folder (``DIR/.cache``) that make a resumed batch cheap.

They only save time: deleting ``.cache`` is always safe, and an entry that is unreadable,
oversized or inconsistent in any way is a miss (the file is read, or the fits/ record is
used, as if there were no cache): never an exception, never a large allocation.

**Read cache** (``read/<key>.npz`` + ``read/<key>.json``): the spectra of one input file,
so unchanged files are not parsed again.  The key is the sha256 of the eisfit version, the
path as given and the file's content sha256: an edited file, a different path or another
eisfit version misses the cache.  Only files read without error are stored.

* ``<key>.npz`` (`numpy.savez`, stored uncompressed): ``frequency_hz`` (float64) and
  ``impedance_ohm`` (complex128) of all the file's spectra concatenated, and ``offsets``
  (int64, one more than the spectra) where each spectrum starts.  It is loaded with
  ``allow_pickle=False``: nothing in it can build an object, so no allow-list is needed.
* ``<key>.json`` (the sidecar): format and schema, eisfit version, the path, the source
  file's sha256, the npz's size and sha256, each spectrum's point count and meta
  (`eisfit.runs.meta_json`: every value comes back as the same type; findings is None for a
  read), and the sha256 of all of that (``sidecar_sha256``).  Spectra whose meta would
  not come back equal (a numpy scalar in ``extra``, a NaN) are not cached.

On load every check must pass, in this order, each before anything larger is read: the
sidecar through `eisfit.runs.safe_json` (at most 1 MiB + 16 bytes per byte of the source file,
64 MiB at most; depth 32); its own checksum, format, version, path and source sha256; a
point count of at most one point per byte of the source file; the npz a regular file
whose ``stat`` size equals the sidecar's and is at most 24 bytes per point + 8 per
spectrum + 16 KiB; its sha256; exactly the three members, stored, each ``.npy`` header
declaring the expected dtype and shape; offsets that agree with the point counts; spectra
that pass `Spectrum` validation.  The spectra then equal `eisfit.read`'s exactly (same
`spectrum_digest`, same meta).  The limits hold with room to spare for every file of the
bundled samples and of the 178 readable files of the ``../shared`` real-data corpus: the
sidecar is at most 2.2 times the source file's size, the npz at most 2.7 times (at least
9 source bytes per point).  An entry beyond them is simply not written.  Old
``<key>.pickle`` entries (the previous format) are never loaded, and are deleted when
their key is next read.

**Row index** (``rows.json``): `eisfit.runs.row_index` (its names are re-exported here).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._util import write_atomic
from .._version import __version__
from ..errors import CacheEntryError, EisfitError
from ..io import read
from ..spectrum import Spectrum, SpectrumMeta
from .meta_json import meta_from_json, meta_to_json
from .row_index import RowIndex, indexed_row, load_rows, save_rows
from .safe_json import RECORD_MAX_BYTES, load_json, loads_json

__all__ = [
    "RowIndex",
    "cached_read",
    "cached_spectra",
    "entry_files",
    "indexed_row",
    "load_rows",
    "save_rows",
]

_FORMAT = "eisfit-read-cache"
_SCHEMA = 1
#: the npz members: name -> dtype, in the order they are written
_ARRAYS = {"frequency_hz": np.dtype("<f8"), "impedance_ohm": np.dtype("<c16"),
           "offsets": np.dtype("<i8")}  # fmt: skip
_NPZ_SLACK_BYTES = 16 << 10  # zip headers and .npy headers (measured: under 1 kB)
_NPY_HEADER_MAX = 4096
_SIDECAR_BASE_BYTES = 1 << 20
_SIDECAR_PER_SOURCE_BYTE = 16
_SIDECAR_DEPTH = 32
# Everything numpy and zipfile are known to raise on damaged input, and what decoding a
# sidecar may raise; caught only around those calls.
_BROKEN = (EisfitError, MemoryError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError,
           OSError, KeyError, EOFError, TypeError, IndexError, OverflowError,
           NotImplementedError, RuntimeError, SyntaxError, RecursionError)  # fmt: skip


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key(path: Path, sha256: str) -> str:
    text = f"{__version__}\0{path}\0{sha256}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def entry_files(path: Path, sha256: str, cache_dir: Path) -> tuple[Path, Path]:
    """The (npz, sidecar) files of the read-cache entry of ``path`` with content ``sha256``."""
    base = cache_dir / _key(path, sha256)
    return base.with_suffix(".npz"), base.with_suffix(".json")


# --- limits -------------------------------------------------------------------------------


def _sidecar_limit(source_bytes: int) -> int:
    return min(_SIDECAR_BASE_BYTES + _SIDECAR_PER_SOURCE_BYTE * source_bytes, RECORD_MAX_BYTES)


def _npz_limit(points: int, spectra: int) -> int:
    per_point = _ARRAYS["frequency_hz"].itemsize + _ARRAYS["impedance_ohm"].itemsize
    return per_point * points + _ARRAYS["offsets"].itemsize * (spectra + 1) + _NPZ_SLACK_BYTES


# --- the npz ------------------------------------------------------------------------------


def _npz_bytes(spectra: list[Spectrum]) -> bytes:
    counts = [len(s) for s in spectra]
    arrays = {
        "frequency_hz": np.concatenate([s.frequency_hz for s in spectra]),
        "impedance_ohm": np.concatenate([s.impedance_ohm for s in spectra]),
        "offsets": np.concatenate([[0], np.cumsum(counts)]),
    }
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False,
             **{name: arrays[name].astype(dtype) for name, dtype in _ARRAYS.items()})  # fmt: skip
    return buffer.getvalue()


def _member(archive: zipfile.ZipFile, name: str, length: int) -> np.ndarray:
    """The array ``name`` of ``length`` items, its header checked before it is loaded."""
    dtype = _ARRAYS[name]
    info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        raise CacheEntryError(f"{name} is compressed")
    if info.file_size > dtype.itemsize * length + _NPY_HEADER_MAX:
        raise CacheEntryError(f"{name} is larger than {length} items")
    raw = archive.read(info)
    handle = io.BytesIO(raw)
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, header_dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _, header_dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise CacheEntryError(f"{name}: .npy version {version}")
    if shape != (length,) or header_dtype != dtype:
        raise CacheEntryError(f"{name}: {header_dtype} {shape}, expected {dtype} ({length},)")
    array = np.load(io.BytesIO(raw), allow_pickle=False)
    if not isinstance(array, np.ndarray) or array.shape != (length,) or array.dtype != dtype:
        raise CacheEntryError(f"{name} did not load as {dtype} ({length},)")
    return array


def _read_npz(file: Path, size: int, sha256: str) -> bytes:
    descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no wait
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            raise CacheEntryError(f"npz of {info.st_size} bytes, the sidecar says {size}")
        data = handle.read(size + 1)
    if len(data) != size or _sha256(data) != sha256:
        raise CacheEntryError("npz bytes do not match the sidecar's sha256")
    return data


def _spectra(data: bytes, counts: list[int], metas: list[SpectrumMeta]) -> list[Spectrum]:
    points = sum(counts)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sorted(archive.namelist()) != sorted(f"{name}.npy" for name in _ARRAYS):
            raise CacheEntryError("npz members are not the expected ones")
        f = _member(archive, "frequency_hz", points)
        z = _member(archive, "impedance_ohm", points)
        offsets = _member(archive, "offsets", len(counts) + 1)
    if offsets.tolist() != [0, *np.cumsum(counts).tolist()]:
        raise CacheEntryError("npz offsets do not match the sidecar's point counts")
    return [
        Spectrum(frequency_hz=f[a:b], impedance_ohm=z[a:b], meta=meta)
        for a, b, meta in zip(offsets[:-1], offsets[1:], metas, strict=True)
    ]


# --- the sidecar --------------------------------------------------------------------------


def _sidecar_text(path: Path, sha256: str, npz: bytes, spectra: list[Spectrum]) -> str:
    body = {
        "format": _FORMAT,
        "schema": _SCHEMA,
        "eisfit": __version__,
        "source_path": str(path),
        "source_sha256": sha256,
        "npz_bytes": len(npz),
        "npz_sha256": _sha256(npz),
        "counts": [len(s) for s in spectra],
        "meta": [meta_to_json(s.meta) for s in spectra],
    }
    return json.dumps({**body, "sidecar_sha256": _sha256(_canonical(body))}, allow_nan=False)


def _checked_sidecar(data: Any, path: Path, sha256: str, source_bytes: int) -> dict[str, Any]:
    """The sidecar's body when its checksum and identity match; raises `CacheEntryError` if not."""
    if not isinstance(data, dict) or not isinstance(data.get("sidecar_sha256"), str):
        raise CacheEntryError("sidecar without a checksum")
    body = {k: v for k, v in data.items() if k != "sidecar_sha256"}
    if _sha256(_canonical(body)) != data["sidecar_sha256"]:
        raise CacheEntryError("sidecar does not match its checksum")
    identity = [_FORMAT, _SCHEMA, __version__, str(path), sha256]
    keys = ["format", "schema", "eisfit", "source_path", "source_sha256"]
    if [body.get(k) for k in keys] != identity:
        raise CacheEntryError("sidecar of another format, eisfit version, path or source file")
    counts, size = body.get("counts"), body.get("npz_bytes")
    if not (isinstance(counts, list) and counts and all(type(c) is int and c > 0 for c in counts)
            and isinstance(body.get("meta"), list) and len(body["meta"]) == len(counts)
            and type(size) is int and isinstance(body.get("npz_sha256"), str)):  # fmt: skip
        raise CacheEntryError("sidecar fields of the wrong type")
    if sum(counts) > source_bytes or size > _npz_limit(sum(counts), len(counts)):
        raise CacheEntryError("sidecar point count or npz size beyond the limits")
    return body


def _source_bytes(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def cached_spectra(path: Path, sha256: str, cache_dir: Path) -> list[Spectrum] | None:
    """The spectra of ``path`` from the read cache, or None (a miss) when any check fails.

    Never raises and never reads more than the limits in the module docstring allow.
    """
    source_bytes = _source_bytes(path)
    if source_bytes is None:
        return None
    npz_file, sidecar_file = entry_files(path, sha256, cache_dir)
    try:
        data = load_json(sidecar_file, max_bytes=_sidecar_limit(source_bytes),
                         max_depth=_SIDECAR_DEPTH)  # fmt: skip
        body = _checked_sidecar(data, path, sha256, source_bytes)
        metas = [meta_from_json(m) for m in body["meta"]]
        npz = _read_npz(npz_file, body["npz_bytes"], body["npz_sha256"])
        return _spectra(npz, body["counts"], metas)
    except _BROKEN:
        return None


def _store(path: Path, sha256: str, cache_dir: Path, spectra: list[Spectrum]) -> None:
    """Write the entry of ``spectra``, unless they would not come back exactly or in bounds."""
    source_bytes = _source_bytes(path)
    if source_bytes is None or not spectra:
        return
    npz_file, sidecar_file = entry_files(path, sha256, cache_dir)
    try:
        npz = _npz_bytes(spectra)
        text = _sidecar_text(path, sha256, npz, spectra)
        body = _checked_sidecar(loads_json(text, max_depth=_SIDECAR_DEPTH), path, sha256,
                                source_bytes)  # fmt: skip
        if len(text.encode()) > _sidecar_limit(source_bytes):
            return
        if [meta_from_json(m) for m in body["meta"]] != [s.meta for s in spectra]:
            return  # would not come back equal (e.g. a NaN in extra)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for file, content in ((npz_file, npz), (sidecar_file, text.encode())):
            write_atomic(file, content)
    except _BROKEN:
        return


def cached_read(path: Path, sha256: str | None, cache_dir: Path | None) -> list[Spectrum]:
    """`eisfit.read` of ``path`` through the cache (no cache without a digest or folder).

    Raises what `eisfit.read` raises; a cache entry that fails any check is a miss, and a
    cache that cannot be written is skipped silently (it only costs time).
    """
    if sha256 is None or cache_dir is None:
        return read(path)
    spectra = cached_spectra(path, sha256, cache_dir)
    if spectra is not None:
        return spectra
    with contextlib.suppress(OSError):
        (cache_dir / f"{_key(path, sha256)}.pickle").unlink(missing_ok=True)  # old format
    spectra = read(path)
    _store(path, sha256, cache_dir, spectra)
    return spectra
