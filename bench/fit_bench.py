"""Benchmark: eisfit (no starting values) vs impedance.py (guesses within x2 of the truth).

Both fitters minimise the same objective (modulus weighting: impedance.py's
``weight_by_modulus=True``) on the same randomised Na|SSE|Na spectra
(`eisfit.synthetic.random_cell`: 2- or 3-arc circuits with lead inductance, 80 points
from 7 MHz to 0.1 Hz, 0.5-1 % proportional noise), in one process, one after the other.

*Best known minimum* of a spectrum: the lowest cost found by any of eisfit, impedance.py,
and eisfit's local solver started at the ground truth.  A fitter *reaches* it when its
cost is within a relative 1e-3 of that minimum.  Costs are recomputed by one function for
all fitters.  Times are wall-clock per fit (median), measured with time.perf_counter;
the last column divides each fitter's total time by the number of its fits that reached
the best minimum (a fast fit to a wrong minimum is not a result).

eisfit runs with its compiled kernel when numba is installed (the ``fast`` extra, which
`make bench` installs; `eisfit.fitting.compiled`) and, on the same spectra, on numpy alone
(``EISFIT_JIT=0``, the core install): both are reported.  Every fitter fits one spectrum
before the timed runs (imports, caches, loading the compiled kernel).

Usage:  python bench/fit_bench.py [--n 60] [--seed 0] [--peer-every 1] [--json out.json]
(``--peer-every k`` runs impedance.py on every k-th spectrum only, to save time.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np

import eisfit
from eisfit.fitting import compiled
from eisfit.notation.model import compile_circuit
from eisfit.synthetic import random_cell, simulate

FREQUENCY_HZ = np.logspace(np.log10(7e6), -1, 80)


def cost(circuit: str, theta: np.ndarray, spectrum: eisfit.Spectrum) -> float:
    """Sum of squared modulus-weighted residuals, the objective of both fitters."""
    z_fit = compile_circuit(circuit).impedance(theta, spectrum.frequency_hz)
    diff = (z_fit - spectrum.impedance_ohm) / np.abs(spectrum.impedance_ohm)
    return float(np.sum(diff.real**2 + diff.imag**2))


def peer_guess(values: dict[str, float], rng: np.random.Generator) -> list[float]:
    """Each true value times 2**U(-1, 1); CPE exponents capped at 1 (impedance.py bound)."""
    out = []
    for name, v in values.items():
        g = v * 2.0 ** rng.uniform(-1, 1)
        out.append(min(g, 1.0) if name.endswith(".n") else g)
    return out


def fit_peer(circuit: str, guess: list[float], spectrum: eisfit.Spectrum) -> np.ndarray | None:
    from impedance.models.circuits import CustomCircuit

    model = CustomCircuit(circuit, initial_guess=guess)
    # impedance.py 1.7 builds Python source from parameter reprs; numpy 2 reprs break it
    with np.printoptions(legacy="1.25"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(spectrum.frequency_hz, spectrum.impedance_ohm, weight_by_modulus=True)
        except (RuntimeError, ValueError):  # curve_fit gives up: counts as not reaching
            return None
    return np.asarray(model.parameters_, dtype=float)


def fit_numpy_only(spectrum: eisfit.Spectrum, circuit: str) -> eisfit.FitResult:
    """eisfit as the core install runs it (no compiled kernel)."""
    os.environ["EISFIT_JIT"] = "0"
    try:
        return eisfit.fit(spectrum, circuit, kk=False)
    finally:
        del os.environ["EISFIT_JIT"]


def warm_up(seed: int) -> None:
    """One untimed fit per fitter and circuit size: imports, caches, the kernel."""
    rng = np.random.default_rng(seed + 1)
    for n_arcs in (2, 3):
        cell = random_cell(rng, n_arcs)
        spectrum = simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.007, rng=rng)
        eisfit.fit(spectrum, cell.circuit, kk=False)
        fit_numpy_only(spectrum, cell.circuit)
        fit_peer(cell.circuit, peer_guess(cell.values, rng), spectrum)


def run(n: int, seed: int, peer_every: int) -> dict:
    os.environ.pop("EISFIT_JIT", None)
    warm_up(seed)
    rng = np.random.default_rng(seed)
    rows = []
    for n_arcs in (2, 3):
        for i in range(n):
            cell = random_cell(rng, n_arcs)
            spectrum = simulate(
                cell.circuit, cell.values, FREQUENCY_HZ, noise=rng.uniform(0.005, 0.01), rng=rng
            )
            guess = peer_guess(cell.values, rng)
            t0 = time.perf_counter()
            ours = eisfit.fit(spectrum, cell.circuit, kk=False)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            plain = fit_numpy_only(spectrum, cell.circuit)
            t_plain = time.perf_counter() - t0
            from_truth = eisfit.fit(
                spectrum, cell.circuit, initial=cell.values, n_starts=1, kk=False
            )
            peer_theta, t_peer = None, float("nan")
            if i % peer_every == 0:
                t0 = time.perf_counter()
                peer_theta = fit_peer(cell.circuit, guess, spectrum)
                t_peer = time.perf_counter() - t0
            c_ours = cost(cell.circuit, ours.optimum_theta, spectrum)
            c_plain = cost(cell.circuit, plain.optimum_theta, spectrum)
            c_truth = cost(cell.circuit, from_truth.optimum_theta, spectrum)
            c_peer = cost(cell.circuit, peer_theta, spectrum) if peer_theta is not None else np.inf
            best = min(c_ours, c_plain, c_truth, c_peer)
            rows.append(
                {
                    "n_arcs": n_arcs,
                    "ours_reached": c_ours <= best * (1 + 1e-3),
                    "plain_reached": c_plain <= best * (1 + 1e-3),
                    "peer_ran": i % peer_every == 0,
                    "peer_reached": c_peer <= best * (1 + 1e-3),
                    "t_ours_s": t_ours,
                    "t_plain_s": t_plain,
                    "t_peer_s": t_peer,
                    "ours_success": ours.success,
                }
            )
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    out: dict = {
        "python": platform.python_version(),
        "eisfit": eisfit.__version__,
        "eisfit_backend": "compiled kernel (numba)" if compiled.active() else "numpy",
        "cases": {},
    }
    for n_arcs in (2, 3):
        sel = [r for r in rows if r["n_arcs"] == n_arcs]
        peer = [r for r in sel if r["peer_ran"]]
        t_ours = float(np.median([r["t_ours_s"] for r in sel]))
        t_plain = float(np.median([r["t_plain_s"] for r in sel]))
        t_peer = float(np.median([r["t_peer_s"] for r in peer])) if peer else float("nan")
        out["cases"][f"{n_arcs}_arcs"] = {
            "spectra": len(sel),
            "eisfit_reached_best": sum(r["ours_reached"] for r in sel) / len(sel),
            "eisfit_reached_best_on_peer_subset": (
                sum(r["ours_reached"] for r in peer) / len(peer) if peer else None
            ),
            "impedance_py_reached_best": (
                sum(r["peer_reached"] for r in peer) / len(peer) if peer else None
            ),
            "impedance_py_spectra": len(peer),
            "eisfit_median_ms": 1e3 * t_ours,
            "eisfit_numpy_only_reached_best": sum(r["plain_reached"] for r in sel) / len(sel),
            "eisfit_numpy_only_median_ms": 1e3 * t_plain,
            "speedup_median_numpy_only": t_peer / t_plain,
            "impedance_py_median_ms": 1e3 * t_peer,
            "speedup_median": t_peer / t_ours,
            # total time spent per fit that reached the best minimum (inf: none reached it)
            "eisfit_ms_per_good_fit": _per_good(sel, "t_ours_s", "ours_reached"),
            "impedance_py_ms_per_good_fit": _per_good(peer, "t_peer_s", "peer_reached"),
        }
    return out


def _per_good(rows: list[dict], time_key: str, ok_key: str) -> float:
    good = sum(r[ok_key] for r in rows)
    return 1e3 * sum(r[time_key] for r in rows) / good if good else float("inf")


def table(summary: dict) -> str:
    lines = [
        f"eisfit backend: {summary['eisfit_backend']}; numpy only: the core install",
        "",
        "| circuit | spectra | eisfit reaches best (no guesses) | impedance.py reaches best "
        "(guesses within x2) | eisfit median | impedance.py median | speed-up (median) "
        "| numpy only: reaches best, median, speed-up "
        "| time per fit reaching the best: eisfit / impedance.py |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in summary["cases"].items():
        lines.append(
            f"| {name.replace('_', ' ')} | {c['spectra']} | {100 * c['eisfit_reached_best']:.1f} % "
            f"| {100 * (c['impedance_py_reached_best'] or 0):.1f} % "
            f"(of {c['impedance_py_spectra']}) | {c['eisfit_median_ms']:.1f} ms "
            f"| {c['impedance_py_median_ms']:.0f} ms | {c['speedup_median']:.0f}x "
            f"| {100 * c['eisfit_numpy_only_reached_best']:.1f} %, "
            f"{c['eisfit_numpy_only_median_ms']:.1f} ms, {c['speedup_median_numpy_only']:.0f}x "
            f"| {c['eisfit_ms_per_good_fit']:.1f} ms / {c['impedance_py_ms_per_good_fit']:.0f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="spectra per circuit (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-every", type=int, default=1)
    parser.add_argument("--json", help="also write the summary as JSON here")
    args = parser.parse_args()
    summary = run(args.n, args.seed, max(args.peer_every, 1))
    print(table(summary))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
