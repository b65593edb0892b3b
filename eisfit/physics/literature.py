"""Published magnitudes to put a fitted cell in context.

The table ``literature.csv`` (shipped with the package, read through importlib.resources)
holds only the numbers written in eisfit's physics notes, docs/physics-notes.md sec. 5,
which quotes them from the seed review; every row carries the sentence it comes from
(``quote``) and its ``source``.  Nothing is interpolated or converted: an ASR whose
per-interface convention the source does not state says so in ``condition``.  The notes
give no conductivity at 25 C and no activation energy for a named material, so the table
has none (sec. 6 only gives the typical range 0.1-0.5 eV, which is not a measurement).

One row per value: ``material``, ``cell``, ``quantity`` (``bulk_resistance``,
``interface_resistance``, ``charge_transfer_resistance``, ``resistance``, ``asr``,
``interfacial_asr``, ``interfacial_asr_min`` / ``_max``), ``value`` with ``unit``,
``temperature_c`` and ``time_h`` where stated, ``approximate`` for values written "~".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["LiteratureValue", "asr_context", "literature"]

_FIELDS = (
    "material",
    "cell",
    "quantity",
    "value",
    "unit",
    "temperature_c",
    "time_h",
    "approximate",
    "condition",
    "source",
    "quote",
)


@dataclass(frozen=True)
class LiteratureValue:
    """One published number with where it comes from."""

    material: str
    cell: str
    quantity: str
    value: float
    unit: str
    temperature_c: float | None
    time_h: float | None
    approximate: bool
    condition: str
    source: str
    quote: str

    def describe(self) -> str:
        """``"Na|NZSP|Na interfacial_asr = 1060 ohm cm2 (seed review ...)"``."""
        where = f" at {self.temperature_c:g} C" if self.temperature_c is not None else ""
        when = f" after {self.time_h:g} h" if self.time_h else ""
        tilde = "~" if self.approximate else ""
        return (
            f"{self.cell} {self.quantity} = {tilde}{self.value:g} {self.unit}{where}{when} "
            f"({self.source})"
        )


def _optional(text: str) -> float | None:
    return float(text) if text.strip() else None


def _row(row: dict[str, str]) -> LiteratureValue:
    return LiteratureValue(
        material=row["material"],
        cell=row["cell"],
        quantity=row["quantity"],
        value=float(row["value"]),
        unit=row["unit"],
        temperature_c=_optional(row["temperature_c"]),
        time_h=_optional(row["time_h"]),
        approximate=row["approximate"].strip().lower() == "true",
        condition=row["condition"],
        source=row["source"],
        quote=row["quote"],
    )


@lru_cache(maxsize=1)
def _table() -> tuple[LiteratureValue, ...]:
    text = resources.files("eisfit.physics").joinpath("literature.csv").read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _FIELDS:  # pragma: no cover - packaging guard
        raise RuntimeError(f"literature.csv columns {reader.fieldnames} != {_FIELDS}")
    return tuple(_row(row) for row in reader)


def literature(
    *, material: str | None = None, quantity: str | None = None
) -> tuple[LiteratureValue, ...]:
    """All rows of the table, or those of one ``material`` and/or ``quantity``."""
    return tuple(
        row
        for row in _table()
        if (material is None or row.material == material)
        and (quantity is None or row.quantity == quantity)
    )


def asr_context(asr_ohm_cm2: float) -> str:
    """Where an interfacial ASR (ohm cm2) falls in the published range of the notes."""
    low = literature(quantity="interfacial_asr_min")[0]
    high = literature(quantity="interfacial_asr_max")[0]
    if asr_ohm_cm2 < low.value:
        place = "below"
    elif asr_ohm_cm2 > high.value:
        place = "above"
    else:
        place = "within"
    return (
        f"{asr_ohm_cm2:.3g} ohm cm2 is {place} the published range of interfacial ASRs "
        f"(~{low.value:g} to ~{high.value:g} ohm cm2; {low.source})"
    )
