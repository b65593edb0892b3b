"""Where the batch's work items run: in this process, in worker processes or on a Dask cluster.

A work item is one contiguous group of a cell's spectra, the arguments of
`eisfit.runs.worker.fit_group`.  `run_items` yields ``(item, position, (row, record))`` as
spectra finish, so the caller can save each at once:

- in this process (``jobs=1``, a single item to fit, or an item whose spectra are all
  reused): one spectrum at a time, through `eisfit.runs.worker.iter_group`;
- a `ProcessPoolExecutor` (``workers > 1``): whole items, in the order they complete;
- a Dask ``distributed.Client``: the same items as tasks (``fit_group`` must be importable
  on the workers: install eisfit there too), gathered with ``distributed.as_completed``.

Stopping: when the consumer stops early (``close()`` on the generator, e.g. after a
KeyboardInterrupt) pending items are cancelled and pool workers are terminated without
waiting for the items they run; those items' spectra are simply not returned.  Pool
workers ignore SIGINT and exit by themselves when this process dies (`eisfit.runs.pools`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from typing import Any

from ..errors import EisfitError
from .pools import worker_pool
from .worker import Output, fit_group, iter_group

__all__ = ["Done", "dask_client", "dask_workers", "run_items"]

#: (work item number, position of the spectrum in the item, (row, fits/ record or None))
Done = tuple[int, int, Output]
Task = tuple[Any, ...]


def _busy(task: Task) -> bool:
    """True when the item has at least one spectrum to fit (not all reused)."""
    return any(stored is None for stored in task[2])


def run_items(tasks: Sequence[Task], *, workers: int, client: Any = None) -> Iterator[Done]:
    """Run every work item; items with nothing to fit always run here (no pickling)."""
    busy = [k for k, task in enumerate(tasks) if _busy(task)]
    idle = [k for k, task in enumerate(tasks) if not _busy(task)]
    yield from _here(tasks, idle)
    if client is not None and busy:
        yield from _dask(tasks, busy, client)
    elif workers <= 1 or len(busy) <= 1:
        yield from _here(tasks, busy)
    else:
        yield from _pool(tasks, busy, min(workers, len(busy)))


def _here(tasks: Sequence[Task], which: list[int]) -> Iterator[Done]:
    for k in which:
        for i, output in enumerate(iter_group(*tasks[k])):
            yield k, i, output


def _pool(tasks: Sequence[Task], which: list[int], workers: int) -> Iterator[Done]:
    with worker_pool(workers) as pool:  # stopped at once when the consumer stops early
        futures = {pool.submit(fit_group, *tasks[k]): k for k in which}
        for future in as_completed(futures):
            k = futures.pop(future)  # and the item's records go once written
            for i, output in enumerate(future.result()):
                yield k, i, output


def _dask(tasks: Sequence[Task], which: list[int], client: Any) -> Iterator[Done]:
    from distributed import as_completed as dask_completed

    futures = [client.submit(fit_group, *tasks[k], pure=False) for k in which]
    item = {future.key: k for future, k in zip(futures, which, strict=True)}
    finished = False
    try:
        for future in dask_completed(futures):
            for i, output in enumerate(future.result()):
                yield item[future.key], i, output
            future.release()  # the cluster may drop the item's result
        finished = True
    finally:
        if not finished:
            client.cancel(futures)


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
