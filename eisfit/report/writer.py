"""Write a run report (a batch folder) or a single-fit report.

`write_run_report(DIR)` reads DIR (see `eisfit.report.data`) and writes into it:

- ``report.html``: one self-contained page (figures inline, no network, printable);
- ``report.pdf``: the same content as a multipage PDF (unless ``pdf=False``);
- ``figures/``: every figure as PNG (150 dpi) and SVG;
- ``tables/``: ``growth_laws.csv``, ``events.csv``, ``files.csv`` and ``spectra_shown.csv``
  (the results.csv rows of the spectra drawn in full).

For a long run only a selection of spectra is drawn in full (`select_spectra`: evenly
spaced ones plus the flagged ones), which keeps a 1,000-spectrum report small; every row is
still in results.csv.  `write_fit_report([(result, analysis), ...], path)` writes the
per-spectrum part for fits of single spectra as one HTML (or, for a ``.pdf`` path, PDF)
file.  The content of the sections is `eisfit.report.sections`'.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._util import write_atomic
from ..errors import ReportError
from ..runs.csv_cells import neutralise
from ..runs.pools import worker_pool
from ..status import STATUSES
from . import html as h
from . import sections as sec
from .data import (
    RunData,
    Selection,
    SpectrumView,
    load_run,
    read_record,
    select_spectra,
    spectrum_view,
)
from .output import report_format

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.result import FitResult
    from ..physics.contributions import CellAnalysis
    from .pdf import PdfReport

__all__ = ["ReportFiles", "write_fit_report", "write_run_report"]


@dataclass(frozen=True)
class ReportFiles:
    """What a report call wrote."""

    html: Path
    pdf: Path | None
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]
    spectra_shown: int
    reused: bool = False  # the report in place was already drawn from the same inputs


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write the report ({exc})") from None


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    try:
        neutralise(frame).to_csv(path, index=False)  # no cell runs as a formula
    except OSError as exc:
        raise ReportError(f"{path}: cannot write the table ({exc})") from None
    return path


def _tables(run: RunData, selection: Selection, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    columns = ["quantity", "law", "parameters", "score", "note"]
    laws = pd.DataFrame(sec.law_rows(run), columns=columns)
    events = pd.DataFrame(list(run.trends.get("events") or []),
                          columns=["kind", "time_h", "quantity", "evidence"])  # fmt: skip
    if run.time_source != "timestamp":  # no timestamps: the axis is a spectrum number
        events = events.rename(columns={"time_h": "spectrum_number"})
    files = pd.DataFrame(
        [[f.source, f.sha256, *f.counts] for f in run.files],
        columns=["source", "sha256", *STATUSES],
    )
    shown = run.table.loc[list(selection.rows)]
    return [
        _csv(laws, out / "growth_laws.csv"),
        _csv(events, out / "events.csv"),
        _csv(files, out / "files.csv"),
        _csv(shown, out / "spectra_shown.csv"),
    ]


@dataclass(frozen=True)
class _Drawn:
    """One spectrum to draw: its record (picklable, for a worker process) and view."""

    record: Mapping[str, Any]
    view: SpectrumView
    when: str
    stem: Path


def _drawn(run: RunData, selection: Selection, fig_dir: Path) -> tuple[list[_Drawn], list[str]]:
    """The selected rows that have a usable fits/ record; why the others are not drawn."""
    out, skipped = [], []
    for i in selection.rows:
        row = run.table.loc[i].to_dict()
        record = read_record(run.run_dir, row.get("fit_file"))
        index = row.get("index")
        label = f"{row.get('source')}" + (f", spectrum {int(index)}" if pd.notna(index) else "")
        if record is None:
            skipped.append(f"{label}: no readable fits/ record")
            continue
        try:
            view = spectrum_view(record, label, selection.reasons.get(i, ()))
        except ReportError as exc:  # e.g. a record of an older eisfit without the points
            skipped.append(str(exc))
            continue
        out.append(_Drawn(record, view, sec.time_text(run, row), fig_dir / f"spectrum_{i:05d}"))
    return out, skipped


def _draw_spectrum(record: Mapping[str, Any], title: str, stem: Path) -> bytes:
    """Worker: the spectrum figure saved as PNG and SVG; returns the SVG bytes."""
    from .figures import save, spectrum_figure

    return save(spectrum_figure(spectrum_view(record, title)), stem)


#: spectrum figures are drawn in worker processes from this many on (start-up costs ~0.3 s)
_PARALLEL_FROM = 6


def _draw_all(items: Sequence[_Drawn], book: PdfReport | None) -> list[bytes]:
    """SVG of every item (PNG and SVG written); PDF pages drawn here meanwhile.

    Figures are independent, so with several cores they are drawn in worker processes
    while this process draws the PDF pages (matplotlib is single-threaded).
    """
    from .figures import spectrum_figure

    workers = min(os.cpu_count() or 1, 4)
    args = ([d.record for d in items], [d.view.title for d in items], [d.stem for d in items])
    with ExitStack() as stack:
        if workers > 1 and len(items) >= _PARALLEL_FROM:
            pool = stack.enter_context(worker_pool(workers))
            svgs: Iterable[bytes] = pool.map(_draw_spectrum, *args)  # submitted at once
        else:
            svgs = map(_draw_spectrum, *args)  # lazily, after the PDF pages
        if book is not None:
            for d in items:
                title = f"{d.view.title} {d.when}".strip()
                book.figure(spectrum_figure(d.view, title=title, notes=sec.param_lines(d.view)))
        return list(svgs)


def write_run_report(
    run_dir: str | Path,
    *,
    pdf: bool = True,
    n_representative: int | None = None,
    max_flagged: int | None = None,
    force: bool = False,
) -> ReportFiles:
    """Write report.html (+ report.pdf, figures/, tables/) for the batch folder ``run_dir``.

    ``n_representative`` (default 8) evenly spaced spectra and up to ``max_flagged``
    (default 16) flagged ones are drawn in full.  The report records a digest of its
    inputs (results.csv, trends.json, these options, the eisfit version); when the one in
    place matches, nothing is redrawn (``ReportFiles.reused``) unless ``force``.  Raises
    `ReportError` when ``run_dir`` holds no results table or cannot be written; missing
    pieces only become notes.
    """
    for name, value in (("n_representative", n_representative), ("max_flagged", max_flagged)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ReportError(f"{name} must be a whole number >= 0, got {value!r}")
    options = (pdf, n_representative, max_flagged)
    digest = _input_digest(Path(run_dir), options)
    if not force:
        done = _up_to_date(Path(run_dir), digest, pdf)
        if done is not None:
            return done
    from .figures import TREND_FIGURES, save, trend_figure  # matplotlib
    run = load_run(run_dir)
    selection = select_spectra(
        run.table, run.trends.get("events") or (),
        n_representative=8 if n_representative is None else n_representative,
        max_flagged=16 if max_flagged is None else max_flagged,
    )  # fmt: skip
    fig_dir = run.run_dir / "figures"
    try:
        fig_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{fig_dir}: cannot create the figures folder ({exc})") from None
    figure_paths: list[Path] = []
    title = "eisfit run report"
    pdf_path = run.run_dir / "report.pdf" if pdf else None
    if pdf_path is None:  # an older PDF would no longer match the page
        (run.run_dir / "report.pdf").unlink(missing_ok=True)
    with _maybe_pdf(pdf_path, title) as book:
        if book is not None:
            book.text("Summary", sec.summary_lines(run, selection))
        trend_html = []
        for stem, (caption, quantities) in TREND_FIGURES.items():
            figure = trend_figure(run.table, run.trends, quantities, run.time_label)
            svg = save(figure, fig_dir / stem)
            figure_paths += [fig_dir / f"{stem}.png", fig_dir / f"{stem}.svg"]
            text = (f"{caption}: usable spectra (ok, warning, undetermined; not partial) with ± "
                    "one standard error; line: the chosen "
                    "growth law; dashed: events.")  # fmt: skip
            trend_html.append(h.figure_html(svg, caption, text, wide=len(quantities) > 1))
            if book is not None:
                book.figure(figure)
        items, skipped = _drawn(run, selection, fig_dir)
        svgs = _draw_all(items, book)
    spectra_html = [
        sec.spectrum_html(d.view, h.figure_html(svg, d.view.title, sec.CAPTION), d.when)
        for d, svg in zip(items, svgs, strict=True)
    ]
    figure_paths += [d.stem.with_suffix(ext) for d in items for ext in (".png", ".svg")]
    shown = len(items)
    tables = _tables(run, selection, run.run_dir / "tables")
    n_rows = len(run.table)
    intro = (
        f"<p>{shown} of {n_rows} rows drawn in full: evenly spaced representative spectra "
        "plus flagged ones (failed fit, failed Kramers-Kronig check, rejected warm start, "
        "warnings, events). Every row is in results.csv; the figures are also in figures/ "
        "as PNG and SVG.</p>"
    )
    if skipped:
        intro += "<p>Selected but not drawn:</p><ul>" + "".join(
            f"<li>{h.esc(text)}</li>" for text in skipped
        ) + "</ul>"
    sections = [
        ("attention", "Needs attention", h.attention_html(sec.attention(run, selection))),
        ("summary", "Summary", sec.summary(run)),
        ("files", "Files", sec.files_section(run)),
        ("trends", "Trends over time", sec.trends_section(run, trend_html)),
        ("spectra", "Spectra", intro + "".join(spectra_html)),
        ("methods", "Methods and files", f"<p>{h.esc(sec.METHODS)}</p>{sec.outputs_html(pdf)}"),
    ]
    html_path = run.run_dir / "report.html"
    _drop_stale_figures(fig_dir, figure_paths)
    footer = f"Written {sec.now()} by {sec.versions()}."
    text = h.page(title, f"{run.run_dir}", sections, footer, meta={_DIGEST_META: digest})
    _write_text(html_path, text)
    return ReportFiles(html_path, pdf_path, tuple(figure_paths), tuple(tables), shown)


_DIGEST_META = "eisfit-report-inputs"


def _input_digest(run_dir: Path, options: tuple[Any, ...]) -> str:
    """sha256 of what a run report is drawn from: results.csv (``reused`` aside),
    trends.json, the options and the eisfit version (a missing file counts as empty)."""
    from .._version import __version__

    digest = hashlib.sha256(f"{__version__} {options!r}".encode())
    try:  # the table as the report sees it: a resumed run flips only `reused`
        table = pd.read_csv(run_dir / "results.csv", low_memory=False)
        table = table.drop(columns=["reused"], errors="ignore")
        digest.update(f"{list(table.columns)}".encode())
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    except (OSError, ValueError, pd.errors.ParserError):
        digest.update(b"-")
    try:
        digest.update(hashlib.sha256((run_dir / "trends.json").read_bytes()).digest())
    except OSError:
        digest.update(b"-")
    return digest.hexdigest()


def _up_to_date(run_dir: Path, digest: str, pdf: bool) -> ReportFiles | None:
    """The report in place when it was drawn from the same inputs, else None."""
    html_path = run_dir / "report.html"
    try:
        with html_path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return None
    if f'<meta name="{_DIGEST_META}" content="{digest}">' not in head:
        return None
    pdf_path = run_dir / "report.pdf"
    if pdf and not pdf_path.is_file():
        return None
    figures = tuple(sorted((run_dir / "figures").glob("*.[ps][nv]g")))
    tables = tuple(sorted((run_dir / "tables").glob("*.csv")))
    shown = sum(1 for p in figures if p.name.startswith("spectrum_") and p.suffix == ".svg")
    return ReportFiles(html_path, pdf_path if pdf else None, figures, tables, shown, True)


def _drop_stale_figures(fig_dir: Path, keep: Sequence[Path]) -> None:
    """Remove spectrum figures of an earlier report that this one does not draw."""
    kept = {p.name for p in keep}
    for path in fig_dir.glob("spectrum_*.*"):
        if path.name not in kept and path.suffix in (".png", ".svg"):
            path.unlink(missing_ok=True)


class _NoPdf:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _maybe_pdf(path: Path | None, title: str) -> PdfReport | _NoPdf:
    if path is None:
        return _NoPdf()
    from .pdf import PdfReport

    return PdfReport(path, title)


def _fit_record(result: FitResult, analysis: CellAnalysis | None) -> dict[str, Any]:
    from ..runs.rows import spectrum_data

    return {
        "fit": result.to_dict(),
        "analysis": analysis.to_dict() if analysis is not None else None,
        "row": {"status": result.status},
        "spectrum": spectrum_data(result.spectrum),
    }


def write_fit_report(
    fits: Sequence[tuple[FitResult, CellAnalysis | None]],
    path: str | Path,
    *,
    model: str | None = None,
) -> Path:
    """One report for fits of single spectra: HTML (``.html``, ``.htm``) or PDF (``.pdf``);
    any other extension is a `ReportError` before anything is drawn (`report_format`)."""
    from .figures import spectrum_figure, svg_bytes

    kind = report_format(path)
    path = Path(path)
    views = []
    for result, analysis in fits:
        meta = result.spectrum.meta
        label = f"{meta.source or 'spectrum'}, spectrum {meta.index}"
        views.append(spectrum_view(_fit_record(result, analysis), label))
    if kind == "pdf":
        from .pdf import PdfReport

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"{path}: cannot create the folder ({exc})") from None
        with PdfReport(path, "eisfit fit report") as book:
            for view in views:
                notes = sec.param_lines(view)
                book.figure(spectrum_figure(view, title=view.title, notes=notes))
        return path
    parts = []
    for view in views:
        svg = svg_bytes(spectrum_figure(view))
        parts.append(sec.spectrum_html(view, h.figure_html(svg, view.title, sec.CAPTION), ""))
    first = fits[0][0] if fits else None
    cell = (fits[0][1].cell if fits and fits[0][1] is not None else None)
    facts = [
        ("file", first.spectrum.meta.source if first else "-"),
        ("model", model or "(circuit given directly)"),
        ("circuit", first.circuit if first else "-"),
        ("weighting", first.weighting if first else "-"),
        ("cell", f"area {cell.area_cm2:g} cm², thickness {cell.thickness_cm:g} cm, "
                 + ("symmetric" if cell.symmetric else "not symmetric")
         if cell is not None else "no geometry given: no ASR or conductivity"),
        ("written", f"{sec.now()} with {sec.versions()}"),
    ]  # fmt: skip
    sections = [
        ("summary", "Summary", h.facts_html(facts)),
        ("spectra", "Fit", "".join(parts)),
        ("methods", "Methods", f"<p>{h.esc(sec.METHODS)}</p>"),
    ]
    subtitle = str(first.spectrum.meta.source) if first else ""
    footer = f"Written by {sec.versions()}."
    _write_text(path, h.page("eisfit fit report", subtitle, sections, footer))
    return path
