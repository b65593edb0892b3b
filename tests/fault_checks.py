"""Fault injection for the batch (issue 13): a small run, faults, and the checks after each.

Shared by `tests/test_fault_injection.py` (a few seeded faults, seconds) and
`bench/fault_bench.py` (many randomized ones).  Everything here is deterministic given
its seed except the moment a signal lands, which is what is being tested: every moment
must leave the same kind of folder behind.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from eisfit.runs.csv_cells import TRIGGERS
from eisfit.runs.lock import LOCK_NAME
from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

FREQUENCY_HZ = np.logspace(6, -1, 40)
T0 = datetime(2026, 3, 1, 9, 0)
#: the batch options every run of the suite uses (two cells: two work items for 2 jobs)
OPTIONS = ["--model", "gb-soli", "--cell-by", "file", "--no-report", "--jobs", "2"]


def write_run(folder: Path, *, files: int = 2, per_file: int = 10, seed: int = 7) -> Path:
    """A cycling run as EC-Lab .mpt files (one loop per spectrum, timestamps)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for j in range(files):
        hours = [float(j * per_file + i) for i in range(per_file)]
        spectra = []
        for t_h in hours:
            arcs = (Arc(80.0, 5e5, 0.9), Arc(300.0 + 40.0 * t_h**0.5, 100.0, 0.8))
            cell = SyntheticCell(2e-7, 110.0, arcs)
            spectra.append(simulate(cell.circuit, cell.values, FREQUENCY_HZ, noise=0.004, rng=rng))
        start = T0 + timedelta(hours=hours[0])
        text = ec_lab_mpt_text(spectra, start, hours)
        (folder / f"cell_{j}.mpt").write_text(text, encoding="latin-1")
    return folder


def command(run: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "eisfit", "batch", str(run), "--out", str(out), *OPTIONS]


def table(out: Path) -> pd.DataFrame:
    """results.csv without ``reused`` (the one column a resumed run may change)."""
    frame = pd.read_csv(out / "results.csv")
    return frame.drop(columns=["reused"]).sort_values(["source", "index"]).reset_index(drop=True)


def children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie has exited: only its exit
    status waits to be collected, by init once its parent is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass(frozen=True)
class Killed:
    """What one signalled run left: exit code, stderr, the workers still running 2 s
    after it ended, and how long it took to end after the signal."""

    returncode: int
    stderr: str
    orphans: tuple[int, ...]
    stop_s: float


def _wait_for_lock(process: subprocess.Popen, out: Path) -> None:
    lock = out / LOCK_NAME
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if lock.exists() and lock.stat().st_size > 0:
            break
        time.sleep(0.01)


def run_span_s(run: Path, out: Path) -> float:
    """Seconds an uninterrupted batch runs once it holds its lock (see `run_and_signal`):
    the window a signal "during the run" must fall in on this machine."""
    process = subprocess.Popen(command(run, out), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    _wait_for_lock(process, out)
    t0 = time.monotonic()
    process.wait(timeout=300)
    assert process.returncode == 0
    return time.monotonic() - t0


def run_and_signal(run: Path, out: Path, signum: int, delay_s: float) -> Killed:
    """Start the batch, send ``signum`` ``delay_s`` after the run began, wait for it to end.

    The run has begun when it holds its folder's lock: before that the interpreter is
    still starting (importing eisfit, compiling bytecode on a fresh clone), where a
    signal does what it does to any Python program (SIGTERM ends it, SIGINT raises
    inside an import) and there is nothing of eisfit's to save or to check.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command(run, out), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    _wait_for_lock(process, out)
    time.sleep(delay_s)
    kids = children(process.pid)
    t0 = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    stop_s = time.monotonic() - t0
    kids += [k for k in children(process.pid) if k not in kids]
    deadline = time.monotonic() + 2.0
    while any(running(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return Killed(process.returncode, err, tuple(k for k in kids if running(k)), stop_s)


def consistent(out: Path, reference: pd.DataFrame) -> list[str]:
    """What is wrong with the folder a stopped run left (empty when nothing).

    Either there is no results.csv yet, or it parses and every row in it is the
    reference row of the same spectrum, to the last digit.
    """
    path = out / "results.csv"
    if not path.exists():
        return []
    try:
        got = table(out)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        return [f"results.csv unreadable: {exc}"]
    problems = []
    ref = reference.set_index(["source", "index"])
    for _, row in got.iterrows():
        key = (row["source"], row["index"])
        if key not in ref.index:
            problems.append(f"row {key} not in the reference")
            continue
        expected = ref.loc[key]
        for column in ("status", "R_soli_ohm", "R_gb_ohm", "chi2"):
            a, b = row[column], expected[column]
            if not (a == b or (pd.isna(a) and pd.isna(b))):
                problems.append(f"{key} {column}: {a!r} != {b!r}")
    return problems


def flip_bit(path: Path, rng: np.random.Generator) -> int:
    """Flip one random bit of ``path`` keeping its size and times (as a disk fault would);
    returns the byte offset."""
    data = bytearray(path.read_bytes())
    if not data:
        return -1
    stat = path.stat()
    offset = int(rng.integers(len(data)))
    data[offset] ^= 1 << int(rng.integers(8))
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return offset


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV file a spreadsheet would evaluate (should be none)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row if cell.startswith(TRIGGERS)
                and not _number(cell)]  # fmt: skip


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def signal_names() -> dict[str, int]:
    return {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
