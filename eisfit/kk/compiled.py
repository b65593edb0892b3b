"""When lin-KK uses its compiled helpers (numba), and loading them.

Two parts of the lin-KK test only decide, and return no number: which M values need no
exact solve (`eisfit.kk.screen_kernel`, for `eisfit.kk.model.skip_certain`) and whether
a grid resolves the data (`eisfit.kk.reference_kernel`, for `eisfit.kk.reference`).
Both have compiled twins that make the same decisions, the numpy path deciding whatever
they cannot decide clearly, so the test's results do not depend on them.

They are used when numba is *already* imported (a batch loaded it for the fit kernel,
`eisfit.fitting.compiled`) and ``EISFIT_JIT`` is not ``0``: an ``eisfit kk`` or a single
``eisfit fit`` never pays numba's import (about 0.3 s) for them.  Loading both from
numba's cache then costs about 0.1 s once per process; the first process on a machine
compiles them (about 20 s, cached next to the modules).  A kernel that fails to load
leaves lin-KK on numpy.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["certification", "prepare", "projection"]


def _wanted() -> bool:
    off = os.environ.get("EISFIT_JIT", "").strip().lower() in ("0", "false", "no", "off")
    return "numba" in sys.modules and not off


def certification() -> Any:
    """`eisfit.kk.screen_kernel.first_uncertain`, or None (see the module docstring)."""
    return _certification() if _wanted() else None


def projection() -> Any:
    """`eisfit.kk.reference_kernel.projection_sums`, or None (see the module docstring)."""
    return _projection() if _wanted() else None


def prepare() -> bool:
    """Load both helpers now if they will be used; True if so.  For worker processes
    that warm up before their first spectrum."""
    return certification() is not None and projection() is not None


@lru_cache(maxsize=1)
def _certification() -> Any:
    try:
        from .screen_kernel import first_uncertain

        omega = np.logspace(0.0, 5.0, 8)  # compiled (or loaded from numba's cache) now
        first_uncertain(omega, np.ones(16), np.ones(16), np.ones((16, 1)), 2, 3, 0.85,
                        2, 16, 1e3, 1e10)  # fmt: skip
    except Exception:  # an accelerator must not break the check: numpy does the same
        return None
    return first_uncertain


@lru_cache(maxsize=1)
def _projection() -> Any:
    try:
        from .reference_kernel import projection_sums

        omega = np.logspace(0.0, 5.0, 8)
        projection_sums(omega, np.ones(16), np.linspace(1.0, 2.0, 16), np.ones((16, 1)),
                        np.arange(8), 3)  # fmt: skip
    except Exception:
        return None
    return projection_sums
