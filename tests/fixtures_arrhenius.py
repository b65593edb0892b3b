"""Synthetic temperature series of Na | SSE | Na (or Au | SSE | Au) cells with known Ea.

Conductivities follow sigma T = A exp(-Ea / (kB T)); resistances come from the cell
geometry (R = L / (sigma S)); each arc keeps a fixed effective capacitance and CPE exponent
(Hsu-Mansfeld: Q = C^n R^(n-1)), so its apex moves with temperature as in a real series.

Kinds:
* ``resolved``: sulfide-like cold series, bulk arc in the band:
  ``R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)`` (lead, bulk, grain boundary, SOLI);
* ``intercept``: NZSP-like, bulk above the band so R0 is the bulk:
  ``R0-p(R1,CPE1)-p(R2,CPE2)`` (bulk intercept, grain boundary, SOLI);
* ``blocking``: Au | SSE | Au conductivity cell, ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``
  (lead, bulk, grain boundary, blocking spike) with bulk and grain-boundary normalised
  capacitances only a factor 3 apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eisfit import Spectrum
from eisfit.spectrum import SpectrumMeta
from eisfit.synthetic import simulate

KB_EV = 8.617333262e-5
EPS0_F_CM = 8.8541878128e-14
AREA_CM2 = 0.5
THICKNESS_CM = 0.2
EA_EV = {"bulk": 0.30, "grain_boundary": 0.45}
PREFACTOR_S_K_CM = {"bulk": 3.0e3, "grain_boundary": 3.0e6}
FREQUENCY_HZ = np.logspace(7, -1, 81)

CIRCUITS = {
    "resolved": "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
    "intercept": "R0-p(R1,CPE1)-p(R2,CPE2)",
    "blocking": "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
}
TEMPERATURES_C = {
    "resolved": (-60.0, -50.0, -40.0, -30.0, -20.0, -10.0),
    "intercept": (0.0, 15.0, 30.0, 45.0, 60.0),
    "blocking": (-70.0, -60.0, -50.0, -40.0, -30.0),
}


def conductivity_s_cm(role: str, temperature_k: np.ndarray | float) -> np.ndarray:
    t = np.asarray(temperature_k, dtype=float)
    return PREFACTOR_S_K_CM[role] * np.exp(-EA_EV[role] / (KB_EV * t)) / t


def resistance_ohm(role: str, temperature_k: np.ndarray | float) -> np.ndarray:
    return THICKNESS_CM / (conductivity_s_cm(role, temperature_k) * AREA_CM2)


def _arc(index: int, r: float, c: float, n: float) -> dict[str, float]:
    return {f"R{index}.R": r, f"CPE{index}.Q": c**n * r ** (n - 1), f"CPE{index}.n": n}


def cell_values(kind: str, temperature_k: float) -> dict[str, float]:
    """Parameter values of ``CIRCUITS[kind]`` at ``temperature_k``."""
    r_b = float(resistance_ohm("bulk", temperature_k))
    r_gb = float(resistance_ohm("grain_boundary", temperature_k))
    r_soli = 300.0 * float(np.exp(0.35 / KB_EV * (1 / temperature_k - 1 / 298.15)))
    c_b = 20 * EPS0_F_CM * AREA_CM2 / THICKNESS_CM  # eps_r = 20: 1.8e-12 F/cm
    c_gb = 1e-10 * AREA_CM2 / THICKNESS_CM  # 1e-10 F/cm
    c_soli = 3e-7 * AREA_CM2  # 3e-7 F/cm2: inside the SOLI range only
    if kind == "resolved":
        return {"R0.R": 2.0, **_arc(1, r_b, c_b, 0.95), **_arc(2, r_gb, c_gb, 0.9),
                **_arc(3, r_soli, c_soli, 0.8)}  # fmt: skip
    if kind == "intercept":
        return {"R0.R": r_b, **_arc(1, r_gb, c_gb, 0.9), **_arc(2, r_soli, c_soli, 0.8)}
    if kind == "blocking":
        c_gb_close = 3 * c_b  # normalised capacitances a factor 3 apart
        return {"R0.R": 2.0, **_arc(1, r_b, c_b, 0.95), **_arc(2, r_gb, c_gb_close, 0.9),
                "CPE3.Q": 1e-6, "CPE3.n": 0.9}  # fmt: skip
    raise ValueError(kind)


@dataclass(frozen=True)
class Series:
    kind: str
    circuit: str
    temperatures_k: tuple[float, ...]
    spectra: tuple[Spectrum, ...]

    def truth_sigma(self, role: str) -> np.ndarray:
        t = np.asarray(self.temperatures_k)
        if role == "total":
            r = resistance_ohm("bulk", t) + resistance_ohm("grain_boundary", t)
            return THICKNESS_CM / (r * AREA_CM2)
        return conductivity_s_cm(role, t)


def temperature_series(
    kind: str,
    *,
    noise: float = 0.005,
    seed: int = 0,
    temperatures_c: Sequence[float] | None = None,
) -> Series:
    """Spectra of ``kind`` at ``temperatures_c`` (default `TEMPERATURES_C`), in that order."""
    rng = np.random.default_rng(seed)
    temps = tuple(t + 273.15 for t in (temperatures_c or TEMPERATURES_C[kind]))
    spectra = tuple(
        simulate(
            CIRCUITS[kind],
            cell_values(kind, t),
            FREQUENCY_HZ,
            noise=noise,
            rng=rng,
            meta=SpectrumMeta(source=f"synthetic {kind} {t:.2f} K", temperature_k=t),
        )
        for t in temps
    )
    return Series(kind, CIRCUITS[kind], temps, spectra)
