"""``eisfit drt FILE``: the distribution of relaxation times of each spectrum of a file.

Text output per spectrum: status, R_inf, L, lambda and how it was chosen, and the peak
table (tau, f, R, width, share); ``--json`` prints `DRTResult.to_dict` (strict JSON, one
object for one spectrum, a list for several); ``--plot PNG`` draws gamma against tau
(log axis) beside the data and the DRT's reconstruction on a Nyquist panel (one spectrum:
the first, or the one chosen with ``--spectrum``).  Exit codes as the other commands
(`eisfit.status`): 0 every DRT ok, 1 some undetermined (no relaxation above the noise),
2 bad input (unreadable file, too few points: ``eisfit: error: FILE: ...``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import DRTError, OutputError, ReadError
from ..io import read
from ..relaxation import DRTResult, drt
from ..spectrum import Spectrum
from ..status import exit_code
from .kk import spectrum_label

__all__ = ["drt_figure", "register", "run"]


def register(commands: Any) -> None:
    """Add the ``drt`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "drt",
        help="distribution of relaxation times of every spectrum of a file",
        description="Compute the distribution of relaxation times (DRT) of each spectrum in "
        "FILE: Tikhonov-regularised Gaussian basis on a log-tau grid reaching a decade "
        "beyond the band, non-negative, R_inf and a series inductance where the data show "
        "one, lambda by the discrepancy principle (eisfit.drt).  Prints R_inf, L, lambda and "
        "the peaks: time constant, frequency, resistance (peak area), width and share of "
        "the polarisation resistance.",
        epilog="exit status (eisfit.status): 0 every DRT ok; 1 some spectrum shows no "
        "relaxation above the noise (undetermined); 2 bad input (unreadable file, too few "
        "points).",
    )
    parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    parser.add_argument(
        "--spectrum", type=int, metavar="N", default=None,
        help="only spectrum N of the file (its index, counted from 0)",
    )  # fmt: skip
    parser.add_argument(
        "--plot", metavar="PNG",
        help="write a PNG: gamma against tau and the Nyquist plot with the reconstruction "
        "(of the first spectrum, or of --spectrum N)",
    )  # fmt: skip
    parser.add_argument(
        "--series-c", choices=("auto", "yes", "no"), default="no",
        help="fit a series capacitance: 'auto' when gamma is otherwise largest beyond the slow "
        "end of the band (a blocking electrode's capacitive spike), 'yes', or 'no' (default)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(command=run)


def _chosen(spectra: list[Spectrum], number: int | None, path: str) -> list[Spectrum]:
    if number is None:
        return spectra
    found = [s for s in spectra if s.meta.index == number]
    if not found:
        numbers = [s.meta.index for s in spectra]
        have = f"{min(numbers)} to {max(numbers)}" if numbers else "none"
        raise ReadError(path, f"--spectrum {number}: no such spectrum (the file has {have})")
    return found


def run(args: argparse.Namespace) -> tuple[str, int]:
    path = args.file
    if args.plot is not None and Path(args.plot).suffix.lower() != ".png":
        raise OutputError(f"--plot {args.plot}: the plot is a PNG file (name it *.png)")
    spectra = _chosen(list(read(path)), args.spectrum, path)
    capacitance = {"auto": "auto", "yes": True, "no": False}[args.series_c]
    results: list[tuple[Spectrum, DRTResult]] = []
    for spectrum in spectra:
        try:
            results.append((spectrum, drt(spectrum, capacitance=capacitance)))
        except DRTError as exc:
            raise DRTError(f"{path}: {spectrum_label(spectrum)}: {exc.reason}") from None
    if args.plot is not None:
        _write_png(Path(args.plot), *results[0])
    code = exit_code(result.status for _, result in results)
    if args.json:
        items = [{"label": spectrum_label(s), "index": s.meta.index, **r.to_dict()}
                 for s, r in results]  # fmt: skip
        return json.dumps(items[0] if len(items) == 1 else items, indent=2, allow_nan=False), code
    blocks = [result.report(title=f"{path}: {spectrum_label(spectrum)}: DRT")
              for spectrum, result in results]  # fmt: skip
    return "\n".join(blocks), code


def _write_png(path: Path, spectrum: Spectrum, result: DRTResult) -> None:
    figure = drt_figure(spectrum, result)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=150)
    except OSError as exc:
        raise OutputError(f"--plot {path}: cannot write: {exc.strerror or exc}") from None


def drt_figure(spectrum: Spectrum, result: DRTResult) -> Any:
    """Two panels: the report's DRT panel (`eisfit.report.drt_panel`: gamma against tau,
    peaks, the band, scaled to it) and Nyquist with the data and the DRT's
    reconstruction.  Only numbers go into the figure (no text from the file)."""
    import matplotlib as mpl
    import numpy as np

    from ..report.drt_panel import SpectrumDRT, drt_panel
    from ..report.figures import DATA, FIT, STYLE, blank_figure

    note = "" if result.status == "ok" else f"{result.status}: {result.message}"
    with mpl.rc_context(STYLE):
        figure = blank_figure(8.0, 3.6)
        left, right = figure.subplots(1, 2)
        drt_panel(left, spectrum, SpectrumDRT(result, note, len(spectrum), len(spectrum)))
        f = spectrum.frequency_hz
        z = spectrum.impedance_ohm
        order = np.argsort(f)[::-1]
        right.plot(z.real, -z.imag, "o", color=DATA, mfc="none", label="data")
        right.plot(result.z_fit_ohm.real[order], -result.z_fit_ohm.imag[order], "-",
                   color=FIT, label="DRT")  # fmt: skip
        right.set_aspect("equal", adjustable="datalim")
        right.set_xlabel("Z′ / Ω")
        right.set_ylabel("−Z″ / Ω")
        right.set_title("Nyquist")
        right.legend(loc="best")
    return figure
