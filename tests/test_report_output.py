"""Which report files eisfit writes: the extension decides, anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from eisfit.errors import ReportError
from eisfit.report import write_fit_report
from eisfit.report.output import REPORT_FORMATS, report_format


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.html", "html"), ("a.HTM", "html"), ("dir.pdf/a.Pdf", "pdf"), ("a.b.html", "html")],
)
def test_report_format_by_extension(name: str, kind: str) -> None:
    assert report_format(name) == kind == REPORT_FORMATS[Path(name).suffix.lower()]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("a.docx", "'.docx' is not a report format"), ("a", "no file extension"),
     ("a.", "no file extension"), ("a.html.bak", "'.bak' is not")],
)  # fmt: skip
def test_other_extensions_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(ReportError) as info:
        report_format(name)
    assert str(info.value).startswith(f"{name}: {fragment}")
    assert str(info.value).endswith("use .html, .htm (HTML) or .pdf (PDF)")


def test_write_fit_report_refuses_before_drawing(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"'\.docx' is not a report format"):
        write_fit_report([], tmp_path / "fit.docx")
    assert list(tmp_path.iterdir()) == []
