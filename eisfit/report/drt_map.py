"""The DRT map of a run: time on x, tau on y (log), colour = gamma of each spectrum.

Each column is the DRT (`eisfit.relaxation.drt`, via `drt_panel.spectrum_drt`) of one spectrum
of the run, computed at report time from its fits/ record: at most `MAX_SPECTRA` evenly
spaced spectra (first and last included) of each cell, so a 1,000-spectrum run costs
about as much as a 200-spectrum one; the caption says how many were used.  Colour is
gamma divided by its maximum inside that spectrum's measured band (a capacitive tail
beyond the slow end saturates instead of darkening every arc), on a square-root scale: a
run whose
interphase resistance grows tenfold would otherwise paint everything but the late
interphase dark, and a process that appears with a tenth of the largest peak's height
(a new band) would be invisible in ohm; the square root lifts a 5 % peak to about a
fifth of the colour range.  A spectrum whose DRT finds no relaxation above the noise is
drawn as zero; one whose DRT cannot be computed, or outside its band's tau grid, is left
blank.  Markers: the time constant tau = 1 / (2 pi f0) of each fitted arc with an apex
(`drt_panel.arc_time_constants`) in its role's colour, from usable fits (ok, warning,
undetermined: `eisfit.status.USABLE`), so a reader sees whether the roles follow the
data's relaxations through the run and when a new band needs an arc of its own.

A run of several cells (different samples, `eisfit.trends`) gets one panel per cell, up
to `MAX_CELLS` (the caption names the others), each from at most ``MAX_SPECTRA / cells``
spectra (at least `MIN_PER_CELL`).  Cells are numbered in the figure and named in the
caption: no text from a file is drawn into a figure (`eisfit.report.figures`).

The figure is cached like the others (`eisfit.report.cache`): its key (`MapPlan.key`)
covers the bytes of every record used, their times and the time axis, so a report whose
figures are all cached reads those files but computes no DRT.  The DRTs are computed in
chunks (`columns`) in the report's worker processes together with the spectrum figures
(`eisfit.report.render.SideWork`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..status import USABLE
from .cache import figure_key, with_svg
from .drt_panel import ROLE_COLOURS, ROLE_LABELS, ArcTau, arc_time_constants, band_tau, in_band_max
from .render import SideWork

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .cache import FigureCache
    from .data import RunData
    from .render import Rendered

__all__ = [
    "CHUNK",
    "MAX_CELLS",
    "MAX_SPECTRA",
    "MIN_PER_CELL",
    "STEM",
    "MapCell",
    "MapColumn",
    "MapPlan",
    "MapTask",
    "caption",
    "chunks",
    "column",
    "columns",
    "map_figure",
    "map_side",
    "plan_map",
    "split",
]

#: spectra whose DRT a map uses at most (evenly spaced), over all cells drawn
MAX_SPECTRA = 200
MAX_CELLS = 4
MIN_PER_CELL = 50
#: spectra per worker task (about 5-15 ms each)
CHUNK = 10
_PER_DECADE = 25  # rows of the map per decade of tau
STEM = "drt_map"  # file stem in figures/
_DENSE = 60  # columns above which the role markers are drawn smaller


@dataclass(frozen=True)
class MapTask:
    """One spectrum of the map: its fits/ record and its time (hours or spectrum number)."""

    path: str
    time_h: float


@dataclass(frozen=True)
class MapCell:
    """The spectra of one cell the map uses, and how many the cell has."""

    name: str
    tasks: tuple[MapTask, ...]
    total: int


@dataclass(frozen=True)
class MapPlan:
    """What the map shows and its cache key (`eisfit.report.cache.figure_key`)."""

    cells: tuple[MapCell, ...]
    key: str
    left_out: tuple[str, ...] = ()  # cells beyond `MAX_CELLS`

    @property
    def tasks(self) -> tuple[MapTask, ...]:
        return tuple(t for c in self.cells for t in c.tasks)


@dataclass(frozen=True)
class MapColumn:
    """The DRT of one spectrum as the map draws it: ``log10_tau`` (s) and ``gamma_norm``
    (gamma over its maximum in the band, at most 1; 0 without a relaxation above the
    noise), the fitted arcs' time constants (usable fits only), and ``note`` when there is
    no DRT."""

    time_h: float
    log10_tau: np.ndarray
    gamma_norm: np.ndarray
    arcs: tuple[ArcTau, ...] = ()
    note: str = ""


def _evenly(n: int, k: int) -> list[int]:
    """``k`` evenly spaced positions of ``n`` (first and last included), all when n <= k."""
    if n <= k:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, k).round()})


def _record_path(run_dir: Path, fit_file: Any) -> Path | None:
    """The fits/ record of a results.csv cell (as `data.read_record` names it)."""
    if not isinstance(fit_file, str) or not fit_file or "/" in fit_file or "\\" in fit_file:
        return None
    return run_dir / "fits" / f"{fit_file}.json"


def _file_digest(path: str) -> bytes:
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return b"-"


def plan_map(run: RunData) -> MapPlan | None:
    """The spectra of the map (rows with a fits/ record, not ``error``, with a finite time;
    per cell in time order, thinned to `MAX_SPECTRA` over the cells drawn) and its key;
    None when no cell has two such spectra."""
    table = run.table
    if "fit_file" not in table.columns or table.empty:
        return None
    time = pd.to_numeric(table["time_h"], errors="coerce")
    ok = table["status"].astype(str).ne("error") & time.notna() & table["fit_file"].notna()
    rows = table[ok].assign(_t=time[ok])
    cell = rows["cell"].astype(str) if "cell" in rows.columns else pd.Series("", index=rows.index)
    groups = [(str(name), g.sort_values("_t", kind="stable"))
              for name, g in rows.groupby(cell, sort=False)]  # fmt: skip
    groups = [(name, g) for name, g in groups if len(g) >= 2]
    if not groups:
        return None
    shown, left_out = groups[:MAX_CELLS], tuple(name for name, _ in groups[MAX_CELLS:])
    per_cell = max(MAX_SPECTRA // len(shown), MIN_PER_CELL)
    cells = []
    for name, g in shown:
        picks = g.iloc[_evenly(len(g), per_cell)]
        tasks = []
        for fit_file, t in zip(picks["fit_file"], picks["_t"], strict=True):
            path = _record_path(run.run_dir, fit_file)
            if path is not None:
                tasks.append(MapTask(str(path), float(t)))
        cells.append(MapCell(name, tuple(tasks), len(g)))
    parts: list[bytes | str] = [run.time_label, repr(left_out)]
    for c in cells:
        parts.append(f"{c.name}\n{c.total}")
        for task in c.tasks:
            parts += [f"{Path(task.path).name} {task.time_h!r}", _file_digest(task.path)]
    return MapPlan(tuple(cells), figure_key("drt_map", *parts), left_out)


def column(task: MapTask) -> MapColumn:
    """The map column of one spectrum (its record read and verified again here)."""
    from ..errors import EisfitError
    from ..runs.records import load_record
    from .data import spectrum_view
    from .drt_panel import spectrum_drt

    empty = np.zeros(0)
    record = load_record(Path(task.path))
    if record is None:
        return MapColumn(task.time_h, empty, empty, note="fits/ record unreadable")
    try:
        view = spectrum_view(record, Path(task.path).stem)
    except EisfitError as exc:
        return MapColumn(task.time_h, empty, empty, note=str(exc))
    arcs = arc_time_constants(view.contributions) if view.summary["status"] in USABLE else ()
    found = spectrum_drt(view.spectrum)
    result = found.result
    if result is None:
        return MapColumn(task.time_h, empty, empty, arcs, found.note)
    gamma = np.asarray(result.gamma_ohm, dtype=float)
    # over its maximum inside the measured band: a capacitive tail beyond the slow end
    # would otherwise leave every arc dark (it saturates instead)
    top = in_band_max(result.tau_s, gamma, band_tau(view.spectrum.frequency_hz))
    norm = np.minimum(gamma / top, 1.0) if result.peaks and top > 0 else np.zeros_like(gamma)
    return MapColumn(task.time_h, np.log10(result.tau_s), norm.astype(np.float32), arcs)


def columns(tasks: Sequence[MapTask]) -> list[MapColumn]:
    """Worker: the columns of a chunk of spectra, in order."""
    return [column(t) for t in tasks]


def _image(cols: Sequence[MapColumn]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time edges, log10 tau edges, gamma image with NaN where nothing is known)."""
    t = np.array([c.time_h for c in cols], dtype=float)
    drawn = [c for c in cols if c.log10_tau.size]
    lo = min((float(c.log10_tau[0]) for c in drawn), default=-6.0)
    hi = max((float(c.log10_tau[-1]) for c in drawn), default=0.0)
    rows = max(round((hi - lo) * _PER_DECADE), 1)
    y_edges = np.linspace(lo, hi, rows + 1)
    y = 0.5 * (y_edges[1:] + y_edges[:-1])
    image = np.full((rows, len(cols)), np.nan)
    for j, c in enumerate(cols):
        if c.log10_tau.size:
            image[:, j] = np.interp(y, c.log10_tau, c.gamma_norm, left=np.nan, right=np.nan)
    mid = 0.5 * (t[1:] + t[:-1])
    first = t[0] - (mid[0] - t[0]) if mid.size else t[0] - 0.5
    last = t[-1] + (t[-1] - mid[-1]) if mid.size else t[-1] + 0.5
    return np.concatenate([[first], mid, [last]]), y_edges, image


def _panel(ax: Any, cols: Sequence[MapColumn], time_label: str) -> Any:
    """One cell's map on ``ax``; returns the mesh (for the colour bar)."""
    from matplotlib.colors import PowerNorm

    x_edges, y_edges, image = _image(cols)
    mesh = ax.pcolormesh(x_edges, 10.0**y_edges, np.ma.masked_invalid(image), cmap="viridis",
                         norm=PowerNorm(0.5, vmin=0.0, vmax=1.0), shading="flat",
                         rasterized=True)  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(10.0 ** y_edges[0], 10.0 ** y_edges[-1])
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_xlabel(time_label)
    ax.set_ylabel("τ / s")
    ax.grid(False)
    by_role: dict[str, tuple[list[float], list[float]]] = {}
    for c in cols:
        for arc in c.arcs:
            xs, ys = by_role.setdefault(arc.role, ([], []))
            xs.append(c.time_h)
            ys.append(arc.tau_s)
    for role, (xs, ys) in by_role.items():
        arc = ArcTau(role, 1.0)
        # open circles: with a column every few pixels, filled ones hid the band they mark
        ax.plot(xs, ys, "o", mfc="none", mec=arc.colour, mew=0.9, ls="none",
                ms=3.5 if len(cols) <= _DENSE else 2.4, label=f"{arc.label} arc τ (fit)")
    return mesh


def map_figure(cells: Sequence[Sequence[MapColumn]], time_label: str) -> Figure:
    """One panel per cell (numbered, not named: `caption` names them) with a shared colour
    bar (gamma over its maximum per spectrum) and one legend of the roles' markers."""
    import matplotlib as mpl

    from .axes import log_labels
    from .figures import STYLE, blank_figure

    with mpl.rc_context(STYLE):
        figure = blank_figure(6.8, 0.5 + 2.4 * len(cells))
        axes = figure.subplots(len(cells), 1, squeeze=False).ravel()
        mesh = None
        for i, (ax, cols) in enumerate(zip(axes, cells, strict=True)):
            mesh = _panel(ax, cols, time_label)
            missing = sum(1 for c in cols if c.note)
            title = f"cell {i + 1}" if len(cells) > 1 else ""
            if missing:
                title += f"{', ' if title else ''}{missing} of {len(cols)} spectra without a DRT"
            ax.set_title(title, fontsize=8, loc="left")
            log_labels(ax)
        figure.colorbar(mesh, ax=list(axes), label="γ / γ_max in its band (√ scale)",
                        ticks=[0.0, 0.05, 0.2, 0.5, 1.0])  # fmt: skip
        handles: dict[str, Any] = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
        order = [f"{ROLE_LABELS[r]} arc τ (fit)" for r in ROLE_COLOURS]
        labels = sorted(handles, key=lambda k: order.index(k) if k in order else len(order))
        if labels:
            figure.legend([handles[k] for k in labels], labels, loc="outside upper center",
                          ncol=len(labels))  # fmt: skip
    return figure


def caption(plan: MapPlan) -> str:
    """What the map shows, how many spectra it used, and which cell is which (from the
    plan alone: a cached map gets the same caption without computing anything)."""
    parts = [
        "DRT map: each column is the distribution of relaxation times of one spectrum; colour "
        "γ divided by its maximum inside that spectrum's band (square-root scale; beyond the "
        "band it saturates), so a new process "
        "shows as a new band even while another arc grows tenfold; a spectrum without a "
        "relaxation above the noise is dark, white is outside that spectrum's τ range or no "
        "DRT (counted in the figure). Markers: τ = 1/(2π f0) of each fitted arc, by role "
        "(usable fits)."
    ]
    for i, cell in enumerate(plan.cells):
        used = len(cell.tasks)
        who = f"Cell {i + 1} ({cell.name})" if len(plan.cells) > 1 else "The map"
        parts.append(f"{who}: " + (f"{used} of its {cell.total} spectra, evenly spaced."
                                   if used < cell.total else f"all {used} spectra."))  # fmt: skip
    if plan.left_out:
        parts.append(f"Not drawn (at most {MAX_CELLS} cells): {', '.join(plan.left_out)}.")
    return " ".join(parts)


def split(plan: MapPlan, results: Sequence[MapColumn]) -> list[list[MapColumn]]:
    """The flat list of columns (`MapPlan.tasks` order) back into one list per cell."""
    out, start = [], 0
    for cell in plan.cells:
        out.append(list(results[start : start + len(cell.tasks)]))
        start += len(cell.tasks)
    return out


def chunks(tasks: Sequence[MapTask], size: int | None = None) -> list[tuple[MapTask, ...]]:
    """``tasks`` in worker-sized pieces of `CHUNK`."""
    n = CHUNK if size is None else max(int(size), 1)
    return [tuple(tasks[i : i + n]) for i in range(0, len(tasks), n)]




def map_side(
    run: RunData, cache: FigureCache, out: dict[str, tuple[str, Rendered]], svg: bool = False
) -> SideWork | None:
    """Put the map into ``out[STEM]`` as (caption, figure; with SVG when ``svg``): from
    ``cache`` at once, or return the `SideWork` whose tasks compute the DRTs (in the
    report's workers) and whose ``finish`` draws, caches and stores the map.  None (and
    nothing stored) when the run has no map (`plan_map`) or it came from the cache."""
    plan = plan_map(run)
    if plan is None:
        return None
    text = caption(plan)
    key = with_svg(plan.key, svg)
    found = cache.get(key)
    if found is not None:
        out[STEM] = (text, found)
        return None

    def finish(results: list[list[MapColumn]]) -> None:
        from .render import drawing, render

        cols = split(plan, [c for chunk in results for c in chunk])
        with drawing():
            figure = map_figure(cols, run.time_label)
        rendered = render(figure, svg=svg)
        cache.put(key, rendered)
        out[STEM] = (text, rendered)

    return SideWork(columns, chunks(plan.tasks), finish)
