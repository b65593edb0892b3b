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
``.cache/`` (parsed input files, `eisfit.runs.cache`, and the row index, `eisfit.runs.row_index`)
and ``batch.log`` (appended: start and end summaries, unreadable files, failed spectra,
fallbacks; `eisfit.runs.progress`).  Resume: a spectrum whose fits/ JSON has the same
spectrum and settings digests is not refitted (``reused`` True).

Where the fits run (`eisfit.runs.execute`): in this process (``jobs=1``), worker processes,
or a Dask cluster (``scheduler``: an address or a ``distributed.Client``; the chunking is
that of ``jobs`` = number of Dask workers), in slices of at most 64 spectra that keep
each chunk's warm-start chain.  Rows arrive as slices complete and each new fit is
written to fits/ at once; in this process that is after every spectrum.

Memory (issue 15): nothing is held per spectrum but a few hundred bytes.  The plan keeps
no points (`eisfit.runs.plan`; they are read again per slice, `eisfit.runs.store`), each
finished row goes to a spill file (`eisfit.runs.table`) from which results.csv and
results.parquet are written at the end in table order (work-item order, then time),
byte for byte what the whole table would give, and the row index is written as rows
finish.  What stays in memory is what the trend analysis reads
(`eisfit.trends.analysis.TABLE_COLUMNS`) and the columns returned (``columns``).

Ctrl-C (KeyboardInterrupt) while fitting: queued work is cancelled and worker processes
are terminated without waiting; results.csv and trends.json are then written from the
rows finished so far (plus the unreadable-file rows) and `BatchInterrupted`, a
KeyboardInterrupt, is raised.  Unfinished spectra get no row at all, not a placeholder:
results.csv holds only real results, so every analysis of it stays valid, and re-running
the same call resumes (finished fits reused, the rest fitted).  With workers, the spectra
of items still running are lost and refitted on resume.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schema
from .._util import json_ready, write_atomic
from .._version import __version__
from ..errors import BatchInterrupted, EisfitError, JsonError
from ..notation.model import compile_circuit
from ..status import STATUSES
from .auto import MODEL_JSON, CellChoice, mark_row, plan_auto
from .execute import SliceArgs, dask_client, dask_workers, local_pool, run_slices
from .interrupts import deferred
from .lock import check_out_dir, run_lock
from .plan import CELL_BY, CHUNK_MIN, Plan, chunks, plan_batch
from .progress import log_file, log_row, progress_bar
from .records import record_text
from .row_index import RowIndexWriter
from .safe_json import RUN_MAX_BYTES, load_json
from .store import SpectrumStore, StoredRows
from .table import RowSpill, Table, table_digest_head, write_table
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
    columns: Any = None,
) -> pd.DataFrame:
    """Fit every spectrum of ``sources``; one row per spectrum (and per unreadable file).

    ``sources``: paths, globs, folders and/or `Spectrum` objects.  ``jobs``: worker
    processes (None: all cores; 1: in this process).  ``cell_by``: ``"folder"`` (None),
    ``"file"`` or ``"all"``: which spectra chain warm starts (see the module docstring).
    ``progress``: a bar on stderr (None: when stderr is a terminal).  ``scheduler``: a Dask
    scheduler address or ``distributed.Client``; the work goes there instead of local
    processes and ``jobs`` is ignored (the chunking uses the number of Dask workers).
    ``columns``: the columns of results.csv to return (None: all; ``status`` always), so
    that a run of 10^5 spectra need not hold its whole table (results.csv has them all).
    Never raises for bad data: unreadable files give ``error`` rows, spectra that cannot
    be fitted ``failed`` rows; an unknown ``cell_by``, or a scheduler without Dask
    installed, raises `EisfitError`; an ``out_dir`` that cannot be written or that
    another run is writing raises `OutputError` before any work.  Ctrl-C:
    `BatchInterrupted` (a KeyboardInterrupt) after the finished rows are saved.
    """
    cell_by = "folder" if cell_by is None else cell_by
    if cell_by not in CELL_BY:
        raise EisfitError(f"cell_by must be one of {', '.join(CELL_BY)}, got {cell_by!r}")
    names = () if settings.is_auto else compile_circuit(settings.circuit).names
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
        workers = _workers(jobs, client)
        pool = stack.enter_context(local_pool(workers, client))  # forked before the plan grows
        stored = stack.enter_context(closing(StoredRows(out, settings.digest())))
        plan = plan_batch(sources, settings, cell_by, out,
                          reuse=None if settings.is_auto else stored.exists)  # fmt: skip
        own = None
        if settings.is_auto:  # a circuit per cell
            plan, own, names = plan_auto(plan, settings, out, log, stored.exists)
        elif out is not None:  # the circuits of an earlier --model auto run are not these
            (out / MODEL_JSON).unlink(missing_ok=True)
        items = chunks([len(c) for c in plan.cells], workers)
        work = _Work(plan, items, settings, stored, out, workers, own)
        log.info(_start_line(plan, out, workers, scheduler))
        for error in plan.errors:
            what = "unusable spectrum" if "index" in error else "unreadable file"
            log.warning("%s %s: %s", what, error["source"], error["message"])
        bar = stack.enter_context(closing(progress_bar(plan.n_spectra, enabled=progress)))
        spill = stack.enter_context(
            closing(RowSpill(schema.names(names), out / ".cache" if out is not None else None))
        )
        job = _TableJob(plan, spill, work.index, columns)
        outputs = run_slices(work, settings, tuple(names), workers=workers, client=client,
                              pool=pool)  # fmt: skip
        stopped: KeyboardInterrupt | None = None
        try:
            for k, i, (row, record) in outputs:  # saved as soon as done
                spill.add(work.finish(k, i, row, record), work.key(k, i))
                log_row(log, row)
                bar.update(1)
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: save, then say so
            stopped = exc
        except BaseException:  # a bug in the runner: the finished rows are saved all the same
            with deferred():
                outputs.close()
                _save(job, stored, out)
            raise
        table = None
        try:
            with deferred():  # a signal now waits until the table and its index are whole
                outputs.close()
                table = _save(job, stored, out)
        except KeyboardInterrupt as exc:  # it arrived meanwhile: acted on now
            if table is None:
                raise
            stopped = stopped or exc
        if stopped is None:
            log.info(_end_line(table, time.perf_counter() - t0))
        try:
            _write_trends(out, table)
        except KeyboardInterrupt as exc:  # results.csv is whole; trends.json is not there
            raise _interrupted(log, table, plan, t0, "trends") from exc
        if stopped is not None:
            raise _interrupted(log, table, plan, t0, "fitting") from stopped
    return table.frame


class _Work:
    """The work items of a run (`eisfit.runs.execute.Items`) and what becomes of each
    finished spectrum: its row completed, its fits/ record and row-index entry written.
    ``own``: with ``--model auto``, each cell's settings and `CellChoice`."""

    def __init__(
        self, plan: Plan, items: list[tuple[int, int, int]], settings: BatchSettings,
        stored: StoredRows, out: Path | None, workers: int,
        own: tuple[list[BatchSettings], list[CellChoice]] | None = None,
    ) -> None:  # fmt: skip
        self.plan, self.items, self.stored, self.out = plan, items, stored, out
        self.store = SpectrumStore(plan, settings, files_kept=2 * workers + 2)  # slices out
        self.settings = own[0] if own else [settings] * len(plan.cells)
        self.choices = own[1] if own else None
        self.bases = [{"settings_digest": s.digest(), "settings": s.to_dict()}
                      for s in self.settings]  # fmt: skip
        self.reused: dict[tuple[int, int], dict[str, Any]] = {}  # out on a slice, not saved yet
        fits = out / "fits" if out is not None else None
        self.index = RowIndexWriter(out / ".cache", fits) if out is not None and fits else None

    def sizes(self) -> list[int]:
        return [b - a for _, a, b in self.items]

    def common(self, k: int) -> tuple[BatchSettings, tuple[str, ...]]:
        """Item ``k``'s settings and parameter names (`eisfit.runs.execute.run_slices`)."""
        own = self.settings[self.items[k][0]]
        return own, tuple(compile_circuit(own.circuit).names)

    def idle(self, k: int) -> bool:
        g, a, b = self.items[k]
        return bool(self.plan.cells[g].reusable[a:b].all())

    def slice(self, k: int, start: int, stop: int) -> SliceArgs:
        g, a, _ = self.items[k]
        cell = self.plan.cells[g]
        packed, reuse, bands = [], [], []
        for j in range(a + start, a + stop):
            own = self.bases[g]["settings_digest"]
            row = self.stored.row(cell.stems[j], cell.digest(j), own) if cell.reusable[j] else None
            if row is not None:
                self.reused[k, j - a] = row
            reuse.append(row)
            packed.append(pack(self.store.spectrum(g, j)) if row is None else None)
            bands.append(cell.band(j))
        return packed, reuse, bands

    def key(self, k: int, i: int) -> tuple[float, ...]:
        """The row's place in the table: time (when the run has timestamps), item, position."""
        g, a, _ = self.items[k]
        t = float(self.plan.cells[g].times[a + i]) if self.plan.time_source == "timestamp" else 0
        return 0.0, t, float(k), float(i)

    def finish(
        self, k: int, i: int, row: dict[str, Any], record: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Complete a worker's row with the batch's columns; write its fits/ JSON (if new)
        and its row-index entry."""
        g, a, _ = self.items[k]
        j, cell = a + i, self.plan.cells[g]
        stored = self.reused.pop((k, i), None)
        row.update(cell.ident(j))  # what the spectrum says about itself
        row.update(time_h=float(cell.times[j]), time_source=self.plan.time_source,
                   fit_file=cell.stems[j], cell=cell.name)  # fmt: skip
        if self.choices is not None:
            mark_row(row, self.choices[g])
        if self.out is None or self.index is None:
            return row
        if record is not None:
            record["provenance"] = {
                "file_sha256": self.plan.files[int(cell.files[j])].sha256,
                "spectrum_digest": cell.digest(j), **self.bases[g], "eisfit_version": __version__,
            }  # fmt: skip
            (self.out / "fits").mkdir(parents=True, exist_ok=True)
            text = record_text(json_ready(record))
            write_atomic(self.out / "fits" / f"{cell.stems[j]}.json", text)
            stored = record["row"]
        if stored is not None:
            self.index.add(cell.stems[j], cell.digest(j), self.bases[g]["settings_digest"], stored)
        return row


class _TableJob:
    """The table to write at the end of a run (or when it is stopped): the finished rows
    (spilled), the unreadable files' rows, the row index; `write` keeps the result."""

    def __init__(
        self, plan: Plan, spill: RowSpill, index: RowIndexWriter | None, columns: Any
    ) -> None:
        self.plan, self.spill, self.index = plan, spill, index
        wanted = None if columns is None else {*columns, "status"}
        self.columns = wanted
        self.table: Table | None = None

    def write(self, out: Path | None) -> None:
        if self.table is not None:
            return
        for n, error in enumerate(self.plan.errors):
            self.spill.add(error, (1.0, 0.0, 0.0, float(n)))  # after the spectra, in order
        names = [c for c in self.spill.columns if c != "reused"]
        self.table = write_table(
            self.spill, out, columns=self.columns, trend_columns=_trend_columns(),
            digest_head=table_digest_head(__version__, _TRENDS_SCHEMA, names),
        )  # fmt: skip


def _trend_columns() -> tuple[str, ...]:
    """The columns `trends_of` reads (none when the trends module is unavailable)."""
    try:
        from ..trends.columns import TABLE_COLUMNS
    except ImportError:
        return ()
    return TABLE_COLUMNS


def _save(job: _TableJob, stored: StoredRows, out: Path | None) -> Table:
    """results.csv (and .parquet) of the rows done so far, and the row index."""
    stored.close()  # the index in place is replaced now
    try:
        _write_table(out, job)
    finally:  # the records are written whatever became of the table
        if job.index is not None:
            job.index.close()
    assert job.table is not None
    return job.table


def _write_table(out: Path | None, job: _TableJob) -> None:
    """results.csv (text cells neutralised for spreadsheets, `eisfit.runs.csv_cells`) and, when
    pyarrow is installed, results.parquet (`eisfit.runs.table`)."""
    job.write(out)


def _interrupted(
    log: logging.Logger, table: Table, plan: Plan, t0: float, stage: str
) -> BatchInterrupted:
    stopped = BatchInterrupted(table.frame, plan.n_spectra, stage)
    log.warning("%s after %.1f s", stopped, time.perf_counter() - t0)
    return stopped


def _workers(jobs: int | None, client: Any) -> int:
    if client is not None:
        return dask_workers(client)
    return (os.cpu_count() or 1) if jobs is None else max(1, int(jobs))


def _start_line(plan: Plan, out: Path | None, workers: int, scheduler: Any) -> str:
    where = f"Dask scheduler {scheduler}" if scheduler is not None else f"{workers} job(s)"
    return (
        f"batch started: {plan.n_spectra} spectra in {len(plan.cells)} cell(s), "
        f"{len(plan.errors)} unreadable file(s); {plan.n_reused} reused, "
        f"{plan.n_spectra - plan.n_reused} to fit on {where}; out {out}"
    )


def _end_line(table: Table, elapsed_s: float) -> str:
    counts = (f"{table.statuses.get(s, 0)} {s}" for s in STATUSES)
    return (
        f"batch finished: {len(table)} rows: {', '.join(counts)} "
        f"({table.reused} reused) in {elapsed_s:.1f} s"
    )


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


def _write_trends(out: Path | None, table: Table) -> None:
    """trends.json of the table (skipped when the one in place was made from the same
    table: `Table.digest`).  Interrupted, it leaves no trends.json of another table behind."""
    if out is None:
        return
    path = out / "trends.json"
    if _trends_digest(path) == table.digest:
        return  # same table, same eisfit: the trends on disk are the ones it would compute
    try:
        trends = {**json_ready(trends_of(table.trend_frame)), "results_digest": table.digest}
        write_atomic(path, json.dumps(trends, indent=1, allow_nan=False))
    except KeyboardInterrupt:
        path.unlink(missing_ok=True)  # it described an older table
        raise


#: the table digest (`eisfit.runs.table.write_table`): sha256 of the eisfit and pandas
#: versions, this schema number, the column names and every row's hash
#: (`pandas.util.hash_pandas_object`) of all columns but ``reused``: a run folder made by
#: an older analysis gets new trends
_TRENDS_SCHEMA = 3  # 2: constant law, units, usable rows (issue 12); 3: per cell (issue 13)


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
