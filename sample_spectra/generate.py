"""Write the synthetic Na | NZSP | Na sample spectra and their ground truth.

Run from the repository root (deterministic; rewrites the committed files)::

    python sample_spectra/generate.py            # into sample_spectra/
    python sample_spectra/generate.py OUT_DIR    # anywhere else

Files: ``na_nzsp_na_single.csv`` (one spectrum), ``na_nzsp_na_cycling.csv`` (24 spectra
every 2 h, concatenated; the frequency jumps back up between spectra), the same 24 spectra
as timestamped EC-Lab exports ``cycling_mpt/na_nzsp_na_part{1..4}.mpt`` (six loops each,
what ``make demo`` runs on) and ``ground_truth.json`` (every value used).  See README.md
next to this script.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from eisfit.io import write_csv
from eisfit.synthetic import cpe_q, ec_lab_mpt_text, simulate

SEED = 20240611
NOISE = 0.005  # relative standard deviation of Z' and Z'' (times |Z|)
DIGITS = 10  # significant digits written: hides last-bit differences between platforms
F_MAX_HZ, F_MIN_HZ, POINTS_PER_DECADE = 7e6, 0.1, 10
AREA_CM2, THICKNESS_CM, TEMPERATURE_C = 1.0, 0.1, 25.0
CIRCUIT = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"

# Cell at 25 C.  R0 = electrolyte (NZSP bulk; its own arc lies in the GHz range):
# sigma = L / (R0 S) = 0.1 / 110 = 9.1e-4 S/cm.  R1||CPE1 = grain boundary, apex 500 kHz.
# R2||CPE2 = the two Na | NZSP interfaces (SOLI), apex 100 Hz at t = 0.
INDUCTANCE_H = 2.0e-7
R0_OHM = 110.0
GB = {"R_ohm": 80.0, "apex_hz": 5.0e5, "n": 0.9}
SOLI = {"R_ohm": 400.0, "apex_hz": 100.0, "n": 0.8}

# Cycling: R2(t) = R2_0 + k sqrt(t) (parabolic, diffusion-limited interphase growth,
# docs/physics-notes.md sec. 5); CPE2.Q and n, and everything else, stay constant.
TIMES_H = [2.0 * i for i in range(24)]
GROWTH_K_OHM_PER_SQRT_H = 60.0
# The EC-Lab copies: the run starts at RUN_START; each file holds MPT_LOOPS spectra.
RUN_START = datetime(2026, 1, 12, 9, 0, 0)
MPT_LOOPS = 6
MPT_DIR = "cycling_mpt"


def _round(value: float, digits: int = 6) -> float:
    """Round to ``digits`` significant digits, so the ground truth is exact in JSON."""
    return float(f"{value:.{digits}g}")


def frequencies_hz() -> np.ndarray:
    """7 MHz down to 0.1 Hz, 10 points per decade, log-spaced (79 points)."""
    decades = math.log10(F_MAX_HZ / F_MIN_HZ)
    n = round(decades * POINTS_PER_DECADE) + 1
    return np.logspace(math.log10(F_MAX_HZ), math.log10(F_MIN_HZ), n)


def base_values() -> dict[str, float]:
    """Circuit parameters at t = 0 (Q from the apex relation, rounded to 6 digits)."""
    return {
        "L0.L": INDUCTANCE_H,
        "R0.R": R0_OHM,
        "R1.R": GB["R_ohm"],
        "CPE1.Q": _round(cpe_q(GB["R_ohm"], GB["apex_hz"], GB["n"])),
        "CPE1.n": GB["n"],
        "R2.R": SOLI["R_ohm"],
        "CPE2.Q": _round(cpe_q(SOLI["R_ohm"], SOLI["apex_hz"], SOLI["n"])),
        "CPE2.n": SOLI["n"],
    }


def soli_resistance_ohm(time_h: float) -> float:
    return _round(SOLI["R_ohm"] + GROWTH_K_OHM_PER_SQRT_H * math.sqrt(time_h))


def generate(out_dir: Path) -> list[Path]:
    """Write the three files into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    f = frequencies_hz()
    values = base_values()
    note = "Synthetic Na | NZSP | Na cell written by sample_spectra/generate.py"

    single_rng = np.random.default_rng(SEED)
    single = simulate(CIRCUIT, values, f, noise=NOISE, rng=single_rng)
    single_path = write_csv(
        single,
        out_dir / "na_nzsp_na_single.csv",
        significant_digits=DIGITS,
        comments=[note, f"{CIRCUIT}; ground truth in ground_truth.json (seed {SEED})"],
    )

    cycling_rng = np.random.default_rng(SEED + 1)
    r2 = [soli_resistance_ohm(t) for t in TIMES_H]
    cycling = [
        simulate(CIRCUIT, {**values, "R2.R": r}, f, noise=NOISE, rng=cycling_rng) for r in r2
    ]
    cycling_path = write_csv(
        cycling,
        out_dir / "na_nzsp_na_cycling.csv",
        significant_digits=DIGITS,
        comments=[
            note,
            f"{CIRCUIT}; {len(TIMES_H)} spectra, spectrum i measured at t = 2 i h;",
            f"R2 = R2_0 + k sqrt(t); ground truth in ground_truth.json (seed {SEED + 1})",
        ],
    )

    mpt_paths = write_mpt(out_dir / MPT_DIR, cycling)

    truth = {
        "description": "Synthetic Na | NZSP | Na symmetric cell at 25 C: electrolyte "
        "intercept R0, grain-boundary arc R1||CPE1, interface (SOLI, both electrodes) "
        "arc R2||CPE2, lead inductance L0.",
        "circuit": CIRCUIT,
        "assumptions": {
            "area_cm2": AREA_CM2,
            "thickness_cm": THICKNESS_CM,
            "temperature_c": TEMPERATURE_C,
            "sigma_electrolyte_s_per_cm": _round(THICKNESS_CM / (R0_OHM * AREA_CM2)),
            "sigma_total_s_per_cm": _round(THICKNESS_CM / ((R0_OHM + GB["R_ohm"]) * AREA_CM2)),
            "asr_per_interface_ohm_cm2_t0": SOLI["R_ohm"] * AREA_CM2 / 2,
        },
        "frequency": {
            "max_hz": F_MAX_HZ,
            "min_hz": F_MIN_HZ,
            "points_per_decade": POINTS_PER_DECADE,
            "n_points": int(f.size),
            "spacing": "logarithmic, high to low",
        },
        "noise": {
            "kind": "proportional gaussian: Z' and Z'' each get N(0, (noise |Z|)^2)",
            "relative_sd": NOISE,
            "generator": "numpy.random.default_rng(seed).standard_normal",
            "written_significant_digits": DIGITS,
        },
        "arcs": {
            "grain_boundary": {"element": "R1||CPE1", **GB},
            "soli_t0": {"element": "R2||CPE2", **SOLI},
        },
        "single": {"file": single_path.name, "seed": SEED, "values": values},
        "cycling": {
            "file": cycling_path.name,
            "seed": SEED + 1,
            "n_spectra": len(TIMES_H),
            "times_h": TIMES_H,
            "growth_law": "R2 = R2_0 + k sqrt(t)",
            "R2_0_ohm": SOLI["R_ohm"],
            "k_ohm_per_sqrt_h": GROWTH_K_OHM_PER_SQRT_H,
            "R2_ohm": r2,
            "constant_values": {k: v for k, v in values.items() if k != "R2.R"},
            "ec_lab_copies": {
                "files": [f"{MPT_DIR}/{p.name}" for p in mpt_paths],
                "spectra_per_file": MPT_LOOPS,
                "run_start": RUN_START.isoformat(),
                "note": "the same spectra as the CSV, spectrum i acquired at run_start + "
                "times_h[i]; values written with 10 significant digits",
            },
        },
    }
    truth_path = out_dir / "ground_truth.json"
    truth_path.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8", newline="\n")
    return [single_path, cycling_path, *mpt_paths, truth_path]


def write_mpt(folder: Path, spectra: list) -> list[Path]:
    """The cycling run as EC-Lab .mpt exports, `MPT_LOOPS` loops per file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for part, first in enumerate(range(0, len(spectra), MPT_LOOPS), start=1):
        hours = TIMES_H[first : first + MPT_LOOPS]
        text = ec_lab_mpt_text(
            spectra[first : first + MPT_LOOPS], RUN_START + timedelta(hours=hours[0]), hours
        )
        path = folder / f"na_nzsp_na_part{part}.mpt"
        path.write_text(text, encoding="latin-1", newline="\n")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args(argv)
    for path in generate(Path(args.out_dir)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
