"""JSON from files a user or a crash may have changed, read with a size and a depth limit.

`load_json` and `loads_json` raise one exception type, `JsonError` (an `EisfitError` and a
`ValueError`, so ``except (OSError, ValueError)`` at existing call sites still holds),
for everything that can go wrong: a missing or unreadable file, a file that is not a
regular file (a FIFO would block), a file larger than ``max_bytes``, bytes that are not
UTF-8, text that is not JSON, nesting deeper than ``max_depth``, and ``NaN`` /
``Infinity`` tokens.  Nothing else escapes, not even ``RecursionError`` or ``MemoryError``.

* **Size**: the file's size is taken from ``fstat`` of the open file before anything is
  read, and at most ``max_bytes + 1`` bytes are ever read (a file that grows after the
  ``fstat`` is refused too), so a 2 GB (sparse) file costs no allocation.
* **Depth**: Python's `json` decoder recurses once per nested array or object, and a
  document nested 100,000 deep raises ``RecursionError`` (or exhausts the C stack).  The
  nesting depth is measured first (`json_depth`), in linear time and bounded memory:
  escapes are removed with `bytes.replace`, only quotes and brackets are kept
  (`bytes.translate`), and the running sum of the brackets outside strings is taken with
  numpy in 1 MiB slices.  On a 10 MB file this costs a few percent of `json.loads`
  (``bench/bench_safe_json.py``).
* **NaN / Infinity**: every JSON file eisfit writes is written with ``allow_nan=False``
  (`eisfit.runs.batch` records and trends, `eisfit.runs.cache`, the CLI's ``--json``), so
  these tokens can only come from outside and are refused unless ``allow_nan=True``
  (foreign files such as PalmSens ``.pssession`` exports may need it).

Limits for eisfit's own files (measured on the bundled 24-spectrum run, gb-soli model):

* `RECORD_MAX_BYTES` (64 MiB) for one ``fits/`` record or read-cache sidecar: a record
  is about 13 kB for an 80-point spectrum, of which the points are ~40 bytes each, so a
  50,000-point spectrum gives a record of a few MB; 64 MiB leaves a factor of ten.
* `RUN_MAX_BYTES` (512 MiB) for files that grow with the number of spectra of a run
  (``trends.json``: ~0.8 kB per spectrum; ``.cache/rows.json``: ~1.9 kB per spectrum):
  a 100,000-spectrum run gives ~80 MB and ~190 MB; 512 MiB leaves a factor of 2.5 for
  circuits with more parameters.  A larger file is refused, which for the row index only
  costs time (the fits/ records are read instead).
* `MAX_DEPTH` (64): the deepest of these files nests 6 levels (trends.json; fits/
  records 5, rows.json 4); 64 is far from that and far below the interpreter's recursion
  limit (1000).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import JsonError

__all__ = [
    "MAX_DEPTH",
    "RECORD_MAX_BYTES",
    "RUN_MAX_BYTES",
    "json_depth",
    "load_json",
    "loads_json",
]

MAX_DEPTH = 64
RECORD_MAX_BYTES = 64 << 20
RUN_MAX_BYTES = 512 << 20

# Only quotes and brackets matter for the depth; a backslash escapes the byte after it.
_NOT_KEPT = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_SLICE = 1 << 20


def json_depth(data: bytes, *, limit: int | None = None) -> int:
    """The deepest nesting of arrays and objects in the JSON bytes ``data`` (0 for a scalar).

    Brackets inside string literals do not count.  Escapes are removed first: every
    ``\\\\`` pair, then every ``\\"`` (a run of k backslashes before a quote leaves one
    escaping backslash exactly when k is odd); then only quotes and brackets are kept, and
    a bracket is inside a string when an odd number of quotes precedes it.  Counting stops
    as soon as the depth exceeds ``limit`` (when given) and returns that depth.  For text
    that is not JSON the count may be wrong, but never too low for the valid prefix that
    `json.loads` would decode before failing.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(data.translate(None, _NOT_KEPT), dtype=np.uint8)
    depth = deepest = quotes = 0
    for start in range(0, codes.size, _SLICE):
        part = codes[start : start + _SLICE]
        is_quote = part == ord('"')
        inside = (np.cumsum(is_quote, dtype=np.int64) + quotes) % 2 == 1
        running = np.cumsum(np.where(inside, 0, _STEP[part]), dtype=np.int64) + depth
        deepest = max(deepest, int(running.max()))
        depth = int(running[-1])
        quotes = (quotes + int(np.count_nonzero(is_quote))) % 2
        if limit is not None and deepest > limit:
            break
    return deepest


def _refuse_constant(token: str) -> Any:
    raise JsonError(f"{token} is not a JSON number (eisfit writes none)")


def _decode(
    data: bytes, text: str, *, max_depth: int, allow_nan: bool, path: str | Path | None
) -> Any:
    depth = json_depth(data, limit=max_depth)
    if depth > max_depth:
        raise JsonError(f"JSON nested deeper than {max_depth} levels", path=path)
    options: dict[str, Any] = {} if allow_nan else {"parse_constant": _refuse_constant}
    try:
        return json.loads(text, **options)
    except JsonError as exc:
        raise JsonError(exc.reason, path=path) from None
    except (ValueError, RecursionError, MemoryError, TypeError) as exc:
        raise JsonError(f"not valid JSON: {exc}", path=path) from None


def loads_json(
    text: str | bytes, *, max_depth: int = MAX_DEPTH, allow_nan: bool | None = None
) -> Any:
    """`json.loads` of ``text`` (str, or UTF-8 bytes) with a depth limit.

    Raises `JsonError` (and nothing else) when ``text`` is not UTF-8 JSON, nests deeper
    than ``max_depth`` arrays/objects, or holds ``NaN``/``Infinity`` (unless
    ``allow_nan``).  Size is the caller's business here: see `load_json` for files.
    """
    try:
        if isinstance(text, bytes | bytearray):
            data = bytes(text)
            text = data.decode("utf-8")
        else:
            data = str(text).encode("utf-8", errors="surrogatepass")
    except (UnicodeError, MemoryError) as exc:
        raise JsonError(f"not UTF-8 text: {exc}") from None
    try:
        return _decode(data, text, max_depth=max_depth, allow_nan=bool(allow_nan), path=None)
    except MemoryError:
        raise JsonError("not enough memory to decode this JSON") from None


def _read_bounded(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, refused from ``fstat`` when above ``max_bytes``."""
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise JsonError("not a regular file", path=path)
            if info.st_size > max_bytes:
                raise JsonError(
                    f"{info.st_size} bytes, more than the limit of {max_bytes}", path=path
                )
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise JsonError(f"cannot be read: {exc.strerror or exc}", path=path) from None
    except MemoryError:
        raise JsonError("not enough memory to read it", path=path) from None
    if len(data) > max_bytes:
        raise JsonError(f"grew beyond the limit of {max_bytes} bytes while read", path=path)
    return data


def load_json(
    path: str | Path,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    allow_nan: bool | None = None,
) -> Any:
    """The JSON value in the UTF-8 file ``path``, read with a size and a depth limit.

    ``max_bytes``: the largest file accepted (`RECORD_MAX_BYTES`, `RUN_MAX_BYTES` fit
    eisfit's own files); ``max_depth``: the deepest nesting of arrays/objects accepted.
    Raises `JsonError` (and nothing else): see the module docstring for every case.
    """
    data = _read_bounded(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonError(f"not UTF-8 text: {exc}", path=path) from None
    try:
        return _decode(data, text, max_depth=max_depth, allow_nan=bool(allow_nan), path=path)
    except MemoryError:
        raise JsonError("not enough memory to decode it", path=path) from None
