"""How many threads BLAS may use: one for the DRT's calls, a share of the cores per worker.

The DRT's matrices are small (~140 x 110): an SVD takes ~1.5 ms on one core.  OpenBLAS
splits such calls over its threads, and on a machine whose cores are busy with other
work the threads wait for each other: measured here (2 cores, load average 3), the same
SVD took 11 ms median and up to 740 ms, and a whole DRT 195 ms instead of 6 ms.  So
`one_thread` asks OpenBLAS for one thread in the calling thread only
(``openblas_set_num_threads_local``, OpenBLAS >= 0.3.27, thread-local: other threads
and the rest of the program keep their setting) and restores the previous value.  It
does this for the OpenBLAS builds that numpy and scipy wheels bundle (``numpy.libs`` /
``scipy.libs``); with any other BLAS (MKL, Accelerate, a system OpenBLAS) it does
nothing, and the results are the same either way (threading changes speed only).

`limit_threads` sets the process-wide count (``openblas_set_num_threads``).  A batch's
worker processes call it with their share of the cores (`eisfit.runs.pools`): two
workers on two cores, each with an OpenBLAS pool of two threads, oversubscribe the
machine on every lin-KK solve and SVD.  Measured here on the 1,000-spectrum bench run
(``eisfit batch --jobs 2``, load average 4.5-5.3, three alternating rounds): median
25.1 s with the default threads, 20.6 s with one per worker, results.csv identical.
This is what joblib's loky backend does for its workers too.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["limit_threads", "one_thread", "thread_counts"]


#: the names the bundled OpenBLAS builds give the thread-count setters: thread-local
#: (OpenBLAS >= 0.3.27) and process-wide (prefixed in the scipy-openblas wheels, with a
#: 64 suffix in numpy's ILP64 build)
_LOCAL = ("openblas_set_num_threads_local",)
_GLOBAL = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
           "openblas_set_num_threads64_", "openblas_set_num_threads")  # fmt: skip
_COUNT = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
          "openblas_get_num_threads64_", "openblas_get_num_threads")  # fmt: skip


@lru_cache(maxsize=3)
def _setters(names: tuple[str, ...] = _LOCAL) -> tuple[Callable[[int], Any], ...]:
    """The first of ``names`` each OpenBLAS that numpy's and scipy's wheels bundle has
    (scipy is looked up only when it is installed)."""
    import importlib.util

    import numpy

    packages = [numpy]
    if importlib.util.find_spec("scipy") is not None:
        import scipy

        packages.append(scipy)
    found = []
    for package in packages:
        libs = Path(package.__file__).parent.parent / f"{package.__name__}.libs"
        for path in sorted(libs.glob("libscipy_openblas*.so*")):
            try:
                lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
            except OSError:
                continue
            setter = next((getattr(lib, n) for n in names if hasattr(lib, n)), None)
            if setter is None:
                continue
            setter.argtypes = [] if names == _COUNT else [ctypes.c_int]
            setter.restype = None if names == _GLOBAL else ctypes.c_int
            found.append(setter)
    return tuple(found)


def limit_threads(n: int) -> None:
    """Let BLAS use at most ``n`` threads in this process from now on (bundled OpenBLAS
    only; anything else is left as it is)."""
    for setter in _setters(_GLOBAL):
        setter(max(int(n), 1))


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Inside the block, BLAS calls of this thread use one thread (where possible)."""
    previous = [(setter, setter(1)) for setter in _setters()]
    try:
        yield
    finally:
        for setter, value in previous:
            setter(value)


def thread_counts() -> tuple[int, ...]:
    """The thread count of each bundled OpenBLAS (empty with any other BLAS)."""
    return tuple(int(getter()) for getter in _setters(_COUNT))
