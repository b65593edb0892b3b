"""Write a run report (a batch folder) or a single-fit report.

`write_run_report(DIR)` reads DIR (see `eisfit.report.data`) and writes into it:

- ``report.html``: one self-contained page (figures inline, no network, printable);
- ``report.pdf``: the same content as a multipage PDF (unless ``pdf=False``);
- ``figures/``: every figure as PNG (150 dpi), and as SVG too with ``svg=True``;
- ``.report-cache/``: the figures by the digest of what they show, so that the next report
  draws only the figures whose data changed (`eisfit.report.cache`);
- ``tables/``: ``growth_laws.csv``, ``events.csv``, ``files.csv``, ``spectra_shown.csv``
  (the results.csv rows of the spectra drawn in full) and ``flagged.csv`` (every flagged
  spectrum, why, and whether it is drawn).

For a long run only a selection of spectra is drawn in full (`eisfit.report.selection`:
evenly spaced ones, plus flagged ones covering every kind of problem and the whole run),
which keeps a 1,000-spectrum report small; every row is still in results.csv.  Each
figure is drawn once (`eisfit.report.render`): its PNG goes into figures/ and the PDF
(`eisfit.report.pdf`), and into the page unless it has an SVG.  The single-fit report,
`write_fit_report`, is `eisfit.report.fitreport`'s.  The content of the sections is
`eisfit.report.sections`'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._util import write_atomic
from ..errors import ReportError
from ..runs.csv_cells import neutralise
from ..status import STATUSES
from . import html as h
from . import sections as sec
from .cache import CACHE_DIR, FigureCache, figure_key, with_svg
from .data import (
    RunData,
    SpectrumView,
    load_run,
    read_record,
    spectrum_view,
)
from .drt_map import STEM as MAP_STEM
from .drt_map import map_side
from .fitreport import write_fit_report
from .pdf import PdfReport
from .per_spectrum import wrapped
from .render import PNG_DPI, Rendered, SideWork, drawing, render, render_spectra
from .selection import Selection, select_spectra

__all__ = ["ReportFiles", "spectrum_key", "write_fit_report", "write_run_report"]


@dataclass(frozen=True)
class ReportFiles:
    """What a report call wrote."""

    html: Path
    pdf: Path | None
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]
    spectra_shown: int
    reused: bool = False  # the report in place was already drawn from the same inputs
    drawn: int = 0  # figures drawn by this call
    cached: int = 0  # figures taken from the run's figure cache (`eisfit.report.cache`)


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
    keep = [c for c in ("source", "index", "time_h", "status") if c in run.table.columns]
    flagged = run.table.loc[list(selection.flagged), keep].copy()
    flagged["flagged_because"] = ["; ".join(r) for r in selection.flagged.values()]
    flagged["drawn"] = [i in selection.reasons for i in selection.flagged]
    return [
        _csv(laws, out / "growth_laws.csv"),
        _csv(events, out / "events.csv"),
        _csv(files, out / "files.csv"),
        _csv(shown, out / "spectra_shown.csv"),
        _csv(flagged, out / "flagged.csv"),
    ]


@dataclass(frozen=True)
class _Drawn:
    """One spectrum to draw: its record (plain data, for a worker process) and view."""

    record: Mapping[str, Any]
    view: SpectrumView
    when: str
    stem: str  # file stem in figures/


def _drawn(run: RunData, selection: Selection) -> tuple[list[_Drawn], list[str]]:
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
        out.append(_Drawn(record, view, sec.time_text(run, row), f"spectrum_{i:05d}"))
    return out, skipped


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=repr, allow_nan=True).encode()


def spectrum_key(view: SpectrumView, svg: bool = False) -> str:
    """Cache key of a spectrum figure: everything the view holds (points, circuit,
    values, parameters, contributions, summary, title, reasons), and whether it has an
    SVG."""
    s = view.spectrum
    rest = [view.title, view.circuit, sorted(view.values.items()), list(view.parameters),
            list(view.contributions), dict(view.summary), list(view.reasons)]  # fmt: skip
    key = figure_key("spectrum", s.frequency_hz.tobytes(), s.impedance_ohm.tobytes(),
                     _json_bytes(rest))  # fmt: skip
    return with_svg(key, svg)


def _table_digest(table: pd.DataFrame) -> bytes:
    """The results table as the trend figures see it (``reused`` aside: a resumed run
    flips only that column)."""
    table = table.drop(columns=["reused"], errors="ignore")
    digest = hashlib.sha256(_json_bytes(list(map(str, table.columns))))
    digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.digest()


def _trend_key(
    run: RunData, table_digest: bytes, quantities: Sequence[str], svg: bool = False
) -> str:
    trends = run.trends.get("trends") or {}
    shown = {"trends": {q: trends.get(q) for q in quantities},
             "events": list(run.trends.get("events") or ())}  # fmt: skip
    key = figure_key("trend", table_digest, _json_bytes(shown), run.time_label,
                     "\n".join(quantities))  # fmt: skip
    return with_svg(key, svg)


def _write_figure(fig_dir: Path, stem: str, rendered: Rendered) -> list[Path]:
    paths = [fig_dir / f"{stem}.png"]
    try:
        paths[0].write_bytes(rendered.png)
        if rendered.svg is not None:
            paths.append(fig_dir / f"{stem}.svg")
            paths[1].write_bytes(rendered.svg)
    except OSError as exc:
        raise ReportError(f"{fig_dir / stem}: cannot write the figure ({exc})") from None
    return paths


def _trend_figures(
    run: RunData, cache: FigureCache, svg: bool = False
) -> dict[str, tuple[str, Rendered]]:
    """stem -> (caption, figure) of every trend figure (with SVG when ``svg``), from the
    cache or drawn here."""
    from .figures import trend_figure, trend_figures

    table_digest = _table_digest(run.table)
    out = {}
    for stem, (caption, quantities) in trend_figures(run.table).items():
        key = _trend_key(run, table_digest, quantities, svg)
        rendered = cache.get(key)
        if rendered is None:
            with drawing():
                figure = trend_figure(run.table, run.trends, quantities, run.time_label)
            rendered = render(figure, svg=svg)
            cache.put(key, rendered)
        out[stem] = (caption, rendered)
    return out


def _spectrum_figures(
    items: Sequence[_Drawn],
    cache: FigureCache,
    jobs: int | None,
    meanwhile: Any,
    side: SideWork | None = None,
    svg: bool = False,
) -> list[Rendered]:
    """The figure of every item (with SVG when ``svg``): cached ones read, the others
    drawn (in worker processes when there are enough, `render.render_spectra`, with
    ``side``'s tasks) while ``meanwhile`` runs here."""
    keys = [spectrum_key(d.view, svg) for d in items]
    found = [cache.get(key) for key in keys]
    missing = [i for i, r in enumerate(found) if r is None]
    drawn = render_spectra([items[i].record for i in missing],
                           [items[i].view.title for i in missing], jobs=jobs,
                           meanwhile=meanwhile, side=side, svg=svg)  # fmt: skip
    for i, rendered in zip(missing, list(drawn), strict=True):
        cache.put(keys[i], rendered)
        found[i] = rendered
    return [r for r in found if r is not None]


def write_run_report(
    run_dir: str | Path,
    *,
    pdf: bool = True,
    n_representative: int | None = None,
    max_flagged: int | None = None,
    force: bool = False,
    jobs: int | None = None,
    cache: bool = True,
    svg: bool = False,
) -> ReportFiles:
    """Write report.html (+ report.pdf, figures/, tables/) for the batch folder ``run_dir``.

    ``n_representative`` (default 8) evenly spaced spectra and up to ``max_flagged``
    (default 16) flagged ones are drawn in full.  The report records a digest of its
    inputs (results.csv, trends.json, these options, the eisfit version); when the one in
    place matches, nothing is redrawn (``ReportFiles.reused``) unless ``force``.  Figures
    come from ``run_dir/.report-cache`` when an earlier report drew the same ones
    (`eisfit.report.cache`; ``cache=False``: drawn anew and not stored); the others are
    drawn in ``jobs`` worker processes (None: `render.render_spectra` decides).  Raises
    `ReportError` when ``run_dir`` holds no results table or cannot be written; missing
    pieces only become notes.  ``svg``: every figure as SVG too (a second drawing of each,
    about 40 % more; the page then shows the SVGs).
    """
    for name, value in (("n_representative", n_representative), ("max_flagged", max_flagged),
                        ("jobs", jobs)):  # fmt: skip
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ReportError(f"{name} must be a whole number >= 0, got {value!r}")
    options = (pdf, n_representative, max_flagged, svg)
    digest = _input_digest(Path(run_dir), options)
    if not force:
        done = _up_to_date(Path(run_dir), digest, pdf)
        if done is not None:
            return done
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
    figures = FigureCache(run.run_dir / CACHE_DIR if cache else None)
    items, skipped = _drawn(run, selection)
    trends: dict[str, tuple[str, Rendered]] = {}
    drt_map: dict[str, tuple[str, Rendered]] = {}  # the DRT map, when the run has one
    side = map_side(run, figures, drt_map, svg)  # its DRTs go to the workers with the spectra
    spectra = _spectrum_figures(items, figures, jobs or None, side=side, svg=svg,
                                meanwhile=lambda: trends.update(_trend_figures(run, figures, svg)))
    from .figures import ERRORBARS_SHOWN, THIN_ABOVE

    figure_paths: list[Path] = []
    trend_html = []
    for stem, (caption, rendered) in trends.items():
        figure_paths += _write_figure(fig_dir, stem, rendered)
        text = (f"{caption}: usable spectra (ok, warning, undetermined; not partial) with ± "
                f"one standard error (above {THIN_ABOVE} points: dots, and error bars on "
                f"{ERRORBARS_SHOWN} evenly spaced ones); line: the chosen growth law; dashed: "
                "events.")  # fmt: skip
        trend_html.append(h.figure_html(rendered, caption, text, wide=True))
    for stem, (text, rendered) in drt_map.items():
        figure_paths += _write_figure(fig_dir, stem, rendered)
        trend_html.append(h.figure_html(rendered, "DRT map", text, wide=True))
    spectra_html = []
    for d, rendered in zip(items, spectra, strict=True):
        figure_paths += _write_figure(fig_dir, d.stem, rendered)
        figure = h.figure_html(rendered, d.view.title, sec.CAPTION)
        spectra_html.append(sec.spectrum_html(d.view, figure, d.when))
    pdf_path = run.run_dir / "report.pdf" if pdf else None
    if pdf_path is None:  # an older PDF would no longer match the page
        (run.run_dir / "report.pdf").unlink(missing_ok=True)
    else:
        with PdfReport(pdf_path, "eisfit run report") as book:
            book.text("Summary", sec.summary_lines(run, selection))
            for caption, rendered in trends.values():
                book.figure(rendered.png, dpi=PNG_DPI, title=caption)
            for text, rendered in drt_map.values():
                book.figure(rendered.png, dpi=PNG_DPI, title="DRT map", notes=wrapped([text]))
            for d, rendered in zip(items, spectra, strict=True):
                book.figure(rendered.png, dpi=PNG_DPI, title=f"{d.view.title} {d.when}".strip(),
                            notes=sec.param_lines(d.view))  # fmt: skip
    shown = len(items)
    tables = _tables(run, selection, run.run_dir / "tables")
    n_rows = len(run.table)
    intro = (
        f"<p>{shown} of {n_rows} rows drawn in full: evenly spaced representative spectra "
        "plus flagged ones (failed fit, failed Kramers-Kronig check, rejected warm start, "
        "warnings, events). Every row is in results.csv; the figures are also in figures/ "
        f"as PNG{' and SVG' if svg else ''}"
        + ("; every flagged spectrum is listed after them" if selection.flagged else "")
        + ".</p>"
    )
    if skipped:
        intro += "<p>Selected but not drawn:</p><ul>" + "".join(
            f"<li>{h.esc(text)}</li>" for text in skipped
        ) + "</ul>"
    sections = sec.run_sections(run, selection, trend_figures=trend_html,
                                spectra=intro + "".join(spectra_html)
                                + sec.flagged_html(run, selection), pdf=pdf)  # fmt: skip
    html_path = run.run_dir / "report.html"
    _drop_stale_figures(fig_dir, figure_paths)
    footer = f"Written {sec.now()} by {sec.versions()}."
    text = h.page("eisfit run report", f"{run.run_dir}", sections, footer,
                  meta={_DIGEST_META: digest})  # fmt: skip
    _write_text(html_path, text)
    figures.prune()
    return ReportFiles(html_path, pdf_path, tuple(figure_paths), tuple(tables), shown,
                       drawn=figures.misses, cached=figures.hits)  # fmt: skip


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
    shown = sum(1 for p in figures if p.name.startswith("spectrum_") and p.suffix == ".png")
    return ReportFiles(html_path, pdf_path if pdf else None, figures, tables, shown, True)


def _drop_stale_figures(fig_dir: Path, keep: Sequence[Path]) -> None:
    """Remove figures of an earlier report that this one does not draw (spectra not
    selected now, trend figures left out for want of values)."""
    kept = {p.name for p in keep}
    for path in [*fig_dir.glob("spectrum_*.*"), *fig_dir.glob("trends_*.*"),
                 *fig_dir.glob(f"{MAP_STEM}.*")]:  # fmt: skip
        if path.name not in kept and path.suffix in (".png", ".svg"):
            path.unlink(missing_ok=True)
