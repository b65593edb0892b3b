"""DRT benchmark (issue 16, item 4a): eisfit.drt against pyDRTtools' Tikhonov run.

Run:  .venv/bin/python bench/drt_bench.py [--count 50] [--seed 7] [--no-real] [--skip-pydrttools]

Two sets, both methods run interleaved in one process (each spectrum: eisfit, then
pyDRTtools), so their times are measured under the same machine load:

1. ``--count`` synthetic Na | SSE | Na spectra (`synthetic_set`): L0-R0-(R1||CPE1)-(R2||CPE2),
   71 points from 1 MHz to 0.1 Hz, 1 % proportional noise; R0 20-200 ohm, grain-boundary
   arc R1 30-300 ohm with apex 10 kHz-3 MHz (those above 1 MHz are cut by the band edge),
   n1 0.85-1, interface arc R2 = 1-10 x R1 with apex 1 Hz-1 kHz, n2 0.7-0.95, lead
   inductance 0.1-0.5 uH.  Truth: tau_k = 1 / (2 pi f_k), R_k.  Reported per method: peak
   tau error (decades) and area error (%) of each arc (in band / cut by the band edge),
   arcs within the issue's targets (0.1 decade, 5 %), missed arcs, spurious peaks, R_inf
   and L against the truth, time per spectrum and the ratio of times.
2. The real spectra of ``../shared/real-data`` (MANIFEST.tsv), read with `eisfit.read`
   (files that do not read, duplicates and spectra of fewer than 10 points skipped): the
   peak frequencies of both methods side by side, and times.

Peaks of both methods are found by the same rules (`eisfit.relaxation.peaks.find_peaks`: local
maxima above 5 % of the largest, prominence 5 %, area split at the minima), applied to
each method's gamma on its own output grid; the arc of the truth is matched to the
nearest peak in log tau, and peaks matched to no arc are spurious.  eisfit's own
significance rule (peaks below 5 x noise x |Z| dropped) is part of eisfit's result and
applied to it only.

pyDRTtools (pip install pyDRTtools, with cvxopt and scikit-learn, which it imports but
does not declare: the ``bench`` extra of pyproject.toml) is GPL: this file only calls it.
``import pyDRTtools`` runs its ``__init__``, which imports its Qt GUI (PyQt5) and fails on a
headless machine.  So the bench registers an empty package module ``pyDRTtools`` whose
``__path__`` is the installed package directory (`_import_pydrttools`), then imports the
computational submodule ``pyDRTtools.runs`` (Tikhonov/RBF, GCV) directly; matplotlib is
put on the Agg backend first (``basics`` imports pyplot), cvxopt's progress output is
switched off and pyDRTtools' prints are swallowed.  Its Tikhonov run is
``runs.simple_run(entry, rbf_type="Gaussian", data_used="Combined Re-Im Data",
induct_used=1, der_used="1st order", cv_type="GCV", coeff=0.5)``: its defaults with the
inductance fitted.  Both run with BLAS on one thread (eisfit does this itself; for
pyDRTtools threadpoolctl is used when installed) so that neither pays for thread
contention on a shared machine.  Without pyDRTtools the bench says so and runs eisfit
alone.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import importlib.util
import io
import math
import os
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eisfit.relaxation import drt
from eisfit.relaxation.peaks import DRTPeak, find_peaks
from eisfit.spectrum import Spectrum
from eisfit.synthetic import cpe_q, simulate

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-data"
BAND_HZ = (0.1, 1e6)


@dataclass(frozen=True)
class Truth:
    r_inf_ohm: float
    inductance_h: float
    taus_s: tuple[float, float]
    resistances_ohm: tuple[float, float]


@dataclass(frozen=True)
class Outcome:
    peaks: tuple[DRTPeak, ...]
    r_inf_ohm: float
    inductance_h: float | None
    seconds: float


def synthetic_set(count: int, seed: int) -> list[tuple[Spectrum, Truth]]:
    """``count`` two-arc spectra with their truth (module docstring)."""
    rng = np.random.default_rng(seed)
    f = np.logspace(6, -1, 71)
    out = []
    for _ in range(count):
        l_h = rng.uniform(1e-7, 5e-7)
        r0 = 10 ** rng.uniform(1.3, 2.3)
        r1, f1, n1 = 10 ** rng.uniform(1.5, 2.5), 10 ** rng.uniform(4, 6.5), rng.uniform(0.85, 1)
        r2, f2, n2 = r1 * 10 ** rng.uniform(0, 1), 10 ** rng.uniform(0, 3), rng.uniform(0.7, 0.95)
        values = {"L0.L": l_h, "R0.R": r0,
                  "R1.R": r1, "CPE1.Q": cpe_q(r1, f1, n1), "CPE1.n": n1,
                  "R2.R": r2, "CPE2.Q": cpe_q(r2, f2, n2), "CPE2.n": n2}  # fmt: skip
        s = simulate("L0-R0-p(R1,CPE1)-p(R2,CPE2)", values, f, noise=0.01, rng=rng)
        taus = (1 / (2 * math.pi * f1), 1 / (2 * math.pi * f2))
        out.append((s, Truth(r0, l_h, taus, (r1, r2))))
    return out


def _import_pydrttools() -> Any | None:
    """pyDRTtools' ``runs`` module without its GUI (module docstring), or None."""
    spec = importlib.util.find_spec("pyDRTtools")
    if spec is None or not spec.submodule_search_locations:
        return None
    os.environ.setdefault("MPLBACKEND", "Agg")
    package = types.ModuleType("pyDRTtools")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("pyDRTtools", package)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from pyDRTtools import runs  # type: ignore[import-not-found]
        import cvxopt  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"pyDRTtools found but not importable ({exc}); running eisfit alone")
        return None
    cvxopt.solvers.options["show_progress"] = False
    return runs


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_eisfit(spectrum: Spectrum) -> Outcome:
    start = time.perf_counter()
    result = drt(spectrum)
    seconds = time.perf_counter() - start
    return Outcome(result.peaks, result.r_inf_ohm, result.inductance_h, seconds)


def try_pydrttools(runs: Any, spectrum: Spectrum) -> Outcome | str:
    """`run_pydrttools`, or the error it raised (e.g. cvxopt: "Rank(A) < p")."""
    try:
        return run_pydrttools(runs, spectrum)
    except Exception as exc:  # a peer's failure is a result to report
        return f"failed: {type(exc).__name__}: {str(exc)[:60]}"


def run_pydrttools(runs: Any, spectrum: Spectrum) -> Outcome:
    f = np.array(spectrum.frequency_hz, dtype=float)
    z = np.array(spectrum.impedance_ohm)
    with _one_blas_thread(), contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        entry = runs.EIS_object(f, z.real.copy(), z.imag.copy())
        entry = runs.simple_run(entry, rbf_type="Gaussian", data_used="Combined Re-Im Data",
                                induct_used=1, der_used="1st order", cv_type="GCV",
                                reg_param=1e-3, shape_control="FWHM Coefficient",
                                coeff=0.5)  # fmt: skip
        seconds = time.perf_counter() - start
    tau = np.asarray(entry.out_tau_vec, dtype=float).ravel()
    gamma = np.asarray(entry.gamma, dtype=float).ravel()
    order = np.argsort(tau)
    peaks = find_peaks(np.log(tau[order]), gamma[order])
    return Outcome(peaks, float(entry.R), float(entry.L), seconds)


def _match(outcome: Outcome, truth: Truth) -> tuple[list[tuple[float, float]], int, int]:
    """Per arc (tau error in decades, area error in %), missed arcs, spurious peaks."""
    errors, used, missed = [], set(), 0
    for tau, r in zip(truth.taus_s, truth.resistances_ohm, strict=True):
        if not outcome.peaks:
            errors.append((math.nan, math.nan))
            missed += 1
            continue
        j = int(np.argmin([abs(math.log10(p.tau_s / tau)) for p in outcome.peaks]))
        p = outcome.peaks[j]
        err_tau = math.log10(p.tau_s / tau)
        if abs(err_tau) > 0.5 or j in used:  # nothing near this arc
            errors.append((math.nan, math.nan))
            missed += 1
            continue
        used.add(j)
        errors.append((err_tau, 100 * (p.resistance_ohm / r - 1)))
    return errors, missed, len(outcome.peaks) - len(used)


def _stats(values: list[float]) -> str:
    a = np.abs(np.asarray([v for v in values if math.isfinite(v)]))
    if not a.size:
        return "n/a"
    return f"{np.median(a):.3g} / {np.percentile(a, 90):.3g} / {a.max():.3g}"


def synthetic_table(rows: dict[str, list[tuple[Outcome, Truth]]]) -> str:
    lines = []
    for name, pairs in rows.items():
        tau_in, tau_cut, area_in, area_cut, hits = [], [], [], [], [0, 0]
        missed = spurious = spurious_spectra = 0
        r_inf, l_ratio = [], []
        for outcome, truth in pairs:
            errors, miss, spur = _match(outcome, truth)
            missed += miss
            spurious += spur
            spurious_spectra += spur > 0
            for (err_tau, err_area), tau in zip(errors, truth.taus_s, strict=True):
                cut = 1 / (2 * math.pi * tau) > BAND_HZ[1]
                (tau_cut if cut else tau_in).append(err_tau)
                (area_cut if cut else area_in).append(err_area)
                hits[1] += 1
                hits[0] += abs(err_tau) <= 0.1 and abs(err_area) <= 5
            r_inf.append(100 * (outcome.r_inf_ohm / truth.r_inf_ohm - 1))
            l_ratio.append((outcome.inductance_h or 0.0) / truth.inductance_h)
        times = [o.seconds for o, _ in pairs]
        lines += [
            f"{name}: {len(pairs)} spectra, median {1e3 * np.median(times):.1f} ms per spectrum",
            f"  peak tau error, decades (median / p90 / max): in band {_stats(tau_in)}; "
            f"cut by the band edge ({len(tau_cut)} arcs) {_stats(tau_cut)}",
            f"  peak area error, %      (median / p90 / max): in band {_stats(area_in)}; "
            f"cut by the band edge {_stats(area_cut)}",
            f"  arcs within 0.1 decade and 5 %: {hits[0]} of {hits[1]}; missed arcs {missed}; "
            f"spurious peaks {spurious} in {spurious_spectra} spectra",
            f"  R_inf error, % (median / p90 / max): {_stats(r_inf)}; L found / true: median "
            f"{np.median(l_ratio):.2f}, range {min(l_ratio):.2f}-{max(l_ratio):.2f}, "
            f"not reported in {sum(1 for o, _ in pairs if not o.inductance_h)} spectra",
        ]
    return "\n".join(lines)


def real_spectra() -> list[tuple[str, Spectrum]]:
    """Every distinct readable spectrum of ../shared/real-data with >= 10 points."""
    from eisfit import read
    from eisfit.errors import EisfitError

    manifest = REAL / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    seen, out = set(), []
    with manifest.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            path = REAL / row["path"]
            try:
                spectra = list(read(path))
            except (EisfitError, OSError):
                continue
            for s in spectra[:3]:
                key = hashlib.sha1(s.frequency_hz.tobytes() + s.impedance_ohm.tobytes()).digest()
                if len(s) >= 10 and key not in seen:
                    seen.add(key)
                    out.append((f"{row['path']}#{s.meta.index}", s))
    return out


def _peak_text(outcome: Outcome | str | None) -> str:
    if outcome is None:
        return "-"
    if isinstance(outcome, str):
        return outcome
    return " ".join(f"{p.frequency_hz:.3g}" for p in outcome.peaks) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--real-limit", type=int, default=None,
                        help="only the first N distinct real spectra")  # fmt: skip
    parser.add_argument("--skip-pydrttools", action="store_true")
    args = parser.parse_args(argv)
    runs = None if args.skip_pydrttools else _import_pydrttools()
    if runs is None and not args.skip_pydrttools:
        print("pyDRTtools is not installed (pip install -e '.[bench]'): running eisfit alone")
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"(cores: {os.cpu_count()})")  # fmt: skip
    data = synthetic_set(args.count, args.seed)
    drt(data[0][0])  # warm the import and the kernel code path once
    rows: dict[str, list[tuple[Outcome, Truth]]] = {"eisfit": []}
    if runs is not None:
        rows["pyDRTtools"] = []
    for spectrum, truth in data:
        rows["eisfit"].append((run_eisfit(spectrum), truth))
        if runs is not None:
            rows["pyDRTtools"].append((run_pydrttools(runs, spectrum), truth))
    print(f"\n== synthetic set: {args.count} spectra, seed {args.seed}, 1 % noise, 1 MHz-0.1 Hz")
    print(synthetic_table(rows))
    if runs is not None:
        ratio = [p.seconds / e.seconds for (e, _), (p, _) in
                 zip(rows["eisfit"], rows["pyDRTtools"], strict=True)]  # fmt: skip
        print(f"time ratio pyDRTtools / eisfit per spectrum: median {np.median(ratio):.0f}x "
              f"(range {min(ratio):.0f}-{max(ratio):.0f}x)")  # fmt: skip
    if not args.no_real:
        spectra = real_spectra()[: args.real_limit]
        print(f"\n== real spectra ({len(spectra)} distinct, {REAL}); peak frequencies in Hz")
        times: dict[str, list[float]] = {"eisfit": [], "pyDRTtools": []}
        statuses: dict[str, int] = {}
        for label, s in spectra:
            mine = run_eisfit(s)
            status = drt(s).status
            statuses[status] = statuses.get(status, 0) + 1
            times["eisfit"].append(mine.seconds)
            theirs = try_pydrttools(runs, s) if runs is not None else None
            if isinstance(theirs, Outcome):
                times["pyDRTtools"].append(theirs.seconds)
            took = f" {1e3 * theirs.seconds:.0f} ms" if isinstance(theirs, Outcome) else ""
            print(f"{label} ({len(s)} pts): eisfit {status} [{_peak_text(mine)}] "
                  f"{1e3 * mine.seconds:.1f} ms | pyDRTtools [{_peak_text(theirs)}]{took}")
        print("eisfit statuses: " + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())))
        if runs is not None:
            failed = len(spectra) - len(times["pyDRTtools"])
            print(f"pyDRTtools failed on {failed} of {len(spectra)} real spectra")
        for name, values in times.items():
            if values:
                print(f"{name}: median {1e3 * np.median(values):.1f} ms per real spectrum")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
