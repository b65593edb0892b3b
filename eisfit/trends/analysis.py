"""Growth laws of a quantity over time (docs/physics-notes.md sec. 5) and the trend summary
of a batch.

The laws and how each is fitted are in `eisfit.trends.laws`: the null model ``constant``
(R0: no significant change) and the growth laws linear (R0 + k t), parabolic
(R0 + k t^(1/2)), power (R0 + k t^m) and logarithmic (R0 + k ln(1 + t/tau)).

Choice: the criterion is AICc whenever n < 40 k for the largest k (3), i.e. n < 120, else
AIC (Burnham & Anderson, Model Selection and Multimodel Inference, 2nd ed., Springer 2002,
sec. 2.4, p. 66: use AICc unless n/k > ~40); :attr:`TrendResult.criterion` says which.  A
growth law **beats** the constant law when its criterion is lower by at least
`BEAT_MARGIN` (2): models within 2 of the best still have substantial support (Burnham &
Anderson 2002, sec. 2.6, p. 70), and a model within 2 of a simpler one that differs by
added parameters is "not really supported" (p. 131).  When no growth law beats it, the
chosen law is ``constant`` and the message says "no significant change"; otherwise the
growth law with the lowest criterion is chosen.  For a straight line this is roughly a
t-test of the slope at 5 % (|k / stderr(k)| > 2); a flat series with a slope of
-0.004 +- 0.0045 (issue 12) comes out constant.

The quantities are `eisfit.schema.TREND_QUANTITIES` (the columns marked ``trend``: role
resistances, the total, the SOLI's ASR and capacitance).  Time is ``time_h``: hours since
the first spectrum, or the spectrum number when the run has no timestamps (``time_source``
``file_order``, `eisfit.trends.timeaxis`); units and messages say which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import TrendInputError
from ..schema import TREND_QUANTITIES, stderr_of
from .columns import TABLE_COLUMNS
from .events import Event, detect_events, ok_rows, partial_mask, spikes, usable_rows
from .laws import (
    GROWTH_LAWS,
    LAWS,
    NULL_LAW,
    GrowthFit,
    evaluate_law,
    fit_law,
    parameter_units,
)
from .timeaxis import FILE_ORDER, TIMESTAMP, TimeAxis, time_axis_of

__all__ = [
    "BEAT_MARGIN",
    "GROWTH_LAWS",
    "LAWS",
    "NULL_LAW",
    "TABLE_COLUMNS",
    "TREND_QUANTITIES",
    "Event",
    "GrowthFit",
    "TrendResult",
    "analyse_trends",
    "detect_events",
    "evaluate_law",
    "fit_growth",
    "ok_rows",
    "usable_rows",
]

MIN_POINTS = 4
#: a growth law must lower the criterion by at least this much to beat the constant law
BEAT_MARGIN = 2.0
_AICC_RATIO = 40  # use AICc while n < 40 * (largest number of law parameters)


@dataclass(frozen=True)
class TrendResult:
    """All law fits of one quantity and the law chosen (None if no choice): ``constant``
    unless a growth law beats it by `BEAT_MARGIN` in the criterion."""

    quantity: str
    fits: tuple[GrowthFit, ...]
    best: str | None
    message: str
    criterion: str = "AICc"
    weighted: bool = False
    time_axis: TimeAxis = field(default_factory=TimeAxis)

    def fit_of(self, law: str) -> GrowthFit | None:
        return next((f for f in self.fits if f.law == law), None)

    @property
    def significant_change(self) -> bool | None:
        """True when a growth law was chosen, False for ``constant``, None without a choice."""
        return None if self.best is None else self.best != NULL_LAW

    def to_dict(self) -> dict:
        chosen = self.fit_of(self.best) if self.best else None
        return {
            "quantity": self.quantity,
            "best": self.best,
            "significant_change": self.significant_change,
            "criterion": self.criterion,
            "weighted": self.weighted,
            "time_axis": self.time_axis.to_dict(),
            "message": self.message,
            "chosen": chosen.to_dict() if chosen else None,
            "fits": [f.to_dict() for f in self.fits],
        }


def _choose(fits: Sequence[GrowthFit], criterion: str) -> tuple[str | None, list[str]]:
    """The chosen law and the sentences that explain the choice (module docstring)."""
    key = "aicc" if criterion == "AICc" else "aic"

    def score(f: GrowthFit) -> float:
        return float(getattr(f, key))

    usable = [f for f in fits if f.success and math.isfinite(score(f))]
    null = next((f for f in usable if f.law == NULL_LAW), None)
    growth = sorted((f for f in usable if f.law != NULL_LAW), key=score)
    if not usable:
        return None, ["no choice: no law converged"]
    if null is None:
        notes = [f"the constant law did not fit; {growth[0].law} has the lowest {criterion}"]
        return growth[0].law, notes
    if not growth or score(null) - score(growth[0]) < BEAT_MARGIN:
        if not growth:
            return NULL_LAW, ["no significant change: no growth law converged"]
        diff = score(growth[0]) - score(null)
        return NULL_LAW, [
            f"no significant change: no growth law lowers {criterion} by >= {BEAT_MARGIN:g} "
            f"below the constant law (best growth law {growth[0].law}: {diff:+.2f})"
        ]
    best = growth[0]
    notes = [f"{best.law} chosen by {criterion}, {score(null) - score(best):.2f} below the "
             "constant law (no change)"]  # fmt: skip
    if len(growth) > 1:
        gap = score(growth[1]) - score(best)
        notes[0] += f"; next best {growth[1].law} by {gap:.2f}"
        if gap < 2:
            notes.append(f"{criterion} difference < 2: the growth laws are not clearly "
                         "distinguished")  # fmt: skip
    return best.law, notes


def fit_growth(
    time_h: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    stderr: Sequence[float] | np.ndarray | None = None,
    quantity: str | None = None,
    time_source: str | None = None,
) -> TrendResult:
    """Fit the constant law and every growth law to ``values(time_h)`` and choose (module
    docstring: a growth law must beat the constant law by 2 in AICc / AIC); never raises on
    data.

    Points with a non-finite time or value, or a negative time, are skipped.  ``stderr`` weights
    the fit; non-finite or non-positive stderr are replaced by the largest valid one, and when
    fewer than half are valid the fit is unweighted.  Fewer than 4 points: no fits, no choice.
    ``time_source`` (``"timestamp"``, the default, or ``"file_order"``) says whether
    ``time_h`` is hours or a spectrum number; units and messages follow it.
    """
    if time_source not in (None, TIMESTAMP, FILE_ORDER):
        raise TrendInputError(
            f"time_source {time_source!r}: expected {TIMESTAMP!r} (hours) or {FILE_ORDER!r}"
        )
    axis = TimeAxis(time_source or TIMESTAMP)
    t = np.asarray(time_h, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    qname = quantity or "value"
    if t.shape != y.shape:
        raise TrendInputError(f"time_h has {t.size} points, values {y.size}")
    keep = np.isfinite(t) & np.isfinite(y) & (t >= 0)
    notes = [] if keep.all() else [f"skipped {int(np.sum(~keep))} non-finite/negative-time points"]
    s = None
    if stderr is not None:
        s_all = np.asarray(stderr, dtype=float).ravel()
        if s_all.shape != t.shape:
            raise TrendInputError(f"stderr has {s_all.size} points, values {y.size}")
        s = s_all[keep]
        valid = np.isfinite(s) & (s > 0)
        if valid.sum() < max(1, 0.5 * s.size):
            notes.append("unweighted: fewer than half the points have a usable stderr")
            s = None
        elif not valid.all():
            notes.append(f"{int(np.sum(~valid))} missing stderr replaced by the largest valid one")
            s = np.where(valid, s, np.max(s[valid]))
    t, y = t[keep], y[keep]
    n = t.size
    criterion = "AICc" if n < _AICC_RATIO * 3 else "AIC"
    if n < MIN_POINTS:
        notes.append(f"no choice: {n} usable points, at least {MIN_POINTS} needed")
        return TrendResult(qname, (), None, "; ".join(notes), criterion, s is not None, axis)
    if np.ptp(t) <= 0:
        notes.append("no choice: all points at the same time")
        return TrendResult(qname, (), None, "; ".join(notes), criterion, s is not None, axis)
    with np.errstate(all="ignore"):  # absurd values (bad spectrum fits) end as messages
        fits = tuple(
            replace(fit_law(law, t, y, s, axis), units=parameter_units(law, quantity, axis))
            for law in LAWS
        )
    best, choice = _choose(fits, criterion)
    notes += choice
    return TrendResult(qname, fits, best, "; ".join(notes), criterion, s is not None, axis)


def _excluded(df: pd.DataFrame, used: int) -> dict[str, int]:
    """How many rows of the table the trends left out, and why."""
    partial = int(partial_mask(df).sum())
    return {"rows": len(df), "used": used, "partial": partial,
            "unusable_or_no_time": len(df) - partial - used}  # fmt: skip


def analyse_trends(df: pd.DataFrame) -> dict:
    """JSON-ready trends of a batch results table: law fits per quantity and events.

    Uses `usable_rows` (status ok, warning or undetermined; all rows when there is no status
    column; finite ``time_h``; not ``partial``), and only those before the first short
    circuit (growth laws do not hold across it).  In undetermined rows the undetermined
    quantities are NaN and so left out.  Isolated spikes (`eisfit.trends.events.spikes`: > 3x off
    both neighbourhoods, usually a bad fit) are left out and listed.  A quantity is fitted
    when its column exists and has >= 4 finite values, weighted by ``<quantity>_stderr``
    when that column exists.  ``time_h`` is read as hours or spectrum numbers from the
    table's ``time_source`` (`eisfit.trends.timeaxis.time_axis_of`).  Returns ``{"trends":
    {quantity: ...}, "skipped": {quantity: reason}, "events": [...], "time_axis": {...},
    "rows": {...}}``.

    A table of several cells (its ``cell`` column) is analysed cell by cell: different
    cells are different samples, so a law or a jump across them would mean nothing.  Then
    ``"trends"`` and ``"skipped"`` are empty, ``"cells"`` maps each cell to its own
    ``{"trends", "skipped", "rows"}``, every event carries its ``"cell"``, and
    ``"message"`` says so.
    """
    cells = list(dict.fromkeys(df["cell"].dropna())) if "cell" in df.columns else []
    if len(cells) <= 1:
        return _analyse_cell(df)
    axis = time_axis_of(df)
    per_cell = {str(c): _analyse_cell(df[df["cell"] == c]) for c in cells}
    events = [{**e, "cell": c} for c, one in per_cell.items() for e in one["events"]]
    events.sort(key=lambda e: (e["time_h"], e["cell"]))
    return {
        "trends": {},
        "skipped": {},
        "events": events,
        "time_axis": axis.to_dict(),
        "rows": _excluded(df, len(usable_rows(df))),
        "cells": {
            c: {k: one[k] for k in ("trends", "skipped", "rows")} for c, one in per_cell.items()
        },
        "message": f"{len(cells)} cells: growth laws and events are found cell by cell "
        "(trends.json 'cells'; each event names its cell)",
    }


def _analyse_cell(df: pd.DataFrame) -> dict:
    """`analyse_trends` of the rows of one cell (or of a table without cells)."""
    axis = time_axis_of(df)
    events = detect_events(df)
    rows = usable_rows(df)
    counts = _excluded(df, len(rows))
    shorts = [e.time_h for e in events if e.kind == "short_circuit"]
    pre = []
    if shorts:
        rows = rows[rows["time_h"] < shorts[0]]
        pre.append(f"only rows before the short circuit at {axis.at(shorts[0])}")
    t = rows["time_h"].to_numpy(dtype=float)
    trends: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for q in TREND_QUANTITIES:
        if q not in rows.columns:
            skipped[q] = "column absent"
            continue
        y = pd.to_numeric(rows[q], errors="coerce").to_numpy(dtype=float)
        spiked = spikes(y)
        y = np.where(spiked, np.nan, y)
        finite = int(np.sum(np.isfinite(y)))
        if finite < MIN_POINTS:
            skipped[q] = f"{finite} usable values, at least {MIN_POINTS} needed"
            continue
        se_col = stderr_of(q)
        se = None
        if se_col in rows.columns:
            se = pd.to_numeric(rows[se_col], errors="coerce").to_numpy(dtype=float)
        out = fit_growth(t, y, stderr=se, quantity=q, time_source=axis.source).to_dict()
        notes = [*pre, f"{int(spiked.sum())} isolated spikes left out"] if spiked.any() else pre
        out["message"] = "; ".join([*notes, out["message"]])
        out["excluded_spikes_h"] = [float(x) for x in t[spiked]]
        trends[q] = out
    return {
        "trends": trends,
        "skipped": skipped,
        "events": [e.to_dict() for e in events],
        "time_axis": axis.to_dict(),
        "rows": counts,
    }
