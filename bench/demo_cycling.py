"""Fit every spectrum of a multi-spectrum CSV and print R values over the run.

A stop-gap for `make demo` until the batch command exists: it shows the fitter on the
bundled cycling run, with warm starts from the previous spectrum's fit.
Usage: python bench/demo_cycling.py FILE CIRCUIT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import eisfit
from eisfit.io import read_csv


def main(path: str, circuit: str) -> int:
    spectra = read_csv(path)
    truth_file = Path(path).with_name("ground_truth.json")
    truth = json.loads(truth_file.read_text()) if truth_file.exists() else None
    print(f"{len(spectra)} spectra in {path}, circuit {circuit}")
    r2_truth = truth["cycling"]["R2_ohm"] if truth else [float("nan")] * len(spectra)
    print(
        f"{'#':>3} {'R0/ohm':>9} {'R1/ohm':>9} {'R2/ohm':>9} {'+/-':>6} {'R2 truth':>9} "
        f"{'ms':>6}  status"
    )
    previous = None
    t_all = time.perf_counter()
    for spectrum, r2_true in zip(spectra, r2_truth, strict=True):
        result = eisfit.fit(spectrum, circuit, initial=previous, kk=False)
        if result.success:
            previous = dict(result.values)
        v, e = result.values, result.stderr
        print(
            f"{spectrum.meta.index:>3} {v['R0.R']:>9.2f} {v['R1.R']:>9.2f} {v['R2.R']:>9.2f} "
            f"{e['R2.R']:>6.2f} {r2_true:>9.2f} {1e3 * result.elapsed_s:>6.1f}  {result.message}"
        )
    print(f"total {time.perf_counter() - t_all:.2f} s")
    if truth is not None:
        print(f"ground truth: {truth_file} ({truth['cycling']['growth_law']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
