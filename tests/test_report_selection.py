"""Which flagged spectra a run report draws (issue 15, a report that reads well at any
length): every kind of problem, the most severe first, spread over the whole run; and
every flagged spectrum listed in a table and in tables/flagged.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eisfit.report import sections
from eisfit.report.data import RunData
from eisfit.report.sections import flagged_html, flagged_rows
from eisfit.report.selection import select_spectra, spread_order


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 10, 17, 64, 1000])
def test_spread_order_is_a_permutation_whose_prefixes_cover_the_range(n: int) -> None:
    order = spread_order(n)
    assert sorted(order) == list(range(n))
    if n >= 3:
        assert order[:2] == [0, n - 1]
    for k in range(3, n + 1):  # any k first ones leave no gap much wider than n / (k - 1)
        chosen = sorted(order[:k])
        assert max(np.diff(chosen)) <= 2 * (n - 1) / (k - 1) + 1


def _table(n: int) -> pd.DataFrame:
    """``n`` ok rows; every 20th fails lin-KK, three fits fail early in the run, one row
    has its own warnings late in the run."""
    table = pd.DataFrame({
        "source": [f"/lab/run/cell_{i // 100}.mpt" for i in range(n)],
        "index": np.arange(n) % 100, "status": ["ok"] * n, "time_h": np.arange(n, dtype=float),
        "fit_file": [f"f_{i}" for i in range(n)], "kk_verdict": ["consistent"] * n,
        "start_path": ["warm"] * n, "warnings": [""] * n, "undetermined": [""] * n,
    })  # fmt: skip
    table.loc[19::20, "kk_verdict"] = "not consistent"
    table.loc[[5, 6, 7], "status"] = "failed"
    table.loc[n - 10, "warnings"] = "a warning of its own"
    return table


def test_the_drawn_flagged_show_every_kind_most_severe_first_over_the_whole_run() -> None:
    table = _table(1000)
    selection = select_spectra(table, n_representative=0, max_flagged=8)
    drawn = sorted(selection.rows)
    assert len(drawn) == 8
    # one of each kind in turn (failed, lin-KK, warnings), until a kind runs out
    assert {5, 6, 7, 990} <= set(drawn)
    kk = [i for i in drawn if table.at[i, "kk_verdict"] == "not consistent"]
    assert kk == [19, 259, 499, 999]  # lin-KK failures from the start to the end
    # the first ones in table order would have been the three failed fits and 19, 39, ...
    assert len(selection.flagged) == 3 + 50 + 1
    assert selection.flagged_not_shown == len(selection.flagged) - 8


def test_an_event_outranks_the_rest() -> None:
    table = _table(200)
    events = [{"kind": "short_circuit", "time_h": 150.0}]
    selection = select_spectra(table, events, n_representative=0, max_flagged=1)
    assert selection.rows == (150,)
    assert selection.reasons[150] == ("at an event",)


def _run(table: pd.DataFrame) -> RunData:
    return RunData(__import__("pathlib").Path("/lab/out"), table, {}, None, None, (),
                   "timestamp")  # fmt: skip


def test_the_flagged_table_lists_every_flagged_spectrum_and_says_which_are_drawn() -> None:
    table = _table(300)
    selection = select_spectra(table, n_representative=0, max_flagged=4)
    rows = flagged_rows(_run(table), selection)
    assert [r[0] for r in rows[:4]] == ["cell_0.mpt #5", "cell_0.mpt #6", "cell_0.mpt #7",
                                        "cell_0.mpt #19"]  # fmt: skip
    assert len(rows) == len(selection.flagged) == 3 + 15 + 1
    assert sum(r[-1] == "yes" for r in rows) == 4
    assert rows[0][3] == "fit failed"
    text = flagged_html(_run(table), selection)
    assert f"{len(rows)} spectra are flagged; 4 of them are drawn above" in text
    assert text.count("<tr>") == len(rows) + 1  # header + every row


def test_a_long_list_is_cut_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(1000)
    selection = select_spectra(table, n_representative=0, max_flagged=2)
    monkeypatch.setattr(sections, "MAX_FLAGGED_LISTED", 10)
    text = flagged_html(_run(table), selection)
    assert text.count("<tr>") == 11 and "The first 10 are listed here." in text


def test_no_flagged_spectrum_no_table() -> None:
    table = _table(300).iloc[100:119]  # no failed fit, lin-KK failure or own warning
    selection = select_spectra(table, n_representative=3)
    assert len(selection.rows) == 3
    assert not selection.flagged and flagged_html(_run(table), selection) == ""
