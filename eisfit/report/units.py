"""How the report writes units and numbers: one convention, SI prefixes per axis.

eisfit keeps units in ASCII where they are data (``ohm``, ``ohm cm2``, ``S/cm``, ``S s^n``
in results.csv, the fits/ records, trends.json and on the command line).  The report, HTML
and PDF alike, writes them with their symbols (`eisfit.schema.UNIT_SYMBOLS`: Ω, Ω cm²,
S cm⁻¹), and `display_unit` / `display_text` are the only places that translate, so the
page never mixes "ohm" and "Ω".

An axis whose values span a few orders of magnitude away from 1 (a conductivity of 9e-4
S cm⁻¹, a capacitance of 4.7e-6 F) gets an SI prefix picked from its data (`si_prefix`:
the largest magnitude falls in [1, 1000), BIPM, The International System of Units, 9th
ed. 2019, sec. 3, table 7) and the axis label carries it (σ / mS cm⁻¹, C / µF), instead
of matplotlib's offset label (``1e-4`` above the axis), which readers miss.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ..schema import UNIT_SYMBOLS, column

__all__ = [
    "axis_label",
    "display_text",
    "display_unit",
    "prefixed",
    "si_prefix",
]

#: SI prefixes by power of ten (BIPM SI brochure, 9th ed., table 7); µ is the micro sign
_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G",
             12: "T"}  # fmt: skip

# ASCII unit pieces -> symbols, applied in order (longest first)
_UNIT_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\bS/cm\b", UNIT_SYMBOLS["S/cm"]),
        (r"\bohm\b", UNIT_SYMBOLS["ohm"]),
        (r"\bcm2\b", "cm²"),
        (r"\^\(n-1\)", "ⁿ⁻¹"),
        (r"\^n\b", "ⁿ"),
        (r"\^-1/2\b", "^-½"),
        (r"\^0\.5\b", "^½"),
    )
)


def display_unit(unit: str | None) -> str:
    """An ASCII unit as the report writes it: ``ohm cm2`` -> ``Ω cm²``, ``S s^n`` ->
    ``S sⁿ``, ``ohm/h^0.5`` -> ``Ω/h^½``; ``1`` (dimensionless) -> ``""``.  Only symbols
    the PDF's text can spell (`eisfit.report.pdf`) are used: no √."""
    if not unit or unit == "1":
        return ""
    if unit in UNIT_SYMBOLS:
        return UNIT_SYMBOLS[unit]
    out = unit
    for pattern, replacement in _UNIT_RULES:
        out = pattern.sub(replacement, out)
    return out


# units after a number in free text (fit reasons, warnings): "0.917 ohm", "1 cm2"
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"(?<=\d) ohm cm2\b", " Ω cm²"),
        (r"(?<=\d) ohm\b", " Ω"),
        (r"(?<=\d) S s\^n\b", " S sⁿ"),
        (r"(?<=\d) F/cm2\b", " F/cm²"),
        (r"(?<=\d) cm2\b", " cm²"),
        (r"(?<=\d) S/cm\b", " S cm⁻¹"),
        (r" \+/- ", " ± "),
    )
)


def display_text(text: str) -> str:
    """Free text written by the fit or the physics (ASCII units after numbers) in the
    report's convention: ``the value 0.917 ohm`` -> ``the value 0.917 Ω``.  Only a unit
    that follows a number is touched, so words and file names stay as they are."""
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def si_prefix(values: Iterable[float]) -> tuple[str, float]:
    """(prefix, factor) for an axis showing ``values``: divide by ``factor`` and write
    ``prefix`` before the unit.  The largest finite magnitude lands in [1, 1000); ("", 1.0)
    without a finite non-zero value (BIPM SI brochure, 9th ed., table 7)."""
    largest = max((abs(v) for v in values if math.isfinite(v) and v != 0), default=0.0)
    if largest == 0.0:
        return "", 1.0
    power = 3 * math.floor(math.log10(largest) / 3 + 1e-9)
    power = min(max(power, min(_PREFIXES)), max(_PREFIXES))
    return _PREFIXES[power], 10.0**power


def prefixed(prefix: str, unit_symbol: str) -> str:
    """``prefix`` joined to the first unit of ``unit_symbol``: (m, S cm⁻¹) -> mS cm⁻¹,
    (k, Ω cm²) -> kΩ cm²."""
    return f"{prefix}{unit_symbol}"


def axis_label(name: str, prefix: str = "") -> str:
    """Axis label of a results.csv column with its (prefixed) unit: ``σ_bulk / mS cm⁻¹``;
    a name the table does not have is returned as it is (`eisfit.schema.label`)."""
    try:
        c = column(name)
    except KeyError:
        return name
    if not c.unit:
        return c.label
    return f"{c.label} / {prefixed(prefix, display_unit(c.unit))}"
