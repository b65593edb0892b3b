"""The output folder of a run: checked before any work, and one writer at a time.

`check_out_dir` refuses, with one line, an output path that is a file, a folder that
cannot be created or one that cannot be written, before a batch reads or fits anything.

`run_lock` makes sure one eisfit run at a time writes into a folder: it holds an
exclusive lock on ``DIR/.eisfit.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on
Windows) and writes the holder's PID, host and start time into it.  A second run into
the same folder is refused with `OutputError` naming the holder.  The operating system
releases the lock when the holding process ends, however it ends (SIGKILL, a crash, a
power cut ends every holder), so a lock left by a killed run is never in the way: the
next run takes it over and says so (`RunLock.previous`).  Worker processes forked while
the lock is held share it until they exit, which they do within a second of their
parent's death (`eisfit.runs.pools`).  The lock is re-entrant within one process: a CLI that
locks the folder for the batch and its report can call `run_batch`, which locks it too.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import JsonError, OutputError
from .safe_json import loads_json

__all__ = ["LOCK_NAME", "RunLock", "check_out_dir", "run_lock"]

LOCK_NAME = ".eisfit.lock"
_HELD: dict[Path, list[Any]] = {}  # folders locked by this process -> [depth, RunLock]


def check_out_dir(path: str | Path) -> Path:
    """``path`` as a folder eisfit can write to (created if missing), else `OutputError`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the folder ({_why(exc)})") from None
    probe = out / f".eisfit-write-test.{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write into the folder ({_why(exc)})") from None
    return out


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


@dataclass(frozen=True)
class RunLock:
    """A held lock: the folder, and what the lock file said before (a finished or killed
    run's PID, host and start time; None when the file was new or empty)."""

    folder: Path
    previous: dict[str, Any] | None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> dict[str, Any] | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = loads_json(os.read(fd, 4096) or b"null", max_depth=4)
    except (OSError, JsonError):
        return None
    return data if isinstance(data, dict) else None


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another eisfit run"
    return (
        f"another eisfit run (PID {holder.get('pid')} on {holder.get('host')}, started "
        f"{holder.get('started')})"
    )


@contextmanager
def run_lock(folder: str | Path) -> Iterator[RunLock]:
    """Hold the run lock of ``folder`` (created if missing) for the block.

    Raises `OutputError` when another process holds it, the folder does not exist or
    the lock file cannot be made.
    """
    key = Path(os.path.abspath(folder))
    if key in _HELD:  # this process holds it already: the same lock, one level deeper
        _HELD[key][0] += 1
        try:
            yield _HELD[key][1]
        finally:
            _HELD[key][0] -= 1
        return
    if not key.is_dir():
        raise OutputError(f"{key}: no such folder")
    try:
        fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{key}: cannot create the run lock ({_why(exc)})") from None
    try:
        if not _try_lock(fd):
            raise OutputError(
                f"{key} is being written by {_describe(_holder(fd))}; wait for it to finish "
                "or choose another --out"
            )
        previous = _holder(fd)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me).encode())
        held = RunLock(key, previous)
        _HELD[key] = [1, held]
        try:
            yield held
        finally:
            del _HELD[key]
            os.ftruncate(fd, 0)  # released: the file stays (deleting it would race)
    finally:
        os.close(fd)  # closing releases the lock
