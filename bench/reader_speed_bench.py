"""Benchmark: reading EC-Lab .mpt text exports, this eisfit against an older one and peers.

Why (issue 15): ``eisfit batch`` reads every file in its main process before the worker
pool starts; on 10^5 spectra (1,000 .mpt files of 100 loops x 60 points) that took 100 s
of a 640 s run.  This bench times the reader alone.

The files: ``--files`` EC-Lab .mpt exports of ``--loops`` loops of ``--points`` points
each (7 MHz to 0.1 Hz, a symmetric Na | NZSP | Na cell with 0.5 % noise, written by
`eisfit.synthetic.ec_lab_mpt_text` as ``bench/scale_bench.py`` writes them: LF line ends;
``--crlf``: CRLF, as EC-Lab writes them, which galvani needs).

The readers, each in a fresh process (``python -P``, so that only PYTHONPATH decides which
eisfit is imported), which reads one file untimed (lazy imports), then every file, timed
with ``time.perf_counter`` inside the process (interpreter start and imports excluded):

* ``eisfit``: `eisfit.io.biologic_mpt.read_mpt` of this tree: spectra split by loop, with
  timestamps, cycles, warnings and every check;
* ``eisfit --before``: the same function of an older tree (``--before PATH``: a folder
  holding an ``eisfit`` package, e.g. ``git archive <commit> eisfit | tar -x -C PATH``);
  both must read the same spectra: the sha256 of every spectrum's arrays and meta,
  computed after the timing, is compared;
* peers, when importable (``--peers-path`` is put on their PYTHONPATH): impedance.py's
  ``preprocessing.readBioLogic`` (the whole file as one frequency and one impedance array:
  no split into spectra, no metadata; asserts instead of errors), galvani's
  ``BioLogic.MPTfile`` (a numpy record array of every column; needs CRLF line ends and
  knows a fixed list of column names) and pyimpspec's ``parse_data`` (data sets split by
  loop).  They do less (or other) work than eisfit; the ratio is what a user switching
  readers would see.

Rounds are interleaved (the order of the readers rotates each round); the table gives
medians, spectra/s and points/s, and the ratio of each reader's median to this eisfit's.
The machine's load average is printed before and after: the cores may be shared.

Usage:  python bench/reader_speed_bench.py [--files 100] [--loops 100] [--points 60]
            [--rounds 5] [--before PATH] [--crlf] [--peers-path DIR] [--keep DIR]
            [--json FILE]
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
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 5, 9, 0, 0)

# Runs in the child process: argv = reader name, JSON list of files.  Prints one JSON line.
CHILD = r"""
import hashlib, json, sys, time
name, files = sys.argv[1], json.loads(sys.argv[2])
if name in ("eisfit", "before"):
    from eisfit.io.biologic_mpt import read_mpt as read
elif name == "impedance.py":
    from impedance.preprocessing import readBioLogic as read
elif name == "galvani":
    from galvani.BioLogic import MPTfile as read
else:
    from pyimpspec import parse_data
    read = lambda path: parse_data(path, file_format=".mpt")
read(files[0])
start = time.perf_counter()
outputs = [read(path) for path in files]
seconds = time.perf_counter() - start
result = {"seconds": seconds}
if name in ("eisfit", "before"):
    digest = hashlib.sha256()
    for spectra in outputs:
        for s in spectra:
            m = s.meta
            digest.update(s.frequency_hz.tobytes() + s.impedance_ohm.tobytes())
            extra = sorted((k, repr(v)) for k, v in m.extra.items())
            digest.update(repr((m.source, m.index, m.timestamp, m.cycle, m.temperature_k,
                                extra)).encode())
    result["spectra"] = sum(len(spectra) for spectra in outputs)
    result["points"] = sum(len(s) for spectra in outputs for s in spectra)
    result["digest"] = digest.hexdigest()
elif name == "impedance.py":
    result["points"] = sum(len(f) for f, _ in outputs)
elif name == "galvani":
    result["points"] = sum(len(array) for array, _ in outputs)
else:
    result["spectra"] = sum(len(sets) for sets in outputs)
    result["points"] = sum(d.get_num_points() for sets in outputs for d in sets)
print(json.dumps(result))
"""

READERS = {
    "eisfit": "read_mpt: spectra by loop, meta, checks",
    "before": "read_mpt of --before",
    "impedance.py": "readBioLogic: one f, Z array per file",
    "galvani": "MPTfile: record array of all columns",
    "pyimpspec": "parse_data: data sets by loop",
}


def write_files(folder: Path, files: int, loops: int, points: int, *, crlf: bool) -> list[Path]:
    """``files`` .mpt exports of ``loops`` loops of ``points`` points (module docstring)."""
    rng = np.random.default_rng(15)
    frequency_hz = np.logspace(np.log10(7e6), -1, points)
    paths = []
    for k in range(files):
        bulk, gb, soli0 = rng.uniform(0.5, 2.0, size=3) * (110.0, 80.0, 300.0)
        hours = [float(h) for h in range(loops)]
        spectra = []
        for t_h in hours:
            arcs = (Arc(gb, 5e5, 0.9), Arc(soli0 + 50.0 * math.sqrt(t_h), 100.0, 0.8))
            cell = SyntheticCell(2e-7, bulk, arcs)
            spectra.append(simulate(cell.circuit, cell.values, frequency_hz, noise=0.005, rng=rng))
        text = ec_lab_mpt_text(spectra, T0 + timedelta(days=k), hours)
        path = folder / f"part_{k:04d}.mpt"
        path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode("latin-1"))
        paths.append(path)
    return paths


def environment(name: str, args: argparse.Namespace) -> dict[str, str] | None:
    """The child's environment for reader ``name``, or None when it cannot be imported."""
    env = dict(os.environ)
    paths = [str(args.before)] if name == "before" else [str(ROOT)]
    if args.peers_path:
        paths.append(str(args.peers_path))
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    module = {"impedance.py": "impedance", "galvani": "galvani", "pyimpspec": "pyimpspec"}
    if name in module:
        probe = [sys.executable, "-P", "-c", f"import {module[name]}"]
        if subprocess.run(probe, env=env, capture_output=True, check=False).returncode != 0:
            return None
    return env


def run_child(name: str, files: list[Path], env: dict[str, str]) -> dict:
    argv = [sys.executable, "-P", "-c", CHILD, name, json.dumps([str(p) for p in files])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(files: list[Path], args: argparse.Namespace) -> dict[str, dict]:
    names = ["eisfit", *(["before"] if args.before else []), "impedance.py", "galvani",
             "pyimpspec"]  # fmt: skip
    envs = {name: environment(name, args) for name in names}
    skipped = {name: "not importable" for name, env in envs.items() if env is None}
    if not args.crlf and "galvani" not in skipped:
        skipped["galvani"] = "needs CRLF line ends (--crlf)"
    active = [name for name in names if name not in skipped]
    runs: dict[str, list[dict]] = {name: [] for name in active}
    for r in range(args.rounds):
        order = active[r % len(active) :] + active[: r % len(active)]
        for name in order:
            runs[name].append(run_child(name, files, envs[name]))  # type: ignore[arg-type]
    results: dict[str, dict] = {name: {"skipped": why} for name, why in skipped.items()}
    for name, outcomes in runs.items():
        errors = [o["error"] for o in outcomes if "error" in o]
        if errors:
            results[name] = {"skipped": f"failed: {errors[0]}"}
            continue
        seconds = [o["seconds"] for o in outcomes]
        results[name] = {**outcomes[0], "seconds": seconds, "median_s": statistics.median(seconds)}
    return results


def table(results: dict[str, dict], spectra: int, points: int) -> str:
    ours = results["eisfit"]["median_s"]
    lines = [
        "| reader | what it returns | median s | spectra/s | points/s | time / eisfit's |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        if "skipped" in r:
            lines.append(f"| {name} | {READERS[name]} | - | - | - | {r['skipped']} |")
            continue
        s = r["median_s"]
        lines.append(f"| {name} | {READERS[name]} | {s:.2f} | {spectra / s:,.0f} | "
                     f"{points / s:,.0f} | {s / ours:.2f}x |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a folder holding an older eisfit package")
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends, as EC-Lab writes")
    parser.add_argument("--peers-path", type=Path, help="a folder of peer packages (galvani)")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    if args.before and not (args.before / "eisfit" / "__init__.py").exists():
        parser.error(f"--before {args.before}: no eisfit package there")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        files = write_files(folder, args.files, args.loops, args.points, crlf=args.crlf)
        load_before = os.getloadavg()
        results = measure(files, args)
        load_after = os.getloadavg()
    spectra, points = args.files * args.loops, args.files * args.loops * args.points
    print(f"{args.files} .mpt files x {args.loops} loops x {args.points} points "
          f"({spectra:,} spectra, {'CRLF' if args.crlf else 'LF'}), {args.rounds} interleaved "
          f"rounds, {os.cpu_count()} cores; load average before "
          f"{load_before[0]:.2f}, after {load_after[0]:.2f}\n")  # fmt: skip
    print(table(results, spectra, points))
    if "before" in results and "digest" in results["before"]:
        same = results["before"]["digest"] == results["eisfit"]["digest"]
        ratio = results["before"]["median_s"] / results["eisfit"]["median_s"]
        print(f"\nthis eisfit reads {ratio:.2f}x faster than --before; same spectra and meta: "
              f"{'yes' if same else 'NO'} (sha256 {results['eisfit']['digest'][:16]})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
