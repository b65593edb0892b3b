"""The one atomic write (`eisfit._util.atomic_path`, `write_atomic`): whole or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from eisfit._util import atomic_path, write_atomic


def _folder(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_success_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "results.parquet"
    target.write_bytes(b"old content that is longer than the new one")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert target.read_bytes().startswith(b"old")  # untouched while writing
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _folder(tmp_path) == ["results.parquet"]


@pytest.mark.parametrize("stop", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_leaves_the_old_file_and_no_temporary_file(tmp_path: Path, stop) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    with pytest.raises(type(stop)), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of a new fi")
        raise stop
    assert target.read_bytes() == b"old"
    assert _folder(tmp_path) == ["report.pdf"]


def test_failure_before_anything_was_written(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    with pytest.raises(ValueError), atomic_path(target):
        raise ValueError("the writer could not start")
    assert _folder(tmp_path) == []


def test_write_atomic_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "trends.json"
    write_atomic(target, "σ = L / (R A)")
    assert target.read_text(encoding="utf-8") == "σ = L / (R A)"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _folder(tmp_path) == ["trends.json"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 12)  # type: ignore[arg-type]  # neither text nor bytes
    assert target.read_text() == "old"
    assert _folder(tmp_path) == ["results.csv"]


def test_pdf_report_is_whole_or_absent(tmp_path: Path) -> None:
    """`eisfit.report.pdf.PdfReport` writes through `atomic_path`."""
    from eisfit.report.pdf import PdfReport

    target = tmp_path / "report.pdf"
    with pytest.raises(RuntimeError), PdfReport(target, "eisfit run report") as book:
        book.text("Summary", ["first page"])
        raise RuntimeError("a figure could not be drawn")
    assert _folder(tmp_path) == []
    with PdfReport(target, "eisfit run report") as book:
        book.text("Summary", ["first page"])
    assert target.read_bytes().startswith(b"%PDF")
    assert _folder(tmp_path) == ["report.pdf"]
