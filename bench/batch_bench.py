"""Benchmark: ``eisfit batch`` end to end vs a loop of impedance.py fits, side by side.

The run: a symmetric Na | NZSP | Na cell (``gb-soli`` model, ``L0-R0-p(R1,CPE1)-p(R2,CPE2)``)
measured every hour, 60 points from 7 MHz to 0.1 Hz, 0.5 % proportional noise; the
interphase grows parabolically, ``R_soli = 300 + 50 sqrt(t_h)`` ohm; bulk and grain
boundary stay put.  The spectra are written as EC-Lab .mpt exports (`eisfit.synthetic`):
``--files`` files of ``n / files`` loops each, in one folder, so ``cell_by="folder"``
chains them all as one cell (split into chunks over the workers).  The ground truth stays
in memory.  One run per size of ``--sizes`` (default 121 and 1,000 spectra).

Variants, each ``python -m eisfit batch DIR --model gb-soli ... --jobs J`` in a fresh
process (interpreter start, read, screen, fit, lin-KK, write results.csv / fits/ /
trends.json), all of them once per round (``--repeat`` rounds), so that they share the
machine's load:

* ``kernel``: ``EISFIT_JIT=1`` (the compiled kernels), ``--no-report``;
* ``numpy``: ``EISFIT_JIT=0``, ``--no-report``;
* ``kernel + report``: with the run report (someone else's part: only timed);
* ``before, kernel`` and ``before, numpy``: an older checkout (``--before PATH``, a folder
  holding its ``eisfit`` package, e.g. ``git archive <commit> eisfit circuits | tar -x -C
  PATH`` with ``circuits`` moved to ``PATH/eisfit/models``), when given.

The first process that loads a numba kernel may compile it (and then gives last-digit
different numbers than one that loaded it from the cache, a known numba effect): a
warm-up batch of every variant runs first and is not counted.  The results.csv of the
last round's ``kernel`` and ``before, kernel`` (and ``numpy`` and ``before, numpy``) are
compared byte for byte.

impedance.py 1.7: ``CustomCircuit.fit(weight_by_modulus=True)`` per spectrum from guesses
within x2 of the truth (each value times 2**U(-1, 1), CPE exponents capped at 1), in this
process, on the in-memory spectra (no reading, no writing: favours the peer), timed on a
random sample of ``--peer-sample`` spectra and extrapolated to ``n``; ratios are
"impedance.py time for the same spectra / eisfit wall time".

The table gives medians over the rounds of wall time and of CPU time (the process and its
workers), spectra per second, the ratio to impedance.py and the median load average
(``os.getloadavg``: the machine is shared, read every number with it).  Below it:
the marginal rate between the two largest sizes ((n2 - n1) / (t2 - t1): what another
spectrum costs once the fixed costs are paid), a resumed run, the bare start-up, peak RSS,
and R_soli against the truth.

Usage:  python bench/batch_bench.py [--sizes 121,1000] [--files 10] [--jobs 2] [--repeat 3]
            [--peer-sample 30] [--before PATH] [--keep DIR] [--write-run DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import os
import resource
import shutil
import statistics
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
    folder.mkdir(parents=True, exist_ok=True)
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


def load() -> float:
    return os.getloadavg()[0]


def measured(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``argv`` in a fresh wrapper process: wall time, CPU time of it and its
    children, exit code, peak RSS (MiB) of the largest process, load average before."""
    wrapper = [sys.executable, __file__, "--child", "--", *argv]
    at = load()
    out = subprocess.run(wrapper, capture_output=True, text=True, check=True, env=env)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load": at}


def child(argv: list[str]) -> None:
    t0 = time.perf_counter()
    rc = subprocess.run(argv, capture_output=True, check=False).returncode
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "rc": rc, "peak_mib": usage.ru_maxrss / 1024}))


def batch_argv(folder: Path, out: Path, jobs: int, *, report: bool) -> list[str]:
    # -P: `python -m` would put the working directory first on sys.path, so a bench run
    # from the checkout imported this tree even for the older one on PYTHONPATH
    argv = [sys.executable, "-P", "-m", "eisfit", "batch", str(folder), *MODEL_ARGS]
    return [*argv, "--out", str(out), "--jobs", str(jobs), *([] if report else ["--no-report"])]


def variant_env(jit: str, pythonpath: str | None) -> dict[str, str]:
    env = {**os.environ, "EISFIT_JIT": jit}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def variants(before: str | None) -> dict[str, tuple[str, str | None, bool]]:
    """name -> (EISFIT_JIT, PYTHONPATH, with the report)."""
    out = {"kernel": ("1", None, False), "numpy": ("0", None, False)}
    if before:
        out |= {"before, kernel": ("1", before, False), "before, numpy": ("0", before, False)}
    return out | {"kernel + report": ("1", None, True)}


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


def soli_errors(out: Path, truth: dict) -> np.ndarray:
    frame = pd.read_csv(out / "results.csv")
    good = frame[frame["status"] == "ok"]
    expected = [
        truth[(Path(s).name, int(i))] for s, i in zip(good["source"], good["index"], strict=True)
    ]
    return 100 * np.abs(good["R_soli_ohm"].to_numpy() / np.array(expected) - 1)


def run_size(work: Path, n: int, args: argparse.Namespace, before: str | None) -> dict:
    """Every variant of one run size, ``args.repeat`` rounds, plus the extras."""
    data = work / f"run{n}"
    shutil.rmtree(data, ignore_errors=True)
    truth, spectra = write_run(data, n, max(1, min(args.files, n)), args.seed)
    runs: dict[str, list[dict]] = {}
    plan = variants(before)

    def one(name: str, out: Path) -> dict:
        jit, path, report = plan[name]
        shutil.rmtree(out, ignore_errors=True)
        return measured(batch_argv(data, out, args.jobs, report=report), variant_env(jit, path))

    for name in plan:  # warm-up: compiles (or loads) each checkout's kernels once
        one(name, work / "warm-up")
    for _ in range(args.repeat):
        for name in plan:
            runs.setdefault(name, []).append(one(name, work / f"out{n}-{name}"))
    identical = {
        name: filecmp.cmp(work / f"out{n}-{name}" / "results.csv",
                          work / f"out{n}-before, {name}" / "results.csv", shallow=False)
        for name in ("kernel", "numpy") if f"before, {name}" in runs
    }  # fmt: skip
    out = work / f"out{n}-kernel"
    errors = soli_errors(out, truth)
    starts = pd.read_csv(out / "results.csv")["start_path"].value_counts()
    again = measured(batch_argv(data, out, args.jobs, report=False), variant_env("1", None))
    startup = measured([sys.executable, "-c", "import eisfit.cli.main, eisfit.runs.batch"])
    peer_s, peer_ok = peer_seconds(spectra, args.peer_sample, np.random.default_rng(args.seed))
    return {
        "n": n, "files": max(1, min(args.files, n)), "jobs": args.jobs, "runs": runs,
        "again": again, "startup": startup, "identical_to_before": identical,
        "peer_s_per_fit": peer_s, "peer_sample": min(args.peer_sample, n), "peer_ok": peer_ok,
        "soli_err_median_pct": float(np.median(errors)) if errors.size else math.nan,
        "soli_err_max_pct": float(np.max(errors)) if errors.size else math.nan,
        "start_paths": {str(k): int(v) for k, v in starts.items()},
    }  # fmt: skip


def _median(values: list[dict], key: str) -> float:
    return statistics.median(v[key] for v in values)


def table(r: dict) -> list[str]:
    n, peer_total = r["n"], r["peer_s_per_fit"] * r["n"]
    lines = [
        f"### {n} spectra ({r['files']} .mpt files, one cell), --jobs {r['jobs']}, "
        f"median of {len(next(iter(r['runs'].values())))} rounds",
        "",
        "| variant | wall | CPU | spectra/s | x impedance.py | load |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in r["runs"].items():
        wall = _median(values, "wall_s")
        lines.append(
            f"| {name} | {wall:.2f} s | {_median(values, 'cpu_s'):.2f} s | {n / wall:.0f} | "
            f"{peer_total / wall:.0f}x | {_median(values, 'load'):.1f} |"
        )
    if "before, kernel" in r["runs"]:
        for name in ("kernel", "numpy"):
            ratio = _median(r["runs"][f"before, {name}"], "wall_s") / _median(
                r["runs"][name], "wall_s"
            )
            same = "identical" if r["identical_to_before"][name] else "DIFFERENT"
            lines.append(f"\n{name}: before / now {ratio:.2f}x wall; results.csv {same}")
    paths = ", ".join(f"{k} {v}" for k, v in r["start_paths"].items())
    lines += [
        "",
        f"impedance.py loop (fit only, guesses within x2): {peer_total:.0f} s extrapolated from "
        f"{r['peer_sample']} fits ({1e3 * r['peer_s_per_fit']:.0f} ms each; "
        f"{r['peer_ok']} ran without error)",
        f"start paths (kernel): {paths}",
        f"resumed run (everything reused): {r['again']['wall_s']:.2f} s; bare start-up "
        f"(interpreter + imports): {r['startup']['wall_s']:.2f} s",
        f"peak RSS (kernel, largest process): {_median(r['runs']['kernel'], 'peak_mib'):.0f} MiB",
        f"R_soli error vs truth (median / max): {r['soli_err_median_pct']:.2f} % / "
        f"{r['soli_err_max_pct']:.2f} %",
        "",
    ]
    return lines


def marginal(results: list[dict]) -> list[str]:
    """Spectra per second between the two largest runs, per variant."""
    if len(results) < 2:
        return []
    small, large = sorted(results, key=lambda r: r["n"])[-2:]
    lines = [f"### marginal rate, {small['n']} -> {large['n']} spectra "
             "((n2 - n1) / (t2 - t1): fixed costs cancel)", ""]  # fmt: skip
    for name in large["runs"]:
        dt = _median(large["runs"][name], "wall_s") - _median(small["runs"][name], "wall_s")
        rate = (large["n"] - small["n"]) / dt if dt > 0 else math.inf
        lines.append(f"- {name}: {rate:.0f} spectra/s")
    return [*lines, ""]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="121,1000", help="run lengths (default 121,1000)")
    parser.add_argument("--files", type=int, default=10, help=".mpt files per run (default 10)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--peer-sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", metavar="PATH", help="an older checkout to compare with")
    parser.add_argument("--keep", metavar="DIR", help="work here and keep runs and outputs")
    parser.add_argument("--write-run", metavar="DIR",
                        help="only write the run of the first size to DIR (no timing)")  # fmt: skip
    parser.add_argument("--json", help="also write the results as JSON here")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if args.write_run:
        write_run(Path(args.write_run), sizes[0], max(1, min(args.files, sizes[0])), args.seed)
        print(f"wrote {sizes[0]} spectra to {args.write_run}")
        return
    before = str(Path(args.before).resolve()) if args.before else None
    print(f"eisfit batch benchmark, eisfit {eisfit.__version__}, {os.cpu_count()} cores, "
          f"load at start {load():.1f}\n", flush=True)  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="eisfit-batch-bench-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            results.append(run_size(work, n, args, before))
            print("\n".join(table(results[-1])), flush=True)
    print("\n".join(marginal(results)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
