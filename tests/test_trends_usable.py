"""Issue 12 items 6 and 9: the constant (null) law, trends and events from usable rows only,
and a file-order time axis that never claims hours."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from fixtures_trends import run_table, with_total

from eisfit.errors import EisfitError
from eisfit.trends.analysis import BEAT_MARGIN, analyse_trends, detect_events, fit_growth, ok_rows
from eisfit.trends.events import partial_mask, usable_rows
from eisfit.trends.timeaxis import TimeAxis, time_axis_of


def _flat_with_slope(slope: float, slope_se: float, *, n: int = 24, seed: int = 5) -> tuple:
    """R_bulk(t) whose ordinary least-squares slope is exactly ``slope`` +- ``slope_se``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 46.0, n)
    design = np.column_stack([np.ones(n), t])
    noise = rng.standard_normal(n)
    resid = noise - design @ np.linalg.lstsq(design, noise, rcond=None)[0]  # orthogonal to 1, t
    sxx = np.sum((t - t.mean()) ** 2)
    resid *= slope_se * np.sqrt((n - 2) * sxx / np.sum(resid**2))
    return t, 110.0 + slope * t + resid


def test_issue_example_flat_r_bulk_is_constant() -> None:
    t, y = _flat_with_slope(-0.004, 0.0045)
    res = fit_growth(t, y, quantity="R_bulk_ohm")
    linear = res.fit_of("linear")
    assert linear is not None
    assert linear.parameters["k"] == pytest.approx(-0.004, rel=1e-6)
    assert linear.stderr["k"] == pytest.approx(0.0045, rel=1e-6)
    assert res.best == "constant" and res.significant_change is False
    assert res.message.startswith("no significant change")
    constant = res.fit_of("constant")
    assert constant is not None and constant.parameters["R0"] == pytest.approx(np.mean(y))
    assert res.to_dict()["chosen"]["law"] == "constant"


def test_a_clear_slope_beats_the_constant_law() -> None:
    t, y = _flat_with_slope(-0.04, 0.0045)  # the same scatter, a slope of 9 stderr
    res = fit_growth(t, y, quantity="R_bulk_ohm")
    assert res.best != "constant" and res.significant_change is True
    key = "aicc"
    margin = getattr(res.fit_of("constant"), key) - getattr(res.fit_of(res.best), key)
    assert margin >= BEAT_MARGIN


def test_constant_wins_on_flat_noisy_data() -> None:
    chosen = Counter()
    for seed in range(100):
        rng = np.random.default_rng(seed)
        t = np.linspace(0.0, 46.0, 12)
        y = 110.0 * (1 + 0.005 * rng.standard_normal(t.size))
        chosen[fit_growth(t, y, quantity="R_bulk_ohm").best] += 1
    # the margin of 2 is about a 5 % test per law; four laws compete with the null
    assert chosen["constant"] >= 85, chosen


@pytest.mark.parametrize("seed", range(5))
def test_constant_loses_on_real_parabolic_growth(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 46.0, 24)
    y = (400 + 20 * np.sqrt(t)) * (1 + 0.01 * rng.standard_normal(t.size))  # +34 % in 46 h
    res = fit_growth(t, y, quantity="R_soli_ohm")
    assert res.best != "constant" and res.significant_change, res.message
    assert "below the constant law" in res.message  # logarithmic may mimic t^0.5 here


def test_constant_law_is_the_weighted_mean() -> None:
    t = np.arange(6.0)
    y = np.array([10.0, 11.0, 9.0, 10.5, 9.5, 10.2])
    s = np.array([0.5, 1.0, 1.0, 0.5, 2.0, 1.0])
    res = fit_growth(t, y, stderr=s)
    constant = res.fit_of("constant")
    assert constant is not None
    w = 1 / s**2
    mean = np.sum(w * y) / np.sum(w)
    chi2 = np.sum(w * (y - mean) ** 2)
    assert constant.parameters["R0"] == pytest.approx(mean, rel=1e-12)
    assert constant.stderr["R0"] == pytest.approx(np.sqrt(chi2 / 5 / np.sum(w)), rel=1e-12)
    assert constant.rss == pytest.approx(chi2, rel=1e-12)
    assert constant.aic == pytest.approx(6 * np.log(chi2 / 6) + 2, rel=1e-12)


def test_bad_time_source_is_an_eisfit_error() -> None:
    with pytest.raises(EisfitError, match="time_source 'days'"):
        fit_growth([0, 1, 2, 3], [1, 2, 3, 4], time_source="days")
    with pytest.raises(EisfitError, match="no time_h column"):
        usable_rows(pd.DataFrame({"status": ["ok"]}))


# --------------------------------------------------------------------------- usable rows


_run = run_table
_total = with_total


def test_usable_rows_keep_ok_warning_undetermined_and_drop_partial() -> None:
    df = _run(8)
    df["status"] = ["ok", "Warning", "undetermined", "failed", "error", "ok", "ok", "ok"]
    df["partial"] = [False, False, False, False, False, True, False, False]
    rows = usable_rows(df.iloc[::-1])
    assert rows["time_h"].tolist() == [0.0, 2.0, 4.0, 12.0, 14.0]
    assert ok_rows is usable_rows
    assert len(usable_rows(df.drop(columns=["status", "partial"]))) == 8


@pytest.mark.parametrize(
    "partial", [[True, False, np.nan], ["True", "False", ""], [1, 0, np.nan], ["true", "0", None]]
)
def test_partial_flag_as_read_back_from_csv(partial: list) -> None:
    assert partial_mask(pd.DataFrame({"partial": partial})).tolist() == [True, False, False]
    assert partial_mask(pd.DataFrame({"x": [1, 2]})).tolist() == [False, False]


def test_partial_sweeps_raise_no_event_and_leave_the_trends() -> None:
    df = _run()
    tail = df.index[-3:]
    df.loc[tail, "R_soli_ohm"] *= 0.15  # truncated exports: the low-frequency arc is cut
    df = _total(df)
    assert any(e.kind == "jump" for e in detect_events(df))  # the control: they would
    df["partial"] = df.index.isin(tail)
    assert detect_events(df) == ()
    out = analyse_trends(df)
    assert out["trends"]["R_soli_ohm"]["chosen"]["n_points"] == 27
    assert out["rows"] == {"rows": 30, "used": 27, "partial": 3, "unusable_or_no_time": 0}


def test_undetermined_nan_never_raises_an_event() -> None:
    df = _run()
    gap = df.index[10:15]
    df.loc[gap, "status"] = "undetermined"
    df.loc[gap, "R_gb_ohm"] = np.nan  # the arc could not be placed: unknown, not gone
    df = _total(df)  # R_total here misses R_gb: a lower bound
    df.loc[gap[:2], "R_soli_ohm"] = np.nan
    df.loc[gap[:2], "R_total_ohm"] = np.nan
    assert detect_events(df) == ()
    ok_nan = df.assign(status="ok")  # the same NaN in ok rows: the arc is absent
    kinds = Counter(e.kind for e in detect_events(ok_nan))
    assert kinds == {"arc_vanished": 2, "arc_appeared": 2}
    out = analyse_trends(df)
    assert out["trends"]["R_gb_ohm"]["chosen"]["n_points"] == 25
    assert out["trends"]["R_soli_ohm"]["chosen"]["n_points"] == 28


def test_an_undetermined_total_is_no_short_but_a_measured_collapse_is() -> None:
    """The physics leaves R_total NaN when an undetermined part matters to it (an arc not
    closed in the band): no short.  When the arcs are absent from the data (a shorted
    cell shows a small resistor) the total is measured and finite: a short, whatever
    the row's status."""
    df = _run()
    df.loc[:, "R_soli_ohm"] *= 20  # the interface dominates the total
    df = _total(df)
    df.loc[15, "status"] = "undetermined"
    df.loc[15, "R_soli_ohm"] = np.nan
    df.loc[15, "R_total_ohm"] = np.nan
    assert detect_events(df) == ()
    df.loc[15:, "status"] = "undetermined"  # every arc absent from here on: a shorted cell
    df.loc[15:, ["R_soli_ohm", "R_gb_ohm"]] = np.nan
    df.loc[15:, "R_total_ohm"] = 2.0
    assert [e.kind for e in detect_events(df)] == ["short_circuit"]


def test_absurd_values_of_the_issue_are_undetermined_and_raise_nothing() -> None:
    df = _run()
    bad = df.index[[4, 9, 17]]
    df.loc[bad, "status"] = "undetermined"
    df.loc[bad, ["R_soli_ohm", "R_soli_ohm_stderr", "R_total_ohm"]] = np.nan  # were 1.2e99
    events = detect_events(df)
    assert events == ()
    assert analyse_trends(df)["trends"]["R_total_ohm"]["chosen"]["n_points"] == 27


# --------------------------------------------------------------------------- time axis


def test_time_axis_of_a_table() -> None:
    assert time_axis_of(pd.DataFrame({"time_h": [0.0]})) == TimeAxis("timestamp")
    mixed = pd.DataFrame({"time_source": ["timestamp", None, "timestamp"]})
    assert time_axis_of(mixed).hours
    order = pd.DataFrame({"time_source": ["file_order", None]})
    axis = time_axis_of(order)
    assert not axis.hours and axis.label == "spectrum number"
    assert axis.at(3) == "spectrum number 3" and axis.per("ohm") == "ohm per spectrum number"


def _strings(out: dict) -> list[str]:
    """Every message, evidence, unit and label of an analyse_trends result."""
    found = [out["time_axis"]["label"], out["time_axis"]["unit"]]
    found += [e["evidence"] for e in out["events"]]
    for trend in out["trends"].values():
        found.append(trend["message"])
        for f in trend["fits"]:
            found += [f["message"], *f["units"].values()]
    return found


def test_file_order_runs_say_spectrum_number_never_hours() -> None:
    df = _run(time_source="file_order")
    df["time_h"] = np.arange(len(df), dtype=float)  # spectrum numbers
    df.loc[df.index >= 15, "R_soli_ohm"] *= 1.8  # a jump
    df.loc[df.index >= 25, ["R_gb_ohm", "R_soli_ohm"]] = np.nan  # then a short
    df.loc[df.index >= 25, "R_bulk_ohm"] = 3.0
    out = analyse_trends(_total(df))
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert [e["kind"] for e in out["events"]] == ["jump", "jump", "short_circuit"]
    assert "between spectrum number 14 and spectrum number 15" in out["events"][0]["evidence"]
    assert out["time_axis"] == {
        "source": "file_order", "label": "spectrum number", "unit": "spectrum number"
    }  # fmt: skip
    bulk = out["trends"]["R_bulk_ohm"]
    assert "before the short circuit at spectrum number 25" in bulk["message"]
    units = {f["law"]: f["units"] for f in bulk["fits"]}
    assert units["linear"] == {"R0": "ohm", "k": "ohm per spectrum number"}
    assert units["parabolic"]["k"] == "ohm per spectrum number^0.5"
    assert units["logarithmic"]["tau_h"] == "spectrum number"
    text = _strings(out)
    assert all("spectrum number" in s for s in text[:2])
    hours = [s for s in text if re.search(r"\bh\b|\bhours?\b", s)]
    assert hours == []
    timed = analyse_trends(_total(df.assign(time_source="timestamp")))
    assert "before the short circuit at t = 25 h" in timed["trends"]["R_bulk_ohm"]["message"]
    assert {f["law"]: f["units"] for f in timed["trends"]["R_bulk_ohm"]["fits"]}["linear"] == {
        "R0": "ohm", "k": "ohm/h"
    }  # fmt: skip
