"""Planning a batch (`eisfit.runs.batch.run_batch`): what to fit, in which order, what to reuse.

`plan_batch` reads the sources (through the read cache of `eisfit.runs.cache` when there is
an output folder), merges the files into cells (``cell_by``), sorts each cell in time,
names each spectrum's fits/ record and looks up the records a re-run can reuse;
`chunks` cuts the cells into work items for the workers.  The rules (cells, time, chunks,
resume) are documented in `eisfit.runs.batch`.  `check_sources` refuses sources that hold no
file at all (``eisfit batch`` calls it before fitting, so a typo is an error, not an empty
report).

Memory (issue 15): the plan keeps what it decided, not the spectra.  Per spectrum it holds
its file and place in it, time, digest, sibling band, record stem, what its row says
about it (`Ident`) and whether a stored row can be reused, about 250 bytes; the points
are read again, a work slice at a time, by `eisfit.runs.store.SpectrumStore` (from the read
cache's .npz, which `cached_read` has just written).  Spectra passed in memory, and files
read without an output folder or whose cache entry could not be written, stay in memory
(`InputFile.spectra`), as before.  The stored rows of a resumed run are read again when
their slice runs (`eisfit.runs.store`), not kept.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EisfitError, ReadError
from ..io import expand_sources
from ..screening.siblings import SiblingBand, sibling_bands
from ..spectrum import Spectrum
from .cache import cached_read, entry_files
from .names import safe_stem, unique_stems
from .worker import BatchSettings, spectrum_digest

__all__ = [
    "CELL_BY",
    "CHUNK_MIN",
    "CellPlan",
    "Ident",
    "InputFile",
    "Plan",
    "cell_key",
    "check_sources",
    "chunks",
    "plan_batch",
]

#: accepted values of ``cell_by``
CELL_BY = ("file", "folder", "all")
#: a cell is never split into chunks shorter than this (spectra)
CHUNK_MIN = 25


def _file_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def cell_key(source: str | None, cell_by: str) -> str:
    """The cell a spectrum (or unreadable file) of ``source`` belongs to."""
    if cell_by == "all":
        return "all"
    if source is None:
        return "<memory>"
    return source if cell_by == "file" else str(Path(source).parent)


def chunks(lengths: list[int], workers: int) -> list[tuple[int, int, int]]:
    """(cell, start, stop) work items: whole cells, long ones split when ``workers > 1``."""
    size = max(math.ceil(sum(lengths) / (4 * workers)), CHUNK_MIN) if workers > 1 else 0
    out = []
    for g, n in enumerate(lengths):
        k = max(1, math.ceil(n / size)) if size else 1
        bounds = [round(i * n / k) for i in range(k + 1)]
        out.extend((g, a, b) for a, b in itertools.pairwise(bounds) if b > a)
    return out


@dataclass(frozen=True)
class InputFile:
    """A source of spectra: a file (``path``, content ``sha256``), or one source name of
    spectra given in memory (``path`` None).  ``spectra``: the spectra as read, when kept
    in memory; None when `eisfit.runs.store.SpectrumStore` reads them again from the read
    cache at ``cache_dir``."""

    path: Path | None
    sha256: str | None
    spectra: tuple[Spectrum, ...] | None
    cache_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Ident:
    """What a spectrum's row says about it (the columns `eisfit.runs.rows.base_row` takes
    from its meta): ``source``, ``index``, ``cycle`` and ``timestamp`` (ISO 8601 text)."""

    source: str | None
    index: int
    cycle: int | None
    timestamp: str | None

    def columns(self) -> dict[str, Any]:
        return {"source": self.source, "index": self.index, "cycle": self.cycle,
                "timestamp": self.timestamp}  # fmt: skip


@dataclass(frozen=True)
class CellPlan:
    """One cell's spectra in time order (arrays of one value per spectrum).

    ``files``/``positions``: the `InputFile` and the place in its list of spectra;
    ``digests``: `spectrum_digest` of the cropped spectrum (hex); ``bands``: what its
    siblings cover (log10 low, log10 high, points; NaN row: no sibling), ``reusable``:
    a stored row of these data and settings was found (`eisfit.runs.store` reads it).
    """

    name: str
    files: np.ndarray
    positions: np.ndarray
    times: np.ndarray
    digests: list[str]
    stems: list[str]
    idents: list[Ident]
    bands: np.ndarray
    reusable: np.ndarray

    def __len__(self) -> int:
        return len(self.stems)

    def band(self, j: int) -> SiblingBand | None:
        """The `SiblingBand` of the ``j``-th spectrum (None: it has no sibling)."""
        low, high, points = self.bands[j]
        if math.isnan(low):
            return None
        return SiblingBand(float(low), float(high), float(points), len(self) - 1)


@dataclass(frozen=True)
class Plan:
    """Everything decided before fitting: cells in time order and what each spectrum reuses."""

    files: list[InputFile]
    cells: list[CellPlan]
    time_source: str
    errors: list[dict[str, Any]]

    @property
    def n_spectra(self) -> int:
        return sum(len(c) for c in self.cells)

    @property
    def n_reused(self) -> int:
        return sum(int(c.reusable.sum()) for c in self.cells)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seen:
    """One spectrum as the plan keeps it while it reads (the points are let go)."""

    file: int
    position: int
    ident: Ident
    timestamp: datetime | None
    digest: str | None  # None: cropping left no point
    band: tuple[float, float, float]
    error: dict[str, Any] | None


def _seen(
    spectrum: Spectrum, file: int, position: int, settings: BatchSettings
) -> _Seen:
    m = spectrum.meta
    ident = Ident(m.source, m.index, m.cycle,
                  m.timestamp.isoformat() if m.timestamp is not None else None)  # fmt: skip
    try:
        cropped = spectrum.crop(f_min_hz=settings.f_min_hz, f_max_hz=settings.f_max_hz)
    except EisfitError as exc:  # a spectrum that cropping would empty: an error row
        error = {"source": m.source, "index": m.index, "status": "error", "message": str(exc)}
        return _Seen(file, position, ident, m.timestamp, None, (math.nan,) * 3, error)
    f = cropped.frequency_hz
    band = (float(f.min()), float(f.max()), float(len(cropped)))
    return _Seen(file, position, ident, m.timestamp, spectrum_digest(cropped), band, None)


def _reload_ok(path: Path, digest: str | None, cache_dir: Path | None) -> bool:
    """True when the read cache holds ``path``'s spectra for `eisfit.runs.store` to load."""
    if digest is None or cache_dir is None:
        return False
    return all(f.is_file() for f in entry_files(path, digest, cache_dir))


def _collect(
    sources: Any, settings: BatchSettings, cache_dir: Path | None
) -> tuple[list[InputFile], dict[str, list[_Seen]], list[dict]]:
    """Input files, what the plan keeps of the spectra of each source key (a file's path,
    an in-memory spectrum's ``meta.source``; in the order first seen) and error rows of
    unreadable files."""
    items = [sources] if isinstance(sources, str | Path | Spectrum) else list(sources)
    files: list[InputFile] = []
    groups: dict[str, list[_Seen]] = {}
    errors: list[dict] = []
    memory: dict[str, tuple[int, list[Spectrum]]] = {}  # key -> (file number, spectra)
    for item in items:
        if isinstance(item, Spectrum):
            key = item.meta.source or "<memory>"
            if key not in memory:
                memory[key] = (len(files), [])
                files.append(InputFile(None, None, ()))  # filled in below
            k, spectra = memory[key]
            groups.setdefault(key, []).append(_seen(item, k, len(spectra), settings))
            spectra.append(item)
            continue
        for path in expand_sources(item):
            if isinstance(path, ReadError):
                errors.append({"source": str(Path(path.path)), "status": "error",
                               "message": str(path)})  # fmt: skip
                continue
            read = _read(path, cache_dir, settings, len(files))
            if isinstance(read, dict):
                errors.append(read)
                continue
            files.append(read[0])
            groups.setdefault(str(path), []).extend(read[1])
    for k, spectra in memory.values():
        files[k] = InputFile(None, None, tuple(spectra))
    return files, groups, errors


def _read(
    path: Path, cache_dir: Path | None, settings: BatchSettings, number: int
) -> tuple[InputFile, list[_Seen]] | dict[str, Any]:
    """One file read (through the read cache): its `InputFile` and what the plan keeps of
    its spectra, or the error row of a file that cannot be read."""
    digest = _file_sha256(path)
    try:
        spectra = cached_read(path, digest, cache_dir)
    except EisfitError as exc:
        return {"source": str(path), "status": "error", "message": str(exc)}
    except Exception as exc:  # one file must never stop the batch
        why = f"cannot be read ({type(exc).__name__}: {exc})"
        if not isinstance(exc, OSError | MemoryError):
            why += "; this is a bug in eisfit, please report it"
        return {"source": str(path), "status": "error", "message": f"{path}: {why}"}
    kept = None if _reload_ok(path, digest, cache_dir) else tuple(spectra)
    seen = [_seen(s, number, i, settings) for i, s in enumerate(spectra)]
    return InputFile(path, digest, kept, cache_dir), seen


def check_sources(sources: Any) -> None:
    """`EisfitError` naming every source when none of ``sources`` holds a file.

    A missing path, a folder without files or a glob matching nothing among good sources
    stays an ``error`` row of the batch (its good results are kept); when every source
    is such, there is nothing to fit and the batch would only write an empty report.
    """
    items = [sources] if isinstance(sources, str | Path | Spectrum) else list(sources)
    problems: list[ReadError] = []
    for item in items:
        if isinstance(item, Spectrum):
            return
        for path in expand_sources(item):
            if not isinstance(path, ReadError):
                return
            problems.append(path)
    if problems:
        raise EisfitError(f"nothing to fit: {'; '.join(str(p) for p in problems)}")


# --- cells, time, names ---------------------------------------------------------------------


def _cells(groups: dict[str, list[_Seen]], cell_by: str) -> dict[str, list[_Seen]]:
    """Merge the spectra of each source key into cells (order kept)."""
    cells: dict[str, list[_Seen]] = {}
    for key, group in groups.items():
        cells.setdefault(cell_key(key, cell_by), []).extend(group)
    return cells


def _ordered(cells: dict[str, list[_Seen]]) -> tuple[dict[str, list[_Seen]], dict, str]:
    """Sort each cell in time; time_h per spectrum (by id) and the time source."""
    every = [s for group in cells.values() for s in group]
    if every and all(s.timestamp is not None for s in every):
        t0 = min(s.timestamp for s in every)
        cells = {k: sorted(g, key=lambda s: s.timestamp) for k, g in cells.items()}
        times = {id(s): (s.timestamp - t0).total_seconds() / 3600.0 for s in every}
        return cells, times, "timestamp"
    times = {id(s): float(i) for g in cells.values() for i, s in enumerate(g)}
    return cells, times, "file_order"


class _Band:
    """The band of a cropped spectrum as `sibling_bands` reads it (lowest and highest
    frequency, number of points), without its points."""

    def __init__(self, low_hz: float, high_hz: float, points: float) -> None:
        self.frequency_hz = np.array([low_hz, high_hz])
        self._points = int(points)

    def __len__(self) -> int:
        return self._points


def _bands(group: list[_Seen]) -> np.ndarray:
    """What each spectrum's siblings in its cell cover (`eisfit.screening.siblings`)."""
    out = np.full((len(group), 3), math.nan)
    for j, band in enumerate(sibling_bands([_Band(*s.band) for s in group])):  # type: ignore[arg-type]
        if band is not None:
            out[j] = (band.log_low, band.log_high, band.points)
    return out


def _stems(sources: list[str | None], indices: list[int], used: set[str]) -> list[str]:
    """Unique fits/ file stems, ``<source-stem>_<index>``, legal and bounded in length on
    every common file system (`eisfit.runs.names`)."""
    stems = [safe_stem(Path(s).stem if s else "spectrum") for s in sources]
    return unique_stems([f"{st}_{i}" for st, i in zip(stems, indices, strict=True)], used)


def plan_batch(
    sources: Any, settings: BatchSettings, cell_by: str, out: Path | None, *, reuse: Any = None
) -> Plan:
    """Read ``sources``, group them into cells in time order, find what ``out`` can reuse.

    ``reuse``: a callable (stem, digest) -> bool saying whether a stored row of these data
    and settings exists (`eisfit.runs.store.StoredRows.exists`); None: nothing is reused.
    """
    cache = out / ".cache" / "read" if out is not None else None
    files, groups, errors = _collect(sources, settings, cache)
    for error in errors:
        error["cell"] = cell_key(error["source"], cell_by)
    cells, times, time_source = _ordered(_cells(groups, cell_by))
    del groups
    used: set[str] = set()
    plans = []
    for name, group in cells.items():
        errors.extend({**s.error, "cell": name} for s in group if s.error is not None)
        kept = [s for s in group if s.error is None]
        stems = _stems([s.ident.source for s in kept], [s.ident.index for s in kept], used)
        digests = [str(s.digest) for s in kept]
        reusable = np.array(
            [bool(reuse(st, d)) if reuse else False for st, d in zip(stems, digests, strict=True)],
            dtype=bool,
        )
        plans.append(CellPlan(
            name, np.array([s.file for s in kept], dtype=np.int32),
            np.array([s.position for s in kept], dtype=np.int32),
            np.array([times[id(s)] for s in kept], dtype=float), digests, stems,
            [s.ident for s in kept], _bands(kept), reusable,
        ))  # fmt: skip
    return Plan(files, plans, time_source, errors)
