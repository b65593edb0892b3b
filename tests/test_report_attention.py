"""The "Needs attention" list stays short at any run length (issue 15, read well at any
length): the undetermined and warning rows are one line each, with counts per quantity and
the first row's first reason, files named relative to the run's input folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eisfit.report.attention import attention
from eisfit.report.data import RunData
from eisfit.report.selection import Selection

LONG_REASON = (
    "R0.R undetermined: ended on its physical bound 0 Ω: this resistance is not resolved "
    "(a high-frequency artefact or an arc above the band? crop with --f-max, or fit "
    "without that element); systematic residuals: RMS 0.85 % of |Z|, 22 times the noise"
)


def _run(rows: list[dict], tmp_path: Path) -> RunData:
    table = pd.DataFrame(rows)
    return RunData(tmp_path, table, {}, None, None, (), "none")


def _undetermined_rows(n: int, folder: str) -> list[dict]:
    names = ["R0.R; R2.R", "R0.R", "CPE1.Q; R0.R"]
    return [
        {"source": f"{folder}/cell {i % 2}/spectrum_{i:03d}.txt", "index": 0,
         "status": "undetermined", "reasons": LONG_REASON, "message": "",
         "undetermined": names[i % 3]}
        for i in range(n)
    ]  # fmt: skip


def test_many_undetermined_rows_make_one_short_line_with_counts(tmp_path: Path) -> None:
    folder = "/data/lab/a very long folder name/run 2026-11"
    items = attention(_run(_undetermined_rows(300, folder), tmp_path), Selection((), {}, 0))
    lines = [text for _, text in items if "do not determine" in text]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("300 spectra have quantities the data do not determine")
    assert "R0.R in 300, R2.R in 100, CPE1.Q in 100" in line
    # the first row, relative to the folder all sources share, and only its first reason
    assert "the first, cell 0/spectrum_000.txt #0: R0.R undetermined: ended on" in line
    assert folder not in line and "systematic residuals" not in line
    assert len(line) < 600


def test_warning_rows_name_their_first_reason_only(tmp_path: Path) -> None:
    rows = [
        {"source": f"/data/run/f{i}.mpt", "index": i, "status": "warning",
         "reasons": "a first warning; a second warning", "message": "", "undetermined": ""}
        for i in range(5)
    ]  # fmt: skip
    items = attention(_run(rows, tmp_path), Selection((), {}, 0))
    (line,) = [text for _, text in items if "usable with warnings" in text]
    assert line.startswith("5 spectra are usable with warnings; the first, f0.mpt #0: a first")
    assert "a second warning" not in line


def test_sources_without_a_shared_folder_stay_as_written(tmp_path: Path) -> None:
    rows = _undetermined_rows(2, "relative")
    items = attention(_run(rows, tmp_path), Selection((), {}, 0))
    (line,) = [text for _, text in items if "do not determine" in text]
    assert "the first, relative/cell 0/spectrum_000.txt #0" in line


def test_a_long_first_reason_is_cut_with_an_ellipsis(tmp_path: Path) -> None:
    rows = _undetermined_rows(1, "/data")
    rows[0]["reasons"] = "x" * 500
    items = attention(_run(rows, tmp_path), Selection((), {}, 0))
    (line,) = [text for _, text in items if "do not determine" in text]
    assert "x" * 159 + "…" in line and "x" * 161 not in line
