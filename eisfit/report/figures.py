"""Report figures: their style, the trends over time (the figure of one spectrum is
`eisfit.report.spectrum_plot`'s).

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
from ..trends.events import usable_rows
from .axes import legend_above_data
from .data import drawable
from .units import axis_label, si_prefix

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "STYLE",
    "blank_figure",
    "errorbar_rows",
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
