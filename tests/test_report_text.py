"""What a report says and how (issue 15, item 1): units one way with SI prefixes on axes,
no empty panels or columns without a geometry and the geometry note said once, an
inductance shown by its L, apex frequencies far outside the band named by side, the
files table short and last, legends clear of the data, PDF lines that fit the page."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eisfit import Cell, SpectrumMeta, analyse, fit
from eisfit.cli.tables import contribution_report
from eisfit.report.data import GEOMETRY_NOTE, FileInfo, RunData, spectrum_view
from eisfit.report.figures import trend_figure, trend_figures
from eisfit.report.per_spectrum import apex_text, contributions_html, param_lines
from eisfit.report.sections import files_section, run_sections
from eisfit.report.selection import Selection
from eisfit.report.spectrum_plot import spectrum_figure
from eisfit.report.units import display_text, display_unit, si_prefix
from eisfit.runs.rows import spectrum_data
from eisfit.synthetic import Arc, SyntheticCell, random_cell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
BAND = (0.1, 1e6)


def _view(*, cell: Cell | None = None, noise: float = 0.01, source: str = "a.csv"):
    spectrum = simulate(CELL.circuit, CELL.values, np.logspace(6, -1, 60), noise=noise,
                        rng=np.random.default_rng(5), meta=SpectrumMeta(source=source))  # fmt: skip
    result = fit(spectrum, CELL.circuit)
    analysis = analyse(result, cell)
    record = {"fit": result.to_dict(), "analysis": analysis.to_dict(),
              "row": {"status": result.status},
              "spectrum": spectrum_data(result.spectrum)}  # fmt: skip
    return result, analysis, spectrum_view(record, source)


@pytest.fixture(scope="module")
def fitted():
    return _view(cell=Cell(1.0, 0.1))


@pytest.fixture(scope="module")
def fitted_without_cell():
    return _view(cell=None)


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ascii", "shown"),
    [("ohm", "Ω"), ("ohm cm2", "Ω cm²"), ("S/cm", "S cm⁻¹"), ("S s^n", "S sⁿ"),
     ("ohm/h^0.5", "Ω/h^½"), ("ohm cm2/h", "Ω cm²/h"), ("F/h^m", "F/h^m"), ("1", ""),
     ("H s^(n-1)", "H sⁿ⁻¹"), ("ohm s^-1/2", "Ω s^-½"), ("H", "H")],
)  # fmt: skip
def test_units_are_written_with_their_symbols(ascii: str, shown: str) -> None:
    assert display_unit(ascii) == shown


def test_free_text_units_change_only_after_a_number() -> None:
    text = "standard error 4.3e+05 exceeds the value 0.917 ohm; an ohmic contact of 1 cm2 +/- 2"
    assert display_text(text) == (
        "standard error 4.3e+05 exceeds the value 0.917 Ω; an ohmic contact of 1 cm² ± 2"
    )


@pytest.mark.parametrize(
    ("values", "prefix", "factor"),
    [([9.1e-4, 9.05e-4], "µ", 1e-6), ([4.7e-6], "µ", 1e-6), ([110.0, 109.0], "", 1.0),
     ([3.2e4, -5.0], "k", 1e3), ([2.5e6], "M", 1e6), ([999.0], "", 1.0), ([1e-3], "m", 1e-3),
     ([0.0, float("nan")], "", 1.0), ([], "", 1.0)],
)  # fmt: skip
def test_si_prefix_puts_the_largest_value_in_1_to_1000(values, prefix, factor) -> None:
    got_prefix, got_factor = si_prefix(values)
    assert got_prefix == prefix and got_factor == pytest.approx(factor)
    finite = [abs(v) for v in values if np.isfinite(v) and v != 0]
    if finite:
        assert 1 <= max(finite) / got_factor < 1000


# --- trend figures ----------------------------------------------------------------------


def _table(with_geometry: bool) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 12
    sigma = 9.1e-4 * (1 + 0.003 * rng.standard_normal(n))
    return pd.DataFrame({
        "source": "run", "status": "ok", "time_h": np.arange(n, dtype=float),
        "time_source": "timestamp", "partial": False,
        "R_bulk_ohm": 110 * (1 + 0.003 * rng.standard_normal(n)),
        "R_soli_ohm": 400 + 10 * np.arange(n),
        "asr_soli_ohm_cm2": (200 + 5 * np.arange(n)) if with_geometry else np.nan,
        "sigma_bulk_s_cm": sigma if with_geometry else np.nan,
        "sigma_bulk_s_cm_stderr": 0.002 * sigma if with_geometry else np.nan,
        "sigma_total_s_cm": 5.3e-4 if with_geometry else np.nan,
        "C_soli_f": 4.2e-6 * (1 + 0.01 * np.arange(n)),
        "warnings": "" if with_geometry else (
            "no cell geometry (area_cm2, thickness_cm): ASR, conductivities and normalised "
            "capacitances are not computed; roles judged for an assumed 1 cm2, 0.1 cm cell; "
            "no cell area given: the area-specific resistance is not computed"),
    })  # fmt: skip


def test_conductivity_axis_has_a_prefix_and_no_offset_label() -> None:
    table = _table(with_geometry=True)
    figure = trend_figure(table, {}, ("sigma_bulk_s_cm", "C_soli_f"), "time / h")
    figure.canvas.draw()
    sigma, capacitance = figure.axes[:2]
    assert sigma.get_ylabel() == "σ_bulk / µS cm⁻¹"
    assert capacitance.get_ylabel() == "C_SOLI / µF"
    for ax in (sigma, capacitance):
        assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e-4" above the axis
        (points,) = ax.containers
        y = points.lines[0].get_ydata()
        assert 1 <= np.max(np.abs(y)) < 1000  # drawn in the prefixed unit
    assert np.median(sigma.containers[0].lines[0].get_ydata()) == pytest.approx(910, rel=0.01)


def test_no_panel_and_no_figure_for_quantities_without_values() -> None:
    table = _table(with_geometry=False)
    drawn = trend_figures(table)
    assert "trends_conductivity" not in drawn  # every conductivity is empty
    assert drawn["trends_resistance"][1] == ("R_bulk_ohm", "R_soli_ohm")  # no ASR, no R_gb
    figure = trend_figure(table, {}, drawn["trends_resistance"][1], "time / h")
    assert [ax.get_ylabel() for ax in figure.axes if ax.get_visible()] == [
        "R_bulk / Ω", "R_SOLI / Ω"]  # fmt: skip
    empty = trend_figure(table, {}, ("sigma_bulk_s_cm", "sigma_total_s_cm"), "time / h")
    assert empty.axes == []  # a note, not two "no values" panels


def _run(with_geometry: bool, files: tuple[FileInfo, ...] = ()) -> RunData:
    cell = {"area_cm2": 1.0, "thickness_cm": 0.1, "symmetric": True} if with_geometry else None
    missing = () if with_geometry else (f"{GEOMETRY_NOTE} (give --area-cm2 and --thickness-cm)",)
    trends = {"skipped": {"asr_soli_ohm_cm2": "0 usable values, at least 4 needed",
                          "R_gb_ohm": "0 usable values, at least 4 needed"}}  # fmt: skip
    return RunData(Path("run"), _table(with_geometry), trends, {"cell": cell, "model": "m"},
                   "0", files, "timestamp", missing)  # fmt: skip


def test_a_run_without_geometry_says_so_once() -> None:
    run = _run(with_geometry=False)
    sections = dict((i, inner) for i, _, inner in run_sections(
        run, Selection((), {}, 0), trend_figures=[], spectra="", pdf=False))  # fmt: skip
    attention = sections["attention"]
    assert attention.count(GEOMETRY_NOTE) == 1
    assert "no cell area given" not in attention and "no cell geometry (area_cm2" not in attention
    assert "no growth law for ASR" not in attention  # empty by design, not a finding
    assert "no growth law for R_gb" in attention
    assert "roles judged for an assumed 1 cm², 0.1 cm cell" in attention  # kept, once
    assert "Not drawn: ASR_SOLI per interface, σ_bulk, σ_total (" + GEOMETRY_NOTE in (
        sections["trends"])  # fmt: skip


# --- files table ------------------------------------------------------------------------


def test_files_table_is_last_compact_and_names_the_folder_once() -> None:
    sha = "0123456789abcdef" * 4
    files = (FileInfo("/data/lab/cell 7/run_a.mpr", sha, (3, 0, 0, 0, 0)),
             FileInfo("/data/lab/cell 7/run_b.mpr", None, (0, 0, 0, 0, 1)))  # fmt: skip
    run = _run(with_geometry=True, files=files)
    html = files_section(run)
    assert "<code>/data/lab/cell 7</code>" in html and html.count("/data/lab") == 1
    assert "<td>run_a.mpr</td>" in html and "<td>run_b.mpr</td>" in html
    assert sha[:12] in html and sha not in html  # the whole hash is in tables/files.csv
    order = [i for i, _, _ in run_sections(run, Selection((), {}, 0), trend_figures=[],
                                           spectra="", pdf=False)]  # fmt: skip
    assert order[-1] == "files" and order.index("trends") < order.index("files")


# --- one spectrum -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("apex", "text"),
    [(532.0, "532"), (0.03, "0.03 (below the band: extrapolated)"),
     (1e-33, "far below the band (< 0.01)"), (4e6, "4e+06 (above the band: extrapolated)"),
     (5e8, "far above the band (> 1e+07)"), (None, "-"), (float("nan"), "-")],
)  # fmt: skip
def test_apex_far_outside_the_band_is_named_by_its_side(apex, text) -> None:
    assert apex_text(apex, BAND) == text


def test_inductance_row_shows_its_l_not_a_zero_resistance(fitted) -> None:
    result, _, view = fitted
    html = contributions_html(view)
    row = re.search(r"<tr><td>inductance</td>.*?</tr>", html).group(0)
    assert f"L0.L = {result.values['L0.L']:.4g} ± {result.stderr['L0.L']:.2g} H" in row
    assert "0 ± 0" not in row and "colspan" in row
    assert "ASR / Ω cm²" in html and "σ / S cm⁻¹" in html  # a cell: every column


def test_without_geometry_the_empty_columns_are_left_out(fitted_without_cell) -> None:
    _, _, view = fitted_without_cell
    html = contributions_html(view)
    assert "ASR" not in html and "σ" not in html and "apex f / Hz" in html
    lines = param_lines(view)
    assert not any("no cell area given" in line for line in lines)


def test_pdf_lines_fit_the_page_and_use_one_unit_convention(fitted) -> None:
    _, _, view = fitted
    lines = param_lines(view)
    assert lines and max(map(len, lines)) <= 110
    text = "\n".join(lines)
    assert " Ω" in text and not re.search(r"\d ohm\b", text) and "+/-" not in text
    assert re.search(r"^inductance: L0\.L = \S+ ± \S+ H", text, re.MULTILINE)


def _covered(figure) -> dict[str, int]:
    """Per panel, how many points sampled along its curves (and those of a twin axis, the
    Bode phase) fall inside its legend's box."""
    figure.canvas.draw()
    out = {}
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        same = [o for o in figure.axes
                if np.allclose(o.get_position().bounds, ax.get_position().bounds)]  # fmt: skip
        n = 0
        for owner in same:
            for line in owner.get_lines():
                xy = owner.transData.transform(np.column_stack(line.get_data()))
                xy = xy[np.isfinite(xy).all(axis=1)]
                if len(xy) > 1:  # along each segment, not only at the markers
                    s = np.linspace(0.0, 1.0, 25)[:, None, None]
                    xy = (xy[:-1] * (1 - s) + xy[1:] * s).reshape(-1, 2)
                n += int(((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1)
                          & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)).sum())  # fmt: skip
        out[ax.get_title()] = n
    return out


@pytest.mark.parametrize("seed", [0, 2, 6])  # cells whose residual legend sat on data
def test_legends_cover_no_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, 2)
    spectrum = simulate(cell.circuit, cell.values, np.logspace(6, -1, 50), noise=0.01,
                        rng=rng, meta=SpectrumMeta(source="r"))  # fmt: skip
    result = fit(spectrum, cell.circuit)
    record = {"fit": result.to_dict(), "analysis": None, "row": {"status": result.status},
              "spectrum": spectrum_data(result.spectrum)}  # fmt: skip
    covered = _covered(spectrum_figure(spectrum_view(record, "r")))
    assert {k: v for k, v in covered.items() if k != "Nyquist"} == {
        "Bode": 0, "Fit residuals": 0, next(k for k in covered if k.startswith("lin-KK")): 0,
        next(k for k in covered if k.startswith("DRT")): 0}  # the DRT panel's too


# --- command line and notebook ----------------------------------------------------------


def test_cli_contributions_say_l_and_where_the_apex_lies() -> None:
    spectrum = simulate(CELL.circuit, CELL.values, np.logspace(4, -1, 40), noise=0.003,
                        rng=np.random.default_rng(2))  # fmt: skip
    result = fit(spectrum, CELL.circuit)  # the bulk arc's apex 5e5 Hz: above a 1e4 Hz band
    analysis = analyse(result, None)
    text = contribution_report(result.report(), analysis, result=result)
    inductance = next(line for line in text.splitlines() if line.strip().startswith("inductance"))
    assert "L0.L = " in inductance and "no resistance" in inductance and "R = 0" not in inductance
    for apex in re.findall(r"f0 = ([0-9.e+-]+) Hz", text):
        assert 1e-2 <= float(apex) <= 1e5  # within a decade of the band, or named by side
    assert "Ω" not in text and "±" not in text  # the command line stays ASCII
    assert len(re.findall("warning: no cell area given", text)) <= 1


def test_notebook_inductance_row(fitted) -> None:
    _, analysis, _ = fitted
    table = analysis._repr_html_()
    row = re.search(r"<tr><td>inductance</td>.*?</tr>", table).group(0)
    assert "0 ± 0" not in row and "no" in row.lower()
    assert "ohm" not in table.split("warnings")[0]


def test_figures_are_shown_at_one_scale() -> None:
    from eisfit.report.figures import blank_figure
    from eisfit.report.html import figure_html
    from eisfit.report.render import Rendered, render

    one = b'<?xml version="1.0"?><svg width="244.8pt" height="187.2pt" viewBox="0 0 1 1"/>'
    two = one.replace(b"244.8pt", b"489.6pt")
    html = figure_html(Rendered(one, b""), "a", "b")
    assert 'style="max-width:490px"' in html and "image/svg+xml" in html  # 3.4 in, 1.5 x 96 dpi
    assert 'style="max-width:979px"' in figure_html(Rendered(two, b""), "a", "b")
    no_size = figure_html(Rendered(b"<svg/>", b""), "a", "b")
    assert "style=" not in no_size  # no size: the CSS class decides
    png_only = render(blank_figure(3.4, 2.6), svg=False)
    html = figure_html(png_only, "a", "b")  # the PNG, shown at the same scale as the SVG
    assert 'style="max-width:490px"' in html and "data:image/png;base64," in html


def test_minor_log_labels_are_plain_numbers_below_one() -> None:
    """An axis spanning less than 2 decades gets minor labels; below 1 they read 0.6, not
    matplotlib's 6e-01 (|Z| in kΩ of a 200-1,000 Ω cell)."""
    from eisfit.report.axes import log_labels
    from eisfit.report.figures import blank_figure

    figure = blank_figure(4.0, 3.0)
    ax = figure.subplots()
    ax.loglog([1.0, 10.0], [0.15, 1.1])
    log_labels(ax)
    figure.canvas.draw()
    shown = [t.get_text() for t in ax.yaxis.get_minorticklabels()
             if t.get_text() and 0.15 <= t.get_position()[1] <= 1.1]  # fmt: skip
    assert shown and all("e" not in text for text in shown)
    assert "0.6" in shown and "0.2" in shown
