"""The five-panel figure of one spectrum: Nyquist with the fit, Bode |Z| and phase, fit and
lin-KK residuals, and across the width the DRT (`eisfit.report.drt_panel`).

Drawing a figure with matplotlib builds its axes and, at the first drawing, their tick
objects; for this figure that is a fifth to two fifths of its cost, the same for every
spectrum.  ``spectrum_figure(..., reuse=True)`` (what the report's workers call) keeps
the figure of the thread's previous spectrum with the same layout, takes its content out
(`_clear`: every line, marker, fill, text and legend taken out, titles and labels
emptied, scales linear, view limits (0, 1), data limits forgotten, autoscaling on: the
state of new axes) and draws the next spectrum into it: 1.25-1.8x faster per figure
(``bench/report_bench.py``), and the PNG is byte for byte the one a new figure gives
(tested on runs of synthetic and real spectra, issue 15).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EisfitError
from .axes import legend_above_data, log_labels
from .data import SpectrumView
from .figures import DATA, FIT, IMAG, STYLE, blank_figure
from .thin import MAX_DRAWN, drawn_points, extremes, note
from .units import si_prefix

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["spectrum_figure"]

_PANELS_IN = (7.2, 7.6)  # width and height of the panels (2 x 2, then the DRT), inches
_NOTE_LINE_IN = 0.13  # height of one line of notes under the panels (7 pt monospace)
_ROWS = (1.0, 1.0, 0.85)  # heights of the three rows: the DRT row a little lower
_GAP_IN = 0.8  # between rows: titles, tick labels and a legend strip, inches
_KEPT = 4  # layouts (figure heights) a process keeps for reuse


@dataclass(frozen=True)
class _Layout:
    """A spectrum figure's axes; ``colours``: the default colour of each title and axis
    label (a panel may colour its title, e.g. a failed lin-KK check)."""

    figure: Figure
    nyquist: Axes
    bode: Axes
    phase: Axes
    residuals: Axes
    kk: Axes
    drt: Axes
    colours: tuple[Any, ...]

    @property
    def axes(self) -> tuple[Axes, ...]:
        return self.nyquist, self.bode, self.phase, self.residuals, self.kk, self.drt


#: each thread's kept layouts: two threads of one process (a report service) never draw
#: into the same figure
_KEPT_LAYOUTS = threading.local()


def _texts(ax: Any) -> tuple[Any, ...]:
    return ax.title, ax.xaxis.label, ax.yaxis.label


def _layout(height: float, head: float, foot: float) -> _Layout:
    """New axes for a figure ``height`` inches tall (``head`` above the panels for a
    title, ``foot`` under them for notes)."""
    figure = blank_figure(_PANELS_IN[0], height, constrained=False)
    panels = _PANELS_IN[1]
    # one fixed layout for every spectrum: a constrained layout would be recomputed for
    # each of them and costs a third of the drawing
    grid = figure.add_gridspec(3, 2, height_ratios=_ROWS, left=0.1, right=0.91, wspace=0.42,
                               bottom=(foot + 0.46) / height, top=1 - (head + 0.27) / height,
                               hspace=_GAP_IN * 3 / (panels - 0.73 - 2 * _GAP_IN))  # fmt: skip
    nyq, bode, res, kk_ax = (figure.add_subplot(grid[i // 2, i % 2]) for i in range(4))
    drt_ax = figure.add_subplot(grid[2, :])
    phase = bode.twinx()
    axes = (nyq, bode, phase, res, kk_ax, drt_ax)
    colours = tuple(t.get_color() for ax in axes for t in _texts(ax))
    return _Layout(figure, nyq, bode, phase, res, kk_ax, drt_ax, colours)


def _clear(layout: _Layout) -> None:
    """Take a drawn spectrum out of ``layout``: its axes are then as `_layout` made them
    (view limits (0, 1), no data limits, autoscaling on and no autoscaling pending: a
    panel without data, e.g. the residuals of a spectrum without a fit, keeps (0, 1) as
    new axes do), with the tick objects of the last drawing kept (what reuse saves)."""
    for text in list(layout.figure.texts):
        text.remove()
    colours = iter(layout.colours)
    for ax in layout.axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for text in _texts(ax):
            text.set_text("")
            text.set_color(next(colours))
            text.set_parse_math(True)
        ax.set_xscale("linear")  # default locators and formatters back (set_xticks, log)
        ax.set_yscale("linear")
        ax.set_aspect("auto")
        if ax is not layout.phase:  # the phase axes share the Bode x axis: set with it
            ax.set_xlim(0.0, 1.0)  # also clears the autoscaling the scale change asked for
        ax.set_ylim(0.0, 1.0)
        ax.relim()  # no artist is left: no data limits, the next data set them anew
    for ax in layout.axes:  # after every limit is set: a shared axis turns its twin's off
        ax.set_autoscale_on(True)  # on, without asking for autoscaling now


def _axes_for(height: float, head: float, foot: float, reuse: bool) -> _Layout:
    """New axes, or with ``reuse`` the cleared ones of this thread's last figure of the
    same layout (at most `_KEPT` layouts kept per thread)."""
    if not reuse:
        return _layout(height, head, foot)
    kept: OrderedDict[tuple[float, float], _Layout] | None = getattr(_KEPT_LAYOUTS, "kept", None)
    if kept is None:
        kept = _KEPT_LAYOUTS.kept = OrderedDict()
    key = (height, head)
    layout = kept.pop(key, None)
    if layout is None:
        layout = _layout(height, head, foot)
    else:
        _clear(layout)
    kept[key] = layout
    while len(kept) > _KEPT:
        kept.popitem(last=False)
    return layout


def spectrum_figure(
    view: SpectrumView,
    *,
    title: str | None = None,
    notes: Sequence[str] = (),
    reuse: bool = False,
) -> Figure:
    """Nyquist (equal axes) with the fit, Bode |Z| and phase, fit and lin-KK residuals,
    and across the width the DRT with the fitted arcs' time constants (`drt_panel`).

    ``title`` and ``notes`` (e.g. the parameter lines) make the page version for the PDF:
    a heading above the panels and the lines under them, both printed verbatim.  A
    spectrum of more than `thin.MAX_DRAWN` points is drawn thinned (`eisfit.report.thin`;
    the figure says so under its panels); residuals and lin-KK use every point.
    ``reuse``: draw into this thread's previous figure of the same size (module
    docstring); the figure returned is then valid until the thread's next such call.
    """
    import matplotlib as mpl

    from .drt_panel import arc_time_constants, drt_panel, spectrum_drt

    s = view.spectrum
    model = _model_curves(view)
    kk = _kk(s)
    rel = None if model is None else (s.impedance_ohm - model[2]) / np.abs(s.impedance_ohm) * 100
    shown = _drawn(s, rel, kk)
    f, z = s.frequency_hz[shown], s.impedance_ohm[shown]
    thinned = note(shown.size, len(s)) if shown.size < len(s) else ""
    head = 0.35 if title else 0.0
    foot = (len(notes) * _NOTE_LINE_IN + 0.3) if notes else 0.0
    foot += 0.16 if thinned else 0.0
    height = _PANELS_IN[1] + head + foot
    with mpl.rc_context(STYLE):
        layout = _axes_for(height, head, foot, reuse)
        figure = layout.figure
        if title:
            figure.text(0.02, 1 - 0.08 / height, title, va="top", fontsize=9.5,
                        weight="bold", parse_math=False)  # fmt: skip
        if notes:
            figure.text(0.04, (foot - 0.12) / height, "\n".join(notes), va="top",
                        family="monospace", fontsize=7, parse_math=False)  # fmt: skip
        if thinned:
            figure.text(0.99, 0.05 / height, thinned, ha="right", va="bottom", fontsize=6.5,
                        color="0.3", parse_math=False)  # fmt: skip
        nyq, bode, phase, res = layout.nyquist, layout.bode, layout.phase, layout.residuals
        prefix, scale = si_prefix(np.abs(z))  # Nyquist and |Z| in mΩ, kΩ or MΩ as needed
        nyq.plot(z.real / scale, -z.imag / scale, "o", color=DATA, mfc="none", label="data")
        if model is not None:
            nyq.plot(model[1].real / scale, -model[1].imag / scale, "-", color=FIT, label="fit")
        nyq.set_aspect("equal", adjustable="datalim")
        nyq.ticklabel_format(style="plain", useOffset=False)
        nyq.set_xlabel(f"Z′ / {prefix}Ω")
        nyq.set_ylabel(f"−Z″ / {prefix}Ω")
        nyq.set_title("Nyquist")
        nyq.legend(loc="best")

        bode.loglog(f, np.abs(z) / scale, "o", color=DATA, mfc="none", label="|Z| data")
        phase.semilogx(f, -np.degrees(np.angle(z)), "s", color=IMAG, mfc="none", ms=3,
                       label="−phase data")  # fmt: skip
        if model is not None:
            bode.loglog(model[0], np.abs(model[1]) / scale, "-", color=FIT, label="fit")
            phase.semilogx(model[0], -np.degrees(np.angle(model[1])), "-", color=FIT, lw=0.9)
        bode.set_xlabel("f / Hz")
        bode.set_ylabel(f"|Z| / {prefix}Ω")
        phase.set_ylabel("−phase / °")
        phase.grid(False)
        bode.set_title("Bode")
        handles = bode.get_legend_handles_labels()[0] + phase.get_legend_handles_labels()[0]
        legend_above_data(bode, handles, twin=phase)

        res.set_title("Fit residuals")
        res.axhline(0.0, color="k", lw=0.6)
        if rel is not None:
            res.semilogx(f, rel.real[shown], "o-", color=DATA, lw=0.7, label="real")
            res.semilogx(f, rel.imag[shown], "s-", color=IMAG, lw=0.7, ms=3, label="imaginary")
            legend_above_data(res, res.get_legend_handles_labels()[0])
        else:
            res.text(0.5, 0.5, "no fitted parameters", transform=res.transAxes, ha="center")
        res.set_xlabel("f / Hz")
        res.set_ylabel("(Z − Z_fit) / |Z| / %")
        _kk_panel(layout.kk, kk, f, shown)
        drt_panel(layout.drt, s, spectrum_drt(s), arc_time_constants(view.contributions))
        log_labels(bode, phase, res, layout.kk, layout.drt)
    return figure


def _model_curves(view: SpectrumView) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(dense frequencies, fitted Z there, fitted Z at the data) or None without a fit."""
    if view.circuit is None:
        return None
    from ..notation.model import compile_circuit

    try:
        circuit = compile_circuit(view.circuit)
        theta = circuit.vector(view.values)
        f = view.spectrum.frequency_hz
        dense = np.geomspace(f.min(), f.max(), 300)
        return dense, circuit.impedance(theta, dense), circuit.impedance(theta, f)
    except (EisfitError, KeyError, ValueError):
        return None


def _kk(spectrum: Any) -> Any:
    """The lin-KK result of the spectrum (every point), None when it cannot run."""
    from ..kk.linkk import kk_check

    try:
        return kk_check(spectrum)
    except EisfitError:  # too few points, Z = 0: the panel says so
        return None


def _drawn(spectrum: Any, rel: np.ndarray | None, kk: Any) -> np.ndarray:
    """The points the figure draws (`eisfit.report.thin`): all, or for a long spectrum
    an even subset plus its ends, the points screening flags and the largest residuals."""
    if len(spectrum) <= MAX_DRAWN:
        return np.arange(len(spectrum))
    from ..screening.screen import screen

    findings = spectrum.meta.findings
    if findings is None:
        findings = screen(spectrum).meta.findings or ()
    keep = [k for finding in findings for k in finding.points]
    if rel is not None:
        keep += extremes(rel.real, rel.imag)
    if kk is not None:
        keep += extremes(kk.residuals_real, kk.residuals_imag)
    return drawn_points(spectrum.frequency_hz, keep=keep)


def _kk_panel(ax: Any, kk: Any, f: np.ndarray, shown: np.ndarray) -> None:
    ax.set_title("Kramers-Kronig (lin-KK) residuals")
    ax.set_xlabel("f / Hz")
    ax.set_ylabel("(Z − Z_KK) / |Z| / %")
    if kk is None:
        ax.text(0.5, 0.5, "lin-KK not possible", transform=ax.transAxes, ha="center")
        return
    ax.semilogx(f, kk.residuals_real[shown] * 100, "o-", color=DATA, lw=0.7, label="real")
    ax.semilogx(f, kk.residuals_imag[shown] * 100, "s-", color=IMAG, lw=0.7, ms=3,
                label="imaginary")  # fmt: skip
    limit = kk.residual_limit * 100
    limit_text = f"{limit:.2g}" if limit < 100 else f"{limit:.0f}"  # 0.5, 12, 157: no 1.6e+02
    ax.axhspan(-limit, limit, color="0.85", alpha=0.5, lw=0, label=f"±{limit_text} % limit")
    ax.axhline(0.0, color="k", lw=0.6)
    legend_above_data(ax, ax.get_legend_handles_labels()[0])
    # the verdict can rest on a band trend inside the limit: the panel says which
    verdict = getattr(kk, "verdict", "consistent" if kk.valid else "not consistent")
    ax.set_title(f"lin-KK residuals: {verdict}", color="k" if kk.valid else "#b04000")
