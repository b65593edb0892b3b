"""Signals during a long run: SIGTERM handled as Ctrl-C, and sections a signal cannot cut.

`terminate_as_interrupt`: inside it, SIGTERM (what ``kill``, a job scheduler's time
limit or ``systemctl stop`` send) raises `Terminated`, a KeyboardInterrupt, so a run
saves its finished work the same way after either signal.  `deferred`: a signal arriving
inside it is acted on when the block ends, so a results table and its index are written
whole.  Both only act in the main thread (the only one Python delivers signals to) and
do nothing elsewhere.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import Terminated

__all__ = ["deferred", "terminate_as_interrupt"]

_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None
)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"signal {signum} (SIGTERM)")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` inside the block (main thread only)."""
    if not _main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextmanager
def deferred() -> Iterator[None]:
    """SIGINT and SIGTERM received inside the block take effect when it ends.

    The handlers in place before the block are then called with the first signal
    received (SIGINT's default raises KeyboardInterrupt; a default SIGTERM is re-sent to
    this process, which then ends as it would have).
    """
    if not _main_thread():
        yield
        return
    received: list[int] = []

    def record(signum: int, frame: Any) -> None:
        received.append(signum)

    old = {s: signal.signal(s, record) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if received:
            _deliver(received[0], old[received[0]])


def _deliver(signum: int, handler: Any) -> None:
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)
    # SIG_IGN: ignored, as it would have been
