"""File names eisfit derives from its inputs (the ``fits/`` records of a batch).

A source file's name can be anything its file system allows, and eisfit appends to it
(``_<index>``, ``.json``, a temporary ``.<name>.tmp<pid>``), so a name taken as it is
can exceed the 255-byte limit of a file name on Linux and macOS, or be illegal on
Windows.  `safe_stem` makes a stem that is legal on all three, following the Windows
naming rules (no ``< > : " / \\ | ? *`` or control characters, no trailing dot or space,
no reserved device name such as ``CON`` or ``LPT1``, even with an extension:
https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file), in Unicode NFC
(as macOS stores names), and at most `MAX_STEM_BYTES` bytes of UTF-8: a longer name keeps
its beginning and gets a short hash of the whole name, so distinct long names stay
distinct and the same name always gives the same stem.  `unique_stems` also keeps names
apart that only a case-insensitive file system (macOS, Windows) would merge.  The
mapping from each spectrum to its record is the ``source``, ``index`` and ``fit_file``
columns of results.csv.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["MAX_STEM_BYTES", "safe_stem", "unique_stems"]

#: the longest stem (UTF-8 bytes) before ``_<index>`` and the suffixes are added
MAX_STEM_BYTES = 96
_HASH_CHARS = 10
_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
_RESERVED |= {f"{p}{d}" for p in ("com", "lpt") for d in "\u00b9\u00b2\u00b3"}


def _clip(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def safe_stem(name: str) -> str:
    """A file stem for ``name`` that every common file system accepts (see the module)."""
    text = unicodedata.normalize("NFC", name)
    clean = _ILLEGAL.sub("_", text).rstrip(". ")
    if clean.startswith("."):  # a dot file is hidden, and skipped when a folder is read
        clean = "_" + clean[1:]
    if not clean:
        clean = "spectrum"
    if clean.split(".")[0].rstrip(" ").lower() in _RESERVED:
        clean = "_" + clean
    if len(clean.encode("utf-8")) > MAX_STEM_BYTES:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]
        clean = f"{_clip(clean, MAX_STEM_BYTES - _HASH_CHARS - 1).rstrip('. ')}-{digest}"
    return clean


def unique_stems(stems: Iterable[str], used: set[str] | None = None) -> list[str]:
    """``stems`` made distinct (``_1``, ``_2``... appended), comparing case-insensitively.

    ``used``: stems taken already (case-folded), updated in place.
    """
    taken = set() if used is None else used
    out = []
    for base in stems:
        name, n = base, 1
        while name.casefold() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.casefold())
        out.append(name)
    return out
