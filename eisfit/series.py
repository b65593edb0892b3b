"""Batch fitting of a cycling run: many spectra in time order -> one table and a trend file.

``run_batch(sources, settings, out_dir=...)`` reads files, folders and globs (via
`eisfit.iter_read`) or takes `Spectrum` objects, orders each cell's spectra in time, fits
them with warm starts (`eisfit.series_fit`), and returns one row per spectrum.

Time: when every spectrum has a timestamp, rows are sorted by it and ``time_h`` is hours
since the earliest spectrum of the batch (``time_source = "timestamp"``); otherwise the
file order is kept and ``time_h`` is the spectrum's position within its cell, i.e. a
measurement number, not hours (``time_source = "file_order"``).

Cells (``cell_by``, the ``cell`` column): warm starts chain the spectra of one cell in
time order.  ``"folder"`` (default): all files of one directory are one cell (a run
exported as one spectrum per file); ``"file"``: each source file is a cell; ``"all"``:
everything of the call is one cell.  In-memory spectra count as files named by
``meta.source``.  Cells are independent.  With ``jobs > 1`` a cell longer than
``max(ceil(N / (4 jobs)), CHUNK_MIN)`` spectra (N: spectra in the call) is split into
contiguous chunks of about that length; chunks run in worker processes and each chunk's
first fit is a fresh multi-start (``start_path`` ``fresh``), the rest continue warm.  With
``jobs=1`` cells are never split, so the rows do not depend on the machine's core count
except at chunk starts (same fits up to solver tolerance).

Outputs in ``out_dir`` (each written to a temporary file and moved into place):
``results.csv``, ``results.parquet`` (only when pyarrow is installed),
``fits/<stem>_<index>.json`` (fit, analysis, row, the measured points and provenance:
file sha256, spectrum digest, settings digest, eisfit version) and ``trends.json``
(`eisfit.trends.analyse_trends`).  Resume: a spectrum whose fits/ JSON has the same
spectrum and settings digests is not refitted (``reused`` True).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .circuits.model import compile_circuit
from .errors import EisfitError
from .io import iter_read
from .physics.contributions import json_ready
from .series_fit import BatchSettings, base_row, fit_group, pack, spectrum_digest
from .spectrum import Spectrum

__all__ = ["CELL_BY", "CHUNK_MIN", "BatchSettings", "run_batch", "spectrum_digest"]

#: accepted values of ``cell_by``
CELL_BY = ("file", "folder", "all")
#: a cell is never split into chunks shorter than this (spectra)
CHUNK_MIN = 25
_FIRST = ("source", "cell", "index", "timestamp", "time_h", "time_source", "cycle")
_FIRST += ("status", "message")


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


def _chunks(lengths: list[int], workers: int) -> list[tuple[int, int, int]]:
    """(cell, start, stop) work items: whole cells, long ones split when ``workers > 1``."""
    size = max(math.ceil(sum(lengths) / (4 * workers)), CHUNK_MIN) if workers > 1 else 0
    out = []
    for g, n in enumerate(lengths):
        k = max(1, math.ceil(n / size)) if size else 1
        bounds = [round(i * n / k) for i in range(k + 1)]
        out.extend((g, a, b) for a, b in itertools.pairwise(bounds) if b > a)
    return out


def _collect(sources: Any) -> tuple[list[list[Spectrum]], list[str | None], list[str], list[dict]]:
    """Groups of spectra (one per source), each group's file sha256 and key, error rows."""
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
        for path, result in iter_read(item):
            if isinstance(result, Exception):
                errors.append({"source": str(path), "status": "error", "message": str(result)})
                continue
            key = str(path)
            groups.setdefault(key, []).extend(result)
            hashes[key] = _file_sha256(path)
    keys = list(groups)
    return [groups[k] for k in keys], [hashes[k] for k in keys], keys, errors


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


def _fit_names(groups: list[list[Spectrum]]) -> list[list[str]]:
    """Unique fits/ file stems, ``<source-stem>_<index>``."""
    used: set[str] = set()
    out = []
    for group in groups:
        names = []
        for s in group:
            stem = Path(s.meta.source).stem if s.meta.source else "spectrum"
            base = name = f"{stem}_{s.meta.index}"
            n = 1
            while name in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name)
            names.append(name)
        out.append(names)
    return out


def _stored(path: Path, digest: str, settings_digest: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        prov = data["provenance"]
        if prov["spectrum_digest"] == digest and prov["settings_digest"] == settings_digest:
            return {k: (math.nan if v is None else v) for k, v in data["row"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_batch(
    sources: Any,
    settings: BatchSettings,
    *,
    out_dir: str | Path | None = None,
    jobs: int | None = None,
    cell_by: str | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Fit every spectrum of ``sources``; one row per spectrum (and per unreadable file).

    ``sources``: paths, globs, folders and/or `Spectrum` objects.  ``jobs``: worker
    processes (None: all cores; 1: in this process).  ``cell_by``: ``"folder"`` (None),
    ``"file"`` or ``"all"``: which spectra chain warm starts (see the module docstring).
    ``progress`` is accepted and ignored (no progress bar yet).  Never raises for bad
    data: unreadable files give ``error`` rows, spectra that cannot be fitted ``failed``
    rows; an unknown ``cell_by`` raises `EisfitError`.
    """
    del progress
    cell_by = "folder" if cell_by is None else cell_by
    if cell_by not in CELL_BY:
        raise EisfitError(f"cell_by must be one of {', '.join(CELL_BY)}, got {cell_by!r}")
    names = compile_circuit(settings.circuit).names
    files, file_hashes, keys, errors = _collect(sources)
    for error in errors:
        error["cell"] = cell_key(error["source"], cell_by)
    groups, hashes, cells = _cells(files, file_hashes, keys, cell_by)
    groups, hashes, times, time_source = _order(groups, hashes)
    stems = _fit_names(groups)
    digests = [[spectrum_digest(s) for s in g] for g in groups]
    settings_digest = settings.digest()
    fits_dir = Path(out_dir) / "fits" if out_dir is not None else None
    reuse = [
        [
            _stored(fits_dir / f"{stem}.json", d, settings_digest) if fits_dir else None
            for stem, d in zip(st, dg, strict=True)
        ]
        for st, dg in zip(stems, digests, strict=True)
    ]
    workers = (os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
    items = _chunks([len(g) for g in groups], workers)
    tasks = [
        ([pack(s) for s in groups[g][a:b]], settings, reuse[g][a:b], names) for g, a, b in items
    ]
    base = {"settings_digest": settings_digest, "settings": settings.to_dict()}
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        if workers == 1 or len(tasks) <= 1:
            outputs: Iterable[Any] = (fit_group(*task) for task in tasks)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=min(workers, len(tasks))))
            outputs = pool.map(fit_group, *zip(*tasks, strict=True))
        for (g, a, _), output in zip(items, outputs, strict=True):  # saved as soon as done
            for i, (row, record) in enumerate(output, start=a):
                ident = base_row(groups[g][i], ())
                row.update({k: ident[k] for k in ("source", "index", "timestamp", "cycle")})
                row.update(time_h=times[g][i], time_source=time_source, fit_file=stems[g][i])
                row["cell"] = cells[g]
                rows.append(row)
                if record is not None and fits_dir is not None:
                    record["provenance"] = {
                        "file_sha256": hashes[g][i], "spectrum_digest": digests[g][i], **base,
                        "eisfit_version": __version__,
                    }  # fmt: skip
                    fits_dir.mkdir(parents=True, exist_ok=True)
                    text = json.dumps(json_ready(record), indent=1, allow_nan=False)
                    _write_atomic(fits_dir / f"{stems[g][i]}.json", text)
    if time_source == "timestamp":
        rows.sort(key=lambda r: r["time_h"])
    frame = _frame(rows + errors, names)
    if out_dir is not None:
        _write_outputs(Path(out_dir), frame)
    return frame


def _frame(rows: list[dict[str, Any]], names: Iterable[str]) -> pd.DataFrame:
    template = base_row(Spectrum([1.0], [1.0]), tuple(names))
    columns = list(_FIRST) + [c for c in template if c not in _FIRST] + ["fit_file"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["reused"] = frame["reused"].eq(True)
    return frame.astype({"time_h": float, "chi2": float})


def trends_of(frame: pd.DataFrame) -> dict[str, Any]:
    """`eisfit.trends.analyse_trends` of the table, or a stub saying it is unavailable."""
    try:
        from .trends import analyse_trends
    except ImportError:
        return {"trends": {}, "events": [], "message": "trends module unavailable"}
    try:
        return analyse_trends(frame)
    except (EisfitError, ValueError) as exc:  # a trend failure must not lose the fits
        return {"trends": {}, "events": [], "message": f"trend analysis failed: {exc}"}


def _write_outputs(out: Path, frame: pd.DataFrame) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".results.csv.tmp{os.getpid()}"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out / "results.csv")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        tmp = out / f".results.parquet.tmp{os.getpid()}"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, out / "results.parquet")
    trends = json_ready(trends_of(frame))
    _write_atomic(out / "trends.json", json.dumps(trends, indent=1, allow_nan=False))
