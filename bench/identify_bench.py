"""Benchmark (issue 16, item 4b): automatic circuit identification on a synthetic set.

The set is generated here from realistic solid-state ranges (shared/docs/domain.md sec. 1,
2): 71 points from 1 MHz to 0.1 Hz (10 per decade); 1-4 R||CPE arcs (R 30-3000 ohm,
n 0.7-0.95, apexes between 10^-0.5 and 10^5.5 Hz) after an intercept R0 of 5-300 ohm;
with or without a lead inductance (0.2-2 uH); ending in a closed arc, a blocking spike
(series CPE, n 0.8-0.95), a semi-infinite Warburg or a Gerischer element (both about as
large as the last arc, a decade or more below it); proportional noise of 0.5, 1 or 2 %
(`eisfit.synthetic.simulate`); neighbouring apexes 0.6-1.0 decade apart ("overlapping")
or 1.0-2.0 decades apart ("separated"), squeezed when the band is too short for them
(the table bins the smallest separation actually used).

**Scoring.**  A circuit is compared with the truth by structure: an R||C arc counts as
the R||CPE it stands for (n near 1 is a tie between them, `eisfit.identification`), and a lead
inductance whose reactance at 1 MHz stays below 3 noise standard deviations of |Z|
there is invisible: with or without L0 is then right.

* **correct**: the chosen circuit has the truth's structure;
* **tie**: it has not, but the truth's structure is among the circuits the
  identification names as tied with its choice (`Identification.ties`: same tier,
  within `eisfit.physics.ranking.TIE_BIC` = 6 BIC units, i.e. they fit the data
  equally well to within the noise), so the answer says the data cannot tell them
  apart;
* **wrong**: neither.

Side by side, on the same spectra: *lowest BIC* (the lowest BIC among the candidates
identify fitted, no other rule), *fit_best* of this version (the same candidates
refitted by `eisfit.physics.selection.fit_best`, which now ranks as identify does) and,
with ``--before``, *fit_best before* issue 16 (`eisfit/physics/selection.py` of commit
d38d1d7, loaded from git, whose Na-cell rules ran with default geometry), both without
a cell: a general set has none.  Times are identify's wall time per spectrum (all its
candidate fits, lin-KK, DRT and the final fit) on this machine with the load average
printed next to them, and its CPU time (`time.process_time`, all threads of this
process), which other people's load inflates less.

**Distinguishable**: a spectrum's generating structure is distinguishable at its noise
level when, fitted alongside every candidate identify tried
(``identify(spectrum, candidates=[...tried, truth])``, the same ranking), it wins and
every circuit tied with it has its structure: the data then single it out.  Otherwise
some other structure fits the data to within the noise (a tie) or better, and no method
can be right about that spectrum except by luck; "right|dist" is the accuracy on the
distinguishable ones, the figure issue 16's target (>= 90 %) is about.

Usage:  python bench/identify_bench.py [--n 240] [--seed 0] [--fit-best] [--before]
        [--misses]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import eisfit
from eisfit.identification import identify
from eisfit.synthetic import cpe_q, simulate

FREQUENCY_HZ = np.logspace(6, -1, 71)
TOP, BOTTOM = 5.5, -0.5  # log10 Hz range of arc apexes
NOISES = (0.005, 0.01, 0.02)
TAILS = ("", "CPE", "W", "G")
TAIL_NAMES = {"": "closed", "CPE": "spike", "W": "Warburg", "G": "Gerischer"}
BEFORE = "d38d1d7"


@dataclass(frozen=True)
class Case:
    circuit: str
    values: dict[str, float]
    label: str  # class: "2 arcs + W"
    inductance_visible: bool
    noise: float
    min_separation: float  # decades between the closest apexes (inf for one arc)


def _lu(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(math.log(lo), math.log(hi))))


def _case(rng: np.random.Generator, n_arcs: int, tail: str, inductance: bool, noise: float,
          overlapping: bool) -> Case:  # fmt: skip
    seps = rng.uniform(*((0.6, 1.0) if overlapping else (1.0, 2.0)), size=n_arcs - 1)
    floor = 1.0 if tail else BOTTOM
    if seps.sum() > TOP - floor:
        seps *= (TOP - floor) / seps.sum()
    top = rng.uniform(min(floor + seps.sum(), TOP), TOP)
    apexes = top - np.concatenate([[0.0], np.cumsum(seps)])
    values = {"R0.R": _lu(rng, 5, 300)}
    parts = ["R0"]
    if inductance:
        values["L0.L"] = _lu(rng, 2e-7, 2e-6)
        parts.insert(0, "L0")
    for i, apex in enumerate(apexes, start=1):
        r, n = _lu(rng, 30, 3000), rng.uniform(0.7, 0.95)
        values |= {f"R{i}.R": r, f"CPE{i}.Q": cpe_q(r, 10**apex, n), f"CPE{i}.n": n}
        parts.append(f"p(R{i},CPE{i})")
    k, r_last, below = n_arcs + 1, values[f"R{n_arcs}.R"], apexes[-1] - rng.uniform(1.0, 1.5)
    omega = 2 * math.pi * 10**below
    if tail == "CPE":
        n = rng.uniform(0.8, 0.95)
        values |= {f"CPE{k}.Q": 1.0 / (r_last * rng.uniform(0.5, 2) * omega**n), f"CPE{k}.n": n}
    elif tail == "W":
        values[f"W{k}.Aw"] = r_last * rng.uniform(0.5, 2) * math.sqrt(omega / 2)
    elif tail == "G":
        values |= {f"G{k}.R": r_last * rng.uniform(0.5, 2), f"G{k}.tau": 1.0 / omega}
    if tail:
        parts.append(f"{tail}{k}")
    circuit = "-".join(parts)
    z_top = eisfit.compile_circuit(circuit).impedance(
        eisfit.compile_circuit(circuit).vector(values), FREQUENCY_HZ[:1]
    )[0]
    visible = inductance and 2 * math.pi * 1e6 * values["L0.L"] > 3 * noise * abs(z_top)
    label = f"{n_arcs} arc{'s' if n_arcs > 1 else ''}" + (f" + {tail}" if tail else "")
    sep = float(seps.min()) if seps.size else math.inf
    return Case(circuit, values, label, visible, noise, sep)


def generate(n: int, seed: int) -> list[Case]:
    """``n`` cases cycling through arcs x tail x inductance x noise x overlap."""
    rng = np.random.default_rng(seed)
    grid = [
        (a, t, ind, noise, ov)
        for a in (1, 2, 3, 4)
        for t in TAILS
        for ind in (False, True)
        for noise in NOISES
        for ov in (False, True)
        if not (a == 1 and ov)  # one arc has no neighbour
    ]
    order = rng.permutation(len(grid))
    return [_case(rng, *grid[order[i % len(grid)]]) for i in range(n)]


def normalised(circuit: str) -> str:
    """Structure text: R||C as R||CPE, spaces out."""
    return re.sub(r"p\(R(\d+),C\1\)", r"p(R\1,CPE\1)", circuit.replace(" ", ""))


def matches(circuit: str, case: Case) -> bool:
    got, truth = normalised(circuit), normalised(case.circuit)
    if not case.inductance_visible:
        got, truth = got.removeprefix("L0-"), truth.removeprefix("L0-")
    return got == truth


def _load_before(folder: Path) -> types.ModuleType | None:
    """fit_best as of commit `BEFORE`: its file written to ``folder`` (relative imports
    made absolute) and imported from there."""
    root = Path(__file__).resolve().parents[1]
    try:
        text = subprocess.run(
            ["git", "show", f"{BEFORE}:eisfit/physics/selection.py"], cwd=root,
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    text = text.replace("from ..", "from eisfit.").replace("from .", "from eisfit.physics.")
    path = folder / "selection_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("selection_before", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules["selection_before"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_one(case: Case, seed: int, fit_best: object | None, before: object | None) -> dict:
    spectrum = simulate(case.circuit, case.values, FREQUENCY_HZ, noise=case.noise,
                        rng=np.random.default_rng(seed))  # fmt: skip
    cpu0 = time.process_time()
    found = identify(spectrum)
    cpu = time.process_time() - cpu0
    outcome = (
        "correct" if matches(found.circuit, case)
        else "tie" if any(matches(t, case) for t in found.ties) else "wrong"
    )  # fmt: skip
    finite = [c for c in found.ranking if math.isfinite(c.bic)]
    lowest = min(finite, key=lambda c: c.bic).circuit if finite else found.circuit
    row = {
        "case": case, "outcome": outcome, "chosen": found.circuit, "status": found.status,
        "seconds": found.elapsed_s, "cpu_seconds": cpu, "lowest_bic": matches(lowest, case),
        "truth_tried": any(matches(c.circuit, case) for c in found.ranking),
        "n_candidates": len(found.ranking),
    }  # fmt: skip
    circuits = list(dict.fromkeys(c.circuit for c in found.ranking))
    oracle = identify(spectrum, candidates=list(dict.fromkeys([*circuits, case.circuit])))
    row["distinguishable"] = oracle.status != "none" and all(
        matches(c, case) for c in (oracle.circuit, *oracle.ties)
    )
    for key, module in (("fit_best", fit_best), ("before", before)):
        if module is not None:
            row[key] = matches(module.fit_best(spectrum, circuits).result.circuit, case)
    return row


def _pct(rows: list[dict], test) -> str:
    return f"{100 * sum(1 for r in rows if test(r)) / len(rows):5.1f}" if rows else "    -"


def table(rows: list[dict], keys: list[str]) -> list[str]:
    def line(name: str, group: list[dict]) -> str:
        dist = [r for r in group if r["distinguishable"]]
        cells = [
            f"{len(group):4d}",
            _pct(group, lambda r: r["outcome"] == "correct"),
            _pct(group, lambda r: r["outcome"] != "wrong"),
            _pct(group, lambda r: r["lowest_bic"]),
            _pct(group, lambda r: r["distinguishable"]),
            _pct(dist, lambda r: r["outcome"] == "correct"),
        ]
        cells += [_pct(group, lambda r, k=k: r[k]) for k in keys]
        return (
            f"{name:<24}"
            + "  ".join(cells[:5])
            + f"  {cells[5]:>10}"
            + "".join(f"  {c:>8}" for c in cells[6:])
        )

    head = (
        f"{'':<24}{'n':>4}  {'right':>5}  {'+ties':>5}  {'minBIC':>6}  {'dist':>5}  "
        f"{'right|dist':>5}"
    ) + "".join(f"  {k:>8}" for k in keys)
    out = [head]
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["case"].label].append(r)
    out += [line(name, groups[name]) for name in sorted(groups)]
    out.append(line("all", rows))
    for noise in NOISES:
        out.append(line(f"noise {100 * noise:g} %", [r for r in rows if r["case"].noise == noise]))
    for lo, hi in ((0, 0.75), (0.75, 1.0), (1.0, 1.5), (1.5, math.inf)):
        group = [r for r in rows if lo <= r["case"].min_separation < hi]
        out.append(line(f"closest apexes {lo:g}-{hi:g} dec", group))
    one = [r for r in rows if r["case"].min_separation == math.inf]
    out.append(line("one arc (no neighbour)", one))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit-best", action="store_true", help="also run fit_best (slower)")
    parser.add_argument("--before", action="store_true", help="also fit_best before issue 16")
    parser.add_argument("--misses", action="store_true", help="list every wrong answer")
    args = parser.parse_args()
    from eisfit.physics import selection

    before = _load_before(Path(tempfile.mkdtemp())) if args.before else None
    fit_best = selection if args.fit_best else None
    keys = [k for k, m in (("fit_best", fit_best), ("before", before)) if m is not None]
    cases = generate(args.n, args.seed)
    identify(simulate(cases[0].circuit, cases[0].values, FREQUENCY_HZ))  # warm-up (compiles)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    rows = [run_one(c, args.seed * 100_000 + i, fit_best, before) for i, c in enumerate(cases)]
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    seconds = np.array([r["seconds"] for r in rows])
    print(f"identify bench: {len(rows)} spectra, seed {args.seed}, {wall:.0f} s wall, "
          f"load average {load0[0]:.2f} -> {load1[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"identify time per spectrum: median {1e3 * np.median(seconds):.0f} ms, "
          f"90th percentile {1e3 * np.percentile(seconds, 90):.0f} ms, "
          f"max {1e3 * seconds.max():.0f} ms; candidates per spectrum: median "
          f"{np.median([r['n_candidates'] for r in rows]):.0f}")  # fmt: skip
    cpu = np.array([r["cpu_seconds"] for r in rows])
    print(f"identify CPU time per spectrum (this process, all threads): median "
          f"{1e3 * np.median(cpu):.0f} ms, 90th percentile {1e3 * np.percentile(cpu, 90):.0f} "
          "ms (less sensitive to other people's load than wall time)")  # fmt: skip
    missed = sum(1 for r in rows if not r["truth_tried"])
    print(f"truth's structure not among the candidates tried: {missed} of {len(rows)}")
    dist = [r for r in rows if r["distinguishable"]]
    lost = sum(1 for r in dist if not r["truth_tried"])
    print(f"distinguishable spectra: {len(dist)} of {len(rows)}; among them the truth was "
          f"not tried (a search miss) in {lost}")  # fmt: skip
    print("accuracy in % (right: chosen = truth; +ties: or truth named as tied; minBIC: "
          "plain lowest BIC among the same candidates; dist: share of spectra whose truth is "
          "distinguishable; right|dist: right among those)")  # fmt: skip
    print("\n".join(table(rows, keys)))
    if args.misses:
        for r in rows:
            if r["outcome"] == "wrong":
                c = r["case"]
                tag = " [distinguishable]" if r["distinguishable"] else ""
                print(f"MISS {c.label:<14} noise {100 * c.noise:g}% sep {c.min_separation:.2f}: "
                      f"truth {c.circuit} chose {r['chosen']} ({r['status']}){tag}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
