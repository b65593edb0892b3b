"""The run report of a ``--model auto`` batch: each cell's chosen circuit and how, and no
flag on every spectrum for warnings that differ only by each spectrum's own values."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

from eisfit import BatchSettings, Cell, run_batch, write_run_report
from eisfit.report.data import warning_set

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra" / "cycling_mpt"


def _section(text: str, name: str) -> str:
    inner = text.split(f'id="{name}"')[1].split("</section>")[0]
    return html.unescape(re.sub(r"<[^>]+>", "\n", inner))


def test_the_report_states_the_consensus_and_flags_only_real_warnings(tmp_path: Path) -> None:
    out = tmp_path / "auto"
    run_batch([SAMPLES], BatchSettings.auto(cell=Cell(1.0, 0.1)), out_dir=out, jobs=1,
              progress=False)  # fmt: skip
    files = write_run_report(out, pdf=False, n_representative=4, max_flagged=4)
    text = files.html.read_text(encoding="utf-8")
    summary = _section(text, "summary")
    assert "auto: one circuit per cell" in summary
    assert "accepted by 5 of 5 sampled spectra" in summary
    attention = _section(text, "attention")
    # automatic roles: every spectrum notes its arcs' capacitances, each with its own value
    assert "on most spectra: R1: capacitance (… F/cm2)" in attention
    assert "carry their own fit or physics warnings" not in attention
    table = pd.read_csv(out / "results.csv")
    assert table["alternative"].isna().all()  # the chosen circuit explains every spectrum


def test_a_warning_with_a_spectrum_s_own_number_is_one_warning() -> None:
    a = warning_set("R1: capacitance (3.95e-09 F/cm2) is also within the soli range; x 2")
    b = warning_set("R1: capacitance (4.1e-09 F/cm2) is also within the soli range; x 3")
    assert a == b == {"R1: capacitance (… F/cm2) is also within the soli range", "x …"}


def test_two_cells_each_get_a_line_and_a_new_arc_needs_attention(tmp_path: Path) -> None:
    from test_batch_auto import one_arc_run, two_arc_run

    out = tmp_path / "two"
    run_batch(two_arc_run() + one_arc_run(), BatchSettings.auto(), out_dir=out, jobs=1,
              cell_by="file", progress=False)  # fmt: skip
    text = write_run_report(out, pdf=False).html.read_text(encoding="utf-8")
    summary = _section(text, "summary")
    assert "circuit of cell a.csv" in summary and "circuit of cell b.csv" in summary
    attention = _section(text, "attention")
    assert "2 spectra are explained decisively better by another circuit" in attention
    assert "a.csv spectrum 6" in attention
