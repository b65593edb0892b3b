"""The ``fits/`` records of a batch: written with a checksum of their content, read back
only when it still matches.

A record is the JSON of one spectrum's fit, analysis, row, measured points and
provenance (`eisfit.runs.batch`).  A resumed batch reuses a record's row instead of fitting
again and the report draws from it, so a record changed on disk (a flipped bit, an
edit, a half-restored backup) must not pass for a result: ``checksum`` holds the sha256
of the record's canonical JSON (keys sorted, no spaces) without that field, and
`load_record` returns None for a record whose checksum is missing or wrong, one that is
not a JSON object, or one too large or too deeply nested to be eisfit's
(`eisfit.runs.safe_json`).  The checksum guards against accidents, not against someone who
recomputes it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import JsonError
from .safe_json import RECORD_MAX_BYTES, load_json

__all__ = ["content_checksum", "load_record", "record_text"]


def content_checksum(data: Any) -> str:
    """sha256 of the canonical JSON of ``data`` (JSON-ready: no NaN, no numpy types)."""
    return hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def record_text(record: dict[str, Any]) -> str:
    """The file text of a JSON-ready ``record``, sealed with its ``checksum``.

    The text is the canonical JSON the checksum is taken of, with ``"checksum"`` added
    as its last key: one serialisation per record instead of two, and no indentation
    (numbers are written with ``repr``, exact either way); about a third fewer bytes
    than indented JSON (a 60-point record: 9 kB instead of 14 kB).
    """
    text = _canonical({k: v for k, v in record.items() if k != "checksum"})
    seal = f'"checksum":"{hashlib.sha256(text.encode("utf-8")).hexdigest()}"}}'
    return f"{text[:-1]},{seal}" if text != "{}" else "{" + seal


def load_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path`` (without ``checksum``) when it is whole and unchanged."""
    try:
        data = load_json(path, max_bytes=RECORD_MAX_BYTES)
    except JsonError:
        return None
    if not isinstance(data, dict):
        return None
    stored = data.pop("checksum", None)
    try:
        return data if stored == content_checksum(data) else None
    except (TypeError, ValueError):  # pragma: no cover - loaded JSON always dumps
        return None
