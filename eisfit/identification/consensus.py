"""One circuit for a cell's run (``eisfit batch --model auto``): a consensus, then checks.

Arc identities must stay stable through a cycling run (the same R2 is the interphase in
every row), so a run is fitted with one circuit per cell, chosen once:

* `consensus` identifies a few of the cell's spectra spread evenly over the run (first
  and last included; `DEFAULT_SAMPLE`) and counts, for every circuit structure, the
  spectra that accept it: chosen, or named as a tie (it fits them to within the noise).
  The structure accepted by most wins; among equally accepted ones, the one with fewest
  parameters (then the most outright choices).  R || C and R || CPE count as one structure
  (n near 1 is a tie between them); the R || CPE form is fitted, so that an arc that
  becomes non-ideal later in the run keeps its element.
* `alternative` checks one spectrum's fit with that circuit: when the fit no longer
  explains the data or leaves a value undetermined (`eisfit.physics.ranking` tier >= 1,
  or a fit whose status is undetermined or failed),
  the spectrum is identified on its own, and a different circuit that beats the run's
  circuit outright (a better tier, or more than `eisfit.physics.ranking.TIE_BIC` lower
  BIC in the same tier) is returned with the reason: e.g. an arc has appeared.  Fits
  that explain their data cost no identification.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import IdentifyError
from ..fitting.result import FitResult
from ..physics.geometry import Cell
from ..physics.ranking import TIE_BIC, judge
from ..spectrum import Spectrum
from .api import identify
from .result import Identification

__all__ = ["DEFAULT_SAMPLE", "Consensus", "alternative", "consensus", "structure_of"]

DEFAULT_SAMPLE = 5


def structure_of(circuit: str) -> str:
    """``circuit`` with every ``p(Ri,Ci)`` written as ``p(Ri,CPEi)`` (one structure)."""
    return re.sub(r"p\(R(\d+),C\1\)", r"p(R\1,CPE\1)", circuit.replace(" ", ""))


@dataclass(frozen=True)
class Consensus:
    """The run's circuit and how it was chosen.

    ``circuit``: the structure chosen (R || CPE form); ``accepted``: structure -> the
    number of sampled spectra that accept it (chosen or tied); ``sampled``: positions of
    the sampled spectra in the sequence given; ``identifications``: theirs, in order.
    """

    circuit: str
    accepted: Mapping[str, int]
    sampled: tuple[int, ...]
    identifications: tuple[Identification, ...]

    def report(self) -> str:
        """The sentence a run report states, e.g. "L0-R0-p(R1,CPE1)-p(R2,CPE2) accepted
        by 5 of 5 sampled spectra (positions 0, 6, 12, 18, 23)"."""
        n = len(self.sampled)
        where = ", ".join(str(i) for i in self.sampled)
        others = ", ".join(
            f"{c} ({k})" for c, k in sorted(self.accepted.items(), key=lambda x: -x[1])
            if c != self.circuit
        )  # fmt: skip
        text = (
            f"{self.circuit} accepted by {self.accepted[self.circuit]} of {n} sampled "
            f"spectra (positions {where})"
        )
        return text + (f"; also accepted: {others}" if others else "")


def _positions(n: int, sample: int) -> tuple[int, ...]:
    if n <= sample:
        return tuple(range(n))
    return tuple(sorted({round(float(x)) for x in np.linspace(0, n - 1, sample)}))


def consensus(
    spectra: Sequence[Spectrum],
    *,
    sample: int | None = None,
    cell: Cell | None = None,
    roles: Mapping[str, str] | None = None,
) -> Consensus:
    """The circuit for a run of ``spectra`` of one cell (module docstring); ``sample``:
    how many spectra to identify (default `DEFAULT_SAMPLE`).  Raises `IdentifyError` for
    an empty run or when no sampled spectrum can be identified."""
    if not spectra:
        raise IdentifyError("a consensus needs at least one spectrum")
    count = DEFAULT_SAMPLE if sample is None else sample
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise IdentifyError(f"sample must be a whole number >= 1, got {sample!r}")
    positions = _positions(len(spectra), count)
    found: list[Identification] = []
    kept: list[int] = []
    errors: list[str] = []
    for i in positions:
        try:
            found.append(identify(spectra[i], cell=cell, roles=roles))
            kept.append(i)
        except IdentifyError as exc:
            errors.append(str(exc))
    if not found:
        raise IdentifyError(f"no sampled spectrum could be identified: {'; '.join(errors)}")
    accepted: Counter[str] = Counter()
    outright: Counter[str] = Counter()
    size: dict[str, int] = {}
    for f in found:
        if f.status == "none":
            continue
        names = {structure_of(c) for c in (f.circuit, *f.ties)}
        accepted.update(names)
        outright[structure_of(f.circuit)] += 1
        for c in f.ranking:
            key = structure_of(c.circuit)
            size[key] = max(size.get(key, 0), c.n_parameters)
    if not accepted:  # no sampled spectrum is explained: the best attempts vote
        for f in found:
            accepted[structure_of(f.circuit)] += 1
            outright[structure_of(f.circuit)] += 1
            size.setdefault(structure_of(f.circuit), len(f.fit.values))
    best = min(accepted, key=lambda c: (-accepted[c], size.get(c, 0), -outright[c]))
    return Consensus(best, dict(accepted), tuple(kept), tuple(found))


def alternative(
    result: FitResult,
    *,
    noise: float | None = None,
    cell: Cell | None = None,
    roles: Mapping[str, str] | None = None,
) -> tuple[str, str] | None:
    """A circuit decisively better than ``result``'s for its spectrum, with the reason, or
    None (module docstring).  ``noise``: the spectrum's relative noise (lin-KK's), taken
    from ``result.kk`` when None."""
    if noise is None and result.kk is not None:
        noise = result.kk.noise_estimate
    own = judge(result, noise=noise, cell=cell, roles=roles)
    if own.tier == 0 and result.status in ("ok", "warning"):
        # an undetermined fit can still be tier 0 (e.g. an arc absent from these data,
        # before it appears in the run): that is a spectrum to check too
        return None
    try:
        found = identify(result.spectrum, cell=cell, roles=roles)
    except IdentifyError:
        return None
    if found.status == "none" or structure_of(found.circuit) == structure_of(result.circuit):
        return None
    chosen = found.ranking[0]
    better_tier = chosen.tier < own.tier
    if not better_tier and not result.bic - chosen.bic > TIE_BIC:
        return None
    why = f"{found.circuit} explains this spectrum better than the run's {result.circuit} " + (
        f"(tier {chosen.tier} against {own.tier}: {own.reasons[0]})"
        if better_tier
        else f"(BIC lower by {result.bic - chosen.bic:.1f})"
    )
    return found.circuit, why
