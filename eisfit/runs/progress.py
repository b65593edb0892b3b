"""How a long batch reports itself while it runs: a progress bar on stderr and ``batch.log``.

The bar (tqdm, imported only when shown) counts spectra, reused and fitted alike.
``enabled=None`` means: shown when stderr is a terminal, so pipes, CI logs and tests stay
quiet.  This is the one place of eisfit that writes to a stream on its own.

The log: records go to the logger ``eisfit.batch`` (`LOGGER`); `log_file` attaches a
FileHandler for one run (appending, so a resumed run adds to the same file) and removes
it afterwards.  One line per unreadable file, failed spectrum and fallback fit, plus
start and end summaries; each line starts with a local timestamp and the level.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["LOGGER", "Progress", "log_file", "log_row", "progress_bar"]

LOGGER = logging.getLogger("eisfit.batch")
_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class Progress(Protocol):
    """What the batch needs of a progress display."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        del n

    def close(self) -> None:
        pass


def show_progress(enabled: bool | None) -> bool:
    """Whether to show the bar: ``enabled``, or when None, whether stderr is a terminal."""
    if enabled is not None:
        return bool(enabled)
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(total: int, *, enabled: bool | None = None) -> Progress:
    """A bar over ``total`` spectra on stderr, or a silent stand-in (see `show_progress`)."""
    if not show_progress(enabled):
        return _Silent()
    from tqdm import tqdm

    return tqdm(
        total=total, unit="spectrum", desc="eisfit batch", file=sys.stderr,
        dynamic_ncols=True, smoothing=0.1,
    )  # fmt: skip


@contextmanager
def log_file(path: Path | None) -> Iterator[logging.Logger]:
    """`LOGGER`, writing to ``path`` (appended) for the duration of the block.

    The logger's level is lowered to INFO for the block when it would drop INFO records,
    and restored afterwards.  ``path=None``: no file, the logger as configured.
    """
    if path is None:
        yield LOGGER
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.INFO)
    level = LOGGER.level
    LOGGER.addHandler(handler)
    if LOGGER.getEffectiveLevel() > logging.INFO:
        LOGGER.setLevel(logging.INFO)
    try:
        yield LOGGER
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
        handler.close()


def log_row(log: logging.Logger, row: dict[str, Any]) -> None:
    """What batch.log says about a finished row (nothing for a reused one)."""
    if row.get("reused"):
        return
    where = f"{row['source']} #{row['index']}"
    said = [w for w in str(row.get("warnings") or "").split("; ") if w.startswith("reader:")]
    if said and row["status"] not in ("failed", "error"):  # those say it in their message
        log.warning("%s: %s", where, "; ".join(said))
    if row["status"] != "ok":
        why = row.get("reasons") or row["message"] or "no message"
        log.warning("%s: %s: %s", row["status"], where, why)
    if row.get("alternative"):
        log.warning("alternative circuit: %s: %s", where, row["alternative"])
    if row.get("start_path") == "fallback":
        log.info("fallback: %s: warm start rejected, refitted from scratch", where)
