"""Fault injection on a small run (issue 13, item 9): after every fault, no traceback, no
lost good row, no orphaned worker, and a re-run gives the uninterrupted table exactly.

The longer randomized version is ``bench/fault_bench.py``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit.runs.batch
from eisfit import SpectrumMeta, write_csv
from eisfit.cli.main import main
from eisfit.runs.lock import LOCK_NAME
from eisfit.synthetic import Arc, SyntheticCell, simulate

sys.path.insert(0, str(Path(__file__).parent))
from fault_checks import (
    OPTIONS,
    command,
    consistent,
    flip_bit,
    formula_cells,
    run_and_signal,
    run_span_s,
    table,
    write_run,
)

LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("run") / "cells")


@pytest.fixture(scope="module")
def reference(run: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The uninterrupted run (in a subprocess, as the faulted ones)."""
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run(command(run, out), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    frame = table(out)
    assert len(frame) == 20 and set(frame["status"]) <= {"ok", "warning"}
    return frame


@pytest.fixture(scope="module")
def span_s(run: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long the uninterrupted run lasts once it holds its lock, on this machine."""
    return run_span_s(run, tmp_path_factory.mktemp("span"))


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.skipif(not LINUX, reason="watches worker processes through /proc (Linux)")
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_signal_at_a_random_moment(
    name: str, run: Path, reference: pd.DataFrame, span_s: float, tmp_path: Path
) -> None:
    rng = np.random.default_rng(["SIGINT", "SIGTERM", "SIGKILL"].index(name) + 13)
    # after the run began, from reading to the last fits: a share of how long the run
    # takes here (a fixed 0-2.5 s outlived the whole run once the batch got faster)
    delay_s = float(rng.uniform(0.0, 0.8)) * span_s
    killed = run_and_signal(run, tmp_path, getattr(signal, name), delay_s)
    assert killed.orphans == (), f"workers alive 2 s after the parent ended ({delay_s:.2f} s)"
    assert "Traceback" not in killed.stderr
    if name == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL
    else:
        assert killed.returncode in (0, 130), killed.stderr
        assert killed.stop_s < 10.0
        if killed.returncode == 130:
            assert "re-run the same command to resume" in killed.stderr
    assert consistent(tmp_path, reference) == []
    again = subprocess.run(command(run, tmp_path), capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(table(tmp_path), reference)


def _in_process(run: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = _cli(["batch", str(run), "--out", str(out), *OPTIONS[:-2], "--jobs", "1"],
                        capsys)  # fmt: skip
    return code, err


def test_a_signal_after_the_last_fit_still_writes_results(
    run: Path, reference: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # private: the fault is injected inside the results write; no public hook exists
    real = eisfit.runs.batch._write_table

    def signalled(out: Path, frame: pd.DataFrame) -> None:
        signal.raise_signal(signal.SIGINT)  # lands while the table is being written
        real(out, frame)

    monkeypatch.setattr(eisfit.runs.batch, "_write_table", signalled)
    # Ctrl-C as in a terminal: pytest started in the background by a non-interactive shell
    # (`make test &`) inherits SIGINT ignored, and Python then leaves it ignored
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, err = _in_process(run, tmp_path, capsys)
    finally:
        signal.signal(signal.SIGINT, old)
    assert code == 130 and "interrupted: 20 of 20 spectra saved" in err
    pd.testing.assert_frame_equal(table(tmp_path), reference, check_exact=False, rtol=1e-6)


def test_a_signal_during_the_trend_analysis(
    run: Path, reference: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def stopped(frame: pd.DataFrame) -> dict:
        signal.raise_signal(signal.SIGTERM)
        time.sleep(1.0)  # the handler raises here
        raise AssertionError("SIGTERM did not stop the trend analysis")

    monkeypatch.setattr(eisfit.runs.batch, "trends_of", stopped)
    code, err = _in_process(run, tmp_path, capsys)
    assert code == 130 and "trend analysis not finished" in err
    assert not (tmp_path / "trends.json").exists()
    assert len(table(tmp_path)) == len(reference)
    monkeypatch.undo()
    code, _ = _in_process(run, tmp_path, capsys)
    assert code == 0 and (tmp_path / "trends.json").exists()


def test_bit_flips_in_caches_and_records_are_misses(
    run: Path, reference: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _in_process(run, tmp_path, capsys)[0] == 0
    baseline = table(tmp_path)
    rng = np.random.default_rng(5)
    targets = sorted(p for p in (tmp_path / ".cache").rglob("*") if p.is_file())
    targets += sorted((tmp_path / "fits").glob("*.json"))[:3]
    assert len(targets) >= 5
    for path in targets:
        flip_bit(path, rng)
        code, err = _in_process(run, tmp_path, capsys)
        assert code == 0 and "Traceback" not in err, (path, err)
        pd.testing.assert_frame_equal(table(tmp_path), baseline, obj=str(path))


def test_deeply_nested_json_everywhere_is_refused(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _in_process(run, tmp_path, capsys)[0] == 0
    baseline = table(tmp_path)
    nested = "[" * 200_000 + "]" * 200_000
    record = sorted((tmp_path / "fits").glob("*.json"))[0]
    for path in (tmp_path / ".cache" / "rows.json", record, tmp_path / "trends.json"):
        path.write_text(nested)
    code, err = _in_process(run, tmp_path, capsys)
    assert code == 0 and "Traceback" not in err
    pd.testing.assert_frame_equal(table(tmp_path), baseline)
    assert json.loads((tmp_path / "trends.json").read_text())["results_digest"]


def _spectrum(rng: np.random.Generator, source: str) -> object:
    cell = SyntheticCell(0.0, 100.0, (Arc(300.0, 1e3, 0.9),))
    return simulate(cell.circuit, cell.values, np.logspace(5, -1, 30), noise=0.003, rng=rng,
                    meta=SpectrumMeta(source=source))  # fmt: skip


def test_hostile_names_and_values_cost_their_own_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(2)
    folder = tmp_path / "in"
    folder.mkdir()
    good = ["=1+1.csv", "=HYPERLINK(x).csv", "@cmd.csv", "n" * 240 + ".csv", "plain.csv"]
    for name in good:
        write_csv(_spectrum(rng, name), folder / name)
    zero = _spectrum(rng, "zero")
    z = np.array(zero.impedance_ohm)
    z[4] = 0
    write_csv(type(zero)(zero.frequency_hz, z, zero.meta), folder / "zero.csv")
    (folder / "empty.csv").write_text("")
    (folder / "junk.mpt").write_bytes(bytes(range(256)) * 64)
    (folder / "header_only.csv").write_text("frequency,z_real,z_imag\n")
    out = tmp_path / "out"
    code, _, err = _cli(["batch", str(folder), "--circuit", "R0-p(R1,CPE1)", "--out", str(out),
                         "--no-report", "--jobs", "1"], capsys)  # fmt: skip
    assert code == 0 and "Traceback" not in err
    frame = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert len(frame) == len(good) + 4
    fitted = frame[frame["status"].isin(["ok", "warning"])]
    assert len(fitted) == len(good) + 1  # every good file and the one with a Z = 0 point
    errors = frame[frame["status"] == "error"]
    assert len(errors) == 3 and errors["message"].str.len().gt(10).all()
    assert formula_cells(out / "results.csv") == []
    assert "Z = 0" in frame.loc[frame["source"].str.endswith("zero.csv"), "removed"].iloc[0]


@pytest.mark.skipif(not LINUX, reason="signals and /proc")
def test_a_second_run_into_the_same_folder_is_refused(
    run: Path, reference: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = subprocess.Popen(command(run, tmp_path), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    lock = tmp_path / LOCK_NAME
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.02)
    code, out, err = _cli(["batch", str(run), "--out", str(tmp_path), "--circuit",
                           "R0-p(R1,CPE1)", "--no-report"], capsys)  # fmt: skip
    _, first_err = first.communicate(timeout=120)
    assert code == 2 and out == ""
    assert "is being written by another eisfit run (PID" in err and "Traceback" not in err
    assert first.returncode == 0, first_err
    pd.testing.assert_frame_equal(table(tmp_path), reference)


def test_a_lock_left_by_a_killed_run_is_taken_over(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 4_000_000, "host": "lab-pc",
                                                  "started": "2026-03-01T09:00:00"}))  # fmt: skip
    assert _in_process(run, tmp_path, capsys)[0] == 0
    log = (tmp_path / "batch.log").read_text()
    assert "PID 4000000 on lab-pc" in log and "ended without finishing" in log
    assert (tmp_path / LOCK_NAME).read_text() == ""  # released


@pytest.mark.parametrize("kind", ["file", "under_a_file"])
def test_an_unusable_out_is_one_line_before_any_work(
    kind: str, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "results.csv"
    blocker.write_text("not a folder")
    out = blocker if kind == "file" else blocker / "sub"
    code, printed, err = _cli(["batch", str(run), "--out", str(out), "--model", "gb-soli"],
                              capsys)  # fmt: skip
    assert code == 2 and printed == ""
    assert err.startswith("eisfit: error: --out ") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]
