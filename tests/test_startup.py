"""Start-up of ``import eisfit`` and ``eisfit fit FILE`` (issue 15, item 4): which modules a
command loads, and when the compiled kernel loads (`eisfit.fitting.compiled` for the job
declared with `eisfit.fitting.workload`).

Module presence only, never time: a fresh interpreter runs the command under
``python -X importtime`` and the modules it lists are checked.  The wall time itself is
measured by ``bench/startup_bench.py``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eisfit.cli.main import main
from eisfit.fitting import compiled
from eisfit.fitting.workload import declared, workload

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_spectra" / "na_nzsp_na_single.csv"
#: packages no command needs for one spectrum: the report, tables, peers, the kernel
HEAVY = ("matplotlib", "pandas", "numba", "llvmlite", "lmfit", "impedance", "tqdm")
HAS_NUMBA = importlib.util.find_spec("numba") is not None


def _loaded(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Every module ``python -X importtime ARGS`` imported, in a fresh process running this
    tree with the default kernel policy (no ``EISFIT_JIT``)."""
    env = {k: v for k, v in os.environ.items() if k != "EISFIT_JIT"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    modules = {
        line.rpartition("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }
    return modules, done


def _tops(modules: set[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_the_import_listing_is_read() -> None:
    """The parser sees imports at all (else every 'not imported' below would pass)."""
    modules, done = _loaded("-c", "import json")
    assert done.returncode == 0
    assert {"json", "json.decoder"} <= modules


def test_import_eisfit_loads_neither_numpy_nor_scipy() -> None:
    modules, done = _loaded("-c", "import eisfit; eisfit.EisfitError; eisfit.__version__")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "eisfit.errors" in modules
    assert _tops(modules).isdisjoint({"numpy", "scipy", *HEAVY})


def test_every_public_name_loads_on_first_use_and_none_is_a_module() -> None:
    """A lazy name equal to a submodule's would turn into the submodule once that is
    imported; none is, whatever was imported first."""
    code = (
        "import importlib, pkgutil, types, eisfit\n"
        "for info in pkgutil.walk_packages(eisfit.__path__, 'eisfit.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = [n for n in eisfit.__all__ if isinstance(getattr(eisfit, n), types.ModuleType)]\n"
        "assert not bad, bad\n"
        "assert sorted(eisfit.__all__) == sorted(n for n in dir(eisfit) if n in eisfit.__all__)\n"
    )
    _, done = _loaded("-c", code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_reading_a_file_loads_numpy_and_the_readers_only() -> None:
    code = f"import eisfit; s = eisfit.read({str(SAMPLE)!r}); assert len(s) == 1"
    modules, done = _loaded("-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"numpy", "eisfit.io.csv"} <= modules
    assert _tops(modules).isdisjoint({"scipy", *HEAVY})
    later = ("eisfit.fitting", "eisfit.runs", "eisfit.report")
    assert not any(m.startswith(later) for m in modules)


def test_fitting_one_spectrum_from_the_shell_loads_no_heavy_package() -> None:
    """``eisfit fit FILE`` on one spectrum: no report, no tables, no peers and (the job is
    too small for it to pay) no compiled kernel."""
    modules, done = _loaded("-m", "eisfit", "fit", str(SAMPLE), "--model", "gb-soli")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "status: ok" in done.stdout
    assert "eisfit.fitting.api" in modules  # the fit did run here
    loaded = _tops(modules)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_kernel_pays_off_for_many_fits_or_long_spectra_only() -> None:
    assert not compiled.pays_off([])
    assert not compiled.pays_off([80])
    assert not compiled.pays_off([80] * 24)  # the bundled cycling run
    assert compiled.pays_off([80] * 400)
    assert compiled.pays_off([2000] * 40)
    # spectra longer than MAX_POINTS run on numpy whatever the job: they save nothing
    assert not compiled.pays_off([compiled.MAX_POINTS + 1] * 10_000)
    # the rule is the stated sum: just below and just above LOAD_S
    per_fit = compiled.SAVED_PER_FIT_S + 100 * compiled.SAVED_PER_POINT_S
    n = math.floor(compiled.LOAD_S / per_fit)
    assert not compiled.pays_off([100] * n)
    assert compiled.pays_off([100] * (n + 1))


def test_a_declared_job_holds_inside_its_block_only() -> None:
    assert declared() is None
    with workload([80, 120]) as job:
        assert job == declared() == (80, 120)
        with workload([5]):
            assert declared() == (5,)
        assert declared() == (80, 120)
    assert declared() is None


def test_a_small_job_runs_on_numpy_whatever_was_loaded_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EISFIT_JIT", raising=False)
    with workload([80] * 400):
        assert compiled.active() == HAS_NUMBA == compiled.used_for(80)
    # the kernel may now be loaded in this process; a small job still does not use it
    with workload([80]):
        assert not compiled.active() and not compiled.used_for(80)
    assert compiled.active() == HAS_NUMBA  # no job declared: as before


def test_eisfit_jit_overrides_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EISFIT_JIT", "1")
    with workload([80]):
        assert compiled.active() == HAS_NUMBA
    monkeypatch.setenv("EISFIT_JIT", "0")
    with workload([80] * 10_000):
        assert not compiled.active()
    monkeypatch.setenv("EISFIT_JIT", "auto")
    with workload([80]):
        assert not compiled.active()


def _numbers(value: Any, key: str = "") -> list[tuple[str, float]]:
    """(path, number) of every number of a JSON document, the wall time left out."""
    if isinstance(value, dict):
        return [x for k in sorted(value) if k != "elapsed_s" for x in _numbers(value[k], k)]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _numbers(v, f"{key}[{i}]")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [(key, float(value))]
    return []


def test_eisfit_fit_prints_the_same_with_and_without_the_kernel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default (numpy: one spectrum does not pay for the kernel) against the kernel
    forced on: the same text, and every JSON number within 1e-9 relative (measured: 2e-14;
    without numba both runs are numpy and agree exactly)."""
    argv = ["fit", str(SAMPLE), "--model", "gb-soli"]
    out = {}
    for jit in ("auto", "1"):
        monkeypatch.setenv("EISFIT_JIT", jit)
        assert main(argv) == 0
        text = capsys.readouterr().out
        assert main([*argv, "--json"]) == 0
        out[jit] = (text, json.loads(capsys.readouterr().out))
    assert out["auto"][0] == out["1"][0]
    plain, fast = _numbers(out["auto"][1]), _numbers(out["1"][1])
    assert [k for k, _ in plain] == [k for k, _ in fast] and len(plain) > 20
    for (key, x), (_, y) in zip(plain, fast, strict=True):
        assert x == pytest.approx(y, rel=1e-9, abs=1e-300), key
