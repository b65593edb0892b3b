"""The trend parts of a run report: the constant law, usable rows only, and the time axis of
a run without timestamps (issue 12, items 6 and 9)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eisfit.report.data import RunData
from eisfit.report.figures import trend_figure
from eisfit.report.sections import law_header, law_rows, trends_section
from eisfit.trends.analysis import analyse_trends


def _table(time_source: str) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 24
    t = np.arange(n, dtype=float) * (2.0 if time_source == "timestamp" else 1.0)
    soli = (400 + 60 * np.sqrt(t)) * (1 + 0.005 * rng.standard_normal(n))
    df = pd.DataFrame(
        {
            "source": "run",
            "time_h": t,
            "time_source": time_source,
            "status": "ok",
            "R_bulk_ohm": 110 * (1 + 0.003 * rng.standard_normal(n)),  # flat
            "R_gb_ohm": 80 * (1 + 0.005 * rng.standard_normal(n)),
            "R_soli_ohm": soli,
            "R_soli_ohm_stderr": 0.005 * soli,
            "partial": False,
        }
    )
    df.loc[12:, "R_soli_ohm"] *= 1.8  # a jump
    df.loc[5, "status"] = "failed"
    df.loc[5, "R_bulk_ohm"] = 1e6  # garbage in a failed row: never drawn or fitted
    df.loc[7, "partial"] = True
    df.loc[7, "R_bulk_ohm"] = 3e3  # a truncated sweep: never drawn or fitted
    return df.assign(R_total_ohm=df[["R_bulk_ohm", "R_gb_ohm", "R_soli_ohm"]].sum(axis=1))


def _run(time_source: str) -> RunData:
    table = _table(time_source)
    return RunData(Path("."), table, analyse_trends(table), None, None, (), time_source)


@pytest.mark.parametrize("time_source", ["timestamp", "file_order"])
def test_growth_law_table_and_events_say_what_t_is(time_source: str) -> None:
    run = _run(time_source)
    hours = time_source == "timestamp"
    assert law_header(run)[2] == ("parameters (t in hours)" if hours
                                  else "parameters (t = spectrum number)")  # fmt: skip
    rows = {row[0]: row for row in law_rows(run)}
    bulk = rows["R_bulk / Ω"]
    assert bulk[1] == "constant" and "no significant change" in bulk[4]
    assert re.fullmatch(r"R0 = \S+ ± \S+ Ω", bulk[2])  # the report writes units one way
    html = trends_section(run, [])
    assert "at least 2 below the constant" in html
    if hours:
        assert "time / h</th>" in html and "t = 24 h" in html
    else:
        assert "spectrum number (no timestamps)</th>" in html
        assert "between spectrum number 11 and spectrum number 12" in html
        assert re.search(r"\bh\b|\bhours?\b", html) is None, "file order must not say hours"


def test_trend_figure_draws_usable_rows_and_the_constant_law() -> None:
    run = _run("file_order")
    figure = trend_figure(run.table, run.trends, ("R_bulk_ohm", "R_soli_ohm"), run.time_label)
    bulk, soli = figure.axes[:2]
    assert bulk.get_xlabel() == "spectrum number (no timestamps)"
    (points,) = [c for c in bulk.containers]  # the error-bar container
    y = points.lines[0].get_ydata()
    assert len(y) == 22 and max(y) < 200  # the failed and the partial row are left out
    assert [t.get_text() for t in bulk.get_legend().get_texts()] == [
        "constant: no significant change"
    ]
    assert soli.get_legend().get_texts()[0].get_text().endswith(" law")
