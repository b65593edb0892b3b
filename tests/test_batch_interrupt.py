"""Ctrl-C during a batch, progress bar, batch.log, parquet, missing Dask (`run_batch`)."""

from __future__ import annotations

import builtins
import json
import logging
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest
from test_series import _run

import eisfit.cli.main as cli
import eisfit.runs.worker as series_fit
from eisfit import Cell
from eisfit.errors import BatchInterrupted, EisfitError
from eisfit.notation.model import compile_circuit
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.runs.execute import run_items
from eisfit.runs.progress import LOGGER
from eisfit.runs.worker import pack

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"


def _settings() -> BatchSettings:
    return BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1))


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, k: int) -> list[int]:
    """Make the k+1-th spectrum fit of this process raise KeyboardInterrupt (Ctrl-C)."""
    calls: list[int] = []
    real = series_fit._fit_one

    def fit_one(*args, **kwargs):
        if len(calls) == k:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    # private: Ctrl-C is injected at one spectrum's fit; no public hook exists
    monkeypatch.setattr(series_fit, "_fit_one", fit_one)
    return calls


def test_ctrl_c_saves_finished_rows_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spectra = _run(8)
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt) as caught:
        run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1)
    stop = caught.value
    assert isinstance(stop, BatchInterrupted)
    assert (stop.saved, stop.total) == (3, 8)
    saved = pd.read_csv(tmp_path / "results.csv")
    assert len(saved) == 3 and (saved["status"] == "ok").all()
    assert list(saved["time_h"]) == [0.0, 2.0, 4.0]  # the first three in time
    assert len(list((tmp_path / "fits").glob("*.json"))) == 3
    assert "trends" in json.loads((tmp_path / "trends.json").read_text())
    assert not list(tmp_path.glob(".*tmp*"))
    assert "interrupted: 3 of 8 spectra saved" in (tmp_path / "batch.log").read_text()

    monkeypatch.undo()
    calls = _interrupt_after(monkeypatch, 100)
    again = run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1)
    assert len(again) == 8 and (again["status"] == "ok").all()
    assert list(again["reused"]) == [True] * 3 + [False] * 5
    assert len(calls) == 5  # only the unfinished spectra were fitted
    assert list(again["start_path"])[3:] == ["warm"] * 5  # warm from the reused rows
    assert len(pd.read_csv(tmp_path / "results.csv")) == 8


def test_ctrl_c_before_any_fit_saves_an_empty_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_after(monkeypatch, 0)
    with pytest.raises(BatchInterrupted, match="0 of 2"):
        run_batch(_run(2), _settings(), out_dir=tmp_path, jobs=1)
    assert pd.read_csv(tmp_path / "results.csv").empty


def test_cli_ctrl_c_exits_130_with_a_resume_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _interrupt_after(monkeypatch, 2)
    argv = ["batch", str(SAMPLES / "na_nzsp_na_cycling.csv"), "--model", "gb-soli"]
    argv += ["--out", str(tmp_path), "--jobs", "1"]
    assert cli.main(argv) == 130
    captured = capsys.readouterr()
    assert "interrupted: 2 of 24 spectra saved; re-run the same command to resume" in captured.err
    assert "2 rows: 2 ok" in captured.out
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2


def test_stopping_the_pool_terminates_busy_workers() -> None:
    spectra = [pack(s) for s in _run(20)]
    settings = _settings()
    names = tuple(compile_circuit(settings.circuit).names)
    tasks = [(spectra[:1], settings, [None], names), (spectra, settings, [None] * 20, names)]
    outputs = run_items(tasks, workers=2)
    k, _, (row, _) = next(outputs)  # the one-spectrum item finishes first
    assert k == 0 and row["status"] == "ok"
    outputs.close()  # what run_batch does on KeyboardInterrupt
    assert multiprocessing.active_children() == []


def test_progress_bar_on_request_and_quiet_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spectra = _run(3)
    run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1, progress=True)
    assert "3/3" in capsys.readouterr().err
    run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1)  # stderr is no terminal here
    run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_batch_log_lines_and_handler_removed(tmp_path: Path) -> None:
    (tmp_path / "junk.mpt").write_text("EC-Lab ASCII FILE\nNb header lines : 99\n")
    handlers, level = list(LOGGER.handlers), LOGGER.level
    out = tmp_path / "out"
    run_batch([tmp_path / "junk.mpt", SAMPLES / "na_nzsp_na_single.csv"], _settings(),
              out_dir=out, jobs=1)  # fmt: skip
    assert (LOGGER.handlers, LOGGER.level) == (handlers, level)
    lines = (out / "batch.log").read_text().splitlines()
    assert "batch started: 1 spectra in 1 cell(s), 1 unreadable file(s)" in lines[0]
    assert any("WARNING unreadable file" in x and "junk.mpt" in x for x in lines)
    assert "batch finished: 2 rows: 1 ok, 0 warning, 0 undetermined, 0 failed, 1 error " \
        "(0 reused)" in lines[-1]
    run_batch([SAMPLES / "na_nzsp_na_single.csv"], _settings(), out_dir=out, jobs=1)
    text = (out / "batch.log").read_text()
    assert text.count("batch started") == 2 and "(1 reused)" in text  # appended


def test_failed_spectra_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from eisfit import Spectrum, SpectrumMeta

    tiny = Spectrum(np.array([1e3, 1e2]), np.array([100 - 1j, 110 - 5j]), SpectrumMeta("tiny"))
    with caplog.at_level(logging.INFO, logger="eisfit.batch"):
        run_batch([tiny], _settings(), out_dir=tmp_path, jobs=1)
    assert any(r.levelname == "WARNING" and "failed: tiny #0" in r.message for r in caplog.records)
    assert "failed: tiny #0" in (tmp_path / "batch.log").read_text()


def test_results_parquet_matches_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    run_batch(_run(4), _settings(), out_dir=tmp_path, jobs=1)
    parquet = pd.read_parquet(tmp_path / "results.parquet")
    csv = pd.read_csv(tmp_path / "results.csv")
    assert list(parquet.columns) == list(csv.columns)
    assert parquet["R_soli_ohm"].to_numpy() == pytest.approx(csv["R_soli_ohm"].to_numpy())


def test_scheduler_without_dask_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(EisfitError, match=r"install eisfit\[dask\]"):
        run_batch(_run(2), _settings(), scheduler="tcp://127.0.0.1:1")
