"""Which spectra a run report draws in full, and which it lists as flagged.

Representatives: ``n_representative`` evenly spaced ok spectra (first and last included):
how the run's spectra look from its start to its end.

Flagged: every row with a reason to look at it (`flags`): at an event, a failed fit, a
lin-KK verdict other than "consistent", undetermined quantities, a rejected warm start,
warnings of its own.  All are listed (`Selection.flagged`: the report's table of flagged
spectra and ``tables/flagged.csv``); up to ``max_flagged`` are drawn in full, chosen so
that the drawn ones show every kind of problem and the whole run: kinds in the order of
`SEVERITY`, one of each kind before a second of any, and within a kind spread over the
run (`spread_order`: its first, its last, then the middles of the gaps left).  Until
issue 15 the first ``max_flagged`` in table order were drawn: at 1,000 spectra with a
lin-KK failure every 20th, the figures covered the first third of the run only.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import common_warnings, warning_set

__all__ = ["SEVERITY", "Selection", "flags", "select_spectra", "spread_order"]

#: kinds of flag, most severe first (a reason's text starts with one of these)
SEVERITY = (
    "at an event",
    "fit failed",
    "Kramers-Kronig",
    "undetermined",
    "warm start rejected",
    "warning",
)
# the columns `flags` reads (a row of a results table, or of an older one)
_FLAG_COLUMNS = ("status", "undetermined", "kk_verdict", "kk_valid", "start_path",
                 "warnings", "time_h")  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """Rows of the table drawn in full and why each was chosen; the flagged ones not
    drawn (how many); every flagged row with its reasons (table order)."""

    rows: tuple[int, ...]
    reasons: Mapping[int, tuple[str, ...]]
    flagged_not_shown: int
    flagged: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def flags(
    row: Mapping[str, Any], event_times: Sequence[float], common: frozenset[str] = frozenset()
) -> list[str]:
    """Why a row deserves a look (empty: it does not); ``common`` warnings (carried by
    most rows, `data.common_warnings`) do not count."""
    reasons = []
    if row.get("status") == "failed":
        reasons.append("fit failed")
    if row.get("status") == "undetermined":
        names = row.get("undetermined")
        names = names if isinstance(names, str) and names else "see reasons"
        reasons.append(f"undetermined: {names}")
    if row.get("status") == "warning":
        reasons.append("warning")
    verdict = row.get("kk_verdict")
    if isinstance(verdict, str) and verdict not in ("consistent", "nan"):
        reasons.append(f"Kramers-Kronig: {verdict}")
    elif row.get("kk_valid") is False or str(row.get("kk_valid")) == "False":
        reasons.append("Kramers-Kronig check failed")
    if row.get("start_path") == "fallback":
        reasons.append("warm start rejected (fallback fit)")
    if warning_set(row.get("warnings")) - common:
        reasons.append("warnings")
    t = row.get("time_h")
    if isinstance(t, float) and any(math.isclose(t, e, rel_tol=1e-9) for e in event_times):
        reasons.append("at an event")
    return reasons


def _kind(reasons: Sequence[str]) -> int:
    """The most severe kind among ``reasons`` (an index into `SEVERITY`)."""
    kinds = [k for r in reasons for k, prefix in enumerate(SEVERITY) if r.startswith(prefix)]
    return min(kinds, default=len(SEVERITY))


def spread_order(n: int) -> list[int]:
    """``0 .. n-1`` in an order whose every prefix is spread over the range: the first,
    the last, then the middles of the gaps left, halving them level by level
    (``5 -> 0 4 2 1 3``)."""
    if n <= 2:
        return list(range(n))
    order, gaps = [0, n - 1], deque([(0, n - 1)])
    while gaps:
        lo, hi = gaps.popleft()
        if hi - lo >= 2:
            mid = (lo + hi) // 2
            order.append(mid)
            gaps.extend(((lo, mid), (mid, hi)))
    return order


def _drawn_flagged(flagged: Mapping[int, Sequence[str]], limit: int) -> list[int]:
    """Up to ``limit`` of the ``flagged`` rows: kinds by severity, one of each kind in
    turn, each kind's rows in `spread_order`."""
    by_kind: dict[int, list[int]] = {}
    for i, reasons in flagged.items():
        by_kind.setdefault(_kind(reasons), []).append(i)
    queues = [deque(rows[j] for j in spread_order(len(rows)))
              for _, rows in sorted(by_kind.items())]  # fmt: skip
    picked: list[int] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.popleft())
    return picked


def select_spectra(
    table: pd.DataFrame,
    events: Sequence[Mapping[str, Any]] = (),
    *,
    n_representative: int = 8,
    max_flagged: int = 24,
) -> Selection:
    """Which rows get a full per-spectrum section (module docstring), and every flagged
    row.  Rows without a fits/ record (unreadable files) are never drawn; they are in the
    "needs attention" list instead."""
    event_times = [float(e["time_h"]) for e in events if isinstance(e.get("time_h"), int | float)]
    has_record = table["fit_file"].notna() if "fit_file" in table else table["status"].ne("error")
    candidates = table.index[has_record & table["status"].ne("error")]
    status = table["status"]
    ok = [i for i in candidates if status.at[i] == "ok"]
    if not ok:  # no clean spectrum: the usable ones with warnings represent the run
        ok = [i for i in candidates if status.at[i] == "warning"]
    reasons: dict[int, list[str]] = {}
    if ok and n_representative > 0:
        picks = np.unique(np.linspace(0, len(ok) - 1, min(n_representative, len(ok))).round())
        for p in picks.astype(int):
            reasons.setdefault(int(ok[p]), []).append("representative")
    common = common_warnings(table)
    columns = [c for c in _FLAG_COLUMNS if c in table.columns]
    rows = table.loc[candidates, columns].to_dict("index")  # one pass, not a Series per row
    flagged = {int(i): tuple(found) for i, row in rows.items()
               if (found := flags(row, event_times, common))}  # fmt: skip
    for i in _drawn_flagged(flagged, max_flagged):
        reasons.setdefault(i, []).extend(flagged[i])
    shown = tuple(sorted(reasons))
    left = max(0, len(flagged) - max_flagged)
    return Selection(shown, {i: tuple(reasons[i]) for i in shown}, left, flagged)
