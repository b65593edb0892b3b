"""Benchmark: what eisfit says about every real export of the shared corpus.

Every file of ``../shared/real-data/MANIFEST.tsv`` is read; every spectrum is fitted with
every named model (``circuits/*.toml``, with the model's bounds and roles) and analysed
for a 1 cm2, 0.1 cm symmetric cell.  Per fit it records the status and checks the
honesty invariants of issue 12:

* no ``ok`` fit has a parameter on a bound (other than the natural limits n = 1 and
  L = 0), a non-finite parameter, or a derived quantity (resistance, capacitance, apex
  frequency, ASR, conductivity) above 1e12 in magnitude;
* no derived quantity is reported from an undetermined parameter (a role whose
  elements hold an undetermined parameter has no resistance, ASR or conductivity).

The model that *suits* a spectrum is the one with the lowest BIC among its fits that the
data determine (ok or warning), else among the undetermined ones: its status is
tabulated per format, together with ``error`` for files that could not be read (counted
once per file).  The invariants are those of ``tests/honesty_checks.py``, which the
real-data tests assert.

The script runs against whichever eisfit is importable, so the same script measures an
older checkout (``PYTHONPATH=/path/to/old/checkout``); fits of a version without a
status vocabulary are read as ``ok`` (success) or ``failed``.  ``--json`` saves the
records and ``--compare BEFORE.json AFTER.json`` prints both side by side.

Usage:  python bench/real_data_bench.py [--json out.json] [--limit N]
        python bench/real_data_bench.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import eisfit
from eisfit.physics import Cell, analyse, load_models

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from honesty_checks import check_fit, status_of

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
STATUSES = ("ok", "warning", "undetermined", "failed", "error")
BIG = 1e12
CELL = Cell(1.0, 0.1)


def manifest() -> list[dict[str, str]]:
    with open(REAL / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def run(limit: int | None) -> dict[str, Any]:
    models = load_models()
    files, spectra = [], []
    rows = manifest()[:limit]
    t0 = time.perf_counter()
    for row in rows:
        path = REAL / row["path"]
        try:
            read = eisfit.read(path)
        except eisfit.EisfitError as exc:
            files.append({"path": row["path"], "format": row["format"], "error": str(exc)[:200]})
            continue
        files.append({"path": row["path"], "format": row["format"], "n": len(read)})
        for s in read:
            rec: dict[str, Any] = {"path": row["path"], "format": row["format"],
                                   "index": s.meta.index, "fits": {}}  # fmt: skip
            for name, model in models.items():
                bounds = dict(model.bounds or {})
                try:
                    result = eisfit.fit(s, model.circuit, bounds=bounds or None, kk=False)
                    analysis = analyse(result, CELL, roles=model.roles)
                except eisfit.EisfitError as exc:
                    rec["fits"][name] = {"status": "error", "message": str(exc)[:200]}
                    continue
                broken = check_fit(result, analysis, result.model, bounds)
                rec["fits"][name] = {
                    "status": status_of(result),
                    "bic": result.bic if math.isfinite(result.bic) else None,
                    "broken": broken,
                }
            spectra.append(rec)
    return {
        "eisfit_version": eisfit.__version__,
        "elapsed_s": time.perf_counter() - t0,
        "files": files,
        "spectra": spectra,
    }


_PREFERENCE = {"ok": 0, "warning": 0, "undetermined": 1}


def _chosen(rec: dict[str, Any]) -> str:
    """The status of the model that suits the spectrum: among the fits the data determine
    (ok, warning) the lowest BIC, else among the undetermined ones, else failed."""
    usable = [
        (_PREFERENCE[f["status"]], f["bic"], f["status"]) for f in rec["fits"].values()
        if f["status"] in _PREFERENCE and f.get("bic") is not None
    ]  # fmt: skip
    if not usable:
        return "failed"
    return min(usable)[2]


def tables(data: dict[str, Any]) -> tuple[dict[str, Counter], Counter, list[str]]:
    """Per format: statuses of the suited model's fit (+ error files); all broken rules."""
    per: dict[str, Counter] = defaultdict(Counter)
    for f in data["files"]:
        if "error" in f:
            per[f["format"]]["error"] += 1
    for rec in data["spectra"]:
        per[rec["format"]][_chosen(rec)] += 1
    broken: Counter = Counter()
    examples = []
    for rec in data["spectra"]:
        for name, f in rec["fits"].items():
            for b in f.get("broken", ()):
                kind = b.split(" = ")[0].split(" with ")[0] if " from " not in b else "derived"
                broken[kind if " from " not in b else "derived from undetermined"] += 1
                if len(examples) < 12:
                    examples.append(f"{rec['path']} #{rec['index']} {name}: {b}")
    return per, broken, examples


def _row(counts: Counter) -> str:
    return " / ".join(str(counts.get(s, 0)) for s in STATUSES)


def markdown(data: dict[str, Any], other: dict[str, Any] | None = None) -> str:
    per, broken, examples = tables(data)
    head = "ok / warning / undetermined / failed / error"
    lines = []
    if other is None:
        lines += [f"| format | {head} |", "|---|---|"]
        for fmt in sorted(per):
            lines.append(f"| {fmt} | {_row(per[fmt])} |")
        total = sum(per.values(), Counter())
        lines.append(f"| **all** | {_row(total)} |")
    else:
        per_b, broken_b, _ = tables(other)
        lines += [f"| format | before: {head} | after: {head} |", "|---|---|---|"]
        for fmt in sorted(set(per) | set(per_b)):
            lines.append(f"| {fmt} | {_row(per_b[fmt])} | {_row(per[fmt])} |")
        total, total_b = sum(per.values(), Counter()), sum(per_b.values(), Counter())
        lines.append(f"| **all** | {_row(total_b)} | {_row(total)} |")
        lines += ["", "broken invariants before (all models, all spectra):"]
        lines += [f"- {k}: {v}" for k, v in sorted(broken_b.items())] or ["- none"]
    n_fits = sum(len(r["fits"]) for r in data["spectra"])
    lines += ["", f"broken invariants ({n_fits} fits of {len(data['spectra'])} spectra):"]
    lines += [f"- {k}: {v}" for k, v in sorted(broken.items())] or ["- none"]
    lines += [f"  - {e}" for e in examples]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="save the records here")
    parser.add_argument("--limit", type=int, help="only the first N MANIFEST rows")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.compare)
        print(markdown(after, before))
        return
    if not REAL.exists():
        raise SystemExit(f"no real data at {REAL}")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        data = run(args.limit)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    print(f"eisfit {data['eisfit_version']}, {data['elapsed_s']:.0f} s\n")
    print(markdown(data))


if __name__ == "__main__":
    main()
