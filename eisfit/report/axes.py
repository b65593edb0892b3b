"""Axes and legends of the report's figures: tick labels, units, where a legend goes.

Tick labels of log axes are plain Unicode (10⁻¹, 10³): mathtext labels cost most of the
drawing time.  A legend that would sit on data goes into a strip kept free above the data
(`legend_above_data`).  Units and SI prefixes of axis labels are `eisfit.report.units`'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

__all__ = ["decade_label", "legend_above_data", "log_labels"]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade_label(value: float, _pos: int) -> str:
    """Log-axis tick label 10ⁿ in plain Unicode (mathtext labels cost most of the drawing)."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT)


@cache
def _minor_labels_class() -> type:
    """A formatter of minor log-axis labels where matplotlib's `LogFormatter` puts them (on
    an axis that spans less than 2 decades), as plain numbers: 0.6 and 200, where it writes
    6e-01.  Built once, at the first use: matplotlib is imported only to draw."""
    from matplotlib.ticker import Formatter, LogFormatter

    class MinorLabels(Formatter):
        def __init__(self) -> None:
            self.inner = LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            super().set_locs(locs)
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:.4g}" if self.inner(x, pos) else ""

    return MinorLabels


def log_labels(*axes: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(FuncFormatter(decade_label))
                # plain-number minor labels (0.6, 200) only when the axis spans < 2 decades
                axis.set_minor_formatter(_minor_labels_class()())


_HEADROOM = 0.32  # fraction of the data's height added above it for a legend row


def _grow_top(ax: Any) -> None:
    """Room above the data: the top of the y range raised by `_HEADROOM` of its height
    (in decades on a log axis)."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log" and lo > 0:
        ax.set_ylim(lo, hi * (hi / lo) ** _HEADROOM)
    else:
        ax.set_ylim(lo, hi + (hi - lo) * _HEADROOM)


def legend_above_data(ax: Any, handles: Sequence[Any], *, twin: Any = None) -> None:
    """The legend in one row in a strip kept free above the data, so it covers no point
    (the residual panels' legend sat on the largest residuals: issue 15)."""
    if not handles:
        return
    _grow_top(ax)
    if twin is not None:
        _grow_top(twin)
    ax.legend(handles=handles, loc="upper center", ncol=len(handles), handlelength=1.4,
              columnspacing=0.9, handletextpad=0.4, borderaxespad=0.2)  # fmt: skip
