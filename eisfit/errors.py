"""One exception hierarchy for everything eisfit raises on bad input.

Every stage has its own subclass carrying the context a user needs to fix the input:
the file and line for reading, the text and position for circuit strings.  A fit that
does not converge is *not* an error: it returns ``FitResult(success=False)``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CircuitError",
    "CircuitSyntaxError",
    "EisfitError",
    "FitInputError",
    "OutputError",
    "ReadError",
    "ReportError",
    "SpectrumError",
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


class FitInputError(EisfitError, ValueError):
    """Fit options that cannot work: unknown parameter names, too few points, bad bounds..."""


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
