"""Screening (`eisfit.screening`) on synthetic and real spectra: false alarms and catches.

Run ``python bench/screening_bench.py [--n 500] [--seed 1]``.  It prints

* synthetic: ``--n`` spectra of the shipped models (``circuits/*.toml``) with random
  values (arcs spread over the band, apexes a decade apart, 0.1-1 uH leads), random bands
  (f_max 100 kHz - 7 MHz, f_min 10 mHz - 10 Hz, 5-20 points per decade) and 0.5-2 %
  proportional noise (`eisfit.synthetic.simulate`): the share with any finding (false
  alarms, per kind) and how the noise estimate compares with the noise put in, then the
  share caught of each injected defect:

  - spike: one point moved by 10-30 % of |Z| in a random direction (caught: an outlier
    or inductive_artefact finding names it);
  - negative real part: Z' of the whole spectrum lowered by Z'(f_max) plus 10-30 % of
    |Z(f_max)| (an over-compensated series resistance; caught: every point with Z' below
    -8 times the noise simulate added is named by negative_real or inductive_artefact);
  - truncated sibling: five spectra of one cell, one of them missing its low-frequency
    half (caught: that one is ``truncated``; the four others staying clean is counted
    among the false alarms of the sibling check);

* real: when ``../shared/real-data`` exists, every spectrum eisfit reads from it,
  screened with the other spectra of its file as siblings: spectra with findings and
  the count per kind.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

import eisfit
from eisfit.screening.points import NOISE_MULTIPLE
from eisfit.screening.screen import estimate_noise, screen, screen_all
from eisfit.synthetic import cpe_q, simulate

ROOT = Path(__file__).resolve().parents[1]
POINT_KINDS = ("outlier", "inductive_artefact")


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def random_values(
    rng: np.random.Generator, circuit: str, f_min_hz: float, f_max_hz: float
) -> dict[str, float]:
    """Random, realistic values for a shipped model's circuit over the given band."""
    arcs = sorted(int(m) for m in re.findall(r"p\(R(\d+),CPE\d+\)", circuit))
    values: dict[str, float] = {}
    if "L0" in circuit:
        values["L0.L"] = _log_uniform(rng, 1e-7, 1e-6)
    values["R0.R"] = _log_uniform(rng, 1.0, 500.0)
    low, high = np.log10(f_min_hz) + 0.5, np.log10(f_max_hz) + 0.3
    while True:
        apex = np.sort(rng.uniform(low, high, len(arcs)))[::-1]
        if len(arcs) < 2 or np.all(-np.diff(apex) >= 1.0):
            break
    for i, log_f0 in zip(arcs, apex, strict=True):
        r, n = _log_uniform(rng, 20.0, 5000.0), rng.uniform(0.7, 1.0)
        values |= {f"R{i}.R": r, f"CPE{i}.Q": cpe_q(r, 10**log_f0, n), f"CPE{i}.n": n}
    for i in re.findall(r"(?<![,(])CPE(\d+)(?!\))", circuit):
        values |= {f"CPE{i}.Q": _log_uniform(rng, 1e-7, 1e-5), f"CPE{i}.n": rng.uniform(0.75, 0.95)}
    return values


def random_case(rng: np.random.Generator, models: dict) -> tuple[str, dict, np.ndarray, float]:
    """(circuit, values, frequencies high to low, noise) of one random synthetic spectrum."""
    model = models[rng.choice(sorted(models))]
    f_max = float(rng.choice([1e5, 1e6, 3e6, 7e6]))
    f_min = float(rng.choice([1e-2, 0.1, 1.0, 10.0]))
    per_decade = int(rng.choice([5, 7, 10, 15, 20]))
    n = round(np.log10(f_max / f_min) * per_decade) + 1
    frequency = np.logspace(np.log10(f_max), np.log10(f_min), n)
    values = random_values(rng, model.circuit, f_min, f_max)
    return model.circuit, values, frequency, float(rng.uniform(0.005, 0.02))


def _names(spectrum: eisfit.Spectrum, kinds: tuple[str, ...]) -> set[int]:
    return {i for f in spectrum.meta.findings if f.kind in kinds for i in f.points}


def synthetic(n: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    models = eisfit.load_models()
    alarms: Counter = Counter()
    caught: Counter = Counter()
    any_alarm = sibling_alarm = 0
    ratios: list[float] = []
    spikes: dict[tuple[str, bool], list[bool]] = {}
    for key in (("inside", True), ("inside", False), ("end", True), ("end", False)):
        spikes[key] = []
    start = time.perf_counter()
    for _ in range(n):
        circuit, values, frequency, noise = random_case(rng, models)
        clean = screen(simulate(circuit, values, frequency, noise=noise, rng=rng))
        ratios.append(estimate_noise(clean) / noise)
        kinds = {f.kind for f in clean.meta.findings}
        alarms.update(kinds)
        any_alarm += bool(kinds)
        # a spike
        z = clean.impedance_ohm.copy()
        i = int(rng.integers(z.size))
        size = rng.uniform(0.1, 0.3)
        z[i] += size * abs(z[i]) * np.exp(2j * np.pi * rng.uniform())
        spiked = screen(eisfit.Spectrum(frequency, z))
        found = i in _names(spiked, POINT_KINDS)
        caught["spike"] += found
        end = i in (0, z.size - 1)
        spikes[("end" if end else "inside", size >= 10 * noise)].append(found)
        # a negative real part (over-compensated series resistance)
        z = clean.impedance_ohm.copy()
        z -= z[0].real + rng.uniform(0.1, 0.3) * abs(z[0])
        negative = screen(eisfit.Spectrum(frequency, z))
        scatter = noise * np.abs(clean.impedance_ohm)  # the noise simulate added, in ohm
        clear = np.flatnonzero(z.real < -2 * NOISE_MULTIPLE * scatter)
        named = _names(negative, ("negative_real", "inductive_artefact"))
        caught["negative_real"] += set(clear.tolist()) <= named
        # a truncated sibling
        siblings = [simulate(circuit, values, frequency, noise=noise, rng=rng) for _ in range(5)]
        cut = np.log10(frequency) >= np.median(np.log10(frequency))
        siblings[2] = siblings[2].mask(cut)
        screened = screen_all(siblings)
        truncated = [any(f.kind == "truncated" for f in s.meta.findings) for s in screened]
        caught["truncated"] += truncated[2]
        sibling_alarm += any(truncated[:2] + truncated[3:])
    return {
        "n": n,
        "any_alarm": any_alarm,
        "alarms": dict(alarms),
        "caught": dict(caught),
        "sibling_alarm": sibling_alarm,
        "spikes": spikes,
        "noise_ratio": np.percentile(ratios, [5, 50, 95]),
        "seconds": time.perf_counter() - start,
    }


def real() -> dict[str, object] | None:
    sys.path.insert(0, str(ROOT / "tests"))
    from reader_checks import REAL

    if not REAL.exists():
        return None
    from real_corpus_table import manifest_rows, outcome

    kinds: Counter = Counter()
    flagged = total = 0
    lines = []
    for row in manifest_rows():
        result = outcome(row)
        if result.status != "read":
            continue
        for spectrum in screen_all(result.spectra):
            total += 1
            found = sorted({f.kind for f in spectrum.meta.findings})
            kinds.update(found)
            if found:
                flagged += 1
                lines.append(f"  {row.path} #{spectrum.meta.index}: {', '.join(found)}")
    return {"spectra": total, "flagged": flagged, "kinds": dict(kinds), "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list", action="store_true", help="list the flagged real spectra")
    args = parser.parse_args()
    out = synthetic(args.n, args.seed)
    n = out["n"]
    print(f"synthetic: {n} spectra, 0.5-2 % noise, seed {args.seed} ({out['seconds']:.1f} s)")
    low, mid, high = out["noise_ratio"]
    print(f"  noise estimate / true noise: median {mid:.2f} (5-95 %: {low:.2f}-{high:.2f})")
    print(
        f"  clean spectra with any finding: {out['any_alarm']} ({100 * out['any_alarm'] / n:.1f} %)"
    )
    for kind, count in sorted(out["alarms"].items()):
        print(f"    {kind}: {count}")
    print(
        f"  truncated said of a full-band sibling: {out['sibling_alarm']} of {n} sets"
        f" ({100 * out['sibling_alarm'] / n:.1f} %)"
    )
    for kind, count in out["caught"].items():
        print(f"  caught {kind}: {count} of {n} ({100 * count / n:.1f} %)")
    for (where, large), found in out["spikes"].items():
        share = f"{100 * np.mean(found):.0f} %" if found else "-"
        size = ">= 10" if large else "< 10"
        print(f"    spikes {where} the band, {size} times the noise: {share} of {len(found)}")
    corpus = real()
    if corpus is None:
        print("real: ../shared/real-data not present")
        return
    print(
        f"real: {corpus['spectra']} spectra, {corpus['flagged']} with findings;"
        f" per kind: {corpus['kinds']}"
    )
    if args.list:
        print("\n".join(corpus["lines"]))


if __name__ == "__main__":
    main()
