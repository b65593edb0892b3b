"""The report of ``eisfit fit FILE --report x.html``: fits of the spectra of one file.

A file of a few spectra (up to `FULL_UP_TO`) shows each in full: figure, facts,
parameter and contribution tables.  A many-spectrum file (a 197-loop EC-Lab export) shows
every spectrum as one row of a compact table and only a few in full (`chosen`): the first
and the last, the worst fit (largest chi-squared per point) and up to `MAX_FLAGGED` flagged
ones (status other than ok, or a lin-KK verdict other than consistent), so the page stays
small at any length (issue 15: 197 full sections were 28 MB and took 2 minutes);
``eisfit fit FILE --spectrum N`` fits and shows one spectrum in full.  Figures are drawn
once (`eisfit.report.render`), in worker processes when there are several.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._util import write_atomic
from ..errors import ReportError
from ..status import STATUSES
from . import html as h
from . import sections as sec
from .data import GEOMETRY_NOTE, SpectrumView, spectrum_view
from .output import report_format
from .render import PNG_DPI, render_spectra

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.result import FitResult
    from ..physics.contributions import CellAnalysis

__all__ = [
    "FULL_UP_TO",
    "MAX_FLAGGED",
    "MAX_TABLE_ROWS",
    "chosen",
    "fit_record",
    "listed",
    "table_html",
    "write_fit_report",
]

#: files with at most this many spectra show every one in full
FULL_UP_TO = 4
#: flagged spectra shown in full besides the first, last and worst ones
MAX_FLAGGED = 4
#: rows of the compact table at most (about 0.6 kB each): a longer file lists evenly
#: spaced spectra and those shown in full, so the page stays under 5 MB at any length
MAX_TABLE_ROWS = 2000


def fit_record(result: FitResult, analysis: CellAnalysis | None) -> dict[str, Any]:
    """One fit in the shape of a batch's fits/ record (`eisfit.report.data.spectrum_view`)."""
    from ..runs.rows import spectrum_data

    return {
        "fit": result.to_dict(),
        "analysis": analysis.to_dict() if analysis is not None else None,
        "row": {"status": result.status},
        "spectrum": spectrum_data(result.spectrum),
    }


def _chi2(view: SpectrumView) -> float:
    try:
        value = float(view.summary.get("chi2_per_point"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _flag(view: SpectrumView) -> str | None:
    status = str(view.summary.get("status"))
    if status != "ok":
        return f"status {status}"
    kk = view.summary.get("kk") or {}
    verdict = kk.get("verdict") if isinstance(kk, Mapping) else None
    if isinstance(verdict, str) and verdict != "consistent":
        return f"Kramers-Kronig: {verdict}"
    return None


def chosen(views: Sequence[SpectrumView]) -> dict[int, tuple[str, ...]]:
    """Positions of the spectra shown in full, with why: all of them up to `FULL_UP_TO`;
    else the first, the last, the worst fit and up to `MAX_FLAGGED` flagged ones."""
    if len(views) <= FULL_UP_TO:
        return {i: () for i in range(len(views))}
    reasons: dict[int, list[str]] = {0: ["first"], len(views) - 1: ["last"]}
    chi2 = [_chi2(v) for v in views]
    if any(math.isfinite(c) for c in chi2):
        worst = max((i for i, c in enumerate(chi2) if math.isfinite(c)), key=chi2.__getitem__)
        reasons.setdefault(worst, []).append("worst fit (largest χ² per point)")
    flagged = [(i, why) for i, v in enumerate(views) if (why := _flag(v)) is not None]
    for i, why in flagged[:MAX_FLAGGED]:
        reasons.setdefault(i, []).append(why)
    return {i: tuple(reasons[i]) for i in sorted(reasons)}


def _cell(view: SpectrumView, name: str) -> str:
    for p in view.parameters:
        if p["name"] == name:
            return "undetermined" if p.get("undetermined") else h.fmt(p.get("value"))
    return ""


def listed(n: int, shown: Mapping[int, Any], limit: int | None = None) -> list[int]:
    """Positions of the table's rows: all ``n``, or ``limit`` (default `MAX_TABLE_ROWS`)
    evenly spaced ones together with those in ``shown``."""
    limit = MAX_TABLE_ROWS if limit is None else limit
    if n <= limit:
        return list(range(n))
    others = [i for i in range(n) if i not in shown]
    k = max(limit - len(shown), 0)
    if k <= 1:
        spaced = others[:k]
    else:  # steps of at least one: distinct after rounding
        spaced = [others[round(j * (len(others) - 1) / (k - 1))] for j in range(k)]
    return sorted({*spaced, *shown})


def table_html(views: Sequence[SpectrumView], shown: Mapping[int, Any]) -> str:
    """One row per spectrum (`listed`): index, status, χ² per point, R_total and the
    parameter values."""
    names: list[str] = []
    for view in views:
        names += [str(p["name"]) for p in view.parameters if p["name"] not in names]
    units = {str(p["name"]): p.get("unit") or "" for v in views for p in v.parameters}
    header = ["spectrum", "status", "χ² per point", "R_total / Ω",
              *(f"{n} / {units[n]}" if units[n] else n for n in names)]  # fmt: skip
    rows = []
    for i in listed(len(views), shown):
        view = views[i]
        mark = " (in full below)" if i in shown else ""
        rows.append([f"{view.spectrum.meta.index}{mark}", view.summary.get("status"),
                     h.fmt(view.summary.get("chi2_per_point"), 3),
                     h.fmt(view.summary.get("total_resistance_ohm")),
                     *(_cell(view, n) for n in names)])  # fmt: skip
    numeric = tuple(range(2, len(header)))
    note = ""
    if len(rows) < len(views):
        note = (f"<p>{len(rows):,} of {len(views):,} spectra listed (evenly spaced, and those "
                "shown in full); <code>eisfit fit FILE --json</code> or <code>eisfit batch"
                "</code> gives every one.</p>")  # fmt: skip
    return note + h.table_html(header, rows, numeric=numeric)


def _facts(fits: Sequence[tuple[FitResult, CellAnalysis | None]], views: Sequence[SpectrumView],
           model: str | None) -> list[tuple[str, Any]]:  # fmt: skip
    first = fits[0][0] if fits else None
    cell = fits[0][1].cell if fits and fits[0][1] is not None else None
    counts = {s: sum(1 for v in views if v.summary.get("status") == s) for s in STATUSES}
    return [
        ("file", first.spectrum.meta.source if first else "-"),
        ("spectra", f"{len(views)}: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)),
        ("model", model or "(circuit given directly)"),
        ("circuit", first.circuit if first else "-"),
        ("weighting", first.weighting if first else "-"),
        ("cell", f"area {cell.area_cm2:g} cm², thickness {cell.thickness_cm:g} cm, "
                 + ("symmetric" if cell.symmetric else "not symmetric")
         if cell is not None else f"{GEOMETRY_NOTE} (no area and thickness given)"),
        ("written", f"{sec.now()} with {sec.versions()}"),
    ]  # fmt: skip


def write_fit_report(
    fits: Sequence[tuple[FitResult, CellAnalysis | None]],
    path: str | Path,
    *,
    model: str | None = None,
    jobs: int | None = None,
) -> Path:
    """One report for the fits of a file's spectra: HTML (``.html``, ``.htm``) or PDF
    (``.pdf``); any other extension is a `ReportError` before anything is drawn
    (`report_format`).  Which spectra are shown in full: `chosen`; ``jobs``: worker
    processes for the figures (`render.render_spectra`)."""
    kind = report_format(path)
    path = Path(path)
    records, views = [], []
    for result, analysis in fits:
        meta = result.spectrum.meta
        label = f"{meta.source or 'spectrum'}, spectrum {meta.index}"
        records.append(fit_record(result, analysis))
        views.append(spectrum_view(records[-1], label))
    shown = chosen(views)
    full = [spectrum_view(records[i], views[i].title, why) for i, why in shown.items()]
    figures = list(render_spectra([records[i] for i in shown], [v.title for v in full],
                                  jobs=jobs))  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{path}: cannot create the folder ({exc})") from None
    if kind == "pdf":
        from .pdf import PdfReport

        with PdfReport(path, "eisfit fit report") as book:
            if len(views) > len(full):
                book.text("All spectra", _table_lines(views, shown))
            for view, rendered in zip(full, figures, strict=True):
                book.figure(rendered.png, dpi=PNG_DPI, title=view.title,
                            notes=sec.param_lines(view))  # fmt: skip
        return path
    parts = [sec.spectrum_html(view, h.figure_html(r, view.title, sec.CAPTION), "")
             for view, r in zip(full, figures, strict=True)]  # fmt: skip
    sections = [("summary", "Summary", h.facts_html(_facts(fits, views, model)))]
    if len(views) > len(full):
        intro = (f"<p>{len(views)} spectra; {len(full)} are shown in full below (first, last, "
                 "worst fit, flagged). <code>eisfit fit FILE --spectrum N</code> shows "
                 "spectrum N in full.</p>")  # fmt: skip
        sections.append(("all", "All spectra", intro + table_html(views, shown)))
    sections += [
        ("spectra", "Fit" if len(full) == 1 else "Fits", "".join(parts)),
        ("methods", "Methods", f"<p>{h.esc(sec.METHODS)}</p>"),
    ]
    subtitle = str(fits[0][0].spectrum.meta.source) if fits else ""
    footer = f"Written by {sec.versions()}."
    try:
        write_atomic(path, h.page("eisfit fit report", subtitle, sections, footer))
    except OSError as exc:
        raise ReportError(f"{path}: cannot write the report ({exc})") from None
    return path


def _table_lines(views: Sequence[SpectrumView], shown: Mapping[int, Any]) -> list[str]:
    """The compact table as PDF text lines."""
    lines = [f"{'spectrum':>10} {'status':<13} {'chi2/pt':>9} {'R_total/ohm':>12}"]
    for i in listed(len(views), shown):
        view = views[i]
        mark = "  (in full)" if i in shown else ""
        lines.append(f"{view.spectrum.meta.index:>10} {view.summary.get('status')!s:<13} "
                     f"{h.fmt(view.summary.get('chi2_per_point'), 3):>9} "
                     f"{h.fmt(view.summary.get('total_resistance_ohm')):>12}{mark}")  # fmt: skip
    return lines
