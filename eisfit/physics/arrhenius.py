"""Temperature series of spectra: fit, analyse, Arrhenius per role.

`arrhenius_series` fits a temperature series of spectra in temperature order (coldest
first, where the arcs are largest and best resolved), starting each fit from the previous
temperature's values (``eisfit.fit(..., initial=previous.values)``) so every spectrum lands
on the same physical solution, analyses each result with `eisfit.physics.analyse`, and fits
sigma T = A exp(-Ea / (kB T)) to the bulk, grain-boundary and total conductivities
separately (domain notes sec. 6: "fit bulk and grain boundary separately"; statistics in
`eisfit.physics.activation`).  Blocking-electrode cells: the named model (or ``roles``)
makes the higher-frequency arc bulk and the lower one grain boundary.

The pure line fit (`arrhenius_fit`, `ArrheniusFit`) and the plot (`plot_arrhenius`) live in
`activation` and `arrhenius_plot` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..circuits.model import Circuit
from ..fitting import fit
from ..result import FitResult
from ..spectrum import Spectrum
from .activation import BOLTZMANN_EV_PER_K, ArrheniusFit, arrhenius_fit, positive_finite
from .arrhenius_plot import plot_arrhenius
from .contributions import CellAnalysis, analyse
from .errors import PhysicsError
from .geometry import Cell
from .models import NamedModel

__all__ = [
    "BOLTZMANN_EV_PER_K",
    "ROLES",
    "ArrheniusFit",
    "ArrheniusSeries",
    "arrhenius_fit",
    "arrhenius_series",
    "plot_arrhenius",
]

ROLES = ("bulk", "grain_boundary", "total")
_ZERO_C_K = 273.15  # K at 0 degrees C


@dataclass(frozen=True)
class ArrheniusSeries:
    """A fitted temperature series, in increasing temperature.

    ``fits`` maps each role among bulk, grain_boundary and total that has a conductivity at
    two or more temperatures to its `ArrheniusFit`.
    """

    temperatures_k: tuple[float, ...]
    results: tuple[FitResult, ...]
    analyses: tuple[CellAnalysis, ...]
    fits: Mapping[str, ArrheniusFit]
    cell: Cell
    circuit: str
    model: str | None = None
    warnings: tuple[str, ...] = field(default=())

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
                    "temperature_c": t - _ZERO_C_K,
                    "source": result.spectrum.meta.source,
                    "index": result.spectrum.meta.index,
                    "success": result.success,
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
) -> ArrheniusSeries:
    """Fit every spectrum (coldest first, warm-started), analyse it, fit Ea per role.

    ``temperatures_k`` (one per spectrum; ``None``: each spectrum's ``meta.temperature_k``)
    need not be sorted.  A `NamedModel` supplies its circuit, bounds and element roles;
    ``roles`` (e.g. ``{"R1": "bulk"}``) override them.  Fits that do not converge are kept
    in ``results`` but left out of the Arrhenius fits, with a warning.
    """
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
        else:
            warnings.append(f"{temps[i]:.2f} K: fit did not converge ({result.message})")
    sorted_t = tuple(float(temps[i]) for i in order)
    fits: dict[str, ArrheniusFit] = {}
    for role in ROLES:
        points = [
            (t, *_conductivity(a, role))
            for t, r, a in zip(sorted_t, results, analyses, strict=True)
            if r.success
        ]
        points = [p for p in points if p[1] is not None]
        if len(points) < 2:
            if points or role != "grain_boundary":  # no gb arc at all is a modelling choice
                warnings.append(
                    f"{role}: conductivity at {len(points)} of {len(sorted_t)} temperatures, "
                    "no Arrhenius fit"
                )
            continue
        if len(points) < len(sorted_t):
            warnings.append(f"{role}: fitted on {len(points)} of {len(sorted_t)} temperatures")
        t_k, sigma, stderr = zip(*points, strict=True)
        stderr = tuple(math.nan if v is None else v for v in stderr)
        fits[role] = arrhenius_fit(t_k, sigma, role=role, conductivity_stderr_s_cm=stderr)
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
    )
