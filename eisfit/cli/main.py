"""Command-line interface: ``eisfit fit``, ``kk``, ``arrhenius``, ``models``, ``batch``,
``report`` (also ``python -m eisfit``).

``fit`` fits a circuit (``--circuit``) or a named model (``--model``, see ``eisfit models``)
and analyses every fit into physical contributions (`eisfit.physics.analyse`): roles,
effective capacitances, and with the cell geometry (``--area-cm2``, ``--thickness-cm``)
ASR per interface and conductivities; ``--report`` also writes an HTML (or PDF) fit report
(`eisfit.report`).  ``arrhenius`` fits a temperature series, one
spectrum per temperature, and reports activation energies (`eisfit.physics.arrhenius`).

Exit codes (`eisfit.status`): 0 every result ok or warning; 1 some fit undetermined or
failed (``fit``, ``arrhenius``) or a spectrum not Kramers-Kronig consistent (``kk``), the
results are printed all the same; 2 bad input (any `EisfitError`: unreadable file, bad
circuit, bad option), reported as ``eisfit: error: <message>`` on stderr without a
traceback, as argparse reports bad usage; 141 when the reader of the output went away
(``eisfit ... | head``: quietly, no traceback).

Only `main` prints; the command functions return the text and the exit code.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..errors import EisfitError, FitInputError, PhysicsError
from ..io import read
from ..kk.linkk import kk_check
from ..physics.contributions import analyse
from ..physics.models import load_models
from ..status import exit_code
from . import batch as cli_batch
from . import report as cli_report
from .options import (
    add_bound_option,
    add_cell_options,
    add_screening_options,
    cell_from_args,
    model_from_args,
    parse_bounds,
    parse_roles,
    prepared,
    screening_options,
)
from .tables import arrhenius_table, contribution_report, models_table

__all__ = ["main"]

_WEIGHTINGS = ("modulus", "proportional", "unit")
_ZERO_C_K = 273.15


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    When stdout's reader goes away (``eisfit fit FILE | head -1``) the output ends quietly
    with exit code 141, 128 + SIGPIPE (`eisfit.cli.output`); Ctrl-C or SIGTERM ends any
    command with exit code 130 and one line (``batch`` first saves what it finished).
    """
    from ..runs.interrupts import terminate_as_interrupt
    from .output import EXIT_BROKEN_PIPE, emit

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    with terminate_as_interrupt():
        try:
            text, code = args.command(args)
            return code if emit(text) else EXIT_BROKEN_PIPE  # `| head -1` ends quietly
        except EisfitError as exc:
            print(f"eisfit: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # where a command saves nothing (or while printing)
            print("eisfit: interrupted", file=sys.stderr)
            return 130


def entry() -> int:
    """The ``eisfit`` program (console script, ``python -m eisfit``): `main`, after which
    SIGINT and SIGTERM are ignored, because the run is over and its files are written: a
    signal landing while the interpreter shuts down must not turn a finished run's exit
    code into a death by signal."""
    import signal

    code = main()
    for name in ("SIGINT", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eisfit",
        description="Impedance spectroscopy of symmetric Na | solid electrolyte | Na cells.",
        epilog="Exit codes: 0 ok or warning; 1 a fit undetermined or failed, or a spectrum "
        "not Kramers-Kronig consistent (results printed all the same); 2 bad input; 141 "
        "output pipe closed.",
    )
    parser.add_argument("--version", action="version", version=f"eisfit {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    fit_parser = commands.add_parser(
        "fit",
        help="fit an equivalent circuit to every spectrum of a file",
        description="Fit CIRCUIT to every spectrum in FILE (delimited text, see "
        "eisfit.io.csv) and print one parameter table per spectrum.",
    )
    fit_parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    _add_model_options(fit_parser)
    fit_parser.add_argument(
        "--weighting", choices=_WEIGHTINGS, default="modulus", help="default: %(default)s"
    )
    add_bound_option(fit_parser)
    for flag, what in (("--fix", "hold a parameter fixed"), ("--initial", "a starting value")):
        fit_parser.add_argument(
            flag,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"{what}, e.g. R0.R=120 or CPE1.n=0.9 (repeatable)",
        )
    add_cell_options(fit_parser, "optional; without it no ASR or conductivity")
    add_screening_options(fit_parser)
    fit_parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    fit_parser.add_argument(
        "--report", metavar="HTML", help="also write a fit report here (.html/.htm, or .pdf)"
    )
    fit_parser.set_defaults(command=_fit_command)

    kk_parser = commands.add_parser(
        "kk",
        help="lin-KK (Kramers-Kronig) check of every spectrum of a file",
        description="Run the lin-KK test (Schoenleber et al. 2014) on every spectrum in FILE: "
        "a KK-consistent model (R0, RC elements, a series C and L where the data need them) "
        "is fitted, and the residuals are judged against the noise of the data.  One line "
        "per spectrum, named by its index in the file and its cycle and timestamp where the "
        "file has them.",
        epilog="exit status (eisfit.status): 0 every spectrum consistent (ok); 1 some "
        "spectrum not consistent (failed) or too noisy for the check to tell "
        "(undetermined); 2 unreadable file or a spectrum that cannot be checked (error, "
        "e.g. fewer than 5 points).",
    )
    kk_parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    kk_parser.add_argument(
        "--residual-limit",
        type=float,
        metavar="FRACTION",
        help="judge against this fixed limit (fraction of |Z|, e.g. 0.02) instead of the "
        "noise-calibrated one",
    )
    add_screening_options(kk_parser)
    kk_parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    kk_parser.set_defaults(command=_kk_command)

    arrhenius_parser = commands.add_parser(
        "arrhenius",
        help="activation energies from a temperature series",
        description="Fit every spectrum of FILE... (one per temperature, coldest first, each "
        "fit starting from the previous one), then sigma T = A exp(-Ea/kT) for bulk, grain "
        "boundary and total conductivity.",
    )
    arrhenius_parser.add_argument(
        "files", nargs="+", metavar="FILE", help="exports; each spectrum is one temperature"
    )
    arrhenius_parser.add_argument(
        "--temperature-c",
        nargs="+",
        type=float,
        metavar="T",
        help="temperature (degrees C) of each spectrum, in file order (default: as recorded)",
    )
    _add_model_options(arrhenius_parser)
    add_cell_options(arrhenius_parser, "required")
    add_screening_options(arrhenius_parser)
    arrhenius_parser.add_argument(
        "--regression",
        choices=("weighted", "unweighted"),
        default="weighted",
        help="fit of ln(sigma T) on 1/T: weighted by the fit stderrs, w = (sigma/stderr)^2 "
        "(default), or unweighted ordinary least squares, as most papers",
    )
    arrhenius_parser.add_argument("--plot", metavar="PNG", help="save the Arrhenius plot here")
    arrhenius_parser.add_argument("--json", action="store_true", help="print JSON")
    arrhenius_parser.set_defaults(command=_arrhenius_command)

    models_parser = commands.add_parser(
        "models", help="list the named models", description="List the named circuit models."
    )
    models_parser.add_argument("--models-dir", metavar="DIR", help="a folder of extra *.toml")
    models_parser.add_argument("--json", action="store_true", help="print JSON")
    models_parser.set_defaults(command=_models_command)
    cli_batch.register(commands)
    cli_report.register(commands)
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--circuit", help="circuit in impedance.py notation, e.g. L0-R0-p(R1,CPE1)")
    which.add_argument("--model", metavar="NAME", help="a named model (see: eisfit models)")
    parser.add_argument(
        "--models-dir", metavar="DIR", help="a folder of *.toml models adding to the packaged ones"
    )
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ELEMENT=ROLE",
        help="assign an arc's role by its resistor, e.g. R1=grain_boundary (repeatable)",
    )


def _assignments(items: Sequence[str], option: str) -> dict[str, float]:
    """``["R0.R=120", ...]`` -> ``{"R0.R": 120.0}``; values through float(), never eval."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise FitInputError(f"{option} expects NAME=VALUE, got {item!r}")
        try:
            value = float(text)
        except ValueError:
            raise FitInputError(f"{option} {name}: {text.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise FitInputError(f"{option} {name}: value must be finite, got {text.strip()!r}")
        if name in out:
            raise FitInputError(f"{option} {name} given more than once")
        out[name] = value
    return out


def _dumps(items: list[dict[str, Any]]) -> str:
    """One JSON object for one spectrum, a list for several."""
    return json.dumps(items[0] if len(items) == 1 else items, indent=2, allow_nan=False)


def _fit_command(args: argparse.Namespace) -> tuple[str, int]:
    from ..fitting.api import fit  # the engine loads here, not at start-up
    circuit, model = model_from_args(args)  # a bad circuit or model fails before the file is read
    fixed = _assignments(args.fix, "--fix")
    initial = _assignments(args.initial, "--initial")
    cell = cell_from_args(args)
    roles = {**(model.roles if model else {}), **parse_roles(args.role)} or None
    bounds = {**(model.bounds if model else {}), **parse_bounds(args.bound)} or None
    if args.report:  # an unsupported report name fails before reading and fitting
        from ..errors import ReportError
        from ..report.output import report_format

        try:
            report_format(args.report)
        except ReportError as exc:
            raise ReportError(f"--report {exc}") from None
    screening_options(args)  # bad --f-min/--f-max fail before reading
    from ..fitting.weighting import usable_points

    # Z = 0 points go before screening (fit would drop them after, losing the siblings)
    spectra = prepared([usable_points(s, args.weighting) for s in read(args.file)], args)
    items, reports, code, fits = [], [], 0, []
    for spectrum in spectra:
        result = fit(
            spectrum, circuit, fixed=fixed, initial=initial, bounds=bounds,
            weighting=args.weighting,
        )  # fmt: skip
        analysis = analyse(result, cell, roles=roles)
        code = max(code, exit_code([result.status]))
        warnings = list(dict.fromkeys([*result.warnings, *analysis.all_warnings]))
        model_name = model.name if model else None
        items.append(
            {**result.to_dict(), "model": model_name, **analysis.to_dict(), "warnings": warnings}
        )
        reports.append(contribution_report(result.report(), analysis))
        fits.append((result, analysis))
    if args.report:
        from ..report import write_fit_report

        write_fit_report(fits, args.report, model=model.name if model else None)
    if args.json:
        return _dumps(items), code
    if len(reports) == 1:
        return reports[0], code
    blocks = [
        f"== {args.file}, spectrum {spectrum.meta.index} ==\n{report}"
        for spectrum, report in zip(spectra, reports, strict=True)
    ]
    return "\n\n".join(blocks), code


def _arrhenius_command(args: argparse.Namespace) -> tuple[str, int]:
    from ..physics.arrhenius import arrhenius_series, fit_status
    from ..physics.arrhenius_plot import plot_arrhenius
    from ..status import exit_code

    circuit, model = model_from_args(args)
    cell = cell_from_args(args)
    if cell is None:
        raise PhysicsError(
            "arrhenius needs the cell geometry: --area-cm2 and --thickness-cm "
            "(conductivity = thickness / (resistance x area))"
        )
    screening_options(args)
    spectra = [spectrum for path in args.files for spectrum in prepared(read(path), args)]
    temperatures = args.temperature_c
    if temperatures is not None and len(temperatures) != len(spectra):
        held = f"{len(args.files)} file(s) holding {len(spectra)} spectra"
        raise PhysicsError(
            f"{held} but {len(temperatures)} temperatures (--temperature-c); "
            "give one temperature per spectrum, in file order"
        )
    kelvin = None if temperatures is None else [t + _ZERO_C_K for t in temperatures]
    series = arrhenius_series(
        spectra, kelvin, model or circuit, cell, roles=parse_roles(args.role),
        regression=args.regression,
    )  # fmt: skip
    # the command's results are the activation energies: exit 1 when one is undetermined or
    # a spectrum fit failed; an undetermined spectrum quantity shows as a skipped point
    failed = ["failed" for result in series.results if fit_status(result) == "failed"]
    code = exit_code([*failed, *(f.status for f in series.fits.values())])
    if args.plot:
        try:
            plot_arrhenius(series).savefig(args.plot, dpi=150)
        except (OSError, ValueError) as exc:  # unwritable path, unknown image extension
            raise EisfitError(f"--plot {args.plot}: {exc}") from None
    if args.json:
        return json.dumps(series.to_dict(), indent=2, allow_nan=False), code
    return arrhenius_table(series), code


def _models_command(args: argparse.Namespace) -> tuple[str, int]:
    models = load_models(args.models_dir)
    if args.json:
        items = [model.to_dict() for model in models.values()]
        return json.dumps(items, indent=2, allow_nan=False), 0
    return models_table(models.values()), 0


def _kk_command(args: argparse.Namespace) -> tuple[str, int]:
    from .kk import kk_report

    limit = args.residual_limit
    if limit is not None and not 0.0 < limit < math.inf:
        raise FitInputError(f"--residual-limit must be a positive fraction, got {limit}")
    rows: list[tuple[Any, Any]] = []
    screening_options(args)
    from ..fitting.weighting import usable_points

    # lin-KK weighs by 1/|Z| as the modulus fit does: Z = 0 points go first, recorded
    spectra = [usable_points(s, "modulus") for s in read(args.file)]
    for spectrum in prepared(spectra, args):
        try:
            rows.append((spectrum, kk_check(spectrum, residual_limit=limit)))
        except EisfitError as exc:  # too few points, Z = 0: that spectrum is not checked
            rows.append((spectrum, exc))
    return kk_report(args.file, rows, as_json=args.json)
