"""Fit several candidate circuits to one spectrum and pick the best one, with the reasons.

Every candidate (a named model, a model name, or a circuit string) is fitted and judged
by the one decision rule eisfit has for comparing circuits, `eisfit.physics.ranking`
(shared with `eisfit.identification`):

1. **tiers**: a candidate that explains the data (residuals at the noise lin-KK sees),
   with every parameter determined and nothing implausible, beats one with an
   undetermined parameter, a redundant arc or an arc flatter than n = 0.5, which beats
   one that does not explain the data (structured residuals far above the noise), which
   beats a failed fit;
2. **BIC** within the best tier (Schwarz, Ann. Stat. 6 (1978) 461), with candidates
   within 6 BIC units tied and the one with fewest parameters chosen among them (Kass &
   Raftery, J. Am. Stat. Assoc. 90 (1995) 773).  AIC is reported alongside; the
   explanation notes when AIC would have chosen otherwise.

A candidate is *plausible* when it is in the first tier and no value is imprecise (its
standard error above it): ``reasons`` is then empty.  Imprecise values are listed but do
not demote: BIC judges whether such a process is worth its parameters.  The Na |
SSE | Na rules (each arc's normalised capacitance within a decade of its role's range,
Irvine, Sinclair & West, Adv. Mater. 2 (1990) 132) apply **only when a cell is given**:
they are rules about such cells and their geometry, not about spectra in general (issue
16: applied with a default geometry they rejected the generating circuit of three
quarters of an external labelled set).  A candidate with no arcs (a bare Warburg, say)
no longer escapes the rules: it must explain the data like any other to win.
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
from .ranking import TIE_BIC, Judgement, Score, choose, judge

__all__ = ["CandidateScore", "ModelChoice", "fit_best"]


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
    reasons: tuple[str, ...]  # why it is implausible, imprecise values too (empty: plausible)
    #: `eisfit.physics.ranking` tier (0-3); None: 0 when plausible, else 1 (3 if failed)
    tier: int | None = None
    explains: bool = True  # residuals at the noise level

    @property
    def rank_tier(self) -> int:
        if self.tier is not None:
            return self.tier
        return 3 if not self.success else 0 if self.plausible else 1


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
                "candidates": [
                    vars(c) | {"reasons": list(c.reasons), "tier": c.rank_tier}
                    for c in self.candidates
                ],
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


def _score(name: str, result: FitResult, judgement: Judgement) -> CandidateScore:
    return CandidateScore(
        name=name,
        circuit=result.circuit,
        n_parameters=len(result.values) - len(result.fixed),
        aic=result.aic,
        bic=result.bic,
        chi2_per_point=result.chi2_per_point,
        success=result.success,
        plausible=judgement.tier == 0 and not judgement.imprecise,
        reasons=judgement.reasons + judgement.imprecise,
        tier=judgement.tier,
        explains=judgement.explains,
    )


def fit_best(
    spectrum: Spectrum,
    candidates: Sequence[str | NamedModel],
    *,
    cell: Cell | None = None,
    folder: str | Path | None = None,
) -> ModelChoice:
    """Fit every candidate and choose by the ranking of `eisfit.physics.ranking`.

    ``candidates``: named models, model names (packaged or from ``folder``) or circuit
    strings.  Named models contribute their bounds and element roles.  ``cell``: the
    geometry of a Na | SSE | Na cell; only with it do the Na-cell capacitance rules judge
    the candidates (without it they are not applied).  See the module docstring.
    """
    if not candidates:
        raise PhysicsError("fit_best needs at least one candidate")
    models = load_models(folder)
    try:
        kk = kk_check(spectrum)
        noise: float | None = kk.noise_estimate if math.isfinite(kk.noise_estimate) else None
    except EisfitError:
        kk, noise = None, None
    rows: list[tuple[CandidateScore, FitResult, NamedModel | None]] = []
    for candidate in candidates:
        name, circuit, model = _resolve(candidate, models)
        if any(row[0].name == name for row in rows):
            raise PhysicsError(f"candidate {name!r} is given twice")
        bounds = dict(model.bounds) if model is not None and model.bounds else None
        result = fit(spectrum, circuit, bounds=bounds, kk=False)
        roles = dict(model.roles) if model else None
        judgement = judge(result, noise=noise, cell=cell, roles=roles)
        rows.append((_score(name, result, judgement), result, model))
    chosen, explanation = _choose([row[0] for row in rows])
    _, result, model = next(row for row in rows if row[0].name == chosen)
    if kk is not None:
        result = replace(result, kk=kk)
    else:
        result = replace(result, warnings=(*result.warnings, "KK check not run"))
    analysis = analyse(result, cell, roles=dict(model.roles) if model else None)
    return ModelChoice(
        name=chosen,
        model=model,
        result=result,
        analysis=analysis,
        candidates=tuple(row[0] for row in rows),
        explanation=explanation,
    )


def _uncommon(circuit: str) -> bool:
    """A Gerischer or finite-length Warburg (`eisfit.physics.ranking.choose`)."""
    try:
        return any(e.symbol in ("G", "Ws", "Wo") for e in compile_circuit(circuit).elements)
    except CircuitError:
        return False


def _choose(scores: list[CandidateScore]) -> tuple[str, str]:
    """(chosen name, explanation) by `eisfit.physics.ranking.choose`."""
    decision = choose(
        [
            Score(s.name, s.n_parameters, s.bic, s.aic, s.rank_tier, _uncommon(s.circuit))
            for s in scores
        ]
    )
    pick, best = scores[decision.chosen], scores[decision.best_bic]
    parts = [f"chose {pick.name} ({pick.circuit}, BIC {pick.bic:.1f})"]
    if pick is not best:
        parts.append(
            f"it has fewer parameters than {best.name} (BIC {best.bic:.1f}) and is within "
            f"{TIE_BIC:g} BIC units of it (a tie: the data cannot tell them apart)"
        )
    elif len(scores) > 1:
        runner = scores[next(i for i in decision.order if i != decision.chosen)]
        parts.append(f"lowest BIC of its tier; next {runner.name} at {runner.bic - pick.bic:+.1f}")
    tier = pick.rank_tier
    if tier == 0:
        parts.append("among the physically plausible candidates")
    elif decision.explained:
        parts.append("no candidate is physically plausible, so by BIC alone among those that "
                     "explain the data")  # fmt: skip
    else:
        parts.append("no candidate explains the data (structured residuals far above the "
                     "noise): this is the best attempt, by BIC")  # fmt: skip
    pool = [s for s in scores if s.rank_tier == tier and math.isfinite(s.aic)]
    by_aic = min(pool, key=lambda s: s.aic, default=pick)
    if by_aic is not pick:
        parts.append(f"AIC alone would prefer {by_aic.name}")
    for s in scores:
        if not s.plausible:
            parts.append(f"{s.name} implausible: {'; '.join(s.reasons)}")
    return pick.name, "; ".join(parts) + "."
