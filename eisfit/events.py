"""Events in a batch results table: short circuits, sudden jumps, arcs appearing or vanishing.

Only rows with ``status == "ok"`` (all rows when there is no status column) and a finite
``time_h`` are used, ordered by time.  Thresholds (module constants, domain notes sec. 5):

- short circuit: ``R_total_ohm`` below ``SHORT_FRACTION`` (10 %) of the median of the previous
  ``SHORT_WINDOW`` (5) values.  Reported once; a new short can only be reported after the
  resistance has recovered above ``RECOVER_FRACTION`` (50 %) of the pre-short median.
- jump of ``R_soli_ohm`` / ``R_total_ohm``: step d = ln(R[i+1]/R[i]) compared with the median
  of up to 3 neighbouring steps on each side (both sides needed, so the first and last step
  are never called jumps: fast initial growth such as sqrt(t) is not a jump).  The excess over
  that expectation must have a robust z-score (MAD of all excesses, floored at 0.1 % in log)
  above ``JUMP_Z`` (6) and be larger than ``JUMP_MIN_RELATIVE`` (25 %).
- arc appeared / vanished: a role resistance (R_bulk, R_gb, R_soli) is significant when finite
  and above ``ARC_FRACTION`` (2 %) of the median total resistance of the run; a change of that
  state counts when both the old and the new state hold for >= 2 consecutive spectra.
Jumps and vanished arcs at the time of a short circuit are folded into the short's evidence.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EVENT_KINDS", "Event", "detect_events", "ok_rows", "spikes"]

EVENT_KINDS = ("short_circuit", "jump", "arc_appeared", "arc_vanished")
SHORT_FRACTION = 0.10
SHORT_WINDOW = 5
RECOVER_FRACTION = 0.5
JUMP_Z = 6.0
JUMP_MIN_RELATIVE = 0.25
JUMP_NEIGHBOURS = 3
ARC_FRACTION = 0.02
ARC_PERSIST = 2
JUMP_QUANTITIES = ("R_soli_ohm", "R_total_ohm")
ARC_QUANTITIES = ("R_bulk_ohm", "R_gb_ohm", "R_soli_ohm")
SPIKE_FACTOR = 3.0


@dataclass(frozen=True)
class Event:
    """Something that happened to the cell at ``time_h`` (hours), seen in ``quantity``."""

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


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with status ok and a finite time, sorted by time (stable)."""
    if "time_h" not in df.columns:
        raise ValueError("results table has no time_h column")
    rows = df
    if "status" in df.columns:
        rows = rows[rows["status"].astype(str).str.lower() == "ok"]
    t = pd.to_numeric(rows["time_h"], errors="coerce")
    rows = rows[np.isfinite(t.to_numpy(dtype=float))]
    return (
        rows.assign(time_h=pd.to_numeric(rows["time_h"]))
        .sort_values("time_h", kind="stable")
        .reset_index(drop=True)
    )


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
            ref = float(np.median(history[-SHORT_WINDOW:]))
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
    q: str, t: np.ndarray, v: np.ndarray, i0: int, i1: int, excess: float, z: float
) -> str:
    return (
        f"{q} changed by a factor {v[i1] / v[i0]:.4g} from {v[i0]:.4g} to {v[i1]:.4g} "
        f"between t = {t[i0]:.4g} h and {t[i1]:.4g} h; factor {math.exp(excess):.4g} beyond "
        f"the neighbouring steps, robust z = {z:.1f} (thresholds {JUMP_Z:g}, "
        f"{JUMP_MIN_RELATIVE:.0%})"
    )


def _arc_text(q: str, t: np.ndarray, v: np.ndarray, start: int, new: bool, threshold: float) -> str:
    change = "became significant" if new else "became negligible or absent"
    return (
        f"{q} {change} at t = {t[start]:.4g} h: {v[start]:.4g} ohm (was {v[start - 1]:.4g}); "
        f"threshold {threshold:.4g} ohm = {ARC_FRACTION:.0%} of the median total resistance, "
        f"held for >= {ARC_PERSIST} spectra"
    )


def detect_events(df: pd.DataFrame) -> tuple[Event, ...]:
    """Short circuits, jumps and arc (dis)appearances in a results table, ordered by time."""
    rows = ok_rows(df)
    t = rows["time_h"].to_numpy(dtype=float)
    events: list[Event] = []
    short_idx: set[int] = set()
    total = _column(rows, "R_total_ohm")
    roles = {
        q: v for q in ARC_QUANTITIES if (v := _column(rows, q)) is not None and np.isfinite(v).any()
    }
    if total is not None and np.isfinite(total).any():
        ref_total = float(np.nanmedian(total))
    elif roles:
        ref_total = float(np.nanmedian(np.nansum(np.vstack(list(roles.values())), axis=0)))
    else:
        ref_total = math.nan
    if total is not None:
        for i, ref in _shorts(t, total):
            short_idx.add(i)
            gone = [
                q
                for q, v in roles.items()
                if not (math.isfinite(v[i]) and v[i] > ARC_FRACTION * ref_total)
            ]
            text = (
                f"R_total_ohm fell to {total[i]:.4g} ohm, {total[i] / ref:.1%} of the median "
                f"{ref:.4g} ohm of the previous spectra (threshold {SHORT_FRACTION:.0%})"
            )
            if gone:
                text += "; arcs vanished: " + ", ".join(gone)
            events.append(Event("short_circuit", float(t[i]), "R_total_ohm", text))
    for q in JUMP_QUANTITIES:
        v = _column(rows, q)
        if v is None:
            continue
        for i0, i1, excess, z in _jumps(t, v):
            if i1 in short_idx:
                continue
            events.append(Event("jump", float(t[i1]), q, _jump_text(q, t, v, i0, i1, excess, z)))
    if math.isfinite(ref_total):
        threshold = ARC_FRACTION * ref_total
        for q, v in roles.items():
            state = np.isfinite(v) & (np.nan_to_num(v, nan=0.0) > threshold)
            runs = _stable_runs(state)
            for (old, _), (new, start) in itertools.pairwise(runs):
                if old == new or (not new and start in short_idx):
                    continue
                kind = "arc_appeared" if new else "arc_vanished"
                text = _arc_text(q, t, v, start, new, threshold)
                events.append(Event(kind, float(t[start]), q, text))
    order = {k: n for n, k in enumerate(EVENT_KINDS)}
    return tuple(sorted(events, key=lambda e: (e.time_h, order[e.kind], e.quantity)))
