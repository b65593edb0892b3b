"""The report as a multipage PDF (matplotlib's PdfPages): text pages and the same figures.

For lab notebooks: a summary page, the trend figures, then one page per shown spectrum with
its figure and parameter lines.  Text from files is drawn with ``parse_math=False`` so a
``$`` in a file name is printed, not parsed as mathtext.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._util import atomic_path
from ..errors import ReportError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PdfReport"]

_LINES_PER_PAGE = 60


class PdfReport(AbstractContextManager["PdfReport"]):
    """Collects pages and writes ``path`` on exit (`eisfit._util.atomic_path`: to a temporary
    name, moved into place; removed instead when the block raises)."""

    def __init__(self, path: Path, title: str) -> None:
        from matplotlib.backends.backend_pdf import PdfPages

        self.path = path
        self._open = ExitStack()  # closes the pages, then moves or removes the file
        tmp = self._open.enter_context(atomic_path(path))
        try:
            pages = PdfPages(tmp, metadata={"Title": title, "Creator": "eisfit"})
        except OSError as exc:
            self._open.__exit__(type(exc), exc, exc.__traceback__)
            raise ReportError(f"{path}: cannot write the PDF ({exc})") from None
        self._pages = self._open.enter_context(pages)

    def text(self, heading: str, lines: Sequence[str]) -> None:
        """Text pages: a heading and lines (long lists continue on further pages)."""
        from .figures import blank_figure

        chunks = [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)]
        for n, chunk in enumerate(chunks or [[]]):
            figure = blank_figure(8.27, 11.69)  # A4 portrait
            head = heading if n == 0 else f"{heading} (continued)"
            figure.text(0.06, 0.96, head, fontsize=13, weight="bold", va="top", parse_math=False)
            body = "\n".join(line[:110] for line in chunk)
            figure.text(0.06, 0.92, body, fontsize=7.5, family="monospace", va="top",
                        parse_math=False)  # fmt: skip
            self._pages.savefig(figure)

    def figure(self, figure: Figure) -> None:
        """A page holding ``figure`` at its own size."""
        self._pages.savefig(figure)

    def __exit__(self, *exc: Any) -> None:
        self._open.__exit__(*exc)
