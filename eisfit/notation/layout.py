"""Where the parameters of a series chain of simple elements and R||CPE / R||C arcs sit.

Most solid-electrolyte circuits are such chains (``L0-R0-p(R1,CPE1)-p(R2,CPE2)``).  Their
impedance has a closed form simple enough to evaluate for many parameter vectors at
once (`eisfit.notation.model`) or in compiled code (`eisfit.fitting.compiled`); both read the
parameter positions from one `ChainLayout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .elements import ElementType, get_element
from .grammar import Element, Node, Parallel, Series

__all__ = ["ChainLayout", "chain_layout", "simple_arc"]

_SIMPLE = ("R", "L", "CPE", "C")  # series elements with a closed form here


@dataclass(frozen=True, eq=False)
class ChainLayout:
    """Parameter indices of a chain, in the order the elements appear.

    Arcs: ``arc_r``, ``arc_q`` (Q of a CPE, or C) and ``arc_n`` (n of a CPE, -1 for C).
    Series elements: ``series_r``, ``series_l``, and the Q (or C) and n (-1 for C) of a
    series CPE or C in ``spike_q``, ``spike_n``.  ``others`` are the remaining series
    elements (W, G, ...) as (element type, index of its first parameter): a chain with
    any of them has no closed form here and is evaluated element by element.
    """

    n_params: int
    arc_r: np.ndarray
    arc_q: np.ndarray
    arc_n: np.ndarray
    series_r: np.ndarray
    series_l: np.ndarray
    spike_q: np.ndarray
    spike_n: np.ndarray
    others: tuple[tuple[ElementType, int], ...]

    @property
    def closed_form(self) -> bool:
        """True when every element has a closed form here (no ``others``)."""
        return not self.others


def _indices(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def simple_arc(node: Node) -> tuple[Element, Element] | None:
    """(resistor, capacitive element) of an R||CPE or R||C node in either order, else None."""
    if not (isinstance(node, Parallel) and len(node.parts) == 2):
        return None
    a, b = node.parts
    if not (isinstance(a, Element) and isinstance(b, Element)):
        return None
    if {a.symbol, b.symbol} not in ({"R", "CPE"}, {"R", "C"}):
        return None
    return (a, b) if a.symbol == "R" else (b, a)


def chain_layout(tree: Node) -> ChainLayout | None:
    """The layout of a series chain with at least one arc, or None for other circuits."""
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    arcs: list[tuple[int, int, int]] = []
    series: dict[str, list[int]] = {sym: [] for sym in _SIMPLE}
    others: list[tuple[ElementType, int]] = []
    start = 0
    for part in parts:
        if isinstance(part, Element):
            kind = get_element(part.symbol)
            if kind.symbol in series:
                series[kind.symbol].append(start)
            else:
                others.append((kind, start))
            start += len(kind.params)
            continue
        pair = simple_arc(part)
        if pair is None:
            return None
        res, cap = pair
        cpe = cap.symbol == "CPE"
        width = 3 if cpe else 2
        r_first = res is part.parts[0]
        q_i, r_i = (start + 1, start) if r_first else (start, start + width - 1)
        arcs.append((r_i, q_i, q_i + 1 if cpe else -1))
        start += width
    if not arcs:
        return None
    return ChainLayout(
        n_params=start,
        arc_r=_indices([a[0] for a in arcs]),
        arc_q=_indices([a[1] for a in arcs]),
        arc_n=_indices([a[2] for a in arcs]),
        series_r=_indices(series["R"]),
        series_l=_indices(series["L"]),
        # series CPEs first, then Cs (the order the vectorised evaluator works in)
        spike_q=_indices(series["CPE"] + series["C"]),
        spike_n=_indices([i + 1 for i in series["CPE"]] + [-1] * len(series["C"])),
        others=tuple(others),
    )
