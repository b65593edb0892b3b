"""``eisfit kk FILE``: the lin-KK check of every spectrum of a file, one line each.

Each spectrum gets a status in the vocabulary of `eisfit.status`: ``ok`` when it is
Kramers-Kronig consistent, ``failed`` when it is not (the data failed the check: drift,
artefacts, non-linearity), ``undetermined`` when its residuals scatter too much for the
check to tell, ``error`` when it cannot be checked (fewer than 5 points, Z = 0).  The
exit code is that of the worst status: 0 all consistent, 1 some not consistent or
undetermined, 2 some not checkable.  Lines name the spectrum by its index in the file
and, where the file has them, its cycle and timestamp.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from typing import Any

from ..errors import EisfitError, FitInputError
from ..io import read
from ..kk.linkk import kk_check
from ..kk.result import KKResult
from ..spectrum import Spectrum
from ..status import exit_code
from .options import add_screening_options, prepared, screening_options

__all__ = ["kk_report", "register", "run", "spectrum_label"]


def spectrum_label(spectrum: Spectrum) -> str:
    """``spectrum 3 (cycle 2, 2024-05-01 12:00:00)``: index in the file, cycle, time."""
    meta = spectrum.meta
    extra = []
    if meta.cycle is not None:
        extra.append(f"cycle {meta.cycle}")
    if meta.timestamp is not None:
        extra.append(meta.timestamp.isoformat(sep=" "))
    return f"spectrum {meta.index}" + (f" ({', '.join(extra)})" if extra else "")


def _status(outcome: KKResult | EisfitError) -> str:
    if isinstance(outcome, EisfitError):
        return "error"
    if outcome.verdict == "undetermined":
        return "undetermined"
    return "ok" if outcome.valid else "failed"


def kk_report(
    path: str,
    rows: Sequence[tuple[Spectrum, KKResult | EisfitError]],
    *,
    as_json: bool = False,
) -> tuple[str, int]:
    """The text (or JSON) of ``eisfit kk`` and its exit code.

    ``rows``: each spectrum of the file ``path`` with its `KKResult`, or the error that
    kept it from being checked.
    """
    code = exit_code(_status(outcome) for _, outcome in rows)
    if as_json:
        items = [_item(spectrum, outcome) for spectrum, outcome in rows]
        text = json.dumps(items[0] if len(items) == 1 else items, indent=2, allow_nan=False)
        return text, code
    if len(rows) == 1:
        spectrum, outcome = rows[0]
        if isinstance(outcome, EisfitError):
            return f"{path}: {spectrum_label(spectrum)}: not checked: {outcome}", code
        return "\n".join([outcome.message, *_screening_lines(spectrum)]), code
    counts = {"ok": 0, "failed": 0, "undetermined": 0, "error": 0}
    for _, outcome in rows:
        counts[_status(outcome)] += 1
    head = (
        f"lin-KK of {path}: {len(rows)} spectra, {counts['ok']} consistent, "
        f"{counts['failed']} not consistent"
        + (f", {counts['undetermined']} undetermined" if counts["undetermined"] else "")
        + (f", {counts['error']} not checked" if counts["error"] else "")
    )
    lines = [head]
    for spectrum, outcome in rows:
        label = spectrum_label(spectrum)
        if isinstance(outcome, EisfitError):
            lines.append(f"{label}: not checked: {outcome}")
        else:
            lines.append(f"{label}: {outcome.summary()}")
        lines.extend(_screening_lines(spectrum))
    return "\n".join(lines), code


def _screening_lines(spectrum: Spectrum) -> list[str]:
    """What data screening found and what was removed, indented under the spectrum."""
    findings = [f"  screening {f.kind}: {f.message}" for f in spectrum.meta.findings or ()]
    return findings + [f"  removed: {r}" for r in spectrum.meta.removed]


def _item(spectrum: Spectrum, outcome: KKResult | EisfitError) -> dict[str, Any]:
    meta = spectrum.meta
    item: dict[str, Any] = {
        "source": meta.source,
        "index": meta.index,
        "cycle": meta.cycle,
        "timestamp": None if meta.timestamp is None else meta.timestamp.isoformat(),
        "label": spectrum_label(spectrum),
        "status": _status(outcome),
    }
    if isinstance(outcome, EisfitError):
        item["message"] = str(outcome)
    else:
        item.update(outcome.to_dict())
    item["findings"] = [
        {"kind": f.kind, "message": f.message} for f in spectrum.meta.findings or ()
    ]
    item["removed"] = list(spectrum.meta.removed)
    return item


def register(commands: Any) -> None:
    """Add the ``kk`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
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
    parser.add_argument(
        "file", metavar="FILE", help="impedance export in any supported format (see eisfit.io)"
    )
    parser.add_argument(
        "--residual-limit",
        type=float,
        metavar="FRACTION",
        help="judge against this fixed limit (fraction of |Z|, e.g. 0.02) instead of the "
        "noise-calibrated one",
    )
    add_screening_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace) -> tuple[str, int]:
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
