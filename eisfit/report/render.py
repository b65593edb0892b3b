"""Each report figure drawn once, into the bytes every output reuses.

A figure (`eisfit.report.figures`) is rendered once by Agg into a PNG (``figures/*.png``,
the HTML page, and the PDF pages, which embed it as it is: `eisfit.report.pdf`).  SVG
only on request (``svg=True``, ``--svg``; the page then shows the SVG), because a second
format is a second drawing: it made up about 40 % of a spectrum figure (issue 15).
Until issue 15 the PDF backend also drew every figure a second time.

The PNG is reduced to a 256-colour palette (median cut), which halves it against 8-bit
RGB; the figures are flat colours and their anti-aliased blends, so nothing visible is
lost, and the HTML page of a long run stays under 5 MB with its two dozen spectra.

Spectrum figures are independent of each other, so `render_spectra` draws them in worker
processes (`eisfit.runs.pools.worker_pool`) when there are enough of them to pay for the
pool; a worker gets a fits/ record (plain JSON data) and returns a `Rendered`.  Other work
of the report that parallelises (the DRTs of the run's DRT map, `eisfit.report.drt_map`)
goes to the same pool as a `SideWork`, submitted ahead of the figures.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ReportError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "DRAW_RC",
    "PARALLEL_FROM",
    "PNG_DPI",
    "Rendered",
    "SideWork",
    "drawing",
    "png_bytes",
    "render",
    "render_record",
    "render_spectra",
]

#: resolution of the PNG files and of the figures in the PDF (dots per inch)
PNG_DPI = 150
#: spectrum figures are drawn in worker processes from this many on: below it, starting
#: the pool and shipping records costs more than the second core gains (bench/report_bench.py)
PARALLEL_FROM = 4
_MAX_WORKERS = 4
#: rc settings under which report figures are built, on top of `figures.STYLE`: they change
#: no pixel (tested) but what the drawing costs.  ``axes.titley`` fixed at the top of the
#: axes: matplotlib otherwise searches, at every save, for tick labels above the axes to
#: lift the title over (there are none), about a tenth of a spectrum figure's drawing.
DRAW_RC: dict[str, Any] = {"axes.titley": 1.0}


@dataclass(frozen=True)
class Rendered:
    """One drawn figure: compact SVG bytes (None: not asked for) and a palette PNG
    (`PNG_DPI`)."""

    svg: bytes | None
    png: bytes


@dataclass(frozen=True)
class SideWork:
    """Work besides the spectrum figures: ``function`` (a module-level function, so a
    worker can run it) over each of ``tasks``; ``finish`` gets the results, in order, in
    this process (after ``meanwhile``, while the workers draw the figures)."""

    function: Callable[[Any], Any]
    tasks: Sequence[Any]
    finish: Callable[[list[Any]], None]


def png_bytes(figure: Figure, *, dpi: int | None = None) -> bytes:
    """``figure`` rendered by Agg at ``dpi`` (default `PNG_DPI`) as a palette PNG.

    256 colours by median cut (PIL), not matplotlib's RGBA: the report figures are opaque
    and drawn in a few colours, and an 8-bit palette PNG is half the size of an RGB one
    (octree quantising, five times faster, merged the pale fills with the grid's grey).
    Its compressed rows go into a PDF unchanged (ISO 32000-1 sec. 7.4.4.4, PNG predictors;
    sec. 8.6.6.3, indexed colour spaces).  No text chunks: the same figure gives the same
    bytes.  A figure whose layout engine is still on is laid out by this drawing.
    """
    import matplotlib as mpl
    import numpy as np
    from PIL import Image

    from .figures import STYLE

    canvas = figure.canvas
    old_dpi = figure.dpi
    try:
        figure.set_dpi(PNG_DPI if dpi is None else dpi)
        with mpl.rc_context(STYLE):
            canvas.draw()
        rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
    finally:
        figure.set_dpi(old_dpi)
    image = Image.fromarray(rgb, mode="RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


def render(figure: Figure, *, svg: bool = False) -> Rendered:
    """PNG of one figure, and its SVG when ``svg`` (drawn first: it also fixes the layout,
    `figures.svg_bytes`); without SVG the figure is laid out and drawn once."""
    from .figures import svg_bytes

    vector = svg_bytes(figure) if svg else None
    return Rendered(vector, png_bytes(figure))


def drawing() -> AbstractContextManager[Any]:
    """The context to build report figures in (`DRAW_RC`)."""
    import matplotlib as mpl

    return mpl.rc_context(DRAW_RC)


def render_record(record: Mapping[str, Any], title: str, svg: bool = False) -> Rendered:
    """Worker: the spectrum figure of one fits/ record (`data.spectrum_view`); its SVG
    too when ``svg``."""
    from .data import spectrum_view
    from .spectrum_plot import spectrum_figure

    with drawing():  # into the thread's previous figure: it is rendered before the next
        figure = spectrum_figure(spectrum_view(record, title), reuse=True)
    return render(figure, svg=svg)


def _preload() -> None:
    """Import what drawing needs (about a second of CPU per process otherwise)."""
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_svg
    import matplotlib.figure  # noqa: F401
    import scipy.linalg
    import scipy.optimize  # noqa: F401  (the DRT solver: else loaded by each worker)
    from PIL import Image  # noqa: F401

    from ..relaxation import api  # noqa: F401
    from . import drt_panel, figures, spectrum_plot  # noqa: F401


def _workers(n_jobs: int, jobs: int | None) -> int:
    if jobs is not None:
        return max(1, min(int(jobs), n_jobs))
    if n_jobs < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, _MAX_WORKERS, n_jobs))


def render_spectra(
    records: Sequence[Mapping[str, Any]],
    titles: Sequence[str],
    *,
    jobs: int | None = None,
    meanwhile: Callable[[], None] | None = None,
    side: SideWork | None = None,
    svg: bool = False,
) -> Iterator[Rendered]:
    """`render_record` of each record, in order (with SVG when ``svg``).

    ``jobs``: worker processes (None: one per core, at most 4, when there are at least
    `PARALLEL_FROM` figures and side tasks; 1: drawn here).  ``meanwhile`` runs in this
    process while the workers draw (the trend figures), or first when there are none;
    then ``side.finish`` gets the results of ``side`` (computed by the workers first).
    A worker that dies is a `ReportError`.
    """
    if len(records) != len(titles):
        raise ValueError("one title per record")
    tasks = list(side.tasks) if side is not None else []
    workers = _workers(len(records) + len(tasks), jobs)
    if workers <= 1:
        if meanwhile is not None:
            meanwhile()
        if side is not None:
            side.finish([side.function(t) for t in tasks])
        yield from map(render_record, records, titles, [svg] * len(records))
        return
    from concurrent.futures.process import BrokenProcessPool

    from ..runs.pools import worker_pool

    _preload()  # before the workers fork: they inherit the modules instead of importing

    with ExitStack() as stack:
        pool = stack.enter_context(worker_pool(workers))
        try:
            extra = pool.map(side.function, tasks) if side is not None else None
            chunk = max(1, len(records) // (4 * workers))
            results = pool.map(
                render_record, records, titles, [svg] * len(records), chunksize=chunk
            )
            if meanwhile is not None:
                meanwhile()
            if side is not None and extra is not None:
                side.finish(list(extra))
            yield from results
        except BrokenProcessPool as exc:
            raise ReportError(f"a worker drawing the report's figures died ({exc})") from None
