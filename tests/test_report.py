"""Run and fit reports (`eisfit.report`): content, self-containment, escaping, bad input."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_series import _run

from eisfit import Cell, fit, write_csv
from eisfit.cli.main import main
from eisfit.errors import ReportError
from eisfit.physics import analyse
from eisfit.report import load_run, select_spectra, write_fit_report, write_run_report
from eisfit.report.figures import compact_svg
from eisfit.runs.batch import BatchSettings, run_batch

NASTY = "cell <b>&'\"$x$"  # HTML and mathtext in a file name


def _spectra(n: int, source: str) -> list:
    """The growing-interphase run of the batch tests, in measurement order."""
    return sorted(_run(n, source), key=lambda s: s.meta.index)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-spectrum run as CSV files (no timestamps) whose names hold HTML, and a junk file."""
    base = tmp_path_factory.mktemp("run")
    data = base / "data"
    data.mkdir()
    for spectrum in _spectra(10, "x"):
        write_csv(spectrum, data / f"{NASTY} {spectrum.meta.index:02d}.csv")
    (data / "junk.mpt").write_text("not an export at all\n")
    settings = BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1))
    run_batch([data], settings, out_dir=base / "out", jobs=1)
    write_run_report(base / "out", n_representative=4)
    return base / "out"


def _html(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8")


def test_report_files_are_written(run_dir: Path) -> None:
    assert (run_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"
    figures = run_dir / "figures"
    for stem in ("trends_resistance", "trends_conductivity", "trends_capacitance"):
        assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not (figures / f"{stem}.svg").exists()  # SVG only with svg=True
    laws = pd.read_csv(run_dir / "tables" / "growth_laws.csv")
    trends = json.loads((run_dir / "trends.json").read_text())
    soli = laws[laws["quantity"].str.startswith("R_SOLI")]
    assert soli["law"].item() == trends["trends"]["R_soli_ohm"]["best"] == "parabolic"
    shown = pd.read_csv(run_dir / "tables" / "spectra_shown.csv")
    assert len(shown) >= 4 and set(shown["status"]) == {"ok"}
    files = pd.read_csv(run_dir / "tables" / "files.csv")
    assert files["sha256"].str.fullmatch("[0-9a-f]{64}").sum() == 10  # the junk file has none


def test_report_is_self_contained_and_has_every_figure(run_dir: Path) -> None:
    text = _html(run_dir)
    assert "<script" not in text.lower()
    links = re.findall(r'(?:src|href)="([^"]*)"', text)
    images = ("data:image/svg+xml;base64,", "data:image/png;base64,")
    assert links and all(u.startswith((*images, "#")) for u in links)
    assert images[0] not in text  # one drawing (a PNG) per figure, SVG only with svg=True
    assert "@import" not in text and "url(" not in text
    n_images = text.count("<img ")
    shown = len(pd.read_csv(run_dir / "tables" / "spectra_shown.csv"))
    assert n_images == 3 + 1 + shown  # trend figures, the DRT map, the spectra


def test_everything_from_files_is_escaped(run_dir: Path) -> None:
    text = _html(run_dir)
    assert "<b>" not in text
    assert "cell &lt;b&gt;&amp;&#x27;&quot;$x$" in text  # shown, escaped, $ untouched


def test_report_lists_the_bad_file_and_summary_facts(run_dir: Path) -> None:
    text = _html(run_dir)
    attention = text.split('id="attention"')[1].split("</section>")[0]
    assert "error: " in attention and "junk.mpt" in attention
    summary = text.split('id="summary"')[1].split("</section>")[0]
    assert "gb-soli" in summary and "symmetric (ASR per interface = R × A / 2)" in summary
    assert "10 ok, 0 warning, 0 undetermined, 0 failed, 1 error" in summary
    assert "file order: the files carry no timestamps" in summary  # CSV exports have none
    assert "spectrum number (no timestamps)" not in summary


def test_parameter_values_in_the_report_match_the_table(run_dir: Path) -> None:
    table = pd.read_csv(run_dir / "results.csv")
    first = table[table["status"] == "ok"].sort_values("time_h").iloc[0]
    text = _html(run_dir)
    assert f"{first['R2.R']:.4g} ± {first['R2.R_stderr']:.2g}" in text


def test_run_without_geometry_single_spectrum_and_failures(tmp_path: Path) -> None:
    spectrum = _spectra(1, "one")[0]
    settings = BatchSettings.from_model("gb-soli")
    out = tmp_path / "out"
    run_batch([spectrum], settings, out_dir=out, jobs=1)
    files = write_run_report(out, pdf=False, svg=True)  # SVG: the panels' text is read below
    text = files.html.read_text(encoding="utf-8")
    attention = text.split('id="attention"')[1].split("</section>")[0]
    assert attention.count("no cell geometry") == 1  # said once, not per spectrum or column
    assert "no cell area given" not in text and "no growth law for ASR" not in text
    assert "no growth law for R_SOLI" in text  # 1 spectrum: too few for a law
    assert "ASR / Ω cm²" not in text and "σ / S cm⁻¹" not in text  # empty columns left out
    trends = list((out / "figures").glob("trends_*.svg"))
    assert trends and all(b">no values<" not in p.read_bytes() for p in trends)  # no empty panel
    assert "timestamps in the files" in text  # in-memory spectra keep their timestamps
    assert files.pdf is None and not (out / "report.pdf").exists()
    trend_images = {path.stem for path in (out / "figures").glob("trends_*.png")}
    assert trend_images and not any("asr" in s or "conduct" in s for s in trend_images)
    assert text.count("<img ") == len(trend_images) + 1  # no figure of geometry quantities


def test_failed_rows_are_flagged_and_drawn(tmp_path: Path) -> None:
    spectra = _spectra(6, "cell")
    bad = spectra[2]
    z = bad.impedance_ohm.copy()
    z[::2] *= 5.0  # not a circuit the model can follow: a poor fit
    spectra[2] = type(bad)(frequency_hz=bad.frequency_hz, impedance_ohm=z, meta=bad.meta)
    out = tmp_path / "out"
    frame = run_batch(spectra, BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1)),
                      out_dir=out, jobs=1)  # fmt: skip
    table = pd.read_csv(out / "results.csv")
    selection = select_spectra(table, n_representative=0, max_flagged=10)
    flagged = {i for i, why in selection.reasons.items() if why}
    kk_bad = set(table.index[table["kk_valid"].astype(str) == "False"])
    assert kk_bad and kk_bad <= flagged  # the distorted spectrum fails lin-KK and is shown
    assert len(frame) == 6
    write_run_report(out, pdf=False, n_representative=1)
    text = (out / "report.html").read_text(encoding="utf-8")
    verdict = table.loc[min(kk_bad), "kk_verdict"]  # "not consistent" or "undetermined"
    assert verdict in ("not consistent", "undetermined")
    assert f"Kramers-Kronig: {verdict}" in text
    assert f"are {verdict} in the Kramers-Kronig (lin-KK) check" in text


def test_selection_spaces_representatives_and_caps_flagged() -> None:
    n = 100
    table = pd.DataFrame({
        "source": ["f"] * n, "status": ["ok"] * n, "time_h": np.arange(n, dtype=float),
        "fit_file": [f"f_{i}" for i in range(n)], "kk_valid": [i % 10 != 3 for i in range(n)],
        "start_path": ["warm"] * n, "warnings": [""] * n,
    })  # fmt: skip
    selection = select_spectra(table, n_representative=5, max_flagged=4)
    representative = [i for i, why in selection.reasons.items() if "representative" in why]
    assert representative == [0, 25, 50, 74, 99]  # evenly spaced, ends included
    flagged = [i for i, why in selection.reasons.items() if "Kramers-Kronig check failed" in why]
    # spread over the run (first, last, then the middles), not the first four
    assert flagged == [3, 23, 43, 93]
    assert selection.flagged_not_shown == 6
    assert list(selection.flagged) == list(range(3, n, 10))  # every flagged row is listed


def test_large_run_report_stays_small(tmp_path: Path, run_dir: Path) -> None:
    """1,000 rows: a capped selection is drawn and the page stays far below 10 MB."""
    out = tmp_path / "big"
    (out / "fits").mkdir(parents=True)
    table = pd.read_csv(run_dir / "results.csv")
    ok = table[table["status"] == "ok"].iloc[0]
    record = (run_dir / "fits" / f"{ok['fit_file']}.json").read_text()
    rows = []
    for i in range(1000):
        name = f"s_{i}"
        (out / "fits" / f"{name}.json").write_text(record)
        rows.append({**ok.to_dict(), "index": i, "time_h": float(i), "fit_file": name,
                     "kk_valid": i % 7 != 3, "R2.R": 300 + 5 * math.sqrt(i)})  # fmt: skip
    pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
    files = write_run_report(out, pdf=False, n_representative=3, max_flagged=2)
    assert files.spectra_shown == 3 + 2
    text = files.html.read_text(encoding="utf-8")
    assert "141 more flagged spectra are not drawn" in text  # 143 KK failures, 2 drawn
    per_spectrum = max(len(m) for m in re.findall(r'<div class="spectrum">.*?</div>', text))
    default_mb = (len(text) + (8 + 16 - 5) * per_spectrum) / 1e6
    assert default_mb < 6.0  # with the default 8 + 16 spectra drawn


def test_missing_or_bad_folder_is_a_clear_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(ReportError, match=r"no results\.csv"):
        load_run(tmp_path)
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ReportError, match="column 'source' missing"):
        load_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    assert "eisfit: error:" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--report-flagged", "-1"]) == 2
    assert "max_flagged must be a whole number >= 0" in capsys.readouterr().err


def test_report_survives_missing_trends_and_records(tmp_path: Path, run_dir: Path) -> None:
    out = tmp_path / "partial"
    shutil.copytree(run_dir, out)
    (out / "trends.json").unlink()
    table = pd.read_csv(out / "results.csv")
    first = table[table["status"] == "ok"].sort_values("time_h")["fit_file"].iloc[0]
    (out / "fits" / f"{first}.json").write_text("{ broken")  # the first representative
    files = write_run_report(out, pdf=False, n_representative=3)
    text = files.html.read_text(encoding="utf-8")
    assert "trends.json not found" in text
    assert "No growth law was fitted" in text
    assert "Selected but not drawn" in text and "no readable fits/ record" in text
    assert files.spectra_shown == 2


def test_fit_report_html_and_pdf(tmp_path: Path) -> None:
    spectrum = _spectra(1, NASTY)[0]
    result = fit(spectrum, "L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    analysis = analyse(result, Cell(1.0, 0.1))
    html = write_fit_report([(result, analysis)], tmp_path / "fit.html", model=None)
    text = html.read_text(encoding="utf-8")
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert text.count("<img ") == 1
    assert f"{result.values['R2.R']:.4g} ± {result.stderr['R2.R']:.2g}" in text
    pdf = write_fit_report([(result, None)], tmp_path / "fit.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_cli_fit_report(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    write_csv(_spectra(1, "one")[0], path)
    report = tmp_path / "fit.html"
    code = main(["fit", str(path), "--model", "gb-soli", "--area-cm2", "1",
                 "--thickness-cm", "0.1", "--report", str(report)])  # fmt: skip
    assert code == 0
    text = report.read_text(encoding="utf-8")
    assert "gb-soli" in text and "area 1 cm², thickness 0.1 cm, symmetric" in text


def test_compact_svg_rounds_coordinates_not_text() -> None:
    svg = b'<svg>\n  <path d="M 1.234567 2.5\nL 3.98765 4"/>\n  '
    svg += b'<text x="1.23456">0.00125</text></svg>'
    out = compact_svg(svg)
    assert out == b'<svg><path d="M 1.23 2.5 L 3.98 4"/><text x="1.23">0.00125</text></svg>'


def test_growth_law_curve_matches_the_documented_formulas() -> None:
    from eisfit.trends.analysis import evaluate_law

    t = np.array([0.0, 4.0])
    assert evaluate_law("parabolic", {"R0": 1.0, "k": 2.0}, t) == pytest.approx([1.0, 5.0])
    power = evaluate_law("power", {"R0": 1.0, "k": 2.0, "m": 1.5}, t)
    assert power == pytest.approx([1.0, 17.0])
    log = evaluate_law("logarithmic", {"R0": 1.0, "k": 2.0, "tau_h": 4.0}, t)
    assert log == pytest.approx([1.0, 1.0 + 2.0 * np.log(2.0)])
    with pytest.raises(ValueError, match="unknown growth law"):
        evaluate_law("cubic", {}, t)


def test_unchanged_inputs_reuse_the_report_and_force_redraws(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_batch(_spectra(5, "c"), BatchSettings.from_model("gb-soli"), out_dir=out, jobs=1)
    first = write_run_report(out, pdf=False, n_representative=5)
    assert not first.reused and first.spectra_shown == 5
    again = write_run_report(out, pdf=False, n_representative=5)
    assert again.reused and again.spectra_shown == 5
    fewer = write_run_report(out, pdf=False, n_representative=2)  # other options: redrawn
    assert not fewer.reused and fewer.spectra_shown == 2
    assert len(list((out / "figures").glob("spectrum_*.png"))) == 2  # stale ones removed
    (out / "trends.json").write_text("{}")
    assert not write_run_report(out, pdf=False, n_representative=2).reused
    assert not write_run_report(out, pdf=False, n_representative=2, force=True).reused
    # --svg: every figure as SVG too (another option: redrawn), and gone without it
    argv = ["report", str(out), "--no-pdf", "--report-spectra", "2"]
    assert main([*argv, "--svg"]) == 0
    assert len(list((out / "figures").glob("spectrum_*.svg"))) == 2
    assert _html(out).count("data:image/svg+xml") == 2 + 3  # the spectra, the trends
    assert main(argv) == 0
    assert not list((out / "figures").glob("*.svg"))
    assert _html(out).count("data:image/png") == 2 + 3
