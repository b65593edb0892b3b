"""The job a process is fitting, declared by its caller: what one-off costs pay for.

Some speed-ups cost a process once and save a little per fit: loading the compiled
kernel (`eisfit.fitting.compiled`, about 0.8 s) or importing ``scipy.optimize`` (about
0.4 s).  For a batch of thousands of spectra they pay; for ``eisfit fit FILE`` on one
spectrum they are most of its wall time (issue 15).  Only the caller knows the job, so
it says so::

    with workload([len(s) for s in spectra]):
        results = [fit(s, circuit) for s in spectra]

and the fitting code asks `declared` (None outside a `workload` block: the job is
unknown, and the library behaves as it always has, as for a large job).  The
declaration is a context variable, so it holds for the block in this thread only and
ends with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["declared", "workload"]

#: the points of each fit of the job running in this context; None: no job declared
_JOB: ContextVar[tuple[int, ...] | None] = ContextVar("eisfit_workload", default=None)


@contextmanager
def workload(points_per_fit: Iterable[int]) -> Iterator[tuple[int, ...]]:
    """Declare, for the fits run inside this block, the whole job: one entry per spectrum
    to fit, its number of points.  Yields the job as declared."""
    job = tuple(int(n) for n in points_per_fit)
    token = _JOB.set(job)
    try:
        yield job
    finally:
        _JOB.reset(token)


def declared() -> tuple[int, ...] | None:
    """The points of each fit of the declared job, or None when none is declared."""
    return _JOB.get()
