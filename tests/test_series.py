"""The batch runner (`eisfit.run_batch`): ordering, warm starts, bad data, resume, jobs."""

from __future__ import annotations

import itertools
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit.fitting.api
from eisfit import Cell, Spectrum, SpectrumMeta, read, write_csv, write_zview
from eisfit.errors import EisfitError
from eisfit.runs.batch import BatchSettings, run_batch, spectrum_digest
from eisfit.runs.plan import chunks as plan_chunks
from eisfit.synthetic import Arc, SyntheticCell, simulate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_spectra"
FREQ = np.logspace(np.log10(7e6), -1, 60)
T0 = datetime(2026, 1, 1, 8, 0)


def _settings(**options) -> BatchSettings:
    return BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1), **options)


def _soli(t_h: float) -> float:
    return 300.0 + 50.0 * math.sqrt(t_h)


def _run(n: int, source: str = "cellA", seed: int = 3) -> list[Spectrum]:
    """n spectra every 2 h of an interphase growing as R0 + k sqrt(t), shuffled."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(_soli(2.0 * i), 100.0, 0.8)))
        meta = SpectrumMeta(source=source, index=i, timestamp=T0 + timedelta(hours=2 * i))
        out.append(simulate(cell.circuit, cell.values, FREQ, noise=0.003, rng=rng, meta=meta))
    order = rng.permutation(n)
    return [out[k] for k in order]


def test_synthetic_run_tracks_soli_in_time_order_mostly_warm() -> None:
    frame = run_batch(_run(30), _settings(), jobs=1)
    assert list(frame["time_h"]) == [2.0 * i for i in range(30)]
    assert set(frame["time_source"]) == {"timestamp"}
    assert (frame["status"] == "ok").all()
    truth = np.array([_soli(t) for t in frame["time_h"]])
    error = np.abs(frame["R_soli_ohm"].to_numpy() / truth - 1)
    assert error.max() < 0.03
    paths = frame["start_path"].value_counts()
    assert paths.get("fresh") == 1 and paths.get("warm", 0) >= 25
    assert frame["asr_soli_ohm_cm2"].to_numpy() == pytest.approx(frame["R_soli_ohm"] / 2)
    assert frame["R_ct_ohm"].isna().all()  # the circuit has no charge-transfer arc


def test_sample_cycling_file_in_file_order(tmp_path: Path) -> None:
    truth = json.loads((SAMPLES / "ground_truth.json").read_text())
    frame = run_batch([SAMPLES / "na_nzsp_na_cycling.csv"], _settings(), out_dir=tmp_path, jobs=1)
    assert len(frame) == 24 and (frame["status"] == "ok").all()
    assert set(frame["time_source"]) == {"file_order"}
    assert list(frame["time_h"]) == [float(i) for i in range(24)]
    r2_0 = truth["arcs"]["soli_t0"]["R_ohm"]
    assert frame["R_soli_ohm"].iloc[0] == pytest.approx(r2_0, rel=0.02)
    assert (frame["R_soli_ohm"].diff().dropna() > -10).all()  # growing
    on_disk = pd.read_csv(tmp_path / "results.csv")
    assert list(on_disk.columns) == list(frame.columns)
    fits = sorted((tmp_path / "fits").glob("*.json"))
    assert len(fits) == 24
    record = json.loads(fits[0].read_text())
    assert {"fit", "analysis", "row", "provenance"} <= set(record)
    prov = record["provenance"]
    assert prov["settings_digest"] == _settings().digest()
    assert len(prov["file_sha256"]) == 64 and prov["eisfit_version"]
    assert "trends" in json.loads((tmp_path / "trends.json").read_text())
    assert not list(tmp_path.glob(".*tmp*"))


def test_bad_files_become_error_rows_and_good_results_stay(tmp_path: Path) -> None:
    good = read(SAMPLES / "na_nzsp_na_single.csv")[0]
    write_csv(good, tmp_path / "good.csv")
    text = (tmp_path / "good.csv").read_text()
    (tmp_path / "truncated.csv").write_text(text[:120])
    (tmp_path / "junk.mpt").write_text("EC-Lab ASCII FILE\nNb header lines : 99\ngarbage\n")
    frame = run_batch([tmp_path, tmp_path / "missing.csv"], _settings(), jobs=1)
    by_name = {
        Path(s).name: row for s, row in zip(frame["source"], frame.itertuples(), strict=True)
    }
    assert by_name["good.csv"].status == "ok"
    for name in ("truncated.csv", "junk.mpt", "missing.csv"):
        assert by_name[name].status == "error"
        assert by_name[name].message
    assert len(frame) == 4


def test_short_circuit_gives_a_flagged_row_not_a_crash() -> None:
    f = np.logspace(6, -1, 50)
    z = 2.0 + 1e-4 * np.random.default_rng(1).standard_normal(f.size)
    frame = run_batch([Spectrum(f, z, SpectrumMeta(source="short"))], _settings(), jobs=1)
    row = frame.iloc[0]
    # the gb-soli arcs are absent from a plain 2-ohm resistor: undetermined, with reasons
    assert row["status"] == "undetermined"
    assert "absent" in row["reasons"]
    assert math.isnan(row["R_soli_ohm"]) and math.isnan(row["R_gb_ohm"])
    assert row["R_total_ohm"] == pytest.approx(2.0, rel=0.05)


def test_too_few_points_is_a_failed_row() -> None:
    f = np.array([1e3, 1e2])
    spectrum = Spectrum(f, np.array([100 - 1j, 110 - 5j]), SpectrumMeta(source="tiny"))
    frame = run_batch([spectrum], _settings(), jobs=1)
    assert frame["status"].tolist() == ["failed"]
    assert "too few" in frame["message"].iloc[0]


def test_resume_reuses_fits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = eisfit.fitting.api.fit

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(eisfit.fitting.api, "fit", counting)  # series_fit imports it per fit
    spectra = _run(8)
    first = run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1)
    n_first = len(calls)
    assert n_first >= 8 and not first["reused"].any()
    second = run_batch(spectra, _settings(), out_dir=tmp_path, jobs=1)
    assert len(calls) == n_first  # nothing refitted
    assert second["reused"].all()
    cols = ["R_soli_ohm", "chi2", "status", "start_path", "time_h"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    run_batch(spectra, _settings(kk=False), out_dir=tmp_path, jobs=1)
    assert len(calls) >= 2 * n_first - 1  # other settings: refitted


def test_jobs_two_equals_jobs_one() -> None:
    spectra = _run(6, "cellA", seed=1) + _run(6, "cellB", seed=2)
    one = run_batch(spectra, _settings(), jobs=1, cell_by="file")
    two = run_batch(spectra, _settings(), jobs=2, cell_by="file")
    pd.testing.assert_frame_equal(one, two)
    assert set(one["cell"]) == {"cellA", "cellB"}


def test_settings_digest_and_spectrum_digest() -> None:
    assert _settings().digest() == _settings().digest()
    assert _settings().digest() != _settings(kk=False).digest()
    a, b = _run(2)
    assert spectrum_digest(a) != spectrum_digest(b)
    assert spectrum_digest(a) == spectrum_digest(a.with_meta(source="elsewhere"))


def test_timestamped_files_are_ordered_by_time_not_name(tmp_path: Path) -> None:
    spectra = sorted(_run(3), key=lambda s: s.meta.timestamp)
    for name, spectrum in zip(("c.z", "b.z", "a.z"), spectra, strict=True):
        write_zview(spectrum, tmp_path / name)
    frame = run_batch([tmp_path / "*.z"], _settings(), jobs=1)
    assert [Path(s).name for s in frame["source"]] == ["c.z", "b.z", "a.z"]
    assert list(frame["time_h"]) == [0.0, 2.0, 4.0]
    assert set(frame["time_source"]) == {"timestamp"}


def test_a_jump_falls_back_to_a_fresh_fit() -> None:
    spectra = sorted(_run(6), key=lambda s: s.meta.timestamp)
    cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(5000.0, 3.0, 0.8)))
    meta = SpectrumMeta(source="cellA", index=6, timestamp=T0 + timedelta(hours=12))
    spectra.append(simulate(cell.circuit, cell.values, FREQ, noise=0.003, meta=meta))
    frame = run_batch(spectra, _settings(), jobs=1)
    last = frame.iloc[-1]
    assert last["start_path"] == "fallback" and last["status"] == "ok"
    assert last["R_soli_ohm"] == pytest.approx(5000.0, rel=0.05)


def _one_spectrum_per_file(folder: Path, spectra: list[Spectrum]) -> None:
    folder.mkdir()
    for k, spectrum in enumerate(sorted(spectra, key=lambda s: s.meta.timestamp)):
        write_zview(spectrum, folder / f"s{k:02d}.z")


@pytest.mark.parametrize(
    ("cell_by", "fresh", "cells"), [("folder", 2, 2), ("file", 8, 8), ("all", 1, 1), (None, 2, 2)]
)
def test_cell_by_decides_which_spectra_chain_warm_starts(
    tmp_path: Path, cell_by: str | None, fresh: int, cells: int
) -> None:
    _one_spectrum_per_file(tmp_path / "cellA", _run(4, seed=1))
    _one_spectrum_per_file(tmp_path / "cellB", _run(4, seed=2))
    (tmp_path / "cellB" / "junk.mpt").write_text("EC-Lab ASCII FILE\nNb header lines : 9\n")
    frame = run_batch(
        [tmp_path / "cellA", tmp_path / "cellB"], _settings(), jobs=1, cell_by=cell_by
    )
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 8
    assert (ok["start_path"] == "fresh").sum() == fresh
    assert ok["cell"].nunique() == cells
    junk = frame[frame["status"] == "error"].iloc[0]
    if cell_by in ("folder", None):
        assert set(frame["cell"]) == {str(tmp_path / "cellA"), str(tmp_path / "cellB")}
    expected = {"file": junk["source"], "all": "all"}.get(cell_by, str(tmp_path / "cellB"))
    assert junk["cell"] == expected


def test_unknown_cell_by_raises() -> None:
    with pytest.raises(EisfitError, match="cell_by"):
        run_batch(_run(1), _settings(), jobs=1, cell_by="cycle")


def test_chunks_are_contiguous_and_only_when_parallel() -> None:
    assert plan_chunks([60, 10], 1) == [(0, 0, 60), (1, 0, 10)]
    assert plan_chunks([60, 10], 2) == [(0, 0, 20), (0, 20, 40), (0, 40, 60), (1, 0, 10)]
    chunks = plan_chunks([1000], 2)
    assert [b - a for _, a, b in chunks] == [125] * 8
    assert all(b == a2 for (_, _, b), (_, a2, _) in itertools.pairwise(chunks))


def test_chunked_jobs_two_matches_jobs_one_up_to_fit_tolerance() -> None:
    spectra = _run(60, seed=5)
    one = run_batch(spectra, _settings(), jobs=1, cell_by="all")
    two = run_batch(spectra, _settings(), jobs=2, cell_by="all")  # 3 chunks of 20
    assert list(one["status"]) == list(two["status"])
    assert list(one["time_h"]) == list(two["time_h"])
    differ = one["start_path"] != two["start_path"]
    assert (two.loc[differ, "start_path"] == "fresh").all()
    assert list(two.index[two["start_path"] == "fresh"]) == [0, 20, 40]
    for column in ("R_bulk_ohm", "R_gb_ohm", "R_soli_ohm"):
        a, b = one[column].to_numpy(), two[column].to_numpy()
        tolerance = np.maximum(1e-6 * np.abs(a), one[f"{column}_stderr"].to_numpy() / 100)
        assert (np.abs(a - b) <= tolerance).all(), column


def test_a_cell_that_shorts_raises_a_short_circuit_event(tmp_path: Path) -> None:
    """End to end: the arcs of a shorted cell are absent from its spectra (undetermined
    rows), but its total resistance is measured, so the short is seen."""
    spectra = sorted(_run(10), key=lambda s: s.meta.timestamp)
    rng = np.random.default_rng(9)
    for k in range(7, 10):
        z = 2.0 + 1e-3 * rng.standard_normal(FREQ.size)
        spectra[k] = Spectrum(FREQ, z, spectra[k].meta)
    out = tmp_path / "out"
    frame = run_batch(spectra, _settings(), out_dir=out, jobs=1)
    shorted = frame[frame["time_h"] >= 14.0]
    assert set(shorted["status"]) == {"undetermined"}
    assert shorted["R_soli_ohm"].isna().all()
    assert shorted["R_total_ohm"].to_numpy() == pytest.approx(2.0, rel=0.01)
    events = json.loads((out / "trends.json").read_text())["events"]
    shorts = [e for e in events if e["kind"] == "short_circuit"]
    assert len(shorts) == 1 and shorts[0]["time_h"] == pytest.approx(14.0)
