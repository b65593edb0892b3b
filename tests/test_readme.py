"""The README's Python examples run as written (in a fresh interpreter, in order).

The blocks use ``f`` and ``z`` (a measured spectrum) and a ``run/`` folder of exports
without defining them; the test defines them (a synthetic two-arc spectrum, the bundled
EC-Lab run) in a preamble, then runs every ```python block of the README in one script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from doc_blocks import python_blocks

ROOT = Path(__file__).resolve().parents[1]
PREAMBLE = """
import numpy as np
from eisfit.synthetic import Arc, SyntheticCell, simulate
_cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
_s = simulate(_cell.circuit, _cell.values, np.logspace(6.5, -1, 60), noise=0.003,
              rng=np.random.default_rng(1))
f, z = _s.frequency_hz, _s.impedance_ohm
"""


def _blocks() -> list[str]:
    return python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 3


def test_every_python_example_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "sample_spectra" / "cycling_mpt", tmp_path / "run")
    script = tmp_path / "readme_examples.py"
    script.write_text(PREAMBLE + "\n".join(_blocks()) + "\nprint('README OK', len(table))\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "README OK 24" in done.stdout
    # the report examples wrote what they say
    assert (tmp_path / "results" / "report.html").stat().st_size > 10_000
    assert "<html" in (tmp_path / "fit.html").read_text(encoding="utf-8").lower()
