"""The report pipeline of issue 15: one drawing per figure reused everywhere, the same
report whichever path drew it (serial, worker processes, figure cache), the PDF built from
the drawn PNGs, and the fit report of a many-spectrum file (a table plus a few figures,
``--spectrum N``, bounded size).  No wall-clock assertions: bench/report_bench.py times."""

from __future__ import annotations

import io
import re
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_series import _run

from eisfit import Cell, fit
from eisfit.cli.main import main
from eisfit.physics import analyse
from eisfit.report import write_fit_report, write_run_report
from eisfit.report.fitreport import FULL_UP_TO, MAX_FLAGGED, chosen
from eisfit.report.pdf import PdfReport, pdf_text, wrap_line
from eisfit.report.render import PNG_DPI
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import ec_lab_mpt_text

_WHEN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")  # the minute a report was written


def _spectra(n: int, source: str) -> list:
    return sorted(_run(n, source), key=lambda s: s.meta.index)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("speed") / "out"
    run_batch(_spectra(6, "cell"), BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1)),
              out_dir=out, jobs=1)  # fmt: skip
    return out


def _snapshot(out: Path) -> dict[str, bytes]:
    """Every output of a report, the minute it was written taken out of the page."""
    paths = [p for folder in ("figures", "tables") for p in sorted((out / folder).iterdir())]
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in paths}
    html = (out / "report.html").read_text(encoding="utf-8")
    files["report.html"] = _WHEN.sub("<when>", html).encode()
    for n, stream in enumerate(_pdf_streams((out / "report.pdf").read_bytes())):
        files[f"report.pdf stream {n}"] = _WHEN.sub("<when>", stream.decode("latin-1")).encode()
    return files


def _pdf_streams(data: bytes) -> list[bytes]:
    """The streams of a PDF in file order, page contents decompressed, images as stored."""
    out = []
    for obj in _pdf_objects(data).values():
        if b"\nstream\n" not in obj:
            continue
        stream = obj.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0]
        out.append(stream if b"/Image" in obj else zlib.decompress(stream))
    return out


def test_same_report_serial_parallel_and_cached(run_dir: Path) -> None:
    # figures: 3 trend figures, the DRT map, 6 spectra
    serial = write_run_report(run_dir, force=True, jobs=1, cache=False)
    assert serial.drawn == 3 + 1 + 6 and serial.cached == 0
    first = _snapshot(run_dir)
    parallel = write_run_report(run_dir, force=True, jobs=2)  # fresh cache, 2 workers
    assert parallel.drawn == 3 + 1 + 6 and parallel.cached == 0
    assert _snapshot(run_dir) == first  # byte for byte: figures, tables, page, PDF
    cached = write_run_report(run_dir, force=True)
    assert cached.drawn == 0 and cached.cached == 3 + 1 + 6
    assert _snapshot(run_dir) == first
    assert cached.figures == serial.figures and cached.tables == serial.tables
    shown = [p for p in first if p.startswith("figures/spectrum_") and p.endswith(".png")]
    assert len(shown) == serial.spectra_shown == 6
    assert not any(p.startswith("figures/spectrum_") and p.endswith(".svg") for p in first)


@pytest.mark.parametrize("svg", [False, True])
def test_page_embeds_the_same_figures_as_figures_folder(run_dir: Path, svg: bool) -> None:
    """The page shows each figure's SVG when it has one (every figure
    with svg=True), else its PNG, byte for byte as in figures/."""
    files = write_run_report(run_dir, force=True, svg=svg)
    import base64

    html = (run_dir / "report.html").read_text(encoding="utf-8")
    embedded = [base64.b64decode(m) for m in re.findall(r"base64,([^\"]+)\"", html)]
    folder = run_dir / "figures"
    svgs = {p.stem: p.read_bytes() for p in folder.glob("*.svg")}
    shown = [svgs.get(p.stem, p.read_bytes()) for p in sorted(folder.glob("*.png"))]
    assert sorted(embedded) == sorted(shown) and len(shown) == 3 + 1 + 6
    assert len(svgs) == (3 + 1 + 6 if svg else 0)
    assert len(files.figures) == len(shown) + len(svgs)


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    """Objects of a PDF as the cross-reference table places them (checks the offsets)."""
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start:].startswith(b"xref")
    rows = data[start:].split(b"\n")
    count = int(rows[1].split()[1])
    out = {}
    for n in range(1, count):
        offset = int(rows[2 + n][:10])
        assert data[offset:].startswith(b"%d 0 obj" % n), n
        out[n] = data[offset : data.index(b"endobj", offset)]
    return out


def _idat(png: bytes) -> bytes:
    pos, chunks = 8, []
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        if png[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(chunks)


def test_pdf_pages_are_the_drawn_pngs_and_text(run_dir: Path) -> None:
    write_run_report(run_dir, force=True)
    data = (run_dir / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    objects = _pdf_objects(data)
    pages = [o for o in objects.values() if b"/Type /Page " in o]
    images = [o for o in objects.values() if b"/Subtype /Image" in o]
    assert len(images) == 3 + 1 + 6 and len(pages) >= 1 + 3 + 1 + 6
    streams = {o.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0] for o in images}
    pngs = {_idat(p.read_bytes()) for p in (run_dir / "figures").glob("*.png")}
    assert streams == pngs  # every figure page holds a figure's PNG rows, unchanged
    text = b"".join(s for s in _pdf_streams(data) if s not in streams)
    assert b"(Summary) Tj" in text and b"(R2.R" in text
    write_run_report(run_dir, force=True, svg=True)  # every figure's size, from its SVG
    for png in (run_dir / "figures").glob("*.png"):  # a palette, at PNG_DPI: the SVG's size
        svg = png.with_suffix(".svg").read_text(encoding="utf-8")
        size_pt = [float(re.search(rf'{k}="([0-9.]+)pt"', svg).group(1))  # type: ignore[union-attr]
                   for k in ("width", "height")]  # fmt: skip
        with Image.open(png) as image:
            assert image.mode == "P"
            assert image.size == pytest.approx([x / 72 * PNG_DPI for x in size_pt], abs=1.01)


def test_pdf_text_and_any_png(tmp_path: Path) -> None:
    assert pdf_text("R = 5 Ω ± 1 (a\\b)") == b"(R = 5 ohm \xb1 1 \\(a\\\\b\\))"
    assert pdf_text("χ² σ\x07") == b"(chi\xb2 sigma )"
    long = "R = 5 Ω " * 20 + "end"  # 163 characters once spelled: wrapped, nothing cut
    parts = wrap_line(long)
    assert len(parts) == 2 and all(len(p) <= 110 for p in parts)
    assert " ".join(p.strip() for p in parts) == long.replace("Ω", "ohm").strip()
    buffer = io.BytesIO()
    Image.new("RGBA", (30, 20), (255, 0, 0, 128)).save(buffer, format="png")  # not RGB
    lines = [f"line {i}" for i in range(200)]
    with PdfReport(tmp_path / "x.pdf", "tést") as book:
        book.figure(buffer.getvalue(), dpi=72, title="a (figure)", notes=lines)
    objects = _pdf_objects((tmp_path / "x.pdf").read_bytes())
    image = next(o for o in objects.values() if b"/Subtype /Image" in o)
    assert b"/Width 30 /Height 20" in image and b"/Predictor" not in image
    raw = zlib.decompress(image.split(b"stream\n", 1)[1].rsplit(b"\nendstream", 1)[0])
    assert len(raw) == 30 * 20 * 3  # decoded to RGB rows
    pages = [o for o in objects.values() if b"/Type /Page " in o]
    assert len(pages) == 3  # 200 note lines continue on text pages
    with pytest.raises(Exception, match="not a PNG"), PdfReport(tmp_path / "y.pdf", "t") as book:
        book.figure(b"GIF89a", dpi=72)
    assert not (tmp_path / "y.pdf").exists()  # a failed PDF leaves nothing behind


def _fits(n: int) -> list:
    out = []
    for spectrum in _spectra(n, "loops"):
        result = fit(spectrum, "L0-R0-p(R1,CPE1)-p(R2,CPE2)")
        out.append((result, analyse(result, Cell(1.0, 0.1))))
    return out


def test_fit_report_of_many_spectra_is_a_table_plus_a_few(tmp_path: Path) -> None:
    fits = _fits(FULL_UP_TO + 3)
    html = write_fit_report(fits, tmp_path / "fit.html").read_text(encoding="utf-8")
    all_rows = html.split('id="all"')[1].split("</section>")[0]
    assert all_rows.count("<tr>") == 1 + len(fits)  # header + one row per spectrum
    shown = html.count("<img ")
    assert 2 <= shown <= 3 + MAX_FLAGGED  # first, last, worst (may coincide), flagged
    assert "spectrum 0" in html and f"spectrum {len(fits) - 1}" in html
    few = write_fit_report(fits[:FULL_UP_TO], tmp_path / "few.html").read_text(encoding="utf-8")
    assert few.count("<img ") == FULL_UP_TO and 'id="all"' not in few
    pdf = write_fit_report(fits, tmp_path / "fit.pdf").read_bytes()
    objects = _pdf_objects(pdf)
    assert sum(b"/Subtype /Image" in o for o in objects.values()) == shown


def test_fit_report_size_is_bounded_at_any_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eisfit.report import fitreport

    one = _fits(1)[0]
    small = write_fit_report([one] * 10, tmp_path / "a.html").stat().st_size
    large = write_fit_report([one] * 210, tmp_path / "b.html").stat().st_size
    per_row = (large - small) / 200
    assert per_row < 1500  # bytes: a table row, not a figure (a figure is ~130 kB)
    assert small + fitreport.MAX_TABLE_ROWS * per_row < 5e6  # the cap keeps any file < 5 MB
    monkeypatch.setattr(fitreport, "MAX_TABLE_ROWS", 50)
    capped = write_fit_report([one] * 210, tmp_path / "c.html").read_text(encoding="utf-8")
    table = capped.split('id="all"')[1].split("</section>")[0]
    assert table.count("<tr>") == 1 + 50 and "50 of 210 spectra listed" in table
    assert fitreport.listed(210, {0: (), 209: ()}, 50)[::49] == [0, 209]


def test_chosen_picks_first_last_worst_and_flagged() -> None:
    class View:
        def __init__(self, chi2: float, status: str = "ok", kk: str = "consistent") -> None:
            self.summary = {"chi2_per_point": chi2, "status": status, "kk": {"verdict": kk}}

    views = [View(1.0) for _ in range(20)]
    views[7] = View(50.0)
    views[3] = View(2.0, status="undetermined")
    views[11] = View(1.0, kk="not consistent")
    views += [View(1.0, status="failed") for _ in range(6)]
    picked = chosen(views)  # type: ignore[arg-type]
    assert picked[0] == ("first",) and picked[len(views) - 1][0] == "last"
    assert picked[7] == ("worst fit (largest χ² per point)",)
    assert picked[3] == ("status undetermined",)
    assert picked[11] == ("Kramers-Kronig: not consistent",)
    flagged = [i for i, why in picked.items() if any("status" in w or "Kramers" in w for w in why)]
    assert len(flagged) == MAX_FLAGGED
    assert chosen(views[:FULL_UP_TO]) == {i: () for i in range(FULL_UP_TO)}  # type: ignore[arg-type]


def test_cli_fit_spectrum_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spectra = _spectra(3, "loops")
    path = tmp_path / "three.mpt"
    path.write_text(ec_lab_mpt_text(spectra, datetime(2026, 1, 1), [0.0, 1.0, 2.0]),
                    encoding="latin-1")  # fmt: skip
    report = tmp_path / "one.html"
    assert main(["fit", str(path), "--model", "gb-soli", "--spectrum", "1",
                 "--report", str(report)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "spectrum 1 ==" in out and "spectrum 0" not in out and "spectrum 2" not in out
    html = report.read_text(encoding="utf-8")
    assert html.count("<img ") == 1 and "three.mpt, spectrum 1" in html
    assert main(["fit", str(path), "--model", "gb-soli", "--spectrum", "7"]) == 2
    assert "--spectrum 7: no such spectrum (the file has 0 to 2)" in capsys.readouterr().err


def test_png_is_deterministic_and_a_palette() -> None:
    from eisfit.report.figures import blank_figure
    from eisfit.report.render import png_bytes, render

    def figure():  # type: ignore[no-untyped-def]
        fig = blank_figure(2.0, 1.5)
        fig.subplots().plot(np.arange(5.0), np.arange(5.0) ** 2, "o-")
        return fig

    a, b = render(figure(), svg=True), render(figure(), svg=True)
    assert a == b  # same figure, same bytes (no dates, no random ids)
    png_only = render(figure(), svg=False)  # laid out at PNG_DPI: not the same pixels
    assert a.svg is not None and png_only.svg is None and png_only == render(figure(), svg=False)
    assert Image.open(io.BytesIO(a.png)).mode == "P"
    assert Image.open(io.BytesIO(png_bytes(figure(), dpi=72))).size == (144, 108)


def test_long_trend_panels_draw_dots_and_a_few_error_bars() -> None:
    import pandas as pd
    from matplotlib.container import ErrorbarContainer

    from eisfit import schema
    from eisfit.report.figures import ERRORBARS_SHOWN, THIN_ABOVE, errorbar_rows, trend_figure

    assert list(errorbar_rows(THIN_ABOVE)) == list(range(THIN_ABOVE))
    rows = errorbar_rows(1000)
    assert len(rows) == ERRORBARS_SHOWN and rows[0] == 0 and rows[-1] == 999
    quantity = "R_soli_ohm"
    for n, bars in ((150, 150), (1000, ERRORBARS_SHOWN)):
        table = pd.DataFrame({"source": "x", "status": "ok", "time_h": np.arange(n, dtype=float),
                              quantity: 300 + np.sqrt(np.arange(n)),
                              schema.stderr_of(quantity): np.full(n, 0.5)})  # fmt: skip
        ax = trend_figure(table, {}, [quantity], "time / h").axes[0]
        containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        segments = sum(len(c.lines[2][0].get_segments()) for c in containers)
        assert segments == bars  # one error bar per point up to THIN_ABOVE, then a few
        dots = sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "o")
        assert dots == n  # every point is still drawn
