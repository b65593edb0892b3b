"""Events in a batch results table: short circuits, sudden jumps, arcs appearing or vanishing.

Only usable rows are used (`usable_rows`): ``status`` in `eisfit.status.USABLE` (ok,
warning, undetermined; all rows when there is no status column), a finite ``time_h``, and
not ``partial`` (a truncated sweep, issue 12 item 4: its missing half biases the arcs and
once raised a false "jump" at t = 0; a table without that column has none), ordered by
time.  A NaN in an ``undetermined`` row is a quantity eisfit could not determine: it is
unknown, never evidence (issue 12: "short_circuit ... 0.0 % of the median 1.177e+99
ohm").  A NaN role resistance in an ``ok`` or ``warning`` row means the role is absent
from that fit.  Thresholds (module constants, docs/physics-notes.md sec. 5):

- short circuit: ``R_total_ohm`` below ``SHORT_FRACTION`` (10 %) of the median of the previous
  ``SHORT_WINDOW`` (5) values.  Reported once; a new short can only be reported after the
  resistance has recovered above ``RECOVER_FRACTION`` (50 %) of the pre-short median.  A
  finite total counts whatever the row's status: `eisfit.physics.analyse` leaves
  ``R_total_ohm`` NaN whenever an undetermined part matters to it, while the arcs a
  short makes vanish are absent from the data and do not (the total of a shorted cell
  is the small resistance it shows).
- jump of ``R_soli_ohm`` / ``R_total_ohm``: step d = ln(R[i+1]/R[i]) compared with the median
  of up to 3 neighbouring steps on each side (both sides needed, so the first and last step
  are never called jumps: fast initial growth such as sqrt(t) is not a jump).  The excess over
  that expectation must have a robust z-score (MAD of all excesses, floored at 0.1 % in log)
  above ``JUMP_Z`` (6) and be larger than ``JUMP_MIN_RELATIVE`` (25 %).
- arc appeared / vanished: a role resistance (R_bulk, R_gb, R_soli) is significant when finite
  and above ``ARC_FRACTION`` (2 %) of the median total resistance of the run; a change of that
  state counts when both the old and the new state hold for >= 2 consecutive spectra whose
  state is known (undetermined values are skipped, they neither start nor break a run).

Jumps and vanished arcs at the time of a short circuit are folded into the short's evidence.
Times in the evidence are hours, or spectrum numbers when the table's ``time_source`` is
``file_order`` (`eisfit.trends.timeaxis`).
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import TrendInputError
from ..schema import TOTAL, role_column
from ..status import USABLE
from .timeaxis import TimeAxis, time_axis_of

__all__ = [
    "EVENT_KINDS",
    "Event",
    "detect_events",
    "ok_rows",
    "partial_mask",
    "spikes",
    "usable_rows",
]

EVENT_KINDS = ("short_circuit", "jump", "arc_appeared", "arc_vanished")
SHORT_FRACTION = 0.10
SHORT_WINDOW = 5
RECOVER_FRACTION = 0.5
JUMP_Z = 6.0
JUMP_MIN_RELATIVE = 0.25
JUMP_NEIGHBOURS = 3
ARC_FRACTION = 0.02
ARC_PERSIST = 2
_TOTAL = role_column("resistance", TOTAL)  # R_total_ohm
JUMP_QUANTITIES = (role_column("resistance", "soli"), _TOTAL)
#: the arcs watched for appearing / vanishing (charge transfer is not)
ARC_QUANTITIES = tuple(role_column("resistance", r) for r in ("bulk", "grain_boundary", "soli"))
SPIKE_FACTOR = 3.0
_TRUE = frozenset({"true", "1", "1.0", "yes"})


@dataclass(frozen=True)
class Event:
    """Something that happened to the cell at ``time_h`` (hours, or the spectrum number when
    the run has no timestamps), seen in ``quantity``."""

    kind: str
    time_h: float
    quantity: str
    evidence: str

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "time_h": float(self.time_h),
            "quantity": self.quantity,
            "evidence": self.evidence,
        }


def partial_mask(df: pd.DataFrame) -> np.ndarray:
    """True for rows flagged ``partial`` (truncated sweeps); all False without that column.

    Accepts booleans and their text forms as read back from CSV (True/False, 1/0)."""
    if "partial" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    column = df["partial"]
    if column.dtype == bool:
        return column.to_numpy(dtype=bool)
    return column.map(lambda v: str(v).strip().lower() in _TRUE).to_numpy(dtype=bool)


def usable_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows trends and events may use, sorted by time (stable): ``status`` in `USABLE`
    (ok, warning, undetermined; all rows without a status column), a finite ``time_h``,
    not ``partial``.  Undetermined quantities stay NaN in them."""
    if "time_h" not in df.columns:
        raise TrendInputError("results table has no time_h column")
    rows = df[~partial_mask(df)]
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str).str.strip().str.lower().isin(USABLE)]
    t = pd.to_numeric(rows["time_h"], errors="coerce")
    rows = rows[np.isfinite(t.to_numpy(dtype=float))]
    return (
        rows.assign(time_h=pd.to_numeric(rows["time_h"]))
        .sort_values("time_h", kind="stable")
        .reset_index(drop=True)
    )


#: the former name of `usable_rows` (it used to keep ``status == "ok"`` rows only)
ok_rows = usable_rows


def _undetermined(rows: pd.DataFrame) -> np.ndarray:
    if "status" not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    return rows["status"].astype(str).str.strip().str.lower().eq("undetermined").to_numpy()


def _column(rows: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in rows.columns:
        return None
    return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float)


def _shorts(t: np.ndarray, r: np.ndarray) -> list[tuple[int, float]]:
    """Indices of short-circuit onsets and the reference (pre-short median) resistance."""
    found: list[tuple[int, float]] = []
    history: list[float] = []
    shorted_ref = None
    for i in range(t.size):
        if not math.isfinite(r[i]):
            continue
        if shorted_ref is not None:
            if r[i] > RECOVER_FRACTION * shorted_ref:
                shorted_ref = None
                history = [r[i]]
            continue
        if history:
            # statistics.median: the same number as np.median (the middle value, or the
            # two middle ones' (a + b) / 2), 40x faster on a list of 5 (the trends of
            # 10^5 rows in 100 cells: 26.3 -> 24.4 s, trends.json identical)
            ref = float(statistics.median(history[-SHORT_WINDOW:]))
            if r[i] < SHORT_FRACTION * ref:
                found.append((i, ref))
                shorted_ref = ref
                continue
        history.append(r[i])
    return found


def _window_medians(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """Median of ``values[j - before : j]`` and ``values[j + 1 : j + 1 + after]`` together, for
    every j (windows clipped at the ends; NaN when empty); the same numbers as `np.median` of
    each window (the middle value, or the mean of the two middle values), without a loop."""
    n = values.size
    padded = np.concatenate([np.full(before, np.nan), values, np.full(after, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + 1 + after)[:n]
    s = np.sort(np.delete(windows, before, axis=1), axis=1)  # j left out; NaN sorts last
    count = np.sum(np.isfinite(s), axis=1)
    rows = np.arange(n)
    upper = s[rows, count // 2 - (count == 0)]
    lower = s[rows, np.maximum(count - 1, 0) // 2]
    with np.errstate(invalid="ignore"):
        return np.where(count % 2 == 1, upper, (lower + upper) / 2)


def spikes(values: np.ndarray) -> np.ndarray:
    """Mask of isolated outliers: a positive value off by > SPIKE_FACTOR (3x) from the median of
    up to 3 neighbours on each side, in the same direction on both sides (one side needs >= 2
    neighbours).  A level change (jump, short) differs from one side only, so it is no spike."""
    v = np.asarray(values, dtype=float)
    idx = np.flatnonzero(np.isfinite(v) & (v > 0))
    mask = np.zeros(v.size, dtype=bool)
    if idx.size < 3:  # one side needs >= 2 neighbours
        return mask
    logv = np.log(v[idx])
    j = np.arange(idx.size)
    n_left = np.minimum(j, JUMP_NEIGHBOURS)
    n_right = np.minimum(idx.size - 1 - j, JUMP_NEIGHBOURS)
    left = logv - _window_medians(logv, JUMP_NEIGHBOURS, 0)
    right = logv - _window_medians(logv, 0, JUMP_NEIGHBOURS)
    limit = math.log(SPIKE_FACTOR)
    has_left, has_right = n_left > 0, n_right > 0
    usable = (has_left & has_right) | (n_left >= 2) | (n_right >= 2)
    up = (~has_left | (left > limit)) & (~has_right | (right > limit))
    down = (~has_left | (left < -limit)) & (~has_right | (right < -limit))
    mask[idx[usable & (up | down)]] = True
    return mask


def _jumps(t: np.ndarray, r: np.ndarray) -> list[tuple[int, int, float, float]]:
    """(from index, to index, excess in log, robust z) of the sudden steps of a series."""
    idx = np.flatnonzero(np.isfinite(r) & (r > 0) & ~spikes(r))
    if idx.size < 6:
        return []
    d = np.diff(np.log(r[idx]))
    excess = d - _window_medians(d, JUMP_NEIGHBOURS, JUMP_NEIGHBOURS)
    excess[[0, -1]] = np.nan  # both sides needed: the first and last step are never jumps
    e = excess[np.isfinite(excess)]
    scale = max(1.4826 * float(np.median(np.abs(e - np.median(e)))), 1e-3)
    out = []
    for i in np.flatnonzero(np.isfinite(excess)):
        z = excess[i] / scale
        if abs(z) > JUMP_Z and abs(excess[i]) > math.log1p(JUMP_MIN_RELATIVE):
            out.append((int(idx[i]), int(idx[i + 1]), float(excess[i]), float(z)))
    return out


def _stable_runs(state: np.ndarray) -> list[tuple[bool, int]]:
    """(state, first index) of the runs of equal state lasting >= ARC_PERSIST spectra."""
    runs: list[tuple[bool, int]] = []
    start = 0
    for i in range(1, state.size + 1):
        if i == state.size or state[i] != state[start]:
            if i - start >= ARC_PERSIST:
                runs.append((bool(state[start]), start))
            start = i
    return runs


def _jump_text(
    q: str, t: np.ndarray, v: np.ndarray, step: tuple[int, int, float, float], axis: TimeAxis
) -> str:
    i0, i1, excess, z = step
    return (
        f"{q} changed by a factor {v[i1] / v[i0]:.4g} from {v[i0]:.4g} to {v[i1]:.4g} "
        f"between {axis.at(t[i0])} and {axis.at(t[i1])}; factor {math.exp(excess):.4g} "
        f"beyond the neighbouring steps, robust z = {z:.1f} (thresholds {JUMP_Z:g}, "
        f"{JUMP_MIN_RELATIVE:.0%})"
    )


def _arc_text(
    q: str, v: np.ndarray, where: tuple[float, int, int], new: bool, threshold: float,
    axis: TimeAxis,
) -> str:  # fmt: skip
    time, now, before = where
    change = "became significant" if new else "became negligible or absent"
    was = f"{v[before]:.4g}" if math.isfinite(v[before]) else "absent"
    value = f"{v[now]:.4g} ohm" if math.isfinite(v[now]) else "absent"
    return (
        f"{q} {change} at {axis.at(time)}: {value} (was {was}); "
        f"threshold {threshold:.4g} ohm = {ARC_FRACTION:.0%} of the median total resistance, "
        f"held for >= {ARC_PERSIST} spectra"
    )


def _arc_events(
    t: np.ndarray, roles: dict[str, np.ndarray], undetermined: np.ndarray,
    threshold: float, short_idx: set[int], axis: TimeAxis,
) -> list[Event]:  # fmt: skip
    """Arcs appearing / vanishing; values unknown (NaN in an undetermined row) are skipped."""
    events = []
    for q, v in roles.items():
        known = np.flatnonzero(~(undetermined & ~np.isfinite(v)))
        state = np.isfinite(v[known]) & (np.nan_to_num(v[known], nan=0.0) > threshold)
        for (old, _), (new, start) in itertools.pairwise(_stable_runs(state)):
            now = int(known[start])
            if old == new or (not new and now in short_idx):
                continue
            kind = "arc_appeared" if new else "arc_vanished"
            where = (float(t[now]), now, int(known[start - 1]))
            events.append(Event(kind, float(t[now]), q, _arc_text(q, v, where, new, threshold,
                                                                  axis)))  # fmt: skip
    return events


def _short_text(
    total: float, ref: float, i: int, roles: dict[str, np.ndarray], undetermined: np.ndarray,
    ref_total: float,
) -> str:  # fmt: skip
    text = (
        f"{_TOTAL} fell to {total:.4g} ohm, {total / ref:.1%} of the median "
        f"{ref:.4g} ohm of the previous spectra (threshold {SHORT_FRACTION:.0%})"
    )
    unknown = [q for q, v in roles.items() if undetermined[i] and not math.isfinite(v[i])]
    gone = [
        q
        for q, v in roles.items()
        if q not in unknown and not (math.isfinite(v[i]) and v[i] > ARC_FRACTION * ref_total)
    ]
    if gone:
        text += "; arcs vanished: " + ", ".join(gone)
    if unknown:
        text += "; undetermined: " + ", ".join(unknown)
    return text


def detect_events(df: pd.DataFrame) -> tuple[Event, ...]:
    """Short circuits, jumps and arc (dis)appearances in a results table, ordered by time.

    Uses `usable_rows` only; see the module docstring for the rules and thresholds."""
    axis = time_axis_of(df)
    rows = usable_rows(df)
    t = rows["time_h"].to_numpy(dtype=float)
    undetermined = _undetermined(rows)
    events: list[Event] = []
    short_idx: set[int] = set()
    roles = {
        q: v for q in ARC_QUANTITIES if (v := _column(rows, q)) is not None and np.isfinite(v).any()
    }
    total = _column(rows, _TOTAL)
    if total is not None and np.isfinite(total).any():
        ref_total = float(np.nanmedian(total))
    elif roles:
        ref_total = float(np.nanmedian(np.nansum(np.vstack(list(roles.values())), axis=0)))
    else:
        ref_total = math.nan
    if total is not None:
        for i, ref in _shorts(t, total):
            short_idx.add(i)
            text = _short_text(float(total[i]), ref, i, roles, undetermined, ref_total)
            events.append(Event("short_circuit", float(t[i]), _TOTAL, text))
    for q in JUMP_QUANTITIES:
        v = total if q == _TOTAL else _column(rows, q)
        if v is None:
            continue
        for step in _jumps(t, v):
            if step[1] in short_idx:
                continue
            events.append(Event("jump", float(t[step[1]]), q, _jump_text(q, t, v, step, axis)))
    if math.isfinite(ref_total):
        threshold = ARC_FRACTION * ref_total
        events += _arc_events(t, roles, undetermined, threshold, short_idx, axis)
    order = {k: n for n, k in enumerate(EVENT_KINDS)}
    return tuple(sorted(events, key=lambda e: (e.time_h, order[e.kind], e.quantity)))
