"""The series structure of a circuit: which parts are arcs, spikes, leads.

Shared by the starting-value search (`eisfit.initial`) and the solver: a circuit that
is a series chain of *units* (an element, or an R||CPE / R||C arc) can be seeded by
the linear grid pre-fit, can have interchangeable arcs put in a canonical order, and
can have an arc that a fit let vanish re-seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .circuits.elements import get_element
from .circuits.grammar import Element, Node, Parallel, Series
from .circuits.model import Circuit

__all__ = [
    "ARC_N0",
    "SPIKE_N0",
    "Unit",
    "arc_groups",
    "canonical_arc_order",
    "default_starts",
    "revived_starts",
    "series_units",
    "unit_params",
]

ARC_N0 = 0.9  # CPE exponent given to arcs in starting values
SPIKE_N0 = 0.9  # CPE exponent given to series (blocking) CPEs
_FLAT_N = 0.5  # an arc flatter than this spreads over many decades: no longer an arc


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
    vals = dict(zip(unit.symbols, _split(unit, theta), strict=True))
    r = vals["R"][0]
    if "CPE" in vals:
        q, n = vals["CPE"]
        return float((r * q) ** (1.0 / n))
    return float(r * vals["C"][0])


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


def revived_starts(
    circuit: Circuit, theta: np.ndarray, omega: np.ndarray, z: np.ndarray
) -> list[np.ndarray]:
    """Starts that re-seed arcs a fit let vanish, at time constants across the band.

    An R||CPE or R||C arc has vanished when its resistance is below 1e-4 |Z|max or its
    time constant lies more than three decades outside 1/omega_max..1/omega_min; the
    fit then explains the data with fewer arcs than the circuit has, usually because a
    small arc was never seeded.  Each vanished arc is placed at 2 time constants per
    decade across the band with 5 % of the real-axis span, the rest kept as fitted.
    """
    units = series_units(circuit)
    if units is None:
        return []
    z_max = float(np.abs(z).max())
    tau_lo, tau_hi = 1.0 / omega.max(), 1.0 / omega.min()
    vanished = []
    for u in units:
        if not u.family.startswith("arc_"):
            continue
        vals = dict(zip(u.symbols, _split(u, theta), strict=True))
        r = float(vals["R"][0])
        n = float(vals["CPE"][1]) if "CPE" in vals else 1.0
        tau = _arc_tau(circuit, u, theta)
        if r < 1e-4 * z_max or not (1e-3 * tau_lo < tau < 1e3 * tau_hi) or n < _FLAT_N:
            vanished.append(u)
    if not vanished:
        return []
    r_new = 0.05 * max(float(np.ptp(z.real)), 1e-3 * z_max)
    taus = np.logspace(np.log10(tau_lo), np.log10(tau_hi), 2 * round(np.log10(tau_hi / tau_lo)) + 1)
    starts = []
    for u in vanished:
        for tau in taus:
            t = theta.copy()
            vals = unit_params(u, r_new, float(tau))
            t[u.start : u.start + len(vals)] = vals
            starts.append(t)
    return starts


def default_starts(circuit: Circuit) -> int:
    """Starting points worth racing: 4 plus 2 per arc (or other time-constant unit); for
    a circuit with Randles blocks, every start lifted from its surrogate as well."""
    from .surrogate import lifted_count  # here: eisfit.surrogate builds on this module

    units = series_units(circuit)
    n_tau = sum(u.has_tau for u in units) if units is not None else len(circuit) // 2
    return min(4 + 2 * n_tau, 16) + lifted_count(circuit)
