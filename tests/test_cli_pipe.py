"""``eisfit ... | head -1`` ends quietly: no BrokenPipeError traceback (issue 12, item 9).

The deterministic check writes to a pipe whose reading end is already closed, so the
first write fails with EPIPE every time; the ``| head -1`` pipelines are the everyday
case (whether the pipe breaks there depends on timing, so they check quiet stderr only).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eisfit.cli.output import EXIT_BROKEN_PIPE
from eisfit.io import write_csv
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(1e-7, 120.0, (Arc(300.0, 1e5, 0.9),))


@pytest.fixture(scope="module")
def spectra_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    spectra = [simulate(CELL.circuit, CELL.values, np.logspace(6, 0, 25), noise=0.005, rng=rng)
               for _ in range(2)]  # fmt: skip
    return write_csv(spectra, tmp_path_factory.mktemp("pipe") / "two.csv")


def _commands(path: Path) -> list[list[str]]:
    return [
        ["fit", str(path), "--circuit", CELL.circuit], ["kk", str(path)], ["models"], ["--help"]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("which", "code"),
    [(0, EXIT_BROKEN_PIPE), (1, EXIT_BROKEN_PIPE), (2, EXIT_BROKEN_PIPE), (3, 0)],
    ids=["fit", "kk", "models", "help"],
)  # argparse's --help ignores a failed write (OSError) and exits 0
def test_a_closed_pipe_ends_quietly(spectra_csv: Path, which: int, code: int) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to write_end now fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "eisfit", *_commands(spectra_csv)[which]],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == code
    assert EXIT_BROKEN_PIPE == 141  # 128 + SIGPIPE, as a shell reports it


@pytest.mark.parametrize("which", [0, 1, 2], ids=["fit", "kk", "models"])
def test_head_one_pipeline_prints_one_line_and_no_traceback(spectra_csv: Path, which: int) -> None:
    command = shlex.join([sys.executable, "-m", "eisfit", *_commands(spectra_csv)[which]])
    done = subprocess.run(
        f"{command} | head -1", shell=True, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1 and done.stdout.strip()
