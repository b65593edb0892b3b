"""The content of a report: its sections as escaped HTML and the PDF's text lines.

Pure functions of the loaded run (`eisfit.report.data`); drawing and writing files are
`eisfit.report.writer`'s, the "Needs attention" list is `eisfit.report.attention`'s.
Every string that came from a file goes through `html.esc` (tables and fact lists escape
their cells).  Units are written one way, with their symbols (`eisfit.report.units`).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from ..schema import COLUMNS, column, label
from ..status import STATUSES
from . import html as h
from .attention import attention
from .data import GEOMETRY_NOTE, RunData, drawable, row_label, source_root
from .per_spectrum import apex_text, contributions_html, param_lines, spectrum_html, wrapped
from .selection import SEVERITY, Selection
from .units import display_text, display_unit

__all__ = [
    "CAPTION",
    "METHODS",
    "apex_text",
    "attention",
    "cell_text",
    "contributions_html",
    "files_section",
    "law_header",
    "law_rows",
    "now",
    "outputs_html",
    "param_lines",
    "run_sections",
    "spectrum_html",
    "summary",
    "summary_lines",
    "time_text",
    "trends_section",
    "versions",
]


CAPTION = (
    "Nyquist (equal axes), Bode, fit residuals, lin-KK residuals, and the DRT (γ per unit ln τ; "
    "triangles: its peaks; dashed: τ = 1/(2π f0) of each fitted arc, by role; shaded: outside "
    "the measured band)"
)


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


def _auto_facts(run: RunData) -> list[tuple[str, str]]:
    """One line per cell of a ``--model auto`` run: its circuit and how it was chosen."""
    facts = []
    for choice in run.auto_circuits:
        name = f"circuit of cell {choice.get('cell')}" if len(run.auto_circuits) > 1 else "circuit"
        if not choice.get("circuit"):
            facts.append((name, f"none could be chosen: {choice.get('error')}"))
            continue
        text = f"{choice['circuit']}: {choice.get('statement') or 'chosen automatically'}"
        if choice.get("explained") is False:
            text += " (no candidate explains its sampled spectra: the best attempt)"
        facts.append((name, text))
    return facts


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
        facts.append(("cell", f"{GEOMETRY_NOTE} (no area and thickness given)"))
    facts += [
        ("model", "auto: one circuit per cell, identified from a few of its spectra"
         if run.auto_circuits else s.get("model") or "(circuit given directly)"),
        *(_auto_facts(run) or [("circuit", s.get("circuit", "unknown"))]),
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


SHORT_HASH = 12  # hex digits of a file's sha256 shown in the report (all 64 in tables/)


def _folder(sources: Sequence[str]) -> str:
    """The folder every source lies in ('' when they share none, or for one bare name)."""
    parents = [PurePath(src).parent.parts for src in sources]
    if not parents:
        return ""
    common: list[str] = []
    for parts in zip(*parents, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return str(PurePath(*common)) if common else ""


def files_section(run: RunData) -> str:
    """Every source file with its rows per status and a short sha256, paths relative to
    the folder they share (named once above the table)."""
    sources = [f.source for f in run.files]
    folder = _folder(sources)
    cut = len(folder.rstrip("/\\")) + 1 if folder else 0
    rows = [
        [f.source[cut:] if cut and f.source.startswith(folder) else f.source, *f.counts,
         f.sha256[:SHORT_HASH] if f.sha256 else "-"]
        for f in run.files
    ]  # fmt: skip
    intro = (
        f"<p>{len(rows)} files" + (f" in <code>{h.esc(folder)}</code>" if folder else "")
        + f"; sha256: the first {SHORT_HASH} hex digits (all 64 in tables/files.csv).</p>"
    )  # fmt: skip
    numeric = tuple(range(1, len(STATUSES) + 1))
    return intro + h.table_html(["file", *STATUSES, "sha256"], rows, numeric=numeric,
                                mono=(len(STATUSES) + 1,), css_class="files")  # fmt: skip


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
            f"{k} = {h.value_pm(v, errors.get(k))}"
            + (f" {display_unit(units[k])}" if display_unit(units.get(k)) else "")
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


def _not_drawn(run: RunData) -> str:
    """A sentence naming the trend quantities that get no panel, and why."""
    plotted = [c.name for c in COLUMNS if c.figure]
    shown = set(drawable(run.table, plotted))
    missing = [q for q in plotted if q not in shown]
    geometry = [q for q in missing if not run.has_geometry and column(q).kind in ("asr",
                                                                                 "conductivity")]
    other = [q for q in missing if q not in geometry]
    parts = []
    if geometry:
        parts.append(", ".join(column(q).label for q in geometry) + f" ({GEOMETRY_NOTE})")
    if other:
        parts.append(", ".join(column(q).label for q in other) + " (no usable values)")
    return f"<p>Not drawn: {h.esc('; '.join(parts))}.</p>" if parts else ""


def trends_section(run: RunData, figures: Sequence[str]) -> str:
    laws = law_rows(run)
    parts = [*figures, _not_drawn(run)]
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
        rows = [[label(v) if k == "quantity" else display_text(str(v)) if k == "evidence"
                 else v for k, v in zip(keys, row, strict=True)]
                for row in h.dict_rows(events, keys)]  # fmt: skip
        parts.append(h.table_html(header, rows))
    else:
        parts.append("<p>No short circuit, jump or appearing/vanishing arc was detected.</p>")
    return "".join(parts)


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


#: flagged spectra listed on the page at most (every one is in tables/flagged.csv)
MAX_FLAGGED_LISTED = 200


def flagged_rows(
    run: RunData, selection: Selection, limit: int | None = None
) -> list[list[Any]]:
    """One row per flagged spectrum (the first ``limit``), in table order: the spectrum
    (its file relative to the run's input folder), time, status, why it is flagged, and
    whether it is drawn."""
    root = source_root(run.table)
    out = []
    for i, reasons in itertools.islice(selection.flagged.items(), limit):
        row = run.table.loc[i]
        out.append([row_label(row, root), row.get("time_h"), row.get("status"),
                     "; ".join(display_text(r) for r in reasons),
                     "yes" if i in selection.reasons else ""])  # fmt: skip
    return out


def flagged_html(run: RunData, selection: Selection) -> str:
    """The table of flagged spectra (at most `MAX_FLAGGED_LISTED` rows) and how the drawn
    ones were chosen; "" when none is flagged."""
    n = len(selection.flagged)
    if not n:
        return ""
    drawn = len(selection.flagged.keys() & selection.reasons.keys())
    kinds = ", ".join(SEVERITY[:-1]) + f", {SEVERITY[-1]}s"
    rows = flagged_rows(run, selection, MAX_FLAGGED_LISTED)
    more = (f" The first {MAX_FLAGGED_LISTED} are listed here." if n > MAX_FLAGGED_LISTED
            else "")  # fmt: skip
    how = ("all of them are drawn above" if drawn == n else
           f"{drawn} of them are drawn above, chosen to show every kind of problem over the "
           f"whole run (the most severe kind first: {h.esc(kinds)}; then spread over time)")
    intro = (f"<h3>Flagged spectra</h3><p>{n} spectra are flagged; {how}. Every one is in "
             f"tables/flagged.csv.{more}</p>")  # fmt: skip
    header = ["spectrum", run.time_label, "status", "flagged because", "drawn"]
    listed = [[r[0], h.fmt(r[1]), *r[2:]] for r in rows]
    return intro + h.table_html(header, listed, numeric=(1,))


def time_text(run: RunData, row: Mapping[str, Any]) -> str:
    t = row.get("time_h")
    if not isinstance(t, int | float) or not math.isfinite(t):
        return ""
    if run.time_source == "timestamp":
        return f"{t:.6g} h" + (f" ({row['timestamp']})" if isinstance(row.get("timestamp"), str)
                               else "")  # fmt: skip
    return f"spectrum number {t:g}"


def outputs_html(pdf: bool) -> str:
    items = [
        ("results.csv", "one row per spectrum: parameters, stderr, roles, ASR, status"),
        ("fits/*.json", "each fit with its measured points and provenance"),
        ("trends.json", "growth-law fits and events"),
        ("figures/", "every figure of this report as PNG (and as SVG with --svg)"),
        ("tables/", "growth laws, events, files and the rows drawn here, as CSV"),
    ]
    if pdf:
        items.append(("report.pdf", "this report as a PDF"))
    return h.table_html(["file", "content"], items)


def cell_text(cell: Mapping[str, Any] | None) -> str:
    if not cell:
        return GEOMETRY_NOTE
    rule = "symmetric, ASR per interface = R × A / 2" if cell.get("symmetric") else "ASR = R × A"
    return (f"area {h.fmt(cell.get('area_cm2'))} cm², thickness {h.fmt(cell.get('thickness_cm'))}"
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
    return wrapped(lines, indent="  ")


def run_sections(
    run: RunData, selection: Selection, *, trend_figures: Sequence[str], spectra: str, pdf: bool
) -> list[tuple[str, str, str]]:
    """The run report's sections in reading order, as (id, heading, inner HTML): what needs
    attention, the summary, the trends, the spectra, the methods and, last, the files with
    their hashes (provenance a reader looks up, not reads first)."""
    return [
        ("attention", "Needs attention", h.attention_html(attention(run, selection))),
        ("summary", "Summary", summary(run)),
        ("trends", "Trends over time", trends_section(run, trend_figures)),
        ("spectra", "Spectra", spectra),
        ("methods", "Methods and outputs", f"<p>{h.esc(METHODS)}</p>{outputs_html(pdf)}"),
        ("files", "Files", files_section(run)),
    ]
