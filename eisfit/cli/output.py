"""Writing a command's result to stdout, ending quietly when the reader has gone.

``eisfit fit FILE | head -1``: ``head`` exits after one line and the pipe breaks.  Python
ignores SIGPIPE, so the next write raises `BrokenPipeError`, and another one is raised
when the interpreter flushes stdout at exit.  `emit` follows the Python documentation
(`signal` module, "Note on SIGPIPE"): on `BrokenPipeError` it points the stdout file
descriptor at the null device, so nothing more can fail, and returns `EXIT_BROKEN_PIPE`.

That code is 141 = 128 + SIGPIPE (13), what a shell reports for a program ended by a
broken pipe, as ``eisfit batch`` returns 130 = 128 + SIGINT after Ctrl-C; it is not the
1 of the Python docs' example because eisfit's 1 already means "a fit did not converge
or a spectrum failed the KK check".  In ``cmd | head -1`` the shell reports head's
status (0) unless ``set -o pipefail`` is on.
"""

from __future__ import annotations

import os
import sys

__all__ = ["EXIT_BROKEN_PIPE", "emit"]

#: exit code when stdout's reader went away (128 + SIGPIPE, as a shell reports it)
EXIT_BROKEN_PIPE = 141


def emit(text: str) -> bool:
    """Print ``text`` (and a newline) to stdout and flush; False if the pipe broke."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _stdout_to_devnull()
        return False
    return True


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at the null device (nothing more can fail there)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without an fd
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
