"""Batches whose memory does not grow with their spectra (issue 15): the streamed table,
work slices that keep the warm-start chain, the compact plan, the row index read an
entry at a time, the trend columns, and bad input (many tiny files, a many-loop file)."""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_trends import run_table
from test_series import _run, _settings

import eisfit.runs.execute
import eisfit.runs.table
from eisfit import Spectrum, SpectrumMeta
from eisfit.errors import EisfitError
from eisfit.runs.batch import run_batch
from eisfit.runs.csv_cells import neutralise
from eisfit.runs.plan import plan_batch
from eisfit.runs.row_index import RowIndexFile, load_rows, save_rows
from eisfit.runs.rows import base_row
from eisfit.runs.store import SpectrumStore
from eisfit.runs.table import RowSpill, build_frame, table_digest_head, write_table
from eisfit.runs.worker import spectrum_digest
from eisfit.synthetic import Arc, SyntheticCell, ec_lab_mpt_text, simulate
from eisfit.trends.analysis import TABLE_COLUMNS, analyse_trends

COLUMNS = ["source", "index", "reused", "time_h", "chi2", "status", "partial", "kk_valid",
           "count", "empty", "text"]  # fmt: skip


def _value(column: str, i: int, rng: np.random.Generator) -> object:
    """Values of every kind a results column holds, so dtypes depend on the whole column."""
    r = rng.random()
    choices = {
        "source": f"=cell{i % 3}.mpt" if r < 0.2 else f"cell{i % 3}.mpt",
        "index": i if i != 17 else None,  # one None: the whole column becomes float
        "reused": bool(r < 0.3),
        "time_h": float(i),
        "chi2": np.float64(r) if r > 0.1 else None,
        "status": "ok" if r < 0.8 else "failed",
        "partial": bool(r < 0.5) if i != 23 else math.nan,  # bools and one NaN: object
        "kk_valid": None if r < 0.5 else np.bool_(r < 0.7),
        "count": 3,  # ints throughout: int64
        "empty": None,
        "text": "-5" if r < 0.1 else ("'x" if r < 0.2 else None),
    }
    return choices[column]


def _rows(n: int, seed: int = 1) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows = [{c: _value(c, i, rng) for c in COLUMNS} for i in range(n)]
    for row in rows[::5]:
        row.pop("text")  # a missing key is NaN, as pandas fills it
    return rows


def _old_digest(frame: pd.DataFrame) -> str:
    """The trends' table digest as `eisfit.runs.batch` computed it from the whole table."""
    table = frame.drop(columns=["reused"])
    h = hashlib.sha256(table_digest_head("v", 3, list(table.columns)))
    h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("n", [0, 1, 7, 30])
def test_the_streamed_table_is_the_whole_table(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eisfit.runs.table, "BLOCK_ROWS", 4)  # many blocks, mixed kinds
    rows = _rows(n)
    whole = build_frame(rows, COLUMNS)
    head = table_digest_head("v", 3, [c for c in COLUMNS if c != "reused"])
    with RowSpill(COLUMNS, tmp_path) as spill:
        for i, row in reversed(list(enumerate(rows))):  # added out of order, sorted by key
            spill.add(row, (0.0, float(i)))
        table = write_table(spill, tmp_path, digest_head=head, columns=None,
                            trend_columns=["time_h"])  # fmt: skip
    assert (tmp_path / "results.csv").read_text() == neutralise(whole).to_csv(index=False)
    pd.testing.assert_frame_equal(table.frame, whole)
    assert table.digest == _old_digest(whole)
    assert table.statuses == {str(k): int(v) for k, v in whole["status"].value_counts().items()}
    assert list(table.trend_frame.columns) == ["time_h"]
    if n > 17:  # one None among ints made the whole column float, in every block
        assert whole["index"].dtype == float
        assert ",16.0," in (tmp_path / "results.csv").read_text()
    pytest.importorskip("pyarrow")
    buffer = io.BytesIO()
    whole.to_parquet(buffer, index=False)
    expected = pd.read_parquet(buffer)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), expected)


def test_rows_are_ordered_by_key_then_by_arrival(tmp_path: Path) -> None:
    with RowSpill(["reused", "time_h", "chi2", "status", "n"], tmp_path) as spill:
        for n, key in enumerate([(0, 2.0), (1, 0.0), (0, 1.0), (0, 2.0), (0, -1.0)]):
            spill.add({"status": "ok", "n": n, "time_h": 0.0}, key)
        table = write_table(spill, None, digest_head=b"", columns=["n"], trend_columns=[])
    assert list(table.frame["n"]) == [4, 2, 0, 3, 1]
    assert list(table.frame.columns) == ["n"]


def _tiny_slices(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(eisfit.runs.execute, "SLICE_SPECTRA", size)


@pytest.mark.parametrize("jobs", [1, 2])
def test_slices_keep_the_warm_start_chain_of_the_whole_item(
    jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    spectra = _run(30, seed=7)
    whole = run_batch(spectra, _settings(), jobs=jobs, cell_by="all")
    _tiny_slices(monkeypatch, 4)  # 30 spectra: chunks of 25 + 5 with jobs=2, cut into 4s
    sliced = run_batch(spectra, _settings(), jobs=jobs, cell_by="all")
    pd.testing.assert_frame_equal(sliced, whole)  # exactly: the same fits, not similar ones
    assert (sliced["start_path"] == "warm").sum() >= 25


def test_a_resumed_run_in_slices_reuses_and_continues_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_slices(monkeypatch, 3)
    spectra = _run(12, seed=2)
    run_batch(spectra[:7], _settings(), out_dir=tmp_path, jobs=1, cell_by="all")
    again = run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1, cell_by="all")
    assert len(again) == 12 and (again["status"] == "ok").all()
    assert again["reused"].sum() == 7
    fitted = again.loc[~again["reused"]].drop(index=0, errors="ignore")
    assert (fitted["start_path"] == "warm").all()  # warm from the reused row before them
    index = load_rows(tmp_path / ".cache")
    assert len(index) == 12  # every row of the run, reused or fitted


def _mpt_folder(folder: Path, files: int, loops: int, seed: int = 0) -> list[Spectrum]:
    """EC-Lab .mpt files of ``loops`` spectra each; the spectra as written."""
    rng = np.random.default_rng(seed)
    frequency_hz = np.logspace(np.log10(7e6), -1, 40)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(files):
        hours = [float(h) for h in range(k * loops, (k + 1) * loops)]
        spectra = []
        for t_h in hours:
            soli = Arc(300 + 50 * math.sqrt(t_h), 100.0, 0.8)
            cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), soli))
            spectra.append(simulate(cell.circuit, cell.values, frequency_hz, noise=0.003, rng=rng))
        start = datetime(2026, 1, 5) + timedelta(hours=hours[0])
        (folder / f"part{k}.mpt").write_text(ec_lab_mpt_text(spectra, start, hours), "latin-1")
        written.extend(spectra)
    return written


def test_the_plan_keeps_no_points_and_reads_them_back_exactly(tmp_path: Path) -> None:
    _mpt_folder(tmp_path / "run", files=3, loops=5)
    settings = _settings(f_max_hz=1e6)
    plan = plan_batch([tmp_path / "run"], settings, "folder", tmp_path / "out")
    assert [f.spectra for f in plan.files] == [None] * 3  # reloaded from the read cache
    (cell,) = plan.cells
    store = SpectrumStore(plan, settings)
    for j in range(len(cell)):
        spectrum = store.spectrum(0, j)
        assert spectrum_digest(spectrum) == cell.digest(j)
        assert spectrum.frequency_hz.max() <= 1e6
        assert cell.ident(j) == {k: v for k, v in base_row(spectrum, ()).items()
                                 if k in ("source", "index", "cycle", "timestamp")}  # fmt: skip
    without_out = plan_batch([tmp_path / "run"], settings, "folder", None)
    assert all(f.spectra is not None for f in without_out.files)  # nothing to reload from


def test_a_digest_ending_in_zero_bytes_survives_the_plan() -> None:
    from eisfit.runs.plan import CellPlan

    raw = bytes(range(1, 29)) + bytes(4)
    digests = np.frombuffer(raw, dtype=np.uint8).reshape(1, 32)
    cell = CellPlan("c", np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros(1), digests,
                    ["s_0"], np.full((1, 3), np.nan), np.zeros(1, bool), [None],
                    np.zeros(1, np.int64), np.zeros(1, np.int64), [None])  # fmt: skip
    assert cell.digest(0) == raw.hex() and len(cell.digest(0)) == 64


def test_the_row_index_is_read_an_entry_at_a_time(tmp_path: Path) -> None:
    fits, cache = tmp_path / "fits", tmp_path / ".cache"
    fits.mkdir()
    entries = {}
    for i in range(50):
        (fits / f"a_{i}.json").write_text("{}")
        entries[f"a_{i}"] = ("d" * 64, "s" * 64, {"R_soli_ohm": 400.0 + i, "x": None})
    save_rows(cache, fits, entries)
    whole = load_rows(cache)
    with RowIndexFile(cache) as index:
        assert index._whole is None  # private: the lazy path is the one under test
        for stem in entries:
            assert index.get(stem) == whole[stem]
        assert index.get("a_50") is None
    text = (cache / "rows.json").read_text()
    lines = text.splitlines()
    lines[3] = lines[3][:40]  # one damaged entry: a miss, the others stay
    (cache / "rows.json").write_text("\n".join(lines) + "\n")
    with RowIndexFile(cache) as index:
        assert index.get("a_2") is None and index.get("a_3") == whole["a_3"]
    (cache / "rows.json").write_text(json.dumps(json.loads(text)))  # one line: read whole
    with RowIndexFile(cache) as index:
        assert index._whole is not None and index.get("a_7") == whole["a_7"]


def test_the_trends_need_only_their_columns() -> None:
    first = run_table(40, seed=3).assign(cell="A", time_source="timestamp", partial=False)
    second = run_table(40, seed=4).assign(cell="B", time_source="timestamp", partial=False)
    second.loc[20:, "R_soli_ohm"] *= 2.0  # a jump
    table = pd.concat([first, second], ignore_index=True).assign(
        message="", source="x.mpt", chi2=1.0, R_ct_ohm=math.nan
    )
    kept = table[[c for c in table.columns if c in TABLE_COLUMNS]]
    assert analyse_trends(kept) == analyse_trends(table)
    assert analyse_trends(table)["events"]  # the comparison covers events too


def test_many_tiny_files_and_a_long_file_each_get_a_clear_row(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    three = simulate("R0-p(R1,CPE1)", {"R0.R": 100.0, "R1.R": 300.0, "CPE1.Q": 1e-6,
                                       "CPE1.n": 0.9}, np.array([1e5, 1e2, 1.0]))  # fmt: skip
    contents = ["", "junk\n", "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n",
                ec_lab_mpt_text([three], datetime(2026, 1, 5), [0.0])]  # fmt: skip
    for i in range(40):
        (tiny / f"t{i:03d}.mpt").write_text(contents[i % 4], "latin-1")
    _mpt_folder(tmp_path / "long", files=1, loops=120)
    frame = run_batch([tiny, tmp_path / "long"], _settings(), out_dir=tmp_path / "out", jobs=2)
    assert len(frame) == 40 + 120  # a row for every tiny file, one per loop of the long one
    by_source = frame.groupby("source")["status"].agg(list)
    for i in range(40):
        statuses = by_source[str(tiny / f"t{i:03d}.mpt")]
        assert len(statuses) == 1, i
        assert statuses[0] == ("error" if i % 4 < 3 else "failed"), (i, statuses)
    unusable = frame[frame["status"].isin(["error", "failed"])]
    assert len(unusable) == 40 and unusable["message"].str.len().gt(20).all()  # says why
    assert unusable["message"].str.contains("too few|not an EC-Lab|no data|empty").all()
    long = frame[frame["source"].str.endswith("part0.mpt")]
    assert len(long) == 120 and long["status"].isin(["ok", "warning"]).all()
    assert (tmp_path / "out" / "results.csv").exists()


def test_spectra_in_memory_named_like_a_file_join_its_cell(tmp_path: Path) -> None:
    written = _mpt_folder(tmp_path, files=1, loops=3)
    path = str(tmp_path / "part0.mpt")
    extra = Spectrum(written[0].frequency_hz, written[0].impedance_ohm,
                     SpectrumMeta(source=path, index=3))  # fmt: skip
    frame = run_batch([tmp_path / "part0.mpt", extra], _settings(), out_dir=tmp_path / "o",
                      jobs=1, cell_by="file")  # fmt: skip
    assert len(frame) == 4 and frame["cell"].nunique() == 1


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="patches forked workers")
def test_a_worker_killed_mid_run_stops_with_rows_saved_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eisfit.runs.worker as worker

    real = worker._fit_one

    def dying(spectrum, settings, prev):
        if spectrum.meta.index == 30:
            os._exit(3)  # the system killed it (out of memory, say)
        return real(spectrum, settings, prev)

    # private: a worker's death is injected at one spectrum's fit; no public hook exists
    monkeypatch.setattr(worker, "_fit_one", dying)
    _tiny_slices(monkeypatch, 5)
    spectra = _run(40, seed=4)
    with pytest.raises(EisfitError, match=r"worker process ended.*re-run the same command"):
        run_batch(spectra, _settings(), out_dir=tmp_path, jobs=2, cell_by="all")
    saved = pd.read_csv(tmp_path / "results.csv")
    assert len(saved) < 40 and (saved["status"] == "ok").all()
    monkeypatch.undo()
    again = run_batch(spectra, _settings(), out_dir=tmp_path, jobs=2, cell_by="all")
    assert len(again) == 40 and int(again["reused"].sum()) == len(saved)
