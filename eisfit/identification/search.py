"""Which candidate circuits to fit, and in which order (`search`).

Cost decides the design: a well-posed chain fits in 3-10 ms, an over-parametrised one in
50-300 ms, so the search fits few candidates and lets the data say when to go further:

1. **Arcs**: start from the DRT's count of processes k when the spectrum's low-frequency
   end closes (with a tail the count says little, `_start`: start at one arc; without a
   DRT at two), fit k - 1, k and k + 1 arcs with the primary tail of the shape
   (`eisfit.identification.shape`), and keep going outward while the best of them
   (`eisfit.physics.ranking.choose`, ties included) or the lowest BIC is at the edge of
   what was tried (0 to `MAX_ARCS`).
2. **Other tails** the shape allows (an angle near a class boundary or a class with
   several elements) in place of the best candidate's tail: with the same arcs, and
   when it has no tail also in place of its last arc; a closed end (no tail) with the
   same arcs and with one arc more in place of the tail.
3. **Closing tails**: when the best candidate ends in a closed arc, that arc is tried as
   a Gerischer element (with one arc fewer again, and so on, while the Gerischer fits
   better but leaves an arc undetermined), and when it is flatter than n = 0.75 also as
   a finite-length Warburg: both close on the real axis from a 45-degree line, which a
   depressed arc, or an ideal one with its neighbour taking the 45-degree part, imitates.
4. **Ideal arcs**: the best candidate, when an arc's CPE exponent is at least `IDEAL_N`,
   is tried with those arcs as R||C: n near 1 is a tie between them, and the tie rule
   then prefers the capacitor (one parameter fewer).

The lead inductance is decided once, on the first arc count, by fitting it with and
without L0 and comparing BIC alone (a nuisance parameter: its one parameter against the
fit it buys, whatever else is wrong with that arc count), and the best candidate is tried
again with it toggled at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..fitting.result import FitResult
from ..notation.model import compile_circuit
from ..notation.parts import split_circuit
from ..physics.ranking import Judgement, Score, choose
from .candidates import BETWEEN_TAIL, MAX_ARCS, TAILS_BY_CLASS, Structure
from .evidence import DrtEvidence
from .shape import ShapeFeatures

__all__ = ["IDEAL_N", "Tried", "search"]

IDEAL_N = 0.9  # a CPE exponent at least this: try the arc as R||C too
FLAT_N = 0.75  # a last arc flatter than this: try G / Ws in its place
UNCOMMON = ("G", "Ws", "Wo")  # must win outright, not on a tie (`ranking.choose`)


@dataclass(frozen=True)
class Tried:
    """One fitted candidate: its structure (None for a caller's circuit), fit, judgement."""

    structure: Structure | None
    circuit: str
    fit: FitResult
    judgement: Judgement
    origin: str

    def score(self) -> Score:
        return Score(
            name=self.circuit,
            n_parameters=len(self.fit.values) - len(self.fit.fixed),
            bic=self.fit.bic,
            aic=self.fit.aic,
            tier=self.judgement.tier,
            uncommon=uncommon(self.circuit),
        )


def uncommon(circuit: str) -> bool:
    """A Gerischer or finite-length Warburg element in ``circuit`` (`ranking.choose`)."""
    return any(e.symbol in UNCOMMON for e in compile_circuit(circuit).elements)


Fitter = Callable[[str, str], "Tried | None"]


def best(tried: list[Tried]) -> tuple[Tried, tuple[Tried, ...]]:
    """The chosen candidate of ``tried`` and the ones tied with it (itself included)."""
    decision = choose([t.score() for t in tried])
    return tried[decision.chosen], tuple(tried[i] for i in decision.ties)


def _arc_exponents(t: Tried) -> dict[int, float]:
    """1-based arc position -> CPE exponent n of each R||CPE arc of a candidate."""
    parts = split_circuit(t.fit.model, t.fit.optimum_theta)
    out = {}
    for arc in parts.arcs:
        if not arc.ideal and arc.name.startswith("R") and arc.name[1:].isdigit():
            out[int(arc.name[1:])] = float(arc.n)
    return out


def _start(drt: DrtEvidence, tail: str) -> int:
    """First arc count: the DRT's peaks for a closed spectrum; 1 with a tail or no count.

    With a tail the DRT (R_inf + L + relaxations, no series capacitance) puts the spike
    or diffusion line into a huge peak at long tau and the arcs below its 5 % threshold,
    or splits the line into spurious peaks: its count says little there.
    """
    if drt.n_processes is None or tail:
        return 1 if tail else 2
    return min(max(drt.n_processes, 1), MAX_ARCS)


def search(
    shape: ShapeFeatures, drt: DrtEvidence, fit_one: Fitter, *, inductance: bool
) -> list[Tried]:
    """Fit the candidates of the module docstring; ``fit_one(circuit, origin)`` fits one
    (None when it cannot be fitted, e.g. too few points for its parameters);
    ``inductance``: start with a lead inductance."""
    done: dict[str, Tried | None] = {}

    def run(s: Structure, origin: str) -> Tried | None:
        if s.circuit not in done:
            t = fit_one(s.circuit, origin)
            done[s.circuit] = None if t is None else Tried(s, t.circuit, t.fit, t.judgement, origin)
        return done[s.circuit]

    def fitted() -> list[Tried]:
        return [t for t in done.values() if t is not None]

    primary = TAILS_BY_CLASS[shape.tail][0]
    lowest = 0 if primary else 1
    m0 = _start(drt, primary)
    where = "DRT" if drt.n_processes is not None and not primary else "default"
    pair = [run(Structure(m0, flag, primary), f"lead inductance {flag}") for flag in (True, False)]
    pair_tried = [t for t in pair if t is not None and t.fit.success]
    if len(pair_tried) == 2:  # the lead inductance is decided once, by BIC alone
        inductance = pair_tried[0].fit.bic < pair_tried[1].fit.bic
    family = Structure(m0, inductance, primary)
    for m in (m0, m0 - 1, m0 + 1):
        if lowest <= m <= MAX_ARCS:
            shift = "" if m == m0 else f" {m - m0:+d}"
            run(family.with_arcs(m), f"{where} count {m0}{shift}")

    def own() -> list[Tried]:
        return [
            t
            for t in fitted()
            if t.structure and (t.structure.tail, t.structure.inductance) == (primary, inductance)
        ]

    while own():
        members = own()
        tried_m = {t.structure.arcs for t in members if t.structure}
        _, ties = best(members)
        finite = [t for t in members if t.fit.success and math.isfinite(t.fit.bic)]
        lowest_bic = min(finite, key=lambda t: t.fit.bic) if finite else ties[0]
        # the data asking for more structure show first in BIC, before every value of the
        # extra arc is determined: follow the edge the choice or the lowest BIC sits on
        reach = [t.structure.arcs for t in (*ties, lowest_bic) if t.structure]
        if max(reach) == max(tried_m) < MAX_ARCS:
            nxt = max(tried_m) + 1
        elif min(reach) == min(tried_m) > lowest:
            nxt = min(tried_m) - 1
        else:
            break
        if run(family.with_arcs(nxt), "search outward") is None:
            break
    if not fitted():
        return []
    chosen, _ = best(fitted())
    a = chosen.structure.arcs if chosen.structure else m0
    tails = [(cls, tail) for cls in shape.tail_classes for tail in TAILS_BY_CLASS[cls]]
    if {"diffusion", "capacitive"} <= set(shape.tail_classes):
        tails.append(("diffusion to capacitive", BETWEEN_TAIL))
    for cls, tail in dict.fromkeys(tails):
        if tail != primary:
            # a tail: swapped for the best one's, or without one also in place of its last
            # arc; no tail: the best one's dropped, or an arc in its place
            arcs = ((a,) if primary else (a - 1, a)) if tail else (a, a + 1)
            for m in arcs:
                if 0 <= m <= MAX_ARCS and (m >= 1 or tail):
                    run(Structure(m, inductance, tail), f"tail class {cls}")
    chosen, _ = best(fitted())
    s = chosen.structure
    if s is not None and not s.tail and s.arcs >= 1 and "closed" in shape.tail_classes:
        arcs = s.arcs - 1
        g = run(Structure(arcs, s.inductance, "G"), "closed end: last arc as a Gerischer")
        # a Gerischer takes the place of several depressed arcs: while it fits better than
        # the best candidate but leaves an arc undetermined, try it with one arc fewer
        while g is not None and g.judgement.tier == 1 and g.fit.bic < chosen.fit.bic and arcs:
            arcs -= 1
            g = run(Structure(arcs, s.inductance, "G"), "Gerischer with an arc fewer")
        n_last = _arc_exponents(chosen).get(s.arcs)
        if n_last is not None and n_last < FLAT_N:
            run(Structure(s.arcs - 1, s.inductance, "Ws"), f"last arc n = {n_last:.2f}")
    chosen, _ = best(fitted())
    if chosen.structure is not None:
        s = chosen.structure
        with_l = Structure(s.arcs, not s.inductance, s.tail, s.ideal)
        run(with_l, "lead inductance " + ("dropped" if s.inductance else "added"))
    chosen, _ = best(fitted())
    if chosen.structure is not None:
        ideal = frozenset(i for i, n in _arc_exponents(chosen).items() if n >= IDEAL_N)
        if ideal:
            s = chosen.structure
            run(Structure(s.arcs, s.inductance, s.tail, s.ideal | ideal), "CPE n near 1")
    return fitted()
