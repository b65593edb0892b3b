"""Command-line interface: ``eisfit fit``, ``eisfit kk`` (also ``python -m eisfit``).

Exit codes: 0 success; 1 a fit did not converge (``fit``) or a spectrum failed the
Kramers-Kronig check (``kk``), the results are printed all the same; 2 bad input (any
`EisfitError`: unreadable file, bad circuit, bad option), reported as
``eisfit: error: <message>`` on stderr without a traceback, as argparse reports bad usage.

Only `main` prints; the command functions return the text and the exit code.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .circuits.model import compile_circuit
from .errors import EisfitError, FitInputError
from .fitting import fit
from .io import read
from .kk import kk_check

__all__ = ["main"]

_WEIGHTINGS = ("modulus", "proportional", "unit")


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        text, code = args.command(args)
    except EisfitError as exc:
        print(f"eisfit: error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eisfit",
        description="Impedance spectroscopy of symmetric Na | solid electrolyte | Na cells.",
        epilog="Exit codes: 0 ok, 1 fit not converged / KK check failed, 2 bad input.",
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
    fit_parser.add_argument(
        "--circuit", required=True, help="circuit in impedance.py notation, e.g. L0-R0-p(R1,CPE1)"
    )
    fit_parser.add_argument(
        "--weighting", choices=_WEIGHTINGS, default="modulus", help="default: %(default)s"
    )
    for flag, what in (("--fix", "hold a parameter fixed"), ("--initial", "a starting value")):
        fit_parser.add_argument(
            flag,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help=f"{what}, e.g. R0.R=120 or CPE1.n=0.9 (repeatable)",
        )
    fit_parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    fit_parser.set_defaults(command=_fit_command)

    kk_parser = commands.add_parser(
        "kk",
        help="lin-KK (Kramers-Kronig) check of every spectrum of a file",
        description="Run the lin-KK test (Schoenleber et al. 2014) on every spectrum in FILE.",
    )
    kk_parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    kk_parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    kk_parser.set_defaults(command=_kk_command)
    return parser


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
    circuit = compile_circuit(args.circuit)  # a bad circuit fails before the file is read
    fixed = _assignments(args.fix, "--fix")
    initial = _assignments(args.initial, "--initial")
    spectra = read(args.file)
    results = [
        fit(spectrum, circuit, fixed=fixed, initial=initial, weighting=args.weighting)
        for spectrum in spectra
    ]
    code = 0 if all(result.success for result in results) else 1
    if args.json:
        return _dumps([result.to_dict() for result in results]), code
    if len(results) == 1:
        return results[0].report(), code
    blocks = [
        f"== {args.file}, spectrum {result.spectrum.meta.index} ==\n{result.report()}"
        for result in results
    ]
    return "\n\n".join(blocks), code


def _kk_command(args: argparse.Namespace) -> tuple[str, int]:
    spectra = read(args.file)
    results = [kk_check(spectrum) for spectrum in spectra]
    code = 0 if all(result.valid for result in results) else 1
    if args.json:
        items = [
            {"source": s.meta.source, "index": s.meta.index, **r.to_dict()}
            for s, r in zip(spectra, results, strict=True)
        ]
        return _dumps(items), code
    return "\n".join(result.message for result in results), code
