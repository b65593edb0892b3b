"""Command-line interface: ``eisfit fit``, ``kk``, ``arrhenius``, ``models``, ``batch``,
``report`` (also ``python -m eisfit``), one module per subcommand (`fit`, `kk`, ...), each
with ``register(commands)`` adding its parser and ``run(args)`` doing the work.

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
import sys

from .._version import __version__
from ..errors import EisfitError
from . import arrhenius, batch, drt, fit, kk, models, report

__all__ = ["build_parser", "entry", "main"]

def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    When stdout's reader goes away (``eisfit fit FILE | head -1``) the output ends quietly
    with exit code 141, 128 + SIGPIPE (`eisfit.cli.output`); Ctrl-C or SIGTERM ends any
    command with exit code 130 and one line (``batch`` first saves what it finished).
    """
    from ..runs.interrupts import terminate_as_interrupt
    from .output import EXIT_BROKEN_PIPE, emit

    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    """The ``eisfit`` argument parser, every subcommand registered (also read by the docs'
    CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="eisfit",
        description="Impedance spectroscopy of symmetric Na | solid electrolyte | Na cells.",
        epilog="Exit codes: 0 ok or warning; 1 a fit undetermined or failed, or a spectrum "
        "not Kramers-Kronig consistent (results printed all the same); 2 bad input; 141 "
        "output pipe closed.",
    )
    parser.add_argument("--version", action="version", version=f"eisfit {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    for command in (fit, kk, drt, arrhenius, models, batch, report):
        command.register(commands)
    return parser
