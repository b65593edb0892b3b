"""Command-line options shared by several ``eisfit`` subcommands (imported by `eisfit.cli`
and `eisfit.cli_batch`, so neither imports the other for them).

Data screening (issue 12): ``--f-min HZ`` / ``--f-max HZ`` crop every spectrum before
anything else, ``--drop-flagged-points`` leaves out the points screening flags (outliers,
Z' < 0 beyond the noise, a high-frequency artefact).  Cropping and dropping are recorded
on each spectrum (`eisfit.spectrum.SpectrumMeta.removed`); what screening finds becomes
part of each fit's status (`eisfit.screening`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from .errors import FitInputError

__all__ = [
    "add_bound_option",
    "add_screening_options",
    "parse_bounds",
    "prepared",
    "screening_options",
]


def add_bound_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bound",
        action="append",
        default=[],
        metavar="NAME=LOW,HIGH",
        help="bounds of a parameter, e.g. R2.R=0,1e9, replacing the defaults (what the band "
        "can resolve, see eisfit.bounds); a value ending on a bound is undetermined",
    )


def parse_bounds(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["R2.R=0,1e9"]`` -> ``{"R2.R": (0.0, 1e9)}``; values through float(), never eval."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        name, sep, text = (part.strip() for part in item.partition("="))
        low, comma, high = text.partition(",")
        try:
            pair = (float(low), float(high))
        except ValueError:
            pair = None
        if not sep or not name or not comma or pair is None:
            raise FitInputError(f"--bound expects NAME=LOW,HIGH (numbers), got {item!r}")
        out[name] = pair
    return out


def add_screening_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data screening (before fitting)")
    group.add_argument(
        "--f-min", type=float, metavar="HZ", default=None,
        help="leave out points below this frequency (recorded as removed)",
    )  # fmt: skip
    group.add_argument(
        "--f-max", type=float, metavar="HZ", default=None,
        help="leave out points above this frequency, e.g. a high-frequency artefact",
    )  # fmt: skip
    group.add_argument(
        "--drop-flagged-points", action="store_true", default=None,
        help="leave out the points screening flags (outliers, Z' < 0 beyond the noise, a "
        "high-frequency artefact); off by default: flagged data make a fit 'warning'",
    )  # fmt: skip


def screening_options(args: argparse.Namespace) -> dict[str, Any]:
    """``f_min_hz``, ``f_max_hz``, ``drop_flagged`` from parsed options, checked."""
    f_min, f_max = getattr(args, "f_min", None), getattr(args, "f_max", None)
    for flag, value in (("--f-min", f_min), ("--f-max", f_max)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise FitInputError(f"{flag} must be a frequency > 0 Hz, got {value}")
    if f_min is not None and f_max is not None and not f_min < f_max:
        raise FitInputError(f"--f-min {f_min:g} must be below --f-max {f_max:g}")
    return {
        "f_min_hz": f_min,
        "f_max_hz": f_max,
        "drop_flagged": bool(getattr(args, "drop_flagged_points", False)),
    }


def prepared(spectra: Sequence[Any], args: argparse.Namespace) -> list[Any]:
    """The spectra of one file cropped, screened together and (if asked) thinned."""
    from .screening import prepare

    return prepare(spectra, **screening_options(args))
