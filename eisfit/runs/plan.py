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
about it (`CellPlan.ident`) and whether a stored row can be reused, in arrays and shared
text: about 250 bytes a spectrum (the points of a 60-point spectrum take 1.4 kB, a
`Spectrum` with its meta about 3 kB more).  The points are read again, a work slice at
a time, by `eisfit.runs.store.SpectrumStore` (from the read cache's .npz, which
`cached_read` has just written).  Spectra passed in memory, and files read without an
output folder or whose cache entry could not be written, stay in memory
(`InputFile.spectra`), as before.  The stored rows of a resumed run are read again when
their slice runs (`eisfit.runs.store`), not kept.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from array import array
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


_NO_CYCLE = np.iinfo(np.int64).min  # a spectrum without a cycle number


@dataclass(frozen=True)
class CellPlan:
    """One cell's spectra in time order (one value per spectrum in each field).

    ``files``/``positions``: the `InputFile` and the place in its list of spectra;
    ``times``: time_h; ``digests``: `spectrum_digest` of the cropped spectrum (raw
    sha256, a row of 32 bytes each); ``bands``: what its siblings cover (log10 low,
    log10 high, points; NaN row: no sibling); ``reusable``: a stored row of these data
    and settings was found (`eisfit.runs.store` reads it); ``sources``, ``indices``,
    ``cycles``, ``timestamps``: what its row says about it (`ident`).
    """

    name: str
    files: np.ndarray
    positions: np.ndarray
    times: np.ndarray
    digests: np.ndarray
    stems: list[str]
    bands: np.ndarray
    reusable: np.ndarray
    sources: list[str | None]
    indices: np.ndarray
    cycles: np.ndarray
    timestamps: list[datetime | None]

    def __len__(self) -> int:
        return len(self.stems)

    def digest(self, j: int) -> str:
        """The `spectrum_digest` (hex) of the ``j``-th spectrum."""
        return self.digests[j].tobytes().hex()

    def band(self, j: int) -> SiblingBand | None:
        """The `SiblingBand` of the ``j``-th spectrum (None: it has no sibling)."""
        low, high, points = self.bands[j]
        if math.isnan(low):
            return None
        return SiblingBand(float(low), float(high), float(points), len(self) - 1)

    def ident(self, j: int) -> dict[str, Any]:
        """The columns of the ``j``-th spectrum's row that its meta fills (``source``,
        ``index``, ``cycle``, ``timestamp``), as `eisfit.runs.rows.base_row` fills them."""
        cycle, stamp = int(self.cycles[j]), self.timestamps[j]
        return {"source": self.sources[j], "index": int(self.indices[j]),
                "cycle": None if cycle == _NO_CYCLE else cycle,
                "timestamp": stamp.isoformat() if stamp is not None else None}  # fmt: skip


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


class _Seen:
    """What the plan keeps of the spectra of one source key while it reads, as columns
    (compact: the points are let go, text is shared)."""

    def __init__(self) -> None:
        self.files, self.positions = array("i"), array("i")
        self.indices, self.cycles = array("q"), array("q")
        self.bands = array("d")
        self.digests = bytearray()
        self.sources: list[str | None] = []
        self.timestamps: list[datetime | None] = []
        self.errors: dict[int, dict[str, Any]] = {}  # row of a spectrum cropping empties

    def __len__(self) -> int:
        return len(self.positions)

    def add(self, spectrum: Spectrum, file: int, position: int, crop: dict, text: dict) -> None:
        m = spectrum.meta
        self.files.append(file)
        self.positions.append(position)
        self.indices.append(m.index)
        self.cycles.append(_NO_CYCLE if m.cycle is None else m.cycle)
        self.sources.append(text.setdefault(m.source, m.source))
        self.timestamps.append(m.timestamp)
        try:
            cropped = spectrum.crop(**crop)
        except EisfitError as exc:  # a spectrum that cropping would empty: an error row
            self.errors[len(self.positions) - 1] = {
                "source": m.source, "index": m.index, "status": "error", "message": str(exc),
            }  # fmt: skip
            self.digests += bytes(32)
            self.bands.extend((math.nan,) * 3)
            return
        f = cropped.frequency_hz
        self.digests += bytes.fromhex(spectrum_digest(cropped))
        self.bands.extend((float(f.min()), float(f.max()), float(len(cropped))))

    def extend(self, other: _Seen) -> None:
        base = len(self)
        for name in ("files", "positions", "indices", "cycles", "bands", "digests", "sources",
                     "timestamps"):  # fmt: skip
            getattr(self, name).extend(getattr(other, name))
        self.errors.update({base + k: v for k, v in other.errors.items()})


def _reload_ok(path: Path, digest: str | None, cache_dir: Path | None) -> bool:
    """True when the read cache holds ``path``'s spectra for `eisfit.runs.store` to load."""
    if digest is None or cache_dir is None:
        return False
    return all(f.is_file() for f in entry_files(path, digest, cache_dir))


def _collect(
    sources: Any, settings: BatchSettings, cache_dir: Path | None
) -> tuple[list[InputFile], dict[str, _Seen], list[dict]]:
    """Input files, what the plan keeps of the spectra of each source key (a file's path,
    an in-memory spectrum's ``meta.source``; in the order first seen) and error rows of
    unreadable files."""
    items = [sources] if isinstance(sources, str | Path | Spectrum) else list(sources)
    files: list[InputFile] = []
    groups: dict[str, _Seen] = {}
    errors: list[dict] = []
    memory: dict[str, tuple[int, list[Spectrum]]] = {}  # key -> (file number, spectra)
    crop = {"f_min_hz": settings.f_min_hz, "f_max_hz": settings.f_max_hz}
    text: dict[Any, Any] = {}  # one object per distinct source text
    for item in items:
        if isinstance(item, Spectrum):
            key = item.meta.source or "<memory>"
            if key not in memory:
                memory[key] = (len(files), [])
                files.append(InputFile(None, None, ()))  # filled in below
            k, spectra = memory[key]
            groups.setdefault(key, _Seen()).add(item, k, len(spectra), crop, text)
            spectra.append(item)
            continue
        for path in expand_sources(item):
            if isinstance(path, ReadError):
                errors.append({"source": str(Path(path.path)), "status": "error",
                               "message": str(path)})  # fmt: skip
                continue
            read = _read(path, cache_dir)
            if isinstance(read, dict):
                errors.append(read)
                continue
            seen = groups.setdefault(str(path), _Seen())
            for i, spectrum in enumerate(read[1]):
                seen.add(spectrum, len(files), i, crop, text)
            files.append(read[0])
    for k, spectra in memory.values():
        files[k] = InputFile(None, None, tuple(spectra))
    return files, groups, errors


def _read(path: Path, cache_dir: Path | None) -> tuple[InputFile, list[Spectrum]] | dict[str, Any]:
    """One file read (through the read cache): its `InputFile` and spectra, or the error
    row of a file that cannot be read."""
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
    return InputFile(path, digest, kept, cache_dir), spectra


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


def _cells(groups: dict[str, _Seen], cell_by: str) -> dict[str, _Seen]:
    """Merge the spectra of each source key into cells (order kept)."""
    cells: dict[str, _Seen] = {}
    for key, group in groups.items():
        cells.setdefault(cell_key(key, cell_by), _Seen()).extend(group)
    return cells


def _t0(cells: dict[str, _Seen]) -> datetime | None:
    """The earliest timestamp, when every spectrum has one (else None: file order)."""
    stamps = [t for c in cells.values() for t in c.timestamps]
    if stamps and all(t is not None for t in stamps):
        return min(stamps)  # type: ignore[type-var]
    return None


class _Band:
    """The band of a cropped spectrum as `sibling_bands` reads it (lowest and highest
    frequency, number of points), without its points."""

    def __init__(self, low_hz: float, high_hz: float, points: float) -> None:
        self.frequency_hz = np.array([low_hz, high_hz])
        self._points = int(points)

    def __len__(self) -> int:
        return self._points


def _bands(raw: np.ndarray) -> np.ndarray:
    """What each spectrum's siblings in its cell cover (`eisfit.screening.siblings`), from
    each one's (lowest frequency, highest frequency, points)."""
    out = np.full((len(raw), 3), math.nan)
    for j, band in enumerate(sibling_bands([_Band(*b) for b in raw])):  # type: ignore[arg-type]
        if band is not None:
            out[j] = (band.log_low, band.log_high, band.points)
    return out


def _stems(sources: list[str | None], indices: np.ndarray, used: set[str]) -> list[str]:
    """Unique fits/ file stems, ``<source-stem>_<index>``, legal and bounded in length on
    every common file system (`eisfit.runs.names`)."""
    stems = {s: safe_stem(Path(s).stem if s else "spectrum") for s in dict.fromkeys(sources)}
    wanted = [f"{stems[s]}_{i}" for s, i in zip(sources, indices.tolist(), strict=True)]
    return unique_stems(wanted, used)


def _cell(
    name: str, seen: _Seen, t0: datetime | None, used: set[str], reuse: Any
) -> tuple[CellPlan, list[dict[str, Any]]]:
    """A cell in time order, without the spectra cropping empties (their error rows)."""
    n = len(seen)
    order = list(range(n))
    if t0 is not None:
        order = sorted(order, key=seen.timestamps.__getitem__)
    errors = [{**seen.errors[j], "cell": name} for j in order if j in seen.errors]
    keep = np.array([j for j in order if j not in seen.errors], dtype=np.int64)
    stamps = [seen.timestamps[j] for j in keep]
    if t0 is not None:
        times = np.array([(t - t0).total_seconds() / 3600.0 for t in stamps], dtype=float)
    else:  # the position in the cell, counting the spectra cropping empties
        times = keep.astype(float)
    sources = [seen.sources[j] for j in keep]
    indices = np.frombuffer(seen.indices, dtype=np.int64)[keep]
    digests = np.frombuffer(bytes(seen.digests), dtype=np.uint8).reshape(-1, 32)[keep]
    stems = _stems(sources, indices, used)
    reusable = np.array([bool(reuse(st, d.tobytes().hex())) if reuse else False
                         for st, d in zip(stems, digests, strict=True)], dtype=bool)  # fmt: skip
    cell = CellPlan(
        name, np.frombuffer(seen.files, dtype=np.int32)[keep],
        np.frombuffer(seen.positions, dtype=np.int32)[keep], times, digests, stems,
        _bands(np.frombuffer(seen.bands, dtype=float).reshape(-1, 3)[keep]), reusable,
        sources, indices, np.frombuffer(seen.cycles, dtype=np.int64)[keep], stamps,
    )  # fmt: skip
    return cell, errors


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
    cells = _cells(groups, cell_by)
    del groups
    t0 = _t0(cells)
    used: set[str] = set()
    plans = []
    for name in list(cells):
        cell, dropped = _cell(name, cells.pop(name), t0, used, reuse)
        plans.append(cell)
        errors.extend(dropped)
    return Plan(files, plans, "timestamp" if t0 is not None else "file_order", errors)
