"""Every exception eisfit defines, in one place.

Bad input raises an `EisfitError`; every stage has its own subclass carrying the context
a user needs to fix the input: the file and line for reading, the text and position for
circuit strings, the file for a named model or a JSON file.  A fit that does not converge
is *not* an error: it returns ``FitResult(success=False)``.

Two kinds are not errors of the input and do not derive from `EisfitError`:

- interruptions (`Terminated`, `BatchInterrupted`) are `KeyboardInterrupt` subclasses, so
  that code which lets Ctrl-C through lets them through too;
- `BudgetExceededError` is the fitting engine's internal signal that a fit's time or
  evaluation budget is spent; it never leaves `eisfit.fitting`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BatchInterrupted",
    "BudgetExceededError",
    "CacheEntryError",
    "CircuitError",
    "CircuitSyntaxError",
    "DRTError",
    "EisfitError",
    "FitInputError",
    "IdentifyError",
    "JsonError",
    "ModelFileError",
    "OutputError",
    "PhysicsError",
    "ReadError",
    "ReportError",
    "SpectrumError",
    "Terminated",
    "TrendInputError",
    "UnsupportedFormatError",
]


class EisfitError(Exception):
    """Base class of all errors raised by eisfit on bad input."""


class SpectrumError(EisfitError, ValueError):
    """Frequencies or impedances that cannot form a valid spectrum."""


class CircuitError(EisfitError, ValueError):
    """A circuit that parses but makes no sense (duplicate names, unknown element...)."""


class CircuitSyntaxError(CircuitError):
    """A circuit string that cannot be parsed; ``str()`` draws a caret under the bad spot."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text = text
        self.position = position
        self.reason = message
        caret = " " * max(position, 0) + "^"
        super().__init__(f"{message} at position {position}:\n  {text}\n  {caret}")


class DRTError(EisfitError, ValueError):
    """A spectrum or options a DRT cannot use (too few points, Z = 0, unknown option);
    the message names the spectrum's source, ``reason`` is the message without it."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        self.reason = message if reason is None else reason
        super().__init__(message)


class FitInputError(EisfitError, ValueError):
    """Fit options that cannot work: unknown parameter names, too few points, bad bounds..."""


class IdentifyError(EisfitError, ValueError):
    """A spectrum (or option) no circuit identification can run on: too few points, no
    candidate that can be fitted; the message names the spectrum's source."""


class ReadError(EisfitError, ValueError):
    """A file that cannot be read as an impedance export; names the file and line."""

    def __init__(self, path: str | Path, message: str, *, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class UnsupportedFormatError(ReadError):
    """A file whose format eisfit does not recognise."""


class ReportError(EisfitError):
    """A report that cannot be written: no results table, an unusable record, bad output."""


class OutputError(EisfitError):
    """An output folder eisfit cannot use: a file, unwritable, or in use by another run."""


class PhysicsError(EisfitError, ValueError):
    """Input the physics layer cannot interpret: bad geometry, unknown role, bad override."""


class ModelFileError(PhysicsError):
    """A named-model file that cannot be loaded; names the file."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}")


class TrendInputError(EisfitError, ValueError):
    """A results table that trends and events cannot use (e.g. no ``time_h`` column)."""


class JsonError(EisfitError, ValueError):
    """A JSON file or text that cannot be used; ``path`` (or None) and ``reason`` say why."""

    def __init__(self, reason: str, *, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)


class CacheEntryError(EisfitError):
    """A read-cache entry that fails a check; the run reads the source file again instead
    (raised and caught inside `eisfit.runs.cache`)."""


class BudgetExceededError(Exception):
    """Raised inside the residual function once the time or evaluation budget is spent."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as a KeyboardInterrupt so the run saves what it finished."""


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C or SIGTERM after saving what was done.

    ``frame``: the rows saved to results.csv (finished spectra and unreadable files);
    ``saved`` of ``total`` spectra are in it.  ``stage``: ``"fitting"``, or ``"trends"``
    when every spectrum was saved and the trend analysis was cut short (no trends.json).
    """

    def __init__(self, frame: pd.DataFrame, total: int, stage: str = "fitting") -> None:
        self.frame = frame
        self.total = total
        self.stage = stage
        self.saved = int(frame["status"].ne("error").sum())
        what = f"interrupted: {self.saved} of {total} spectra saved"
        if stage == "trends":
            what += " (trend analysis not finished: no trends.json)"
        super().__init__(what)
