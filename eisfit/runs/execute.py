"""Where the batch's work items run: in this process, in worker processes or on a Dask cluster.

A work item is one contiguous group of a cell's spectra (`eisfit.runs.plan.chunks`).  It
runs as a sequence of *slices* of at most `SLICE_SPECTRA` spectra, each one call of
`eisfit.runs.worker.fit_group`, so that what is held at once (the slice's points in
this process and on the worker, its rows and fits/ records on the way back) does not
grow with the item: an item used to come back as one list of every record of up to
N / (4 jobs) spectra (issue 15).  The warm-start chain stays that of the whole item: a
slice starts with the row of the last spectrum before it that a warm start may use
(`eisfit.runs.worker.previous_from_row`), passed as a reused row ahead of its spectra,
which sets the same warm-start state the item's own loop would have; the rows are
identical to those of the item fitted in one call.  The slices of an item run one after
the other; at most ``2 * workers`` slices (of different items) are out at once.

`run_slices` yields ``(item, position, (row, record))`` as spectra finish, so the caller
can save each at once:

- in this process (``workers <= 1``, a single item to fit, or a slice whose spectra are
  all reused): one spectrum at a time, through `eisfit.runs.worker.iter_group`;
- a `ProcessPoolExecutor` (``workers > 1``): whole slices, in the order they complete;
- a Dask ``distributed.Client``: the same slices as tasks (``fit_group`` must be
  importable on the workers: install eisfit there too), gathered as they complete.  The
  arguments are the slice's points (bytes, not paths: workers need no shared disk) and
  the results come back to this process, which writes every file.  A task is a pure
  function of its arguments, so the scheduler may run it again when its worker dies
  (Dask's ``distributed.scheduler.allowed-failures``) and the rows are the same.

A slice that cannot come back (a pool worker killed, by the system when memory runs
out for instance; a Dask task that failed on too many workers, ``KilledWorker``) stops the
batch with `EisfitError` saying so; the spectra finished until then are saved by the
caller as on Ctrl-C, and a re-run resumes.

Stopping: when the consumer stops early (``close()`` on the generator, e.g. after a
KeyboardInterrupt) pending slices are cancelled and pool workers are terminated without
waiting for the slices they run; those spectra are simply not returned.  Pool workers
ignore SIGINT and exit by themselves when this process dies (`eisfit.runs.pools`).
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from ..errors import EisfitError
from .pools import new_pool, stop_pool, worker_pool
from .worker import Output, fit_group, iter_group, previous_from_row

__all__ = ["SLICE_SPECTRA", "Done", "Items", "dask_client", "dask_workers", "local_pool",
           "run_items", "run_slices"]  # fmt: skip

#: the most spectra in one call of `fit_group`
SLICE_SPECTRA = 64
#: (work item number, position of the spectrum in the item, (row, fits/ record or None))
Done = tuple[int, int, Output]
#: (packed spectra (None where reused), stored rows (None where fitted), sibling bands)
SliceArgs = tuple[list[Any], list[Any], list[Any] | None]


class Items(Protocol):
    """The work items, as `run_slices` reads them."""

    def sizes(self) -> list[int]:
        """Spectra in each item."""
        ...

    def idle(self, k: int) -> bool:
        """True when every spectrum of item ``k`` has a stored row to reuse."""
        ...

    def slice(self, k: int, start: int, stop: int) -> SliceArgs:
        """The arguments of `fit_group` for positions ``start:stop`` of item ``k``."""
        ...


class _Chain:
    """One item's progress: the next position, the warm-start row carried forward and the
    item's (settings, parameter names)."""

    def __init__(self, k: int, size: int, common: tuple) -> None:
        self.k, self.size, self.next, self.carry = k, size, 0, None
        self.common = common

    def take(self) -> tuple[int, int]:
        start, self.next = self.next, min(self.next + SLICE_SPECTRA, self.size)
        return start, self.next

    def done(self) -> bool:
        return self.next >= self.size


def _call(items: Items, chain: _Chain, start: int, stop: int) -> tuple:
    """The `fit_group` arguments of a slice, with the carried row ahead of its spectra."""
    packed, reuse, bands = items.slice(chain.k, start, stop)
    if chain.carry is not None:
        packed, reuse = [None, *packed], [chain.carry, *reuse]
        bands = [None, *bands] if bands is not None else None
    settings, names = chain.common
    return packed, settings, reuse, names, bands


def _outputs(chain: _Chain, start: int, outputs: Iterator[Output]) -> Iterator[Done]:
    """A slice's outputs as `Done`, without the carried row; updates ``chain.carry``."""
    lead = chain.carry is not None
    names = chain.common[1]
    for i, (row, record) in enumerate(outputs):
        if lead and i == 0:
            continue
        if previous_from_row(row, names) is not None:
            chain.carry = {**row, "reused": True}
        yield chain.k, start + i - lead, (row, record)


def _all_reused(args: tuple) -> bool:
    return all(stored is not None for stored in args[2])


@contextmanager
def local_pool(workers: int, client: Any = None) -> Iterator[ProcessPoolExecutor | None]:
    """The batch's ``workers`` processes, forked now, before this process reads the files
    (None: a Dask ``client`` or a single worker, nothing to start).

    A forked worker maps every page its parent held at the fork, and ``VmRSS`` counts
    them: forked after the plan of 10^5 spectra, each worker showed 243 MiB from its
    first second (the parent held 212 MiB then), against 223 MiB at 10^3 spectra; forked
    first, 224 MiB at 10^5 (``bench/scale_bench.py``, issue 15).  Forking costs a few
    milliseconds; the workers stay idle until `run_slices` uses them, which stops them
    as soon as no slice needs them (at once when the fits all run here), so that they
    are gone before the table and the trends are written; and the block's end stops them
    whatever happened.  (Analysing the cells' trends on them instead, about 26 s of a
    10^5 run done in half the time, left them 18 MiB larger beside the batch process's
    peak: the sampled peak of the run grew from +6 % to +23 % over 10^3 spectra.)"""
    if client is not None or workers <= 1:
        yield None
        return
    _preload_for_workers()
    pool = new_pool(workers)
    try:
        pool.submit(os.getpid)  # with fork, the first task starts every worker
        yield pool
    finally:
        stop_pool(pool)  # a second stop_pool (after run_slices's) does nothing


def run_slices(
    items: Items,
    settings: Any,
    names: tuple[str, ...],
    *,
    workers: int,
    client: Any = None,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[Done]:
    """Run every work item, slice by slice; items with nothing to fit always run here.

    Every item is fitted with ``settings`` and ``names``, unless ``items`` has a method
    ``common(k) -> (settings, names)`` giving its own (``--model auto``: one circuit per
    cell, `eisfit.runs.auto`).  ``pool``: worker processes started earlier (`local_pool`)
    to use instead of starting ``workers`` new ones; they are stopped here as soon as no
    slice needs them."""
    sizes = items.sizes()
    idle = [k for k in range(len(sizes)) if items.idle(k)]
    busy = [k for k in range(len(sizes)) if not items.idle(k)]
    own = getattr(items, "common", None)

    def chain(k: int) -> _Chain:
        return _Chain(k, sizes[k], own(k) if own is not None else (settings, names))

    if pool is not None and (workers <= 1 or len(busy) <= 1):
        stop_pool(pool)  # not needed: let its workers go before the fits here
    for k in idle:
        yield from _here(items, chain(k))
    if client is None and (workers <= 1 or len(busy) <= 1):
        for k in busy:
            yield from _here(items, chain(k))
        return
    chains = deque(chain(k) for k in busy)
    if client is not None:
        yield from _remote(items, chains, _Dask(client), 2 * dask_workers(client))
        return
    if pool is not None:
        yield from _remote(items, chains, _Pool(pool, stop_on_cancel=True), 2 * workers)
        stop_pool(pool)  # every slice is back: the workers go before the table is written
        return
    _preload_for_workers()
    with worker_pool(min(workers, len(busy))) as started:  # stopped at once if the consumer stops
        yield from _remote(items, chains, _Pool(started), 2 * workers)


def _preload_for_workers() -> None:
    """Import the fitting code and scipy.optimize here, before the pool forks: each worker
    then starts with them instead of importing them itself (about 0.6 s of CPU each), and
    this process needs scipy.optimize anyway for the trends at the end.  Measured on the
    121-spectrum bench run (``--jobs 2 --no-report``, 5 alternating rounds, load ~1.1):
    median 3.42 s -> 2.80 s, results.csv identical.  Where workers do not fork (spawn,
    forkserver) it costs nothing the run would not pay later."""
    import scipy.optimize  # noqa: F401

    from ..fitting import api  # noqa: F401


def _here(items: Items, chain: _Chain) -> Iterator[Done]:
    while not chain.done():
        start, stop = chain.take()
        args = _call(items, chain, start, stop)
        yield from _outputs(chain, start, iter_group(*args))


class _Pool:
    """Slices in a `ProcessPoolExecutor`."""

    lost = "a worker process ended while fitting (killed, or out of memory?)"

    def __init__(
        self, pool: concurrent.futures.ProcessPoolExecutor, *, stop_on_cancel: bool = False
    ) -> None:
        self.pool, self.stop_on_cancel = pool, stop_on_cancel
        self.pending: set[Any] = set()

    def submit(self, args: tuple) -> Any:
        try:
            future = self.pool.submit(fit_group, *args)
        except concurrent.futures.process.BrokenProcessPool as exc:  # a worker died before
            raise EisfitError(f"{self.lost}: {exc}; the finished fits are saved: re-run the "
                              "same command to resume") from exc  # its slice came back
        self.pending.add(future)
        return future

    def finished(self) -> Any:
        done, _ = concurrent.futures.wait(self.pending, return_when="FIRST_COMPLETED")
        future = next(iter(done))
        self.pending.discard(future)
        return future

    def result(self, future: Any) -> list[Output]:
        return future.result()

    def cancel(self) -> None:
        if self.stop_on_cancel:  # workers started by the caller: no running slice is kept
            stop_pool(self.pool)  # (else the pool's context in `run_slices` stops them)


class _Dask:
    """Slices as tasks of a Dask cluster."""

    lost = "the Dask cluster could not run a work slice"

    def __init__(self, client: Any) -> None:
        from distributed import as_completed

        self.client = client
        self.pending: list[Any] = []
        self.completed = as_completed()

    def submit(self, args: tuple) -> Any:
        future = self.client.submit(fit_group, *args, pure=False)
        self.pending.append(future)
        self.completed.add(future)
        return future

    def finished(self) -> Any:
        future = next(self.completed)
        self.pending.remove(future)
        return future

    def result(self, future: Any) -> list[Output]:
        out = future.result()
        future.release()  # the cluster may drop the slice's result
        return out

    def cancel(self) -> None:
        if self.pending:
            self.client.cancel(self.pending)


def _remote(items: Items, chains: deque[_Chain], runner: Any, limit: int) -> Iterator[Done]:
    """Keep up to ``limit`` slices out, one per item; yield their outputs as they return."""
    out: dict[Any, tuple[_Chain, int]] = {}

    def advance(chain: _Chain) -> Iterator[Done]:
        """Submit the item's next slice (a slice with nothing to fit runs here)."""
        while not chain.done():
            start, stop = chain.take()
            args = _call(items, chain, start, stop)
            if _all_reused(args):
                yield from _outputs(chain, start, iter_group(*args))
                continue
            out[runner.submit(args)] = (chain, start)
            return

    finished = False
    try:
        while chains or out:
            while chains and len(out) < limit:
                yield from advance(chains.popleft())
            if not out:
                continue
            future = runner.finished()
            chain, start = out.pop(future)
            try:
                outputs = runner.result(future)
            except Exception as exc:  # fit_group itself never raises: the machinery failed
                raise EisfitError(f"{runner.lost}: {type(exc).__name__}: {exc}; the finished "
                                  "fits are saved: re-run the same command to resume") from exc
            yield from _outputs(chain, start, iter(outputs))
            if not chain.done():
                chains.appendleft(chain)  # its next slice goes out first
        finished = True
    finally:
        if not finished:
            runner.cancel()


class _Tasks:
    """`Items` over fully built tasks (``(packed, settings, reuse, names[, bands])``)."""

    def __init__(self, tasks: Sequence[tuple[Any, ...]]) -> None:
        self.tasks = tasks

    def sizes(self) -> list[int]:
        return [len(t[0]) for t in self.tasks]

    def idle(self, k: int) -> bool:
        return all(stored is not None for stored in self.tasks[k][2])

    def slice(self, k: int, start: int, stop: int) -> SliceArgs:
        task = self.tasks[k]
        bands = task[4] if len(task) > 4 else None
        return (list(task[0][start:stop]), list(task[2][start:stop]),
                list(bands[start:stop]) if bands is not None else None)  # fmt: skip


def run_items(
    tasks: Sequence[tuple[Any, ...]], *, workers: int, client: Any = None
) -> Iterator[Done]:
    """`run_slices` of work items given whole: ``(packed, settings, reuse, names[, bands])``
    each (all with the same settings and names)."""
    if not tasks:
        return iter(())
    return run_slices(_Tasks(tasks), tasks[0][1], tuple(tasks[0][3]), workers=workers,
                      client=client)  # fmt: skip


def dask_client(scheduler: Any) -> tuple[Any, bool]:
    """(client, owned): a ``distributed.Client`` for an address, or the client given.

    ``owned`` is True when the client was made here (the caller closes it).  Raises
    `EisfitError` when Dask distributed is not installed or the scheduler cannot be reached.
    """
    try:
        import distributed
    except ImportError:
        raise EisfitError("a Dask scheduler needs dask.distributed: install eisfit[dask]") from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if not isinstance(scheduler, str):
        raise EisfitError(
            f"scheduler must be an address or a distributed.Client, not {scheduler!r}"
        )
    try:
        return distributed.Client(scheduler), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise EisfitError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None


def dask_workers(client: Any) -> int:
    """Number of workers of the cluster (at least 1): the chunking uses it as ``jobs``."""
    return max(1, len(client.nthreads()))
