"""The run report's figure cache (`eisfit.report.cache`): hits, misses after a change,
corrupt entries redrawn (never trusted), pruning, and a cache that cannot be written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_series import _run

from eisfit import Cell
from eisfit.report import write_run_report
from eisfit.report.cache import CACHE_DIR, FigureCache, figure_key
from eisfit.report.render import Rendered
from eisfit.runs.batch import BatchSettings, run_batch

SETTINGS = BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1))
N_FIGURES = 3 + 1 + 5  # trend figures, the DRT map, spectra (5, all representative)
N_FILES = 2 * N_FIGURES  # .png and .sha256 per figure (.svg only with svg=True)


def _spectra(n: int = 5) -> list:
    return sorted(_run(n, "cell"), key=lambda s: s.meta.index)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "out"
    run_batch(_spectra(), SETTINGS, out_dir=out, jobs=1)
    files = write_run_report(out, pdf=False)
    assert files.drawn == N_FIGURES and files.cached == 0
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(run, out)
    return out


def _figures(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "figures").iterdir())}


def test_unchanged_run_draws_nothing(first_run: Path, tmp_path: Path) -> None:
    out = _copy(first_run, tmp_path)
    before = _figures(out)
    files = write_run_report(out, pdf=False, force=True)
    assert (files.drawn, files.cached) == (0, N_FIGURES)
    assert _figures(out) == before
    entries = sorted(p.name for p in (out / CACHE_DIR).iterdir())
    assert len(entries) == N_FILES


def test_a_changed_spectrum_redraws_only_its_figure_and_the_trends(
    first_run: Path, tmp_path: Path
) -> None:
    spectra = _spectra()
    changed = spectra[4]  # the last: no later fit warm-starts from it, so none else changes
    z = changed.impedance_ohm.copy()
    z[-5:] *= 1.02  # a few low-frequency points 2 % off: another fit, the same selection
    spectra[4] = type(changed)(frequency_hz=changed.frequency_hz, impedance_ohm=z,
                               meta=changed.meta)  # fmt: skip
    out = tmp_path / "out"
    run_batch(spectra, SETTINGS, out_dir=out, jobs=1)
    shutil.copytree(first_run / CACHE_DIR, out / CACHE_DIR)  # the earlier report's figures
    files = write_run_report(out, pdf=False)
    assert files.spectra_shown == 5
    # the changed spectrum, the trends and the DRT map (its record changed)
    assert files.drawn == 1 + 3 + 1 and files.cached == 4
    old, new = _figures(first_run), _figures(out)
    differs = sorted(name for name in new if new[name] != old.get(name))
    assert [n for n in differs if n.startswith("spectrum_")] == ["spectrum_00004.png"]
    assert len(list((out / CACHE_DIR).glob("*.sha256"))) == N_FIGURES  # stale ones pruned


@pytest.mark.parametrize("damage", ["flip", "truncate", "seal", "missing_png"])
def test_a_corrupt_entry_is_redrawn_not_trusted(
    first_run: Path, tmp_path: Path, damage: str
) -> None:
    out = _copy(first_run, tmp_path)
    good = _figures(out)
    seal = sorted((out / CACHE_DIR).glob("*.sha256"))[3]
    png = seal.with_suffix(".png")
    if damage == "flip":
        data = bytearray(png.read_bytes())
        data[len(data) // 2] ^= 0x01
        png.write_bytes(bytes(data))
    elif damage == "truncate":
        png.write_bytes(png.read_bytes()[:100])
    elif damage == "seal":
        seal.write_text("svg 00\npng 00\n", encoding="ascii")
    else:
        png.unlink()
    cache = FigureCache(out / CACHE_DIR)
    assert cache.get(seal.stem) is None and cache.rejected == 1
    files = write_run_report(out, pdf=False, force=True)
    assert (files.drawn, files.cached) == (1, N_FIGURES - 1)
    assert _figures(out) == good  # the report shows the redrawn figure, not the damaged one
    again = FigureCache(out / CACHE_DIR).get(seal.stem)
    assert again is not None  # the entry was rewritten whole
    assert again.png == png.read_bytes() and again.svg is None


def test_keys_are_length_prefixed_and_stored_bytes_verified(tmp_path: Path) -> None:
    assert figure_key("a", "bc") != figure_key("ab", "c") != figure_key("a", "b", "c")
    assert figure_key("spectrum", b"\x00") == figure_key("spectrum", b"\x00")
    cache = FigureCache(tmp_path / "c")
    key = figure_key("x")
    assert cache.get(key) is None and (cache.misses, cache.rejected) == (1, 0)
    cache.put(key, Rendered(b"<svg/>", b"\x89PNG"))
    assert cache.get(key) == Rendered(b"<svg/>", b"\x89PNG") and cache.hits == 1
    assert cache.get("../../etc/passwd") is None  # only hex keys name files
    png_only = figure_key("png only")
    cache.put(png_only, Rendered(None, b"\x89PNG"))
    assert not (tmp_path / "c" / f"{png_only}.svg").exists()
    assert (tmp_path / "c" / f"{png_only}.sha256").read_text().startswith("svg -\n")
    assert cache.get(png_only) == Rendered(None, b"\x89PNG")
    (tmp_path / "c" / "notes.txt").write_text("mine")
    (tmp_path / "c" / f"{figure_key('old')}.svg").write_text("stale")
    assert FigureCache(tmp_path / "c").prune([key]) == 1 + 2  # the stale SVG, png_only
    assert (tmp_path / "c" / "notes.txt").exists()  # not the cache's to remove


def test_a_cache_that_cannot_be_written_does_not_stop_the_report(
    first_run: Path, tmp_path: Path
) -> None:
    out = _copy(first_run, tmp_path)
    shutil.rmtree(out / CACHE_DIR)
    (out / CACHE_DIR).write_text("a file where the folder should be")
    files = write_run_report(out, pdf=False, force=True)
    assert (files.drawn, files.cached) == (N_FIGURES, 0)
    assert _figures(out) == _figures(first_run)
    assert write_run_report(out, pdf=False, force=True, cache=False).drawn == N_FIGURES
