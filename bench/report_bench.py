"""Report benchmark: time and size of the run report of a 1,000-spectrum batch.

Writes a synthetic cycling run (N spectra of a Na | NZSP | Na cell whose interphase grows
as R0 + k sqrt(t), as EC-Lab .mpt files with timestamps), fits it with ``eisfit batch``
(not timed here: see bench/batch_bench.py), then times ``eisfit report DIR`` with the
default selection, PDF included, in a fresh process, and reports the page size.  Target
(reports issue): under a minute on 2 cores and under ~10 MB.  By default every 20th
spectrum is distorted so that it fails the Kramers-Kronig check: with 50 flagged spectra
the report draws its largest default selection (8 evenly spaced + 16 flagged).  No peer
tool writes a run report (impedance.py, pyimpspec and ZView users paste figures by hand),
so there is no ratio to report.

    python bench/report_bench.py [--n 1000] [--files 10] [--jobs 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
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


def write_run(folder: Path, n: int, files: int, seed: int, distort_every: int) -> None:
    """The run; every ``distort_every``-th spectrum gets every other point 30 % off (it
    fails lin-KK and is flagged), so the report draws its full default selection."""
    rng = np.random.default_rng(seed)
    per_file = math.ceil(n / files)
    for j, first in enumerate(range(0, n, per_file)):
        hours = [float(i) for i in range(first, min(first + per_file, n))]
        spectra = []
        for t_h in hours:
            arcs = (Arc(80.0, 5e5, 0.9), Arc(300.0 + 50.0 * math.sqrt(t_h), 100.0, 0.8))
            cell = SyntheticCell(2e-7, 110.0, arcs)
            spectrum = simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.005, rng=rng)
            if distort_every and int(t_h) % distort_every == distort_every - 1:
                z = spectrum.impedance_ohm.copy()
                z[1::2] *= 1.3
                spectrum = type(spectrum)(frequency_hz=spectrum.frequency_hz, impedance_ohm=z)
            spectra.append(spectrum)
        text = ec_lab_mpt_text(spectra, T0 + timedelta(hours=hours[0]), hours)
        (folder / f"run_{j:03d}.mpt").write_text(text, encoding="latin-1")


def eisfit_cli(*args: str) -> float:
    """Run ``eisfit ARGS`` in a fresh process; wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "eisfit", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="spectra (default 1000)")
    parser.add_argument("--files", type=int, default=10, help="files (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--distort-every", type=int, default=20, metavar="K",
                        help="make every K-th spectrum fail lin-KK (0: none; default 20)")
    parser.add_argument("--keep", metavar="DIR", help="work here and keep the output")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        data, out = work / "data", work / "out"
        data.mkdir(parents=True, exist_ok=True)
        write_run(data, args.n, args.files, args.seed, args.distort_every)
        fit_s = eisfit_cli("batch", str(data), *MODEL_ARGS, "--out", str(out),
                           "--jobs", str(args.jobs), "--no-report")  # fmt: skip
        report_s = eisfit_cli("report", str(out), "--force-report")
        again_s = eisfit_cli("report", str(out))
        html_mb = (out / "report.html").stat().st_size / 1e6
        pdf_mb = (out / "report.pdf").stat().st_size / 1e6
        figures = sorted((out / "figures").glob("*"))
        fig_mb = sum(p.stat().st_size for p in figures) / 1e6
        shown = len([p for p in figures if p.name.startswith("spectrum_") and p.suffix == ".svg"])
    print("| spectra | batch (not the target) | report | report again (unchanged) | "
          "report.html | report.pdf | figures/ |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.n} | {fit_s:.1f} s | {report_s:.1f} s ({shown} spectra drawn) | "
          f"{again_s:.1f} s | {html_mb:.2f} MB | {pdf_mb:.2f} MB | {len(figures)} files, "
          f"{fig_mb:.1f} MB |")  # fmt: skip


if __name__ == "__main__":
    main()
