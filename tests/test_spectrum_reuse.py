"""A spectrum figure drawn into a reused figure is the figure a new one gives (issue 15):
the report's workers draw every spectrum into the previous one's axes, which saves
building the axes and their ticks; the PNG (and SVG) must not change by a byte, whatever
came before.  The spectra cover what changes a panel's state: a fit or none, lin-KK
consistent or not or not possible, a DRT or a note instead, a thinned long spectrum (a
taller figure), a page version with a title and notes."""

from __future__ import annotations

import numpy as np
import pytest

from eisfit import SpectrumMeta, fit
from eisfit.report.data import spectrum_view
from eisfit.report.fitreport import fit_record
from eisfit.report.render import drawing, png_bytes
from eisfit.report.spectrum_plot import spectrum_figure
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(400.0, 100.0, 0.8)))


def _view(frequency_hz: np.ndarray, *, seed: int, distort: bool = False, fitted: bool = True,
          circuit: str = "L0-R0-p(R1,CPE1)-p(R2,CPE2)", name: str = "s.csv"):  # fmt: skip
    rng = np.random.default_rng(seed)
    spectrum = simulate(CELL.circuit, CELL.values, frequency_hz, noise=0.004, rng=rng,
                        meta=SpectrumMeta(source=name))  # fmt: skip
    if distort:  # every other point 30 % off: lin-KK is not consistent
        z = spectrum.impedance_ohm.copy()
        z[1::2] *= 1.3
        spectrum = type(spectrum)(frequency_hz=frequency_hz, impedance_ohm=z, meta=spectrum.meta)
    result = fit(spectrum, circuit)
    record = fit_record(result, None)
    if not fitted:  # a record without usable parameters: no fit curve, no residuals
        record["fit"]["parameters"] = {}
    return spectrum_view(record, name)


@pytest.fixture(scope="module")
def views() -> dict:
    band = np.logspace(np.log10(7e6), -1, 60)
    return {
        "ok": _view(band, seed=1),
        "kk failed": _view(band, seed=2, distort=True),
        "no fit": _view(band, seed=3, fitted=False),
        "8 points, no DRT": _view(np.logspace(6, 0, 8), seed=4),
        "4 points, no lin-KK": _view(np.logspace(6, 1, 4), seed=5, circuit="R0-p(R1,C1)"),
        "thinned": _view(np.logspace(np.log10(7e6), -1, 1500), seed=6),
    }


ORDER = ["ok", "kk failed", "ok", "no fit", "8 points, no DRT", "ok", "4 points, no lin-KK",
         "kk failed", "thinned", "ok", "thinned", "no fit", "ok"]  # fmt: skip


def _png(view, reuse: bool, **page) -> bytes:
    with drawing():
        return png_bytes(spectrum_figure(view, reuse=reuse, **page))


def test_a_reused_figure_gives_the_same_png_bytes_in_any_order(views: dict) -> None:
    fresh = {name: _png(view, reuse=False) for name, view in views.items()}
    assert len(set(fresh.values())) == len(fresh)  # six different figures
    for name in ORDER:
        assert _png(views[name], reuse=True) == fresh[name], name


def test_the_page_version_with_a_title_and_notes_reuses_its_own_layout(views: dict) -> None:
    page = {"title": "s.csv, spectrum 0", "notes": ["R0.R = 110 Ω", "R1.R = 80 Ω"]}
    want = _png(views["kk failed"], reuse=False, **page)
    _png(views["ok"], reuse=True, **page)
    _png(views["thinned"], reuse=True)
    assert _png(views["kk failed"], reuse=True, **page) == want


def test_a_reused_figure_gives_the_same_svg(views: dict) -> None:
    from eisfit.report.figures import svg_bytes

    def svg(view, reuse: bool) -> bytes:
        with drawing():
            return svg_bytes(spectrum_figure(view, reuse=reuse))

    want = svg(views["ok"], reuse=False)
    svg(views["kk failed"], reuse=True)
    assert svg(views["ok"], reuse=True) == want


def test_reuse_keeps_one_figure_per_layout(views: dict) -> None:
    with drawing():
        first = spectrum_figure(views["ok"], reuse=True)
        again = spectrum_figure(views["kk failed"], reuse=True)
        taller = spectrum_figure(views["thinned"], reuse=True)
        new = spectrum_figure(views["ok"])
    assert again is first and taller is not first and new is not first
    assert taller.get_figheight() > first.get_figheight()


def test_threads_do_not_share_a_reused_figure(views: dict) -> None:
    """Each thread reuses its own figure, so two threads never draw into one.  (Drawing in
    threads is still not byte-stable: matplotlib's rc settings, which every report figure
    is drawn under, are global to the process; the report draws in processes.)"""
    import threading

    found: dict[str, tuple] = {}
    both_drawn = threading.Barrier(2)

    def two_figures(name: str) -> None:
        with drawing():
            first = spectrum_figure(views[name], reuse=True)
            both_drawn.wait(timeout=60)  # both threads alive, each with its figure
            again = spectrum_figure(views[name], reuse=True)
        found[name] = (first, again)

    threads = [threading.Thread(target=two_figures, args=(n,)) for n in ("ok", "kk failed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    (a1, a2), (b1, b2) = found["ok"], found["kk failed"]
    assert a1 is a2 and b1 is b2 and a1 is not b1
