"""Report benchmark (issue 15): time and size of run reports and of a many-spectrum fit report.

Writes synthetic cycling runs (N spectra of a Na | NZSP | Na cell whose interphase grows as
R0 + k sqrt(t), as EC-Lab .mpt files with timestamps; every 20th spectrum distorted so that
it fails the Kramers-Kronig check and is drawn as flagged), fits each with ``eisfit batch
--no-report`` (timed, not the target), then times ``eisfit report DIR --force-report``
(PDF included) in fresh processes, side by side in each round:

- ``before``: an older checkout (``--before PATH``, a folder holding its ``eisfit``
  package, e.g. ``git archive <commit> eisfit | tar -x -C PATH``), when given;
- ``cold``: this eisfit with an empty figure cache, figures drawn in worker processes;
- ``cold, 1 process``: the same with ``--report-jobs 1`` (does the pool pay?);
- ``warm``: every figure in the cache (a report redrawn after e.g. a resumed run);
- ``3 redrawn``: three cache entries removed first (what a re-run with three changed
  spectra draws).

Each is repeated ``--repeat`` times in rounds (all variants in each round, so they share
the machine's load); the table gives medians of wall time and of CPU time (the process
and its workers), the median load average seen, and the ratio before / after.  After the
rounds, ``floor``: in this process, the build and the draw (Agg, `PNG_DPI`) with palette
PNG of each drawn spectrum figure, as a new figure, as a reused one (what the report's
workers do, `eisfit.report.spectrum_plot`), and reused with its data taken out (lines,
markers, fills, legends and notes removed; the six axes with their ticks, labels and
titles kept); and the cold report that the axes alone would allow on the cores at hand:
the warm report plus the figures' axes, spread over the cores.  The single-fit part writes
one ``--fit-loops``-loop .mpt file and times ``eisfit fit FILE
--report x.html`` (before and now), ``--spectrum N``, and the fit alone (no report).
No peer tool writes a run report, so there is no ratio against one.

    python bench/report_bench.py [--sizes 121,1000] [--repeat 3] [--before PATH]
                                 [--fit-loops 197] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

FREQUENCY_HZ = np.logspace(np.log10(7e6), -1, 60)
T0 = datetime(2026, 1, 5, 9, 0, 0)
MODEL_ARGS = ["--model", "gb-soli", "--area-cm2", "1", "--thickness-cm", "0.1"]
HERE = Path(__file__).resolve().parents[1]


def spectra(first: int, count: int, rng: np.random.Generator, distort_every: int) -> list:
    """Spectra number ``first`` .. ``first + count - 1`` of the run (hour = number);
    every ``distort_every``-th gets every other point 30 % off (it fails lin-KK)."""
    out = []
    for t_h in map(float, range(first, first + count)):
        arcs = (Arc(80.0, 5e5, 0.9), Arc(300.0 + 50.0 * math.sqrt(t_h), 100.0, 0.8))
        cell = SyntheticCell(2e-7, 110.0, arcs)
        spectrum = simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.005, rng=rng)
        if distort_every and int(t_h) % distort_every == distort_every - 1:
            z = spectrum.impedance_ohm.copy()
            z[1::2] *= 1.3
            spectrum = type(spectrum)(frequency_hz=spectrum.frequency_hz, impedance_ohm=z)
        out.append(spectrum)
    return out


def write_run(folder: Path, n: int, files: int, seed: int, distort_every: int = 20) -> None:
    """The run as ``files`` EC-Lab .mpt files of consecutive spectra."""
    rng = np.random.default_rng(seed)
    per_file = math.ceil(n / files)
    folder.mkdir(parents=True, exist_ok=True)
    for j, first in enumerate(range(0, n, per_file)):
        count = min(per_file, n - first)
        hours = [float(i) for i in range(first, first + count)]
        text = ec_lab_mpt_text(spectra(first, count, rng, distort_every),
                               T0 + timedelta(hours=first), hours)  # fmt: skip
        (folder / f"run_{j:03d}.mpt").write_text(text, encoding="latin-1")


def timed(args: list[str], *, pythonpath: str | None = None) -> tuple[float, float]:
    """Run ``python -m eisfit ARGS`` in a fresh process: (wall s, CPU s of it and its
    children, e.g. the report's worker processes)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # -P: `python -m` would put the working directory first on sys.path, so a bench run
    # from the checkout timed this tree as "before" too (the before column until 2026-12-07)
    done = subprocess.run([sys.executable, "-P", "-m", "eisfit", *args], capture_output=True,
                          env=env, check=False)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"eisfit {' '.join(args)} failed ({done.returncode}):\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def load() -> float:
    return os.getloadavg()[0]


def _drop_some(cache: Path, k: int, seed: int) -> None:
    """Remove ``k`` cache entries (as if ``k`` spectra had changed)."""
    seals = sorted(cache.glob("*.sha256"))
    for seal in random.Random(seed).sample(seals, min(k, len(seals))):
        for suffix in (".svg", ".png", ".sha256"):
            seal.with_suffix(suffix).unlink(missing_ok=True)


def run_report_rounds(out: Path, repeat: int, before: str | None) -> tuple[dict[str, list], str]:
    """Every variant once per round: ({variant: [(wall, cpu, load), ...]}, the sizes of
    the ``before`` report)."""
    report = ["report", str(out), "--force-report"]
    cache = out / ".report-cache"
    rows: dict[str, list] = {}
    before_sizes = ""
    for r in range(repeat):
        if before:
            rows.setdefault("before", []).append((*timed(report, pythonpath=before), load()))
            before_sizes = sizes(out)
        shutil.rmtree(cache, ignore_errors=True)
        rows.setdefault("cold", []).append((*timed(report), load()))
        shutil.rmtree(cache, ignore_errors=True)
        rows.setdefault("cold, 1 process", []).append(
            (*timed([*report, "--report-jobs", "1"]), load()))  # fmt: skip
        rows.setdefault("warm", []).append((*timed(report), load()))
        _drop_some(cache, 3, r)
        rows.setdefault("3 redrawn", []).append((*timed(report), load()))
    return rows, before_sizes


def sizes(out: Path) -> str:
    html = (out / "report.html").stat().st_size / 1e6
    pdf = (out / "report.pdf").stat().st_size / 1e6
    figures = list((out / "figures").glob("*"))
    return f"HTML {html:.2f} MB, PDF {pdf:.2f} MB, figures/ {len(figures)} files"


def table(title: str, rows: dict[str, list]) -> list[str]:
    lines = [f"### {title}", "",
             "| variant | wall (median) | CPU (median) | load | before / this |",
             "|---|---|---|---|---|"]  # fmt: skip
    ref = statistics.median(w for w, _, _ in rows["before"]) if "before" in rows else None
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        lo = statistics.median(v[2] for v in values)
        ratio = f"{ref / wall:.1f}x" if ref and name != "before" else ""
        lines.append(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {lo:.1f} | {ratio} |")
    return lines


def _strip_data(figure: object) -> None:
    """Remove from ``figure`` everything a spectrum puts in it (lines, markers, fills,
    spans, legends, notes), keeping the axes with their ticks, labels and titles."""
    for text in list(figure.texts):
        text.remove()
    for ax in figure.axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()


def floor_part(out: Path, warm_s: float, repeat: int) -> list[str]:
    """How much of a spectrum figure's drawing is its six axes alone (`_strip_data`), and
    the cold report time that leaves as a lower bound on this machine."""
    from eisfit.report.data import read_record, spectrum_view
    from eisfit.report.render import drawing, png_bytes
    from eisfit.report.spectrum_plot import spectrum_figure

    fit_files = _fit_files(out)
    records = []
    for name in sorted(p.name for p in (out / "figures").glob("spectrum_*.png")):
        row = int(name.split("_")[1].split(".")[0])
        record = read_record(out, fit_files[row] if row < len(fit_files) else None)
        if record is not None:
            records.append(record)
    if not records:
        return ["floor: no spectrum figure in the report"]
    variants = (("new figure", False, False), ("reused figure (the report's way)", True, False),
                ("axes only, reused figure (data taken out)", True, True))  # fmt: skip
    build: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    draw: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for _ in range(repeat):
        for record in records:
            for name, reuse, strip in variants:
                start = time.perf_counter()
                with drawing():
                    figure = spectrum_figure(spectrum_view(record, "x"), reuse=reuse)
                built = time.perf_counter()
                if strip:
                    _strip_data(figure)
                drawn = time.perf_counter()
                png_bytes(figure)
                build[name].append(built - start)
                draw[name].append(time.perf_counter() - drawn)
    ms_build = {k: 1000 * statistics.median(v) for k, v in build.items()}
    ms_draw = {k: 1000 * statistics.median(v) for k, v in draw.items()}
    floor = ms_draw[variants[2][0]]
    cores = os.cpu_count() or 1
    n = len(records)
    bound = warm_s + n * floor / 1000 / cores
    lines = [f"### floor: {n} spectrum figures, drawn here (median of {repeat} rounds)", "",
             "| figure | build ms | draw + palette PNG ms |", "|---|---|---|"]  # fmt: skip
    for name, _, strip in variants:
        built = "" if strip else f"{ms_build[name]:.0f}"
        lines.append(f"| {name} | {built} | {ms_draw[name]:.0f} |")
    reused = ms_draw[variants[1][0]]
    return [*lines, "",
            f"the axes alone are {floor / reused:.0%} of the drawing; a cold report drawing "
            f"only them would take at least {bound:.1f} s here (warm {warm_s:.2f} s + {n} x "
            f"{floor:.0f} ms on {cores} cores), before any data, trend figure or DRT map",
            ""]  # fmt: skip


def _fit_files(out: Path) -> list[str | None]:
    """results.csv's ``fit_file`` of each table row (the fits/ record's name), read once."""
    import csv

    with (out / "results.csv").open(encoding="utf-8", newline="") as handle:
        return [line.get("fit_file") or None for line in csv.DictReader(handle)]


def fit_report_part(work: Path, loops: int, repeat: int, before: str | None) -> list[str]:
    """``eisfit fit FILE --report`` on one ``loops``-loop file."""
    folder = work / "loops"
    write_run(folder, loops, 1, seed=11)
    path = folder / "run_000.mpt"
    html = work / "fit.html"
    rows: dict[str, list] = {}
    base = ["fit", str(path), *MODEL_ARGS]
    for _ in range(repeat):
        if before:
            rows.setdefault("before: --report", []).append(
                (*timed([*base, "--report", str(html)], pythonpath=before), load()))  # fmt: skip
            rows.setdefault("before: size", []).append(html.stat().st_size / 1e6)
        rows.setdefault("fit only (no report)", []).append((*timed(base), load()))
        rows.setdefault("--report", []).append((*timed([*base, "--report", str(html)]), load()))
        rows.setdefault("size", []).append(html.stat().st_size / 1e6)
        rows.setdefault("--spectrum 100 --report", []).append(
            (*timed([*base, "--spectrum", str(min(100, loops - 1)), "--report", str(html)]),
             load()))  # fmt: skip
    lines = [f"### eisfit fit FILE --report x.html, one {loops}-loop .mpt", "",
             "| variant | wall (median) | CPU (median) | load |", "|---|---|---|---|"]  # fmt: skip
    for name, values in rows.items():
        if "size" in name:
            continue
        lines.append(f"| {name} | {statistics.median(v[0] for v in values):.2f} s | "
                     f"{statistics.median(v[1] for v in values):.2f} s | "
                     f"{statistics.median(v[2] for v in values):.1f} |")  # fmt: skip
    for name in ("before: size", "size"):
        if name in rows:
            lines.append(f"\n{name.replace('size', 'HTML size')}: {rows[name][-1]:.2f} MB")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="121,1000", help="run lengths (default 121,1000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--before", metavar="PATH", help="an older checkout to compare with")
    parser.add_argument("--fit-loops", type=int, default=197, metavar="N",
                        help="loops of the single-fit file (0: skip; default 197)")
    parser.add_argument("--keep", metavar="DIR", help="work here and keep the output")
    args = parser.parse_args()
    before = str(Path(args.before).resolve()) if args.before else None
    out_lines = [f"eisfit report benchmark, {os.cpu_count()} cores, "
                 f"load at start {load():.1f}", ""]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        for n in (int(x) for x in args.sizes.split(",")):
            data, out = work / f"data{n}", work / f"out{n}"
            shutil.rmtree(out, ignore_errors=True)
            write_run(data, n, max(1, min(10, n // 30)), seed=7)
            batch_s, _ = timed(["batch", str(data), *MODEL_ARGS, "--out", str(out),
                                "--jobs", str(args.jobs), "--no-report"])  # fmt: skip
            rows, before_sizes = run_report_rounds(out, args.repeat, before)
            out_lines += table(f"{n} spectra (batch --no-report: {batch_s:.1f} s)", rows)
            out_lines += [""] + ([f"before: {before_sizes}"] if before else [])
            out_lines += [f"after: {sizes(out)}", ""]
            warm = statistics.median(v[0] for v in rows["warm"])
            out_lines += floor_part(out, warm, args.repeat)
            print("\n".join(out_lines), flush=True)
            out_lines = []
        if args.fit_loops:
            print("\n".join(fit_report_part(work, args.fit_loops, args.repeat, before)))


if __name__ == "__main__":
    main()
