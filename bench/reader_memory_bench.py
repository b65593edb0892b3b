"""Benchmark: peak memory of ``eisfit.read`` on large junk files, and on a large valid one.

Issue 13, item 6: a 200 MB junk ``.mpt`` was refused on line 1 but read in full first
(794 MB peak).  Every reader now stops at the first line (text) or bytes (binary) that
cannot be its format.  This script writes, one at a time in a temporary folder, files of
``--mb`` megabytes (default 200):

* random printable ASCII text in lines of 80 characters, named ``x.mpt``, ``x.csv``,
  ``x.txt``, ``x.DTA``, ``x.z`` and ``x`` (no extension: no reader is confident, so the
  closest one is asked why it refuses the file, `eisfit.io._closest_reason`);
* the same text after a valid first part: an EC-Lab header and column line (``h.mpt``), a
  CSV header (``h.csv``), the ``EXPLAIN`` line of a Gamry file (``h.DTA``);
* the same text without any line end (``line.txt``: one 200 MB line) and random bytes
  (``bytes.mpr``, ``bytes.bin``);
* a valid EC-Lab export of about ``--valid-mb`` MB (default 40: many 60-point loops),
  which must still read.

Each file is read by ``eisfit.read`` in a fresh interpreter; its peak resident set is
that child's ``ru_maxrss`` (``os.wait4``: the rusage of that one child, which
``getrusage(RUSAGE_CHILDREN)`` gives as a running maximum over all children).  The table
shows file size, peak RSS, the RSS of ``import eisfit`` alone, and the outcome (the
error, with the line where the reader stopped, or the number of spectra).  Target: peak
under 300 MB for every junk file.

Measured (200 MB files; peak RSS; ``import eisfit`` alone is 31 MB): before issue 13,
x.mpt / x.DTA / x.z 574 MB, h.mpt / h.DTA 774 MB, x.csv / x.txt / x (refused by the
closest reader) 1483 MB, h.csv 1503 MB, bytes.mpr 432 MB; after, 41 MB for every one,
each refused on line 1 to 4 (or on its first bytes).  The valid 44 MB .mpt (11625
spectra): 340 MB before, 252 MB after, in about the same time (7.2 s vs 7.6 s).

Usage:  python bench/reader_memory_bench.py [--mb 200] [--valid-mb 40] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate

LINE = 80
CHUNK = 1 << 20
PRINTABLE = bytes(range(32, 127))
TABLE = bytes(PRINTABLE[i % len(PRINTABLE)] for i in range(256))
CHILD = (
    "import sys, eisfit\n"
    "try:\n"
    "    spectra = eisfit.read(sys.argv[1])\n"
    "    print(f'read {len(spectra)} spectra')\n"
    "except eisfit.EisfitError as exc:\n"
    "    print(f'refused: {str(exc)[len(sys.argv[1]):][:110]}')\n"
)


def junk(path: Path, size: int, *, head: bytes = b"", newlines: bool = True) -> Path:
    """``head``, then random printable text (lines of 80 characters) up to ``size`` bytes."""
    rng = np.random.default_rng(7)
    with path.open("wb") as handle:
        handle.write(head)
        written = len(head)
        while written < size:
            block = bytearray(rng.bytes(CHUNK).translate(TABLE))
            if newlines:
                block[LINE - 1 :: LINE] = b"\n" * len(block[LINE - 1 :: LINE])
            handle.write(block[: size - written])
            written += len(block[: size - written])
    return path


def random_bytes(path: Path, size: int) -> Path:
    rng = np.random.default_rng(8)
    with path.open("wb") as handle:
        for start in range(0, size, CHUNK):
            handle.write(rng.bytes(min(CHUNK, size - start)))
    return path


def valid_mpt(path: Path, size: int) -> Path:
    """An EC-Lab .mpt of about ``size`` bytes: 60-point loops of a two-arc cell."""
    cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
    frequency = np.logspace(np.log10(7e6), -1, 60)
    one = simulate(cell.circuit, cell.values, frequency, noise=0.005, rng=np.random.default_rng(1))
    loops = max(1, size // len(ec_lab_mpt_text([one], datetime(2026, 1, 5), [0.0])))
    text = ec_lab_mpt_text([one] * loops, datetime(2026, 1, 5), [float(h) for h in range(loops)])
    path.write_text(text, encoding="latin-1")
    return path


def peak_rss_mb(args: list[str]) -> tuple[float, str]:
    """Peak resident set (MB) of one child process, and what it printed."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.stdout:
        process.stdout.close()
    return usage.ru_maxrss / 1024.0, output.strip().splitlines()[-1] if output.strip() else ""


def cases(mb: int, valid_mb: int) -> list[tuple[str, Callable[[Path], Path]]]:
    size = mb << 20
    mpt_head = b"EC-Lab ASCII FILE\r\nNb header lines : 3\r\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\r\n"
    out: list[tuple[str, Callable[[Path], Path]]] = [
        (name, lambda p: junk(p, size)) for name in ("x.mpt", "x.csv", "x.txt", "x.DTA", "x.z", "x")
    ]
    out += [
        ("h.mpt", lambda p: junk(p, size, head=mpt_head)),
        ("h.csv", lambda p: junk(p, size, head=b"frequency_hz,z_real_ohm,z_imag_ohm\n")),
        ("h.DTA", lambda p: junk(p, size, head=b"EXPLAIN\r\nTAG\tEISPOT\r\n")),
        ("line.txt", lambda p: junk(p, size, newlines=False)),
        ("bytes.mpr", lambda p: random_bytes(p, size)),
        ("bytes.bin", lambda p: random_bytes(p, size)),
        ("valid.mpt", lambda p: valid_mpt(p, valid_mb << 20)),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the junk files (MB)")
    parser.add_argument("--valid-mb", type=int, default=40, help="size of the valid file (MB)")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    options = parser.parse_args()
    base, _ = peak_rss_mb([sys.executable, "-c", "import eisfit"])
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for name, write in cases(options.mb, options.valid_mb):
            path = write(folder / name)
            peak, outcome = peak_rss_mb([sys.executable, "-c", CHILD, str(path)])
            rows.append((name, path.stat().st_size / 2**20, peak, outcome))
            if options.keep is None:
                path.unlink()
    print(f"import eisfit alone: {base:.0f} MB peak RSS")
    print(f"{'file':<10} {'size MB':>8} {'peak MB':>8}  outcome")
    for name, size_mb, peak, outcome in rows:
        print(f"{name:<10} {size_mb:>8.1f} {peak:>8.0f}  {outcome}")
    junk_peaks = [peak for name, _, peak, _ in rows if not name.startswith("valid")]
    verdict = "met" if max(junk_peaks) < 300 else "NOT met"
    print(f"largest peak on junk: {max(junk_peaks):.0f} MB (target < 300 MB: {verdict})")


if __name__ == "__main__":
    main()
