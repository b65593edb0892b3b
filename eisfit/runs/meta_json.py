"""A `SpectrumMeta` as strict JSON and back, with every value of the same type as before.

Plain JSON would turn tuples into lists, datetimes into strings of no particular kind
and non-finite floats into errors, so the encoding tags them: ``{"tuple": [...]}``,
``{"datetime": "<ISO 8601>"}`` (`datetime.isoformat`, exact to the microsecond),
``{"dict": [[key, value], ...]}`` (string keys, order kept) and ``{"float": "nan"}`` /
``"inf"`` / ``"-inf"``.  Lists, str, int, bool, finite floats and None are themselves
(a float is written by `repr`, which round-trips exactly).  Nothing else is encoded: a
numpy scalar, a pandas Timestamp (a datetime subclass) or a datetime with a tzinfo other
than `datetime.timezone` raises `JsonError`, so that what comes back is always equal to
what went in.

``findings`` are not encoded (they describe screening, which runs after reading): a meta
with findings raises `JsonError`, and a decoded meta has ``findings=None``.  Readers put
str, int, float, bool, None and tuples of str in ``meta.extra`` (checked on every
bundled sample and the real-data corpus of ``../shared``).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from ..errors import JsonError
from ..spectrum import SpectrumMeta

__all__ = ["META_FIELDS", "meta_from_json", "meta_to_json"]

#: the SpectrumMeta fields that are encoded (all but ``findings``)
META_FIELDS = ("source", "index", "timestamp", "cycle", "temperature_k", "extra", "removed",
               "noise_estimate")  # fmt: skip


def _encode(value: Any) -> Any:
    """``value`` as JSON that `_decode` turns back into an equal value of the same type."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is tuple:
        return {"tuple": [_encode(v) for v in value]}
    if kind is list:
        return [_encode(v) for v in value]
    if kind is dict and all(type(k) is str for k in value):
        return {"dict": [[k, _encode(v)] for k, v in value.items()]}
    if kind is datetime and (value.tzinfo is None or type(value.tzinfo) is timezone):
        return {"datetime": value.isoformat()}
    raise JsonError(f"a meta value of type {kind.__name__} has no exact JSON form")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise JsonError("an encoded meta value is an object with more than one key")
    ((tag, inner),) = value.items()
    if tag == "tuple" and isinstance(inner, list):
        return tuple(_decode(v) for v in inner)
    if tag == "dict" and isinstance(inner, list):
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in inner):
            raise JsonError("an encoded dict is not a list of [key, value] pairs")
        return {k: _decode(v) for k, v in inner}
    if tag == "datetime" and isinstance(inner, str):
        try:
            return datetime.fromisoformat(inner)
        except ValueError:
            raise JsonError(f"not an ISO 8601 datetime: {inner[:40]!r}") from None
    if tag == "float" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    raise JsonError(f"unknown tag {str(tag)[:40]!r} in an encoded meta value")


def meta_to_json(meta: SpectrumMeta) -> dict[str, Any]:
    """``meta`` as a JSON-ready dict (`META_FIELDS`); raises `JsonError` when it has none."""
    if meta.findings is not None:
        raise JsonError("a meta with screening findings is not encoded")
    values = {name: getattr(meta, name) for name in META_FIELDS}
    values["extra"] = dict(meta.extra)
    return {name: _encode(value) for name, value in values.items()}


def _optional(value: Any, kind: type) -> bool:
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def meta_from_json(data: Any) -> SpectrumMeta:
    """The `SpectrumMeta` that `meta_to_json` encoded as ``data``; `JsonError` when it is
    not such an encoding (a missing field, a value of the wrong type, an unknown tag)."""
    if not isinstance(data, dict) or set(data) != set(META_FIELDS):
        raise JsonError("an encoded meta without exactly the expected fields")
    v = {name: _decode(data[name]) for name in META_FIELDS}
    if not (
        _optional(v["source"], str) and type(v["index"]) is int
        and _optional(v["timestamp"], datetime) and _optional(v["cycle"], int)
        and _optional(v["temperature_k"], float) and isinstance(v["extra"], dict)
        and isinstance(v["removed"], tuple) and all(type(r) is str for r in v["removed"])
        and _optional(v["noise_estimate"], float)
    ):  # fmt: skip
        raise JsonError("an encoded meta with a value of the wrong type")
    return SpectrumMeta(**v)
