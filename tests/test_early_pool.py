"""The batch's worker processes fork before the files are read (issue 15, memory at scale).

A forked worker maps every page its parent held at the fork, so workers started after the
plan of 10^5 spectra each counted the plan in their RSS.  `eisfit.runs.execute.local_pool`
starts them first; `run_slices` stops them as soon as it no longer needs them, before the
table is written.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import eisfit.runs.batch as batch
import eisfit.runs.execute as execute
from eisfit import SpectrumMeta
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import Arc, SyntheticCell, simulate

FREQ = np.logspace(6, -1, 40)
CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
T0 = datetime(2026, 1, 1)
SETTINGS = BatchSettings(circuit=CELL.circuit)
COMPARED = ["source", "index", "status", "R0.R", "R1.R", "CPE1.n", "R2.R", "chi2"]


def _spectra(cells: int, per_cell: int) -> list:
    rng = np.random.default_rng(11)
    return [
        simulate(CELL.circuit, CELL.values, FREQ, noise=0.003, rng=rng,
                 meta=SpectrumMeta(source=f"cell{c}", index=i,
                                   timestamp=T0 + timedelta(hours=i)))
        for c in range(cells) for i in range(per_cell)
    ]  # fmt: skip


def _children_at(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Replace ``module.name`` by a wrapper recording how many worker processes are alive
    at each call."""
    seen: list[int] = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        seen.append(len(multiprocessing.active_children()))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return seen


def test_workers_are_forked_before_the_plan_and_gone_after(monkeypatch) -> None:
    spectra = _spectra(cells=2, per_cell=3)
    alive = _children_at(monkeypatch, batch, "plan_batch")
    table = run_batch(spectra, SETTINGS, jobs=2, cell_by="file", progress=False)
    assert alive == [2]  # both workers exist while the files are read
    assert multiprocessing.active_children() == []
    assert (table["status"] == "ok").all()
    monkeypatch.undo()
    here = run_batch(spectra, SETTINGS, jobs=1, cell_by="file", progress=False)
    pd.testing.assert_frame_equal(table[COMPARED], here[COMPARED])  # same rows either way


def test_a_pool_the_run_does_not_need_is_stopped_before_the_fits(monkeypatch) -> None:
    """One cell: its chain is fitted in this process, so the early workers go first."""
    alive = _children_at(monkeypatch, execute, "_here")
    table = run_batch(_spectra(cells=1, per_cell=3), SETTINGS, jobs=2, progress=False)
    assert alive and alive[0] == 0
    assert len(table) == 3
    assert multiprocessing.active_children() == []


def test_one_job_starts_no_worker(monkeypatch) -> None:
    alive = _children_at(monkeypatch, batch, "plan_batch")
    run_batch(_spectra(cells=2, per_cell=2), SETTINGS, jobs=1, cell_by="file", progress=False)
    assert alive == [0]


def test_a_failure_while_planning_stops_the_workers(monkeypatch) -> None:
    def broken(*args, **kwargs):
        assert len(multiprocessing.active_children()) == 2
        raise RuntimeError("planning failed")

    monkeypatch.setattr(batch, "plan_batch", broken)
    with pytest.raises(RuntimeError, match="planning failed"):
        run_batch(_spectra(cells=2, per_cell=1), SETTINGS, jobs=2, progress=False)
    assert multiprocessing.active_children() == []


def test_the_workers_are_gone_before_the_table_and_trends_are_written(monkeypatch, tmp_path):
    """The batch process peaks while it writes the table and the trends: its idle workers
    must not sit beside it then."""
    alive = _children_at(monkeypatch, batch, "_save")
    trends = _children_at(monkeypatch, batch, "_write_trends")
    run_batch(_spectra(cells=3, per_cell=4), SETTINGS, jobs=2, cell_by="file",
              progress=False, out_dir=tmp_path)  # fmt: skip
    assert alive == [0] and trends == [0]
    assert (tmp_path / "trends.json").is_file()


def test_ctrl_c_during_the_fits_stops_the_workers_before_the_table_is_saved(
    monkeypatch, tmp_path
) -> None:
    from eisfit.errors import BatchInterrupted

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "log_row", interrupted)  # Ctrl-C as the first row arrives
    alive = _children_at(monkeypatch, batch, "_save")
    with pytest.raises(BatchInterrupted):
        run_batch(_spectra(cells=3, per_cell=4), SETTINGS, jobs=2, cell_by="file",
                  progress=False, out_dir=tmp_path)  # fmt: skip
    assert alive == [0]  # no worker left computing while the finished rows are saved
    assert multiprocessing.active_children() == []
