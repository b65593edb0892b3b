"""From a fitted circuit and the cell geometry to physical contributions.

One `Contribution` per physical process: the high-frequency intercept, each arc, the lead
inductance and a blocking-electrode spike, with a role (see `eisfit.physics.roles`), the
resistance, the effective capacitance (Hsu & Mansfeld, Corrosion 57 (2001) 747, for bulk,
grain-boundary and SOLI arcs; Brug et al., J. Electroanal. Chem. 176 (1984) 275, for charge
transfer and the blocking double layer, with R_e the resistance of everything faster; an
ideal C is reported as it is), the apex frequency, and the normalised quantities:

* C L/A (F/cm) for bulk and grain boundary, C/A (F/cm2) for interfaces; the implied
  relative permittivity eps_r = C L/(eps0 A) for bulk (expected ~10-100);
* area-specific resistance of interfacial roles: ASR = R A / 2 *per interface* for a
  symmetric cell (``per_interface=True``; both interfaces are in series, seed review eq. 8),
  R A otherwise; the electrolyte is never halved and has no ASR here;
* conductivity sigma = L/(R A) for bulk, grain boundary (apparent) and total
  (R_bulk + R_gb); without a fitted bulk arc the intercept *is* the electrolyte resistance
  (bulk + grain boundary if that arc is missing too), never a contact resistance.

Uncertainties are first-order (delta method) propagations of the fit covariance (stderr and
correlation of the `FitResult`) with analytic partial derivatives.  Two arcs given the same
role are reported as one contribution with their summed resistance, and a warning says so.
The total resistance is R_bulk + R_gb + R_interface (seed review eq. 4): series lead
resistance, inductance and a blocking spike are not part of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .._util import json_ready
from ..errors import PhysicsError
from ..fitting.result import FitResult
from ..fitting.verdict import ABSENT
from ..notation.parts import split_circuit
from .drafts import Draft, arc_draft, check_overrides, intercept_reason, merge, use_brug
from .geometry import Cell
from .parts import covariance, propagate
from .roles import ARC_ROLES, ELECTROLYTE_ROLES, INTERFACIAL_ROLES, ROLES, assign_roles

__all__ = ["EPS0_F_PER_CM", "CellAnalysis", "Contribution", "analyse"]

EPS0_F_PER_CM = 8.8541878128e-14  # vacuum permittivity, F/cm (CODATA 2018)
_ASSUMED = (1.0, 0.1)  # area_cm2, thickness_cm assumed for role judgement without a cell


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Contribution:
    """One physical contribution to the spectrum (units in the field names).

    ``capacitance_formula``: "hsu-mansfeld", "brug" or "ideal"; ``normalised_capacitance``
    in F/cm (C L/A, electrolyte) or F/cm2 (C/A, interfaces); ``per_interface``: True when
    ``asr_ohm_cm2`` is already halved for one of the two interfaces of a symmetric cell.
    """

    role: str
    elements: tuple[str, ...]
    resistance_ohm: float
    resistance_stderr_ohm: float
    capacitance_f: float | None
    capacitance_stderr_f: float | None
    capacitance_formula: str | None
    apex_frequency_hz: float | None
    normalised_capacitance: float | None
    normalised_capacitance_unit: str | None
    relative_permittivity: float | None
    asr_ohm_cm2: float | None
    asr_stderr_ohm_cm2: float | None
    per_interface: bool | None
    conductivity_s_cm: float | None
    conductivity_stderr_s_cm: float | None
    reason: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become ``None``): the fields in order, as
        `dataclasses.asdict` gives them (without its deep copies: every field is a
        number, a string, None or a tuple of strings)."""
        return json_ready({name: getattr(self, name) for name in _CONTRIBUTION_FIELDS})


_CONTRIBUTION_FIELDS = tuple(f.name for f in fields(Contribution))


@dataclass(frozen=True)
class CellAnalysis:
    """All contributions of one fitted spectrum plus totals and analysis-level warnings."""

    cell: Cell | None
    contributions: tuple[Contribution, ...]
    total_resistance_ohm: float
    total_conductivity_s_cm: float | None
    total_conductivity_stderr_s_cm: float | None
    warnings: tuple[str, ...] = ()
    total_resistance_stderr_ohm: float = math.nan

    def _repr_html_(self) -> str:  # Jupyter
        from ..notebook import analysis_html

        return analysis_html(self)

    def by_role(self, role: str) -> Contribution | None:
        """The contribution with ``role`` (at most one exists), or None."""
        if role not in ROLES:
            raise PhysicsError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return next((c for c in self.contributions if c.role == role), None)

    @property
    def all_warnings(self) -> tuple[str, ...]:
        """Analysis warnings followed by every contribution's own warnings."""
        return self.warnings + tuple(w for c in self.contributions for w in c.warnings)

    def to_dict(self) -> dict[str, Any]:
        return json_ready(
            {
                "cell": self.cell.to_dict() if self.cell is not None else None,
                "contributions": [c.to_dict() for c in self.contributions],
                "total_resistance_ohm": self.total_resistance_ohm,
                "total_resistance_stderr_ohm": self.total_resistance_stderr_ohm,
                "total_conductivity_s_cm": self.total_conductivity_s_cm,
                "total_conductivity_stderr_s_cm": self.total_conductivity_stderr_s_cm,
                "warnings": list(self.warnings),
            }
        )


def _undetermined(
    value: float | None,
    grad: np.ndarray | None,
    cov: np.ndarray,
    why: Mapping[int, str],
) -> tuple[float | None, str | None]:
    """(standard error, reason it is undetermined or None) of a derived quantity.

    Undetermined: it involves a parameter the fit could not estimate at all (NaN
    stderr), or its own propagated standard error exceeds it (`eisfit.fitting.verdict`'s rule,
    applied to the quantity: a sum of two poorly separated resistances can be sharp).
    """
    if value is None or grad is None:
        return None, None
    err = propagate(grad, cov)
    involved = [why[i] for i in np.flatnonzero(grad).tolist() if i in why]
    if not math.isfinite(value):
        return err, None
    if not math.isfinite(err):
        return err, involved[0] if involved else "not determined by the data"
    if err > abs(value):
        return err, f"standard error {err:.3g} exceeds the value {value:.3g}"
    return err, None


def _finalise(
    d: Draft, cell: Cell | None, cov: np.ndarray, why: Mapping[int, str]
) -> Contribution:
    r_err, r_why = _undetermined(d.r, d.r_grad, cov, why)
    r_err = math.nan if r_err is None else r_err
    c_err, c_why = _undetermined(d.c, d.c_grad, cov, why)
    warnings = list(d.warnings)
    r, c, f0 = d.r, d.c, d.f0
    if r_why:
        warnings.append(f"{d.role} resistance undetermined: {r_why}")
        r, r_err = math.nan, math.nan
    if c is not None and (c_why or r_why):
        if c_why:
            warnings.append(f"{d.role} capacitance undetermined: {c_why}")
        c, c_err, f0 = None, None, None
    norm = unit = eps_r = asr = asr_err = per_interface = sigma = sigma_err = None
    if cell is not None and c is not None and d.role != "series":
        if d.role in ELECTROLYTE_ROLES:
            norm, unit = c * cell.thickness_cm / cell.area_cm2, "F/cm"
        else:
            norm, unit = c / cell.area_cm2, "F/cm2"
    if cell is not None and d.role == "bulk" and c is not None:
        eps_r = c * cell.thickness_cm / (EPS0_F_PER_CM * cell.area_cm2)
        if not 10 / 3 <= eps_r <= 300:
            warnings.append(
                f"implied relative permittivity {eps_r:.3g} is far from the ~10-100 of a "
                "non-ferroelectric ceramic: check the bulk assignment and the geometry"
            )
    if d.role in INTERFACIAL_ROLES:
        if cell is None:
            warnings.append("no cell area given: the area-specific resistance is not computed")
        elif math.isfinite(r):
            factor = cell.area_cm2 / 2 if cell.symmetric else cell.area_cm2
            asr, asr_err, per_interface = r * factor, r_err * factor, cell.symmetric
    if d.role in ELECTROLYTE_ROLES and cell is not None and not r_why:
        if r > 0 and math.isfinite(r):
            sigma = cell.thickness_cm / (r * cell.area_cm2)
            sigma_err = sigma * r_err / r
        else:
            warnings.append(f"{d.role} resistance {r:.3g} ohm: conductivity undefined")
    return Contribution(
        role=d.role,
        elements=d.elements,
        resistance_ohm=float(r),
        resistance_stderr_ohm=float(r_err),
        capacitance_f=_float(c),
        capacitance_stderr_f=_float(c_err),
        capacitance_formula=d.formula if c is not None else None,
        apex_frequency_hz=_float(f0),
        normalised_capacitance=_float(norm),
        normalised_capacitance_unit=unit,
        relative_permittivity=_float(eps_r),
        asr_ohm_cm2=_float(asr),
        asr_stderr_ohm_cm2=_float(asr_err),
        per_interface=per_interface,
        conductivity_s_cm=_float(sigma),
        conductivity_stderr_s_cm=_float(sigma_err),
        reason=d.reason,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def analyse(
    result: FitResult, cell: Cell | None = None, *, roles: Mapping[str, str] | None = None
) -> CellAnalysis:
    """Contributions, ASR and conductivities of a fitted Na | SSE | Na spectrum.

    ``roles`` overrides the automatic assignment by element name, e.g.
    ``{"R1": "grain_boundary", "R0": "bulk"}`` (named models supply such defaults).
    Without ``cell``, no ASR, conductivity or normalised capacitance is computed and a
    warning says so.  See the module docstring for the rules and formulas.
    """
    if cell is not None and not isinstance(cell, Cell):
        raise PhysicsError(f"cell must be an eisfit Cell, got {type(cell).__name__}")
    # parameters an arc let collapse or run away overflow to inf / NaN here; every such
    # number is then caught as non-finite (a warning, or undetermined), never reported
    with np.errstate(all="ignore"):
        return _analyse(result, cell, roles)


def _analyse(
    result: FitResult, cell: Cell | None, roles: Mapping[str, str] | None
) -> CellAnalysis:
    # the structure is read at the optimum (undetermined parameters included, so that
    # roles stay assigned); every derived number is then judged by `_undetermined`
    model, theta, cov = result.model, result.optimum_theta, covariance(result)
    why = {model.index(name): f"{name}: {reason}" for name, reason in result.undetermined.items()}
    parts = split_circuit(model, theta)
    overrides = check_overrides(roles, parts)
    f = result.spectrum.frequency_hz
    band = (float(f.min()), float(f.max()))
    notes: list[str] = []
    if not result.success:
        notes.append(f"the fit did not converge ({result.message}): values are not reliable")
    if cell is None:
        notes.append(
            "no cell geometry (area_cm2, thickness_cm): ASR, conductivities and normalised "
            "capacitances are not computed; roles judged for an assumed 1 cm2, 0.1 cm cell"
        )
    geometry = (cell.area_cm2, cell.thickness_cm) if cell is not None else _ASSUMED
    size = len(theta)
    r0_grad = np.zeros(size)
    for name in parts.resistors:
        r0_grad[model.index(f"{name}.R")] = 1.0
    r0 = float(theta[r0_grad != 0].sum()) if parts.resistors else None

    drafts, features = [], []
    for arc in parts.arcs:
        draft, feat = arc_draft(arc, band)
        drafts.append(draft)
        if feat is not None and overrides.get(arc.name) != "unassigned":
            features.append(feat)
        elif feat is None and overrides.get(arc.name) in ARC_ROLES:
            # a role the user or the named model gave holds even for an arc the fit let
            # collapse: its quantities are then undetermined, not moved to another role
            draft.role = overrides[arc.name]
            draft.reason = f"set by the user or the named model; {arc.name} collapsed in the fit"
    assignment = assign_roles(
        features,
        intercept_ohm=r0,
        blocking=bool(parts.spikes),
        area_cm2=geometry[0],
        thickness_cm=geometry[1],
        overrides={k: v for k, v in overrides.items() if v in ARC_ROLES},
    )
    notes.extend(assignment.warnings)
    by_name = {d.arc.name: d for d in drafts if d.arc is not None}
    for feat, role, reason, extra in zip(
        features, assignment.roles, assignment.reasons, assignment.arc_warnings, strict=True
    ):
        d = by_name[feat.name]
        d.role, d.reason = role, reason
        d.warnings.extend(extra)
    for d in drafts:
        if d.role == "unassigned" and not d.reason:
            d.reason = "set unassigned by the user" if d.arc else "arc parameters unusable"

    out: list[Draft] = []
    if parts.inductors:
        grad = np.zeros(size)
        out.append(Draft("inductance", parts.inductors, 0.0, grad, "series inductance (leads)"))
    if r0 is not None:
        role = overrides.get("intercept", assignment.intercept_role)
        has_gb = "grain_boundary" in assignment.roles
        reason = intercept_reason(role, has_gb) if role != "unassigned" else "set by the user"
        out.append(Draft(role, parts.resistors, r0, r0_grad, reason))
        if role == "series" and "bulk" not in assignment.roles:
            notes.append(
                "the intercept is set as a series resistance but no bulk arc is fitted: the "
                "bulk resistance is missing from the electrolyte and total conductivity"
            )
    # Brug needs R_e: the intercept plus every faster arc (purely resistive at this arc's f0)
    faster_r, faster_grad = (r0 or 0.0), r0_grad.copy()
    for d in sorted(drafts, key=lambda d: -(d.f0 or 0.0)):
        if d.role == "charge_transfer":
            use_brug(d, faster_r, faster_grad)
        if math.isfinite(d.r):
            faster_r, faster_grad = faster_r + d.r, faster_grad + d.r_grad
    out.extend(drafts)
    for spike in parts.spikes:
        d = Draft(
            overrides.get(spike.name, "electrode"),
            spike.elements,
            math.inf,
            np.zeros(size),
            "series CPE/C spike: blocking-electrode double layer (infinite DC resistance)",
            arc=spike,
        )
        use_brug(d, faster_r, faster_grad)
        if spike.ideal:
            d.c, d.c_grad, d.formula = spike.q, spike.jac[1], "ideal"
        out.append(d)
    for names in parts.others:
        out.append(Draft("unassigned", names, math.nan, np.zeros(size), "not an R||CPE, R||C arc"))
    out = merge(out, notes)
    if not any(d.role in INTERFACIAL_ROLES for d in out):
        blocking = " (expected with blocking electrodes)" if parts.spikes else ""
        notes.append(
            f"no interfacial (soli or charge-transfer) arc identified in {model.text}: no "
            f"interfacial resistance or ASR can be reported{blocking}"
        )
    contributions = tuple(_finalise(d, cell, cov, why) for d in out)
    floor_ohm = ABSENT * float(np.min(np.abs(result.spectrum.impedance_ohm)))
    return _totals(cell, contributions, out, cov, notes, why, theta, floor_ohm)


def _negligible(grad: np.ndarray, theta: np.ndarray, cov: np.ndarray, floor: float) -> np.ndarray:
    """``grad`` of a sum without the terms that cannot matter to it: parameters with no
    estimate (NaN variance) whose share of the sum is below ``floor`` ohm (a vanished arc's
    R of 1e-20 ohm, a lead resistance held at 0).  The rest decides the sum's precision."""
    out = grad.copy()
    diag = np.diag(cov)
    drop = ~np.isfinite(diag) & (np.abs(grad * theta) < floor)
    out[drop] = 0.0
    return out


def _totals(
    cell: Cell | None,
    contributions: tuple[Contribution, ...],
    drafts: list[Draft],
    cov: np.ndarray,
    notes: list[str],
    why: Mapping[int, str],
    theta: np.ndarray,
    floor_ohm: float,
) -> CellAnalysis:
    counted = [
        d
        for d in drafts
        if (d.role in ELECTROLYTE_ROLES | INTERFACIAL_ROLES or d.role == "unassigned")
        and math.isfinite(d.r)
    ]
    total = sum(d.r for d in counted)
    total_err: float | None = 0.0
    if counted:
        grad = _negligible(np.sum([d.r_grad for d in counted], axis=0), theta, cov, floor_ohm)
        total_err, total_why = _undetermined(total, grad, cov, why)
        if total_why:
            notes.append(f"total resistance undetermined: {total_why}")
            total, total_err = math.nan, math.nan
    electrolyte = [d for d in drafts if d.role in ELECTROLYTE_ROLES]
    sigma = sigma_err = None
    if not electrolyte:
        notes.append("no electrolyte (bulk or grain-boundary) contribution: no conductivity")
    elif cell is not None:
        r_el = sum(d.r for d in electrolyte)
        grad = _negligible(np.sum([d.r_grad for d in electrolyte], axis=0), theta, cov, floor_ohm)
        r_err, r_why = _undetermined(r_el, grad, cov, why)
        if r_why:
            notes.append(f"electrolyte resistance undetermined (no total conductivity): {r_why}")
        elif r_el > 0 and math.isfinite(r_el):
            sigma = cell.thickness_cm / (r_el * cell.area_cm2)
            sigma_err = sigma * (r_err or 0.0) / r_el
    return CellAnalysis(
        cell=cell,
        contributions=contributions,
        total_resistance_ohm=float(total),
        total_conductivity_s_cm=_float(sigma),
        total_conductivity_stderr_s_cm=_float(sigma_err),
        warnings=tuple(dict.fromkeys(notes)),
        total_resistance_stderr_ohm=float(math.nan if total_err is None else total_err),
    )
