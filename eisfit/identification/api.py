"""`identify`: which equivalent circuit the data support, with the evidence.

Steps: screen the spectrum once; lin-KK once (its noise estimate is what residuals are
judged against); the DRT's peak count (`eisfit.relaxation`) and the shape of the spectrum's
ends (`eisfit.identification.shape`); candidates fitted without guesses
(`eisfit.identification.search`, each with ``kk=False`` and a small start/time budget); the
ranking of `eisfit.physics.ranking` (tiers: explains the data, determined, plausible;
then BIC with ties); the chosen circuit fitted again with `eisfit.fit`'s defaults.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from ..errors import CircuitError, EisfitError, FitInputError, IdentifyError
from ..fitting.api import fit
from ..fitting.result import FitResult
from ..fitting.weighting import Weighting, usable_points
from ..kk.linkk import kk_check
from ..notation.model import compile_circuit
from ..physics.geometry import Cell
from ..physics.ranking import TIE_BIC, Judgement, choose, judge
from ..screening.screen import screen
from ..spectrum import Spectrum, spectrum_name
from .evidence import DrtEvidence, Evidence, drt_evidence
from .result import Candidate, Identification
from .search import Tried, search
from .shape import shape_features

__all__ = ["MIN_POINTS", "identify"]

MIN_POINTS = 5  # lin-KK's minimum, and 10 values for the 4 of the simplest arc circuit
N_STARTS = 4  # starting points per chain candidate (the fit's default is 4 + 2 per arc)
N_STARTS_OTHER = 2  # with W, Wo, Ws or G: fitted start by start (MINPACK), ~5x dearer
#: wall-time guard per candidate against a runaway fit, not its budget (that is
#: `MAX_NFEV` and the starts): a cap near a fit's usual time made the choice depend on the
#: machine's load (a 1 s cap was hit by over-parametrised candidates on a busy machine)
CANDIDATE_TIMEOUT_S = 10.0
MAX_NFEV = 600  # evaluation cap per candidate (a 4-arc chain needs up to ~2000 unbounded)
MAX_REDECIDE = 2  # decisions taken again when the chosen circuit's full fit judges worse


def _candidate(t: Tried, delta: float) -> Candidate:
    j = t.judgement
    return Candidate(
        circuit=t.circuit,
        fit=t.fit,
        n_parameters=len(t.fit.values) - len(t.fit.fixed),
        bic=t.fit.bic,
        aic=t.fit.aic,
        delta_bic=delta,
        tier=j.tier,
        explains=j.explains,
        residuals=j.residuals,
        undetermined=j.undetermined,
        plausible=j.plausible,
        reasons=j.reasons,
        origin=t.origin,
        notes=j.imprecise,
    )


def _why_lost(loser: Candidate, winner: Candidate) -> str:
    if loser.tier > winner.tier:
        return loser.reasons[0] if loser.reasons else f"tier {loser.tier}"
    if loser.bic > winner.bic:
        return f"BIC higher by {loser.bic - winner.bic:.1f}"
    return f"tied within the margin; {winner.n_parameters} parameters against {loser.n_parameters}"


def _reasons(
    chosen: Candidate, ranking: Sequence[Candidate], ties: Sequence[Candidate], explained: bool
) -> list[str]:
    out = []
    if not explained and chosen.tier < 2:
        out.append(f"best attempt: {chosen.circuit} (it fits the scatter, not a process)")
    elif not explained:
        out.append(f"no candidate explains the data: the best attempt has {chosen.residuals}")
    elif chosen.tier == 0:
        values = (
            f"imprecise: {'; '.join(chosen.notes)}"
            if chosen.notes
            else "every parameter determined"
        )
        out.append(
            f"explains the data (residuals {chosen.residuals}), BIC {chosen.bic:.1f}; {values}"
        )
    else:
        out.append(
            f"explains the data, but {chosen.reasons[0]} (no candidate without such a "
            f"finding explains them)"
        )
    others = [c for c in ties if c is not chosen]
    if others:
        names = ", ".join(f"{c.circuit} ({c.bic - chosen.bic:+.1f})" for c in others)
        out.append(
            f"tie: {names} fit equally well (BIC within {TIE_BIC:g}); the simplest is chosen"
        )
    runner = next((c for c in ranking if c is not chosen and c not in ties), None)
    if runner is not None:
        out.append(f"runner-up {runner.circuit}: {_why_lost(runner, chosen)}")
    return out


def identify(
    spectrum: Spectrum,
    *,
    candidates: Sequence[str] | None = None,
    cell: Cell | None = None,
    roles: Mapping[str, str] | None = None,
    n_processes: int | None = None,
    weighting: Weighting = "modulus",
    timeout_s: float | None = None,
) -> Identification:
    """Choose the equivalent circuit that ``spectrum`` supports (module docstring).

    ``candidates``: circuit strings to compare instead of building them from the data.
    ``cell``: a Na | SSE | Na cell geometry; only then do the Na-cell capacitance rules
    (`eisfit.physics.ranking.cell_reasons`) judge the candidates, with ``roles``
    (element -> role) overriding the automatic role assignment.  ``n_processes``: the
    number of relaxation processes, instead of the DRT's peak count.  ``timeout_s``:
    wall-time guard per candidate fit (default `CANDIDATE_TIMEOUT_S`).  Raises
    `IdentifyError` (naming the spectrum's source) when no candidate can be fitted at all
    (e.g. too few points).
    """
    t0 = time.perf_counter()
    if not isinstance(spectrum, Spectrum):
        raise IdentifyError(f"identify needs an eisfit Spectrum, got {type(spectrum).__name__}")
    if cell is not None and not isinstance(cell, Cell):
        raise IdentifyError(f"cell must be an eisfit Cell, got {type(cell).__name__}")
    if n_processes is not None and (
        isinstance(n_processes, bool) or not isinstance(n_processes, int) or n_processes < 0
    ):
        raise IdentifyError(f"n_processes must be a whole number >= 0, got {n_processes!r}")
    spectrum = usable_points(spectrum, weighting)
    where = spectrum_name(spectrum.meta)
    if len(spectrum) < MIN_POINTS:
        raise IdentifyError(
            f"{where}: {len(spectrum)} usable point(s), too few to identify a circuit "
            f"(at least {MIN_POINTS})"
        )
    if spectrum.meta.findings is None:
        spectrum = screen(spectrum)
    kk_inductance, kk_verdict = False, ""
    try:
        kk = kk_check(spectrum)
        noise = kk.noise_estimate if math.isfinite(kk.noise_estimate) else None
        kk_text, kk_verdict = kk.reason or kk.message, kk.verdict
        kk_inductance = bool(kk.series_inductance_h)
    except EisfitError as exc:
        noise, kk_text = None, f"lin-KK not run: {exc}"
    shape = shape_features(spectrum, noise=noise)
    budget = CANDIDATE_TIMEOUT_S if timeout_s is None else timeout_s

    def fit_one(circuit: str, origin: str) -> Tried | None:
        try:
            starts = N_STARTS if compile_circuit(circuit).batchable else N_STARTS_OTHER
            result = fit(
                spectrum, circuit, weighting=weighting, kk=False, n_starts=starts,
                max_nfev=MAX_NFEV, timeout_s=budget,
            )  # fmt: skip
        except FitInputError:
            return None
        verdict = judge(result, noise=noise, cell=cell, roles=roles)
        return Tried(None, result.circuit, result, verdict, origin)

    if candidates is not None:
        drt = DrtEvidence("given", None, note="candidates given by the caller")
        given = dict.fromkeys(_checked(c) for c in candidates)  # each circuit once
        tried = [t for t in (fit_one(c, "given") for c in given) if t]
    else:
        drt = drt_evidence(spectrum, n_processes=n_processes)
        inductance = shape.inductive_head or kk_inductance
        tried = search(shape, drt, fit_one, inductance=inductance)
    if not tried:
        raise IdentifyError(
            f"{where}: no candidate circuit could be fitted to {len(spectrum)} points"
        )
    evidence = Evidence(drt=drt, shape=shape, noise=noise, kk=kk_text, kk_verdict=kk_verdict)

    def rejudge(result: FitResult) -> Judgement:
        return judge(result, noise=noise, cell=cell, roles=roles)

    return _decide(spectrum, tried, evidence, cell is not None, weighting, t0, rejudge)


def _checked(circuit: str) -> str:
    if not isinstance(circuit, str):
        raise IdentifyError(f"a candidate must be a circuit string, got {circuit!r}")
    try:
        return compile_circuit(circuit).text
    except CircuitError as exc:
        raise IdentifyError(f"candidate {circuit!r}: {exc}") from None


def _decide(
    spectrum: Spectrum,
    tried: list[Tried],
    evidence: Evidence,
    cell_rules: bool,
    weighting: Weighting,
    t0: float,
    rejudge: Callable[[FitResult], Judgement],
    depth: int = 0,
) -> Identification:
    decision = choose([t.score() for t in tried])
    reference = tried[decision.best_bic].fit.bic
    ranking = [_candidate(tried[i], tried[i].fit.bic - reference) for i in decision.order]
    by_circuit = {c.circuit: c for c in ranking}
    chosen = by_circuit[tried[decision.chosen].circuit]
    ties = [by_circuit[tried[i].circuit] for i in decision.ties]
    # data lin-KK cannot judge (scatter above 5 % of |Z|) fit anything "to the noise"
    scattered = evidence.kk_verdict == "undetermined"
    explained = decision.explained and not scattered
    if not explained:  # a best attempt, not a choice: the lowest BIC, and no ties
        chosen = by_circuit[tried[decision.best_bic].circuit]
        ties = [chosen]
    ranking.sort(key=lambda c: (c is not chosen, c not in ties, c.tier, c.bic))
    status = "none" if not explained else "tie" if len(ties) > 1 else "identified"
    reasons = _reasons(chosen, ranking, ties, explained)
    if scattered:
        reasons.insert(0, f"the data are too noisy to identify a circuit: lin-KK {evidence.kk}")
    if evidence.shape.loop_hz is not None:
        reasons.append(evidence.shape.describe()[1])
    # the chosen circuit again with the defaults and lin-KK, its candidate optimum tried
    # first: the fit users get from `eisfit.fit`, with lin-KK in its status
    start = {k: v for k, v in chosen.fit.optimum.items() if math.isfinite(v)}
    final = fit(spectrum, chosen.circuit, weighting=weighting, initial=start)
    again = rejudge(final)
    if again.tier > chosen.tier and depth < MAX_REDECIDE and len(tried) > 1:
        # the full search found a lower minimum that the candidate's short one missed and
        # it is worse off (e.g. an arc run out of the band: a circuit with one arc too
        # many): judge the circuit by that fit and decide again
        k = next(i for i, t in enumerate(tried) if t.circuit == chosen.circuit)
        tried = [*tried[:k], replace(tried[k], fit=final, judgement=again), *tried[k + 1 :]]
        return _decide(spectrum, tried, evidence, cell_rules, weighting, t0, rejudge,
                       depth + 1)  # fmt: skip
    return Identification(
        status=status,
        circuit=chosen.circuit,
        fit=final,
        ranking=tuple(ranking),
        ties=tuple(c.circuit for c in ties if c is not chosen),
        reasons=tuple(reasons),
        evidence=evidence,
        cell_rules=cell_rules,
        elapsed_s=time.perf_counter() - t0,
    )
