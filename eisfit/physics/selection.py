"""Fit several candidate circuits to one spectrum and pick the best physical one.

Every candidate (a named model, a model name, or a circuit string) is fitted and analysed.
A candidate is *plausible* when (issue 4, item 4):

* the fit converged;
* every arc's apex frequency lies inside the measured band;
* no CPE exponent n is below 0.5 (such an element is diffusion-like, not an arc);
* every arc's normalised capacitance lies within one decade of its role's range
  (`eisfit.physics.roles.CAPACITANCE_RANGES`; Irvine, Sinclair & West, Adv. Mater. 2 (1990)
  132), judged with the cell's geometry or, without one, for a 1 cm2, 0.1 cm cell;
* every arc resistance is determined by the data (relative standard error below 100 %) and
  carries at least 0.1 % of the total resistance (otherwise the arc is redundant);
* no parameter is undetermined (`eisfit.fitting.verdict`: on a bound, no standard error, or an
  arc apex decades outside the band), a lead inductance excepted.

Among plausible candidates the lowest BIC wins (Schwarz, Ann. Stat. 6 (1978) 461); a
candidate with fewer parameters within 2 BIC units of it is preferred (the data cannot tell
them apart).  When no candidate is plausible the lowest BIC wins and the explanation says
so.  AIC is reported alongside; the explanation notes when AIC would have chosen otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._util import json_ready
from ..errors import CircuitError, EisfitError, PhysicsError
from ..fitting.api import fit
from ..fitting.result import FitResult
from ..kk.linkk import kk_check
from ..notation.model import compile_circuit
from ..spectrum import Spectrum
from .contributions import CellAnalysis, analyse
from .geometry import Cell
from .models import NamedModel, load_models
from .roles import ARC_ROLES, CAPACITANCE_RANGES, normalised_capacitance

__all__ = ["CandidateScore", "ModelChoice", "fit_best"]

_TOLERANCE_DECADES = 1.0
_BIC_TIE = 2.0
_MIN_SHARE = 1e-3


@dataclass(frozen=True)
class CandidateScore:
    """One row of the comparison table."""

    name: str
    circuit: str
    n_parameters: int
    aic: float
    bic: float
    chi2_per_point: float
    success: bool
    plausible: bool
    reasons: tuple[str, ...]  # why it is implausible (empty when plausible)


@dataclass(frozen=True)
class ModelChoice:
    """The chosen candidate, its fit and analysis, the table of all, and why."""

    name: str
    model: NamedModel | None
    result: FitResult
    analysis: CellAnalysis
    candidates: tuple[CandidateScore, ...]
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return json_ready(
            {
                "name": self.name,
                "circuit": self.result.circuit,
                "explanation": self.explanation,
                "candidates": [vars(c) | {"reasons": list(c.reasons)} for c in self.candidates],
                "fit": self.result.to_dict(),
                "analysis": self.analysis.to_dict(),
            }
        )


def _resolve(
    candidate: str | NamedModel, models: dict[str, NamedModel]
) -> tuple[str, str, NamedModel | None]:
    if isinstance(candidate, NamedModel):
        return candidate.name, candidate.circuit, candidate
    if not isinstance(candidate, str):
        raise PhysicsError(
            f"a candidate must be a model name, circuit or NamedModel: {candidate!r}"
        )
    if candidate in models:
        model = models[candidate]
        return model.name, model.circuit, model
    try:
        text = compile_circuit(candidate).text
    except CircuitError as exc:
        raise PhysicsError(
            f"candidate {candidate!r} is neither a known model ({', '.join(sorted(models))}) "
            f"nor a valid circuit: {exc}"
        ) from None
    return text, text, None


def _implausible(result: FitResult, analysis: CellAnalysis, cell: Cell | None) -> list[str]:
    reasons = [] if result.success else [f"fit did not converge: {result.message}"]
    if result.status == "undetermined":
        reasons.extend(
            f"{name} undetermined: {why}"
            for name, why in result.undetermined.items()
            if result.model.parameters[result.model.index(name)].symbol not in ("L", "La")
        )
    f = result.spectrum.frequency_hz
    lo, hi = float(f.min()), float(f.max())
    area, thick = (cell.area_cm2, cell.thickness_cm) if cell is not None else (1.0, 0.1)
    model = result.model
    for p in model.parameters:
        if p.symbol == "CPE" and p.short == "n" and result.values[p.name] < 0.5:
            reasons.append(f"{p.name} = {result.values[p.name]:.3g} < 0.5 (not an arc)")
    total = analysis.total_resistance_ohm
    for c in analysis.contributions:
        if c.role not in ARC_ROLES or c.apex_frequency_hz is None:
            continue
        name = c.elements[0]
        if not lo <= c.apex_frequency_hz <= hi:
            reasons.append(
                f"{name}: apex {c.apex_frequency_hz:.3g} Hz outside {lo:.3g}-{hi:.3g} Hz"
            )
        if c.capacitance_f is not None:
            x, unit = normalised_capacitance(c.role, c.capacitance_f, area, thick)
            r_lo, r_hi, _ = CAPACITANCE_RANGES[c.role]
            if not r_lo / 10**_TOLERANCE_DECADES <= x <= r_hi * 10**_TOLERANCE_DECADES:
                reasons.append(
                    f"{name}: {c.role} capacitance {x:.3g} {unit} more than a decade outside "
                    f"{r_lo:g}-{r_hi:g} {unit}"
                )
        err = c.resistance_stderr_ohm
        if not (math.isfinite(err) and err < abs(c.resistance_ohm)):
            reasons.append(
                f"{name}: resistance {c.resistance_ohm:.3g} +/- {err:.3g} ohm is not determined "
                "by the data"
            )
        if total > 0 and c.resistance_ohm < _MIN_SHARE * total:
            reasons.append(f"{name}: carries < 0.1 % of the total resistance (redundant arc)")
    return reasons


def fit_best(
    spectrum: Spectrum,
    candidates: Sequence[str | NamedModel],
    *,
    cell: Cell | None = None,
    folder: str | Path | None = None,
) -> ModelChoice:
    """Fit every candidate and choose by BIC among the physically plausible ones.

    ``candidates``: named models, model names (packaged or from ``folder``) or circuit
    strings.  Named models contribute their bounds and element roles.  See the module
    docstring for the plausibility rules.
    """
    if not candidates:
        raise PhysicsError("fit_best needs at least one candidate")
    models = load_models(folder)
    rows: list[tuple[CandidateScore, FitResult, CellAnalysis, NamedModel | None]] = []
    for candidate in candidates:
        name, circuit, model = _resolve(candidate, models)
        if any(row[0].name == name for row in rows):
            raise PhysicsError(f"candidate {name!r} is given twice")
        bounds = dict(model.bounds) if model is not None and model.bounds else None
        result = fit(spectrum, circuit, bounds=bounds, kk=False)
        analysis = analyse(result, cell, roles=dict(model.roles) if model else None)
        reasons = _implausible(result, analysis, cell)
        score = CandidateScore(
            name=name,
            circuit=result.circuit,
            n_parameters=len(result.values) - len(result.fixed),
            aic=result.aic,
            bic=result.bic,
            chi2_per_point=result.chi2_per_point,
            success=result.success,
            plausible=not reasons,
            reasons=tuple(reasons),
        )
        rows.append((score, result, analysis, model))
    chosen, explanation = _choose([row[0] for row in rows])
    score, result, analysis, model = next(row for row in rows if row[0].name == chosen)
    try:
        result = replace(result, kk=kk_check(spectrum))
    except EisfitError as exc:
        result = replace(result, warnings=(*result.warnings, f"KK check not run: {exc}"))
    return ModelChoice(
        name=chosen,
        model=model,
        result=result,
        analysis=analysis,
        candidates=tuple(row[0] for row in rows),
        explanation=explanation,
    )


def _choose(scores: list[CandidateScore]) -> tuple[str, str]:
    plausible = [s for s in scores if s.plausible]
    pool = plausible or scores
    finite = [s for s in pool if math.isfinite(s.bic)] or pool
    best = min(finite, key=lambda s: s.bic)
    ties = [s for s in finite if s.bic - best.bic < _BIC_TIE]
    pick = min(ties, key=lambda s: (s.n_parameters, s.bic))
    parts = [f"chose {pick.name} ({pick.circuit}, BIC {pick.bic:.1f})"]
    if pick is not best:
        parts.append(
            f"it has fewer parameters than {best.name} (BIC {best.bic:.1f}) and is within "
            f"{_BIC_TIE:g} BIC units of it"
        )
    elif len(finite) > 1:
        runner = min((s for s in finite if s is not pick), key=lambda s: s.bic)
        parts.append(f"lowest BIC; next {runner.name} at +{runner.bic - pick.bic:.1f}")
    parts.append(
        "among the physically plausible candidates"
        if plausible
        else "no candidate is physically plausible, so by BIC alone"
    )
    by_aic = min((s for s in pool if math.isfinite(s.aic)), key=lambda s: s.aic, default=pick)
    if by_aic is not pick:
        parts.append(f"AIC alone would prefer {by_aic.name}")
    for s in scores:
        if not s.plausible:
            parts.append(f"{s.name} implausible: {'; '.join(s.reasons)}")
    return pick.name, "; ".join(parts) + "."
