"""Synthetic spectra of Na | solid electrolyte | Na cells with known ground truth.

Used by the bundled sample data, the benchmarks and the tests.  Arcs are specified the
way an experimentalist thinks of them, by resistance, apex frequency and CPE exponent;
``Q = 1 / (R (2 pi f0)^n)`` follows from the apex relation f0 = 1 / (2 pi (R Q)^(1/n))
(docs/physics-notes.md sec. 3).  Noise is proportional: each of Z' and Z'' gets gaussian noise of
standard deviation ``noise * |Z|``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .notation.model import compile_circuit
from .spectrum import Spectrum, SpectrumMeta

__all__ = ["Arc", "SyntheticCell", "cpe_q", "ec_lab_mpt_text", "random_cell", "simulate"]


def cpe_q(resistance_ohm: float, apex_frequency_hz: float, n: float) -> float:
    """CPE coefficient Q (S s^n) giving an R||CPE arc its apex at ``apex_frequency_hz``."""
    return 1.0 / (resistance_ohm * (2.0 * np.pi * apex_frequency_hz) ** n)


@dataclass(frozen=True)
class Arc:
    """An R||CPE arc: resistance (ohm), apex frequency (Hz), CPE exponent."""

    resistance_ohm: float
    apex_frequency_hz: float
    n: float


@dataclass(frozen=True)
class SyntheticCell:
    """Ground truth of a series L0-R0-(R||CPE)... cell."""

    inductance_h: float
    series_resistance_ohm: float
    arcs: tuple[Arc, ...]

    @property
    def circuit(self) -> str:
        arcs = "".join(f"-p(R{i},CPE{i})" for i in range(1, len(self.arcs) + 1))
        return f"L0-R0{arcs}"

    @property
    def values(self) -> dict[str, float]:
        out = {"L0.L": self.inductance_h, "R0.R": self.series_resistance_ohm}
        for i, arc in enumerate(self.arcs, start=1):
            out[f"R{i}.R"] = arc.resistance_ohm
            out[f"CPE{i}.Q"] = cpe_q(arc.resistance_ohm, arc.apex_frequency_hz, arc.n)
            out[f"CPE{i}.n"] = arc.n
        return out


def simulate(
    circuit: str,
    values: dict[str, float],
    frequency_hz: Sequence[float] | np.ndarray,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
    meta: SpectrumMeta | None = None,
) -> Spectrum:
    """Spectrum of ``circuit`` with ``values`` plus proportional gaussian noise."""
    model = compile_circuit(circuit)
    f = np.asarray(frequency_hz, dtype=float)
    z = model.impedance(model.vector(values), f)
    if noise:
        rng = rng if rng is not None else np.random.default_rng(0)
        scale = noise * np.abs(z)
        z = z + scale * rng.standard_normal(f.size) + 1j * scale * rng.standard_normal(f.size)
    return Spectrum(frequency_hz=f, impedance_ohm=z, meta=meta or SpectrumMeta())


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def random_cell(rng: np.random.Generator, n_arcs: int) -> SyntheticCell:
    """A random but realistic Na|SSE|Na cell with 2 or 3 arcs (see module docstring).

    2 arcs: high-frequency intercept = electrolyte, grain boundary (apex 50 kHz-2 MHz,
    n 0.8-1), SOLI interphase (apex 5 Hz-2 kHz, n 0.65-0.9).  3 arcs: a resolved bulk
    arc (apex 1-5 MHz, n 0.85-1; a cold or sulfide cell) in front, with a small series
    lead resistance.  Lead inductance 0.1-1 uH.  Apexes at least a decade apart.
    """
    inductance = _log_uniform(rng, 1e-7, 1e-6)
    gb = Arc(_log_uniform(rng, 50, 2000), _log_uniform(rng, 5e4, 2e6), rng.uniform(0.8, 1.0))
    soli = Arc(_log_uniform(rng, 100, 5000), _log_uniform(rng, 5, 2e3), rng.uniform(0.65, 0.9))
    if n_arcs == 2:
        return SyntheticCell(inductance, _log_uniform(rng, 20, 500), (gb, soli))
    if n_arcs == 3:
        bulk = Arc(
            _log_uniform(rng, 200, 5000), _log_uniform(rng, 1e6, 5e6), rng.uniform(0.85, 1.0)
        )
        gb = Arc(gb.resistance_ohm, _log_uniform(rng, 2e4, 1e5), gb.n)
        return SyntheticCell(inductance, _log_uniform(rng, 1, 20), (bulk, gb, soli))
    raise ValueError("n_arcs must be 2 or 3")


def ec_lab_mpt_text(
    spectra: Sequence[Spectrum],
    start: datetime,
    hours: Sequence[float],
    *,
    seconds_per_point: float = 2.0,
) -> str:
    """Spectra as one EC-Lab .mpt export (a PEIS run with one loop per spectrum).

    For demos and benchmarks that need a lab format with timestamps.  Layout (see
    `eisfit.io.biologic_mpt`): the ``EC-Lab ASCII FILE`` line, ``Nb header lines``, the
    technique, ``Acquisition started on`` (month first, as EC-Lab writes it), then a tab
    separated table ``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ``time/s`` (seconds since the
    acquisition start: spectrum ``i`` starts ``hours[i] - hours[0]`` h after ``start``) and
    ``cycle number`` (1, 2, ...).  Values carry 10 significant digits.
    """
    if len(spectra) != len(hours):
        raise ValueError(f"{len(spectra)} spectra but {len(hours)} times")
    columns = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "cycle number")
    header = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 6",
        "",
        "Potentio Electrochemical Impedance Spectroscopy",
        f"Acquisition started on : {start:%m/%d/%Y %H:%M:%S}",
        "\t".join(columns),
    ]
    rows = []
    for loop, (spectrum, t_h) in enumerate(zip(spectra, hours, strict=True), start=1):
        t0_s = (t_h - hours[0]) * 3600.0
        points = zip(spectrum.frequency_hz, spectrum.impedance_ohm, strict=True)
        for k, (f, z) in enumerate(points):
            time_s = t0_s + seconds_per_point * k
            rows.append(f"{f:.9E}\t{z.real:.9E}\t{-z.imag:.9E}\t{time_s:.3f}\t{loop}")
    return "\n".join(header + rows) + "\n"
