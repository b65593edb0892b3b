"""The wording of the readers' row warnings, shared so every format says the same thing.

Every reader that splits a table into spectra follows one rule for rows that are not
points (issue 13, item 7): a row with a NaN or infinite value is dropped and the sweep it
interrupts stays **one** spectrum; the spectrum the dropped rows belong to (the one whose
first row precedes them: `owners`) gets the warning ``dropped 3 rows with NaN or
infinite values (lines 15-17)``.  Where a repeated frequency starts a new spectrum (a
sweep never measures one frequency twice in a row; a loop of single-frequency
measurements does), both spectra around the split say so: ``split at line 13:
frequency 1000 Hz repeats line 12``.  These strings go to ``meta.extra["warnings"]``,
from where the batch copies them into results.csv (``reader: ...``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

__all__ = ["NONFINITE", "dropped_note", "owners", "place_list", "repeat_note"]

NONFINITE = "with NaN or infinite values"
_SHOWN_RUNS = 6  # ranges of places listed before "..."


def place_list(places: Sequence[int]) -> str:
    """``15-17, 20`` for places [15, 16, 17, 20] (sorted runs; at most six, then ``...``)."""
    runs: list[list[int]] = []
    for place in sorted(set(places)):
        if runs and place == runs[-1][1] + 1:
            runs[-1][1] = place
        else:
            runs.append([place, place])
    shown = [f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:_SHOWN_RUNS]]
    return ", ".join(shown) + (", ..." if len(runs) > _SHOWN_RUNS else "")


def dropped_note(places: Sequence[int], *, what: str = NONFINITE, unit: str = "line") -> str:
    """``dropped 3 rows with NaN or infinite values (lines 15-17)``; ``unit`` names the
    places (``line`` of a text file, ``record`` of a binary one, ``point``)."""
    count = len(places)
    noun = "row" if count == 1 else "rows"
    where = f" ({unit}{'' if count == 1 else 's'} {place_list(places)})" if places else ""
    return f"dropped {count} {noun} {what}{where}"


def repeat_note(place: int, frequency_hz: float, previous: int, *, unit: str = "line") -> str:
    """``split at line 13: frequency 1000 Hz repeats line 12``."""
    return f"split at {unit} {place}: frequency {frequency_hz:g} Hz repeats {unit} {previous}"


def owners(starts: Sequence[int], rows: Sequence[int]) -> list[int]:
    """For each dropped row, the index of the spectrum it belongs to: the last spectrum
    whose first row (``starts``, rising) precedes it, else the first spectrum."""
    return [max(bisect.bisect_right(starts, row) - 1, 0) for row in rows]
