"""Benchmark of eisfit's lin-KK check (`eisfit.kk_check`): agreement, false alarms, drift.

Run from the repository root: ``.venv/bin/python bench/kk_bench.py`` (about 15 minutes on
2 cores, most of it pyimpspec; ``--quick`` for a smaller run, ``--no-pyimpspec`` to skip
it).  Prints Markdown tables; writes nothing.

1. Real corpus (``../shared/real-data``, every spectrum eisfit reads with >= 5 points,
   enumerated by ``tests/real_corpus_table.py``'s ``manifest_rows``): eisfit's verdict
   against
   (a) impedance.py's ``linKK(f, Z, c=0.85, max_M=min(N, 50), add_cap=True,
       fit_type="complex")``, judged at eisfit's residual limit.  Its 1.7.1 release
       builds a circuit string from ``repr`` of the fitted values and evaluates it in a
       namespace without numpy; under numpy 2 that repr is ``np.float64(...)`` and the
       call fails (checked below); numpy's legacy print options restore the old repr;
   (b) `independent_linkk` below, written apart from eisfit's code (own tau grid, own
       solve, series C and L always in, mu rule with the F-test lower limit of M that
       eisfit documents), judged at eisfit's residual limit; and (b0) the same without
       the lower limit (Schoenleber's rule alone);
   (c) pyimpspec's ``perform_kramers_kronig_test`` (defaults, impedance representation,
       one process) with its own verdict: its Kolmogorov-Smirnov test of the residuals
       against a normal distribution with its own noise estimate, p >= 0.01 for both the
       real and imaginary parts.  Spectra with more than 200 points are left out of (c):
       one of them takes pyimpspec about 6 minutes.
2. False alarms: synthetic spectra of every model in ``circuits/*.toml`` with random
   realistic parameters (ranges in `random_values`), 0.5-2 % noise, four frequency grids.
3. Drift: the SOLI interphase of gb-soli cells grows during the sweep (design in
   `drifted`); catch rate per noise level and drift size, next to the best any test of
   KK residuals could do (`matched_filter_bound`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import f as f_dist
from scipy.stats import norm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import eisfit  # noqa: E402
from eisfit.errors import EisfitError  # noqa: E402
from eisfit.notation.model import compile_circuit  # noqa: E402
from eisfit.physics.models import load_models  # noqa: E402
from eisfit.spectrum import Spectrum  # noqa: E402
from eisfit.synthetic import cpe_q, random_cell  # noqa: E402

GRIDS = {
    "1 MHz-0.1 Hz, 10/decade": np.logspace(6, -1, 71),
    "7 MHz-10 mHz, 8/decade": np.logspace(math.log10(7e6), -2, 72),
    "100 kHz-1 Hz, 6/decade": np.logspace(5, 0, 31),
    "1 MHz-10 mHz, 20/decade": np.logspace(6, -2, 161),
}


# --------------------------------------------------------------------------- (b) peer


def _design(f: np.ndarray, z: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows real over imaginary, divided by |Z|; columns R0, L, 1/C, m RC elements."""
    w = 2 * np.pi * f
    mag = np.abs(z)
    taus = np.logspace(-np.log10(w.max()), -np.log10(w.min()), m)
    rc = 1.0 / (1.0 + 1j * w[:, None] * taus[None, :])
    cols = np.column_stack([np.ones_like(w), 1j * w, 1.0 / (1j * w), rc]) / mag[:, None]
    a = np.vstack([cols.real, cols.imag])
    return a, np.concatenate([z.real, z.imag]) / np.concatenate([mag, mag])


def independent_linkk(
    f: np.ndarray, z: np.ndarray, *, c: float = 0.85, lower_limit: bool = True
) -> tuple[int, np.ndarray]:
    """(M, relative residuals) of a plain lin-KK written for this benchmark only.

    M grows from 2 until mu = 1 - sum|R_k<0| / sum R_k>=0 falls below ``c``; with
    ``lower_limit`` an M also needs an F-test (1 %) that cannot tell its fit from one
    with 6 RC elements per decade.  Solved by `np.linalg.lstsq` on unit-norm columns.
    """
    n = f.size

    def fit(m: int) -> tuple[np.ndarray, np.ndarray, int]:
        a, b = _design(f, z, m)
        norms = np.linalg.norm(a, axis=0)
        x, _, rank, _ = np.linalg.lstsq(a / norms, b, rcond=None)
        return x / norms, b - (a / norms) @ x, rank

    dense = min(n, math.ceil(6 * math.log10(f.max() / f.min())) + 1)
    _, res_ref, p_ref = fit(dense)
    rss_ref = float(res_ref @ res_ref)
    for m in range(2, n + 1):
        x, res, p = fit(m)
        rk = x[3:]
        pos = rk[rk >= 0].sum()
        mu = 1 - (-rk[rk < 0].sum()) / pos if pos > 0 else -math.inf
        if mu >= c and m < n:
            continue
        if not lower_limit or m >= dense or m == n or p >= p_ref or rss_ref <= 0:
            return m, res
        dof = 2 * n - p_ref
        stat = (float(res @ res) - rss_ref) / (p_ref - p) / (rss_ref / dof)
        if dof > 0 and stat <= f_dist.ppf(0.99, p_ref - p, dof):
            return m, res
    raise AssertionError("unreachable: M = N always returns")


# --------------------------------------------------------------------------- corpus


def corpus_spectra() -> list[tuple[str, Spectrum]]:
    from real_corpus_table import manifest_rows

    out = []
    for row in manifest_rows():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = eisfit.read(row.file)
        except EisfitError:
            continue  # refused by eisfit, as the MANIFEST expects for some files
        out.extend((row.path, s) for s in spectra if len(s) >= 5)
    return out


def impedance_py_check() -> str:
    """Whether impedance.py's linKK runs as released under this numpy."""
    from impedance.validation import linKK

    f = np.logspace(4, -1, 20)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            linKK(f, z, c=0.85, max_M=10, add_cap=True, fit_type="complex")
    except Exception as exc:  # report whatever the peer raises
        return f"fails under numpy {np.__version__}: {type(exc).__name__}: {exc}"
    return f"runs under numpy {np.__version__}"


def impedance_py_residuals(spectrum: Spectrum) -> np.ndarray:
    from impedance.validation import linKK

    f, z = spectrum.frequency_hz, spectrum.impedance_ohm
    legacy = np.printoptions(legacy="1.25")  # the numpy 1 repr its eval() expects
    with legacy, contextlib.redirect_stdout(io.StringIO()):
        _, _, _, res_re, res_im = linKK(
            f, z, c=0.85, max_M=min(f.size, 50), add_cap=True, fit_type="complex"
        )
    return np.concatenate([res_re, res_im])


def pyimpspec_verdict(spectrum: Spectrum) -> bool | str:
    """pyimpspec's verdict, or the error it raised (its own algorithm fails on some data)."""
    import pyimpspec

    data = pyimpspec.DataSet(frequencies=spectrum.frequency_hz, impedances=spectrum.impedance_ohm)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            result = pyimpspec.perform_kramers_kronig_test(data, admittance=False, num_procs=1)
            p_re, p_im = result.perform_kolmogorov_smirnov_test()
    except Exception as exc:  # report whatever the peer raises
        return f"{type(exc).__name__}: {exc}"
    return bool(p_re >= 0.01 and p_im >= 0.01)


def corpus_section(use_pyimpspec: bool) -> list[str]:
    spectra = corpus_spectra()
    rows = []
    t_eisfit = 0.0
    for path, spectrum in spectra:
        t0 = time.perf_counter()
        ours = eisfit.kk_check(spectrum)
        t_eisfit += time.perf_counter() - t0
        f, z = spectrum.frequency_hz, spectrum.impedance_ohm
        limit = ours.residual_limit
        rows.append(
            {
                "name": f"{path} #{spectrum.meta.index}",
                "n": len(spectrum),
                "ours": ours,
                "a": float(np.abs(impedance_py_residuals(spectrum)).max()) < limit,
                "b": float(np.abs(independent_linkk(f, z)[1]).max()) < limit,
                "b0": float(np.abs(independent_linkk(f, z, lower_limit=False)[1]).max()) < limit,
                "old": _old_rule(f, z),
                "c": pyimpspec_verdict(spectrum)
                if use_pyimpspec and len(spectrum) <= 200
                else None,
            }
        )
    n = len(rows)
    verdicts = {
        v: sum(r["ours"].verdict == v for r in rows) for v in ("consistent", "undetermined")
    }
    lines = [
        f"### Real corpus: {n} spectra ({len({r['name'].split(' #')[0] for r in rows})} files)",
        "",
        f"eisfit: {verdicts['consistent']} consistent, {verdicts['undetermined']} undetermined "
        f"(noise above 5 % of |Z|), {n - sum(verdicts.values())} not consistent "
        f"({1000 * t_eisfit / n:.1f} ms per spectrum).  "
        f"Before (no series C, mu rule alone, fixed 2 % limit; re-implemented in the "
        f"benchmark): {sum(not r['old'][0] for r in rows)} not consistent.  impedance.py 1.7.1 "
        f"{impedance_py_check()}.",
        "",
        "Agreement on whether a spectrum is not consistent (eisfit's undetermined counts "
        "with consistent: no residual over the limit).",
        "",
        "| peer (judged at eisfit's limit unless said) | spectra | agree | agreement |",
        "|---|---|---|---|",
    ]
    labels = {
        "b": "(b) independent lin-KK, series C and L, mu rule with the lower limit of M",
        "b0": "(b0) the same, Schoenleber's mu rule alone",
        "a": "(a) impedance.py linKK(add_cap=True), numpy legacy repr",
        "c": "(c) pyimpspec perform_kramers_kronig_test, its own KS verdict (<= 200 points)",
    }
    for key, label in labels.items():
        judged = [r for r in rows if isinstance(r[key], bool)]
        agree = sum(r[key] == _not_flagged(r["ours"]) for r in judged)
        share = f"{100 * agree / len(judged):.1f} %" if judged else "not run"
        lines.append(f"| {label} | {len(judged)} | {agree} | {share} |")
    failed = [r for r in rows if isinstance(r["c"], str)]
    if failed:
        lines += ["", f"pyimpspec raised an error on {len(failed)} spectra (left out of (c)):", ""]
        lines += [f"* {r['name']}: {r['c']}" for r in failed]
    lines += issue_examples(rows)
    lines += ["", "Disagreements with (b) and (c):", ""]
    lines += [
        "| spectrum | N | eisfit | (b) | (c) | eisfit's reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        c_disagrees = isinstance(r["c"], bool) and r["c"] != _not_flagged(r["ours"])
        if r["b"] != _not_flagged(r["ours"]) or c_disagrees:
            word = {True: "consistent", False: "not"}
            lines.append(
                f"| {r['name']} | {r['n']} | {r['ours'].verdict} | {word[r['b']]} | "
                f"{word.get(r['c'], '-') if isinstance(r['c'], bool) else '-'} | "
                f"{r['ours'].reason} |"
            )
    return lines


def _not_flagged(result: eisfit.KKResult) -> bool:
    """Whether eisfit found nothing over its limits: consistent or undetermined.

    Agreement is on that question; "undetermined" (noise above 5 % of |Z|) is a
    qualifier no peer has, and there, too, no residual reached the limit.
    """
    return result.verdict != "not consistent"


def _old_rule(f: np.ndarray, z: np.ndarray) -> tuple[bool, float]:
    """The check before issue 12, re-implemented: no series C, mu alone, 2 % limit.

    (valid, largest residual)."""
    n = f.size
    for m in range(2, n + 1):
        a, b = _design(f, z, m)
        a = np.delete(a, 2, axis=1)  # no series C
        norms = np.linalg.norm(a, axis=0)
        x = np.linalg.lstsq(a / norms, b, rcond=None)[0]
        rk = x[2:] / norms[2:]
        pos = rk[rk >= 0].sum()
        mu = 1 - (-rk[rk < 0].sum()) / pos if pos > 0 else -math.inf
        if mu < 0.85 or m == n:
            largest = float(np.abs(b - (a / norms) @ x).max())
            return largest < 0.02, largest
    raise AssertionError("unreachable: M = N always returns")


ISSUE_EXAMPLES = (
    "jdhuang-csm__hybrid-drt/tutorials/data/PEIS_SSB.mpr",
    "jdhuang-csm__hybrid-drt/tutorials/data/EISGALV_EISTest3.DTA",
)


def issue_examples(rows: list[dict]) -> list[str]:
    """The files issue 12 quotes (the ceramic at 140 C is not in the corpus)."""
    lines = [
        "",
        "Issue 12's examples, before (re-implemented old rule) and now:",
        "",
        "| file | before: largest residual, verdict at 2 % | now: largest residual, "
        "series elements, verdict |",
        "|---|---|---|",
    ]
    for row in rows:
        if row["name"].split(" #")[0] in ISSUE_EXAMPLES:
            ours = row["ours"]
            old_valid, old_max = row["old"]
            lines.append(
                f"| {row['name']} | {100 * old_max:.3g} %, "
                f"{'consistent' if old_valid else 'not consistent'} | "
                f"{100 * ours.max_residual:.2g} %, {ours.elements}, {ours.reason} |"
            )
    return lines


# --------------------------------------------------------------------------- synthetic


def random_values(circuit: str, roles: dict[str, str], rng: np.random.Generator) -> dict:
    """Realistic values for a model's elements by role (docs/physics-notes.md sec. 1, 5).

    L0 0.1-1 uH; R0 20-500 ohm (1-20 ohm as a series lead); arcs by role, with apex
    frequency f0 and CPE exponent n: bulk R 200-5000 ohm, f0 1-5 MHz, n 0.85-1; grain
    boundary 50-2000 ohm, 20 kHz-2 MHz, 0.8-1; SOLI 100-5000 ohm, 5 Hz-2 kHz, 0.65-0.9;
    charge transfer 10-1000 ohm, 0.2-20 Hz, 0.7-0.95; blocking electrode CPE Q 1e-6 to
    1e-4 S s^n, n 0.7-0.95.  Arcs are kept a decade apart in f0 (high to low).
    """

    def log_uniform(lo: float, hi: float) -> float:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    arcs = {
        "bulk": ((200, 5000), (1e6, 5e6), (0.85, 1.0)),
        "grain_boundary": ((50, 2000), (2e4, 2e6), (0.8, 1.0)),
        "soli": ((100, 5000), (5, 2e3), (0.65, 0.9)),
        "charge_transfer": ((10, 1000), (0.2, 20), (0.7, 0.95)),
    }
    model = compile_circuit(circuit)
    values: dict[str, float] = {}
    ceiling = math.inf
    for name in model.names:
        element, parameter = name.split(".")
        role = roles.get(element, "")
        if parameter == "L":
            values[name] = log_uniform(1e-7, 1e-6)
        elif element == "R0":
            values[name] = log_uniform(1, 20) if role == "series" else log_uniform(20, 500)
        elif parameter == "R":
            (r_lo, r_hi), (f_lo, f_hi), (n_lo, n_hi) = arcs[role]
            values[name] = log_uniform(r_lo, r_hi)
            f0 = log_uniform(f_lo, min(f_hi, ceiling))
            ceiling = f0 / 10
            k = element[1:]
            values[f"CPE{k}.n"] = rng.uniform(n_lo, n_hi)
            values[f"CPE{k}.Q"] = cpe_q(values[name], f0, values[f"CPE{k}.n"])
        elif name not in values:  # the blocking electrode's CPE
            values[f"{element}.Q"] = log_uniform(1e-6, 1e-4)
            values[f"{element}.n"] = rng.uniform(0.7, 0.95)
    return values


def _noisy(z: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    scale = noise * np.abs(z)
    return z + scale * rng.standard_normal(z.size) + 1j * scale * rng.standard_normal(z.size)


def false_alarm_section(n_spectra: int, rng: np.random.Generator) -> list[str]:
    models = list(load_models().values())
    counts: dict[str, list[int]] = {m.name: [0, 0] for m in models}
    grid_counts = {g: [0, 0] for g in GRIDS}
    flagged = []
    for i in range(n_spectra):
        model = models[i % len(models)]
        grid_name = list(GRIDS)[(i // len(models)) % len(GRIDS)]
        f = GRIDS[grid_name]
        values = random_values(model.circuit, dict(model.roles), rng)
        compiled = compile_circuit(model.circuit)
        noise = rng.uniform(0.005, 0.02)
        z = _noisy(compiled.impedance(compiled.vector(values), f), noise, rng)
        result = eisfit.kk_check(Spectrum(f, z))
        for table, key in ((counts, model.name), (grid_counts, grid_name)):
            table[key][0] += 1
            table[key][1] += not result.valid
        if not result.valid:
            flagged.append(f"{model.name}, {grid_name}, noise {100 * noise:.2f} %: {result.reason}")
    total = sum(v[1] for v in counts.values())
    lines = [
        f"### False alarms: {n_spectra} synthetic spectra of the shipped models, 0.5-2 % noise",
        "",
        f"**{total} flagged ({100 * total / n_spectra:.2f} %)**, target <= 1 %.",
        "",
        "| model or grid | spectra | flagged |",
        "|---|---|---|",
    ]
    for name, (n, bad) in {**counts, **grid_counts}.items():
        lines.append(f"| {name} | {n} | {bad} |")
    lines += ["", *[f"* {x}" for x in flagged]]
    return lines


# --------------------------------------------------------------------------- drift

DRIFT_F = np.logspace(6, -1, 71)  # 1 MHz to 0.1 Hz, 10 points per decade


def point_times(f: np.ndarray, *, uniform: bool = False) -> np.ndarray:
    """Elapsed time at each point, sweeping high to low frequency: 2 periods plus 0.5 s
    per point (integration and settling), or equal time per point with ``uniform``."""
    step = np.ones(f.size) if uniform else 2.0 / f + 0.5
    t = np.cumsum(step) - step[0]
    return t / t[-1]


def drifted(cell, drift: float, *, which: str = "soli", uniform: bool = False) -> np.ndarray:
    """Noise-free spectrum of a random gb-soli ``cell`` whose resistance changes by
    ``drift`` (fraction) linearly in time from the first to the last point.

    ``soli``: the interphase grows as a layer: R_soli * (1 + x) and Q_soli / (1 + x), so
    its apex frequency stays put.  ``bulk``: R0 (the electrolyte, e.g. a temperature
    drift).
    """
    model = compile_circuit(cell.circuit)
    base = dict(cell.values)
    frac = point_times(DRIFT_F, uniform=uniform)
    z = np.empty(DRIFT_F.size, complex)
    soli = len(cell.arcs)
    for k, f_k in enumerate(DRIFT_F):
        x = 1.0 + drift * frac[k]
        values = dict(base)
        if which == "soli":
            values[f"R{soli}.R"] *= x
            values[f"CPE{soli}.Q"] /= x
        else:
            values["R0.R"] *= x
        z[k] = model.impedance(model.vector(values), np.array([f_k]))[0]
    return z


def matched_filter_bound(z_drift: np.ndarray, noise: float, alpha: float = 0.01) -> float:
    """Detection probability of the best possible test of KK residuals for this drift.

    The KK-inconsistent part of the noise-free drifted spectrum is its residual s after
    the least-squares projection onto the KK model (R0, L, C and 6 RC elements per
    decade).  A test that knew s in advance (a matched filter) would detect it at false
    alarm rate ``alpha`` with probability Phi(|s| / sigma - z_alpha); no real test,
    which does not know s, can do better.
    """
    a, b = _design(DRIFT_F, z_drift, math.ceil(6 * math.log10(DRIFT_F.max() / DRIFT_F.min())) + 1)
    norms = np.linalg.norm(a, axis=0)
    x = np.linalg.lstsq(a / norms, b, rcond=None)[0]
    snr = float(np.linalg.norm(b - (a / norms) @ x)) / noise
    return float(norm.cdf(snr - norm.ppf(1 - alpha)))


def drift_section(n_cells: int, rng: np.random.Generator) -> list[str]:
    lines = [
        f"### Drift: {n_cells} random gb-soli cells per cell of the table "
        f"({DRIFT_F.size} points, 1 MHz to 0.1 Hz)",
        "",
        "Caught by eisfit / best possible for any test of the KK residuals (matched filter "
        "knowing the drift, 1 % false alarms).  Target >= 90 % caught.",
        "",
        "| design | noise | no drift (false alarms) | 5 % | 10 % | 20 % |",
        "|---|---|---|---|---|---|",
    ]
    designs = {
        "SOLI layer grows, 2 periods + 0.5 s per point": {"which": "soli"},
        "SOLI layer grows, equal time per point": {"which": "soli", "uniform": True},
        "R0 (electrolyte) drifts, 2 periods + 0.5 s per point": {"which": "bulk"},
    }
    for label, options in designs.items():
        for noise in (0.005, 0.01, 0.02):
            cells = []
            for drift in (0.0, 0.05, 0.1, 0.2):
                caught, bound = 0, 0.0
                for _ in range(n_cells):
                    z0 = drifted(random_cell(rng, 2), drift, **options)
                    z = _noisy(z0, noise, rng)
                    caught += not eisfit.kk_check(Spectrum(DRIFT_F, z)).valid
                    bound += matched_filter_bound(z0, noise) if drift else 0.01
                cells.append(f"{100 * caught / n_cells:.0f} % / {100 * bound / n_cells:.0f} %")
            lines.append(f"| {label} | {100 * noise:g} % | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer spectra, no pyimpspec")
    parser.add_argument("--no-pyimpspec", action="store_true", help="skip peer (c)")
    args = parser.parse_args()
    rng = np.random.default_rng(20261207)
    sections = []
    from reader_checks import REAL

    if REAL.exists():
        sections.append(corpus_section(not (args.quick or args.no_pyimpspec)))
    else:
        sections.append([f"(no real corpus at {REAL}: section skipped)"])
    sections.append(false_alarm_section(200 if args.quick else 1000, rng))
    sections.append(drift_section(10 if args.quick else 50, rng))
    print("\n\n".join("\n".join(s) for s in sections))


if __name__ == "__main__":
    main()
