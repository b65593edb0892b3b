"""``eisfit arrhenius FILE...``: activation energies from a temperature series.

Every spectrum (one per temperature, coldest first) is fitted, each fit starting from the
previous one; then sigma T = A exp(-Ea / kT) is fitted for the bulk, grain-boundary and
total conductivity (`eisfit.physics.arrhenius`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import EisfitError, PhysicsError
from ..io import read
from ..physics.activation import ZERO_CELSIUS_K
from .options import (
    add_cell_options,
    add_model_options,
    add_screening_options,
    cell_from_args,
    model_from_args,
    parse_roles,
    prepared,
    screening_options,
)
from .tables import arrhenius_table

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    """Add the ``arrhenius`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "arrhenius",
        help="activation energies from a temperature series",
        description="Fit every spectrum of FILE... (one per temperature, coldest first, each "
        "fit starting from the previous one), then sigma T = A exp(-Ea/kT) for bulk, grain "
        "boundary and total conductivity.",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="exports; each spectrum is one temperature"
    )
    parser.add_argument(
        "--temperature-c",
        nargs="+",
        type=float,
        metavar="T",
        help="temperature (degrees C) of each spectrum, in file order (default: as recorded)",
    )
    add_model_options(parser)
    add_cell_options(parser, "required")
    add_screening_options(parser)
    parser.add_argument(
        "--regression",
        choices=("weighted", "unweighted"),
        default="weighted",
        help="fit of ln(sigma T) on 1/T: weighted by the fit stderrs, w = (sigma/stderr)^2 "
        "(default), or unweighted ordinary least squares, as most papers",
    )
    parser.add_argument("--plot", metavar="PNG", help="save the Arrhenius plot here")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace) -> tuple[str, int]:
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
    kelvin = None if temperatures is None else [t + ZERO_CELSIUS_K for t in temperatures]
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
