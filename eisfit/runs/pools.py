"""Worker processes that never outlive their run.

`worker_pool` is a `ProcessPoolExecutor` for the batch's fits and the report's figures
whose workers

- use their share of the cores for BLAS (`eisfit._blas.limit_threads`: one thread each
  when there are as many workers as cores);
- ignore SIGINT: Ctrl-C in a terminal reaches every process of the foreground group, and
  the decision to stop (and what to save) belongs to the parent, which then terminates
  them (`stop_pool`); SIGTERM ends them at once (a handler the parent had installed,
  inherited at fork, is reset);
- exit on their own when the parent process dies, however it died (SIGKILL included): a
  daemon thread in each worker watches the parent (on POSIX its parent PID changes when
  the parent is gone; elsewhere it waits on `multiprocessing.parent_process`) and ends
  the worker within `WATCH_INTERVAL_S`.  Without it a worker blocks forever on the pipe
  to its dead parent.

Leaving the ``with`` block normally waits for the pool; leaving it by an exception
(KeyboardInterrupt included) cancels queued work and terminates the workers at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from .._blas import limit_threads

__all__ = ["WATCH_INTERVAL_S", "stop_pool", "worker_pool"]

#: how often a worker checks that its parent is alive (s)
WATCH_INTERVAL_S = 0.25


def _watch_parent(parent_pid: int) -> None:
    """Runs in a daemon thread of each worker: end the worker once the parent is gone."""
    if os.name == "posix":
        while os.getppid() == parent_pid:
            time.sleep(WATCH_INTERVAL_S)
    else:  # pragma: no cover - Windows: no re-parenting; the parent's sentinel fires
        parent = multiprocessing.parent_process()
        if parent is None:
            return
        parent.join()
    os._exit(1)  # no clean-up to do: the parent owns every output file


def _init_worker(parent_pid: int, blas_threads: int) -> None:
    limit_threads(blas_threads)  # the workers share the cores: no BLAS pool each on all
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):  # not the parent's handler (inherited at fork): the
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # parent's SIGTERM ends a worker now
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes set up as the module describes (the caller stops
    it with `stop_pool` or ``shutdown``)."""
    share = max((os.cpu_count() or 1) // max(workers, 1), 1)
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(os.getpid(), share)
    )


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """`new_pool` as a context: waited for on success, stopped at once on any exception."""
    pool = new_pool(workers)
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: cancel queued items, terminate the workers running items.

    ``shutdown(wait=False)`` alone would still let the interpreter wait at exit for the
    running items; Python < 3.14 has no public way to terminate the workers, hence the
    private ``_processes`` (taken before shutdown, which clears it).  A worker that
    survives SIGTERM for 5 s is killed.  Stopping a stopped pool does nothing.
    """
    table = getattr(pool, "_processes", None) or {}  # the dict itself: shutdown drops the
    pool.shutdown(wait=False, cancel_futures=True)  # pool's reference, not the dict
    processes = list(table.values())  # including any worker started meanwhile
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        if not _ended(process, 5.0):  # SIGTERM handled in the worker (a handler inherited
            process.kill()  # at fork, e.g. from Dask): SIGKILL cannot be
            _ended(process, 5.0)


def _ended(process: Any, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for ``process`` to be reaped.

    ``join`` returns as soon as the process's sentinel pipe closes, which the kernel does
    a moment before the exit can be collected, so it is polled until then.
    """
    deadline = time.monotonic() + timeout_s
    process.join(timeout_s)
    while process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    return not process.is_alive()
