"""Arrhenius plot: log10(sigma T) against 1000/T, one series and fitted line per role.

Plotting only; the fits come from `eisfit.physics.arrhenius`.  Figures are built on
matplotlib's Agg canvas without pyplot, so nothing is shown and no global state changes.
The title names the regression (weighted / unweighted least squares, see
`eisfit.physics.activation`); a role whose Ea is undetermined shows its points, no line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .activation import ZERO_CELSIUS_K

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .arrhenius import ArrheniusFit, ArrheniusSeries

__all__ = ["plot_arrhenius", "regression_title"]



def _inverse_to_celsius(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1000.0 / np.asarray(x, dtype=float) - ZERO_CELSIUS_K


def _celsius_to_inverse(c: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1000.0 / (np.asarray(c, dtype=float) + ZERO_CELSIUS_K)


def regression_title(fits: Sequence[ArrheniusFit]) -> str:
    """``weighted least squares (by the fit stderrs)``, ``unweighted least squares`` or, when
    the roles differ, each role's."""
    names = {
        "weighted": "weighted least squares (by the fit stderrs)",
        "unweighted": "unweighted least squares",
    }
    used = {f.regression for f in fits}
    if len(used) == 1:
        return names.get(used.pop(), "")
    return "; ".join(f"{f.role.replace('_', ' ')}: {f.regression}" for f in fits)


def plot_arrhenius(series: ArrheniusSeries | Sequence[ArrheniusFit]) -> Figure:
    """log10(sigma T) against 1000/T with error bars and the fitted line of each role.

    Returns a matplotlib `Figure` on the Agg canvas (nothing is shown); save it with
    ``figure.savefig(path)``.  The title says which regression was used.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fits = list(series.fits.values()) if hasattr(series, "fits") else list(series)
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    markers = {"bulk": "o", "grain_boundary": "s", "total": "^"}
    for fit_ in fits:
        t = np.asarray(fit_.temperatures_k)
        sigma = np.asarray(fit_.conductivities_s_cm)
        y = np.log10(sigma * t)
        yerr = None
        if fit_.conductivity_stderr_s_cm is not None:
            yerr = np.asarray(fit_.conductivity_stderr_s_cm) / (sigma * np.log(10.0))
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        name = fit_.role.replace("_", " ")
        ea, se = fit_.activation_energy_ev, fit_.activation_energy_stderr_ev
        if not math.isfinite(ea):
            if t.size:
                ax.plot(1000.0 / t, y, markers.get(fit_.role, "D"), ms=5, mfc="none",
                        label=f"{name}: Ea undetermined")  # fmt: skip
            continue
        points = ax.errorbar(
            1000.0 / t, y, yerr=yerr, fmt=markers.get(fit_.role, "D"), capsize=3, ms=5
        )
        line_t = np.linspace(t.min(), t.max(), 50)
        label = f"{name}: Ea = {ea:.3f}"
        label += f" ± {se:.3f} eV" if math.isfinite(se) else " eV"
        ax.plot(
            1000.0 / line_t,
            np.log10(fit_.conductivity_s_cm(line_t) * line_t),
            color=points[0].get_color(),
            label=label,
        )
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("log10(σ T / (S K cm⁻¹))")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    if fits:
        ax.set_title(f"Arrhenius fit: {regression_title(fits)}", fontsize=9)
        top = ax.secondary_xaxis("top", functions=(_inverse_to_celsius, _celsius_to_inverse))
        top.set_xlabel("T (°C)")
    return figure
