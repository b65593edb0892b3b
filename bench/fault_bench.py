"""Randomized fault injection on a batch run (issue 13): the long version of
``tests/test_fault_injection.py``.

Writes a synthetic EC-Lab run, runs it once uninterrupted, then for ``--kills`` seeded
random (signal, moment) pairs starts ``eisfit batch``, sends the signal, checks what the
stopped run left (exit code, no traceback, results.csv rows equal to the reference, no
worker alive 2 s after the parent ended) and re-runs it to the end, which must give the
reference table exactly; then ``--flips`` random bit flips in the run folder's caches
and fits/ records, each followed by a re-run.  Prints one line per fault and a summary.

    python bench/fault_bench.py --kills 30 --flips 40 --seed 1
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_checks import command, consistent, flip_bit, run_and_signal, table, write_run

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


def _complete(run: Path, out: Path) -> tuple[int, str]:
    done = subprocess.run(command(run, out), capture_output=True, text=True, check=False)
    return done.returncode, done.stderr


def kills(run: Path, reference: pd.DataFrame, work: Path, n: int, rng: np.random.Generator,
          longest_s: float) -> list[dict]:  # fmt: skip
    out = []
    for k in range(n):
        name = str(rng.choice(list(SIGNALS)))
        delay_s = float(rng.uniform(0.0, longest_s))  # after the run began (its lock)
        folder = work / f"kill_{k}"
        killed = run_and_signal(run, folder, SIGNALS[name], delay_s)
        expected = (-signal.SIGKILL,) if name == "SIGKILL" else (0, 130)
        problems = consistent(folder, reference)
        if killed.returncode not in expected:
            problems.append(f"exit code {killed.returncode}")
        if "Traceback" in killed.stderr:
            problems.append("traceback")
        code, err = _complete(run, folder)
        if code != 0 or "Traceback" in err:
            problems.append(f"re-run exit {code}")
        elif not table(folder).equals(reference):
            problems.append("re-run differs from the reference")
        out.append({"fault": f"{name} at {delay_s:.2f} s", "rc": killed.returncode,
                    "stop_s": killed.stop_s, "orphans": len(killed.orphans),
                    "problems": problems})  # fmt: skip
    return out


def flips(run: Path, reference: pd.DataFrame, work: Path, n: int,
          rng: np.random.Generator) -> list[dict]:  # fmt: skip
    folder = work / "flips"
    assert _complete(run, folder)[0] == 0
    out = []
    for _ in range(n):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and
                       (".cache" in p.parts or "fits" in p.parts))  # fmt: skip
        target = files[int(rng.integers(len(files)))]
        offset = flip_bit(target, rng)
        code, err = _complete(run, folder)
        problems = [] if code == 0 and "Traceback" not in err else [f"exit {code}"]
        if not problems and not table(folder).equals(reference):
            problems.append("table differs from the reference")
        out.append({"fault": f"bit flip {target.relative_to(folder)} @{offset}", "rc": code,
                    "stop_s": float("nan"), "orphans": 0, "problems": problems})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--flips", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", type=int, default=4, help=".mpt files (cells)")
    parser.add_argument("--per-file", type=int, default=30, help="spectra per file")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = write_run(work / "run", files=args.files, per_file=args.per_file, seed=args.seed)
        t0 = time.perf_counter()
        code, err = _complete(run, work / "reference")
        assert code == 0, err
        longest_s = time.perf_counter() - t0
        reference = table(work / "reference")
        print(f"reference: {len(reference)} spectra in {args.files} cells, {longest_s:.1f} s")
        rows = kills(run, reference, work, args.kills, rng, longest_s)
        rows += flips(run, reference, work, args.flips, rng)
    for row in rows:
        verdict = "ok" if not row["problems"] and not row["orphans"] else "FAIL"
        print(f"{verdict:4} {row['fault']:<60} rc={row['rc']:<4} stop={row['stop_s']:.2f} s "
              f"orphans={row['orphans']} {'; '.join(row['problems'])}")  # fmt: skip
    failed = [r for r in rows if r["problems"] or r["orphans"]]
    stops = [r["stop_s"] for r in rows if np.isfinite(r["stop_s"])]
    print(f"\n{len(rows)} faults: {len(failed)} failed; orphaned workers: "
          f"{sum(r['orphans'] for r in rows)}; longest stop after a signal: "
          f"{max(stops, default=float('nan')):.2f} s")  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
