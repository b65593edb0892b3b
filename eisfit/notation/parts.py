"""Split a circuit, evaluated at a parameter vector, into its top-level series parts.

A Na | SSE | Na circuit is a series chain of: resistors (the high-frequency intercept),
inductors (leads), arcs (``p(R,CPE)``, ``p(R,C)`` in either order, ``Zarc``, ``K``) and
spikes (a series ``CPE`` or ``C``: blocking electrode).  Anything else (Warburg and
Gerischer elements, nested groups) is kept as an uninterpreted part.

Each arc is reduced to (R, Q, n) with the rows d(R, Q, n)/d theta, so every derived quantity
can be propagated from the fit covariance to first order (delta method):
``Zarc`` (R, tau, n): Q = tau^n / R; ``K`` (R, tau) and ``p(R,C)``: Q = C = tau / R, n = 1.
Used by the fit's verdict (where does each arc's apex lie?) and by `eisfit.physics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grammar import Element, Node, Series, iter_elements
from .layout import simple_arc
from .model import Circuit

__all__ = [
    "ArcPart",
    "CircuitParts",
    "arc_magnitude",
    "log10_time_constant",
    "split_circuit",
]


@dataclass(frozen=True)
class ArcPart:
    """An arc: ``name`` is its resistor's element name (or the Zarc/K name)."""

    name: str
    elements: tuple[str, ...]
    r: float
    q: float
    n: float
    jac: np.ndarray  # (3, n_params): d(R, Q, n) / d theta
    ideal: bool  # n == 1 by construction (R||C, K)


@dataclass(frozen=True)
class CircuitParts:
    """Top-level series parts of a fitted circuit."""

    resistors: tuple[str, ...]  # element names of series R (the intercept)
    inductors: tuple[str, ...]
    arcs: tuple[ArcPart, ...]
    spikes: tuple[ArcPart, ...]  # series CPE / C: r = inf
    others: tuple[tuple[str, ...], ...]  # uninterpreted parts, as element names


def _unit(i: int, size: int) -> np.ndarray:
    e = np.zeros(size)
    e[i] = 1.0
    return e


def _arc(node: Node, model: Circuit, theta: np.ndarray) -> ArcPart | None:
    size = len(theta)
    if isinstance(node, Element) and node.symbol in ("Zarc", "K"):
        i_r = model.index(f"{node.name}.R")
        i_tau = model.index(f"{node.name}.tau")
        r, tau = theta[i_r], theta[i_tau]
        n, n_row = 1.0, np.zeros(size)
        if node.symbol == "Zarc":
            i_n = model.index(f"{node.name}.n")
            n, n_row = theta[i_n], _unit(i_n, size)
        q = tau**n / r
        q_row = -q / r * _unit(i_r, size) + n * q / tau * _unit(i_tau, size)
        if node.symbol == "Zarc":
            q_row = q_row + q * math.log(tau) * n_row
        jac = np.vstack([_unit(i_r, size), q_row, n_row])
        return ArcPart(node.name, (node.name,), r, q, n, jac, node.symbol == "K")
    pair = simple_arc(node)
    if pair is None:
        return None
    res, cap = pair
    names = (res.name, cap.name) if res is node.parts[0] else (cap.name, res.name)  # as written
    i_r = model.index(f"{res.name}.R")
    if cap.symbol == "CPE":
        i_q, i_n = model.index(f"{cap.name}.Q"), model.index(f"{cap.name}.n")
        jac = np.vstack([_unit(i_r, size), _unit(i_q, size), _unit(i_n, size)])
        return ArcPart(res.name, names, theta[i_r], theta[i_q], theta[i_n], jac, False)
    i_c = model.index(f"{cap.name}.C")
    jac = np.vstack([_unit(i_r, size), _unit(i_c, size), np.zeros(size)])
    return ArcPart(res.name, names, theta[i_r], theta[i_c], 1.0, jac, True)


def _spike(node: Element, model: Circuit, theta: np.ndarray) -> ArcPart:
    size = len(theta)
    if node.symbol == "CPE":
        i_q, i_n = model.index(f"{node.name}.Q"), model.index(f"{node.name}.n")
        jac = np.vstack([np.zeros(size), _unit(i_q, size), _unit(i_n, size)])
        return ArcPart(node.name, (node.name,), math.inf, theta[i_q], theta[i_n], jac, False)
    i_c = model.index(f"{node.name}.C")
    jac = np.vstack([np.zeros(size), _unit(i_c, size), np.zeros(size)])
    return ArcPart(node.name, (node.name,), math.inf, theta[i_c], 1.0, jac, True)


def split_circuit(model: Circuit, theta: np.ndarray) -> CircuitParts:
    """The top-level series parts of ``model`` evaluated at ``theta``."""
    parts = model.tree.parts if isinstance(model.tree, Series) else (model.tree,)
    resistors: list[str] = []
    inductors: list[str] = []
    arcs: list[ArcPart] = []
    spikes: list[ArcPart] = []
    others: list[tuple[str, ...]] = []
    for part in parts:
        arc = _arc(part, model, theta)
        if arc is not None:
            arcs.append(arc)
        elif isinstance(part, Element) and part.symbol == "R":
            resistors.append(part.name)
        elif isinstance(part, Element) and part.symbol in ("L", "La"):
            inductors.append(part.name)
        elif isinstance(part, Element) and part.symbol in ("CPE", "C"):
            spikes.append(_spike(part, model, theta))
        else:
            others.append(tuple(e.name for e in iter_elements(part)))
    return CircuitParts(
        tuple(resistors), tuple(inductors), tuple(arcs), tuple(spikes), tuple(others)
    )


def log10_time_constant(r: float, q: float, n: float) -> float:
    """log10 of an arc's time constant tau = (R Q)^(1/n) in s (for R||C: n = 1, Q = C),
    the inverse of its apex angular frequency; NaN unless R, Q and n are positive and
    R Q is finite."""
    if not (r > 0 and q > 0 and n > 0 and math.isfinite(r * q)):
        return math.nan
    return (math.log10(r) + math.log10(q)) / n


def arc_magnitude(r: float, q: float, n: float, omega: np.ndarray) -> np.ndarray:
    """|Z| of an R||CPE arc (Q, n; R||C with n = 1) at ``omega``: R / |1 + R Q (j w)^n|.

    Absurd values (a collapsed or runaway arc) give inf or NaN quietly."""
    with np.errstate(all="ignore"):
        return np.abs(r / (1.0 + r * q * (1j * np.asarray(omega, dtype=float)) ** n))
