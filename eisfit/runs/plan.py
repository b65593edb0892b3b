"""Planning a batch (`eisfit.runs.batch.run_batch`): what to fit, in which order, what to reuse.

`plan_batch` reads the sources (through the read cache of `eisfit.runs.cache` when there is
an output folder), merges the files into cells (``cell_by``), sorts each cell in time,
names each spectrum's fits/ record and looks up the records a re-run can reuse;
`chunks` cuts the cells into work items for the workers.  The rules (cells, time, chunks,
resume) are documented in `eisfit.runs.batch`.  `check_sources` refuses sources that hold no
file at all (``eisfit batch`` calls it before fitting, so a typo is an error, not an empty
report).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EisfitError, ReadError
from ..io import expand_sources
from ..screening.siblings import SiblingBand, sibling_bands
from ..spectrum import Spectrum
from .cache import RowIndex, cached_read, indexed_row, load_rows
from .names import safe_stem, unique_stems
from .records import load_record
from .worker import BatchSettings, spectrum_digest

__all__ = ["CELL_BY", "CHUNK_MIN", "Plan", "cell_key", "check_sources", "chunks", "plan_batch"]

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


def _cells(
    groups: list[list[Spectrum]], hashes: list[str | None], keys: list[str], cell_by: str
) -> tuple[list[list[Spectrum]], list[list[str | None]], list[str]]:
    """Merge per-file groups into cells: spectra, per-spectrum file sha256, cell names."""
    cells: dict[str, tuple[list[Spectrum], list[str | None]]] = {}
    for group, digest, key in zip(groups, hashes, keys, strict=True):
        spectra, shas = cells.setdefault(cell_key(key, cell_by), ([], []))
        spectra.extend(group)
        shas.extend([digest] * len(group))
    names = list(cells)
    return [cells[k][0] for k in names], [cells[k][1] for k in names], names


def chunks(lengths: list[int], workers: int) -> list[tuple[int, int, int]]:
    """(cell, start, stop) work items: whole cells, long ones split when ``workers > 1``."""
    size = max(math.ceil(sum(lengths) / (4 * workers)), CHUNK_MIN) if workers > 1 else 0
    out = []
    for g, n in enumerate(lengths):
        k = max(1, math.ceil(n / size)) if size else 1
        bounds = [round(i * n / k) for i in range(k + 1)]
        out.extend((g, a, b) for a, b in itertools.pairwise(bounds) if b > a)
    return out


def _collect(
    sources: Any, cache_dir: Path | None = None
) -> tuple[list[list[Spectrum]], list[str | None], list[str], list[dict]]:
    """Groups of spectra (one per source), each group's file sha256 and key, error rows.

    Files are read through `eisfit.runs.cache` when ``cache_dir`` is given.
    """
    items = [sources] if isinstance(sources, str | Path | Spectrum) else list(sources)
    groups: dict[str, list[Spectrum]] = {}
    hashes: dict[str, str | None] = {}
    errors: list[dict] = []
    for item in items:
        if isinstance(item, Spectrum):
            key = item.meta.source or "<memory>"
            groups.setdefault(key, []).append(item)
            hashes.setdefault(key, None)
            continue
        for path in expand_sources(item):
            if isinstance(path, ReadError):
                errors.append({"source": str(Path(path.path)), "status": "error",
                               "message": str(path)})  # fmt: skip
                continue
            digest = _file_sha256(path)
            try:
                spectra = cached_read(path, digest, cache_dir)
            except EisfitError as exc:
                errors.append({"source": str(path), "status": "error", "message": str(exc)})
                continue
            except Exception as exc:  # one file must never stop the batch
                why = f"cannot be read ({type(exc).__name__}: {exc})"
                if not isinstance(exc, OSError | MemoryError):
                    why += "; this is a bug in eisfit, please report it"
                errors.append({"source": str(path), "status": "error",
                               "message": f"{path}: {why}"})  # fmt: skip
                continue
            key = str(path)
            groups.setdefault(key, []).extend(spectra)
            hashes[key] = digest
    keys = list(groups)
    return [groups[k] for k in keys], [hashes[k] for k in keys], keys, errors


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


def _order(
    groups: list[list[Spectrum]], hashes: list[list[str | None]]
) -> tuple[list[list[Spectrum]], list[list[str | None]], list[list[float]], str]:
    """Sort each cell in time (hashes follow); time_h per spectrum and the time source."""
    spectra = [s for g in groups for s in g]
    if spectra and all(s.meta.timestamp is not None for s in spectra):
        t0 = min(s.meta.timestamp for s in spectra)
        orders = [sorted(range(len(g)), key=lambda i, g=g: g[i].meta.timestamp) for g in groups]
        groups = [[g[i] for i in o] for g, o in zip(groups, orders, strict=True)]
        hashes = [[h[i] for i in o] for h, o in zip(hashes, orders, strict=True)]
        times = [[(s.meta.timestamp - t0).total_seconds() / 3600.0 for s in g] for g in groups]
        return groups, hashes, times, "timestamp"
    return groups, hashes, [[float(i) for i in range(len(g))] for g in groups], "file_order"


def _crop_cells(
    groups: list[list[Spectrum]],
    hashes: list[list[str | None]],
    times: list[list[float]],
    settings: BatchSettings,
) -> tuple[
    list[list[Spectrum]], list[list[str | None]], list[list[float]], list[Any],
    list[list[SiblingBand | None]],
]:  # fmt: skip
    """Crop every spectrum (``f_min_hz``/``f_max_hz``) and say what each one's siblings in
    its cell cover (`eisfit.screening.siblings.sibling_bands`).

    The rest of screening runs per spectrum with the fit (in the workers), but what the
    siblings cover is decided here, on whole cells, so that a spectrum's findings never
    depend on how cells are cut into chunks.  A spectrum that cropping would empty becomes
    an ``error`` row (cell index, row); the rest carry on.
    """
    out_g, out_h, out_t, errors, bands = [], [], [], [], []
    for g, (group, shas, ts) in enumerate(zip(groups, hashes, times, strict=True)):
        kept = []
        for s, sha, t in zip(group, shas, ts, strict=True):
            try:
                kept.append((s.crop(f_min_hz=settings.f_min_hz, f_max_hz=settings.f_max_hz),
                             sha, t))  # fmt: skip
            except EisfitError as exc:
                errors.append((g, _error_row(s, exc)))
        out_g.append([k[0] for k in kept])
        out_h.append([k[1] for k in kept])
        out_t.append([k[2] for k in kept])
        bands.append(sibling_bands(out_g[-1]))
    return out_g, out_h, out_t, errors, bands


def _error_row(spectrum: Spectrum, exc: Exception) -> dict[str, Any]:
    return {"source": spectrum.meta.source, "index": spectrum.meta.index,
            "status": "error", "message": str(exc)}  # fmt: skip


def _fit_names(groups: list[list[Spectrum]]) -> list[list[str]]:
    """Unique fits/ file stems, ``<source-stem>_<index>``, legal and bounded in length on
    every common file system (`eisfit.runs.names`)."""
    used: set[str] = set()
    out = []
    for group in groups:
        stems = [
            safe_stem(Path(s.meta.source).stem if s.meta.source else "spectrum") for s in group
        ]
        wanted = [f"{stem}_{s.meta.index}" for stem, s in zip(stems, group, strict=True)]
        out.append(unique_stems(wanted, used))
    return out


def _stored(
    path: Path, digest: str, settings_digest: str, index: RowIndex
) -> dict[str, Any] | None:
    """The row of the fits/ record at ``path`` if it is of this spectrum and these settings."""
    row = indexed_row(index, path.stem, path, digest, settings_digest)
    if row is None:
        data = load_record(path) or {}  # {} when missing, changed on disk or not eisfit's
        prov = data.get("provenance")
        if not isinstance(prov, dict) or (
            prov.get("spectrum_digest"),
            prov.get("settings_digest"),
        ) != (digest, settings_digest):
            return None
        row = data.get("row")
        if not isinstance(row, dict):
            return None
    return {k: (math.nan if v is None else v) for k, v in row.items()}


@dataclass(frozen=True)
class Plan:
    """Everything decided before fitting: cells in time order and what each spectrum reuses."""

    groups: list[list[Spectrum]]
    hashes: list[list[str | None]]
    times: list[list[float]]
    time_source: str
    cells: list[str]
    stems: list[list[str]]
    digests: list[list[str]]
    reuse: list[list[dict[str, Any] | None]]
    errors: list[dict[str, Any]]
    bands: list[list[SiblingBand | None]]  # what each spectrum's siblings cover

    @property
    def n_spectra(self) -> int:
        return sum(len(g) for g in self.groups)

    @property
    def n_reused(self) -> int:
        return sum(r is not None for g in self.reuse for r in g)


def plan_batch(sources: Any, settings: BatchSettings, cell_by: str, out: Path | None) -> Plan:
    """Read ``sources``, group them into cells in time order, find what ``out`` can reuse."""
    fits_dir = out / "fits" if out is not None else None
    cache = out / ".cache" if out is not None else None
    files, file_hashes, keys, errors = _collect(sources, cache / "read" if cache else None)
    for error in errors:
        error["cell"] = cell_key(error["source"], cell_by)
    groups, hashes, cells = _cells(files, file_hashes, keys, cell_by)
    groups, hashes, times, time_source = _order(groups, hashes)
    groups, hashes, times, dropped, bands = _crop_cells(groups, hashes, times, settings)
    errors.extend({**e, "cell": cells[g]} for g, e in dropped)
    stems = _fit_names(groups)
    digests = [[spectrum_digest(s) for s in g] for g in groups]
    settings_digest = settings.digest()
    index = load_rows(cache)
    reuse = [
        [
            _stored(fits_dir / f"{stem}.json", d, settings_digest, index) if fits_dir else None
            for stem, d in zip(st, dg, strict=True)
        ]
        for st, dg in zip(stems, digests, strict=True)
    ]
    return Plan(groups, hashes, times, time_source, cells, stems, digests, reuse, errors, bands)
