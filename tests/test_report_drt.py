"""The DRT in the reports (issue 16, item 3): a DRT panel in every spectrum figure, a DRT
map in the run report's trends, a note instead of a DRT that cannot be computed, the map
cached (no DRT computed when every figure is cached), a process appearing halfway through
a run visible as a new band, and one map panel per cell."""

from __future__ import annotations

import base64
import io
import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import eisfit.relaxation
from eisfit import Cell, fit
from eisfit.report import drt_map, load_run, write_fit_report, write_run_report
from eisfit.report.data import spectrum_view
from eisfit.report.drt_panel import PANEL_TITLE, arc_time_constants, spectrum_drt
from eisfit.report.fitreport import fit_record
from eisfit.report.spectrum_plot import spectrum_figure
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.spectrum import SpectrumMeta
from eisfit.synthetic import Arc, SyntheticCell, simulate

FREQ = np.logspace(6.5, -1, 50)
T0 = datetime(2026, 3, 1, 8, 0, 0)
SETTINGS = BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1))
NEW_TAU_S = 1.0 / (2 * math.pi * 0.5)  # the process that appears halfway: apex 0.5 Hz
N = 12


def _run(n: int, source: str, *, appears_at: int | None = None, seed: int = 5) -> list:
    """``n`` spectra two hours apart: grain boundary (5e5 Hz) and SOLI (100 Hz) arcs, and
    from spectrum ``appears_at`` on a third arc at 0.5 Hz (a new process)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        arcs = [Arc(80.0, 5e5, 0.9), Arc(300.0 + 20.0 * i, 100.0, 0.85)]
        if appears_at is not None and i >= appears_at:
            arcs.append(Arc(250.0, 0.5, 0.9))
        cell = SyntheticCell(2e-7, 110.0, tuple(arcs))
        meta = SpectrumMeta(source=source, index=i, timestamp=T0 + timedelta(hours=2 * i))
        out.append(simulate(cell.circuit, cell.values, FREQ, noise=0.003, rng=rng, meta=meta))
    return out


@pytest.fixture(scope="module")
def appearing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-spectrum run in which a new low-frequency process appears at spectrum 6,
    fitted with the two-arc model, and its report (no PDF)."""
    out = tmp_path_factory.mktemp("drt") / "out"
    run_batch(_run(N, "run/cell.mpt", appears_at=N // 2), SETTINGS, out_dir=out, jobs=1)
    # svg=True: the spectrum figures as SVG too, so that their text can be read here
    write_run_report(out, pdf=False, n_representative=2, max_flagged=0, svg=True)
    return out


def _svgs(html: str) -> dict[str, str]:
    """alt text -> decoded SVG of every figure of a page."""
    found = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"[^>]*alt="([^"]*)"', html)
    return {alt: base64.b64decode(data).decode("utf-8") for data, alt in found}


def test_panel_and_map_are_in_the_page_and_the_figures(appearing: Path) -> None:
    html = (appearing / "report.html").read_text(encoding="utf-8")
    figures = _svgs(html)
    assert "DRT map" in figures and "DRT map: each column" in html
    assert "The map: all 12 spectra." in html
    assert "τ / s" in figures["DRT map"] and "SOLI arc τ (fit)" in figures["DRT map"]
    spectra = [svg for alt, svg in figures.items() if alt.startswith("run/cell.mpt")]
    assert len(spectra) == 2 and all(PANEL_TITLE in svg for svg in spectra)
    assert all("gb arc τ (fit)" in svg and "DRT peaks" in svg for svg in spectra)
    assert (appearing / "figures" / "drt_map.svg").read_text(encoding="utf-8") == figures[
        "DRT map"]  # fmt: skip
    trends = html.split('id="trends"')[1].split('id="spectra"')[0]
    assert 'alt="DRT map"' in trends  # in the trends section, not elsewhere


def test_a_new_process_shows_as_a_new_band(appearing: Path) -> None:
    plan = drt_map.plan_map(load_run(appearing))
    assert plan is not None and len(plan.cells) == 1 and len(plan.tasks) == N
    cols = drt_map.columns(plan.tasks)
    assert [c.time_h for c in cols] == [2.0 * i for i in range(N)]
    at_new = [float(np.interp(math.log10(NEW_TAU_S), c.log10_tau, c.gamma_norm)) for c in cols]
    before, after = at_new[: N // 2], at_new[N // 2 :]
    assert max(before) < 0.05 < 0.3 < min(after), at_new  # dark before, a band after
    # the fitted arcs stay on the two processes the model has; none at the new one
    for c in cols:
        assert {a.role for a in c.arcs} == {"grain_boundary", "soli"}
        assert all(abs(math.log10(a.tau_s / NEW_TAU_S)) > 1.0 for a in c.arcs)


def test_a_cached_map_computes_no_drt(appearing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a DRT was computed for a cached figure")

    before = (appearing / "figures" / "drt_map.svg").read_bytes()
    monkeypatch.setattr(eisfit.relaxation, "drt", refuse)
    files = write_run_report(appearing, pdf=False, force=True, jobs=1, svg=True,
                             n_representative=2, max_flagged=0)  # fmt: skip
    assert files.drawn == 0 and files.cached >= 1 + 2
    assert (appearing / "figures" / "drt_map.svg").read_bytes() == before


def test_the_map_key_follows_every_record_used(appearing: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(appearing, out)
    plan = drt_map.plan_map(load_run(out))
    assert plan is not None and drt_map.plan_map(load_run(out)).key == plan.key
    record = Path(plan.tasks[5].path)
    record.write_bytes(record.read_bytes() + b" ")  # another record, the same table
    assert drt_map.plan_map(load_run(out)).key != plan.key


def test_a_long_run_is_thinned_and_the_caption_says_so(
    appearing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drt_map, "MAX_SPECTRA", 5)
    monkeypatch.setattr(drt_map, "MIN_PER_CELL", 5)
    plan = drt_map.plan_map(load_run(appearing))
    times = [t.time_h for t in plan.tasks]
    assert len(times) == 5 and times[0] == 0.0 and times[-1] == 2.0 * (N - 1)
    assert "5 of its 12 spectra, evenly spaced" in drt_map.caption(plan)


def test_one_map_panel_per_cell(tmp_path: Path) -> None:
    spectra = _run(4, "a/one.mpt") + _run(3, "b/two.mpt", seed=6)
    out = tmp_path / "out"
    run_batch(spectra, SETTINGS, out_dir=out, jobs=1)
    plan = drt_map.plan_map(load_run(out))
    assert plan is not None and [(c.name, len(c.tasks)) for c in plan.cells] == [("a", 4),
                                                                                ("b", 3)]
    cols = drt_map.split(plan, drt_map.columns(plan.tasks))
    figure = drt_map.map_figure(cols, "time / h")
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    assert titles == ["cell 1", "cell 2"]  # numbered; the caption names them
    assert "Cell 1 (a)" in drt_map.caption(plan) and "Cell 2 (b)" in drt_map.caption(plan)


def test_a_refused_drt_is_a_note_in_the_panel(tmp_path: Path) -> None:
    q = (1 / (2 * math.pi * 100.0)) ** 0.9 / 400.0  # an arc of 400 ohm with its apex at 100 Hz
    few = simulate("R0-p(R1,CPE1)", {"R0.R": 100.0, "R1.R": 400.0, "CPE1.Q": q, "CPE1.n": 0.9},
                   np.logspace(5, -1, 8), noise=0.002, rng=np.random.default_rng(1),
                   meta=SpectrumMeta(source="short.csv"))  # fmt: skip
    found = spectrum_drt(few)
    assert found.result is None and found.note.startswith("DRT not possible")
    assert "at least 10 points" in found.note and "\n" not in found.note
    result = fit(few, "R0-p(R1,CPE1)")
    figure = spectrum_figure(spectrum_view(fit_record(result, None), "short"))
    drt_ax = next(ax for ax in figure.axes if ax.get_title().startswith("DRT"))
    assert [t.get_text() for t in drt_ax.texts] == [found.note]
    page = write_fit_report([(result, None)], tmp_path / "fit.html")  # not a broken report
    found_png = re.findall(r'src="data:image/png;base64,([^"]+)"', page.read_text("utf-8"))
    assert len(found_png) == 1  # the spectrum figure, drawn with the note
    assert Image.open(io.BytesIO(base64.b64decode(found_png[0]))).size[0] > 500


def test_arc_time_constants_are_one_over_two_pi_f0() -> None:
    arcs = arc_time_constants([
        {"role": "grain_boundary", "apex_frequency_hz": 5e5},
        {"role": "bulk", "apex_frequency_hz": None},  # an intercept: no apex, no mark
        {"role": "soli", "apex_frequency_hz": 100.0},
        {"role": "charge_transfer", "apex_frequency_hz": float("nan")},
    ])  # fmt: skip
    assert [(a.label, a.tau_s) for a in arcs] == [("gb", pytest.approx(1 / (2 * math.pi * 5e5))),
                                                   ("SOLI", pytest.approx(1 / (2 * math.pi * 100)))]


def test_a_long_spectrum_gets_its_drt_from_fewer_points() -> None:
    cell = SyntheticCell(0.0, 100.0, (Arc(400.0, 100.0, 0.9),))
    long = simulate(cell.circuit, cell.values, np.logspace(6, -1, 2000), noise=0.002,
                    rng=np.random.default_rng(2))  # fmt: skip
    found = spectrum_drt(long, max_points=300)
    assert found.result is not None and found.points_used <= 302 and found.points == 2000
    assert "of 2,000 points" in found.note
    (peak,) = found.result.peaks
    assert abs(math.log10(peak.tau_s * 2 * math.pi * 100.0)) < 0.15  # the arc, at 100 Hz


def test_a_drt_without_relaxations_says_so_in_the_panel_title() -> None:
    from eisfit import Spectrum
    from eisfit.report.drt_panel import drt_panel
    from eisfit.report.figures import blank_figure

    rng = np.random.default_rng(0)
    f = np.logspace(6, -1, 40)
    z = 100.0 * (1 + 0.003 * rng.standard_normal(40)) + 300j * rng.standard_normal(40) * 1e-3
    resistor = Spectrum(frequency_hz=f, impedance_ohm=z)  # a resistor and noise: no arc
    found = spectrum_drt(resistor)
    assert found.result is not None and found.result.status == "undetermined"
    assert not found.result.peaks and found.note.startswith("undetermined")
    ax = blank_figure(7.0, 2.0).subplots()
    drt_panel(ax, resistor, found, ())
    title = ax.get_title()  # the note, clipped to what fits the title's one line
    assert title.startswith(f"{PANEL_TITLE}: undetermined")
    assert len(title) <= len(PANEL_TITLE) + 2 + 60 and found.note.startswith(
        title.removeprefix(f"{PANEL_TITLE}: ").removesuffix("…"))
    assert ax.title.get_color() == "#b04000"  # not ok: in the warning colour
