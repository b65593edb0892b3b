"""Which physical process each fitted arc of a Na | SSE | Na spectrum describes.

Evidence (docs/physics-notes.md secs. 1-2; Irvine, Sinclair & West, Adv. Mater. 2 (1990) 132,
Table 1, "ISW"):

* Capacitance ranges.  Bulk and grain-boundary capacitances scale with the cell constant and
  are compared as C L/A (F/cm); interfacial ones scale with the area and are compared as C/A
  (F/cm2).  C is the Hsu-Mansfeld effective capacitance of the arc.

  =================  ===================  ==============================================
  role               range                source
  =================  ===================  ==============================================
  bulk               1e-13 - 1e-11 F/cm   ISW "1e-12"; eps_r = C L/(eps0 A) of 1 - 110
  grain_boundary     1e-11 - 1e-8 F/cm    ISW
  soli               1e-9 - 1e-5 F/cm2    ISW surface layer + sample-electrode interface
  charge_transfer    1e-6 - 1e-4 F/cm2    ISW / docs/physics-notes.md (double layer)
  =================  ===================  ==============================================

  The ranges overlap (ISW say so), so capacitance alone cannot decide.
* Frequency order: from high to low apex frequency a cell shows bulk, grain boundary, SOLI,
  charge transfer.
* The standard circuits (docs/physics-notes.md sec. 2): with 1, 2, 3, 4 arcs a Na | SSE | Na cell is
  read as SOLI; gb + SOLI (the usual NZSP case); bulk + gb + SOLI (cold, thick or sulfide
  cell); bulk + gb + SOLI + charge transfer (Na3SbS4).  Blocking cells: gb; bulk + gb;
  bulk + gb + surface layer.
* The intercept: a fitted bulk arc makes the high-frequency intercept a lead resistance,
  which should be small against it; without a bulk arc the intercept is the electrolyte bulk,
  and a grain-boundary arc far larger than it is unusual.

Every assignment of the arcs to the four roles is scored; the lowest score wins:

* the decades each normalised capacitance lies outside its role's range;
* 10 per pair of arcs whose roles invert the frequency order, 10 per extra bulk or
  grain-boundary arc (one electrolyte slab), 10 for a charge-transfer arc without a SOLI arc
  (a lone interfacial arc is the interface), 0.75 per extra interfacial arc of one role
  (they are then summed, see `contributions`);
* 1.5 for not being the standard structure for that number of arcs: the capacitances must
  argue against it by more than 1.5 decades before another reading is chosen;
* log10(R0 / (0.1 R_bulk)) when a bulk arc is assigned and the intercept R0 exceeds 10 % of
  it; log10(R_gb / (30 R0)), at most 2, when no bulk arc is assigned and the first
  electrolyte arc exceeds 30 R0 (2 without an intercept).

Ties prefer no bulk arc (NZSP, beta''-alumina: the bulk arc lies above the measured band).
Blocking electrodes (a series CPE or C spike): no charge transfer, and with two or more arcs
the highest-frequency one is bulk and the next grain boundary, even when their normalised
capacitances are close (issue 4, item 5).  User overrides fix the roles of the named arcs
and the others are assigned around them.

Warnings: an arc whose capacitance also lies in another role's range; a runner-up
assignment scoring within 0.5 of the chosen one; roles that invert the frequency order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ARC_ROLES",
    "CAPACITANCE_RANGES",
    "ELECTROLYTE_ROLES",
    "INTERFACIAL_ROLES",
    "ROLES",
    "ArcFeatures",
    "RoleAssignment",
    "assign_roles",
]

ROLES = (
    "bulk",
    "grain_boundary",
    "soli",
    "charge_transfer",
    "electrode",
    "inductance",
    "series",
    "unassigned",
)
ARC_ROLES = ("bulk", "grain_boundary", "soli", "charge_transfer")  # high -> low frequency
ELECTROLYTE_ROLES = frozenset({"bulk", "grain_boundary"})
INTERFACIAL_ROLES = frozenset({"soli", "charge_transfer"})
#: role -> (lower, upper, unit) of the normalised capacitance (ISW 1990, Table 1)
CAPACITANCE_RANGES: Mapping[str, tuple[float, float, str]] = {
    "bulk": (1e-13, 1e-11, "F/cm"),
    "grain_boundary": (1e-11, 1e-8, "F/cm"),
    "soli": (1e-9, 1e-5, "F/cm2"),
    "charge_transfer": (1e-6, 1e-4, "F/cm2"),
}
#: the standard circuits of docs/physics-notes.md sec. 2, by number of arcs (high -> low frequency)
_STANDARD: Mapping[int, tuple[str, ...]] = {
    1: ("soli",),
    2: ("grain_boundary", "soli"),
    3: ("bulk", "grain_boundary", "soli"),
    4: ("bulk", "grain_boundary", "soli", "charge_transfer"),
}
_STANDARD_BLOCKING: Mapping[int, tuple[str, ...]] = {
    1: ("grain_boundary",),
    2: ("bulk", "grain_boundary"),
    3: ("bulk", "grain_boundary", "soli"),
}
_STRUCTURE = 1.5
_INVERSION = 10.0
_EXTRA_ELECTROLYTE = 10.0
_EXTRA_INTERFACIAL = 0.75
_AMBIGUOUS = 0.5
_LEAD_FRACTION = 0.1  # a series lead resistance above this fraction of R_bulk is suspicious
_GB_OVER_BULK = 30.0  # R_gb / R_bulk above this is unusual for a sintered ceramic
_MAX_RATIO_COST = 2.0
_BLOCKED = 1e6


@dataclass(frozen=True)
class ArcFeatures:
    """What role assignment needs of one arc (``name``: the element name of its R)."""

    name: str
    resistance_ohm: float
    capacitance_f: float  # Hsu-Mansfeld effective capacitance
    apex_frequency_hz: float


@dataclass(frozen=True)
class RoleAssignment:
    """Roles (in the order of the given arcs), reasons, per-arc and overall warnings."""

    roles: tuple[str, ...]
    reasons: tuple[str, ...]
    arc_warnings: tuple[tuple[str, ...], ...]
    warnings: tuple[str, ...]
    intercept_role: str  # "bulk" without a fitted bulk arc, else "series"


def normalised_capacitance(
    role: str, capacitance_f: float, area_cm2: float, thickness_cm: float
) -> tuple[float, str]:
    """C L/A in F/cm for electrolyte roles, C/A in F/cm2 for the others."""
    if role in ELECTROLYTE_ROLES:
        return capacitance_f * thickness_cm / area_cm2, "F/cm"
    return capacitance_f / area_cm2, "F/cm2"


def _decades_outside(value: float, role: str, area: float, thick: float) -> float:
    lo, hi, _ = CAPACITANCE_RANGES[role]
    x, _ = normalised_capacitance(role, value, area, thick)
    if not (math.isfinite(x) and x > 0):
        return 5.0
    return max(0.0, math.log10(lo / x), math.log10(x / hi))


def _cost(
    roles: Sequence[str],
    arcs: Sequence[ArcFeatures],
    order: Sequence[int],
    intercept: float | None,
    blocking: bool,
    geometry: tuple[float, float],
    forced_ct: bool,
) -> float:
    cost = sum(
        _decades_outside(a.capacitance_f, r, *geometry) for a, r in zip(arcs, roles, strict=True)
    )
    rank = [ARC_ROLES.index(roles[i]) for i in order]  # in decreasing apex frequency
    cost += _INVERSION * sum(a > b for a, b in itertools.combinations(rank, 2))
    for role in ARC_ROLES:
        extra = max(roles.count(role) - 1, 0)
        cost += extra * (_EXTRA_ELECTROLYTE if role in ELECTROLYTE_ROLES else _EXTRA_INTERFACIAL)
    if blocking:
        cost += _BLOCKED * roles.count("charge_transfer")
        if len(arcs) >= 2 and not {"bulk", "grain_boundary"} <= set(roles):
            cost += _BLOCKED
    standard = (_STANDARD_BLOCKING if blocking else _STANDARD).get(len(arcs))
    if standard is not None and tuple(roles[i] for i in order) != standard:
        cost += _STRUCTURE
    if "charge_transfer" in roles and "soli" not in roles and not forced_ct:
        cost += _INVERSION  # a lone interfacial arc is the interface (soli)
    electrolyte = [arcs[i] for i in order if roles[i] in ELECTROLYTE_ROLES]
    r0 = intercept or 0.0
    if "bulk" in roles:  # the intercept is a lead resistance: small against the bulk arc
        r_bulk = arcs[roles.index("bulk")].resistance_ohm
        if r0 > _LEAD_FRACTION * r_bulk > 0:
            cost += math.log10(r0 / (_LEAD_FRACTION * r_bulk))
    elif electrolyte:  # the intercept is the bulk: a grain boundary far above it is unusual
        limit = _GB_OVER_BULK * r0
        r_gb = electrolyte[0].resistance_ohm
        if r_gb > limit:
            cost += (
                _MAX_RATIO_COST if limit <= 0 else min(_MAX_RATIO_COST, math.log10(r_gb / limit))
            )
    return cost


def _reason(arc: ArcFeatures, role: str, rank: int, n_arcs: int, geometry) -> str:
    x, unit = normalised_capacitance(role, arc.capacitance_f, *geometry)
    lo, hi, _ = CAPACITANCE_RANGES[role]
    where = "inside" if lo <= x <= hi else "outside"
    position = f"arc {rank + 1} of {n_arcs} from high frequency"
    return (
        f"{position} (apex {arc.apex_frequency_hz:.3g} Hz); normalised capacitance "
        f"{x:.3g} {unit} {where} the {role} range {lo:g}-{hi:g} {unit}"
    )


def _overlaps(arc: ArcFeatures, role: str, blocking: bool, geometry) -> tuple[str, ...]:
    out = []
    for other in ARC_ROLES:
        if other == role or (blocking and other == "charge_transfer"):
            continue
        if _decades_outside(arc.capacitance_f, other, *geometry) == 0.0:
            x, unit = normalised_capacitance(other, arc.capacitance_f, *geometry)
            out.append(
                f"{arc.name}: capacitance ({x:.3g} {unit}) is also within the {other} range; "
                f"assigned {role} by frequency order and the other arcs"
            )
    return tuple(out)


def assign_roles(
    arcs: Sequence[ArcFeatures],
    *,
    intercept_ohm: float | None,
    blocking: bool,
    area_cm2: float,
    thickness_cm: float,
    overrides: Mapping[str, str] | None = None,
) -> RoleAssignment:
    """Assign bulk / grain_boundary / soli / charge_transfer to each arc (module docstring)."""
    geometry = (area_cm2, thickness_cm)
    overrides = dict(overrides or {})
    order = sorted(range(len(arcs)), key=lambda i: -arcs[i].apex_frequency_hz)
    forced_ct = "charge_transfer" in overrides.values()
    choices = [
        (overrides[a.name],) if overrides.get(a.name) in ARC_ROLES else ARC_ROLES for a in arcs
    ]
    scored = sorted(
        (
            _cost(combo, arcs, order, intercept_ohm, blocking, geometry, forced_ct),
            "bulk" in combo,
            combo,
        )
        for combo in itertools.product(*choices)
    )
    best_cost, _, best = scored[0] if scored else (0.0, False, ())
    warnings: list[str] = []
    if len(scored) > 1 and scored[1][0] - best_cost < _AMBIGUOUS:
        alt = ", ".join(f"{a.name}={r}" for a, r in zip(arcs, scored[1][2], strict=True))
        warnings.append(
            f"role assignment is ambiguous: the alternative {alt} fits the capacitance "
            f"ranges and frequency order nearly as well (score {scored[1][0]:.2f} vs "
            f"{best_cost:.2f})"
        )
    rank_of = {i: k for k, i in enumerate(order)}
    ranks = [ARC_ROLES.index(best[i]) for i in order]
    if any(a > b for a, b in itertools.combinations(ranks, 2)):
        warnings.append(
            "the roles do not follow the frequency order bulk > grain_boundary > soli > "
            "charge_transfer (from high to low apex frequency); check the role overrides"
        )
    standard = (_STANDARD_BLOCKING if blocking else _STANDARD).get(len(arcs))
    in_order = tuple(best[i] for i in order)
    reading = (
        f"; the standard reading of {len(arcs)} arcs"
        if in_order == standard
        else "; not the standard reading (roles set by the user)"
        if standard is not None and any(a.name in overrides for a in arcs)
        else "; not the standard reading: the capacitances and resistances argue against it"
        if standard is not None
        else ""
    )
    reasons, arc_warnings = [], []
    for i, (arc, role) in enumerate(zip(arcs, best, strict=True)):
        text = _reason(arc, role, rank_of[i], len(arcs), geometry) + reading
        if arc.name in overrides:
            text = f"set by the user / named model; {text}"
        elif blocking and role in ELECTROLYTE_ROLES and len(arcs) >= 2:
            text += "; blocking electrodes: higher-frequency arc bulk, next grain boundary"
        reasons.append(text)
        arc_warnings.append(
            () if arc.name in overrides else _overlaps(arc, role, blocking, geometry)
        )
    return RoleAssignment(
        roles=tuple(best),
        reasons=tuple(reasons),
        arc_warnings=tuple(arc_warnings),
        warnings=tuple(warnings),
        intercept_role="series" if "bulk" in best else "bulk",
    )
