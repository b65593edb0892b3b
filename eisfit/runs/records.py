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

from .._util import json_ready
from ..errors import JsonError
from .safe_json import RECORD_MAX_BYTES, load_json

__all__ = ["CanonicalJSON", "canonical_json", "content_checksum", "load_record", "record_text"]


def content_checksum(data: Any) -> str:
    """sha256 of the canonical JSON of ``data`` (JSON-ready: no NaN, no numpy types)."""
    return hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


class CanonicalJSON(str):
    """A record value already written as canonical JSON (`canonical_json`).

    The batch's workers serialise the large parts of a record (fit, analysis, measured
    points) themselves, in parallel, and hand them over as such strings: the process
    that writes the records then only seals them (`record_text`), instead of walking
    and serialising every record alone.  `eisfit._util.json_ready` passes them through
    unchanged (a string).
    """

    __slots__ = ()


def canonical_json(value: Any) -> CanonicalJSON:
    """``value`` (made JSON-ready: NaN to null, tuples to lists) as canonical JSON.

    Tuples are written as lists either way; only a value holding a non-finite number
    (which strict JSON refuses) is walked by `json_ready` first."""
    try:
        return CanonicalJSON(_canonical(value))
    except ValueError:  # NaN or infinity somewhere: null, as json_ready writes it
        return CanonicalJSON(_canonical(json_ready(value)))


def _record_canonical(body: dict[str, Any]) -> str:
    """The canonical JSON of ``body``, its `CanonicalJSON` values spliced in as they are:
    the text ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` gives for the
    record with those values parsed back."""
    if not any(isinstance(v, CanonicalJSON) for v in body.values()):
        return _canonical(body)
    parts = (
        f"{json.dumps(k)}:{v if isinstance(v, CanonicalJSON) else _canonical(v)}"
        for k, v in sorted(body.items())
    )
    return "{" + ",".join(parts) + "}"


def record_text(record: dict[str, Any]) -> str:
    """The file text of a JSON-ready ``record``, sealed with its ``checksum``.

    The text is the canonical JSON the checksum is taken of, with ``"checksum"`` added
    as its last key: one serialisation per record instead of two, and no indentation
    (numbers are written with ``repr``, exact either way): 10.0 kB instead of 12.3 kB for a
    60-point record.  Values may be `CanonicalJSON` already.
    """
    text = _record_canonical({k: v for k, v in record.items() if k != "checksum"})
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
