"""Small helpers every layer shares: a whole-or-nothing file write and JSON-ready numbers.

Internal (not part of the public API): strict JSON has no NaN or infinity, so a number
eisfit could not determine is written as ``null``, never as a value.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "finite_or_none", "json_ready", "write_atomic"]


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder for a writer that needs a file name (parquet,
    matplotlib's PdfPages): when the block ends normally the file is moved onto ``path``
    (``os.replace``: readers see the old or the new file, never half of one); when it
    raises (Ctrl-C included) the temporary file is removed and ``path`` is left as it was.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` through a temporary file in the same
    folder, then move it into place: readers see the old or the new file, never half of
    one, and an exception or Ctrl-C in between leaves no temporary file behind."""
    with atomic_path(path) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float when it is a finite number, else None (undetermined)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_ready(value: Any) -> Any:
    """Tuples to lists and non-finite floats to None, recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, tuple | list):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    return value
