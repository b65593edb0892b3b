"""Benchmark: ``eisfit batch --model auto`` against ``--model gb-soli`` on the same run.

The run is `batch_bench.write_run`'s (a Na | NZSP | Na cell measured every hour, 60
points 7 MHz-0.1 Hz, 0.5 % noise, generated with the gb-soli circuit; ``--files`` .mpt
files in one folder: one cell).  Per round, in this order and each in a fresh process
into a fresh folder (``--no-report``): ``gb-soli`` (the named model: its circuit, roles
and bounds), ``circuit`` (the same circuit given with ``--circuit``: no bounds, roles
assigned automatically, as ``auto`` fits) and ``auto``; then each again into its folder
(a resume: every row reused; for ``auto`` the consensus is taken from model.json).
Resumed variants are compared with ``gb-soli resumed``.  ``consensus s`` is the time
batch.log gives for the consensus (0 when it was kept from model.json).
Wall time, CPU time of the process and its workers (``RUSAGE_CHILDREN``) and the load
average (``os.getloadavg``, the machine is shared) are printed per variant as medians
over ``--repeat`` rounds, with the ratio auto / gb-soli of the same round; below, the
circuit chosen, its statement and how many rows carry an ``alternative``.

Usage:  python bench/batch_auto_bench.py [--n 121] [--files 10] [--jobs 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from batch_bench import write_run

#: variant -> the model options of its command
VARIANTS = {
    "gb-soli": ["--model", "gb-soli"],
    "circuit": ["--circuit", "L0-R0-p(R1,CPE1)-p(R2,CPE2)"],  # gb-soli's, without its bounds
    "auto": ["--model", "auto"],
}


def _run(folder: Path, out: Path, options: list[str], jobs: int) -> dict[str, float]:
    argv = [sys.executable, "-m", "eisfit", "batch", str(folder), *options,
            "--out", str(out), "--no-report", "--jobs", str(jobs)]  # fmt: skip
    log = out / "batch.log"
    seen = log.stat().st_size if log.is_file() else 0  # batch.log is appended to
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load, t0 = os.getloadavg()[0], time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with log.open("rb") as handle:
        handle.seek(seen)
        said = re.findall(r"by consensus in ([0-9.]+) s", handle.read().decode())
    return {"wall_s": wall, "cpu_s": cpu, "load": (load + os.getloadavg()[0]) / 2,
            "consensus_s": float(said[-1]) if said else 0.0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=121)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    names = [*VARIANTS, *(f"{v} resumed" for v in VARIANTS)]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        write_run(folder, args.n, args.files, seed=7)
        _run(folder, Path(tmp) / "warm-up", VARIANTS["auto"], args.jobs)  # caches
        for r in range(args.repeat):
            for name, options in VARIANTS.items():
                runs[name].append(_run(folder, Path(tmp) / f"{name}{r}", options, args.jobs))
            for name, options in VARIANTS.items():
                out = Path(tmp) / f"{name}{r}"
                runs[f"{name} resumed"].append(_run(folder, out, options, args.jobs))
        model = json.loads((out / "model.json").read_text())
        table = pd.read_csv(out / "results.csv")
    print(f"{args.n} spectra, {args.files} files, --jobs {args.jobs}, {args.repeat} rounds")
    print(f"{'variant':<18} {'wall s':>7} {'cpu s':>7} {'wall/gb-soli':>13} "
          f"{'consensus s':>12} {'load':>5}")  # fmt: skip
    for name, rows in runs.items():
        base = runs["gb-soli resumed" if name.endswith("resumed") else "gb-soli"]
        ratio = statistics.median(
            a["wall_s"] / b["wall_s"] for a, b in zip(rows, base, strict=True)
        )
        print(f"{name:<18} {statistics.median(r['wall_s'] for r in rows):7.2f} "
              f"{statistics.median(r['cpu_s'] for r in rows):7.2f} {ratio:13.2f} "
              f"{statistics.median(r['consensus_s'] for r in rows):12.2f} "
              f"{statistics.median(r['load'] for r in rows):5.2f}")  # fmt: skip
    for cell in model["cells"]:
        print(f"cell {cell['cell']}: {cell['statement']}")
    flagged = int(table["alternative"].notna().sum())
    print(f"rows with an alternative: {flagged} of {len(table)}; statuses: "
          f"{table['status'].value_counts().to_dict()}")  # fmt: skip


if __name__ == "__main__":
    main()
