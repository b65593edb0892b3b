"""The run report in a real browser: headless Chromium via Playwright.

Runs whenever Chromium is installed (``.ci/run`` installs Debian's ``chromium`` when it is
missing); otherwise it is reported as skipped with the reason.  Checks what a reader would
see: no console errors or page errors, no network request at all (the page is offline),
every figure decoded and laid out, file names shown literally, and saves a screenshot.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from eisfit import Cell, SpectrumMeta, write_csv
from eisfit.report import write_run_report
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import Arc, SyntheticCell, simulate

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
#: flags for a sandboxed CI machine with no network (Chromium would try Google's hosts)
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NAME = "<img src=x onerror=alert(1)> & 'A'"  # would add an image and a request if unescaped

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (.ci/run installs Debian's chromium)"
)


def _run(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    data = tmp_path / "data"
    data.mkdir()
    t0 = datetime(2026, 5, 1)
    for i in range(6):
        cell = SyntheticCell(2e-7, 110.0, (Arc(80.0, 5e5, 0.9), Arc(300 + 40 * i**0.5, 90, 0.8)))
        meta = SpectrumMeta(source="x", index=i, timestamp=t0 + timedelta(hours=i))
        spectrum = simulate(cell.circuit, cell.values, np.logspace(6.8, -1, 50), noise=0.003,
                            rng=rng, meta=meta)  # fmt: skip
        write_csv(spectrum, data / f"{NAME} {i}.csv")
    (data / "broken.mpt").write_text("EC-Lab ASCII FILE\nNb header lines : 99\n")
    out = tmp_path / "out"
    run_batch([data], BatchSettings.from_model("gb-soli", cell=Cell(1.0, 0.1)), out_dir=out,
              jobs=1)  # fmt: skip
    write_run_report(out, pdf=False, n_representative=3)
    return out / "report.html"


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    report = _run(tmp_path)
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)  # fmt: skip
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
            page.on("request", lambda r: problems.append(f"request: {r.url}")
                    if not r.url.startswith(("data:", "file:")) else None)  # fmt: skip
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => ({ok: i.complete, "
                "w: i.naturalWidth, h: i.naturalHeight, shown: i.getBoundingClientRect().width}))"
            )
            headings = page.locator("h3").all_inner_texts()
            page.set_viewport_size({"width": 1200, "height": 900})  # issue 15: no overflow
            overflow = page.evaluate(
                "() => [document.documentElement.scrollWidth - window.innerWidth].concat("
                "Array.from(document.querySelectorAll('section, table')).map("
                "e => e.scrollWidth - e.clientWidth))"
            )
            attention = page.locator("#attention").inner_text()
            page.screenshot(path=tmp_path / "report.png", full_page=False)
        finally:
            browser.close()
    assert problems == []
    assert max(overflow) <= 0, "a section or table is wider than its box at 1200 px"
    assert len(images) == report.read_text(encoding="utf-8").count("<img ") >= 3 + 3
    assert all(i["ok"] and i["w"] > 100 and i["h"] > 100 and i["shown"] > 300 for i in images)
    assert any(NAME in h for h in headings)  # shown as text, not as markup
    assert "broken.mpt" in attention
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
