"""Rank fitted candidate circuits: the one decision rule of `fit_best` and `eisfit.identification`.

Each fitted candidate is judged (`judge`) and put in a tier; the best tier that has
members decides, and within it the information criterion (`choose`):

====  ===========================================================================
tier  meaning
====  ===========================================================================
0     explains the data (residuals at the noise level), every parameter determined,
      nothing implausible
1     explains the data, but a parameter is undetermined (a candidate whose extra arc
      the data do not determine is not better), an arc is redundant (< 0.1 % of the
      arcs' total resistance) or flatter than an arc (n < 0.5), or, only when a cell
      is given, a Na-cell rule fails
2     converged, but the residuals are structured and far above the noise: the
      circuit misses a process
3     the fit failed
====  ===========================================================================

*Undetermined* here means what `eisfit.fitting.verdict` finds against a value (on a
bound, no standard error, an absent arc, an apex far outside the band), a lead
inductance excepted (a nuisance parameter).  A value whose only finding is a standard
error larger than itself is *imprecise*: the data show the process (its estimate and
covariance exist) but cannot size it; that is noted, not demoted, and BIC decides
whether the process is worth its parameters.

**Explains the data**: `eisfit.fitting.verdict.residual_findings` finds nothing, i.e. the
residuals are not both structured (Wald-Wolfowitz runs test z < -3) and more than 3
times the noise lin-KK estimates.  When the best tier is 2 or 3, *no candidate explains
the spectrum*: the best attempt is named, not chosen.

**Information criterion**: BIC (Schwarz, Ann. Stat. 6 (1978) 461), not AIC/AICc: the
question is which structure generated the data, and BIC is consistent (it picks the
true model among nested ones as the number of points grows) while AIC, built to
predict, keeps over-fitting by a fixed margin however many points there are (Burnham &
Anderson, Model Selection and Multimodel Inference, 2nd ed. (2002) sec. 6.3); AIC is
reported alongside.

**Ties**: candidates of the best tier within `TIE_BIC` = 6 BIC units of its lowest BIC
fit the data equally well to within the noise: a BIC difference below 6 is at most
"positive" evidence, 6 is where "strong" begins (Kass & Raftery, J. Am. Stat. Assoc. 90
(1995) 773, sec. 3.2).  Among tied candidates the one with the fewest free parameters
is chosen (then the lower BIC), and the others are named as ties.  A candidate with a
Gerischer or finite-length Warburg element (``uncommon``) is chosen only when no tied
candidate is free of one: such elements imitate a depressed arc with fewer parameters,
and in a solid-state cell the arc is the usual reading, so they must win outright.

**Na-cell rules** (`cell_reasons`) apply only when a cell geometry is given: each arc's
normalised effective capacitance within one decade of its role's range
(`eisfit.physics.roles.CAPACITANCE_RANGES`; Irvine, Sinclair & West, Adv. Mater. 2
(1990) 132, Table 1).  Without a cell they say nothing: they are rules about Na | SSE |
Na cells, not about spectra in general.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..fitting.result import FitResult
from ..fitting.verdict import residual_findings
from ..notation.parts import split_circuit
from .geometry import Cell

__all__ = [
    "TIE_BIC",
    "Decision",
    "Judgement",
    "Score",
    "cell_reasons",
    "choose",
    "judge",
]

TIE_BIC = 6.0
MIN_SHARE = 1e-3  # an arc below this share of the total resistance is redundant
MIN_ARC_N = 0.5  # an R||CPE with n below this is diffusion-like, not an arc
_DECADE = 1.0  # tolerance of the Na-cell capacitance rule, decades
_NUISANCE = ("L", "La")  # lead inductance: no quantity derives from it


@dataclass(frozen=True)
class Judgement:
    """What `judge` found about one fit."""

    tier: int
    explains: bool
    residuals: str  # "at the noise level" or the finding
    undetermined: tuple[str, ...]  # essential parameters the data do not determine
    reasons: tuple[str, ...]  # why the candidate is demoted (empty in tier 0)
    plausible: bool | None  # Na-cell rules: None when no cell was given
    imprecise: tuple[str, ...] = ()  # standard error > value only: a note, not a demotion


@dataclass(frozen=True)
class Score:
    """The numbers `choose` decides on (no fit attached, so the rule can be tested)."""

    name: str
    n_parameters: int
    bic: float
    aic: float
    tier: int
    uncommon: bool = False  # has a Gerischer or finite-length Warburg (see `choose`)


@dataclass(frozen=True)
class Decision:
    """``chosen``: index into the scores; ``ties``: indices tied with it (itself
    included, best BIC first); ``best_bic``: index of the lowest BIC of its tier;
    ``explained``: some candidate explains the data (tier <= 1)."""

    chosen: int
    ties: tuple[int, ...]
    best_bic: int
    explained: bool
    order: tuple[int, ...]  # every index, best first: (tier, BIC)


def _essential(result: FitResult) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(undetermined, imprecise): essential parameters the data do not determine (on a
    bound, no standard error, absent arc, apex far outside the band), and those whose
    only finding is a standard error larger than the value (the fit keeps that stderr)."""
    model = result.model
    names = [
        name
        for name in result.undetermined
        if model.parameters[model.index(name)].symbol not in _NUISANCE
    ]
    imprecise = tuple(n for n in names if math.isfinite(result.stderr[n]))
    return tuple(n for n in names if n not in imprecise), imprecise


def _arc_reasons(result: FitResult) -> list[str]:
    """General (not Na-cell) reasons against a fit's arcs: n < 0.5, a redundant arc."""
    theta = result.optimum_theta
    if not np.all(np.isfinite(theta)):
        return []
    parts = split_circuit(result.model, theta)
    total = float(sum(arc.r for arc in parts.arcs))
    out = []
    for arc in parts.arcs:
        if not arc.ideal and arc.n < MIN_ARC_N:
            out.append(f"{arc.name}: n = {arc.n:.2f} < {MIN_ARC_N:g}, diffusion-like, not an arc")
        if total > 0 and arc.r < MIN_SHARE * total:
            out.append(
                f"{arc.name}: {arc.r:.3g} ohm, < {100 * MIN_SHARE:g} % of the arcs' total "
                "resistance (a redundant arc)"
            )
    return out


def cell_reasons(
    result: FitResult, cell: Cell, roles: Mapping[str, str] | None = None
) -> list[str]:
    """Na | SSE | Na rules for a fit of a cell with this geometry (module docstring)."""
    from .contributions import analyse
    from .roles import ARC_ROLES, CAPACITANCE_RANGES, normalised_capacitance

    analysis = analyse(result, cell, roles=roles)
    out = []
    for c in analysis.contributions:
        if c.role not in ARC_ROLES or c.capacitance_f is None:
            continue
        x, unit = normalised_capacitance(c.role, c.capacitance_f, cell.area_cm2, cell.thickness_cm)
        lo, hi, _ = CAPACITANCE_RANGES[c.role]
        if not lo / 10**_DECADE <= x <= hi * 10**_DECADE:
            out.append(
                f"{c.elements[0]}: {c.role} capacitance {x:.3g} {unit} more than a decade "
                f"outside {lo:g}-{hi:g} {unit}"
            )
    return out


def judge(
    result: FitResult,
    *,
    noise: float | None,
    cell: Cell | None = None,
    roles: Mapping[str, str] | None = None,
) -> Judgement:
    """Put one fit in its tier (module docstring).  ``noise``: the spectrum's relative
    noise per part of Z (lin-KK's ``noise_estimate``), None when unknown."""
    if not result.success:
        return Judgement(3, False, "the fit failed", (), (f"fit failed: {result.message}",), None)
    residuals = result.residuals_real + 1j * result.residuals_imag
    found = residual_findings(result.spectrum.frequency_hz, residuals, noise)
    explains = not found
    undetermined, imprecise = _essential(result)
    reasons = [f"{name} undetermined: {result.undetermined[name]}" for name in undetermined]
    reasons += _arc_reasons(result)
    plausible = None
    if cell is not None:
        against = cell_reasons(result, cell, roles)
        plausible = not against
        reasons += against
    tier = 2 if not explains else 1 if reasons else 0
    if not explains:
        reasons.insert(0, found[0])
    notes = tuple(f"{name} imprecise: {result.undetermined[name]}" for name in imprecise)
    return Judgement(
        tier=tier,
        explains=explains,
        residuals=found[0] if found else "at the noise level",
        undetermined=undetermined,
        imprecise=notes,
        reasons=tuple(dict.fromkeys(reasons)),
        plausible=plausible,
    )


def _bic(score: Score) -> float:
    return score.bic if math.isfinite(score.bic) else math.inf


def choose(scores: Sequence[Score], *, tie_bic: float = TIE_BIC) -> Decision:
    """The decision of the module docstring over ``scores`` (at least one)."""
    if not scores:
        raise ValueError("choose needs at least one score")
    order = sorted(range(len(scores)), key=lambda i: (scores[i].tier, _bic(scores[i])))
    best = order[0]
    tier = scores[best].tier
    ties = [
        i
        for i in order
        if i == best or (scores[i].tier == tier and _bic(scores[i]) - _bic(scores[best]) <= tie_bic)
    ]
    chosen = min(
        ties, key=lambda i: (scores[i].uncommon, scores[i].n_parameters, _bic(scores[i]))
    )
    return Decision(
        chosen=chosen,
        ties=tuple(ties),
        best_bic=best,
        explained=tier <= 1,
        order=tuple(order),
    )
