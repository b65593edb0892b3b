"""Run the DRT's small dense linear algebra on one BLAS thread.

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
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

__all__ = ["one_thread"]


@lru_cache(maxsize=1)
def _setters() -> tuple[Callable[[int], int], ...]:
    import numpy
    import scipy

    found = []
    for package in (numpy, scipy):
        libs = Path(package.__file__).parent.parent / f"{package.__name__}.libs"
        for path in sorted(libs.glob("libscipy_openblas*.so*")):
            try:
                lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
                setter = lib.openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            setter.argtypes = [ctypes.c_int]
            setter.restype = ctypes.c_int
            found.append(setter)
    return tuple(found)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Inside the block, BLAS calls of this thread use one thread (where possible)."""
    previous = [(setter, setter(1)) for setter in _setters()]
    try:
        yield
    finally:
        for setter, value in previous:
            setter(value)
