"""The table of file formats: how a reader module declares what it reads.

Every reader module in `eisfit.io` defines a module-level ``FORMATS`` tuple of
`FileFormat` records.  `eisfit.io.read` discovers them (no central list to edit), asks
each format's ``sniff`` how confident it is that a file is of its kind, from the file's
first bytes and its name, and calls the most confident reader.  The extension is a
hint only: it adds a small bonus to the confidence, so an extensionless copy of a file
is still recognised by content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..spectrum import Spectrum

__all__ = ["HEAD_BYTES", "FileFormat"]

HEAD_BYTES = 65536  # bytes of the file's start given to every sniffer


@dataclass(frozen=True)
class FileFormat:
    """One file format eisfit reads.

    ``sniff(head, name)`` gets the first `HEAD_BYTES` bytes and the lower-case file name
    and returns a confidence in [0, 1] (0: certainly not; >= 0.9: a magic line or
    signature matched).  It must never raise.  ``read(path)`` returns every spectrum in
    the file, each with ``meta.source`` and ``meta.index`` set, or raises `ReadError`.
    """

    name: str  # short id used by read(path, format=...), e.g. "biologic-mpt"
    description: str
    extensions: tuple[str, ...]  # lower-case, with dot: (".mpt",)
    sniff: Callable[[bytes, str], float]
    read: Callable[[Path], list[Spectrum]]
