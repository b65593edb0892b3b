"""Temperature series of spectra: fit, analyse, Arrhenius per role.

`arrhenius_series` fits a temperature series of spectra in temperature order (coldest
first, where the arcs are largest and best resolved), starting each fit from the previous
temperature's values (``eisfit.fit(..., initial=previous.values)``) so every spectrum lands
on the same physical solution, analyses each result with `eisfit.physics.analyse`, and fits
sigma T = A exp(-Ea / (kB T)) to the bulk, grain-boundary and total conductivities
separately (docs/physics-notes.md sec. 6: "fit bulk and grain boundary separately"; statistics and
the ``regression`` choice, weighted by default or unweighted, in
`eisfit.physics.activation`).  Blocking-electrode cells: the named model (or ``roles``)
makes the higher-frequency arc bulk and the lower one grain boundary.

Points are skipped, each with a note naming its temperature, when the fit's status is not
usable (``failed``; `eisfit.status.USABLE`) or the role's conductivity there is
undetermined (NaN / None).  A role the circuit has but with fewer than two usable
temperatures gets an undetermined fit (Ea NaN, with the reason), never a number.

The pure line fit (`arrhenius_fit`, `ArrheniusFit`) lives in `activation` and is
re-exported here; the plot is `eisfit.physics.arrhenius_plot.plot_arrhenius`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import PhysicsError
from ..fitting.api import fit
from ..fitting.result import FitResult
from ..notation.model import Circuit
from ..spectrum import Spectrum
from ..status import STATUSES, USABLE
from .activation import (
    BOLTZMANN_EV_PER_K,
    ZERO_CELSIUS_K,
    ArrheniusFit,
    arrhenius_fit,
    check_regression,
    positive_finite,
    temperature_text,
    undetermined_fit,
)
from .contributions import CellAnalysis, analyse
from .geometry import Cell
from .models import NamedModel

__all__ = [
    "BOLTZMANN_EV_PER_K",
    "ROLES",
    "ArrheniusFit",
    "ArrheniusSeries",
    "arrhenius_fit",
    "arrhenius_series",
]

ROLES = ("bulk", "grain_boundary", "total")


@dataclass(frozen=True)
class ArrheniusSeries:
    """A fitted temperature series, in increasing temperature.

    ``fits`` maps each role among bulk, grain_boundary and total that the circuit has to
    its `ArrheniusFit` (``status`` ``undetermined`` with NaN when fewer than two
    temperatures are usable); ``regression`` is the one asked for (each fit says which it
    used).
    """

    temperatures_k: tuple[float, ...]
    results: tuple[FitResult, ...]
    analyses: tuple[CellAnalysis, ...]
    fits: Mapping[str, ArrheniusFit]
    cell: Cell
    circuit: str
    model: str | None = None
    warnings: tuple[str, ...] = field(default=())
    regression: str = "weighted"

    def conductivities(self, role: str) -> list[tuple[float | None, float | None]]:
        """(conductivity, stderr) in S/cm of ``role`` per temperature; None where absent."""
        return [_conductivity(analysis, role) for analysis in self.analyses]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``activation_energy_ev`` as ``{role: {value, stderr}}``."""
        rows = []
        for t, result, analysis in zip(
            self.temperatures_k, self.results, self.analyses, strict=True
        ):
            sigma = {}
            for role in ROLES:
                value, stderr = _conductivity(analysis, role)
                if value is not None:
                    sigma[role] = {"value": value, "stderr": stderr}
            rows.append(
                {
                    "temperature_k": t,
                    "temperature_c": t - ZERO_CELSIUS_K,
                    "source": result.spectrum.meta.source,
                    "index": result.spectrum.meta.index,
                    "success": result.success,
                    "status": fit_status(result),
                    "conductivity_s_cm": sigma,
                    "contributions": [c.to_dict() for c in analysis.contributions],
                    "warnings": list(dict.fromkeys(result.warnings + analysis.all_warnings)),
                }
            )
        fits = {role: fit.to_dict() for role, fit in self.fits.items()}
        return {
            "circuit": self.circuit,
            "model": self.model,
            "cell": self.cell.to_dict(),
            "activation_energy_ev": {r: f["activation_energy_ev"] for r, f in fits.items()},
            "prefactor_s_k_cm": {r: f["prefactor_s_k_cm"] for r, f in fits.items()},
            "arrhenius": fits,
            "regression": self.regression,
            "temperatures": rows,
            "warnings": list(self.warnings),
        }


def _conductivity(analysis: CellAnalysis, role: str) -> tuple[float | None, float | None]:
    if role == "total":
        value = analysis.total_conductivity_s_cm
        stderr = analysis.total_conductivity_stderr_s_cm
    else:
        contribution = analysis.by_role(role)
        if contribution is None:
            return None, None
        value, stderr = contribution.conductivity_s_cm, contribution.conductivity_stderr_s_cm
    if value is None or not math.isfinite(value):
        return None, None
    return float(value), None if stderr is None or not math.isfinite(stderr) else float(stderr)


def fit_status(result: FitResult) -> str:
    """The result's status word (`eisfit.status`): ``failed`` whenever ``success`` is False,
    else its ``status`` (``ok`` when it carries none)."""
    status = getattr(result, "status", None)
    if not result.success:
        return "failed"
    return status if isinstance(status, str) and status in STATUSES else "ok"


def _has_role(analysis: CellAnalysis, role: str) -> bool:
    return analysis.by_role("bulk" if role == "total" else role) is not None


def _role_fit(
    role: str,
    temperatures_k: Sequence[float],
    results: Sequence[FitResult],
    analyses: Sequence[CellAnalysis],
    regression: str,
) -> tuple[ArrheniusFit, list[str]]:
    """The Arrhenius fit of one role from its usable points, and the notes on skipped ones."""
    points, notes, skipped = [], [], []
    for t, result, analysis in zip(temperatures_k, results, analyses, strict=True):
        if fit_status(result) not in USABLE:
            skipped.append(t)
            continue
        value, stderr = _conductivity(analysis, role)
        if value is None:
            notes.append(f"{role}: conductivity undetermined at {temperature_text(t)}, "
                         "point skipped")  # fmt: skip
            skipped.append(t)
            continue
        points.append((t, value, math.nan if stderr is None else stderr))
    if len({p[0] for p in points}) < 2:
        reason = (
            f"conductivity at {len(points)} of {len(temperatures_k)} temperatures, "
            "at least 2 needed"
        )
        fit_ = undetermined_fit(
            role, reason, regression=regression, skipped_k=tuple(skipped),
            temperatures_k=tuple(p[0] for p in points),
            conductivities_s_cm=tuple(p[1] for p in points),
        )  # fmt: skip
        return fit_, notes
    if len(points) < len(temperatures_k):
        notes.append(f"{role}: fitted on {len(points)} of {len(temperatures_k)} temperatures")
    t_k, sigma, stderr = zip(*points, strict=True)
    fit_ = arrhenius_fit(
        t_k, sigma, role=role, conductivity_stderr_s_cm=stderr, regression=regression
    )
    return replace(fit_, skipped_k=tuple(skipped)), notes


def _role_changes(temperatures_k: Sequence[float], analyses: Sequence[CellAnalysis]) -> list[str]:
    """A warning per role whose elements differ between temperatures (mixed-up arcs)."""
    out = []
    for role in ("bulk", "grain_boundary"):
        seen = {}
        for t, analysis in zip(temperatures_k, analyses, strict=True):
            contribution = analysis.by_role(role)
            seen.setdefault(contribution.elements if contribution else (), t)
        if len(seen) > 1:
            where = ", ".join(f"{'+'.join(e) or 'none'} from {t:.2f} K" for e, t in seen.items())
            out.append(
                f"{role} is not the same element at every temperature ({where}); "
                "set roles= (CLI: --role) to keep one assignment"
            )
    return out


def arrhenius_series(
    spectra: Sequence[Spectrum],
    temperatures_k: Sequence[float] | None,
    circuit_or_model: str | Circuit | NamedModel,
    cell: Cell,
    *,
    roles: Mapping[str, str] | None = None,
    regression: str | None = None,
) -> ArrheniusSeries:
    """Fit every spectrum (coldest first, warm-started), analyse it, fit Ea per role.

    ``temperatures_k`` (one per spectrum; ``None``: each spectrum's ``meta.temperature_k``)
    need not be sorted.  A `NamedModel` supplies its circuit, bounds and element roles;
    ``roles`` (e.g. ``{"R1": "bulk"}``) override them.  ``regression``: ``"weighted"``
    (default: w = (sigma / stderr)^2 with the Birge factor) or ``"unweighted"`` (ordinary
    least squares of ln(sigma T) on 1/T); formulas in `eisfit.physics.activation`.  Fits
    that do not converge, and undetermined conductivities, are kept in ``results`` but left
    out of the Arrhenius fits, each with a warning naming the temperature.
    """
    method = check_regression(regression)
    if not isinstance(cell, Cell):
        raise PhysicsError("an Arrhenius series needs the cell geometry (Cell(area_cm2, ...))")
    spectra = list(spectra)
    if temperatures_k is None:
        missing = [i for i, s in enumerate(spectra) if s.meta.temperature_k is None]
        if missing:
            raise PhysicsError(f"no temperature given or recorded for spectra {missing}")
        temperatures_k = [float(s.meta.temperature_k) for s in spectra]  # type: ignore[arg-type]
    temps = positive_finite(temperatures_k, "temperatures_k")
    if temps.size != len(spectra):
        raise PhysicsError(f"{temps.size} temperatures for {len(spectra)} spectra")
    if np.unique(temps).size != temps.size:
        raise PhysicsError("each temperature may appear only once in a series")
    if isinstance(circuit_or_model, NamedModel):
        circuit, bounds = circuit_or_model.circuit, dict(circuit_or_model.bounds) or None
        all_roles = {**circuit_or_model.roles, **(roles or {})}
        model_name: str | None = circuit_or_model.name
    else:
        circuit, bounds, all_roles, model_name = circuit_or_model, None, dict(roles or {}), None
    order = np.argsort(temps)
    results: list[FitResult] = []
    analyses: list[CellAnalysis] = []
    warnings: list[str] = []
    previous: FitResult | None = None
    for i in order:
        initial = dict(previous.values) if previous is not None else None
        result = fit(spectra[i], circuit, initial=initial, bounds=bounds)
        results.append(result)
        analyses.append(analyse(result, cell, roles=all_roles or None))
        if result.success:
            previous = result
        if fit_status(result) not in USABLE:
            warnings.append(
                f"{temps[i]:.2f} K: fit did not converge ({result.message}); "
                f"{temperature_text(temps[i])} skipped"
            )
    sorted_t = tuple(float(temps[i]) for i in order)
    fits: dict[str, ArrheniusFit] = {}
    for role in ROLES:
        if not any(_has_role(a, role) for a in analyses):
            continue  # the circuit has no such arc: a modelling choice, not a finding
        fits[role], notes = _role_fit(role, sorted_t, results, analyses, method)
        warnings.extend(notes)
        warnings.extend(fits[role].warnings)
    warnings.extend(_role_changes(sorted_t, analyses))
    return ArrheniusSeries(
        temperatures_k=sorted_t,
        results=tuple(results),
        analyses=tuple(analyses),
        fits=MappingProxyType(fits),
        cell=cell,
        circuit=results[0].circuit if results else str(circuit),
        model=model_name,
        warnings=tuple(warnings),
        regression=method,
    )
