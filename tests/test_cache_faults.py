"""Every kind of damage to the batch caches is a miss, and the result equals a fresh read.

The read cache (``read/<key>.npz`` + ``.json``) and the row index (``rows.json``) of
`eisfit.runs.cache`: bit flips at every byte, truncation, zero length, a huge ``.npy``
size header, a foreign npz, sidecars that lie, an old pickle entry, JSON nested 100,000
deep, and a 2 GB sparse file (refused from ``stat``: the test bounds the memory the call
allocates).  Plus the exact round trip on every bundled sample and the real-data corpus.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import tracemalloc
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from reader_checks import NO_REAL, REAL, manifest

import eisfit
import eisfit.runs.cache as batch_cache
from eisfit.errors import JsonError
from eisfit.runs.cache import cached_read, cached_spectra, entry_files, indexed_row, load_rows
from eisfit.runs.meta_json import meta_from_json, meta_to_json
from eisfit.runs.worker import spectrum_digest
from eisfit.spectrum import Finding, Spectrum, SpectrumMeta

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"
SAMPLE_FILES = sorted(SAMPLES.glob("*.csv")) + sorted((SAMPLES / "cycling_mpt").glob("*.mpt"))
SPARSE_BYTES = 2 << 30


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same(got: list[Spectrum] | None, want: list[Spectrum]) -> bool:
    """Same points bit for bit (the batch's spectrum digest) and equal meta."""
    return (
        got is not None
        and [spectrum_digest(s) for s in got] == [spectrum_digest(s) for s in want]
        and [s.meta for s in got] == [s.meta for s in want]
    )


class Entry:
    """One input file copied to ``tmp_path``, its cache entry written, its fresh read."""

    def __init__(self, folder: Path, sample: str = "na_nzsp_na_cycling.csv") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / sample
        self.path.write_bytes((SAMPLES / sample).read_bytes())
        self.sha = _sha256(self.path)
        self.cache = folder / "cache"
        self.fresh = eisfit.read(self.path)
        assert _same(cached_read(self.path, self.sha, self.cache), self.fresh)
        self.npz, self.sidecar = entry_files(self.path, self.sha, self.cache)
        self.npz_bytes = self.npz.read_bytes()
        self.sidecar_bytes = self.sidecar.read_bytes()

    def cached(self) -> list[Spectrum] | None:
        return cached_spectra(self.path, self.sha, self.cache)

    def restore(self) -> None:
        self.npz.write_bytes(self.npz_bytes)
        self.sidecar.write_bytes(self.sidecar_bytes)

    def assert_miss_then_fresh(self) -> None:
        """A miss; `cached_read` then gives the fresh read and rewrites a good entry."""
        assert self.cached() is None
        assert _same(cached_read(self.path, self.sha, self.cache), self.fresh)
        assert _same(self.cached(), self.fresh)

    def forge(self, npz: bytes, **changes: object) -> None:
        """Write ``npz`` with a sidecar that vouches for it (size, sha256, own checksum)."""
        body = json.loads(self.sidecar_bytes)
        del body["sidecar_sha256"]
        body.update(npz_bytes=len(npz), npz_sha256=hashlib.sha256(npz).hexdigest(), **changes)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        body["sidecar_sha256"] = hashlib.sha256(canonical).hexdigest()
        self.npz.write_bytes(npz)
        self.sidecar.write_text(json.dumps(body))


@pytest.fixture
def entry(tmp_path: Path) -> Entry:
    return Entry(tmp_path / "in")


def _flip_every_byte(data: bytes, rng: random.Random) -> list[bytes]:
    out = []
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 1 << rng.randrange(8)
        out.append(bytes(damaged))
    return out


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_the_cache_gives_exactly_what_read_gives(tmp_path: Path, sample: Path) -> None:
    path = tmp_path / sample.name
    path.write_bytes(sample.read_bytes())
    fresh = eisfit.read(path)
    first = cached_read(path, _sha256(path), tmp_path / "cache")
    again = cached_spectra(path, _sha256(path), tmp_path / "cache")
    assert _same(first, fresh) and _same(again, fresh)
    assert [type(v) for s in again for v in s.meta.extra.values()] == [
        type(v) for s in fresh for v in s.meta.extra.values()
    ]


@NO_REAL
def test_the_cache_round_trip_is_exact_on_the_real_corpus(tmp_path: Path) -> None:
    hits = 0
    for row in manifest():
        path = REAL / row["path"]
        try:
            fresh = eisfit.read(path)
        except eisfit.EisfitError:
            continue
        sha = _sha256(path)
        assert _same(cached_read(path, sha, tmp_path), fresh), row["path"]
        again = cached_spectra(path, sha, tmp_path)
        assert _same(again, fresh), row["path"]
        hits += 1
    assert hits >= 100  # the corpus holds 178 readable files today


def test_meta_values_come_back_as_the_same_types() -> None:
    stamp = datetime(2024, 5, 6, 7, 8, 9, 123456)
    meta = SpectrumMeta(
        source="x.mpt", index=3, timestamp=stamp, cycle=7, temperature_k=298.15,
        extra={"warnings": ("a", "b"), "n": 2, "flag": True, "none": None, "x": -0.0,
               "inf": float("inf"), "nested": {"k": [1, (2.5,)]},
               "aware": stamp.replace(tzinfo=timezone(timedelta(hours=2)))},
        removed=("cropped",), noise_estimate=1e-3,
    )  # fmt: skip
    back = meta_from_json(json.loads(json.dumps(meta_to_json(meta), allow_nan=False)))
    assert back == meta
    assert [type(v) for v in back.extra.values()] == [type(v) for v in meta.extra.values()]
    assert type(back.extra["nested"]["k"][1]) is tuple
    assert str(back.extra["x"]) == "-0.0"


@pytest.mark.parametrize(
    "meta",
    [
        SpectrumMeta(extra={"v": np.float64(1.0)}),
        SpectrumMeta(extra={"v": np.int64(1)}),
        SpectrumMeta(extra={1: "not a str key"}),
        SpectrumMeta(findings=(Finding("outlier", "point 3"),)),
    ],
)
def test_meta_without_an_exact_json_form_is_refused(meta: SpectrumMeta) -> None:
    with pytest.raises(JsonError):
        meta_to_json(meta)


def test_spectra_whose_meta_has_no_exact_form_are_read_but_not_cached(
    entry: Entry, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = [
        Spectrum(s.frequency_hz, s.impedance_ohm, SpectrumMeta(entry.path.name, extra={
            "v": np.float64(2.0)}))
        for s in entry.fresh
    ]  # fmt: skip
    entry.npz.unlink()
    entry.sidecar.unlink()
    monkeypatch.setattr(batch_cache, "read", lambda path: odd)
    assert cached_read(entry.path, entry.sha, entry.cache) == odd
    assert not entry.npz.exists() and entry.cached() is None


@pytest.mark.parametrize("bad", [{"tuple": 1}, {"date": "x"}, {"datetime": "no"}, {"a": 1, "b": 2},
                                 {"dict": [[1, 2]]}, {"float": "1.0"}])  # fmt: skip
def test_a_damaged_meta_encoding_is_refused(bad: object) -> None:
    data = meta_to_json(SpectrumMeta(source="x"))
    data["extra"] = {"dict": [["k", bad]]}
    with pytest.raises(JsonError):
        meta_from_json(data)


# --- damage to the read cache ---------------------------------------------------------------


def test_a_flipped_bit_anywhere_in_the_npz_is_a_miss(tmp_path: Path) -> None:
    entry = Entry(tmp_path, "na_nzsp_na_single.csv")  # 2.7 kB: every byte in a second
    rng = random.Random(13)
    for damaged in _flip_every_byte(entry.npz_bytes, rng):  # zip headers, lengths, data
        entry.npz.write_bytes(damaged)
        assert entry.cached() is None
    entry.assert_miss_then_fresh()


def test_a_flipped_bit_anywhere_in_the_sidecar_is_a_miss_or_changes_nothing(
    tmp_path: Path,
) -> None:
    entry = Entry(tmp_path, "na_nzsp_na_single.csv")
    rng = random.Random(14)
    original = json.loads(entry.sidecar_bytes)
    hits = 0
    for damaged in _flip_every_byte(entry.sidecar_bytes, rng):
        entry.sidecar.write_bytes(damaged)
        got = entry.cached()
        if got is not None:  # only a flip that decodes to the same JSON (e.g. \u00B5 for \u00b5)
            assert json.loads(damaged) == original and _same(got, entry.fresh)
            hits += 1
    assert hits < len(entry.sidecar_bytes) // 100
    entry.sidecar.write_bytes(entry.sidecar_bytes)
    assert _same(entry.cached(), entry.fresh)


@pytest.mark.parametrize("which", ["npz", "sidecar"])
@pytest.mark.parametrize("keep", [0.0, 0.5, -1])
def test_a_truncated_or_empty_file_is_a_miss(entry: Entry, which: str, keep: float) -> None:
    file = entry.npz if which == "npz" else entry.sidecar
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)] if keep >= 0 else data[:-1])
    entry.assert_miss_then_fresh()


def test_a_missing_half_of_the_entry_is_a_miss(entry: Entry) -> None:
    entry.npz.unlink()
    entry.assert_miss_then_fresh()
    entry.sidecar.unlink()
    entry.assert_miss_then_fresh()


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _arrays(entry: Entry) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(entry.npz_bytes), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def test_a_huge_size_header_is_refused_before_any_allocation(entry: Entry) -> None:
    arrays = _arrays(entry)
    huge = dict(arrays)
    header = np.lib.format.header_data_from_array_1_0(arrays["frequency_hz"])
    header["shape"] = (10**12,)  # 8 TB promised, a few kB present
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    member.write(arrays["frequency_hz"].tobytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("frequency_hz.npy", member.getvalue())
        for name in ("impedance_ohm", "offsets"):
            out = io.BytesIO()
            np.save(out, huge[name])
            archive.writestr(f"{name}.npy", out.getvalue())
    entry.forge(buffer.getvalue())  # even a sidecar that vouches for it does not help
    tracemalloc.start()
    try:
        assert entry.cached() is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    entry.assert_miss_then_fresh()


def test_a_foreign_npz_is_a_miss(entry: Entry) -> None:
    foreign = _npz(a=np.arange(10.0), b=np.ones(3))
    entry.npz.write_bytes(foreign)
    entry.assert_miss_then_fresh()
    entry.forge(foreign)  # vouched for: the members are still not ours
    entry.assert_miss_then_fresh()
    arrays = _arrays(entry)
    entry.forge(_npz(**{**arrays, "offsets": arrays["offsets"].astype(np.int32)}))  # wrong dtype
    entry.assert_miss_then_fresh()
    compressed = io.BytesIO()
    np.savez_compressed(compressed, **arrays)
    entry.forge(compressed.getvalue())
    entry.assert_miss_then_fresh()


def test_a_sidecar_that_lies_is_a_miss(entry: Entry) -> None:
    arrays = _arrays(entry)
    entry.npz.write_bytes(_npz(**{**arrays, "impedance_ohm": 2 * arrays["impedance_ohm"]}))
    entry.assert_miss_then_fresh()  # Z doubled, the sidecar's old sha256

    counts = json.loads(entry.sidecar_bytes)["counts"]
    entry.forge(entry.npz_bytes, counts=[counts[0] + 1, *counts[1:]])  # one point too many
    entry.assert_miss_then_fresh()
    metas = json.loads(entry.sidecar_bytes)["meta"]
    entry.forge(entry.npz_bytes, counts=[counts[0] - 1, 1, *counts[1:]], meta=[*metas[:1], *metas])
    entry.assert_miss_then_fresh()  # as many points, cut elsewhere: the offsets disagree

    body = json.loads(entry.sidecar_bytes)
    body["meta"][0]["temperature_k"] = 400.0  # a changed value with the old checksum
    entry.sidecar.write_text(json.dumps(body))
    entry.assert_miss_then_fresh()
    entry.forge(entry.npz_bytes, source_sha256="0" * 64)  # another source file
    entry.assert_miss_then_fresh()
    entry.forge(entry.npz_bytes, eisfit="0.0.0")  # another eisfit version
    entry.assert_miss_then_fresh()


class _Marker:
    """Unpickling this creates ``path``: the proof that a pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


def test_an_old_pickle_entry_is_never_loaded_and_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "single.csv"
    path.write_bytes((SAMPLES / "na_nzsp_na_single.csv").read_bytes())
    sha, cache = _sha256(path), tmp_path / "cache"
    old = cache / f"{entry_files(path, sha, cache)[0].stem}.pickle"
    cache.mkdir()
    marker = tmp_path / "loaded"
    old.write_bytes(pickle.dumps(_Marker(marker)))
    assert cached_spectra(path, sha, cache) is None
    assert _same(cached_read(path, sha, cache), eisfit.read(path))
    assert not marker.exists() and not old.exists()
    assert "pickle" not in vars(batch_cache)


def test_a_deeply_nested_sidecar_is_a_miss(entry: Entry) -> None:
    entry.sidecar.write_text("[" * 100_000 + "]" * 100_000)
    entry.assert_miss_then_fresh()


def _sparse(file: Path) -> None:
    with file.open("wb") as handle:
        handle.truncate(SPARSE_BYTES)  # a hole: no block is written


def _peak_bytes(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        out = call()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("which", ["npz", "sidecar"])
def test_a_2gb_sparse_entry_is_refused_from_stat(entry: Entry, which: str) -> None:
    _sparse(entry.npz if which == "npz" else entry.sidecar)
    out, peak = _peak_bytes(entry.cached)
    assert out is None and peak < 16 << 20  # reading it would allocate 2 GB
    entry.assert_miss_then_fresh()


@pytest.mark.parametrize("which", ["npz", "sidecar"])
def test_a_fifo_as_an_entry_is_a_miss_without_waiting(entry: Entry, which: str) -> None:
    file = entry.npz if which == "npz" else entry.sidecar
    file.unlink()
    os.mkfifo(file)  # opening it for reading in blocking mode would wait for a writer
    assert entry.cached() is None
    file.unlink()
    entry.assert_miss_then_fresh()


# --- damage to the row index ----------------------------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    """A fits/ folder with one record and a row index for it."""
    fits, cache = tmp_path / "fits", tmp_path / ".cache"
    fits.mkdir()
    (fits / "a_0.json").write_text('{"row": {}}')
    row = {"source": "a.csv", "index": 0, "status": "ok", "R_soli_ohm": 412.5, "x": None}
    batch_cache.save_rows(cache, fits, {"a_0": ("d" * 64, "s" * 64, row)})
    return fits, cache, row


def _row(fits: Path, cache: Path) -> dict[str, object] | None:
    return indexed_row(load_rows(cache), "a_0", fits / "a_0.json", "d" * 64, "s" * 64)


def test_the_row_index_gives_back_the_stored_row(index) -> None:
    fits, cache, row = index
    assert _row(fits, cache) == row
    assert indexed_row(load_rows(cache), "a_0", fits / "a_0.json", "e" * 64, "s" * 64) is None


def test_a_changed_row_in_the_index_is_ignored(index) -> None:
    fits, cache, _ = index
    data = json.loads((cache / "rows.json").read_text())
    data["rows"]["a_0"][4]["R_soli_ohm"] = 825.0  # edited, the old checksum
    (cache / "rows.json").write_text(json.dumps(data))
    assert _row(fits, cache) is None
    data["rows"]["a_0"] = data["rows"]["a_0"][:5]  # the old format, without checksum
    (cache / "rows.json").write_text(json.dumps(data))
    assert _row(fits, cache) is None


def test_a_flipped_bit_in_the_index_never_gives_another_row(index) -> None:
    fits, cache, row = index
    data = (cache / "rows.json").read_bytes()
    for damaged in _flip_every_byte(data, random.Random(15)):
        (cache / "rows.json").write_bytes(damaged)
        assert _row(fits, cache) in (None, row)


def test_a_record_changed_after_indexing_is_read_instead(index) -> None:
    fits, cache, _ = index
    (fits / "a_0.json").write_text('{"row": {"changed": 1}}')
    assert _row(fits, cache) is None


@pytest.mark.parametrize(
    "content", ["[" * 100_000 + "]" * 100_000, '{"version": NaN}', "", "\xff\xfe", "{" * 10]
)
def test_an_unreadable_index_is_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "rows.json").write_bytes(content.encode("latin-1"))
    assert load_rows(tmp_path) == {}


def test_a_2gb_sparse_index_is_refused_from_stat(tmp_path: Path) -> None:
    _sparse(tmp_path / "rows.json")
    out, peak = _peak_bytes(lambda: load_rows(tmp_path))
    assert out == {} and peak < 16 << 20
