"""How eisfit's objects show themselves in Jupyter (``_repr_html_``).

A `Spectrum`, a `FitResult` and a `CellAnalysis` left as the last expression of a
notebook cell render as a small table instead of a dataclass dump.  Every text that can
come from a file (source names, messages, reasons) is HTML-escaped.  The functions here
only read attributes, so they import nothing from the layers they render.  Units are
written with their symbols, as in the HTML report (Ω, Ω cm², S cm⁻¹, ±; `_UNITS`); an
inductance row says it has no resistance instead of "0 ± 0".
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["analysis_html", "fit_result_html", "spectrum_html"]

_STYLE = "border-collapse:collapse;font-size:90%"
#: ASCII units of the element parameters -> the symbols the report writes
#: (`eisfit.schema.UNIT_SYMBOLS`, kept here as text: this module imports no eisfit layer)
_UNITS = {"ohm": "Ω", "S s^n": "S sⁿ", "H s^(n-1)": "H sⁿ⁻¹", "ohm s^-1/2": "Ω s^-½"}


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undetermined"
    return f"{value:.{digits}g}"


def _pm(value: Any, stderr: Any) -> str:
    text = _num(value)
    if text == "undetermined" or stderr is None or not math.isfinite(float(stderr)):
        return text
    return f"{text} ± {float(stderr):.2g}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table style='{_STYLE}'><tr>{head}</tr>{body}</table>"


def _list(title: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    return (
        f"<p>{html.escape(title)}</p><ul>"
        + "".join(f"<li>{html.escape(str(i))}</li>" for i in items)
        + "</ul>"
    )


def spectrum_html(spectrum: Any) -> str:
    """A spectrum: where it is from, its band, its points and what screening said."""
    m = spectrum.meta
    f = spectrum.frequency_hz
    z = abs(spectrum.impedance_ohm)
    rows = [
        ("source", m.source or "(in memory)"),
        ("index", m.index),
        ("points", len(spectrum)),
        ("band", f"{_num(float(f.min()), 3)} Hz - {_num(float(f.max()), 3)} Hz"),
        ("|Z|", f"{_num(float(z.min()), 3)} - {_num(float(z.max()), 3)} Ω"),
        ("timestamp", m.timestamp.isoformat() if m.timestamp is not None else "-"),
        ("screened", "no" if m.findings is None else f"{len(m.findings)} finding(s)"),
    ]
    return "<b>Spectrum</b>" + _table(("", ""), rows) + _list("removed:", m.removed)


def fit_result_html(result: Any) -> str:
    """A fit: its status and why, every parameter (or why it is undetermined), chi2."""
    model = result.model
    rows = []
    for i, name in enumerate(result.values):
        unit = _UNITS.get(model.parameters[i].unit, model.parameters[i].unit)
        if name in result.undetermined:
            rows.append((name, "undetermined", unit, result.undetermined[name]))
            continue
        note = "fixed" if name in result.fixed else ""
        rows.append((name, _pm(result.values[name], result.stderr[name]), unit, note))
    head = (
        f"<b>{html.escape(result.circuit)}</b> ({html.escape(result.weighting)} weighting): "
        f"<b>{html.escape(result.status)}</b>, chi2/point {_num(result.chi2_per_point, 3)}, "
        f"BIC {_num(result.bic, 5)}"
    )
    return (
        f"<p>{head}</p>" + _list("because:", result.reasons)
        + _table(("parameter", "value", "unit", "note"), rows)
        + _list("warnings:", result.warnings)
    )  # fmt: skip


def _resistance(c: Any) -> str:
    if c.role == "inductance":  # an inductance has no resistance; its L is a fit parameter
        return "none (inductance: L in the fit's table)"
    return _pm(c.resistance_ohm, c.resistance_stderr_ohm)


def analysis_html(analysis: Any) -> str:
    """A cell analysis: one row per contribution with R, C, ASR and conductivity."""
    rows = [
        (
            c.role, "+".join(c.elements), _resistance(c),
            _pm(c.capacitance_f, c.capacitance_stderr_f) if c.capacitance_f is not None else "-",
            _pm(c.asr_ohm_cm2, c.asr_stderr_ohm_cm2) if c.asr_ohm_cm2 is not None else "-",
            _pm(c.conductivity_s_cm, c.conductivity_stderr_s_cm)
            if c.conductivity_s_cm is not None else "-",
        )
        for c in analysis.contributions
    ]  # fmt: skip
    header = ("role", "elements", "R / Ω", "C / F", "ASR / Ω cm²", "σ / S cm⁻¹")
    total = f"R total {_pm(analysis.total_resistance_ohm, analysis.total_resistance_stderr_ohm)}"
    return (
        "<b>Cell analysis</b>" + _table(header, rows) + f"<p>{html.escape(total)} Ω</p>"
        + _list("warnings:", list(dict.fromkeys(analysis.all_warnings)))
    )  # fmt: skip
