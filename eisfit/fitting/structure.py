"""The series structure of a circuit: which parts are arcs, spikes, leads.

Shared by the starting-value search (`eisfit.fitting.initial`) and the solver: a circuit that
is a series chain of *units* (an element, or an R||CPE / R||C arc) can be seeded by
the linear grid pre-fit, can have interchangeable arcs put in a canonical order, and
can have an arc that a fit let vanish re-seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..notation.elements import get_element
from ..notation.grammar import Element, Node, Parallel, Series
from ..notation.model import Circuit
from ..notation.parts import arc_magnitude, log10_time_constant

__all__ = [
    "ARC_N0",
    "SPIKE_N0",
    "Unit",
    "arc_groups",
    "canonical_arc_order",
    "revived_starts",
    "series_units",
    "suspect_arcs",
    "unit_params",
]

ARC_N0 = 0.9  # CPE exponent given to arcs in starting values
SPIKE_N0 = 0.9  # CPE exponent given to series (blocking) CPEs
_FLAT_N = 0.5  # an arc flatter than this spreads over many decades: no longer an arc
FAINT = 0.02  # an arc below this fraction of the measured |Z| everywhere has all but vanished
MERGED_DECADES = 0.5  # arcs whose time constants lie closer than this do one arc's work
REVIVE_BEYOND = 1.5  # decades beyond the band edges where suspect arcs are re-seeded
REVIVE_PER_DECADE = 1  # time constants per decade at which a suspect arc is re-seeded


@dataclass(frozen=True)
class Unit:
    """A series part of the circuit with a linear amplitude and maybe a time constant."""

    family: str  # basis family; units of one family share the tau grid columns
    start: int  # index of its first parameter in theta
    symbols: tuple[str, ...]  # element symbols, in written order
    has_tau: bool


def _classify(node: Node, start: int) -> Unit | None:
    if isinstance(node, Element):
        sym = node.symbol
        if sym in ("R", "L", "C", "CPE", "W", "La"):
            return Unit(sym, start, (sym,), False)
        if sym in ("G", "Wo", "Ws", "K", "Zarc"):
            return Unit(sym, start, (sym,), True)
        return None
    if isinstance(node, Parallel) and len(node.parts) == 2:
        a, b = node.parts
        if isinstance(a, Element) and isinstance(b, Element):
            syms = (a.symbol, b.symbol)
            if set(syms) in ({"R", "CPE"}, {"R", "C"}):
                return Unit("arc_" + "".join(sorted(syms)), start, syms, True)
    return None


def series_units(circuit: Circuit) -> list[Unit] | None:
    """The series units of ``circuit`` in written order, or None if it is not such a chain."""
    units = _units_of(circuit.tree)
    return None if units is None else list(units)


@lru_cache(maxsize=256)
def _units_of(tree: Node) -> tuple[Unit, ...] | None:
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    units, start = [], 0
    for part in parts:
        unit = _classify(part, start)
        if unit is None:
            return None
        units.append(unit)
        start += sum(len(get_element(s).params) for s in unit.symbols)
    return tuple(units)


def unit_params(unit: Unit, amplitude: float, tau: float) -> list[float]:
    a = amplitude
    values = {
        "R": [a],
        "L": [a],
        "C": [1.0 / a],
        "CPE": [1.0 / a, SPIKE_N0],
        "W": [a],
        "La": [a, 0.98],
        "G": [a, tau],
        "Wo": [a, tau],
        "Ws": [a, tau],
        "K": [a, tau],
        "Zarc": [a, tau, ARC_N0],
    }.get(unit.family)
    if values is not None:
        return values
    out: list[float] = []
    for sym in unit.symbols:  # an arc: R and CPE/C in written order
        if sym == "R":
            out.append(a)
        elif sym == "CPE":
            out.extend([tau**ARC_N0 / a, ARC_N0])
        else:
            out.append(tau / a)
    return out


def _arc_tau(circuit: Circuit, unit: Unit, theta: np.ndarray) -> float:
    return 10.0 ** log10_time_constant(*_arc_rqn(unit, theta))


def _split(unit: Unit, theta: np.ndarray) -> list[np.ndarray]:
    out, i = [], unit.start
    for sym in unit.symbols:
        k = len(get_element(sym).params)
        out.append(theta[i : i + k])
        i += k
    return out


def arc_groups(units: list[Unit]) -> dict[tuple[str, tuple[str, ...]], list[Unit]]:
    """The arcs among ``units``, grouped by kind and written order of their elements:
    arcs of one group are interchangeable (the same impedance whichever holds which)."""
    groups: dict[tuple[str, tuple[str, ...]], list[Unit]] = {}
    for u in units:
        if u.family.startswith("arc_"):
            groups.setdefault((u.family, u.symbols), []).append(u)
    return groups


def canonical_arc_order(circuit: Circuit, theta: np.ndarray) -> np.ndarray:
    """Reorder interchangeable series arcs so that written order runs high -> low frequency.

    Series arcs of identical structure (``p(R1,CPE1)-p(R2,CPE2)``) give the same impedance
    whichever carries which values; this picks the labelling in which the first written
    arc has the smallest time constant, the convention of eisfit's named models.
    """
    units = series_units(circuit)
    if units is None:
        return theta
    out = theta.copy()
    for members in arc_groups(units).values():
        if len(members) < 2:
            continue
        size = sum(len(get_element(s).params) for s in members[0].symbols)
        blocks = [theta[u.start : u.start + size].copy() for u in members]
        taus = [_arc_tau(circuit, u, theta) for u in members]
        for u, j in zip(members, np.argsort(taus, kind="stable"), strict=True):
            out[u.start : u.start + size] = blocks[j]
    return out


def _arc_rqn(unit: Unit, theta: np.ndarray) -> tuple[float, float, float]:
    """(R, Q, n) of an R||CPE or R||C arc unit (Q = C and n = 1 for a capacitor)."""
    vals = dict(zip(unit.symbols, _split(unit, theta), strict=True))
    q, n = (float(v) for v in vals["CPE"]) if "CPE" in vals else (float(vals["C"][0]), 1.0)
    return float(vals["R"][0]), q, n


def suspect_arcs(
    circuit: Circuit, theta: np.ndarray, omega: np.ndarray, z: np.ndarray
) -> list[Unit]:
    """The R||CPE / R||C arcs of a solution that may stand in the wrong place.

    * *vanished*: its impedance stays below `FAINT` (2 %) of the measured |Z| at every
      measured frequency (a few times the 0.5-1 % noise of most spectra), its time
      constant lies more than three decades outside 1/omega_max..1/omega_min, or it is
      flatter than n = 0.5 (spread over many decades: no longer an arc); the fit explains
      the data with fewer arcs than the circuit has;
    * *merged*: time constant within `MERGED_DECADES` of another arc's: two arcs doing
      the work of one (the combination search keeps arcs of a kind 3/4 decade apart,
      `eisfit.fitting.combinations`), while a process elsewhere is missed;
    * *outside*: apex (tau = 1/omega0, docs/physics-notes.md sec. 3) beyond the measured band: the
      fit may have pushed an arc there to mimic a tail (a spike, an arc above the band),
      or the arc really lies there and its position is only loosely set by the data.

    Fits of noise-free solid-state spectra that need an arc outside the band ended in
    each of these (issue 12: "an arc whose apex lies outside the measured band, with only
    its tail visible"; `bench/outside_band_bench.py`).
    """
    units = series_units(circuit)
    if units is None:
        return []
    arcs = [u for u in units if u.family.startswith("arc_")]
    if not arcs:
        return []
    lo, hi = -math.log10(float(omega.max())), -math.log10(float(omega.min()))  # log10 tau
    rqn = [_arc_rqn(u, theta) for u in arcs]
    n = np.array([v[2] for v in rqn])
    log_tau = np.array([log10_time_constant(*v) for v in rqn])
    mod = np.abs(z)
    share = np.array([np.max(arc_magnitude(*v, omega) / mod) for v in rqn])
    with np.errstate(invalid="ignore"):
        gap = np.abs(log_tau[:, None] - log_tau[None, :])
    np.fill_diagonal(gap, np.inf)
    vanished = ~((share >= FAINT) & (lo - 3.0 < log_tau) & (log_tau < hi + 3.0) & (n >= _FLAT_N))
    outside = ~((lo <= log_tau) & (log_tau <= hi))
    merged = np.any(gap < MERGED_DECADES, axis=1)
    return [u for u, bad in zip(arcs, vanished | outside | merged, strict=True) if bad]


def revived_starts(
    circuit: Circuit, theta: np.ndarray, omega: np.ndarray, z: np.ndarray
) -> list[np.ndarray]:
    """Starts that move each suspect arc (`suspect_arcs`) across and beyond the band.

    Each suspect arc is placed at `REVIVE_PER_DECADE` time constants per decade from
    `REVIVE_BEYOND` decades above the band to as far below it (not where it already
    is), the rest kept as fitted.  Its resistance at each place is the weighted
    least-squares amplitude of its shape (n = `ARC_N0`) against what the rest of the
    circuit leaves unexplained (`_arc_amplitudes`), so an arc moved below the band starts
    with the large resistance its tail needs and one moved above it with the part of the
    intercept it takes over.  The grid pre-fit (`eisfit.fitting.initial`) ranks arcs by a fixed
    shape and the batched race cuts starts that lag behind, so an arc beyond a band edge,
    seen only by its tail, is easily traded for two arcs in one place or an arc mimicking
    a neighbour; these starts give the missing arc its place back.
    """
    suspects = suspect_arcs(circuit, theta, omega, z)
    if not suspects:
        return []
    lo = math.log10(1.0 / float(omega.max())) - REVIVE_BEYOND
    hi = math.log10(1.0 / float(omega.min())) + REVIVE_BEYOND
    taus = np.logspace(lo, hi, REVIVE_PER_DECADE * round(hi - lo) + 1)
    r_floor = 0.05 * max(float(np.ptp(z.real)), 1e-3 * float(np.abs(z).max()))
    starts = []
    for u in suspects:
        here = log10_time_constant(*_arc_rqn(u, theta))  # NaN when it has none: keep all
        keep = ~(np.abs(np.log10(taus) - here) < 0.25)
        amps = _arc_amplitudes(circuit, u, theta, omega, z, taus[keep])
        for tau, amp in zip(taus[keep], amps, strict=True):
            t = theta.copy()
            vals = unit_params(u, float(amp) if amp > 0 else r_floor, float(tau))
            t[u.start : u.start + len(vals)] = vals
            starts.append(t)
    return starts


def _arc_amplitudes(
    circuit: Circuit,
    unit: Unit,
    theta: np.ndarray,
    omega: np.ndarray,
    z: np.ndarray,
    taus: np.ndarray,
) -> np.ndarray:
    """Resistance of the arc ``unit`` at each of ``taus`` that best explains, in the
    least-squares sense with modulus weights 1/|Z| (Boukamp, Solid State Ionics 20 (1986)
    31), the impedance the rest of the circuit (as in ``theta``) leaves: the arc is
    linear in R once tau and n are fixed (variable projection, as in `eisfit.fitting.initial`).
    NaN where that is not finite."""
    r, q, n = _arc_rqn(unit, theta)
    with np.errstate(all="ignore"):  # inf or 0 (not an OverflowError) for absurd arcs
        usable = math.isfinite(log10_time_constant(r, q, n))
        own = r / (1.0 + r * q * (1j * omega) ** n) if usable else 0.0
        rest = circuit.evaluate_omega(theta, omega)[0] - own
        shape_n = ARC_N0 if "CPE" in unit.symbols else 1.0
        basis = 1.0 / (1.0 + (1j * omega[:, None] * taus[None, :]) ** shape_n)
        w = 1.0 / np.abs(z)
        wb = basis * w[:, None]
        amps = np.real(wb.conj().T @ ((z - rest) * w)) / np.sum(np.abs(wb) ** 2, axis=0)
    return np.where(np.isfinite(amps), amps, np.nan)
