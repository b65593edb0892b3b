"""The optional compiled fast path of the batched fit (numba, ``pip install eisfit[fast]``).

For a circuit that is a chain of R, L, C, CPE and R||CPE / R||C arcs (a `ChainLayout`
with a closed form: the usual bulk / grain-boundary / interface circuits), the batched
multi-start Levenberg-Marquardt run of `eisfit.fitting.lm.batched_lm` has a compiled twin in
`eisfit.fitting.chain_kernel`.  Same algorithm and the same code for it: the kernel compiles
the decision rules of `eisfit.fitting.lm_rules` and the closed forms of
`eisfit.notation.closed_forms` that the numpy path calls.  An iteration of ten starts of
a 3-arc circuit takes about 80 us instead of 500 us, because the numpy version pays
call overhead on small arrays.

Used when numba can be imported, the environment variable ``EISFIT_JIT`` is not ``0``
and loading the kernel pays for itself (below); otherwise everything runs on numpy
alone, with the same results up to rounding (a single fit of the sample spectrum: the
printed report is identical, the largest relative difference of a JSON number 2e-14,
``bench/startup_bench.py``).  The core install does not need numba (it brings LLVM,
~60 MB): it is an extra.

Costs: the first fit on a machine compiles the kernel (about 10 s; numba caches it next
to the module); after that, a process pays about 0.8 s once, at its first fit of a chain
circuit, to import numba (0.3 s) and load the cache (0.5 s).  Either happens before that
fit's clock starts, so it never eats a fit's time budget.  A fit of 80 points saves
2-5 ms with the kernel, one of 2,000 points 30-90 ms (`SAVED_PER_FIT_S`,
`SAVED_PER_POINT_S`; ``bench/startup_bench.py --kernel``, a loaded 2-core machine): the
load pays from about 300 fits of 80 points, or 20 of 2,000, in a process.

When the kernel loads (``EISFIT_JIT``): ``0`` (``false``, ``no``, ``off``) never;
``1`` (or any other word) at the first chain fit of the process, whatever follows;
unset, empty or ``auto``: at the first chain fit, unless the fit runs inside a
`eisfit.fitting.workload.workload` block declaring a job whose expected saving
(`pays_off`) is below the load cost (`LOAD_S`).  ``eisfit fit FILE`` declares its
spectra so, and fits one spectrum in about half the wall time (issue 15); the batch
runner and library calls that declare no job load the kernel as before.  Inside a small
job the numpy path is taken even when an earlier job of the process loaded the kernel,
so a command's results do not depend on what ran before it.

Spectra longer than `MAX_POINTS` always run on numpy: there the evaluation of the model
dominates and vectorises well, so the kernel saves little (about 0.25 s on a 50,000-point
fit) while loading numba costs about 100 MB of memory (measured with
``bench/memory_bench.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from functools import cache

import numpy as np

from ..notation.grammar import parse
from ..notation.layout import ChainLayout, chain_layout
from .lm import BatchResult
from .workload import declared

__all__ = [
    "LOAD_S",
    "MAX_POINTS",
    "SAVED_PER_FIT_S",
    "SAVED_PER_POINT_S",
    "active",
    "batched_chain_lm",
    "pays_off",
    "prepare",
    "used_for",
]

#: the longest spectrum (points) fitted with the kernel; longer ones run on numpy
MAX_POINTS = 2048

#: what loading the kernel costs a process (s): numba's import and its cache; measured
#: 0.5-0.9 s (median of fresh processes, ``bench/startup_bench.py --kernel``)
LOAD_S = 0.8
#: what the kernel saves a fit (s), plus `SAVED_PER_POINT_S` per point of the spectrum:
#: medians over 16 random 2- and 3-arc spectra of 80 and of 2,000 points, three runs
#: (``bench/startup_bench.py --kernel``): 1.6-5 ms at 80 points, 32-91 ms at 2,000.  The
#: line used gives 2.6 ms at 80 and 41 ms at 2,000, inside both ranges; the bench prints
#: it beside what it measures
SAVED_PER_FIT_S = 0.001
SAVED_PER_POINT_S = 0.00002


def used_for(n_points: int) -> bool:
    """True when a fit of ``n_points`` points of a chain circuit uses the kernel."""
    return n_points <= MAX_POINTS and active()


def pays_off(points_per_fit: Iterable[int]) -> bool:
    """True when the kernel saves more than loading it costs (`LOAD_S`) on fits of
    spectra of these sizes (points); spectra longer than `MAX_POINTS` run on numpy and
    save nothing.  One spectrum of 80 points: False; 400 of them: True."""
    saved_s = sum(
        SAVED_PER_FIT_S + SAVED_PER_POINT_S * n for n in points_per_fit if n <= MAX_POINTS
    )
    return saved_s > LOAD_S


def _wanted() -> bool:
    """``EISFIT_JIT`` and the declared job (see the module docstring)."""
    mode = os.environ.get("EISFIT_JIT", "").strip().lower()
    if mode in ("0", "false", "no", "off"):
        return False
    job = declared()
    if mode not in ("", "auto") or job is None:
        return True
    return pays_off(job)


@cache
def _load() -> Callable[..., tuple] | None:
    """The kernel, compiled (or loaded from numba's cache) and run once; None without numba."""
    try:
        from .chain_kernel import chain_lm

        _warm_up(chain_lm)
    except ImportError:  # numba missing, or too old or new for this numpy
        return None
    # an optional accelerator must not break fits: numba raises RuntimeError at import,
    # for one, when it finds no writable place for its cache
    except Exception as exc:
        warnings.warn(
            f"eisfit: the compiled kernel failed to build ({type(exc).__name__}: {exc}); "
            "fitting on numpy (set EISFIT_JIT=0 to skip the attempt)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return chain_lm


def _warm_up(kernel: Callable[..., tuple]) -> None:
    """Call the kernel once on a tiny problem: numba compiles for the argument types, which
    every later call shares, so no fit's time budget pays for the compilation."""
    layout = chain_layout(parse("L0-R0-p(R1,CPE1)-p(R2,C2)-CPE3"))
    assert layout is not None
    omega = np.logspace(0.0, 5.0, 6)
    p = layout.n_params
    batched_chain_lm(
        layout,
        np.zeros((2, p)),
        lower=np.full(p, -np.inf),
        upper=np.full(p, np.inf),
        base=np.ones(p),
        free=np.arange(p),
        log=np.ones(p, dtype=bool),
        omega=omega,
        z=np.ones(omega.size, dtype=complex),
        w_re=np.ones(omega.size),
        w_im=np.ones(omega.size),
        max_iter=2,
        ftol=1e-9,
        kernel=kernel,
    )


def prepare() -> bool:
    """Compile or load the kernel now (once per process) if it will be used; True if so."""
    return _wanted() and _load() is not None


def active() -> bool:
    """True when fits of closed-form chains use the compiled kernel (numba importable,
    ``EISFIT_JIT`` not 0)."""
    return prepare()


def batched_chain_lm(
    layout: ChainLayout,
    x0: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    base: np.ndarray,
    free: np.ndarray,
    log: np.ndarray,
    omega: np.ndarray,
    z: np.ndarray,
    w_re: np.ndarray,
    w_im: np.ndarray,
    max_iter: int,
    ftol: float,
    xtol: float = 1e-9,
    drop_ratio: float | None = None,
    grace: int = 3,
    same_cost: float = 1e-6,
    max_rows: int | None = None,
    kernel: Callable[..., tuple] | None = None,
) -> BatchResult:
    """`eisfit.fitting.lm.batched_lm` on the weighted residuals of the chain ``layout``.

    The problem is given directly rather than as a residual function: parameters ``free``
    of ``base`` are fitted, those with ``log`` as logarithms; ``x0`` (S, p) are starts in
    those internal coordinates, ``lower``/``upper`` (p,) their bounds; residuals are
    ``w_re (Z' - z')`` and ``w_im (Z'' - z'')``.  ``max_rows`` is the budget of parameter
    vectors evaluated (checked before each iteration, as ``batched_lm``'s
    ``should_stop``); the caller checks its clock after the call.
    """
    kernel = kernel or _load()
    if kernel is None or not layout.closed_form:
        raise RuntimeError("the compiled kernel is not available for this circuit")
    floats = [np.ascontiguousarray(a, dtype=np.float64) for a in (lower, upper, base, omega)]
    weights = [np.ascontiguousarray(a, dtype=np.float64) for a in (w_re, w_im)]
    parts = (
        layout.arc_r,
        layout.arc_q,
        layout.arc_n,
        layout.series_r,
        layout.series_l,
        layout.spike_q,
        layout.spike_n,
    )
    x, cost, converged, n_eval, n_rows, pinned = kernel(
        np.ascontiguousarray(x0, dtype=np.float64),
        *floats[:3],
        np.ascontiguousarray(free, dtype=np.int64),
        np.ascontiguousarray(log, dtype=np.bool_),
        floats[3],
        np.ascontiguousarray(z.real, dtype=np.float64),
        np.ascontiguousarray(z.imag, dtype=np.float64),
        *weights,
        parts,
        int(max_iter),
        float(ftol),
        float(xtol),
        float(drop_ratio) if drop_ratio is not None else 0.0,
        int(grace),
        float(same_cost),
        -1 if max_rows is None else int(max_rows),
    )
    return BatchResult(
        x=x, cost=cost, converged=converged, n_evaluations=int(n_eval), n_rows=int(n_rows),
        pinned=pinned,
    )  # fmt: skip
