"""Benchmark: ``eisfit batch`` at 10^3 .. 10^5 spectra: throughput and peak memory (issue 15).

The run: ``n / --per-cell`` (default 1,000) symmetric Na | NZSP | Na cells (``gb-soli`` model,
``L0-R0-p(R1,CPE1)-p(R2,CPE2)``), each in its own folder (``cell_by="folder"``: one cell
per folder), measured every hour; 60 points from 7 MHz to 0.1 Hz, 0.5 % proportional noise;
each cell's bulk and grain-boundary resistances are drawn once (x 0.5 .. 2), its
interphase grows parabolically, ``R_soli = R0 + 50 sqrt(t_h)`` ohm.  The spectra are
written as EC-Lab .mpt exports (`eisfit.synthetic.ec_lab_mpt_text`) of ``--loops``
loops per file: 10^5 spectra are 100 cells x 1,000 spectra in 1,000 files.

Measured, for each size, in fresh processes and interleaved (``--repeat`` rounds, medians):

* ``python -m eisfit batch ROOT --model gb-soli ... --jobs 2 --no-report --no-progress``
  into a new folder: wall time (``time.perf_counter``) and spectra/s end to end
  (interpreter start, read, fit, lin-KK, results.csv / fits / trends.json), and the
  batch process's own CPU time per spectrum (reading, planning, writing every fits/
  record and the table: the work a Dask client does for all its workers);
* peak memory: the batch runs in a small wrapper (``--child``) that calls the CLI in its
  own process and, at exit, reads ``getrusage``: ``RUSAGE_SELF`` is the batch process's
  own peak RSS (the parent), ``RUSAGE_CHILDREN`` the largest peak of its worker
  processes (reaped when the pool shuts down).  *Tree* = parent + jobs x largest worker:
  an upper bound of what the run held at once.  The bench also samples
  ``/proc/<pid>/status`` ``VmRSS`` of the whole process tree every 0.2 s (*sampled*:
  the largest simultaneous sum seen);
* with ``--dask-sizes``: the same run with ``--scheduler`` on a fresh
  ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)`` started by this script
  (start-up of the cluster not timed); its workers' peak RSS (``VmHWM``) is read from
  /proc before the cluster closes, and the ratio of wall times Dask / ``--jobs 2`` of the
  same round is printed.

Before and after (``--baseline DIR``): the same runs with an older eisfit (a checkout in
DIR, first on PYTHONPATH), interleaved with the current one, and the ratio of wall times.
A 60-spectrum batch runs first, unreported, for each eisfit measured, so that numba's
cache of the compiled kernel is written before any measured run.

Bad input (``--bad``): a folder of 5,000 tiny files (empty, one line of junk, a header
only, a 3-point spectrum) and one 2,000-loop file, each through ``eisfit batch --jobs 2``:
wall time, peak memory and the rows by status.

Usage:  python bench/scale_bench.py [--sizes 1000,10000] [--dask-sizes 1000,10000]
            [--repeat 1] [--bad] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

FREQUENCY_HZ = np.logspace(np.log10(7e6), -1, 60)
T0 = datetime(2026, 1, 5, 9, 0, 0)
MODEL_ARGS = ["--model", "gb-soli", "--area-cm2", "1", "--thickness-cm", "0.1"]
SAMPLE_S = 0.2


# --- the synthetic run ------------------------------------------------------------------


def write_run(root: Path, n: int, cells: int, loops: int, seed: int) -> None:
    """``n`` spectra in ``cells`` folders of .mpt files of at most ``loops`` loops."""
    rng = np.random.default_rng(seed)
    per_cell = [n // cells + (c < n % cells) for c in range(cells)]
    for c, count in enumerate(per_cell):
        folder = root / f"cell_{c:03d}"
        folder.mkdir(parents=True)
        bulk, gb, soli0 = rng.uniform(0.5, 2.0, size=3) * (110.0, 80.0, 300.0)
        for part, first in enumerate(range(0, count, loops)):
            hours = [float(h) for h in range(first, min(first + loops, count))]
            spectra = []
            for t_h in hours:
                cell = SyntheticCell(
                    2e-7, bulk, (Arc(gb, 5e5, 0.9), Arc(soli0 + 50.0 * math.sqrt(t_h), 100.0, 0.8))
                )
                spectra.append(
                    simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.005, rng=rng)
                )
            text = ec_lab_mpt_text(spectra, T0 + timedelta(hours=hours[0]), hours)
            (folder / f"part_{part:03d}.mpt").write_text(text, "latin-1")


def write_bad(root: Path, tiny: int, loops: int, seed: int) -> tuple[Path, Path]:
    """A folder of ``tiny`` tiny files and a folder with one ``loops``-loop file."""
    rng = np.random.default_rng(seed)
    tiny_dir, long_dir = root / "tiny", root / "long"
    tiny_dir.mkdir(parents=True)
    long_dir.mkdir(parents=True)
    values = {"R0.R": 100.0, "R1.R": 300.0, "CPE1.Q": 1e-6, "CPE1.n": 0.9}
    good = simulate("R0-p(R1,CPE1)", values, np.array([1e5, 1e2, 1.0]), rng=rng)
    three = ec_lab_mpt_text([good], T0, [0.0])
    contents = ["", "junk\n", "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n", three]
    for i in range(tiny):
        (tiny_dir / f"t{i:05d}.mpt").write_text(contents[i % len(contents)], "latin-1")
    hours = [float(h) for h in range(loops)]
    cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
    spectra = [simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.005, rng=rng)
               for _ in hours]  # fmt: skip
    (long_dir / "long.mpt").write_text(ec_lab_mpt_text(spectra, T0, hours), "latin-1")
    return tiny_dir, long_dir


# --- measuring ----------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Sampler:
    """The largest simultaneous VmRSS sum of a process tree, sampled every `SAMPLE_S` s."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak_kib = roots, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = {p for root in self.roots for p in _tree(root)}
            self.peak_kib = max(self.peak_kib, sum(_status_kib(p, "VmRSS") for p in pids))
            self._stop.wait(SAMPLE_S)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024.0


#: the columns ``eisfit batch`` uses of the table `run_batch` returns (its summary)
SUMMARY_COLUMNS = ("status", "reused", "start_path", "cell", "time_source")


def child(report: str, argv: list[str]) -> None:
    """Run the eisfit CLI in this process; at exit write its and its workers' peak RSS.

    With ``EISFIT_BENCH_SUMMARY=1`` the CLI's `run_batch` returns only the columns its
    summary reads (``columns=SUMMARY_COLUMNS``): what ``eisfit batch`` does once its
    ``_run`` passes them (a change requested of the CLI, simulated here)."""
    import atexit
    import functools
    import runpy

    if os.environ.get("EISFIT_BENCH_SUMMARY") == "1":
        import eisfit.runs.batch

        real = eisfit.runs.batch.run_batch
        eisfit.runs.batch.run_batch = functools.partial(real, columns=SUMMARY_COLUMNS)

    def done() -> None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        cpu = own.ru_utime + own.ru_stime
        Path(report).write_text(json.dumps({"parent_mib": own.ru_maxrss / 1024.0,
                                            "worker_mib": kids, "parent_cpu_s": cpu}))  # fmt: skip

    atexit.register(done)
    sys.argv = ["eisfit", *argv]
    runpy.run_module("eisfit", run_name="__main__")


def measured(
    argv: list[str],
    *,
    extra_pids: list[int] | None = None,
    summary: bool = False,
    eisfit_path: str | None = None,
) -> dict:
    """Run the CLI ``argv`` in a wrapper process: wall, exit code, peak RSS (MiB).

    ``eisfit_path``: a folder holding another eisfit (a checkout), put first on PYTHONPATH.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        report = Path(tmp.name)
    wrapper = [sys.executable, __file__, "--child", str(report), "--", *argv]
    t0 = time.perf_counter()
    env = {**os.environ, "EISFIT_BENCH_SUMMARY": "1" if summary else "0"}
    if eisfit_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([eisfit_path, env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(wrapper, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = Sampler([proc.pid, *(extra_pids or [])])
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampled = sampler.stop()
    peaks = json.loads(report.read_text()) if report.stat().st_size else {}
    report.unlink()
    return {"wall_s": wall, "rc": proc.returncode, "sampled_mib": sampled, **peaks,
            "stdout": out.decode(errors="replace")[-2000:],
            "stderr": err.decode(errors="replace")[-2000:]}  # fmt: skip


def batch_argv(source: Path, out: Path, *, jobs: int | None, scheduler: str | None) -> list[str]:
    argv = ["batch", str(source), *MODEL_ARGS, "--out", str(out), "--no-report", "--no-progress"]
    if scheduler is not None:
        return [*argv, "--scheduler", scheduler]
    return [*argv, "--jobs", str(jobs)]


def statuses(out: Path) -> dict[str, int]:
    frame = pd.read_csv(out / "results.csv", usecols=["status"])
    return {str(k): int(v) for k, v in frame["status"].value_counts().items()}


def dask_run(source: Path, out: Path) -> dict:
    """The batch on a fresh 2-worker LocalCluster; adds the workers' peak RSS (MiB)."""
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        pids = [p for p in _tree(os.getpid()) if p != os.getpid()]
        result = measured(batch_argv(source, out, jobs=None, scheduler=cluster.scheduler_address),
                          extra_pids=pids)  # fmt: skip
        peaks = [_status_kib(p, "VmHWM") / 1024.0 for p in pids]
        result["cluster_mib"] = sum(peaks)  # nannies and workers
        result["cluster_worker_mib"] = max(peaks, default=math.nan)
    return result


# --- the bench ----------------------------------------------------------------------------


def run_size(work: Path, n: int, args: argparse.Namespace, dask: bool) -> dict:
    source = work / f"run_{n}"
    cells = max(1, math.ceil(n / args.per_cell))
    if not source.exists():
        t0 = time.perf_counter()
        write_run(source, n, cells, args.loops, args.seed)
        print(f"wrote {n} spectra ({cells} cells) in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)  # fmt: skip
    rounds: dict[str, list[dict]] = {"baseline": [], "jobs": [], "summary": [], "dask": []}
    paths = ["jobs", *(["summary"] if args.summary else [])]
    if args.baseline and n in _sizes(args.baseline_sizes):
        paths.insert(0, "baseline")
    for r in range(args.repeat):
        for path in paths:
            out = work / f"out_{n}_{path}_{r}"
            shutil.rmtree(out, ignore_errors=True)
            argv = batch_argv(source, out, jobs=args.jobs, scheduler=None)
            other = args.baseline if path == "baseline" else None
            rounds[path].append(measured(argv, summary=path == "summary", eisfit_path=other))
            rounds[path][-1]["statuses"] = statuses(out) if (out / "results.csv").exists() else {}
            print(f"{n}: {path} {args.jobs}: {rounds[path][-1]['wall_s']:.1f} s", file=sys.stderr)
            if not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)
        if dask:
            out = work / f"out_{n}_dask_{r}"
            shutil.rmtree(out, ignore_errors=True)
            rounds["dask"].append(dask_run(source, out))
            rounds["dask"][-1]["statuses"] = statuses(out) if (out / "results.csv").exists() else {}
            print(f"{n}: dask: {rounds['dask'][-1]['wall_s']:.1f} s", file=sys.stderr)
            if not args.keep_outputs:
                shutil.rmtree(out, ignore_errors=True)
    return {"n": n, "cells": cells, "rounds": rounds, "load": os.getloadavg()}


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def warm_up(work: Path, args: argparse.Namespace) -> None:
    """A small batch first, not reported: numba's cache of the compiled kernel is written
    (or found) before any measured run, for each eisfit measured."""
    source = work / "warmup"
    if not source.exists():
        write_run(source, 60, 1, 60, args.seed)
    for other in (None, args.baseline) if args.baseline else (None,):
        out = work / "out_warmup"
        shutil.rmtree(out, ignore_errors=True)
        measured(batch_argv(source, out, jobs=args.jobs, scheduler=None), eisfit_path=other)
        shutil.rmtree(out, ignore_errors=True)


def run_bad(work: Path, args: argparse.Namespace) -> list[dict]:
    tiny, long = write_bad(work / "bad", args.tiny, args.long_loops, args.seed)
    out = []
    runs = ((f"{args.tiny} tiny files", tiny), (f"{args.long_loops}-loop file", long))
    for label, source in runs:
        target = work / f"out_bad_{source.name}"
        shutil.rmtree(target, ignore_errors=True)
        result = measured(batch_argv(source, target, jobs=args.jobs, scheduler=None))
        result["statuses"] = statuses(target) if (target / "results.csv").exists() else {}
        out.append({"label": label, **result})
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _tree_mib(r: dict, jobs: int) -> float:
    return r.get("parent_mib", math.nan) + jobs * r.get("worker_mib", math.nan)


def table(sizes: list[dict], bad: list[dict], jobs: int) -> str:
    lines = [
        "| spectra | path | wall s | spectra/s | parent MiB | largest worker MiB | "
        "tree MiB (parent + workers) | sampled tree MiB | parent CPU ms/spectrum | "
        "rows by status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    first_tree: dict[str, float] = {}
    labels = {
        "jobs": f"--jobs {jobs}",
        "summary": f"--jobs {jobs}, summary columns only",
        "baseline": f"--jobs {jobs}, baseline eisfit",
    }
    for s in sizes:
        for path, runs in s["rounds"].items():
            if not runs:
                continue
            wall = _median([r["wall_s"] for r in runs])
            if path != "dask":
                tree = _median([_tree_mib(r, jobs) for r in runs])
                first_tree.setdefault(path, tree)
                label = labels[path]
                worker = _median([r.get("worker_mib", math.nan) for r in runs])
            else:
                tree = _median([r.get("parent_mib", math.nan) + r.get("cluster_mib", math.nan)
                                for r in runs])  # fmt: skip
                label = "Dask LocalCluster 2x1 (tree: + nannies)"
                worker = _median([r.get("cluster_worker_mib", math.nan) for r in runs])
            flat = f" ({100 * (tree / first_tree[path] - 1):+.0f} %)" if path != "dask" else ""
            lines.append(
                f"| {s['n']} | {label} | {wall:.1f} | {s['n'] / wall:.0f} | "
                f"{_median([r.get('parent_mib', math.nan) for r in runs]):.0f} | {worker:.0f} | "
                f"{tree:.0f}{flat} | {_median([r['sampled_mib'] for r in runs]):.0f} | "
                f"{1e3 * _median([r.get('parent_cpu_s', math.nan) for r in runs]) / s['n']:.2f} | "
                f"{runs[-1].get('statuses')} |"
            )
        if s["rounds"]["baseline"]:
            pairs = zip(s["rounds"]["jobs"], s["rounds"]["baseline"], strict=False)
            ratio = _median([j["wall_s"] / b["wall_s"] for j, b in pairs])
            lines.append(f"| {s['n']} | this / baseline wall | {ratio:.2f}x | | | | | | | |")
        if s["rounds"]["dask"]:
            pairs = zip(s["rounds"]["dask"], s["rounds"]["jobs"], strict=False)
            ratio = _median([d["wall_s"] / j["wall_s"] for d, j in pairs])
            lines.append(f"| {s['n']} | Dask / --jobs {jobs} wall | {ratio:.2f}x | | | | | | | |")
    for b in bad:
        lines.append(
            f"| {b['label']} | --jobs {jobs} | {b['wall_s']:.1f} | | "
            f"{b.get('parent_mib', math.nan):.0f} | {b.get('worker_mib', math.nan):.0f} | "
            f"{_tree_mib(b, jobs):.0f} | {b['sampled_mib']:.0f} | | {b.get('statuses')} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="spectra per run (comma list)")
    parser.add_argument("--dask-sizes", default="", help="sizes also run on Dask (comma list)")
    parser.add_argument("--per-cell", type=int, default=1000, help="spectra per cell (folder)")
    parser.add_argument("--loops", type=int, default=100, help="loops per .mpt file")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds per size (medians)")
    parser.add_argument("--bad", action="store_true", help="also the bad-input runs")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also run with the CLI's table cut to its summary columns",
    )
    parser.add_argument("--keep-outputs", action="store_true", help="keep every --out folder")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run an older eisfit (a checkout in DIR), interleaved",
    )
    parser.add_argument(
        "--baseline-sizes", default="1000,10000", help="sizes run with --baseline (comma list)"
    )
    parser.add_argument("--tiny", type=int, default=5000, help="tiny files of --bad")
    parser.add_argument("--long-loops", type=int, default=2000, help="loops of --bad's long file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="work (and keep the runs) in DIR")
    parser.add_argument("--json", help="also write every measurement as JSON here")
    args = parser.parse_args()
    sizes = _sizes(args.sizes)
    on_dask = set(_sizes(args.dask_sizes))
    with tempfile.TemporaryDirectory(prefix="eisfit-scale-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        warm_up(work, args)
        results = [run_size(work, n, args, n in on_dask) for n in sizes]
        bad = run_bad(work, args) if args.bad else []
    print(f"load average at the end: {os.getloadavg()}; jobs {args.jobs}; "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(table(results, bad, args.jobs))
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": results, "bad": bad}, indent=1))


if __name__ == "__main__":
    main()
