"""Memory benchmark: peak RSS and output sizes for 5,000- and 50,000-point spectra.

Issue 13, item 6: a 50,000-point spectrum peaked at 1.6 GB (311 MB without the lin-KK
check) and its report was 49 MB; the target is under 300 MB and a report of a few MB.
This script writes one synthetic Na | SSE | Na spectrum per size (log-spaced 1e7 ..
1e-2 Hz, a grain-boundary and a SOLI arc, 0.5 % proportional noise; `eisfit.synthetic`)
as CSV in a temporary folder and runs each command in a fresh process, reading its peak
resident set size from ``wait4`` (the largest of the process and its waited-for
children, as ``/usr/bin/time -v`` reports it):

* the import baseline (``import eisfit``; and with the fit, lin-KK and report modules);
* ``eisfit kk FILE``;
* ``eisfit.fit(..., kk=False)`` through the API (``eisfit fit`` always runs lin-KK);
* ``eisfit fit FILE --circuit ...`` plain, ``--report x.html`` and ``--report x.pdf``;
* ``eisfit batch FILE --circuit ... --out DIR --jobs 1`` (report.html and report.pdf),
  and the same with ``--no-kk --no-report``.

It prints one table: command, points, peak RSS (MB), wall seconds, exit code and the
size of what the command wrote (KB).  Wall time is for orientation only (2 shared cores).

    python bench/memory_bench.py [--sizes 5000,50000] [--keep DIR] [--only WORD]

(--keep DIR: work in DIR and keep the outputs; its out_<points> folders are replaced.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eisfit.io.csv import write_csv
from eisfit.synthetic import Arc, SyntheticCell, simulate

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
NOISE = 0.005
IMPORT_FIT = (
    "import eisfit, eisfit.fitting.api, eisfit.kk.linkk, eisfit.fitting.solver, "
    "eisfit.screening.screen, "
    "eisfit.report.figures, eisfit.report.html"
)
FIT_NO_KK = (
    "import sys, eisfit; from eisfit.io import read; "
    "s = read(sys.argv[1])[0]; r = eisfit.fit(s, sys.argv[2], kk=False); "
    "print(r.status, len(s))"
)


@dataclass(frozen=True)
class Run:
    """One measured command."""

    label: str
    points: int
    peak_mb: float
    wall_s: float
    exit_code: int
    output_kb: float | None


def write_spectrum(folder: Path, points: int, seed: int) -> Path:
    """The synthetic spectrum of ``points`` points as CSV; its path."""
    frequency_hz = np.logspace(7, -2, points)
    rng = np.random.default_rng(seed)
    values = {k: v for k, v in CELL.values.items() if k != "L0.L"}
    spectrum = simulate(CIRCUIT, values, frequency_hz, noise=NOISE, rng=rng)
    return write_csv(spectrum, folder / f"spectrum_{points}.csv", significant_digits=10)


def measure(argv: list[str], log: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit code) of ``argv`` run in a fresh process."""
    start = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall_s = time.perf_counter() - start
    return usage.ru_maxrss / 1024.0, wall_s, proc.returncode  # ru_maxrss is in KiB on Linux


def size_kb(*paths: Path) -> float | None:
    """Total size of the files (or of every file under the folders) in KB."""
    files = [q for p in paths for q in ([p] if p.is_file() else p.rglob("*")) if q.is_file()]
    return sum(f.stat().st_size for f in files) / 1024.0 if files else None


def commands(data: Path, out: Path) -> list[tuple[str, list[str], list[Path]]]:
    """(label, argv, outputs) of every command measured on one file."""
    py = sys.executable
    cli = [py, "-m", "eisfit"]
    return [
        ("kk", [*cli, "kk", str(data)], []),
        ("fit (API, kk=False)", [py, "-c", FIT_NO_KK, str(data), CIRCUIT], []),
        ("fit", [*cli, "fit", str(data), "--circuit", CIRCUIT], []),
        (
            "fit --report html",
            [*cli, "fit", str(data), "--circuit", CIRCUIT, "--report", str(out / "x.html")],
            [out / "x.html"],
        ),
        (
            "fit --report pdf",
            [*cli, "fit", str(data), "--circuit", CIRCUIT, "--report", str(out / "x.pdf")],
            [out / "x.pdf"],
        ),
        (
            "batch --no-kk --no-report",
            [
                *cli,
                "batch",
                str(data),
                "--circuit",
                CIRCUIT,
                "--out",
                str(out / "nokk"),
                "--jobs",
                "1",
                "--no-kk",
                "--no-report",
                "--no-progress",
            ],
            [out / "nokk"],
        ),
        (
            "batch (report html+pdf)",
            [
                *cli,
                "batch",
                str(data),
                "--circuit",
                CIRCUIT,
                "--out",
                str(out / "batch"),
                "--jobs",
                "1",
                "--no-progress",
            ],
            [out / "batch" / "report.html", out / "batch" / "report.pdf"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,50000", help="points (default 5000,50000)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", metavar="DIR", help="work here and keep the outputs")
    parser.add_argument("--only", metavar="WORD", help="only commands whose label has WORD")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        py = sys.executable
        for label, code in (("import eisfit", "import eisfit"), ("import fit modules", IMPORT_FIT)):
            if args.only and args.only not in label:
                continue
            peak, wall, code_ = measure([py, "-c", code], work / "import.log")
            runs.append(Run(label, 0, peak, wall, code_, None))
        for points in sizes:
            data = write_spectrum(work, points, args.seed)
            out = work / f"out_{points}"
            shutil.rmtree(out, ignore_errors=True)  # a re-run with --keep starts afresh
            out.mkdir()
            for label, argv, outputs in commands(data, out):
                if args.only and args.only not in label:
                    continue
                log = out / f"{label.split()[0]}_{len(runs)}.log"
                peak, wall, code_ = measure(argv, log)
                runs.append(Run(label, points, peak, wall, code_, size_kb(*outputs)))
        print(table(runs))


def table(runs: list[Run]) -> str:
    """The results as a fixed-width text table."""
    head = f"{'command':<28} {'points':>7} {'peak MB':>8} {'wall s':>7} {'exit':>4} {'out KB':>9}"
    lines = [head, "-" * len(head)]
    for r in runs:
        kb = "-" if r.output_kb is None else f"{r.output_kb:,.0f}"
        lines.append(
            f"{r.label:<28} {r.points:>7} {r.peak_mb:>8.0f} {r.wall_s:>7.1f} "
            f"{r.exit_code:>4} {kb:>9}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
