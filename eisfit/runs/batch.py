"""Batch fitting of a cycling run: many spectra in time order -> one table and a trend file.

``run_batch(sources, settings, out_dir=...)`` reads files, folders and globs (via
`eisfit.iter_read`) or takes `Spectrum` objects, orders each cell's spectra in time, fits
them with warm starts (`eisfit.runs.worker`), and returns one row per spectrum.

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
file sha256, spectrum digest, settings digest, eisfit version), ``trends.json``
(`eisfit.trends.analysis.analyse_trends` plus ``results_digest``, a sha256 of the table it was
computed from, ``reused`` aside, and the versions: an unchanged table is not analysed again),
``.cache/`` (parsed input files and a row index, `eisfit.runs.cache`) and ``batch.log`` (appended:
start and end summaries, unreadable files, failed spectra, fallbacks; `eisfit.runs.progress`).
Resume: a spectrum whose fits/ JSON has the same spectrum and settings digests is not
refitted (``reused`` True).

Where the fits run (`eisfit.runs.execute`): in this process (``jobs=1``), worker processes,
or a Dask cluster (``scheduler``: an address or a ``distributed.Client``; the chunking is
that of ``jobs`` = number of Dask workers).  Rows arrive as work items complete and each
new fit is written to fits/ at once; in this process that is after every spectrum.

Ctrl-C (KeyboardInterrupt) while fitting: queued work is cancelled and worker processes
are terminated without waiting; results.csv and trends.json are then written from the
rows finished so far (plus the unreadable-file rows) and `BatchInterrupted`, a
KeyboardInterrupt, is raised.  Unfinished spectra get no row at all, not a placeholder:
results.csv holds only real results, so every analysis of it stays valid, and re-running
the same call resumes (finished fits reused, the rest fitted).  With workers, the spectra
of items still running are lost and refitted on resume.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema
from .._util import atomic_path, json_ready, write_atomic
from .._version import __version__
from ..errors import BatchInterrupted, EisfitError, JsonError
from ..notation.model import compile_circuit
from ..status import status_counts
from .cache import save_rows
from .csv_cells import neutralise
from .execute import dask_client, dask_workers, run_items
from .interrupts import deferred
from .lock import check_out_dir, run_lock
from .plan import CELL_BY, CHUNK_MIN, Plan, chunks, plan_batch
from .progress import log_file, progress_bar
from .records import record_text
from .rows import base_row
from .safe_json import RUN_MAX_BYTES, load_json
from .worker import BatchSettings, pack, spectrum_digest

__all__ = [
    "CELL_BY",
    "CHUNK_MIN",
    "BatchSettings",
    "run_batch",
    "spectrum_digest",
]

def run_batch(
    sources: Any,
    settings: BatchSettings,
    *,
    out_dir: str | Path | None = None,
    jobs: int | None = None,
    cell_by: str | None = None,
    progress: bool | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Fit every spectrum of ``sources``; one row per spectrum (and per unreadable file).

    ``sources``: paths, globs, folders and/or `Spectrum` objects.  ``jobs``: worker
    processes (None: all cores; 1: in this process).  ``cell_by``: ``"folder"`` (None),
    ``"file"`` or ``"all"``: which spectra chain warm starts (see the module docstring).
    ``progress``: a bar on stderr (None: when stderr is a terminal).  ``scheduler``: a Dask
    scheduler address or ``distributed.Client``; the work goes there instead of local
    processes and ``jobs`` is ignored (the chunking uses the number of Dask workers).
    Never raises for bad data: unreadable files give ``error`` rows, spectra that cannot
    be fitted ``failed`` rows; an unknown ``cell_by``, or a scheduler without Dask
    installed, raises `EisfitError`; an ``out_dir`` that cannot be written or that
    another run is writing raises `OutputError` before any work.  Ctrl-C:
    `BatchInterrupted` (a KeyboardInterrupt) after the finished rows are saved.
    """
    cell_by = "folder" if cell_by is None else cell_by
    if cell_by not in CELL_BY:
        raise EisfitError(f"cell_by must be one of {', '.join(CELL_BY)}, got {cell_by!r}")
    names = compile_circuit(settings.circuit).names
    out = Path(out_dir) if out_dir is not None else None
    with ExitStack() as stack:
        lock = stack.enter_context(run_lock(check_out_dir(out))) if out is not None else None
        client = None
        if scheduler is not None:
            client, owned = dask_client(scheduler)
            if owned:
                stack.callback(client.close)
        log = stack.enter_context(log_file(out / "batch.log" if out is not None else None))
        if lock is not None and lock.previous:
            log.warning("the run before (PID %s on %s, started %s) ended without finishing; "
                        "resuming its work", *(lock.previous.get(k) for k in
                                               ("pid", "host", "started")))  # fmt: skip
        t0 = time.perf_counter()
        plan = plan_batch(sources, settings, cell_by, out)
        workers = _workers(jobs, client)
        items = chunks([len(g) for g in plan.groups], workers)
        log.info(_start_line(plan, out, workers, scheduler))
        for error in plan.errors:
            what = "unusable spectrum" if "index" in error else "unreadable file"
            log.warning("%s %s: %s", what, error["source"], error["message"])
        tasks = [
            ([pack(s) for s in plan.groups[g][a:b]], settings, plan.reuse[g][a:b], names,
             plan.bands[g][a:b])
            for g, a, b in items
        ]  # fmt: skip
        base = {"settings_digest": settings.digest(), "settings": settings.to_dict()}
        bar = stack.enter_context(closing(progress_bar(plan.n_spectra, enabled=progress)))
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        index: dict[str, tuple[str, str, Any]] = {}  # the row index of batch_cache
        outputs = run_items(tasks, workers=workers, client=client)
        stopped: KeyboardInterrupt | None = None
        try:
            for k, i, (row, record) in outputs:  # saved as soon as done
                g, j = items[k][0], items[k][1] + i
                rows[k, i] = _finish(plan, g, j, row, record, out, base)
                stored = record["row"] if record is not None else plan.reuse[g][j]
                index[plan.stems[g][j]] = (plan.digests[g][j], base["settings_digest"], stored)
                _log_row(log, rows[k, i])
                bar.update(1)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: save, then say so
            stopped = exc
        except BaseException:  # a bug in the runner: the finished rows are saved all the same
            with deferred():
                outputs.close()
                _table(plan, rows, index, names, out)
            raise
        frame = None
        try:
            with deferred():  # a signal now waits until the table and its index are whole
                outputs.close()
                frame = _table(plan, rows, index, names, out)
        except KeyboardInterrupt as exc:  # it arrived meanwhile: acted on now
            if frame is None:
                raise
            stopped = stopped or exc
        if stopped is None:
            log.info(_end_line(frame, time.perf_counter() - t0))
        try:
            _write_trends(out, frame)
        except KeyboardInterrupt as exc:  # results.csv is whole; trends.json is not there
            raise _interrupted(log, frame, plan, t0, "trends") from exc
        if stopped is not None:
            raise _interrupted(log, frame, plan, t0, "fitting") from stopped
    return frame


def _interrupted(
    log: logging.Logger, frame: pd.DataFrame, plan: Plan, t0: float, stage: str
) -> BatchInterrupted:
    stopped = BatchInterrupted(frame, plan.n_spectra, stage)
    log.warning("%s after %.1f s", stopped, time.perf_counter() - t0)
    return stopped


def _workers(jobs: int | None, client: Any) -> int:
    if client is not None:
        return dask_workers(client)
    return (os.cpu_count() or 1) if jobs is None else max(1, int(jobs))


def _finish(
    plan: Plan,
    g: int,
    i: int,
    row: dict[str, Any],
    record: dict[str, Any] | None,
    out: Path | None,
    base: dict[str, Any],
) -> dict[str, Any]:
    """Complete a worker's row with the batch's columns; write its fits/ JSON (if new)."""
    ident = base_row(plan.groups[g][i], ())  # what the spectrum says about itself
    row.update({k: ident[k] for k in ident if schema.column(k).kind == "metadata"})
    row.update(time_h=plan.times[g][i], time_source=plan.time_source, fit_file=plan.stems[g][i])
    row["cell"] = plan.cells[g]
    if record is not None and out is not None:
        record["provenance"] = {
            "file_sha256": plan.hashes[g][i], "spectrum_digest": plan.digests[g][i], **base,
            "eisfit_version": __version__,
        }  # fmt: skip
        (out / "fits").mkdir(parents=True, exist_ok=True)
        write_atomic(out / "fits" / f"{plan.stems[g][i]}.json", record_text(json_ready(record)))
    return row


def _table(
    plan: Plan,
    rows: dict[tuple[int, int], dict[str, Any]],
    index: dict[str, tuple[str, str, Any]],
    names: Iterable[str],
    out: Path | None,
) -> pd.DataFrame:
    """The results table of the rows done so far (work-item order, then time), written with
    the row index (``index``: fits/ stem -> digests and stored row, see `eisfit.runs.cache`)."""
    done = [rows[key] for key in sorted(rows)]
    if plan.time_source == "timestamp":
        done.sort(key=lambda r: r["time_h"])
    frame = _frame(done + plan.errors, names)
    if out is not None:
        _write_table(out, frame)
        save_rows(out / ".cache", out / "fits", index)
    return frame


def _log_row(log: logging.Logger, row: dict[str, Any]) -> None:
    if row.get("reused"):
        return
    where = f"{row['source']} #{row['index']}"
    said = [w for w in str(row.get("warnings") or "").split("; ") if w.startswith("reader:")]
    if said and row["status"] not in ("failed", "error"):  # those say it in their message
        log.warning("%s: %s", where, "; ".join(said))
    if row["status"] != "ok":
        why = row.get("reasons") or row["message"] or "no message"
        log.warning("%s: %s: %s", row["status"], where, why)
    if row.get("start_path") == "fallback":
        log.info("fallback: %s: warm start rejected, refitted from scratch", where)


def _start_line(plan: Plan, out: Path | None, workers: int, scheduler: Any) -> str:
    where = f"Dask scheduler {scheduler}" if scheduler is not None else f"{workers} job(s)"
    return (
        f"batch started: {plan.n_spectra} spectra in {len(plan.cells)} cell(s), "
        f"{len(plan.errors)} unreadable file(s); {plan.n_reused} reused, "
        f"{plan.n_spectra - plan.n_reused} to fit on {where}; out {out}"
    )


def _end_line(frame: pd.DataFrame, elapsed_s: float) -> str:
    reused = int(frame["reused"].sum())
    return (
        f"batch finished: {len(frame)} rows: {status_counts(frame['status'])} "
        f"({reused} reused) in {elapsed_s:.1f} s"
    )


def _frame(rows: list[dict[str, Any]], names: Iterable[str]) -> pd.DataFrame:
    """The results table: the columns of `eisfit.schema`, in its order."""
    frame = pd.DataFrame(rows, columns=list(schema.names(names)))
    frame["reused"] = frame["reused"].eq(True)
    return frame.astype({"time_h": float, "chi2": float})


def trends_of(frame: pd.DataFrame) -> dict[str, Any]:
    """`eisfit.trends.analysis.analyse_trends` of the table, or a stub saying it is unavailable."""
    try:
        from ..trends.analysis import analyse_trends
    except ImportError:
        return {"trends": {}, "events": [], "message": "trends module unavailable"}
    try:
        return analyse_trends(frame)
    except (EisfitError, ValueError) as exc:  # a trend failure must not lose the fits
        return {"trends": {}, "events": [], "message": f"trend analysis failed: {exc}"}


def _write_table(out: Path, frame: pd.DataFrame) -> None:
    """results.csv (text cells neutralised for spreadsheets, `eisfit.runs.csv_cells`) and, when
    pyarrow is installed, results.parquet."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "results.csv", neutralise(frame).to_csv(index=False))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return
    with atomic_path(out / "results.parquet") as tmp:
        frame.to_parquet(tmp, index=False)


def _write_trends(out: Path | None, frame: pd.DataFrame) -> None:
    """trends.json of ``frame`` (skipped when the one in place was made from the same
    table).  Interrupted, it leaves no trends.json of another table behind."""
    if out is None:
        return
    digest = _table_digest(frame)
    path = out / "trends.json"
    if _trends_digest(path) == digest:
        return  # same table, same eisfit: the trends on disk are the ones it would compute
    try:
        trends = {**json_ready(trends_of(frame)), "results_digest": digest}
        write_atomic(path, json.dumps(trends, indent=1, allow_nan=False))
    except KeyboardInterrupt:
        path.unlink(missing_ok=True)  # it described an older table
        raise


_TRENDS_SCHEMA = 3  # 2: constant law, units, usable rows (issue 12); 3: per cell (issue 13)


def _table_digest(frame: pd.DataFrame) -> str:
    """sha256 of the table as the trends see it (all but ``reused``), the trends schema,
    eisfit and pandas versions: a run folder made by an older analysis gets new trends."""
    table = frame.drop(columns=["reused"])
    head = f"{__version__}\n{_TRENDS_SCHEMA}\n{pd.__version__}\n{list(table.columns)}\n"
    h = hashlib.sha256(head.encode())
    h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _trends_digest(path: Path) -> str | None:
    """The ``results_digest`` (see `_table_digest`) trends.json was made from, if any."""
    if not path.is_file():
        return None
    try:
        data = load_json(path, max_bytes=RUN_MAX_BYTES)
    except JsonError:
        return None
    digest = data.get("results_digest") if isinstance(data, dict) else None
    return digest if isinstance(digest, str) else None
