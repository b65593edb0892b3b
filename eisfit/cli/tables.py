"""Plain-text tables of the CLI: contributions of a fit, an Arrhenius series, named models.

Functions return strings; printing is left to `eisfit.cli.main`.  The command line writes
units in ASCII, as results.csv and `FitResult.report` do (ohm, ohm cm2, S/cm, +/-): one
convention per medium, so the output survives any terminal encoding and greps as the
table's column names do; the HTML/PDF report writes the symbols (`eisfit.report.units`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..fitting.verdict import apex_outside
from ..physics.activation import ZERO_CELSIUS_K
from ..schema import ROLE_KINDS

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.result import FitResult
    from ..physics.arrhenius import ArrheniusSeries
    from ..physics.contributions import CellAnalysis, Contribution
    from ..physics.models import NamedModel

__all__ = ["apex_text", "arrhenius_table", "contribution_report", "models_table"]

# units of the cell's quantities, as results.csv states them (`eisfit.schema`)
_OHM = ROLE_KINDS["resistance"]
_OHM_CM2 = ROLE_KINDS["asr"]
_S_CM = ROLE_KINDS["conductivity"]
_F = ROLE_KINDS["capacitance"]


def _number(value: float | None, stderr: float | None = None, fmt: str = ".4g") -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if stderr is None or not math.isfinite(stderr):
        return format(value, fmt)
    return f"{value:{fmt}} +/- {stderr:.2g}"


def apex_text(apex_hz: float, band_hz: tuple[float, float] | None) -> str:
    """``f0 = 532 Hz``; an apex further than `APEX_DECADES` outside the measured band is
    named by its side only (``f0 far below the band (< 0.01 Hz)``): a value like 1e-33 Hz
    is what the fitted numbers imply, not a frequency the data support
    (`eisfit.fitting.verdict`; docs/physics-notes.md sec. 3)."""
    text = f"f0 = {_number(apex_hz, fmt='.3g')} Hz"
    if band_hz is None or not math.isfinite(apex_hz) or apex_hz <= 0:
        return text
    where = apex_outside(apex_hz, band_hz)
    if where is None:
        return text
    side, edge = where
    if edge is not None:
        return f"f0 far {side} the band ({'<' if side == 'below' else '>'} {edge:.2g} Hz)"
    return f"{text} ({side} the band: extrapolated)"


def _inductance(c: Contribution, result: FitResult | None) -> str:
    """An inductance has no resistance: its L from the fit, not "R = 0"."""
    if result is None:
        return "lead inductance (value in the parameter table), no resistance"
    values = [
        f"{name} = {_number(result.values[name], result.stderr.get(name))} {p.unit}".rstrip()
        for name, p in zip(result.values, result.model.parameters, strict=True)
        if name.split(".")[0] in c.elements
    ]
    return f"{', '.join(values)}: lead inductance, no resistance"


def contribution_report(
    fit_report: str, analysis: CellAnalysis, *, result: FitResult | None = None
) -> str:
    """The fit's parameter table, then one line per physical contribution.  With the
    ``result`` the lines say an inductance's L and where an apex lies against the band."""
    band = None
    if result is not None:
        f = result.spectrum.frequency_hz
        band = (float(f.min()), float(f.max()))
    lines = [fit_report, "contributions:"]
    for c in analysis.contributions:
        r = _number(c.resistance_ohm, c.resistance_stderr_ohm)
        what = [f"R = {r} {_OHM}" if r != "-" else "R undetermined"]
        if c.resistance_ohm == math.inf:  # a blocking spike: no DC path by construction
            what = ["R = inf (blocking)"]
        if c.role == "inductance":
            what = [_inductance(c, result)]
        if c.capacitance_f is not None:
            what.append(f"C = {_number(c.capacitance_f, c.capacitance_stderr_f, '.3g')} {_F}")
            what[-1] += f" ({c.capacitance_formula})"
        if c.apex_frequency_hz is not None:
            what.append(apex_text(c.apex_frequency_hz, band))
        if c.asr_ohm_cm2 is not None:
            where = "per interface" if c.per_interface else "cell"
            asr = _number(c.asr_ohm_cm2, c.asr_stderr_ohm_cm2)
            what.append(f"ASR = {asr} {_OHM_CM2} ({where})")
        if c.conductivity_s_cm is not None:
            sigma = _number(c.conductivity_s_cm, c.conductivity_stderr_s_cm, ".3e")
            what.append(f"sigma = {sigma} {_S_CM}")
        lines.append(f"  {c.role:<16} {'+'.join(c.elements):<10} " + ", ".join(what))
    if analysis.total_conductivity_s_cm is not None:
        sigma = _number(
            analysis.total_conductivity_s_cm, analysis.total_conductivity_stderr_s_cm, ".3e"
        )
        lines.append(f"  total electrolyte conductivity = {sigma} {_S_CM}")
    lines.extend(f"  warning: {w}" for w in dict.fromkeys(analysis.all_warnings))  # each once
    return "\n".join(lines)


_REGRESSION_TEXT = {
    "weighted": "weighted least squares of ln(sigma T) on 1/T, w = (sigma / stderr)^2, "
    "covariance x max(1, chi2 / (n - 2))",
    "unweighted": "unweighted (ordinary) least squares of ln(sigma T) on 1/T",
}


def arrhenius_table(series: ArrheniusSeries) -> str:
    """Conductivity per temperature and role, then Ea and A per role with the regression
    used; an undetermined Ea is printed as such with its reason, never as a number."""
    from ..physics.arrhenius import ROLES  # the Arrhenius fit loads only for this table

    roles = [role for role in ROLES if role in series.fits]
    lines = [f"circuit {series.circuit}" + (f" (model {series.model})" if series.model else "")]
    lines.append("  T (C)    " + "".join(f"{f'sigma_{r} ({_S_CM})':<28}" for r in roles))
    for i, t in enumerate(series.temperatures_k):
        cells = [_number(*series.conductivities(role)[i], fmt=".3e") for role in roles]
        lines.append(f"  {t - ZERO_CELSIUS_K:<8.2f} " + "".join(f"{c:<28}" for c in cells))
    lines.append(f"  regression: {_REGRESSION_TEXT.get(series.regression, series.regression)}")
    for role in roles:
        f = series.fits[role]
        if f.status == "undetermined":
            lines.append(f"  Ea({role}) undetermined: {f.reason}")
            continue
        lines.append(
            f"  Ea({role}) = {_number(f.activation_energy_ev, f.activation_energy_stderr_ev)} eV, "
            f"A = {_number(f.prefactor_s_k_cm, f.prefactor_stderr_s_k_cm, '.3g')} S K/cm "
            f"({f.regression})"
        )
    lines.extend(f"  warning: {w}" for w in series.warnings)
    return "\n".join(lines)


def models_table(models: Iterable[NamedModel]) -> str:
    """One entry per model: ``name: circuit`` and the wrapped description."""
    blocks = [
        f"{m.name}: {m.circuit}\n"
        + textwrap.fill(" ".join(m.description.split()), 96, initial_indent="    ",
                        subsequent_indent="    ")
        for m in models
    ]  # fmt: skip
    return "\n".join(blocks)
