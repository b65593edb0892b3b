"""``eisfit report DIR``: the run report of a batch folder (see `eisfit.report`).

Registered from `eisfit.cli.main`.  Writes DIR/report.html (self-contained, offline),
report.pdf, figures/ (PNG, and SVG with ``--svg``) and tables/ (CSV); figures an earlier
report drew from the same data come from DIR/.report-cache (`eisfit.report.cache`).  Exit
code 0 when written, 2 on bad input (no results.csv in DIR, unwritable folder), as every
eisfit command.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

__all__ = ["add_report_options", "register", "report_summary"]


def register(commands: Any) -> None:
    """Add the ``report`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "report",
        help="write the run report of a batch folder",
        description="Write DIR/report.html (one self-contained file that opens offline), "
        "report.pdf, figures/ (PNG) and tables/ (CSV) from a folder written by "
        "`eisfit batch --out DIR`.",
    )
    parser.add_argument("run_dir", metavar="DIR", help="a batch output folder (results.csv)")
    add_report_options(parser)
    parser.set_defaults(command=report_command)


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``report`` and ``batch`` (which writes the report at the end)."""
    group = parser.add_argument_group("report")
    group.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip report.pdf")
    group.add_argument(
        "--force-report", dest="force_report", action="store_true",
        help="redraw the report even when its inputs have not changed",
    )  # fmt: skip
    group.add_argument(
        "--report-spectra", type=int, default=None, metavar="N",
        help="evenly spaced spectra drawn in full (default 8)",
    )  # fmt: skip
    group.add_argument(
        "--report-flagged", type=int, default=None, metavar="N",
        help="at most N flagged spectra (failed, KK, fallback, warnings) drawn (default 16)",
    )  # fmt: skip
    group.add_argument(
        "--svg", action="store_true",
        help="also write every figure as SVG, and show the SVGs in the page (each figure "
        "is then drawn twice)",
    )  # fmt: skip
    group.add_argument(
        "--report-jobs", type=int, default=None, metavar="N",
        help="processes drawing the report's figures (default: one per core, at most 4, "
        "when enough figures are not in the figure cache; 1: none started)",
    )  # fmt: skip


def report_summary(args: argparse.Namespace, run_dir: str) -> str:
    """Write the report of ``run_dir`` with ``args``' options; one line per file written."""
    from ..report import write_run_report

    files = write_run_report(
        run_dir, pdf=args.pdf, n_representative=args.report_spectra,
        max_flagged=args.report_flagged, force=args.force_report, jobs=args.report_jobs,
        svg=args.svg,
    )  # fmt: skip
    if files.reused:
        return f"report: {files.html} is up to date (inputs unchanged; --force-report redraws)"
    lines = [f"report: {files.html} ({files.spectra_shown} spectra drawn in full; "
             f"{files.drawn} figures drawn, {files.cached} from the figure cache)"]  # fmt: skip
    if files.pdf is not None:
        lines.append(f"pdf: {files.pdf}")
    lines.append(f"figures: {len(files.figures)} files in {files.html.parent / 'figures'}")
    return "\n".join(lines)


def report_command(args: argparse.Namespace) -> tuple[str, int]:
    from ..runs.interrupts import terminate_as_interrupt
    from ..runs.lock import run_lock

    folder = Path(args.run_dir)  # a missing folder is report_summary's error to give
    lock = run_lock(folder) if folder.is_dir() else nullcontext()
    with terminate_as_interrupt(), lock:  # not while a batch writes there
        try:
            return report_summary(args, args.run_dir), 0
        except KeyboardInterrupt:
            print("interrupted: the report was not finished; the results are unchanged",
                  file=sys.stderr)  # fmt: skip
            return "", 130
