"""`eisfit.runs.batch.run_batch` on a Dask cluster (``scheduler=``), against the in-process run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_series import _run, _settings

import eisfit.cli.main as cli
from eisfit.runs.batch import run_batch
from eisfit.runs.plan import chunks

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


def test_dask_rows_equal_the_in_process_run(cluster: object, tmp_path: Path) -> None:
    spectra = _run(60, seed=5)
    one = run_batch(spectra, _settings(), jobs=1, cell_by="all")
    with distributed.Client(cluster) as client:
        on_dask = run_batch(spectra, _settings(), cell_by="all", scheduler=client, out_dir=tmp_path)
    assert list(on_dask["status"]) == list(one["status"])
    assert list(on_dask["time_h"]) == list(one["time_h"])
    # two workers: chunked as jobs=2, three chunks of 20, each starting fresh
    assert chunks([60], 2) == [(0, 0, 20), (0, 20, 40), (0, 40, 60)]
    assert list(on_dask.index[on_dask["start_path"] == "fresh"]) == [0, 20, 40]
    same_start = np.arange(60) < 20  # the first chunk starts where the jobs=1 run starts
    for column in ("R_bulk_ohm", "R_gb_ohm", "R_soli_ohm"):
        a, b = one[column].to_numpy(), on_dask[column].to_numpy()
        np.testing.assert_allclose(b[same_start], a[same_start], rtol=1e-6)
        tolerance = np.maximum(1e-6 * np.abs(a), one[f"{column}_stderr"].to_numpy() / 100)
        assert (np.abs(a - b) <= tolerance).all(), column
    assert len(list((tmp_path / "fits").glob("*.json"))) == 60
    assert "Dask scheduler" in (tmp_path / "batch.log").read_text()


def test_cli_scheduler_address_and_resume(
    cluster: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["batch", str(Path(__file__).parents[1] / "sample_spectra" / "na_nzsp_na_cycling.csv")]
    argv += ["--model", "gb-soli", "--out", str(tmp_path), "--scheduler", cluster.scheduler_address]
    argv += ["--no-report"]
    assert cli.main(argv) == 0
    assert "24 ok, 0 failed" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "(24 reused)" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "results.csv")["reused"].all()
