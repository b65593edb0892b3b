"""The content of a report: its sections as escaped HTML and the PDF's text lines.

Pure functions of the loaded run (`eisfit.report.data`); drawing and writing files are
`eisfit.report.writer`'s.  Every string that came from a file goes through `html.esc`
(tables and fact lists escape their cells).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..schema import label
from ..status import STATUSES
from . import html as h
from .data import RunData, Selection, SpectrumView, common_warnings

__all__ = [
    "CAPTION",
    "METHODS",
    "attention",
    "cell_text",
    "files_section",
    "law_header",
    "law_rows",
    "now",
    "outputs_html",
    "param_lines",
    "spectrum_html",
    "summary",
    "summary_lines",
    "time_text",
    "trends_section",
    "versions",
]


MAX_LISTED = 40  # failed/error rows listed one by one under "needs attention"

CAPTION = "Nyquist (equal axes), Bode, fit residuals and lin-KK residuals"


def versions() -> str:
    import matplotlib
    import numpy
    import scipy

    from .._version import __version__

    return (
        f"eisfit {__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
        f"matplotlib {matplotlib.__version__}"
    )


def now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def attention(run: RunData, selection: Selection) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for event in run.trends.get("events") or ():
        cell = f" in cell {event['cell']}" if event.get("cell") is not None else ""
        items.append(
            ("bad" if event.get("kind") == "short_circuit" else "warn",
             f"event {event.get('kind')}{cell} at {h.fmt(event.get('time_h'))} "
             f"({run.time_label.split(' /')[0]}) in {event.get('quantity')}: "
             f"{event.get('evidence')}")
        )  # fmt: skip
    table = run.table
    status = table["status"].astype(str)
    bad = table[status.isin(["failed", "error"])]
    for _, row in bad.head(MAX_LISTED).iterrows():
        where = f"{row['source']}" + (
            f" #{int(row['index'])}" if "index" in row and pd.notna(row["index"]) else ""
        )
        message = str(row.get("message", ""))
        if message.startswith(str(row["source"])):  # a read error names its file already
            message = message[len(str(row["source"])) :].lstrip(":, ")
        items.append(("bad", f"{row['status']}: {where}: {message}"))
    if len(bad) > MAX_LISTED:
        items.append(("bad", f"... and {len(bad) - MAX_LISTED} more failed/error rows "
                             "(see results.csv)"))  # fmt: skip
    items.extend(_status_items(table, status))
    for note in run.missing:
        items.append(("warn", note))
    skipped = run.trends.get("skipped") or {}
    for quantity, reason in skipped.items():
        if reason != "column absent":
            items.append(("info", f"no growth law for {quantity}: {reason}"))
    if "kk_verdict" in table.columns:
        verdicts = table["kk_verdict"].astype(str)
        for verdict, why in (("not consistent", "drift, artefacts or non-linearity"),
                             ("undetermined", "the data scatter too much to tell")):
            n = int((verdicts == verdict).sum())
            if n:
                items.append(("warn", f"{n} spectra are {verdict} in the Kramers-Kronig "
                                      f"(lin-KK) check ({why}); read their fits with care"))
    elif "kk_valid" in table.columns:  # a results.csv of an older eisfit
        kk_failed = int(table["kk_valid"].map(lambda v: str(v) == "False").sum())
        if kk_failed:
            items.append(("warn", f"{kk_failed} spectra fail the Kramers-Kronig (lin-KK) check: "
                                  "drift or noise; read their fits with care"))  # fmt: skip
    if "start_path" in table.columns:
        fallback = int((table["start_path"] == "fallback").sum())
        if fallback:
            items.append(("info", f"{fallback} warm starts were rejected and refitted from "
                                  "scratch (start_path 'fallback')"))  # fmt: skip
    common = common_warnings(table)
    for warning in sorted(common):
        items.append(("warn", f"on most spectra: {warning}"))
    if "warnings" in table.columns:
        warned = table["warnings"].map(
            lambda w: isinstance(w, str) and bool({x.strip() for x in w.split(";")} - common)
        )
        if warned.any():
            items.append(("warn", f"{int(warned.sum())} spectra carry their own fit or physics "
                                  "warnings (column 'warnings' of results.csv)"))  # fmt: skip
    if selection.flagged_not_shown:
        items.append(("info", f"{selection.flagged_not_shown} more flagged spectra are not "
                              "drawn here to keep the report small (see results.csv)"))  # fmt: skip
    return items


_EXAMPLES = 3  # rows named per status under "needs attention"


def _status_items(table: pd.DataFrame, status: pd.Series) -> list[tuple[str, str]]:
    """One line each for the undetermined and the warning rows: how many, and examples."""
    out = []
    for word, kind, what in (
        ("undetermined", "warn", "have quantities the data do not determine (NaN in "
                                 "results.csv, left out of ASR, conductivity, trends, events)"),
        ("warning", "info", "are usable with warnings"),
    ):  # fmt: skip
        rows = table[status == word]
        if rows.empty:
            continue
        examples = []
        for _, row in rows.head(_EXAMPLES).iterrows():
            where = f"{row['source']}" + (
                f" #{int(row['index'])}" if "index" in row and pd.notna(row["index"]) else ""
            )
            why = row.get("reasons") if isinstance(row.get("reasons"), str) else ""
            examples.append(f"{where}: {why or row.get('message', '')}")
        more = f" (and {len(rows) - _EXAMPLES} more: column 'reasons')" if len(rows) > 3 else ""
        out.append((kind, f"{len(rows)} spectra {what}, e.g. " + " | ".join(examples) + more))
    return out


def summary(run: RunData) -> str:
    s = run.settings or {}
    cell = s.get("cell") or None
    counts = run.counts
    facts: list[tuple[str, Any]] = [("run folder", run.run_dir)]
    if cell:
        facts += [
            ("cell", f"area {h.fmt(cell.get('area_cm2'))} cm², thickness "
                     f"{h.fmt(cell.get('thickness_cm'))} cm, "
                     + ("symmetric (ASR per interface = R × A / 2)" if cell.get("symmetric")
                        else "not symmetric (ASR = R × A)")),
        ]  # fmt: skip
    else:
        facts.append(("cell", "no geometry given: no ASR or conductivity"))
    facts += [
        ("model", s.get("model") or "(circuit given directly)"),
        ("circuit", s.get("circuit", "unknown")),
        ("weighting", s.get("weighting", "unknown")),
        ("Kramers-Kronig check", "lin-KK on every spectrum" if s.get("kk") else "off"),
        ("spectra", ", ".join(f"{counts[k]} {k}" for k in STATUSES)
                    + " (error: unreadable files; see the status vocabulary in Methods)"),
        ("time axis", "timestamps in the files" if run.time_source == "timestamp"
         else "file order: the files carry no timestamps, so the axis is the spectrum number"),
        ("fitted with", f"eisfit {run.eisfit_version}" if run.eisfit_version else "unknown"),
        ("report written", f"{now()} with {versions()}"),
    ]  # fmt: skip
    roles = s.get("roles") or {}
    role_table = (
        h.table_html(["element", "role"], sorted(roles.items())) if roles
        else "<p>Roles were assigned automatically from capacitance and frequency order.</p>"
    )  # fmt: skip
    return h.facts_html(facts) + "<h3>Roles of the circuit's elements</h3>" + role_table


def files_section(run: RunData) -> str:
    rows = [[f.source, *f.counts, f.sha256 or "-"] for f in run.files]
    numeric = tuple(range(1, len(STATUSES) + 1))
    return h.table_html(["file", *STATUSES, "sha256"], rows, numeric=numeric)


def law_rows(run: RunData) -> list[list[Any]]:
    """One row per fitted quantity: label, chosen law, parameters with their units (time in
    hours, or spectrum numbers for a run without timestamps), score and note."""
    rows = []
    cells = run.trends.get("cells") or {}
    per_cell = [(f"{cell}: ", one.get("trends") or {}) for cell, one in cells.items()
                if isinstance(one, dict)]  # fmt: skip
    for prefix, trends in per_cell or [("", run.trends.get("trends") or {})]:
        rows += _law_rows(prefix, trends)
    return rows


def _law_rows(prefix: str, trends: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for quantity, trend in trends.items():
        chosen = trend.get("chosen") or {}
        params = chosen.get("parameters") or {}
        errors = chosen.get("stderr") or {}
        units = chosen.get("units") or {}
        text = ", ".join(
            f"{k} = {h.value_pm(v, errors.get(k))}" + (f" {units[k]}" if units.get(k) else "")
            for k, v in params.items()
        )
        criterion = trend.get("criterion", "AIC")
        score = chosen.get("aicc" if criterion == "AICc" else "aic")
        rows.append([prefix + label(quantity), trend.get("best") or "none", text,
                     f"{criterion} {h.fmt(score)}", trend.get("message", "")])  # fmt: skip
    return rows


def law_header(run: RunData) -> list[str]:
    """Column headers of `law_rows`: the parameter column says what t is."""
    t = "t in hours" if run.time_source == "timestamp" else "t = spectrum number"
    return ["quantity", "chosen law", f"parameters ({t})", "score", "note"]


def trends_section(run: RunData, figures: Sequence[str]) -> str:
    laws = law_rows(run)
    parts = list(figures)
    parts.append("<h3>Growth laws</h3>")
    if laws:
        parts.append(
            "<p>Each quantity is fitted with a constant (R0: no change) and with linear "
            "(R0 + k t), parabolic (R0 + k t^½), power (R0 + k t^m) and logarithmic "
            "(R0 + k ln(1 + t/τ)) growth laws, weighted by the fit stderr. A growth law is "
            "chosen only when its information criterion is at least 2 below the constant's "
            "(Burnham &amp; Anderson 2002); otherwise the chosen law is constant: no "
            "significant change. Only usable spectra are used (status ok, warning or "
            "undetermined, not truncated; undetermined values left out)."
            + ("" if run.time_source == "timestamp" else
               " The files carry no timestamps: t is the spectrum number.")
            + "</p>"
            + h.table_html(law_header(run), laws)
        )  # fmt: skip
    else:
        parts.append("<p>No growth law was fitted (too few usable spectra or no trends "
                     "file).</p>")  # fmt: skip
    events = run.trends.get("events") or []
    parts.append("<h3>Events</h3>")
    if events:
        keys = ("cell",) * any("cell" in e for e in events) + ("kind", "time_h", "quantity",
                                                                "evidence")  # fmt: skip
        header = [run.time_label if k == "time_h" else k for k in keys]
        parts.append(h.table_html(header, h.dict_rows(events, keys)))
    else:
        parts.append("<p>No short circuit, jump or appearing/vanishing arc was detected.</p>")
    return "".join(parts)


def _value_or_undetermined(p: Mapping[str, Any]) -> str:
    """value ± stderr, or "undetermined" for a parameter the data do not determine."""
    if p.get("undetermined"):
        return "undetermined"
    return h.value_pm(p.get("value"), p.get("stderr"))


def spectrum_html(view: SpectrumView, figure: str, when: str) -> str:
    s = view.summary
    kk = s.get("kk") or {}
    facts = [
        ("status", s.get("status")),
        *(("because", r) for r in s.get("reasons") or ()),
        ("message", s.get("message")),
        ("start", s.get("start_path") or "-"),
        ("χ² per point", h.fmt(s.get("chi2_per_point"))),
        ("Kramers-Kronig", kk.get("message", "not run") if kk else "not run"),
        ("R_total", f"{h.fmt(s.get('total_resistance_ohm'))} Ω"),
    ]
    if when:
        facts.insert(0, ("time", when))
    params = [
        [p["name"], _value_or_undetermined(p), p.get("unit", ""),
         "fixed" if p.get("fixed") else ""]
        for p in view.parameters
    ]  # fmt: skip
    contrib = [
        [c.get("role"), ", ".join(map(str, c.get("elements") or ())),
         h.value_pm(c.get("resistance_ohm"), c.get("resistance_stderr_ohm")),
         h.value_pm(c.get("capacitance_f"), c.get("capacitance_stderr_f")),
         h.fmt(c.get("apex_frequency_hz")),
         h.value_pm(c.get("asr_ohm_cm2"), c.get("asr_stderr_ohm_cm2"))
         + (" (per interface)" if c.get("per_interface") else ""),
         h.value_pm(c.get("conductivity_s_cm"), c.get("conductivity_stderr_s_cm"))]
        for c in view.contributions
    ]  # fmt: skip
    warnings = s.get("warnings") or []
    out = [
        f'<div class="spectrum"><h3>{h.esc(view.title)}</h3>{h.badges_html(view.reasons)}',
        figure,
        h.facts_html(facts),
        h.table_html(["parameter", "value ± stderr", "unit", ""], params, numeric=(1,)),
    ]
    if contrib:
        out.append(h.table_html(
            ["role", "elements", "R / Ω", "C_eff / F", "apex f / Hz", "ASR / Ω cm²",
             "σ / S cm⁻¹"], contrib, numeric=(2, 3, 4, 5, 6)))  # fmt: skip
    if warnings:
        out.append("<ul>" + "".join(f"<li>{h.esc(w)}</li>" for w in warnings) + "</ul>")
    out.append("</div>")
    return "".join(out)


METHODS = (
    "Fits minimise the weighted complex residual (weighting as stated in the summary) with "
    "automatic starting values; the ± values are one standard error from the fit covariance. "
    "Effective capacitances use the Hsu-Mansfeld formula for bulk, grain-boundary and SOLI "
    "arcs and Brug for charge transfer. For a symmetric Na | SE | Na cell the interfacial "
    "resistance covers two interfaces in series, so the ASR per interface is R × A / 2; the "
    "electrolyte resistance is never halved. Conductivity σ = L / (R × A). The Kramers-Kronig "
    "check is the lin-KK test (Schönleber et al., 2014) with a residual limit set by the "
    "noise level of each spectrum. Status of each spectrum: ok; warning (usable, with "
    "reasons: flagged data, lin-KK, systematic residuals); undetermined (some quantities "
    "cannot be determined from these data: a parameter on a bound, with a standard error "
    "above its value, or in an arc whose apex lies more than a decade outside the band; "
    "they are left empty and out of ASR, conductivity, trends and events); failed (fit "
    "unusable); error (file unreadable)."
)


def time_text(run: RunData, row: Mapping[str, Any]) -> str:
    t = row.get("time_h")
    if not isinstance(t, int | float) or not math.isfinite(t):
        return ""
    if run.time_source == "timestamp":
        return f"{t:.4g} h" + (f" ({row['timestamp']})" if isinstance(row.get("timestamp"), str)
                               else "")  # fmt: skip
    return f"spectrum number {t:g}"


def param_lines(view: SpectrumView) -> list[str]:
    lines = [f"status: {view.summary.get('status')}", f"{view.summary.get('message', '')}"]
    lines += [f"because: {r}" for r in view.summary.get("reasons") or ()]
    lines += [
        f"{p['name']:<10} {_value_or_undetermined(p):>26} {p.get('unit', '')}"
        for p in view.parameters
    ]
    for c in view.contributions:
        asr = c.get("asr_ohm_cm2")
        extra = f", ASR {h.fmt(asr)} ohm cm2 per interface" if asr is not None else ""
        lines.append(f"{c.get('role')}: R = {h.fmt(c.get('resistance_ohm'))} ohm{extra}")
    kk = view.summary.get("kk") or {}
    if kk:
        lines.append(str(kk.get("message", "")))
    lines += [f"warning: {w}" for w in view.summary.get("warnings") or ()]
    return lines


def outputs_html(pdf: bool) -> str:
    items = [
        ("results.csv", "one row per spectrum: parameters, stderr, roles, ASR, status"),
        ("fits/*.json", "each fit with its measured points and provenance"),
        ("trends.json", "growth-law fits and events"),
        ("figures/", "every figure of this report as PNG and SVG"),
        ("tables/", "growth laws, events, files and the rows drawn here, as CSV"),
    ]
    if pdf:
        items.append(("report.pdf", "this report as a PDF"))
    return h.table_html(["file", "content"], items)


def cell_text(cell: Mapping[str, Any] | None) -> str:
    if not cell:
        return "no geometry given: no ASR or conductivity"
    rule = "symmetric, ASR per interface = R x A / 2" if cell.get("symmetric") else "ASR = R x A"
    return (f"area {h.fmt(cell.get('area_cm2'))} cm2, thickness {h.fmt(cell.get('thickness_cm'))}"
            f" cm ({rule})")  # fmt: skip


def summary_lines(run: RunData, selection: Selection) -> list[str]:
    s = run.settings or {}
    counts = run.counts
    lines = [
        f"run folder: {run.run_dir}",
        f"model: {s.get('model') or '-'}   circuit: {s.get('circuit', '-')}",
        f"cell: {cell_text(s.get('cell'))}",
        f"weighting: {s.get('weighting', '-')}   time axis: {run.time_label}",
        "spectra: " + ", ".join(f"{counts[k]} {k}" for k in STATUSES),
        f"written {now()} with {versions()}",
        "",
        "Needs attention:",
    ]
    lines += [f"- {text}" for _, text in attention(run, selection)] or ["- nothing"]
    lines += ["", "Growth laws:"]
    lines += [f"- {r[0]}: {r[1]}; {r[2]}" for r in law_rows(run)] or ["- none"]
    return lines
