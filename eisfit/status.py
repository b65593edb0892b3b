"""One status vocabulary for every result eisfit hands out.

The same five words are used by `FitResult.status`, the ``status`` column of
results.csv, the JSON outputs, the report and the command-line exit codes:

================ ================================================================ =====
status           meaning                                                          exit
================ ================================================================ =====
``ok``           the fit is usable as it stands                                   0
``warning``      usable, with reasons (data flagged by screening or lin-KK,       0
                 systematic residuals, stopped on its budget close to a minimum)
``undetermined`` some quantities cannot be determined from these data: they are   1
                 reported as NaN / None with the reason and left out of ASR,
                 conductivity, trends and events; the others remain usable
``failed``       the fit is unusable (no finite optimum, stopped far from one)    1
``error``        the input could not be read or is not a valid spectrum           2
================ ================================================================ =====

A status never claims more than the numbers support: the worst finding decides it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "EXIT_CODES",
    "STATUSES",
    "USABLE",
    "exit_code",
    "status_counts",
    "worst",
]

STATUSES = ("ok", "warning", "undetermined", "failed", "error")
#: statuses whose finite values may be used (undetermined quantities are NaN in them)
USABLE = frozenset({"ok", "warning", "undetermined"})
EXIT_CODES = {"ok": 0, "warning": 0, "undetermined": 1, "failed": 1, "error": 2}
_RANK = {s: i for i, s in enumerate(STATUSES)}


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` (``ok`` for none); unknown words raise ValueError."""
    out = "ok"
    for status in statuses:
        if status not in _RANK:
            raise ValueError(f"unknown status {status!r}; statuses are {', '.join(STATUSES)}")
        if _RANK[status] > _RANK[out]:
            out = status
    return out


def exit_code(statuses: Iterable[str]) -> int:
    """The command-line exit code for a set of results: that of the worst status."""
    return EXIT_CODES[worst(statuses)]


def status_counts(statuses: Iterable[object]) -> str:
    """``"12 ok, 3 warning, 0 undetermined, 1 failed, 0 error"``: every status, in order."""
    values = [str(s) for s in statuses]
    return ", ".join(f"{values.count(s)} {s}" for s in STATUSES)
