"""One spectrum in a report: its facts, parameter and contribution tables (HTML) and the
PDF's text lines under its figure.

Pure functions of a `SpectrumView`.  Units are written with their symbols
(`eisfit.report.units`); an inductance row says its L instead of "R = 0"; an apex far
outside the measured band is named by its side, not by a number the data cannot support;
the run-level "no cell geometry" note is left to the summary (`data.without_geometry_notes`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from ..fitting.verdict import apex_outside
from . import html as h
from .data import SpectrumView
from .data import without_geometry_notes as _run_level
from .units import display_text, display_unit

__all__ = [
    "apex_text",
    "contributions_html",
    "param_lines",
    "spectrum_html",
    "wrapped",
]


def _value_or_undetermined(p: Mapping[str, Any]) -> str:
    """value ± stderr, or "undetermined" for a parameter the data do not determine."""
    if p.get("undetermined"):
        return "undetermined"
    return h.value_pm(p.get("value"), p.get("stderr"))


def apex_text(apex_hz: Any, band_hz: tuple[float, float]) -> str:
    """An arc's apex frequency f0 / Hz as the report shows it: the number inside the
    measured band; marked extrapolated up to `APEX_DECADES` outside it; beyond that only
    the side, since an apex of 1e-33 Hz is what the fitted values imply, not a frequency
    the data say anything about (`eisfit.fitting.verdict`: such an arc's parameters are
    undetermined; docs/physics-notes.md sec. 3)."""
    try:
        apex = float(apex_hz)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(apex) or apex <= 0:
        return "-"
    where = apex_outside(apex, band_hz)
    if where is None:
        return h.fmt(apex)
    side, edge = where
    if edge is not None:
        return f"far {side} the band ({'<' if side == 'below' else '>'} {edge:.2g})"
    return f"{h.fmt(apex)} ({side} the band: extrapolated)"


def _element_values(view: SpectrumView, elements: Sequence[str]) -> str:
    """``L0.L = 2.05e-07 ± 9.9e-09 H`` for every parameter of ``elements``."""
    return ", ".join(
        f"{p['name']} = {_value_or_undetermined(p)}"
        + (f" {display_unit(p.get('unit'))}" if display_unit(p.get("unit")) else "")
        for p in view.parameters if str(p["name"]).split(".")[0] in elements
    )  # fmt: skip


def _inductance_text(view: SpectrumView, c: Mapping[str, Any]) -> str:
    """An inductance has no resistance: its L (and the physics' reason), not R = 0."""
    values = _element_values(view, [str(e) for e in c.get("elements") or ()])
    reason = str(c.get("reason") or "series inductance")
    return f"{values}: {reason}, no resistance" if values else f"{reason}, no resistance"


_CONTRIBUTION_HEADER = ("role", "elements", "R / Ω", "C_eff / F", "apex f / Hz",
                        "ASR / Ω cm²", "σ / S cm⁻¹")  # fmt: skip


def contributions_html(view: SpectrumView) -> str:
    """The contributions table; an inductance row says its L; a column empty in every row
    (ASR and σ without a cell geometry) is left out."""
    f = view.spectrum.frequency_hz
    band = (float(f.min()), float(f.max()))
    rows: list[list[Any]] = []
    for c in view.contributions:
        head = [c.get("role"), ", ".join(map(str, c.get("elements") or ()))]
        if c.get("role") == "inductance":
            rows.append([*head, h.Wide(_inductance_text(view, c))])
            continue
        rows.append([
            *head, h.value_pm(c.get("resistance_ohm"), c.get("resistance_stderr_ohm")),
            h.value_pm(c.get("capacitance_f"), c.get("capacitance_stderr_f")),
            apex_text(c.get("apex_frequency_hz"), band),
            h.value_pm(c.get("asr_ohm_cm2"), c.get("asr_stderr_ohm_cm2"))
            + (" (per interface)" if c.get("per_interface") else ""),
            h.value_pm(c.get("conductivity_s_cm"), c.get("conductivity_stderr_s_cm")),
        ])  # fmt: skip
    if not rows:
        return ""
    full = [r for r in rows if not isinstance(r[-1], h.Wide)]
    keep = [i for i in range(len(_CONTRIBUTION_HEADER))
            if i < 3 or any(r[i] != "-" for r in full)]  # fmt: skip
    header = [_CONTRIBUTION_HEADER[i] for i in keep]
    rows = [r if isinstance(r[-1], h.Wide) else [r[i] for i in keep] for r in rows]
    return h.table_html(header, rows, numeric=tuple(range(2, len(keep))))


_START = {
    "fresh": "fresh (multi-start from automatic starting values)",
    "warm": "warm (from the previous spectrum's fit)",
    "fallback": "fallback (the warm fit was rejected; refitted from scratch)",
}


def spectrum_html(view: SpectrumView, figure: str, when: str) -> str:
    s = view.summary
    kk = s.get("kk") or {}
    start = s.get("start_path")
    facts = [
        ("status", s.get("status")),
        *(("because", display_text(str(r))) for r in s.get("reasons") or ()),
        ("message", display_text(str(s.get("message") or ""))),
        *((("start", _START.get(str(start), start)),) if start else ()),
        ("χ² per point", h.fmt(s.get("chi2_per_point"))),
        ("Kramers-Kronig", kk.get("message", "not run") if kk else "not run"),
        ("R_total", f"{h.fmt(s.get('total_resistance_ohm'))} Ω"),
    ]
    if when:
        facts.insert(0, ("time", when))
    params = [
        [p["name"], _value_or_undetermined(p), display_unit(p.get("unit")),
         "fixed" if p.get("fixed") else ""]
        for p in view.parameters
    ]  # fmt: skip
    warnings = [display_text(w) for w in _run_level(s.get("warnings") or [])]
    out = [
        f'<div class="spectrum"><h3>{h.esc(view.title)}</h3>{h.badges_html(view.reasons)}',
        figure,
        h.facts_html(facts),
        h.table_html(["parameter", "value ± stderr", "unit", ""], params, numeric=(1,)),
        contributions_html(view),
    ]
    if warnings:
        out.append("<ul>" + "".join(f"<li>{h.esc(w)}</li>" for w in warnings) + "</ul>")
    out.append("</div>")
    return "".join(out)


_WIDTH = 108  # characters of a PDF text line (`eisfit.report.pdf` cuts at 110)


def wrapped(lines: Sequence[str], indent: str = "    ") -> list[str]:
    """``lines`` wrapped to `_WIDTH` (continuations indented), so no PDF line is cut."""
    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, _WIDTH, subsequent_indent=indent, break_on_hyphens=False,
                             drop_whitespace=True) or [""]  # fmt: skip
    return out


def param_lines(view: SpectrumView) -> list[str]:
    """The PDF's text under a spectrum figure: status, parameters, contributions, notes."""
    s = view.summary
    lines = [f"status: {s.get('status')}", display_text(str(s.get("message") or ""))]
    lines += [f"because: {display_text(str(r))}" for r in s.get("reasons") or ()]
    lines += [
        f"{p['name']:<10} {_value_or_undetermined(p):>26} {display_unit(p.get('unit'))}"
        for p in view.parameters
    ]
    f = view.spectrum.frequency_hz
    band = (float(f.min()), float(f.max()))
    for c in view.contributions:
        if c.get("role") == "inductance":
            lines.append(f"{c.get('role')}: {_inductance_text(view, c)}")
            continue
        r = h.value_pm(c.get("resistance_ohm"), c.get("resistance_stderr_ohm"))
        text = f"{c.get('role')}: " + (f"R = {r} Ω" if r != "-" else "R undetermined")
        apex = apex_text(c.get("apex_frequency_hz"), band)
        text += f", apex {apex} Hz" if apex != "-" else ""
        if c.get("asr_ohm_cm2") is not None:
            where = " per interface" if c.get("per_interface") else ""
            text += f", ASR {h.fmt(c.get('asr_ohm_cm2'))} Ω cm²{where}"
        lines.append(text)
    kk = s.get("kk") or {}
    if kk:
        lines.append(str(kk.get("message", "")))
    lines += [f"warning: {display_text(w)}" for w in _run_level(s.get("warnings") or [])]
    return wrapped(lines)
