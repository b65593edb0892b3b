"""Candidate circuits as text: a series chain ``[L0-]R0-p(R1,CPE1)-...-[tail]``.

A candidate is a `Structure`: how many arcs, which of them are ideal (R||C instead of
R||CPE), a lead inductance or not, and the low-frequency tail element, if any:

* ``CPE``: a series CPE, the blocking-electrode spike (docs/physics-notes.md sec. 2), or
  a diffusion line with n near 1/2 (tail class: capacitive, diffusion);
* ``W``: semi-infinite Warburg, Z = Aw (1 - j)/sqrt(w) (diffusion);
* ``Wo``: finite-space (reflective) Warburg: 45 degrees, then capacitive (both of these);
* ``Ws``: finite-length (transmissive) Warburg: 45 degrees, then closes (closed);
* ``G``: Gerischer, Z = R/sqrt(1 + j w tau): 45 degrees, then closes (closed).

``Ws`` and ``G`` replace the lowest-frequency arc (they are a process that closes on the
real axis, as an arc does); the others are added below the arcs.  Tail classes are those
of `eisfit.identification.shape`; the element formulas are those of `eisfit.notation.elements`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_ARCS", "TAILS_BY_CLASS", "Structure"]

MAX_ARCS = 4  # bulk, grain boundary, SOLI, charge transfer (docs/physics-notes.md sec. 2)

#: tails tried for each tail class, in order of preference (fewest parameters first)
TAILS_BY_CLASS: dict[str, tuple[str, ...]] = {
    "closed": ("",),
    "diffusion": ("W", "CPE"),
    "capacitive": ("CPE",),
}
#: tried when the tail lies between diffusion and capacitive (45 degrees turning to 90)
BETWEEN_TAIL = "Wo"
#: tails that close on the real axis and stand in for the lowest-frequency arc
CLOSING_TAILS = ("G", "Ws")


@dataclass(frozen=True, order=True)
class Structure:
    """``arcs`` R||CPE (or R||C for the 1-based positions in ``ideal``), a lead
    inductance when ``inductance``, then ``tail`` ("" for none)."""

    arcs: int
    inductance: bool
    tail: str = ""
    ideal: frozenset[int] = frozenset()

    @property
    def circuit(self) -> str:
        parts = ["L0"] if self.inductance else []
        parts.append("R0")
        for i in range(1, self.arcs + 1):
            parts.append(f"p(R{i},C{i})" if i in self.ideal else f"p(R{i},CPE{i})")
        if self.tail:
            parts.append(f"{self.tail}{self.arcs + 1}")
        return "-".join(parts)

    @property
    def processes(self) -> int:
        """Arcs plus a tail: what a DRT would count as relaxations (a spike counts too)."""
        return self.arcs + (1 if self.tail else 0)

    def with_arcs(self, arcs: int) -> Structure:
        ideal = frozenset(i for i in self.ideal if i <= arcs)
        return Structure(arcs, self.inductance, self.tail, ideal)
