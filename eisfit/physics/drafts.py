"""Private building blocks of `eisfit.physics.contributions`: per-part drafts.

A draft is a contribution before the cell geometry is applied: role, elements, resistance
and effective capacitance with their gradients with respect to the fit parameters (for
first-order error propagation).  Formulas and rules: see `contributions` and `roles`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import PhysicsError
from ..notation.parts import ArcPart, CircuitParts
from .capacitance import apex_frequency_gradient, brug_gradient, hsu_mansfeld_gradient
from .roles import ARC_ROLES, ArcFeatures

__all__ = ["Draft", "arc_draft", "check_overrides", "intercept_reason", "merge", "use_brug"]


@dataclass
class Draft:
    """A contribution before geometry is applied (mutable, private)."""

    role: str
    elements: tuple[str, ...]
    r: float
    r_grad: np.ndarray
    reason: str
    c: float | None = None
    c_grad: np.ndarray | None = None
    formula: str | None = None
    f0: float | None = None
    warnings: list[str] = field(default_factory=list)
    arc: ArcPart | None = None


def _override_targets(parts: CircuitParts) -> dict[str, tuple[str, frozenset[str]]]:
    """Element name -> (the part it stands for, roles allowed for that part)."""
    arc_roles = frozenset({*ARC_ROLES, "unassigned"})
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for name in parts.resistors:
        out[name] = ("intercept", frozenset({"bulk", "series", "unassigned"}))
    for name in parts.inductors:
        out[name] = ("inductance", frozenset({"inductance"}))
    for spike in parts.spikes:
        out[spike.name] = (spike.name, frozenset({"electrode", "unassigned"}))
    for arc in parts.arcs:
        for element in arc.elements:
            out[element] = (arc.name, arc_roles)
    for names in parts.others:
        for element in names:
            out[element] = (names[0], frozenset({"unassigned"}))
    return out


def check_overrides(roles: Mapping[str, str] | None, parts: CircuitParts) -> dict[str, str]:
    targets = _override_targets(parts)
    out: dict[str, str] = {}
    for key, role in (roles or {}).items():
        if key not in targets:
            raise PhysicsError(
                f"role override for {key!r}: no such element; elements are "
                f"{', '.join(targets) or 'none'}"
            )
        part, allowed = targets[key]
        if role not in allowed:
            raise PhysicsError(
                f"role override {key}={role!r}: allowed roles for this element are "
                f"{', '.join(sorted(allowed))}"
            )
        if out.get(part, role) != role:
            raise PhysicsError(f"conflicting role overrides for the part holding {key!r}")
        out[part] = role
    return out


def arc_draft(arc: ArcPart, band: tuple[float, float]) -> tuple[Draft, ArcFeatures | None]:
    draft = Draft("unassigned", arc.elements, arc.r, arc.jac[0].copy(), "")
    if not (arc.r > 0 and arc.q > 0 and arc.n > 0 and math.isfinite(arc.r * arc.q)):
        draft.warnings.append(
            f"{arc.name}: non-positive or non-finite parameters (R={arc.r:.3g}, "
            f"Q={arc.q:.3g}, n={arc.n:.3g}); no capacitance or role"
        )
        return draft, None
    c, (dr, dq, dn) = hsu_mansfeld_gradient(arc.r, arc.q, arc.n)
    f0, _ = apex_frequency_gradient(arc.r, arc.q, arc.n)
    if not (0 < c < math.inf and 0 < f0 < math.inf):
        draft.warnings.append(
            f"{arc.name}: collapsed arc (R={arc.r:.3g}, Q={arc.q:.3g}, n={arc.n:.3g}): no "
            "finite capacitance or apex frequency; left unassigned (consider a simpler circuit)"
        )
        return draft, None
    draft.c, draft.c_grad = c, dr * arc.jac[0] + dq * arc.jac[1] + dn * arc.jac[2]
    draft.formula, draft.f0, draft.arc = ("ideal" if arc.ideal else "hsu-mansfeld"), f0, arc
    if not band[0] <= f0 <= band[1]:
        draft.warnings.append(
            f"{arc.name}: apex frequency {f0:.3g} Hz lies outside the measured band "
            f"{band[0]:.3g}-{band[1]:.3g} Hz; its resistance and capacitance are extrapolated"
        )
    if arc.n < 0.5:
        draft.warnings.append(
            f"{arc.name}: CPE exponent n = {arc.n:.3g} < 0.5 is not a capacitive arc "
            "(diffusion-like); its capacitance has no physical meaning"
        )
    return draft, ArcFeatures(arc.name, arc.r, c, f0)


def use_brug(draft: Draft, r_e: float, r_e_grad: np.ndarray) -> None:
    """Replace a CPE arc's (or spike's) capacitance by Brug's, R_e = everything faster."""
    arc = draft.arc
    if arc is None or arc.ideal:
        return
    if not r_e > 0:
        draft.c, draft.c_grad, draft.formula = None, None, None
        draft.warnings.append(
            f"{arc.name}: no series resistance before it, so the Brug capacitance is undefined"
        )
        return
    c, (dq, dn, dct, dre) = brug_gradient(arc.q, arc.n, arc.r, r_e)
    grad = dq * arc.jac[1] + dn * arc.jac[2] + dre * r_e_grad
    if math.isfinite(arc.r):
        grad = grad + dct * arc.jac[0]
    draft.c, draft.c_grad, draft.formula = c, grad, "brug"


def merge(drafts: list[Draft], notes: list[str]) -> list[Draft]:
    """At most one contribution per role: sum the resistances of repeated roles."""
    out: list[Draft] = []
    for role in dict.fromkeys(d.role for d in drafts):
        group = [d for d in drafts if d.role == role]
        if len(group) == 1 or role == "unassigned":
            out.extend(group)
            continue
        names = [d.elements[0] for d in group]
        note = (
            f"{' and '.join(names)} are all assigned {role}: reported as one {role} "
            "contribution with their summed resistance (no single capacitance)"
        )
        notes.append(note)
        merged = Draft(
            role,
            tuple(e for d in group for e in d.elements),
            sum(d.r for d in group),
            np.sum([d.r_grad for d in group], axis=0),
            "sum of " + "; ".join(f"[{d.elements[0]}: {d.reason}]" for d in group),
        )
        merged.warnings = [w for d in group for w in d.warnings] + [note]
        out.append(merged)
    return out


def intercept_reason(role: str, has_gb: bool) -> str:
    if role == "series":
        return (
            "high-frequency intercept with a bulk arc fitted: series (lead/contact) resistance, "
            "not part of the electrolyte"
        )
    extra = "" if has_gb else " (bulk + grain boundary: no grain-boundary arc fitted)"
    return (
        "high-frequency intercept with no bulk arc fitted: the electrolyte resistance"
        f"{extra}, not a contact resistance (docs/physics-notes.md sec. 1)"
    )
