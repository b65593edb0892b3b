"""What makes a resumed batch cheap: the read cache and the trends digest (`run_batch`)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest
from test_series import _settings

import eisfit.runs.batch as series
import eisfit.runs.cache as batch_cache
from eisfit.runs.batch import run_batch
from eisfit.runs.records import record_text

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _copy_samples(folder: Path) -> list[Path]:
    folder.mkdir()
    names = ("na_nzsp_na_single.csv", "na_nzsp_na_cycling.csv")
    for name in names:
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    return [folder / name for name in names]


def test_a_rerun_parses_no_unchanged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    single, _ = _copy_samples(tmp_path / "in")
    out = tmp_path / "out"
    reads = _counting(monkeypatch, batch_cache, "read")
    first = run_batch([tmp_path / "in"], _settings(), out_dir=out, jobs=1, cell_by="file")
    assert len(reads) == 2 and len(list((out / ".cache" / "read").glob("*.npz"))) == 2
    second = run_batch([tmp_path / "in"], _settings(), out_dir=out, jobs=1, cell_by="file")
    assert len(reads) == 2  # both from the cache
    assert second["reused"].all()
    cols = ["source", "index", "time_h", "status", "R_soli_ohm", "cell"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    single.write_text(single.read_text().replace("\n", "\r\n"))  # same data, new bytes
    third = run_batch([tmp_path / "in"], _settings(), out_dir=out, jobs=1, cell_by="file")
    assert len(reads) == 3  # only the changed file is parsed again
    assert third["reused"].all()  # its spectrum is the same: the fit is reused


def test_a_broken_or_foreign_cache_file_is_a_miss(tmp_path: Path) -> None:
    (path,) = _copy_samples_single(tmp_path)
    cache = tmp_path / "cache"
    spectra = batch_cache.cached_read(path, "abc", cache)
    npz, _ = batch_cache.entry_files(path, "abc", cache)
    assert batch_cache.cached_spectra(path, "abc", cache)[0].meta == spectra[0].meta
    npz.write_bytes(pickle.dumps(Path("not allowed")))  # not an npz at all
    assert batch_cache.cached_spectra(path, "abc", cache) is None
    npz.write_bytes(b"PK\x03\x04trunc")
    assert batch_cache.cached_spectra(path, "abc", cache) is None
    again = batch_cache.cached_read(path, "abc", cache)  # read again and rewritten
    assert (again[0].impedance_ohm == spectra[0].impedance_ohm).all()
    assert batch_cache.cached_spectra(path, "abc", cache) is not None


def _copy_samples_single(folder: Path) -> list[Path]:
    path = folder / "single.csv"
    path.write_bytes((SAMPLES / "na_nzsp_na_single.csv").read_bytes())
    return [path]


def test_trends_are_not_recomputed_for_an_unchanged_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = [SAMPLES / "na_nzsp_na_cycling.csv"]
    calls = _counting(monkeypatch, series, "trends_of")
    run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    trends = json.loads((tmp_path / "trends.json").read_text())
    assert len(calls) == 1 and len(trends["results_digest"]) == 64
    run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    assert len(calls) == 1
    assert json.loads((tmp_path / "trends.json").read_text()) == trends
    run_batch(source, _settings(kk=False), out_dir=tmp_path, jobs=1)  # a new table
    assert len(calls) == 2


def test_the_row_index_spares_parsing_fits_but_follows_edits(tmp_path: Path) -> None:
    source = [SAMPLES / "na_nzsp_na_cycling.csv"]
    first = run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    assert (tmp_path / ".cache" / "rows.json").exists()
    record = tmp_path / "fits" / f"{first['fit_file'].iloc[0]}.json"
    text, stat = record.read_text(), record.stat()
    record.write_text("x" * len(text.encode()))  # unparsable, same size and time
    os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    assert again["reused"].all()  # from the index: the record was not parsed
    data = json.loads(text)
    data["row"]["R_soli_ohm"] = 123.0
    record.write_text(record_text(data))  # an edit, sealed: size and time change
    edited = run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    assert edited["reused"].all()
    assert edited["R_soli_ohm"].iloc[0] == 123.0
    data["row"]["R_soli_ohm"] = 456.0
    record.write_text(json.dumps(data))  # an edit whose checksum does not match: refitted
    refit = run_batch(source, _settings(), out_dir=tmp_path, jobs=1)
    assert not refit["reused"].iloc[0] and refit["reused"].iloc[1:].all()
    assert refit["R_soli_ohm"].iloc[0] == pytest.approx(first["R_soli_ohm"].iloc[0], rel=1e-9)
