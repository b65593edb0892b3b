"""Growth-law fits and event detection (eisfit.trends) on synthetic series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures_trends import run_table, with_total

from eisfit.trends.analysis import (
    GROWTH_LAWS,
    LAWS,
    analyse_trends,
    detect_events,
    fit_growth,
)

GROUND_TRUTH = Path(__file__).resolve().parents[1] / "sample_spectra" / "ground_truth.json"

TRUTHS = {
    "linear": {"R0": 100.0, "k": 2.0},
    "parabolic": {"R0": 100.0, "k": 30.0},
    "power": {"R0": 100.0, "k": 5.0, "m": 0.75},
    "logarithmic": {"R0": 100.0, "k": 80.0, "tau_h": 10.0},
}


def _law(law: str, t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    if law == "linear":
        return p["R0"] + p["k"] * t
    if law == "parabolic":
        return p["R0"] + p["k"] * np.sqrt(t)
    if law == "power":
        return p["R0"] + p["k"] * t ** p["m"]
    return p["R0"] + p["k"] * np.log1p(t / p["tau_h"])


@pytest.mark.parametrize("law", GROWTH_LAWS)
@pytest.mark.parametrize(("seed", "n"), [(1, 30), (2, 41), (3, 60)])
def test_each_law_recovered_from_its_own_data(law: str, seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 200.0, n)
    y = _law(law, t, TRUTHS[law]) * (1 + 0.01 * rng.standard_normal(n))
    res = fit_growth(t, y, quantity="R_soli_ohm")
    assert res.best == law, res.message
    assert res.criterion == "AICc"
    best = res.fit_of(law)
    assert best is not None and best.success and best.n_points == n
    for name, truth in TRUTHS[law].items():
        z = (best.parameters[name] - truth) / best.stderr[name]
        assert abs(z) < 4, (name, best.parameters[name], best.stderr[name])
    assert [f.law for f in res.fits] == list(LAWS) and LAWS[0] == "constant"
    assert res.significant_change is True and "below the constant law" in res.message


def test_sample_cycling_truth_is_parabolic() -> None:
    truth = json.loads(GROUND_TRUTH.read_text())["cycling"]
    res = fit_growth(truth["times_h"], truth["R2_ohm"], quantity="R_soli_ohm")
    assert res.best in ("parabolic", "power")
    best = res.fit_of(res.best)
    assert best is not None
    if res.best == "power":
        assert best.parameters["m"] == pytest.approx(0.5, abs=0.02)
    assert best.parameters["R0"] == pytest.approx(truth["R2_0_ohm"], rel=1e-3)
    assert best.parameters["k"] == pytest.approx(truth["k_ohm_per_sqrt_h"], rel=1e-3)
    power = res.fit_of("power")
    assert power is not None and "duplicates the parabolic law" in power.message


@pytest.mark.parametrize("weighted", [False, True])
def test_stderr_consistent_with_monte_carlo(weighted: bool) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 48.0, 2.0)
    sd = 0.01 * (400 + 60 * np.sqrt(t))
    ks, ses = [], []
    for _ in range(200):
        y = 400 + 60 * np.sqrt(t) + sd * rng.standard_normal(t.size)
        fit = fit_growth(t, y, stderr=sd if weighted else None).fit_of("parabolic")
        assert fit is not None
        ks.append(fit.parameters["k"])
        ses.append(fit.stderr["k"])
    ratio = np.std(ks, ddof=1) / np.median(ses)
    assert 0.8 < ratio < 1.25
    assert np.mean(ks) == pytest.approx(60.0, abs=3 * np.std(ks) / np.sqrt(len(ks)))


def test_too_few_points_and_nan_skipped() -> None:
    res = fit_growth([0, 1, np.nan, 3], [1.0, 2.0, 3.0, np.nan])
    assert res.best is None and res.fits == ()
    assert "at least 4" in res.message
    t = np.linspace(0, 100, 20)
    y = 50 + 3 * t
    y_nan = y.copy()
    y_nan[[3, 7]] = np.nan
    res = fit_growth(t, y_nan)
    assert res.best == "linear"
    assert res.fit_of("linear").n_points == 18  # type: ignore[union-attr]
    assert "skipped 2" in res.message


def test_degenerate_data_never_raises() -> None:
    t = np.linspace(0, 10, 8)
    res = fit_growth(t, np.full(8, 5.0))
    assert res.best == "constant" and "no significant change" in res.message
    for f in res.fits:
        assert isinstance(f.message, str)
    res = fit_growth(np.zeros(6), np.arange(6.0))
    assert res.best is None and "same time" in res.message
    res = fit_growth(t, 5 + t, stderr=np.full(8, np.nan))
    assert not res.weighted and "unweighted" in res.message


# --------------------------------------------------------------------------- events


_run = run_table
_total = with_total


def test_smooth_run_has_no_events() -> None:
    for seed in range(5):
        assert detect_events(_run(seed=seed)) == ()


def test_short_circuit_at_30_h() -> None:
    df = _run()
    after = df["time_h"] >= 30
    df.loc[after, ["R_gb_ohm", "R_soli_ohm"]] = np.nan
    df.loc[after, "R_bulk_ohm"] = 3.0
    df = _total(df)
    events = detect_events(df)
    assert len(events) == 1
    (ev,) = events
    assert ev.kind == "short_circuit" and ev.time_h == 30.0 and ev.quantity == "R_total_ohm"
    assert "R_soli_ohm" in ev.evidence and "R_gb_ohm" in ev.evidence


def test_jump_of_interface_resistance() -> None:
    df = _run()
    df.loc[df["time_h"] >= 30, "R_soli_ohm"] *= 1.8
    events = detect_events(_total(df))
    assert events
    assert {e.kind for e in events} == {"jump"}
    assert {e.time_h for e in events} == {30.0}
    assert "R_soli_ohm" in {e.quantity for e in events}


@pytest.mark.parametrize("appear", [True, False])
def test_arc_appears_or_vanishes(appear: bool) -> None:
    df = _run()
    absent = df["time_h"] < 20 if appear else df["time_h"] >= 20
    df.loc[absent, "R_gb_ohm"] = np.nan
    events = detect_events(_total(df))
    assert len(events) == 1
    (ev,) = events
    assert ev.kind == ("arc_appeared" if appear else "arc_vanished")
    assert ev.time_h == 20.0 and ev.quantity == "R_gb_ohm"


def test_failed_rows_and_nan_ignored() -> None:
    df = _run()
    df.loc[[5, 12], "status"] = "failed"
    df.loc[[5, 12], ["R_bulk_ohm", "R_gb_ohm", "R_soli_ohm", "R_total_ohm"]] = np.nan
    df.loc[20, "status"] = "error"
    df.loc[20, ["R_total_ohm", "R_soli_ohm"]] = 1.0  # garbage in an error row
    df.loc[8, "R_soli_ohm"] = np.nan  # ok row whose interface value is missing once
    shuffled = df.sample(frac=1.0, random_state=3)
    assert detect_events(shuffled) == ()
    out = analyse_trends(shuffled)
    assert out["trends"]["R_soli_ohm"]["best"] in ("parabolic", "power")
    assert out["trends"]["R_soli_ohm"]["chosen"]["n_points"] == 26
    assert out["trends"]["R_soli_ohm"]["weighted"]


def test_analyse_trends_is_json_ready() -> None:
    df = _run()
    df.loc[df["time_h"] >= 30, "R_soli_ohm"] *= 1.8
    df = _total(df).assign(C_soli_f=np.nan)
    out = analyse_trends(df)
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text) == out
    assert set(out["trends"]) == {"R_bulk_ohm", "R_gb_ohm", "R_soli_ohm", "R_total_ohm"}
    assert "C_soli_f" in out["skipped"] and "asr_soli_ohm_cm2" in out["skipped"]
    assert [e["kind"] for e in out["events"]] and all(
        set(e) == {"kind", "time_h", "quantity", "evidence"} for e in out["events"]
    )
    soli = out["trends"]["R_soli_ohm"]
    assert {f["law"] for f in soli["fits"]} == {"constant", *GROWTH_LAWS}
    assert {f["law"]: f["units"] for f in soli["fits"]}["parabolic"] == {
        "R0": "ohm", "k": "ohm/h^0.5"
    }  # fmt: skip
    assert out["time_axis"]["label"] == "time / h"


def test_law_that_fails_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import eisfit.trends.laws as trends

    real = trends.curve_fit

    def flaky(f, t, y, *, p0, **kw):  # type: ignore[no-untyped-def]
        if len(p0) == 3:
            raise RuntimeError("Optimal parameters not found")
        return real(f, t, y, p0=p0, **kw)

    monkeypatch.setattr(trends, "curve_fit", flaky)
    t = np.linspace(0, 100, 20)
    res = fit_growth(t, 10 + 2 * np.sqrt(t))
    assert res.best == "parabolic"
    power = res.fit_of("power")
    assert power is not None and not power.success and "did not converge" in power.message
    assert json.dumps(res.to_dict(), allow_nan=False)


def test_isolated_spike_is_no_jump_and_left_out_of_trends() -> None:
    df = _run()
    df.loc[12, "R_soli_ohm"] = 2.7e65  # a diverged spectrum fit marked ok
    df.loc[[3, 4], "C_soli_f"] = 1.6e211
    df = _total(df)
    assert detect_events(df) == ()
    out = analyse_trends(df.assign(C_soli_f=df["C_soli_f"].fillna(4e-6)))
    soli = out["trends"]["R_soli_ohm"]
    assert soli["excluded_spikes_h"] == [24.0]
    assert soli["best"] in ("parabolic", "power")
    assert soli["chosen"]["parameters"]["k"] == pytest.approx(60, rel=0.1)
    assert out["trends"]["C_soli_f"]["excluded_spikes_h"] == [6.0, 8.0]


def test_absurd_values_do_not_warn_or_raise() -> None:
    t = np.arange(10.0)
    y = np.array([1e211, 1e211, 3, 4, 5, 6, 7, 8, 9, 1e-300])
    res = fit_growth(t, y)
    assert isinstance(res.message, str)
    assert json.dumps(res.to_dict(), allow_nan=False)


def test_trends_stop_at_short_circuit() -> None:
    df = _run()
    df.loc[df["time_h"] >= 30, ["R_gb_ohm", "R_soli_ohm"]] = np.nan
    df.loc[df["time_h"] >= 30, "R_bulk_ohm"] = 3.0
    out = analyse_trends(_total(df))
    assert [e["kind"] for e in out["events"]] == ["short_circuit"]
    total = out["trends"]["R_total_ohm"]
    assert total["chosen"]["n_points"] == 15
    assert "before the short circuit at t = 30 h" in total["message"]
