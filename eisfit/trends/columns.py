"""The columns of a results table that the trend analysis reads (`analysis.analyse_trends`).

A batch keeps only these in memory for the trends (`eisfit.runs.batch`, issue 15): the
analysis of these columns alone is that of the whole table (``tests/test_streaming.py``).
Kept apart from `analysis`, which imports scipy, so that a batch whose trends are up to
date does not pay for that import.
"""

from __future__ import annotations

from ..schema import TOTAL, TREND_QUANTITIES, role_column, stderr_of
from .events import ARC_QUANTITIES, JUMP_QUANTITIES

__all__ = ["TABLE_COLUMNS"]

#: every column `analysis.analyse_trends` reads: cells, time, status, partial sweeps, the
#: trend quantities with their standard errors, and those the events watch
TABLE_COLUMNS = tuple(dict.fromkeys([
    "cell", "time_h", "time_source", "status", "partial",
    *TREND_QUANTITIES, *(stderr_of(q) for q in TREND_QUANTITIES),
    *JUMP_QUANTITIES, *ARC_QUANTITIES, role_column("resistance", TOTAL),
]))  # fmt: skip
