"""Spectrum, FitResult and CellAnalysis render as HTML in Jupyter, escaping file text."""

from __future__ import annotations

import html

import numpy as np

from eisfit import Cell, SpectrumMeta, analyse, fit, get_model
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))


def _spectrum(source: str = "<script>alert(1)</script>.csv"):
    return simulate(CELL.circuit, CELL.values, np.logspace(6.5, -1, 60), noise=0.003,
                    rng=np.random.default_rng(1), meta=SpectrumMeta(source=source))  # fmt: skip


def test_spectrum_html_names_its_source_escaped() -> None:
    text = _spectrum()._repr_html_()
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "60" in text and "Hz" in text


def test_fit_and_analysis_html() -> None:
    model = get_model("gb-soli")
    result = fit(_spectrum(), model.circuit)
    text = result._repr_html_()
    assert result.status in text and "R2.R" in text and "±" in text
    analysis = analyse(result, Cell(1.0, 0.1), roles=model.roles)
    table = analysis._repr_html_()
    for role in ("bulk", "grain_boundary", "soli"):
        assert role in table
    assert "ASR" in table and "undetermined" not in table.split("warnings")[0]


def test_an_undetermined_parameter_says_why() -> None:
    spectrum = simulate("R0-p(R1,CPE1)", {"R0.R": 100.0, "R1.R": 300.0, "CPE1.Q": 1e-6,
                        "CPE1.n": 0.9}, np.logspace(6, 4, 20), noise=0.002,
                        rng=np.random.default_rng(3))  # fmt: skip
    result = fit(spectrum, "R0-p(R1,CPE1)-p(R2,CPE2)")
    assert result.undetermined
    name, why = next(iter(result.undetermined.items()))
    text = result._repr_html_()
    assert "undetermined" in text and name in text
    assert html.escape(why)[:40] in text
