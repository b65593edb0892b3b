"""``eisfit batch``: fit a cycling run (files, folders, globs) into a results table.

Registered from `eisfit.cli.main`; writes results.csv, fits/ and trends.json to ``--out``
(see `eisfit.runs.batch.run_batch`), then the run report (report.html, report.pdf, figures/,
tables/; `eisfit.report`, skipped with ``--no-report``; a report that cannot be written
is said in the summary and does not change the exit code) and returns a short summary.
Exit code 0 when at least one spectrum was fitted to an ``ok`` or ``warning`` row (the
statuses whose exit code is 0, `eisfit.status`), 1 when none was (only ``undetermined``,
``failed`` or ``error`` rows), 2 on bad input (as every eisfit command), including
PATHs that hold no file at all (every one missing, an empty folder or a glob matching
nothing: ``eisfit: error: nothing to fit: ...`` naming each, and nothing is written);
such a PATH among good ones is an ``error`` row instead.

``--model auto``: no circuit is given; each cell's circuit is chosen from a consensus of
a few of its spectra (`eisfit.runs.auto`, stated in ``DIR/model.json`` and batch.log), and
each spectrum whose data another circuit explains decisively better says so in the
``alternative`` column.  Roles then come from ``--role`` or the automatic assignment;
``--bound`` cannot be given (the parameter names are not known in advance).

``--config run.toml`` supplies any option as a top-level key (``paths``, ``circuit`` or
``model``, ``models_dir``, ``roles`` table, ``area_cm2``, ``thickness_cm``, ``symmetric``,
``out``, ``jobs``, ``cell_by``, ``kk``, ``weighting``, ``scheduler``, ``progress``,
``report``, ``f_min_hz``, ``f_max_hz``, ``drop_flagged_points``, ``bounds`` table of
``"R2.R" = [low, high]``); options given on the command line win.

Ctrl-C or SIGTERM: the spectra finished so far are saved (results.csv, trends.json,
fits/), the line ``interrupted: N of M spectra saved; re-run the same command to resume``
goes to stderr, the usual summary (of what was saved) to stdout, and the exit code is
130 (as a shell reports SIGINT), whatever the stage: reading, fitting, the trend analysis
or the report.

``--out`` is checked before any work (a file, or a folder that cannot be created or
written: ``eisfit: error: ...``, exit 2), and locked for the run (`eisfit.runs.lock`): a
second ``eisfit batch`` or ``eisfit report`` into the same folder meanwhile is refused
with exit 2, naming the run that holds it.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from ..errors import EisfitError, ReportError
from ..fitting.weighting import NAMED_WEIGHTINGS
from ..schema import role_column
from ..status import EXIT_CODES
from . import report as cli_report
from .options import (
    add_bound_option,
    add_cell_options,
    add_screening_options,
    cell_from_args,
    model_from_args,
    parse_bounds,
    parse_roles,
    screening_options,
)

__all__ = ["batch_exit_code", "register"]

#: ``--model auto``: a circuit per cell (as eisfit.runs.worker.AUTO; not imported: CLI start-up)
AUTO = "auto"
_CELL_BY = ("folder", "file", "all")  # as eisfit.runs.batch.CELL_BY (not imported: CLI start-up)
#: config key -> (argparse dest, accepted types)
_CONFIG_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "paths": ("paths", (list,)),
    "circuit": ("circuit", (str,)),
    "model": ("model", (str,)),
    "models_dir": ("models_dir", (str,)),
    "roles": ("config_roles", (dict,)),
    "area_cm2": ("area_cm2", (int, float)),
    "thickness_cm": ("thickness_cm", (int, float)),
    "symmetric": ("symmetric", (bool,)),
    "out": ("out", (str,)),
    "jobs": ("jobs", (int,)),
    "cell_by": ("cell_by", (str,)),
    "kk": ("kk", (bool,)),
    "weighting": ("weighting", (str,)),
    "scheduler": ("scheduler", (str,)),
    "progress": ("progress", (bool,)),
    "report": ("report", (bool,)),
    "f_min_hz": ("f_min", (int, float)),
    "f_max_hz": ("f_max", (int, float)),
    "drop_flagged_points": ("drop_flagged_points", (bool,)),
    "bounds": ("config_bounds", (dict,)),
}
#: exit code after Ctrl-C (128 + SIGINT, what a shell reports)
EXIT_INTERRUPTED = 130


def register(commands: Any) -> None:
    """Add the ``batch`` subcommand to the ``commands`` subparsers.

    The model options are its own (not `eisfit.cli.main`'s): ``--circuit``/``--model`` may
    come from ``--config`` instead, so argparse cannot require them.
    """
    parser = commands.add_parser(
        "batch",
        help="fit every spectrum of a cycling run and track it over time",
        description="Fit every spectrum of PATH... (files, folders, glob patterns) with warm "
        "starts, in time order; write results.csv, fits/*.json and trends.json to --out. "
        "A re-run reuses fits whose data and settings are unchanged.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="file, folder or glob pattern")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--circuit", help="circuit in impedance.py notation, e.g. L0-R0-p(R1,CPE1)")
    which.add_argument(
        "--model", metavar="NAME",
        help="a named model (see: eisfit models), or 'auto': one circuit per cell, chosen "
        "from a consensus of its spectra (written to DIR/model.json)",
    )  # fmt: skip
    parser.add_argument("--models-dir", metavar="DIR", help="a folder of extra *.toml models")
    parser.add_argument(
        "--role", action="append", default=[], metavar="ELEMENT=ROLE",
        help="assign an arc's role by its resistor, e.g. R1=grain_boundary (repeatable)",
    )  # fmt: skip
    add_cell_options(parser, "optional; without it no ASR or conductivity")
    add_screening_options(parser)
    add_bound_option(parser)
    parser.add_argument("--out", metavar="DIR", help="output folder (required)")
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="worker processes (default: all cores)"
    )
    parser.add_argument(
        "--cell-by", choices=_CELL_BY, default=None,
        help="which spectra chain warm starts: all files of a folder (default), each file, "
        "or everything given",
    )  # fmt: skip
    parser.add_argument(
        "--weighting",
        choices=NAMED_WEIGHTINGS,
        default=None,
        help="fit weighting (default: modulus)",
    )
    parser.add_argument(
        "--no-kk", dest="kk", action="store_false", default=None,
        help="skip the Kramers-Kronig check of each spectrum",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="fit on a Dask cluster, e.g. tcp://host:8786 (needs eisfit[dask]; --jobs ignored)",
    )  # fmt: skip
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )  # fmt: skip
    parser.add_argument("--config", metavar="TOML", help="run options as a TOML file")
    parser.add_argument(
        "--no-report", dest="report", action="store_false", default=None,
        help="do not write DIR/report.html (and .pdf, figures/, tables/) at the end",
    )  # fmt: skip
    cli_report.add_report_options(parser)
    parser.set_defaults(
        command=batch_command, symmetric=None, config_roles=None, config_bounds=None
    )


def _apply_config(args: argparse.Namespace) -> None:
    """Fill options not given on the command line from ``--config``."""
    if args.config is None:
        return
    try:
        data = tomllib.loads(Path(args.config).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EisfitError(f"--config {args.config}: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array or table
        raise EisfitError(f"--config {args.config}: not valid TOML: nested too deeply") from None
    for key, value in data.items():
        if key not in _CONFIG_KEYS:
            raise EisfitError(f"--config {args.config}: unknown key {key!r}; known: "
                              f"{', '.join(_CONFIG_KEYS)}")  # fmt: skip
        dest, types = _CONFIG_KEYS[key]
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            raise EisfitError(f"--config {args.config}: {key} has the wrong type ({value!r})")
        current = getattr(args, dest)
        if current is None or current == []:
            setattr(args, dest, [str(v) for v in value] if key == "paths" else value)
    if args.circuit is not None and args.model is not None:
        raise EisfitError("give --circuit or --model, not both (command line and --config)")


def _settings(args: argparse.Namespace) -> Any:
    from ..runs.batch import BatchSettings

    auto = args.model == AUTO
    circuit, model = (AUTO, None) if auto else model_from_args(args)
    roles = {
        **(model.roles if model else {}), **(args.config_roles or {}), **parse_roles(args.role)
    }
    args.not_symmetric = args.not_symmetric or args.symmetric is False
    bounds = {
        **(model.bounds if model else {}), **_config_bounds(args.config_bounds),
        **parse_bounds(args.bound),
    }  # fmt: skip
    if auto and bounds:
        raise EisfitError("--model auto chooses the circuit per cell: its parameter names are "
                          "not known in advance, so --bound (or a bounds table) cannot be "
                          "given with it")  # fmt: skip
    options = {"roles": roles, "cell": cell_from_args(args), "kk": args.kk is not False,
               "weighting": args.weighting or "modulus", **screening_options(args)}  # fmt: skip
    if auto:
        return BatchSettings.auto(**options)
    return BatchSettings(circuit, model=model.name if model else None, bounds=bounds or None,
                         **options)  # fmt: skip


def _config_bounds(table: dict[str, Any] | None) -> dict[str, tuple[float, float]]:
    """The ``bounds`` table of a config: ``"R2.R" = [0, 1e9]``."""
    out = {}
    for name, pair in (table or {}).items():
        ok = isinstance(pair, list) and len(pair) == 2
        if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair):
            raise EisfitError(f"--config bounds: {name} must be [low, high], got {pair!r}")
        out[str(name)] = (float(pair[0]), float(pair[1]))
    return out


def batch_command(args: argparse.Namespace) -> tuple[str, int]:
    from ..runs.interrupts import terminate_as_interrupt
    from ..runs.lock import check_out_dir, run_lock
    from ..runs.plan import check_sources

    _apply_config(args)
    missing = [flag for flag, value in (("PATH", args.paths), ("--out", args.out)) if not value]
    if args.circuit is None and args.model is None:
        missing.append("--circuit or --model")
    if missing:
        raise EisfitError(f"batch needs {', '.join(missing)} (on the command line or --config)")
    if args.jobs is not None and args.jobs < 1:
        raise EisfitError(f"--jobs must be at least 1, got {args.jobs}")
    if args.weighting not in (None, *NAMED_WEIGHTINGS):
        raise EisfitError(f"weighting must be one of {', '.join(NAMED_WEIGHTINGS)}")
    if args.cell_by not in (None, *_CELL_BY):
        raise EisfitError(f"cell_by must be one of {', '.join(_CELL_BY)}")
    settings = _settings(args)
    check_sources(args.paths)  # nothing to read is bad input, not an empty report
    check_out_dir(args.out)  # before any work: a bad --out is one line, not a lost run
    with terminate_as_interrupt(), run_lock(args.out):  # SIGTERM saves as Ctrl-C does
        return _run(args, settings)


def _run(args: argparse.Namespace, settings: Any) -> tuple[str, int]:
    from ..errors import BatchInterrupted
    from ..runs.batch import run_batch

    try:
        frame = run_batch(
            args.paths, settings, out_dir=args.out, jobs=args.jobs, cell_by=args.cell_by,
            progress=args.progress, scheduler=args.scheduler, columns=SUMMARY_COLUMNS,
        )  # fmt: skip
    except BatchInterrupted as stop:
        print(f"{stop}; re-run the same command to resume", file=sys.stderr)
        return _summary(stop.frame, args), EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before fitting (reading the files): nothing was changed
        print("interrupted before fitting; the folder is as it was; re-run the same "
              "command to resume", file=sys.stderr)  # fmt: skip
        return "interrupted", EXIT_INTERRUPTED
    code = batch_exit_code(frame["status"])
    if args.report is False:
        return _summary(frame, args), code
    try:
        report = cli_report.report_summary(args, args.out)
    except ReportError as exc:  # the fits are saved; say why there is no report
        report = f"report not written: {exc}"
    except KeyboardInterrupt:
        print("interrupted while writing the report; the results are complete: "
              f"`eisfit report {args.out}` writes it", file=sys.stderr)  # fmt: skip
        return _summary(frame, args), EXIT_INTERRUPTED
    return f"{_summary(frame, args)}\n{report}", code


def batch_exit_code(statuses: Any) -> int:
    """0 when some row's status exits 0 (``ok``, ``warning``), else 1 (see module doc)."""
    return 0 if any(EXIT_CODES.get(str(s), 1) == 0 for s in statuses) else 1


#: the columns of the results table `_summary` reads: the batch returns only these (the
#: whole table is in results.csv), so the command does not hold a 10^5-spectrum table
#: in memory at its end (issue 15)
SUMMARY_COLUMNS = ("status", "reused", "start_path", "cell", "time_source")


def _summary(frame: Any, args: argparse.Namespace) -> str:
    """The few lines printed after a batch (also after Ctrl-C, for the rows saved).

    Rows by status (`eisfit.status`): ok, failed and error always, warning and
    undetermined when there are any.
    """
    counts = {k: int(v) for k, v in frame["status"].value_counts().items()}
    shown = [k for k in ("ok", "warning", "undetermined", "failed", "error")
             if k in ("ok", "failed", "error") or counts.get(k)]  # fmt: skip
    tally = ", ".join(f"{counts.get(k, 0)} {k}" for k in shown)
    reused = int(frame["reused"].eq(True).sum())
    paths = frame["start_path"].dropna().value_counts()
    fitted = len(frame) - counts.get("error", 0)
    lines = [
        f"{len(frame)} rows: {tally} ({reused} reused)",
        f"cells: {frame['cell'].nunique()} (by {args.cell_by or 'folder'})",
        "start paths: " + (", ".join(f"{k} {v}" for k, v in paths.items()) or "none"),
        f"time from: {frame['time_source'].dropna().iloc[0] if fitted else 'n/a'}",
        f"R_soli growth law: {_soli_law(Path(args.out))}",
        f"results: {Path(args.out) / 'results.csv'}",
    ]
    return "\n".join(lines)


def _soli_law(out: Path) -> str:
    from ..errors import JsonError
    from ..runs.safe_json import RUN_MAX_BYTES, load_json

    try:
        trends = load_json(out / "trends.json", max_bytes=RUN_MAX_BYTES)
    except JsonError:
        return "n/a (no trends.json)"
    if not isinstance(trends, dict):
        return "n/a (trends.json is not an eisfit trends file)"
    soli = trends.get("trends", {}).get(role_column("resistance", "soli"))
    if not isinstance(soli, dict):
        return f"n/a ({trends.get('message', 'no R_soli trend')})"
    best = soli.get("best")
    if best == "constant":
        return "constant (no significant change)"
    return str(best or soli.get("message") or "none")
