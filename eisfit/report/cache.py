"""Drawn figures kept in the run folder, addressed by the digest of what they show.

A run report draws a figure only when no earlier report drew the same one: the key of a
figure (`figure_key`) is the sha256 of everything that decides its pixels (the measured
points, the fitted circuit and values, or the results table and trends for a trend
figure) together with the code itself (`drawing_digest`: the source of eisfit's
modules, the matplotlib version and the PNG resolution).  So a re-run after a
few spectra changed redraws only those, and a change to the drawing code redraws all.

Layout of ``DIR/.report-cache/``: for each key ``<key>.png``, ``<key>.svg`` (when the figure
was drawn as SVG too) and ``<key>.sha256`` (two lines, ``svg <hex>`` or ``svg -``, and ``png
<hex>``: the digests of the files' bytes).  Nothing is unpickled or parsed beyond that: an
entry whose bytes do not match its digests (a torn write, a flipped bit, an edited file) is
a miss, redrawn and overwritten, never trusted.  Every file is written through
`eisfit._util.write_atomic`.  After a report, `FigureCache.prune` removes the entries it did
not use, so the folder holds one report's figures.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from .._util import write_atomic
from .render import PNG_DPI, Rendered

__all__ = ["CACHE_DIR", "FigureCache", "drawing_digest", "figure_key", "with_svg"]

CACHE_DIR = ".report-cache"
_KEY = re.compile(r"[0-9a-f]{64}")


@cache
def drawing_digest() -> str:
    """sha256 of the code that decides a figure: the source of every eisfit module (the
    drawing, and what it computes on the way: lin-KK, the DRT, the circuit, thinning,
    growth laws; about a megabyte, read in milliseconds), the eisfit, matplotlib, numpy
    and scipy versions (the DRT's non-negative least squares is scipy's) and `PNG_DPI`.
    An installed release never changes, so its cache stays valid; an edited checkout
    redraws."""
    import matplotlib
    import numpy
    import scipy  # the report's footer names its version anyway (`sections.versions`)

    from .._version import __version__

    versions = f"{__version__} {matplotlib.__version__} {numpy.__version__} {scipy.__version__}"
    digest = hashlib.sha256(f"{versions} {PNG_DPI}".encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        try:
            data = path.read_bytes()
        except OSError:
            data = b"-"
        name = path.relative_to(package).as_posix().encode()
        digest.update(len(name).to_bytes(8, "little") + name)
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def figure_key(kind: str, *parts: bytes | str) -> str:
    """The cache key of a figure of ``kind`` drawn from ``parts`` (each length-prefixed,
    so no two different part lists give the same stream)."""
    digest = hashlib.sha256(drawing_digest().encode())
    for part in (kind, *parts):
        data = part.encode() if isinstance(part, str) else bytes(part)
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def with_svg(key: str, svg: bool) -> str:
    """The key of the figure of ``key`` drawn with its SVG too (``svg``), else ``key``: an
    entry without SVG is never served to a report that asks for one."""
    return figure_key("with svg", key) if svg else key


def _sums(rendered: Rendered) -> str:
    svg = "-" if rendered.svg is None else hashlib.sha256(rendered.svg).hexdigest()
    return f"svg {svg}\npng {hashlib.sha256(rendered.png).hexdigest()}\n"


class FigureCache:
    """The figure cache of one folder (``None``: no cache, every lookup misses)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # entries present but not matching their digests
        self._used: set[str] = set()

    def get(self, key: str) -> Rendered | None:
        """The verified figure stored under ``key``, or None (counted as a miss)."""
        self._used.add(key)
        found = self._read(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def _read(self, key: str) -> Rendered | None:
        if self.folder is None or not _KEY.fullmatch(key):
            return None
        base = self.folder / key
        try:
            sums = base.with_suffix(".sha256").read_text(encoding="ascii")
            svg = None if sums.startswith("svg -\n") else base.with_suffix(".svg").read_bytes()
            rendered = Rendered(svg, base.with_suffix(".png").read_bytes())
        except (OSError, UnicodeDecodeError):
            if any(base.with_suffix(s).exists() for s in (".svg", ".png", ".sha256")):
                self.rejected += 1
            return None
        if sums != _sums(rendered):
            self.rejected += 1
            return None
        return rendered

    def put(self, key: str, rendered: Rendered) -> None:
        """Store ``rendered`` under ``key``; a cache that cannot be written is skipped
        (the report does not depend on it)."""
        self._used.add(key)
        if self.folder is None or not _KEY.fullmatch(key):
            return
        base = self.folder / key
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if rendered.svg is not None:
                write_atomic(base.with_suffix(".svg"), rendered.svg)
            write_atomic(base.with_suffix(".png"), rendered.png)
            write_atomic(base.with_suffix(".sha256"), _sums(rendered))  # last: the seal
        except OSError:
            return

    def prune(self, keep: Iterable[str] | None = None) -> int:
        """Remove entries other than ``keep`` (default: those looked up or stored since
        this cache was opened); returns how many files were removed."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        kept = set(self._used if keep is None else keep)
        removed = 0
        for path in self.folder.iterdir():
            stale_tmp = path.name.startswith(".") and ".tmp" in path.name  # a killed write
            if stale_tmp or (path.suffix in (".svg", ".png", ".sha256") and path.stem not in kept):
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    continue
        return removed
