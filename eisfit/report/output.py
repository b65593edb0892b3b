"""Which file a report is written as: the output path's extension decides.

``.html`` and ``.htm`` give one self-contained HTML page, ``.pdf`` a PDF (matched
case-insensitively).  Anything else (``.docx``, ``.png``, no extension) is refused with
`ReportError` before any work is done, rather than writing HTML under a misleading name.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ReportError

__all__ = ["REPORT_FORMATS", "report_format"]

#: extension (lower case, with the dot) -> report kind
REPORT_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}
_SUPPORTED = "use .html, .htm (HTML) or .pdf (PDF)"


def report_format(path: str | Path) -> str:
    """``"html"`` or ``"pdf"`` for ``path``; `ReportError` ``"<path>: ..."`` otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in REPORT_FORMATS:
        return REPORT_FORMATS[suffix]
    what = f"{suffix!r} is not a report format" if suffix else "no file extension"
    raise ReportError(f"{path}: {what}; {_SUPPORTED}")
