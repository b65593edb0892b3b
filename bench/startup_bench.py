"""Benchmark: wall time of ``eisfit fit FILE`` on one spectrum, start-up included (issue 15, 4).

Every command runs in a fresh process, round robin (one run of each, then the next round),
so a load change on the shared machine hits all of them alike; the median of
``--repeat`` runs (default 10) is reported with the spread, the load average before and
after, and ratios taken in the same run:

* ``eisfit fit`` (this tree, its default policy: the compiled kernel is not loaded for one
  spectrum, the job being declared with `eisfit.fitting.workload`);
* the same with ``EISFIT_JIT=1``: the kernel loaded whatever the job, as before;
* a projection: the same command with ``scipy.optimize`` replaced by a stand-in module
  whose ``nnls`` is `eisfit.fitting.nnls` and whose ``leastsq`` imports the real one when
  called: what the command would take if `eisfit.fitting.initial` used the numpy NNLS for
  a small job and `eisfit.fitting.rounds` imported MINPACK on use (its output is checked
  against the default's);
* impedance.py fitting the same spectrum from a hand guess within x2 of the truth
  (``python -c`` script: read with numpy, ``CustomCircuit.fit(weight_by_modulus=True)``,
  print the model);
* floors: ``python -c pass``, ``import numpy``, ``import scipy.optimize`` (the fit
  engine's MINPACK / NNLS, imported on every fit).

Then the outputs are compared (text: equal or not; ``--json``: the largest relative
difference of any number with and without the kernel), and ``python -X importtime``
of the default command lists the slowest top-level imports and which heavy packages were
loaded at all.

Bytecode: an installed eisfit has its ``.pyc`` files; a shell with
``PYTHONDONTWRITEBYTECODE=1`` compiles every eisfit module on every run (about 0.15 s more).
The bench runs every command with a bytecode cache of its own (``PYTHONPYCACHEPREFIX`` in
the temporary folder, filled by an untimed first round), or as the shell is with
``--no-bytecode-cache``.

``--kernel`` also measures what `eisfit.fitting.compiled`'s loading policy rests on: the
load time of the kernel in fresh processes (numba import + cache, ``LOAD_S``) and the
time the kernel saves a fit of random 2- and 3-arc spectra of 80 and 2,000 points (16 of
each, kernel and numpy interleaved, ``SAVED_PER_FIT_S`` + points x ``SAVED_PER_POINT_S``),
and the break-even number of fits.

Usage:  python bench/startup_bench.py [--repeat 10] [--file sample_spectra/...csv]
        [--model gb-soli] [--top 12] [--kernel] [--no-bytecode-cache] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "sample_spectra" / "na_nzsp_na_single.csv"
HEAVY = ("numba", "llvmlite", "scipy", "scipy.optimize", "scipy.special", "pandas",
         "matplotlib", "lmfit", "impedance")  # fmt: skip

#: impedance.py on the sample file (three comment/header lines, then f, Z', Z'')
PEER = """
import sys
import numpy as np
from impedance.models.circuits import CustomCircuit
names = ["f", "re", "im"]
data = np.genfromtxt(sys.argv[1], delimiter=",", skip_header=3, names=names)
guess = [1e-7, 100.0, 100.0, 1e-8, 0.9, 500.0, 1e-5, 0.8]
with np.printoptions(legacy="1.25"):  # impedance.py 1.7 builds code from numpy reprs
    model = CustomCircuit("L0-R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=guess)
    model.fit(data["f"], data["re"] + 1j * data["im"], weight_by_modulus=True)
print(model)
"""


#: the bytecode cache of the timed commands (None: the shell's own setting)
BYTECODE: dict[str, str | None] = {
    "PYTHONDONTWRITEBYTECODE": None,
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "eisfit-startup-bench-pyc"),
}


#: ``eisfit fit`` with scipy.optimize replaced by a stand-in (the projection above)
WITHOUT_SCIPY_OPTIMIZE = """
import importlib, runpy, sys, types
from eisfit.fitting.nnls import nnls
def leastsq(*args, **kwargs):  # MINPACK, imported when a fit needs it
    del sys.modules["scipy.optimize"]
    return importlib.import_module("scipy.optimize").leastsq(*args, **kwargs)
stand_in = types.ModuleType("scipy.optimize")
stand_in.nnls, stand_in.leastsq = nnls, leastsq
sys.modules["scipy.optimize"] = stand_in
sys.argv = ["eisfit", *sys.argv[1:]]
runpy.run_module("eisfit", run_name="__main__")
"""


def _env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    changes = {**BYTECODE, **changes}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def projection(file: Path, model: str) -> list[str]:
    """argv of ``eisfit fit`` with the stand-in for scipy.optimize."""
    return [sys.executable, "-c", WITHOUT_SCIPY_OPTIMIZE, "fit", str(file), "--model", model]


def commands(file: Path, model: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """label -> (argv, environment) of every timed command."""
    py = sys.executable
    fit = [py, "-m", "eisfit", "fit", str(file), "--model", model]
    return {
        "eisfit fit (default)": (fit, _env(EISFIT_JIT=None)),
        "eisfit fit, EISFIT_JIT=1 (kernel always)": (fit, _env(EISFIT_JIT="1")),
        "eisfit fit, EISFIT_JIT=0 (numpy only)": (fit, _env(EISFIT_JIT="0")),
        "projection: eisfit fit without scipy.optimize": (projection(file, model), _env()),
        "impedance.py fit (python -c)": ([py, "-c", PEER, str(file)], _env()),
        "python -c pass": ([py, "-c", "pass"], _env()),
        "python -c 'import numpy'": ([py, "-c", "import numpy"], _env()),
        "python -c 'import scipy.optimize'": ([py, "-c", "import scipy.optimize"], _env()),
    }


def wall_s(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one fresh process (s) and its stdout; a failing command raises."""
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: a fit undetermined, printed all the same
        raise RuntimeError(f"{argv[:4]} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed, done.stdout


def time_all(cmds: dict[str, tuple[list[str], dict[str, str]]], repeat: int) -> dict[str, Any]:
    """Median, min, max wall time (s) of each command over ``repeat`` round-robin rounds."""
    runs: dict[str, list[float]] = {label: [] for label in cmds}
    for argv, env in cmds.values():  # one untimed round: the page cache is warm
        wall_s(argv, env)
    for _ in range(repeat):
        for label, (argv, env) in cmds.items():
            runs[label].append(wall_s(argv, env)[0])
    return {
        label: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "runs": t}
        for label, t in runs.items()
    }


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for k in sorted(value) if k != "elapsed_s" for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return []


def max_relative_difference(a: Any, b: Any) -> float:
    """The largest |x - y| / max(|x|, |y|) over the numbers of two JSON documents of the
    same shape (``elapsed_s`` left out); inf when the shapes differ."""
    xs, ys = _numbers(a), _numbers(b)
    if len(xs) != len(ys):
        return math.inf
    worst = 0.0
    for x, y in zip(xs, ys, strict=True):
        scale = max(abs(x), abs(y))
        if scale > 0 and math.isfinite(scale):
            worst = max(worst, abs(x - y) / scale)
    return worst


def same_output(file: Path, model: str) -> dict[str, Any]:
    """Text output equal with and without the kernel; the largest relative JSON difference."""
    fit = [sys.executable, "-m", "eisfit", "fit", str(file), "--model", model]
    text = {jit: wall_s(fit, _env(EISFIT_JIT=jit))[1] for jit in ("0", "1", None)}
    text["projection"] = wall_s(projection(file, model), _env())[1]
    data = {jit: json.loads(wall_s([*fit, "--json"], _env(EISFIT_JIT=jit))[1]) for jit in "01"}
    return {
        "text_equal_default_vs_kernel": text[None] == text["1"],
        "text_equal_numpy_vs_kernel": text["0"] == text["1"],
        "text_equal_projection_vs_default": text["projection"] == text[None],
        "json_max_relative_difference_numpy_vs_kernel": max_relative_difference(
            data["0"], data["1"]
        ),
    }


def import_profile(file: Path, model: str, top: int) -> dict[str, Any]:
    """The slowest imports made by the program itself (depth 0, cumulative us) and which
    heavy packages ``eisfit fit`` loaded, from ``python -X importtime``."""
    argv = [sys.executable, "-X", "importtime", "-m", "eisfit", "fit", str(file), "--model", model]
    done = subprocess.run(argv, env=_env(EISFIT_JIT=None), cwd=ROOT, capture_output=True,
                          text=True, check=False)  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative_us, name = line.split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((name.strip(), int(cumulative_us), depth))
    top_level = sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])[:top]
    loaded = {name for name, _, _ in rows}
    return {
        "top_level_imports_ms": {name: us / 1e3 for name, us, _ in top_level},
        "heavy_loaded": [h for h in HEAVY if h in loaded],
        "heavy_not_loaded": [h for h in HEAVY if h not in loaded],
    }


KERNEL_LOAD = """
import time
import eisfit.fitting.api
from eisfit.fitting import compiled
t0 = time.perf_counter()
assert compiled.prepare()
print(time.perf_counter() - t0)
"""


def kernel_costs(repeat: int) -> dict[str, Any]:
    """Median load time of the kernel in ``repeat`` fresh processes, and the median time
    it saves a fit (kernel and numpy one after the other on the same spectrum, lin-KK
    left out) of 16 random 2- and 3-arc spectra of 80 and of 2,000 points."""
    import numpy as np

    import eisfit
    from eisfit.fitting import compiled
    from eisfit.synthetic import random_cell, simulate

    loads = []
    for _ in range(repeat):
        argv = [sys.executable, "-c", KERNEL_LOAD]
        done = subprocess.run(argv, env=_env(EISFIT_JIT="1"), cwd=ROOT, capture_output=True,
                              text=True, check=True)  # fmt: skip
        loads.append(float(done.stdout))
    rng = np.random.default_rng(15)
    saved: dict[int, float] = {}
    for n_points in (80, 2000):
        frequency_hz = np.logspace(np.log10(7e6), -1, n_points)
        diffs = []
        for i in range(16):
            cell = random_cell(rng, 2 + i % 2)
            spectrum = simulate(cell.circuit, cell.values, frequency_hz, noise=0.007, rng=rng)
            took = {}
            for jit in ("1", "0"):
                os.environ["EISFIT_JIT"] = jit
                t0 = time.perf_counter()
                eisfit.fit(spectrum, cell.circuit, kk=False)
                took[jit] = time.perf_counter() - t0
            diffs.append(took["0"] - took["1"])
        saved[n_points] = statistics.median(diffs)
    os.environ.pop("EISFIT_JIT", None)
    load_s = statistics.median(loads)
    model = {n: compiled.SAVED_PER_FIT_S + n * compiled.SAVED_PER_POINT_S for n in saved}
    return {
        "load_s": load_s,
        "load_runs_s": loads,
        "saved_per_fit_s": saved,
        "break_even_fits": {n: load_s / s if s > 0 else math.inf for n, s in saved.items()},
        "policy": {"LOAD_S": compiled.LOAD_S, "saved_per_fit_s": model},
    }


def kernel_report(costs: dict[str, Any]) -> list[str]:
    policy = costs["policy"]
    lines = [
        "",
        f"compiled kernel: load {costs['load_s']:.3f} s (median of {len(costs['load_runs_s'])} "
        f"fresh processes; policy LOAD_S = {policy['LOAD_S']} s)",
    ]
    for n, s in costs["saved_per_fit_s"].items():
        lines.append(
            f"  saves {1e3 * s:.1f} ms a fit of {n} points (policy: "
            f"{1e3 * policy['saved_per_fit_s'][n]:.1f} ms): pays from "
            f"{costs['break_even_fits'][n]:.0f} fits"
        )
    return lines


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def report(summary: dict[str, Any]) -> str:
    times = summary["times"]
    ours = times["eisfit fit (default)"]["median_s"]
    lines = [
        f"eisfit fit {summary['file']} --model {summary['model']}: {summary['repeat']} fresh "
        f"processes per command, round robin; bytecode: {summary['bytecode']}",
        f"before: {summary['load_before']}",
        f"after:  {summary['load_after']}",
        "",
        "| command | median | min | max | median / eisfit fit (default) |",
        "|---|---|---|---|---|",
    ]
    for label, t in times.items():
        lines.append(
            f"| {label} | {t['median_s']:.3f} s | {t['min_s']:.3f} s | {t['max_s']:.3f} s "
            f"| {t['median_s'] / ours:.2f} |"
        )
    same = summary["same_output"]
    profile = summary["imports"]
    lines += [
        "",
        f"output: text equal, default vs kernel: {same['text_equal_default_vs_kernel']}; "
        f"numpy vs kernel: {same['text_equal_numpy_vs_kernel']}; projection vs default: "
        f"{same['text_equal_projection_vs_default']}; largest relative "
        f"difference of a JSON number, numpy vs kernel: "
        f"{same['json_max_relative_difference_numpy_vs_kernel']:.1e}",
        f"heavy packages loaded by eisfit fit: {', '.join(profile['heavy_loaded']) or 'none'}; "
        f"not loaded: {', '.join(profile['heavy_not_loaded'])}",
        "slowest top-level imports (python -X importtime, cumulative):",
        *(f"  {ms:8.1f} ms  {name}" for name, ms in profile["top_level_imports_ms"].items()),
    ]
    if "kernel" in summary:
        lines += kernel_report(summary["kernel"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--model", default="gb-soli")
    parser.add_argument("--top", type=int, default=12, help="top-level imports listed")
    parser.add_argument("--kernel", action="store_true", help="also measure the kernel's costs")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true",
        help="run the commands with the shell's bytecode setting (PYTHONDONTWRITEBYTECODE)",
    )  # fmt: skip
    parser.add_argument("--json", help="also write the summary as JSON here")
    args = parser.parse_args()
    if args.no_bytecode_cache:
        BYTECODE.clear()
    file = args.file.resolve()
    load_before = load_average()
    times = time_all(commands(file, args.model), max(args.repeat, 1))
    summary = {
        "file": os.path.relpath(file, ROOT),
        "model": args.model,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "load_before": load_before,
        "times": times,
        "same_output": same_output(file, args.model),
        "imports": import_profile(file, args.model, args.top),
        "bytecode": "own cache" if BYTECODE else "as the shell",
    }
    if args.kernel:
        summary["kernel"] = kernel_costs(max(args.repeat // 2, 3))
    summary["load_after"] = load_average()
    print(report(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
