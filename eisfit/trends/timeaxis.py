"""What the ``time_h`` column of a results table measures, and how to say it.

`eisfit.runs.batch` sets ``time_source`` on every row: ``"timestamp"`` when every spectrum has a
timestamp (``time_h`` is hours since the first spectrum), ``"file_order"`` otherwise
(``time_h`` is the spectrum's position in its cell: a spectrum number, not hours).  Trends,
events and the report word every label, unit and message through `TimeAxis`, so a run
without timestamps never claims hours (issue 12, item 9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..schema import unit

__all__ = ["FILE_ORDER", "TIMESTAMP", "TimeAxis", "quantity_unit", "time_axis_of"]

TIMESTAMP = "timestamp"
FILE_ORDER = "file_order"

def quantity_unit(quantity: str | None) -> str:
    """The unit of a results.csv column (``R_soli_ohm`` -> ``ohm``; `eisfit.schema.unit`, which
    reads the unit of a name it does not know from its ending); ``unit`` when there is none."""
    return unit(quantity) or "unit"


@dataclass(frozen=True)
class TimeAxis:
    """The meaning of ``time_h``: hours (``timestamp``) or a spectrum number (``file_order``)."""

    source: str = TIMESTAMP

    @property
    def hours(self) -> bool:
        return self.source == TIMESTAMP

    @property
    def label(self) -> str:
        """Axis label / table header for the time column."""
        return "time / h" if self.hours else "spectrum number"

    @property
    def unit(self) -> str:
        """The unit of time values: ``h`` or ``spectrum number``."""
        return "h" if self.hours else "spectrum number"

    def at(self, value: float) -> str:
        """A point on the axis in prose: ``t = 12 h`` or ``spectrum number 12``."""
        number = f"{value:.4g}" if math.isfinite(value) else "?"
        return f"t = {number} h" if self.hours else f"spectrum number {number}"

    def span(self, value: float) -> str:
        """A duration: ``12 h`` or ``12 spectrum numbers``."""
        return f"{value:.3g} h" if self.hours else f"{value:.3g} spectrum numbers"

    def per(self, unit: str, power: str = "") -> str:
        """``unit`` per time (``ohm/h``, ``ohm/h^0.5``; ``ohm per spectrum number^m``)."""
        return f"{unit}/h{power}" if self.hours else f"{unit} per spectrum number{power}"

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "label": self.label, "unit": self.unit}


def time_axis_of(table: pd.DataFrame) -> TimeAxis:
    """The time axis of a results table: hours only when every non-empty ``time_source`` is
    ``timestamp`` (a table without that column, e.g. one built by hand, is taken as hours)."""
    if "time_source" not in table.columns:
        return TimeAxis(TIMESTAMP)
    sources = {str(s) for s in table["time_source"].dropna()}
    return TimeAxis(TIMESTAMP if sources <= {TIMESTAMP} else FILE_ORDER)
