"""Reports a scientist can hand on: a run report for a batch folder, a single-fit report.

``write_run_report(DIR)`` turns a batch folder into ``report.html`` (self-contained,
offline, printable), ``report.pdf``, ``figures/`` (PNG; SVG too on request) and ``tables/`` (CSV);
``write_fit_report([(result, analysis), ...], "fit.html")`` does the per-spectrum part for
single fits.  The pieces: `data` (what is shown), `selection` (which spectra are drawn),
`sections` (its content as escaped HTML and PDF text), `figures` (matplotlib), `html` (the
page and its escaping), `pdf`, `writer` (drawing and writing files).
"""

from .data import RunData, SpectrumView, load_run, spectrum_view
from .selection import Selection, select_spectra
from .writer import ReportFiles, write_fit_report, write_run_report

__all__ = [
    "ReportFiles",
    "RunData",
    "Selection",
    "SpectrumView",
    "load_run",
    "select_spectra",
    "spectrum_view",
    "write_fit_report",
    "write_run_report",
]
