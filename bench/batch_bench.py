"""Benchmark: ``eisfit batch`` end to end vs a loop of impedance.py fits on a cycling run.

The run: a symmetric Na | NZSP | Na cell (``gb-soli`` model, ``L0-R0-p(R1,CPE1)-p(R2,CPE2)``)
measured every hour, 60 points from 7 MHz to 0.1 Hz, 0.5 % proportional noise; the
interphase grows parabolically, ``R_soli = 300 + 50 sqrt(t_h)`` ohm; bulk and grain
boundary stay put.  The spectra are written as EC-Lab .mpt exports (our own small writer,
following the layout of `eisfit.io.biologic_mpt`): ``--files`` files of ``n / files``
loops each, in one folder, so ``cell_by="folder"`` chains them all as one cell (split into
chunks over the workers).  The ground truth stays in memory.

Measured (wall clock, time.perf_counter):
* eisfit: ``python -m eisfit batch DIR --model gb-soli ... --jobs 2`` as a subprocess:
  interpreter start, read, fit, KK check, write results.csv / fits / trends.json.  Then the
  same command again (resume: everything reused), and, to see what of the re-run is fixed
  cost, a bare ``python -c "import eisfit.cli.main, eisfit.runs.batch"`` (interpreter start and
  imports).  Peak memory: the largest resident set
  of any process of the batch (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a fresh
  wrapper process), for a run of ``n / 4`` spectra and for the full run.
* impedance.py 1.7: ``CustomCircuit.fit(weight_by_modulus=True)`` per spectrum from
  guesses within x2 of the truth (each value times 2**U(-1, 1), CPE exponents capped at 1),
  in one process, on the in-memory spectra (no reading, no writing: favours the peer).
  Timed on a random sample of ``--peer-sample`` spectra and extrapolated to ``n``.

Usage:  python bench/batch_bench.py [--n 1000] [--files 10] [--jobs 2] [--peer-sample 30]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

import eisfit
from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

FREQUENCY_HZ = np.logspace(np.log10(7e6), -1, 60)
T0 = datetime(2026, 1, 5, 9, 0, 0)
MODEL_ARGS = ["--model", "gb-soli", "--area-cm2", "1", "--thickness-cm", "0.1"]


def soli_ohm(t_h: float) -> float:
    """The interphase resistance of the synthetic run at ``t_h`` hours (parabolic)."""
    return 300.0 + 50.0 * math.sqrt(t_h)


def cell_at(t_h: float) -> SyntheticCell:
    return SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(soli_ohm(t_h), 100.0, 0.8)))


def write_run(folder: Path, n: int, files: int, seed: int) -> tuple[dict, list]:
    """Write the run; truth {(file name, index in file): R_soli} and (spectrum, truth) list."""
    rng = np.random.default_rng(seed)
    truth: dict[tuple[str, int], float] = {}
    spectra: list[tuple[eisfit.Spectrum, dict[str, float]]] = []
    per_file = math.ceil(n / files)
    for j, first in enumerate(range(0, n, per_file)):
        hours = [float(i) for i in range(first, min(first + per_file, n))]
        batch = []
        for index, t_h in enumerate(hours):
            cell = cell_at(t_h)
            batch.append(simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.005, rng=rng))
            truth[(f"run_{j:03d}.mpt", index)] = soli_ohm(t_h)
            spectra.append((batch[-1], cell.values))
        start = T0 + timedelta(hours=hours[0])
        (folder / f"run_{j:03d}.mpt").write_text(ec_lab_mpt_text(batch, start, hours), "latin-1")
    return truth, spectra


def measured(argv: list[str]) -> dict:
    """Run ``argv`` in a fresh wrapper process: wall time, exit code, peak RSS (MiB)."""
    wrapper = [sys.executable, __file__, "--child", "--", *argv]
    out = subprocess.run(wrapper, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(argv: list[str]) -> None:
    t0 = time.perf_counter()
    rc = subprocess.run(argv, capture_output=True, check=False).returncode
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(json.dumps({"wall_s": wall, "rc": rc, "peak_mib": peak}))


def batch_argv(folder: Path, out: Path, jobs: int) -> list[str]:
    """The batch command (the run report, timed by bench/report_bench.py, is left out)."""
    return [sys.executable, "-m", "eisfit", "batch", str(folder), *MODEL_ARGS,
            "--out", str(out), "--jobs", str(jobs), "--no-report"]  # fmt: skip


def fit_peer(circuit: str, guess: list[float], spectrum: eisfit.Spectrum) -> bool:
    from impedance.models.circuits import CustomCircuit

    model = CustomCircuit(circuit, initial_guess=guess)
    # impedance.py 1.7 builds Python source from parameter reprs; numpy 2 reprs break it
    with np.printoptions(legacy="1.25"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(spectrum.frequency_hz, spectrum.impedance_ohm, weight_by_modulus=True)
        except (RuntimeError, ValueError):
            return False
    return True


def peer_seconds(spectra: list, sample: int, rng: np.random.Generator) -> tuple[float, int]:
    """Mean impedance.py fit time over a random sample, and how many fits ran without error."""
    circuit = cell_at(0.0).circuit
    picks = rng.choice(len(spectra), size=min(sample, len(spectra)), replace=False)
    ok, t0 = 0, time.perf_counter()
    for k in picks:
        spectrum, values = spectra[k]
        guess = [
            min(g, 1.0) if name.endswith(".n") else g
            for name, v in values.items()
            for g in [v * 2.0 ** rng.uniform(-1, 1)]
        ]
        ok += fit_peer(circuit, guess, spectrum)
    return (time.perf_counter() - t0) / len(picks), ok


def soli_errors(out: Path, truth: dict) -> tuple[np.ndarray, int]:
    frame = pd.read_csv(out / "results.csv")
    good = frame[frame["status"] == "ok"]
    expected = [
        truth[(Path(s).name, int(i))] for s, i in zip(good["source"], good["index"], strict=True)
    ]
    return 100 * np.abs(good["R_soli_ohm"].to_numpy() / np.array(expected) - 1), len(good)


def run(n: int, files: int, jobs: int, sample: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="eisfit-batch-bench-") as tmp:
        root = Path(tmp)
        (root / "small").mkdir()
        (root / "run").mkdir()
        write_run(root / "small", max(n // 4, 1), files, seed + 1)
        truth, spectra = write_run(root / "run", n, files, seed)
        small = measured(batch_argv(root / "small", root / "out_small", jobs))
        first = measured(batch_argv(root / "run", root / "out", jobs))
        again = measured(batch_argv(root / "run", root / "out", jobs))
        startup = measured([sys.executable, "-c", "import eisfit.cli.main, eisfit.runs.batch"])
        errors, ok = soli_errors(root / "out", truth)
        trends = json.loads((root / "out" / "trends.json").read_text())
        law = (trends.get("trends", {}).get("R_soli_ohm") or {}).get("best")
        starts = pd.read_csv(root / "out" / "results.csv")["start_path"].value_counts()
    peer_s, peer_ok = peer_seconds(spectra, sample, np.random.default_rng(seed + 2))
    return {
        "n": n, "files": files, "jobs": jobs, "ok": ok, "first": first, "again": again,
        "startup": startup, "small": small, "small_n": max(n // 4, 1), "peer_s_per_fit": peer_s,
        "peer_sample": min(sample, n), "peer_ok": peer_ok, "soli_err_median_pct":
        float(np.median(errors)), "soli_err_max_pct": float(np.max(errors)), "law": law,
        "start_paths": {str(k): int(v) for k, v in starts.items()},
        "eisfit": eisfit.__version__,
    }  # fmt: skip


def table(r: dict) -> str:
    n, wall = r["n"], r["first"]["wall_s"]
    peer_total = r["peer_s_per_fit"] * n
    paths = ", ".join(f"{k} {v}" for k, v in r["start_paths"].items())
    rows = [
        ("spectra (files x loops)", f"{n} ({r['files']} .mpt files, one folder = one cell)"),
        (f"eisfit batch, --jobs {r['jobs']}, end to end",
         f"{wall:.1f} s ({n / wall:.0f} spectra/s)"),
        ("fits ok / start paths", f"{r['ok']} / {paths}"),
        ("impedance.py loop (fit only, guesses within x2)",
         f"{peer_total:.0f} s extrapolated from {r['peer_sample']} fits "
         f"({1e3 * r['peer_s_per_fit']:.0f} ms each, {n / peer_total:.1f} spectra/s; "
         f"{r['peer_ok']} ran without error)"),
        ("speed-up, end to end vs fit-only loop", f"{peer_total / wall:.0f}x"),
        ("re-run (resume) / first run", f"{r['again']['wall_s']:.2f} s = "
         f"{100 * r['again']['wall_s'] / wall:.0f} %"),
        ("of the re-run: interpreter start + imports", f"{r['startup']['wall_s']:.2f} s"),
        (f"peak RSS, {r['small_n']} vs {n} spectra",
         f"{r['small']['peak_mib']:.0f} MiB vs {r['first']['peak_mib']:.0f} MiB"),
        ("R_soli error vs truth (median / max)",
         f"{r['soli_err_median_pct']:.2f} % / {r['soli_err_max_pct']:.2f} %"),
        ("R_soli growth law chosen (truth: parabolic)", str(r["law"])),
    ]  # fmt: skip
    lines = ["| quantity | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="spectra in the run (default 1000)")
    parser.add_argument("--files", type=int, default=10, help=".mpt files (default 10)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--peer-sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the summary as JSON here")
    args = parser.parse_args()
    result = run(args.n, max(args.files, 1), args.jobs, args.peer_sample, args.seed)
    for key in ("first", "again", "small"):
        if result[key]["rc"] != 0:
            print(f"warning: eisfit batch exited {result[key]['rc']} ({key} run)", file=sys.stderr)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
