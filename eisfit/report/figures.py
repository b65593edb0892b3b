"""Report figures: trends over time and one five-panel figure per spectrum.

Built on matplotlib's Agg canvas without pyplot (nothing shown, no global state), all in
one style (`STYLE`): labelled axes with units, the same colours for data, fit and law.
Text that came from a file (names, metadata) is never drawn into a figure, only into the
escaped HTML around it, so no file name can reach matplotlib's mathtext parser.

Modules needed only to draw (lin-KK, the circuit compiler, the growth laws and with them
scipy.optimize) are imported where they are used, so a report whose figures all come from
the figure cache (`eisfit.report.cache`) does not load them.  `eisfit.report.render`
turns each figure into SVG (`svg_bytes`) and PNG bytes once; the HTML report embeds the
SVG as a data URI (`<img>`, which runs no script).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import EisfitError
from ..trends.events import usable_rows
from .axes import legend_above_data, log_labels
from .data import SpectrumView, drawable
from .thin import MAX_DRAWN, drawn_points, extremes, note
from .units import axis_label, si_prefix

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "STYLE",
    "blank_figure",
    "errorbar_rows",
    "spectrum_figure",
    "svg_bytes",
    "trend_figure",
    "trend_figures",
]

#: matplotlib rc settings of every report figure
STYLE: dict[str, Any] = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.3,
    "lines.markersize": 3.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "svg.fonttype": "none",  # <text> elements: far smaller than glyph paths
    "svg.hashsalt": "eisfit",  # stable ids: the same data give the same SVG bytes
    "path.simplify": True,
}
DATA = "#1f4e79"
FIT = "#c0392b"
LAW = "#e67e22"
IMAG = "#2e8b57"
EVENT = "#7f7f7f"
#: trend panels with more points than this draw them as a raster (keeps the SVG small)
RASTER_ABOVE = 300
#: trend panels with more points than this draw each point as a dot and error bars on only
#: `ERRORBARS_SHOWN` evenly spaced ones: a bar per point made a solid block at 1,000 spectra
#: and most of the drawing (issue 15)
THIN_ABOVE = 200
ERRORBARS_SHOWN = 50
_TOTAL = schema.role_column("resistance", schema.TOTAL)  # a short (its event) marks every panel

_FIGURE_TITLES = {
    "resistance": "Resistances and ASR",
    "conductivity": "Conductivities",
    "capacitance": "Interphase capacitance",
}
#: trend figures: file stem -> (title, quantities: the columns `eisfit.schema` puts in it)
TREND_FIGURES = {
    f"trends_{key}": (title, schema.plotted(key)) for key, title in _FIGURE_TITLES.items()
}


def blank_figure(width_in: float, height_in: float, *, constrained: bool = True) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layout = "constrained" if constrained else None
    figure = Figure(figsize=(width_in, height_in), layout=layout)
    FigureCanvasAgg(figure)
    return figure


_ATTRIBUTE = re.compile(rb'="([^"]*)"')
_LONG_DECIMAL = re.compile(rb"(\d\.\d{2})\d+")


def _round_attribute(match: re.Match[bytes]) -> bytes:
    return b'="' + _LONG_DECIMAL.sub(rb"\1", match.group(1)).replace(b"\n", b" ") + b'"'


def compact_svg(svg: bytes) -> bytes:
    """matplotlib's SVG with coordinates rounded to 0.01 pt and no indentation.

    Only attribute values are touched (path data, positions); text content is kept, so
    tick labels are unchanged.  Roughly halves a data-heavy figure.
    """
    svg = _ATTRIBUTE.sub(_round_attribute, svg)
    return re.sub(rb">\s+<", b"><", svg)


def svg_bytes(figure: Figure) -> bytes:
    """The figure as compact SVG (no date in the metadata: same figure, same bytes).

    The first save runs the constrained layout; it is then frozen so that later saves
    (PNG, PDF) of the same figure do not lay it out again.
    """
    import matplotlib as mpl

    buffer = io.BytesIO()
    with mpl.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    figure.set_layout_engine("none")
    return compact_svg(buffer.getvalue())


def _finite(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)


def errorbar_rows(n: int) -> np.ndarray:
    """Which of ``n`` time-ordered points of a trend panel get an error bar: all up to
    `THIN_ABOVE`, else `ERRORBARS_SHOWN` evenly spaced ones (first and last included)."""
    if n <= THIN_ABOVE:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, ERRORBARS_SHOWN).round().astype(int))


def _trend_panel(
    ax: Any,
    table: pd.DataFrame,
    quantity: str,
    trend: Mapping[str, Any] | None,
    events: Sequence[Mapping[str, Any]],
    time_label: str,
) -> bool:
    """One quantity against time; False (and a note in the panel) when it has no values.

    Draws the rows the trends use (`eisfit.trends.events.usable_rows`: ok, warning or undetermined,
    not partial; undetermined values are NaN and not drawn).  The y axis is in the
    quantity's unit with an SI prefix picked from its values (`units.si_prefix`: mS cm⁻¹,
    µF), never with an offset label above the axis."""
    ok = usable_rows(table)
    t, y = _finite(ok, "time_h"), _finite(ok, quantity)
    se = _finite(ok, schema.stderr_of(quantity))
    keep = np.isfinite(t) & np.isfinite(y)
    prefix, scale = si_prefix(y[keep])
    ax.set_xlabel(time_label)
    ax.set_ylabel(axis_label(quantity, prefix))
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)
    if not keep.any():
        ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center")
        return False
    err = np.where(np.isfinite(se[keep]), se[keep], 0.0) / scale
    n = int(keep.sum())
    many = n > RASTER_ABOVE  # long runs: points as an image inside the SVG
    if n > THIN_ABOVE:  # dots, and error bars on a few evenly spaced points
        ax.plot(t[keep], y[keep] / scale, "o", color=DATA, ms=1.5, alpha=0.6, mew=0,
                rasterized=many)  # fmt: skip
        bars = errorbar_rows(n)
        ax.errorbar(t[keep][bars], y[keep][bars] / scale, yerr=err[bars], fmt="none",
                    ecolor=DATA, elinewidth=0.7, capsize=1.5)  # fmt: skip
    else:
        ax.errorbar(t[keep], y[keep] / scale, yerr=err, fmt="o", color=DATA, ms=3, capsize=2,
                    elinewidth=0.8)  # fmt: skip
    chosen = (trend or {}).get("chosen") if trend else None
    if chosen and chosen.get("success") and chosen.get("law"):
        from ..trends.analysis import NULL_LAW, evaluate_law  # scipy.optimize: only to draw

        grid = np.linspace(0.0 if t[keep].min() >= 0 else t[keep].min(), t[keep].max(), 200)
        try:
            curve = evaluate_law(str(chosen["law"]), chosen["parameters"], grid)
        except (KeyError, TypeError, ValueError):
            curve = None
        if curve is not None and np.isfinite(curve).any():
            label = ("constant: no significant change" if chosen["law"] == NULL_LAW
                     else f"{chosen['law']} law")  # fmt: skip
            ax.plot(grid, curve / scale, color=LAW, lw=1.6, zorder=5 if many else 1.5,
                    label=label)  # over a cloud of points, under a few
            legend_above_data(ax, ax.get_legend_handles_labels()[0])
    for event in events:
        if event.get("quantity") in (quantity, _TOTAL) and isinstance(
            event.get("time_h"), int | float
        ):
            ax.axvline(float(event["time_h"]), color=EVENT, ls="--", lw=0.8)
    return True


def trend_figures(table: pd.DataFrame) -> dict[str, tuple[str, tuple[str, ...]]]:
    """`TREND_FIGURES` as this run draws them: each figure's quantities that have values
    (`data.drawable`), and no figure whose quantities have none (e.g. the conductivities
    of a run without a cell geometry): no empty "no values" panels."""
    out = {}
    for stem, (title, quantities) in TREND_FIGURES.items():
        shown = drawable(table, quantities)
        if shown:
            out[stem] = (title, shown)
    return out


def trend_figure(
    table: pd.DataFrame,
    trends: Mapping[str, Any],
    quantities: Sequence[str],
    time_label: str,
) -> Figure:
    """One panel per quantity that has values (error bars: fit stderr), the chosen growth
    law and events; quantities without values get no panel (`trend_figures` leaves out a
    figure with none; given only such quantities, the figure is a one-line note)."""
    import matplotlib as mpl

    shown = drawable(table, quantities)
    n = len(shown)
    cols = 2 if n > 1 else 1
    rows = max(math.ceil(n / cols), 1)
    with mpl.rc_context(STYLE):
        if not shown:
            figure = blank_figure(3.4, 0.5)
            figure.text(0.5, 0.5, "no values to draw", ha="center", va="center")
            return figure
        figure = blank_figure(3.4 * cols, 2.6 * rows)
        axes = figure.subplots(rows, cols, squeeze=False).ravel()
        for ax, quantity in zip(axes, shown, strict=False):
            trend = (trends.get("trends") or {}).get(quantity)
            _trend_panel(ax, table, quantity, trend, trends.get("events") or (), time_label)
        for ax in axes[n:]:
            ax.set_visible(False)
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


_PANELS_IN = (7.2, 7.6)  # width and height of the panels (2 x 2, then the DRT), inches
_NOTE_LINE_IN = 0.13  # height of one line of notes under the panels (7 pt monospace)
_ROWS = (1.0, 1.0, 0.85)  # heights of the three rows: the DRT row a little lower
_GAP_IN = 0.8  # between rows: titles, tick labels and a legend strip, inches


def spectrum_figure(
    view: SpectrumView, *, title: str | None = None, notes: Sequence[str] = ()
) -> Figure:
    """Nyquist (equal axes) with the fit, Bode |Z| and phase, fit and lin-KK residuals,
    and across the width the DRT with the fitted arcs' time constants (`drt_panel`).

    ``title`` and ``notes`` (e.g. the parameter lines) make the page version for the PDF:
    a heading above the panels and the lines under them, both printed verbatim.  A
    spectrum of more than `thin.MAX_DRAWN` points is drawn thinned (`eisfit.report.thin`;
    the figure says so under its panels); residuals and lin-KK use every point.
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
    width, panels = _PANELS_IN
    head = 0.35 if title else 0.0
    foot = (len(notes) * _NOTE_LINE_IN + 0.3) if notes else 0.0
    foot += 0.16 if thinned else 0.0
    height = panels + head + foot
    with mpl.rc_context(STYLE):
        # one fixed layout for every spectrum: a constrained layout would be recomputed for
        # each of them and costs a third of the drawing
        figure = blank_figure(width, height, constrained=False)
        grid = figure.add_gridspec(3, 2, height_ratios=_ROWS, left=0.1, right=0.91, wspace=0.42,
                                   bottom=(foot + 0.46) / height, top=1 - (head + 0.27) / height,
                                   hspace=_GAP_IN * 3 / (panels - 0.73 - 2 * _GAP_IN))  # fmt: skip
        if title:
            figure.text(0.02, 1 - 0.08 / height, title, va="top", fontsize=9.5,
                        weight="bold", parse_math=False)  # fmt: skip
        if notes:
            figure.text(0.04, (foot - 0.12) / height, "\n".join(notes), va="top",
                        family="monospace", fontsize=7, parse_math=False)  # fmt: skip
        if thinned:
            figure.text(0.99, 0.05 / height, thinned, ha="right", va="bottom", fontsize=6.5,
                        color="0.3", parse_math=False)  # fmt: skip
        nyq, bode, res, kk_ax = (figure.add_subplot(grid[i // 2, i % 2]) for i in range(4))
        drt_ax = figure.add_subplot(grid[2, :])
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

        phase = bode.twinx()
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
        _kk_panel(kk_ax, kk, f, shown)
        drt_panel(drt_ax, s, spectrum_drt(s), arc_time_constants(view.contributions))
        log_labels(bode, phase, res, kk_ax, drt_ax)
    return figure


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
