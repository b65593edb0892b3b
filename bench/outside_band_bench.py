"""Benchmark: does eisfit reach the best minimum when an arc lies outside the band?

Issue 12 ("statuses that contradict the numbers") reports fits 130-170x above the best
minimum on noise-free solid-state spectra whose circuit needs an arc with its apex
outside the measured band (only its tail visible).  This benchmark builds its own set in
that spirit: nine circuit families of Na | SSE | Na and blocking cells (impedance.py
notation), 71 points from 1 MHz to 0.1 Hz (10 per decade), parameters in the ranges of
the domain notes (`shared/docs/domain.md`, sec. 1: bulk and grain-boundary apexes at
kHz-MHz, interphase (SOLI) 1 Hz-2 kHz, lead inductance 0.1-1 uH, blocking CPE
1e-6-1e-5 S s^n), each spectrum noise-free and again with 0.5 % proportional noise.
Every other spectrum of a family has one arc whose apex lies 0.3-1.5 decades outside the
band: above 1 MHz for the high-frequency arc (its top is cut off), below 0.1 Hz for the
low-frequency one (only its tail is measured).

*Reference minimum* of a spectrum: the lowest modulus-weighted cost among eisfit's fit
(no starting values), a local fit started at the truth (``initial=truth, n_starts=1``)
and, with ``--wide``, eisfit with 48 starts.  A fit *reaches* it when its cost is within
1e-3 relative of it, or within 1e-20 absolute on noise-free data (whose reference is
about 0).  Per family the table gives reach, the statuses of the fits that miss and of
those that reach (``failed`` among them is a contradiction), and the median wall time
of eisfit's fit.  ``--misses`` lists every miss: where each arc of the truth and of the
fit lies (apex frequency, resistance) and the fit's message.

Nothing is written into the repository; the table goes to stdout (``--json`` writes the
rows elsewhere when asked).

Usage:  python bench/outside_band_bench.py [--n 20] [--seed 0] [--misses] [--wide]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import eisfit
from eisfit.notation.model import compile_circuit
from eisfit.status import STATUSES
from eisfit.synthetic import cpe_q, simulate

FREQUENCY_HZ = np.logspace(6, -1, 71)
BAND_DECADES = (-1.0, 6.0)  # log10 of the band edges (Hz)
NOISE = 0.005
Values = dict[str, float]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _outside_apex(rng: np.random.Generator, side: str) -> float:
    """An apex 0.3-1.5 decades above (``high``) or below (``low``) the band (Hz)."""
    beyond = rng.uniform(0.3, 1.5)
    return 10.0 ** (BAND_DECADES[1] + beyond if side == "high" else BAND_DECADES[0] - beyond)


def _arc(
    out: Values, k: int, r_ohm: float, apex_hz: float, n: float | None, *, ideal: bool = False
) -> None:
    """R||CPE (or R||C when ``ideal``) number ``k`` with its apex at ``apex_hz``."""
    out[f"R{k}.R"] = r_ohm
    if ideal:
        out[f"C{k}.C"] = 1.0 / (2.0 * math.pi * apex_hz * r_ohm)
    else:
        assert n is not None
        out[f"CPE{k}.Q"] = cpe_q(r_ohm, apex_hz, n)
        out[f"CPE{k}.n"] = n


@dataclass(frozen=True)
class Family:
    name: str
    circuit: str
    draw: Callable[[np.random.Generator, str | None], Values]
    sides: tuple[str, ...]  # where an arc may be put outside the band


def _gb(rng: np.random.Generator, side: str | None, lo: float = 2e4, hi: float = 5e5) -> float:
    return _outside_apex(rng, "high") if side == "high" else _log_uniform(rng, lo, hi)


def _soli(rng: np.random.Generator, side: str | None, lo: float = 1.0, hi: float = 2e3) -> float:
    return _outside_apex(rng, "low") if side == "low" else _log_uniform(rng, lo, hi)


def _one_arc(rng: np.random.Generator, side: str | None) -> Values:
    v = {"R0.R": _log_uniform(rng, 20, 500)}
    apex = _outside_apex(rng, side) if side else _log_uniform(rng, 10, 1e5)
    _arc(v, 1, _log_uniform(rng, 100, 5000), apex, rng.uniform(0.7, 0.95))
    return v


def _two_arcs(rng: np.random.Generator, side: str | None, *, ideal: bool = False) -> Values:
    v = {"R0.R": _log_uniform(rng, 20, 500)}
    _arc(v, 1, _log_uniform(rng, 50, 2000), _gb(rng, side), rng.uniform(0.8, 1.0), ideal=ideal)
    _arc(v, 2, _log_uniform(rng, 100, 5000), _soli(rng, side), rng.uniform(0.65, 0.9), ideal=ideal)
    return v


def _with_lead(draw: Callable[..., Values]) -> Callable[[np.random.Generator, str | None], Values]:
    def with_lead(rng: np.random.Generator, side: str | None) -> Values:
        return {"L0.L": _log_uniform(rng, 1e-7, 1e-6), **draw(rng, side)}

    return with_lead


def _three_arcs(rng: np.random.Generator, side: str | None) -> Values:
    v = {"R0.R": _log_uniform(rng, 1, 20)}
    bulk = _outside_apex(rng, "high") if side == "high" else _log_uniform(rng, 2e5, 1e6)
    _arc(v, 1, _log_uniform(rng, 200, 5000), bulk, rng.uniform(0.85, 1.0))
    _arc(v, 2, _log_uniform(rng, 50, 2000), _log_uniform(rng, 2e2, 1e4), rng.uniform(0.8, 1.0))
    _arc(v, 3, _log_uniform(rng, 100, 5000), _soli(rng, side, 0.5, 20), rng.uniform(0.65, 0.9))
    return v


def _blocking(rng: np.random.Generator, side: str | None) -> Values:
    v = {"R0.R": _log_uniform(rng, 20, 500)}
    _arc(v, 1, _log_uniform(rng, 200, 1e4), _gb(rng, side, 1e3, 2e5), rng.uniform(0.75, 1.0))
    v["CPE2.Q"] = _log_uniform(rng, 1e-6, 1e-5)
    v["CPE2.n"] = rng.uniform(0.8, 0.95)
    return v


def _spike(rng: np.random.Generator, side: str | None) -> Values:
    v = _two_arcs(rng, side)
    v["CPE3.Q"] = _log_uniform(rng, 1e-5, 1e-4)
    v["CPE3.n"] = rng.uniform(0.5, 0.8)
    return v


def _mixed(rng: np.random.Generator, side: str | None) -> Values:
    v = {"R0.R": _log_uniform(rng, 20, 500)}
    _arc(v, 1, _log_uniform(rng, 50, 2000), _gb(rng, side), None, ideal=True)
    _arc(v, 2, _log_uniform(rng, 100, 5000), _soli(rng, side), rng.uniform(0.65, 0.9))
    return v


FAMILIES = (
    Family("one arc", "R0-p(R1,CPE1)", _one_arc, ("high", "low")),
    Family("two arcs", "R0-p(R1,CPE1)-p(R2,CPE2)", _two_arcs, ("high", "low")),
    Family("two arcs + L", "L0-R0-p(R1,CPE1)-p(R2,CPE2)", _with_lead(_two_arcs), ("high", "low")),
    Family("three arcs", "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", _three_arcs, ("high", "low")),
    Family(
        "three arcs + L",
        "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
        _with_lead(_three_arcs),
        ("high", "low"),
    ),
    Family("blocking", "R0-p(R1,CPE1)-CPE2", _blocking, ("high",)),
    Family(
        "two R||C arcs",
        "R0-p(R1,C1)-p(R2,C2)",
        lambda rng, side: _two_arcs(rng, side, ideal=True),
        ("high", "low"),
    ),
    Family("R||C + R||CPE", "R0-p(R1,C1)-p(R2,CPE2)", _mixed, ("high", "low")),
    Family("two arcs + spike", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", _spike, ("high", "low")),
)


@dataclass(frozen=True)
class Case:
    family: Family
    values: Values
    side: str | None  # which band edge an arc lies beyond, None: all apexes inside
    noise: float
    spectrum: eisfit.Spectrum


def cases(n: int, seed: int) -> list[Case]:
    """``n`` truths per family (every other one with an arc outside the band), each
    noise-free and at 0.5 % noise."""
    rng = np.random.default_rng(seed)
    out = []
    for fam in FAMILIES:
        for i in range(n):
            side = fam.sides[(i // 2) % len(fam.sides)] if i % 2 else None
            values = fam.draw(rng, side)
            for noise in (0.0, NOISE):
                spectrum = simulate(fam.circuit, values, FREQUENCY_HZ, noise=noise, rng=rng)
                out.append(Case(fam, values, side, noise, spectrum))
    return out


def cost(circuit: str, theta: np.ndarray, spectrum: eisfit.Spectrum) -> float:
    """Sum of squared modulus-weighted residuals (eisfit's default objective)."""
    z_fit = compile_circuit(circuit).impedance(theta, spectrum.frequency_hz)
    diff = (z_fit - spectrum.impedance_ohm) / np.abs(spectrum.impedance_ohm)
    return float(np.sum(diff.real**2 + diff.imag**2))


def arcs(circuit: str, values: dict[str, float]) -> list[str]:
    """Each arc as 'R1 1.2e+03 ohm @ 3.4e+05 Hz' (apex f0 = 1/(2 pi (R Q)^(1/n)))."""
    out = []
    model = compile_circuit(circuit)
    for name in model.names:
        if not name.startswith("R") or name == "R0.R":
            continue
        k = name[1:].split(".")[0]
        r = values[name]
        if f"CPE{k}.Q" in values:
            q, nn = values[f"CPE{k}.Q"], values[f"CPE{k}.n"]
        elif f"C{k}.C" in values:
            q, nn = values[f"C{k}.C"], 1.0
        else:
            continue
        f0 = (
            1.0 / (2.0 * math.pi * (r * q) ** (1.0 / nn))
            if r > 0 and q > 0 and nn > 0
            else math.nan
        )
        out.append(f"R{k} {r:.3g} ohm @ {f0:.3g} Hz")
    return out


def run(n: int, seed: int, wide: bool) -> list[dict]:
    warm = cases(1, seed + 1)
    for c in warm[:: len(warm) // 4 or 1]:  # imports, caches, the compiled kernel
        eisfit.fit(c.spectrum, c.family.circuit, kk=False)
    rows = []
    for c in cases(n, seed):
        circuit = c.family.circuit
        t0 = time.perf_counter()
        ours = eisfit.fit(c.spectrum, circuit, kk=False)
        elapsed = time.perf_counter() - t0
        truth = eisfit.fit(c.spectrum, circuit, initial=c.values, n_starts=1, kk=False)
        costs = {
            "eisfit": cost(circuit, ours.optimum_theta, c.spectrum),
            "from truth": cost(circuit, truth.optimum_theta, c.spectrum),
        }
        if wide:
            many = eisfit.fit(c.spectrum, circuit, n_starts=48, kk=False)
            costs["48 starts"] = cost(circuit, many.optimum_theta, c.spectrum)
        ref = min(costs.values())
        slack = 1e-20 if c.noise == 0 else 0.0
        rows.append(
            {
                "family": c.family.name,
                "circuit": circuit,
                "side": c.side,
                "noise": c.noise,
                "reached": costs["eisfit"] <= ref * (1 + 1e-3) + slack,
                "ratio": costs["eisfit"] / ref if ref > 0 else math.inf,
                "costs": costs,
                "status": ours.status,
                "success": ours.success,
                "message": ours.message,
                "elapsed_s": elapsed,
                "truth_arcs": arcs(circuit, c.values),
                "fit_arcs": arcs(circuit, dict(ours.optimum)),
            }
        )
    return rows


def _statuses(rows: list[dict]) -> str:
    counts = Counter(r["status"] for r in rows)
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "-"


def table(rows: list[dict]) -> str:
    lines = [
        "| family | circuit | spectra | reach: all | apexes inside | one arc outside "
        "| noise-free / 0.5 % | statuses of misses | statuses of reaches | failed among reaches "
        "| median time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups = [[r for r in rows if r["family"] == f.name] for f in FAMILIES] + [rows]
    for sel in groups:
        if not sel:
            continue
        name = sel[0]["family"] if sel is not rows else "all"
        circuit = f"`{sel[0]['circuit']}`" if sel is not rows else ""

        def pct(part: list[dict]) -> str:
            return f"{100 * sum(r['reached'] for r in part) / len(part):.0f} %" if part else "-"

        inside = [r for r in sel if r["side"] is None]
        outside = [r for r in sel if r["side"] is not None]
        clean = [r for r in sel if r["noise"] == 0]
        noisy = [r for r in sel if r["noise"] > 0]
        miss = [r for r in sel if not r["reached"]]
        hit = [r for r in sel if r["reached"]]
        failed = sum(r["status"] == "failed" for r in hit)
        median_ms = 1e3 * float(np.median([r["elapsed_s"] for r in sel]))
        lines.append(
            f"| {name} | {circuit} | {len(sel)} | {pct(sel)} | {pct(inside)} | {pct(outside)} "
            f"| {pct(clean)} / {pct(noisy)} | {_statuses(miss)} | {_statuses(hit)} "
            f"| {failed} | {median_ms:.1f} ms |"
        )
    return "\n".join(lines)


def misses(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if r["reached"]:
            continue
        costs = ", ".join(f"{k} {v:.3g}" for k, v in r["costs"].items())
        out.append(
            f"- {r['family']} (noise {r['noise']:g}, arc outside: {r['side']}): "
            f"{r['ratio']:.6g}x the reference; {costs}; status {r['status']}\n"
            f"  truth: {'; '.join(r['truth_arcs'])}\n"
            f"  fit:   {'; '.join(r['fit_arcs'])}\n"
            f"  message: {r['message']}"
        )
    return "\n".join(out) or "no misses"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="truths per family (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wide", action="store_true", help="48-start fits in the reference")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--json", help="also write the rows as JSON to this path")
    args = parser.parse_args()
    rows = run(args.n, args.seed, args.wide)
    print(table(rows))
    if args.misses:
        print()
        print(misses(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
