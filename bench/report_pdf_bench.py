"""Which PDF for the run report (issue 15, item 1): the candidates, measured on one run folder.

For the figures of a run report (the trend figures and the spectra the report draws in
full), each built once and saved as SVG and PNG as the report does, this measures what
the PDF then costs on top, per candidate:

- ``png pages``: eisfit's own writer (`eisfit.report.pdf`) embedding the PNGs already
  drawn, text as text: what ``eisfit report`` does;
- ``vector pages``: matplotlib's PDF backend saving the same, already drawn, figures once
  more (the figure is not rebuilt, but the backend draws it again);
- ``vector, rebuilt``: the path before issue 15: build the figure again with its title and
  notes and save it to matplotlib's PDF backend;
- ``chromium``: the HTML page printed to PDF by headless Chromium (Playwright driving the
  system ``chromium``), when both are installed: vector figures and the page's own layout,
  at the price of a browser.

It prints wall and CPU seconds (the browser's included once it has ended), the size and
whether figures are vectors, median of ``--repeat`` rounds with the load average.

    python bench/report_pdf_bench.py DIR [--repeat 3]   # DIR: an eisfit batch folder
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib as mpl

from eisfit.report import sections as sec
from eisfit.report.data import load_run, read_record, select_spectra, spectrum_view
from eisfit.report.figures import STYLE, TREND_FIGURES, trend_figure
from eisfit.report.pdf import PdfReport
from eisfit.report.render import PNG_DPI, drawing, render
from eisfit.report.spectrum_plot import spectrum_figure


def _cpu() -> float:
    """CPU seconds of this process and of its children that ended (the browser)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def measure(fn: Callable[[], int], repeat: int) -> tuple[float, float, int, float]:
    """(median wall s, median CPU s of this process and its children, bytes, median load)."""
    walls, cpus, loads, size = [], [], [], 0
    for _ in range(repeat):
        w, c = time.perf_counter(), _cpu()
        size = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(_cpu() - c)
        loads.append(os.getloadavg()[0])
    return statistics.median(walls), statistics.median(cpus), size, statistics.median(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", metavar="DIR")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run = load_run(args.run_dir)
    selection = select_spectra(run.table, run.trends.get("events") or (), n_representative=8,
                               max_flagged=16)  # the report's defaults
    views = []
    for i in selection.rows:
        record = read_record(run.run_dir, run.table.at[i, "fit_file"])
        if record is not None:
            views.append(spectrum_view(record, f"spectrum {i}"))
    with drawing():
        trends = [trend_figure(run.table, run.trends, q, run.time_label)
                  for _, q in TREND_FIGURES.values()]  # fmt: skip
        spectra = [spectrum_figure(v) for v in views]
    figures = trends + spectra
    t0 = time.process_time()
    drawn = [render(f) for f in figures]  # what the report draws anyway (SVG + PNG)
    draw_cpu = time.process_time() - t0
    tmp = Path(tempfile.mkdtemp())

    def png_pages() -> int:
        with PdfReport(tmp / "a.pdf", "eisfit run report") as book:
            book.text("Summary", sec.summary_lines(run, selection))
            for r in drawn:
                book.figure(r.png, dpi=PNG_DPI, title="figure")
        return (tmp / "a.pdf").stat().st_size

    def vector_pages() -> int:
        from matplotlib.backends.backend_pdf import PdfPages

        buffer = io.BytesIO()
        with PdfPages(buffer) as pages, mpl.rc_context(STYLE):
            for figure in figures:
                pages.savefig(figure)
        return len(buffer.getvalue())

    def vector_rebuilt() -> int:
        from matplotlib.backends.backend_pdf import PdfPages

        buffer = io.BytesIO()
        with PdfPages(buffer) as pages, mpl.rc_context(STYLE):
            for _, q in TREND_FIGURES.values():
                pages.savefig(trend_figure(run.table, run.trends, q, run.time_label))
            for v in views:
                pages.savefig(spectrum_figure(v, title=v.title, notes=sec.param_lines(v)))
        return len(buffer.getvalue())

    rows = [("png pages (eisfit report)", "no (150 dpi images), text is text", png_pages),
            ("vector pages, figures drawn once more", "yes", vector_pages),
            ("vector, figures rebuilt (before issue 15)", "yes", vector_rebuilt)]  # fmt: skip
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    html = run.run_dir / "report.html"
    if chromium and html.is_file():
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None
        if sync_playwright is not None:

            def browser_print() -> int:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                    page = browser.new_page()
                    page.goto(html.as_uri())
                    page.pdf(path=str(tmp / "c.pdf"), format="A4")
                    browser.close()
                return (tmp / "c.pdf").stat().st_size

            rows.append(("chromium prints report.html", "yes (browser needed)", browser_print))
    print(f"{len(figures)} figures ({len(trends)} trends, {len(spectra)} spectra); drawing "
          f"them once as SVG + PNG (the report's own cost): {draw_cpu:.2f} s CPU\n")  # fmt: skip
    print("| PDF candidate | wall | CPU (with the browser) | size | vector figures | load |")
    print("|---|---|---|---|---|---|")
    for name, vector, fn in rows:
        wall, cpu, size, load = measure(fn, args.repeat)
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {size / 1e6:.2f} MB | {vector} | "
              f"{load:.1f} |")  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
