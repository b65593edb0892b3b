"""A 50,000-point spectrum: fitted and lin-KK checked on every point, reported thinned.

Issue 13: such a spectrum took 1.6 GB and gave a 49 MB report.  Memory is measured by
``bench/memory_bench.py``; here the structure and the sizes that keep it bounded: every
point is fitted and checked, the report draws at most `thin.MAX_DRAWN` points per curve
(plus the kept ones) and says so, and the page stays under 2 MB.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.kk.model import default_cap
from eisfit.report import thin
from eisfit.report.fitreport import fit_record
from eisfit.report.render import render_record
from eisfit.report.writer import write_fit_report
from eisfit.status import USABLE
from eisfit.synthetic import Arc, SyntheticCell, simulate

N_POINTS = 50_000
CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
CELL = SyntheticCell(0.0, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))
SPIKE = 20_000  # one point 40 % off: screening flags it, the figure must keep it


@pytest.fixture(scope="module")
def long_fit() -> eisfit.FitResult:
    frequency_hz = np.logspace(7, -2, N_POINTS)
    values = {k: v for k, v in CELL.values.items() if k != "L0.L"}
    spectrum = simulate(CIRCUIT, values, frequency_hz, noise=0.005,
                        rng=np.random.default_rng(13))  # fmt: skip
    z = spectrum.impedance_ohm.copy()
    z[SPIKE] *= 1.4
    # a generous wall-time budget: the test checks the result, not the speed (a loaded
    # machine takes several times the default 10 s for 50,000 points)
    return eisfit.fit(eisfit.Spectrum(frequency_hz, z), CIRCUIT, timeout_s=300.0)


def test_every_point_is_fitted_and_checked(long_fit: eisfit.FitResult) -> None:
    assert long_fit.status in USABLE
    assert len(long_fit.spectrum) == N_POINTS
    for name, value in CELL.values.items():
        if name != "L0.L":
            assert long_fit.values[name] == pytest.approx(value, rel=0.05), name
    kk = long_fit.kk
    assert kk is not None
    assert kk.residuals_real.shape == kk.residuals_imag.shape == (N_POINTS,)
    assert 2 <= kk.n_rc <= default_cap(2 * np.pi * long_fit.spectrum.frequency_hz) < 200
    # the spike is the largest lin-KK residual: the check saw the point
    assert int(np.argmax(np.abs(kk.residuals_real))) == SPIKE
    assert kk.verdict == "not consistent"
    assert kk.noise_estimate == pytest.approx(0.005, rel=0.1)


def test_the_report_draws_a_thinned_figure_and_says_so(
    long_fit: eisfit.FitResult, tmp_path: Path
) -> None:
    path = write_fit_report([(long_fit, None)], tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 2_000_000
    assert len(re.findall(r"data:image/png;base64,", html)) == 1  # its one figure
    # what the figure says, read from the same figure drawn as SVG
    rendered = render_record(fit_record(long_fit, None), "long", svg=True)
    assert rendered.svg is not None
    svg = rendered.svg.decode()
    said = re.search(r"drawn: ([\d,]+) of 50,000 points[^<]*all were fitted", svg)
    assert said is not None
    drawn = int(said.group(1).replace(",", ""))
    assert thin.MAX_DRAWN <= drawn <= thin.MAX_DRAWN + 10
    # markers: Nyquist, |Z|, phase, 2 fit and 2 lin-KK residual series, all thinned
    # alike; besides them only tick marks and legend handles
    assert 7 * drawn <= svg.count("<use") < 7 * drawn + 200


def test_drawn_points_keep_the_ends_the_named_points_and_an_even_spread() -> None:
    f = np.logspace(6, -2, 20_001)
    assert np.array_equal(thin.drawn_points(f[:500]), np.arange(500))
    keep = [7, 12_345, 19_999]
    shown = thin.drawn_points(f, keep=keep, max_points=400)
    assert shown[0] == 0 and shown[-1] == f.size - 1
    assert set(keep) <= set(shown.tolist())
    assert np.all(np.diff(shown) > 0)  # the sweep's own order, no repeats
    assert 400 <= shown.size <= 400 + len(keep) + 2
    gaps = np.abs(np.diff(np.log10(f[shown])))
    assert gaps.max() <= 1.5 * 8 / 399  # evenly in log f: no gap much above the step


def test_extremes_ignore_nan() -> None:
    assert thin.extremes(np.array([0.1, np.nan, -3.0, 2.0]), np.full(3, np.nan)) == [2]


@pytest.mark.parametrize("rows_per_call", [None, 1, 2, 100])
def test_batched_lm_gives_the_same_steps_however_the_starts_are_split(
    rows_per_call: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long spectra evaluate a few starts per call (eisfit.fitting.lm.ROW_BYTES); every start's
    normal equations are its own, so the result is bitwise the same."""
    from eisfit.fitting import lm

    rng = np.random.default_rng(4)
    t = np.linspace(0.0, 3.0, 40)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * rng.standard_normal(t.size)
    calls = []

    def stacked(x: np.ndarray) -> tuple[np.ndarray, None]:
        calls.append(x.shape[0])
        amp, rate = x[:, :1], x[:, 1:]
        decay = np.exp(-rate * t)
        rows = np.stack([decay, -amp * t * decay, amp * decay - y], axis=1)
        return rows, None

    starts = np.array([[1.0, 0.5], [3.0, 2.0], [0.5, 1.0], [2.5, 0.2], [1.5, 3.0]])
    bounds = {"lower": np.full(2, -np.inf), "upper": np.full(2, np.inf)}
    want = lm.batched_lm(stacked, starts, **bounds, rows_per_call=10**6)
    calls.clear()
    monkeypatch.setattr(lm, "ROW_BYTES", 3 * 40 * 8 * 2)  # two starts per call when learnt
    got = lm.batched_lm(stacked, starts, **bounds, rows_per_call=rows_per_call)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.cost, want.cost)
    assert got.n_evaluations == want.n_evaluations
    assert max(calls) <= {None: 2, 1: 1, 2: 2, 100: 5}[rows_per_call]
