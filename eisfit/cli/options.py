"""Command-line options shared by several ``eisfit`` subcommands (imported by `eisfit.cli.main`
and `eisfit.cli.batch`, so neither imports the other for them).

Data screening (issue 12): ``--f-min HZ`` / ``--f-max HZ`` crop every spectrum before
anything else, ``--drop-flagged-points`` leaves out the points screening flags (outliers,
Z' < 0 beyond the noise, a high-frequency artefact).  Cropping and dropping are recorded
on each spectrum (`eisfit.spectrum.SpectrumMeta.removed`); what screening finds becomes
part of each fit's status (`eisfit.screening.screen`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any

from ..errors import FitInputError, PhysicsError
from ..notation.model import compile_circuit
from ..physics import Cell, NamedModel, get_model

__all__ = [
    "add_bound_option",
    "add_cell_options",
    "add_model_options",
    "add_screening_options",
    "cell_from_args",
    "model_from_args",
    "parse_assignments",
    "parse_bounds",
    "parse_roles",
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
        "can resolve, see eisfit.fitting.bounds); a value ending on a bound is undetermined",
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
    from ..screening.screen import prepare

    return prepare(spectra, **screening_options(args))


def add_cell_options(parser: argparse.ArgumentParser, need: str) -> None:
    group = parser.add_argument_group(f"cell geometry ({need})")
    group.add_argument("--area-cm2", type=float, metavar="A", help="contact (Na foil) area, cm2")
    group.add_argument("--thickness-cm", type=float, metavar="L", help="electrolyte thickness, cm")
    group.add_argument(
        "--not-symmetric",
        action="store_true",
        help="one interface only (default: symmetric Na|SSE|Na, interfacial ASR halved)",
    )


def parse_roles(items: Sequence[str]) -> dict[str, str]:
    """``["R1=bulk"]`` -> ``{"R1": "bulk"}`` (validated by `eisfit.physics.analyse`)."""
    out: dict[str, str] = {}
    for item in items:
        element, sep, role = (part.strip() for part in item.partition("="))
        if not sep or not element or not role:
            raise PhysicsError(f"--role expects ELEMENT=ROLE, got {item!r}")
        out[element] = role
    return out


def model_from_args(args: argparse.Namespace) -> tuple[str | None, NamedModel | None]:
    """The circuit text and the named model (if ``--model``); both checked before reading.
    ``(None, None)`` when neither ``--circuit`` nor ``--model`` is given (``eisfit fit``
    then identifies the circuit, `eisfit.identification`)."""
    if args.model is None:
        if args.circuit is None:
            return None, None
        return compile_circuit(args.circuit).text, None
    model = get_model(args.model, args.models_dir)
    return model.circuit, model


def cell_from_args(args: argparse.Namespace) -> Cell | None:
    """The cell of ``--area-cm2 --thickness-cm``, None without both; one alone is an error."""
    given = {"--area-cm2": args.area_cm2, "--thickness-cm": args.thickness_cm}
    missing = [flag for flag, value in given.items() if value is None]
    if len(missing) == 1:
        raise PhysicsError(f"missing cell geometry {missing[0]} (give both or neither)")
    if missing:
        return None
    return Cell(args.area_cm2, args.thickness_cm, symmetric=not args.not_symmetric)


def add_model_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--circuit`` or ``--model`` (one of them, required unless ``required`` is False),
    ``--models-dir`` and ``--role``."""
    which = parser.add_mutually_exclusive_group(required=required)
    which.add_argument(
        "--circuit",
        help="circuit in impedance.py notation, e.g. L0-R0-p(R1,CPE1)"
        + ("" if required else "; without --circuit or --model it is identified from the data"),
    )
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


def parse_assignments(items: Sequence[str], option: str) -> dict[str, float]:
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
