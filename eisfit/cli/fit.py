"""``eisfit fit FILE``: fit a circuit or a named model to every spectrum of a file.

Without ``--circuit`` and ``--model`` the circuit of each spectrum is identified from the
data (`eisfit.identification`): a short block names the chosen circuit, the runner-up and why
(``"identification"`` in the JSON), and the spectrum is then fitted and analysed with it
as if it had been given (with the geometry given, the Na-cell rules join the ranking).

Every fit is analysed into physical contributions (`eisfit.physics.analyse`): roles,
effective capacitances, and with the cell geometry (``--area-cm2``, ``--thickness-cm``) ASR
per interface and conductivities; ``--report`` also writes an HTML (or PDF) fit report.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..fitting.weighting import NAMED_WEIGHTINGS
from ..io import read
from ..physics.contributions import analyse
from ..status import exit_code
from .options import (
    add_bound_option,
    add_cell_options,
    add_model_options,
    add_screening_options,
    cell_from_args,
    model_from_args,
    parse_assignments,
    parse_bounds,
    parse_roles,
    prepared,
    screening_options,
)
from .tables import contribution_report

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    """Add the ``fit`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "fit",
        help="fit an equivalent circuit to every spectrum of a file",
        description="Fit CIRCUIT to every spectrum in FILE (any supported export, see "
        "eisfit.io) and print one parameter table per spectrum; without --circuit or --model "
        "the circuit is identified from the data first.",
    )
    parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    add_model_options(parser, required=False)
    parser.add_argument(
        "--weighting", choices=NAMED_WEIGHTINGS, default="modulus", help="default: %(default)s"
    )
    add_bound_option(parser)
    for flag, what in (("--fix", "hold a parameter fixed"), ("--initial", "a starting value")):
        parser.add_argument(
            flag,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"{what}, e.g. R0.R=120 or CPE1.n=0.9 (repeatable)",
        )
    add_cell_options(parser, "optional; without it no ASR or conductivity")
    add_screening_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--report", metavar="HTML", help="also write a fit report here (.html/.htm, or .pdf); "
        "for a file of many spectra it shows all as a table and a few in full",
    )
    parser.add_argument(
        "--spectrum", type=int, metavar="N", default=None,
        help="fit and show only spectrum N of the file (the N of the output's "
        "'spectrum N', counted from 0)",
    )  # fmt: skip
    parser.set_defaults(command=run)


def _dumps(items: list[dict[str, Any]]) -> str:
    """One JSON object for one spectrum, a list for several."""
    return json.dumps(items[0] if len(items) == 1 else items, indent=2, allow_nan=False)


def _one(spectra: list[Any], number: int, path: str) -> list[Any]:
    """The spectrum numbered ``number`` (its ``meta.index``); `ReadError` naming the
    numbers the file has otherwise."""
    from ..errors import ReadError

    found = [s for s in spectra if s.meta.index == number]
    if not found:
        numbers = [s.meta.index for s in spectra]
        have = f"{min(numbers)} to {max(numbers)}" if numbers else "none"
        raise ReadError(path, f"--spectrum {number}: no such spectrum (the file has {have})")
    return found


def _no_names_without_circuit(args: argparse.Namespace) -> None:
    """--fix/--initial/--bound name parameters of a circuit: not before one is chosen."""
    from ..errors import FitInputError

    for flag, given in (("--fix", args.fix), ("--initial", args.initial), ("--bound", args.bound)):
        if given:
            raise FitInputError(
                f"{flag} names parameters of a circuit: give --circuit or --model with it "
                "(without them the circuit is identified from the data)"
            )


def _identified(spectrum: Any, weighting: str, cell: Any, roles: Any) -> Any:
    """The `Identification` of ``spectrum`` (the identify stage loads only when used)."""
    from ..identification import identify

    return identify(spectrum, cell=cell, roles=roles, weighting=weighting)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> tuple[str, int]:
    from ..fitting.api import fit  # the engine loads here, not at start-up
    from ..fitting.workload import workload
    circuit, model = model_from_args(args)  # a bad circuit or model fails before the file is read
    fixed = parse_assignments(args.fix, "--fix")
    initial = parse_assignments(args.initial, "--initial")
    cell = cell_from_args(args)
    if circuit is None:
        _no_names_without_circuit(args)
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
    if args.spectrum is not None:  # screened with its siblings above, as in a full run
        spectra = _one(spectra, args.spectrum, args.file)
    items, reports, code, fits = [], [], 0, []
    job = [len(s) for s in spectra]  # the compiled kernel loads only if it pays (issue 15)
    for spectrum in spectra:
        chosen, found = circuit, None
        with workload(job):
            if circuit is None:
                found = _identified(spectrum, args.weighting, cell, roles)
                chosen = found.circuit
            result = fit(
                spectrum, chosen, fixed=fixed, initial=initial, bounds=bounds,
                weighting=args.weighting,
            )  # fmt: skip
        analysis = analyse(result, cell, roles=roles)
        code = max(code, exit_code([result.status]))
        warnings = list(dict.fromkeys([*result.warnings, *analysis.all_warnings]))
        model_name = model.name if model else None
        item = {**result.to_dict(), "model": model_name, **analysis.to_dict(), "warnings": warnings}
        report = contribution_report(result.report(), analysis, result=result)
        if found is not None:
            item["identification"] = {k: v for k, v in found.to_dict().items() if k != "fit"}
            report = f"{found.summary()}\n\n{report}"
        items.append(item)
        reports.append(report)
        fits.append((result, analysis))
    if args.report:
        from ..report import write_fit_report

        write_fit_report(fits, args.report, model=model.name if model else None)
    if args.json:
        return _dumps(items), code
    if len(reports) == 1 and args.spectrum is None:
        return reports[0], code
    blocks = [
        f"== {args.file}, spectrum {spectrum.meta.index} ==\n{report}"
        for spectrum, report in zip(spectra, reports, strict=True)
    ]
    return "\n\n".join(blocks), code
