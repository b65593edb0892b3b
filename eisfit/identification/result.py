"""`Identification` and `Candidate`: what `eisfit.identification.identify` hands back.

Vocabulary of ``Identification.status`` (separate from a fit's `eisfit.status`, which
the chosen ``fit`` carries as usual):

==============  ====================================================================
``identified``  one candidate explains the data better than every other by more than
                the tie margin (`eisfit.physics.ranking.TIE_BIC`)
``tie``         several candidates explain the data equally well (within the margin):
                the simplest is chosen and the others are named in ``ties``
``none``        no candidate explains the spectrum (residuals structured and far above
                the noise), or the data scatter too much for lin-KK to judge them (more
                than 5 % of |Z|: noise only): ``circuit`` and ``fit`` are the best
                attempt, not a choice
==============  ====================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._util import finite_or_none, json_ready
from ..fitting.result import FitResult
from .evidence import Evidence

__all__ = ["STATUSES", "Candidate", "Identification"]

STATUSES = ("identified", "tie", "none")


@dataclass(frozen=True, eq=False)
class Candidate:
    """One fitted candidate circuit and how it was judged (`eisfit.physics.ranking`).

    ``tier`` 0-3 (ranking module); ``delta_bic``: BIC above the lowest BIC of the
    candidates that explain the data (of all, when none does); ``plausible``: the Na-cell
    rules' verdict, None when no cell was given (the rules were not applied);
    ``reasons``: why it was demoted; ``origin``: why it was tried; ``notes``: values
    whose standard error exceeds them (not a demotion: BIC weighs such a process).
    Compared by identity (it holds a fit).
    """

    circuit: str
    fit: FitResult
    n_parameters: int
    bic: float
    aic: float
    delta_bic: float
    tier: int
    explains: bool
    residuals: str
    undetermined: tuple[str, ...]
    plausible: bool | None
    reasons: tuple[str, ...]
    origin: str
    notes: tuple[str, ...] = ()  # imprecise values (standard error above them): no demotion

    def to_dict(self) -> dict[str, Any]:
        return {
            "circuit": self.circuit,
            "n_parameters": self.n_parameters,
            "bic": finite_or_none(self.bic),
            "aic": finite_or_none(self.aic),
            "delta_bic": finite_or_none(self.delta_bic),
            "tier": self.tier,
            "explains": self.explains,
            "residuals": self.residuals,
            "undetermined": list(self.undetermined),
            "plausible": self.plausible,
            "reasons": list(self.reasons),
            "origin": self.origin,
            "notes": list(self.notes),
            "status": self.fit.status,
            "chi2_per_point": finite_or_none(self.fit.chi2_per_point),
        }

    def line(self) -> str:
        """One line of the ranking table."""
        delta = f"{self.delta_bic:+.1f}" if math.isfinite(self.delta_bic) else "n/a"
        why = f"  ({self.reasons[0]})" if self.reasons else ""
        return f"{self.circuit:<48} k={self.n_parameters:<2} dBIC {delta:>7}  tier {self.tier}{why}"


@dataclass(frozen=True, eq=False)
class Identification:
    """The answer of `eisfit.identification.identify` (see the module docstring for ``status``).

    ``circuit`` / ``fit``: the chosen circuit (or best attempt) and its fit with
    `eisfit.fit`'s defaults, lin-KK included; ``ranking``: every candidate, best first;
    ``ties``: the other circuits tied with the chosen one; ``reasons``: why it was chosen,
    the runner-up and why it lost; ``evidence``: the DRT peaks, shape and noise used;
    ``cell_rules``: whether the Na-cell rules were applied (only with a cell);
    ``elapsed_s``: wall time of the whole identification.
    """

    status: str
    circuit: str
    fit: FitResult
    ranking: tuple[Candidate, ...]
    ties: tuple[str, ...]
    reasons: tuple[str, ...]
    evidence: Evidence
    cell_rules: bool
    elapsed_s: float

    @property
    def runner_up(self) -> Candidate | None:
        """The best-ranked candidate other than the chosen one (None when alone)."""
        return next((c for c in self.ranking if c.circuit != self.circuit), None)

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON (non-finite numbers as None); the chosen fit as `FitResult.to_dict`."""
        return json_ready(
            {
                "status": self.status,
                "circuit": self.circuit,
                "ties": list(self.ties),
                "reasons": list(self.reasons),
                "cell_rules": self.cell_rules,
                "evidence": self.evidence.to_dict(),
                "ranking": [c.to_dict() for c in self.ranking],
                "fit": self.fit.to_dict(),
                "elapsed_s": self.elapsed_s,
            }
        )

    def summary(self) -> str:
        """The short block the command line prints: the choice, runner-up and why."""
        head = {
            "identified": f"identified: {self.circuit}",
            "tie": f"identified (tie): {self.circuit}",
            "none": f"no circuit explains this spectrum; best attempt: {self.circuit}",
        }[self.status]
        return "\n".join([head, *(f"  {r}" for r in self.reasons)])

    def report(self) -> str:
        """Plain text: the summary, the evidence and the ranking (returns a string)."""
        lines = [self.summary(), "evidence:"]
        lines += [f"  {line}" for line in self.evidence.lines()]
        if not self.cell_rules:
            lines.append("  Na-cell rules not applied (no cell geometry given)")
        lines.append("ranking (best first):")
        lines += [f"  {c.line()}" for c in self.ranking]
        lines.append(f"({len(self.ranking)} candidates in {self.elapsed_s:.2f} s)")
        return "\n".join(lines)
