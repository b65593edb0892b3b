"""Starting values for circuits with Randles blocks, through a series-chain surrogate.

A block ``p(R-D, C)`` (C a capacitor or CPE, D a diffusion element: W, Wo, Ws or G) is an
arc ``p(R, C)`` at frequencies above its diffusion, which shows below the arc.  Replacing
every such block by its arc gives a series chain of units, which the grid pre-fit of
`eisfit.fitting.initial` seeds well (an exhaustive variable-projection search over the arcs'
time constants).  Each of the surrogate's best starts, with every diffusion element
seeded on a small grid scaled by its block's arc, becomes a start of the full circuit.

Without this the full circuit only had generic scale-based starts: on synthetic
``R0-p(R1,C1)-p(R2-Wo1,C2)`` spectra they reached the best minimum in about one case
in six, and missed the high-frequency arc of impedance.py's own example data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..notation.grammar import Element, Node, Parallel, Series
from ..notation.model import Circuit, compile_circuit
from .structure import arc_groups, series_units

__all__ = ["SURROGATE_STARTS", "Surrogate", "default_starts", "lift", "randles_surrogate"]

_DIFFUSION = frozenset({"W", "Wo", "Ws", "G"})
_SIZE = (0.3, 3.0)  # diffusion amplitude, relative to the block's resistance
_DELAY = (10.0, 1e3)  # diffusion time constant, relative to the block's arc
_MAX_ORDERS = 6  # arc assignments tried per surrogate start (3 interchangeable arcs: all)
SURROGATE_STARTS = 3  # best surrogate starts lifted to the full circuit


@dataclass(frozen=True)
class Surrogate:
    """The circuit with Randles blocks replaced by arcs, and what was taken out."""

    tree: Node
    blocks: tuple[tuple[Element, Element, Element], ...]  # (diffusion, R, C or CPE)


@lru_cache(maxsize=256)
def randles_surrogate(tree: Node) -> Surrogate | None:
    """The surrogate of a series chain containing ``p(R-D, C)`` blocks, else None.

    Cached by tree (asked on every fit, by `default_starts`), as `series_units` is."""
    parts = tree.parts if isinstance(tree, Series) else (tree,)
    new_parts: list[Node] = []
    blocks = []
    for part in parts:
        block = _randles_block(part)
        if block is None:
            new_parts.append(part)
            continue
        _, r, c = block  # the arc stands in for the block
        new_parts.append(Parallel((r, c)))
        blocks.append(block)
    if not blocks:
        return None
    tree_out = Series(tuple(new_parts)) if len(new_parts) > 1 else new_parts[0]
    return Surrogate(tree=tree_out, blocks=tuple(blocks))


def _randles_block(part: Node) -> tuple[Element, Element, Element] | None:
    if not (isinstance(part, Parallel) and len(part.parts) == 2):
        return None
    a, b = part.parts
    branch, cap = (a, b) if isinstance(a, Series) else (b, a)
    if not (isinstance(branch, Series) and isinstance(cap, Element)):
        return None
    if cap.symbol not in ("C", "CPE") or len(branch.parts) != 2:
        return None
    symbols = {p.symbol: p for p in branch.parts if isinstance(p, Element)}
    diffusion = [s for s in symbols if s in _DIFFUSION]
    if "R" not in symbols or len(diffusion) != 1 or len(symbols) != 2:
        return None
    return symbols[diffusion[0]], symbols["R"], cap


def lift(
    circuit: Circuit, surrogate: Surrogate, sub: Circuit, starts: list[np.ndarray]
) -> list[np.ndarray]:
    """Full-circuit starts from surrogate starts (rows of ``sub``'s parameters).

    The surrogate's interchangeable arcs come out of the pre-fit ordered high to low
    frequency, but a Randles block may be either arc: every assignment of the fitted
    arcs to the blocks is tried.  Shared elements keep their values; each diffusion
    element takes every seed of its grid.  Best surrogate start first."""
    index = {name: i for i, name in enumerate(circuit.names)}
    out = []
    for start in starts:
        for relabelled in _arc_orders(sub, start):
            values = dict(zip(sub.names, relabelled, strict=True))
            seeds = [_seeds(block, values) for block in surrogate.blocks]
            for choice in itertools.product(*seeds):
                theta = np.empty(len(circuit))
                for name, v in values.items():
                    theta[index[name]] = v
                for seed in choice:
                    for name, v in seed.items():
                        theta[index[name]] = v
                out.append(theta)
    return out


def _arc_orders(sub: Circuit, theta: np.ndarray) -> list[np.ndarray]:
    """``theta`` with the values of same-kind arcs permuted in every way (itself first)."""
    out = [theta]
    for (_, symbols), members in arc_groups(series_units(sub) or []).items():
        starts = [u.start for u in members]
        width = 2 if "C" in symbols else 3  # R with C, or R with CPE (Q, n)
        orders = list(itertools.permutations(range(len(starts))))[1:_MAX_ORDERS]
        for base in list(out):
            blocks = [base[i : i + width] for i in starts]
            for order in orders:
                moved = base.copy()
                for i, j in zip(starts, order, strict=True):
                    moved[i : i + width] = blocks[j]
                out.append(moved)
    return out


def _seeds(
    block: tuple[Element, Element, Element], values: dict[str, float]
) -> list[dict[str, float]]:
    """Values of the block's diffusion element, scaled by the block's fitted arc."""
    diffusion, r_el, c_el = block
    r = values[f"{r_el.name}.R"]
    if c_el.symbol == "C":
        tau = r * values[f"{c_el.name}.C"]
    else:
        n = values[f"{c_el.name}.n"]
        tau = (r * values[f"{c_el.name}.Q"]) ** (1.0 / n)
    name, sym = diffusion.name, diffusion.symbol
    if sym == "W":  # |Z| = Aw sqrt(2 / w): comparable to R at w = 1 / tau
        return [{f"{name}.Aw": s * r / np.sqrt(2.0 * tau)} for s in _SIZE]
    first = "R" if sym == "G" else "Z0"
    return [
        {f"{name}.{first}": s * r, f"{name}.tau": d * tau}
        for s, d in itertools.product(_SIZE, _DELAY)
    ]


def lifted_count(circuit: Circuit) -> int:
    """How many starts `lift` makes from `SURROGATE_STARTS` surrogate starts (0 if the
    circuit has no Randles block)."""
    return _lifted_count(circuit.tree)


@lru_cache(maxsize=256)
def _lifted_count(tree: Node) -> int:
    surrogate = randles_surrogate(tree)
    if surrogate is None:
        return 0
    sub_units = series_units(compile_circuit(surrogate.tree)) or []
    orders = 1
    for group in arc_groups(sub_units).values():
        orders *= min(math.factorial(len(group)), _MAX_ORDERS)
    seeds = 1
    for diffusion, _, _ in surrogate.blocks:
        seeds *= len(_SIZE) * (1 if diffusion.symbol == "W" else len(_DELAY))
    return SURROGATE_STARTS * orders * seeds


def default_starts(circuit: Circuit) -> int:
    """Starting points worth racing: 4 plus 2 per arc (or other time-constant unit); for
    a circuit with Randles blocks, every start lifted from its surrogate as well."""
    units = series_units(circuit)
    n_tau = sum(u.has_tau for u in units) if units is not None else len(circuit) // 2
    return min(4 + 2 * n_tau, 16) + lifted_count(circuit)
