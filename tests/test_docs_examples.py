"""The examples of the documentation run as written.

For every Markdown page of ``docs/`` (getting started, the guides, the physics notes,
...): all its ```python blocks run in order as one script in a fresh interpreter, then
every ``eisfit ...`` line of its ```sh blocks runs as a command, in a temporary folder
holding a copy of ``sample_spectra/`` (the pages are written to run from the repository
root and write only below ``out/``).  The gallery scripts (``docs/examples/plot_*.py``,
executed by ``make docs``) run the same way, so a broken example fails here even without
the docs extra installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import eisfit_commands, expand_globs, python_blocks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP = ("_build", "auto_examples", "generated")
PAGES = sorted(p for p in DOCS.rglob("*.md") if not set(SKIP) & set(p.relative_to(DOCS).parts))
#: the pages with something to run (the CLI and API references, for one, have nothing)
RUNNABLE = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))
            or eisfit_commands(p.read_text(encoding="utf-8"))]  # fmt: skip
GUIDES = sorted((DOCS / "guides").glob("*.md"))
GALLERY = sorted((DOCS / "examples").glob("plot_*.py"))
TIMEOUT_S = 600


def _folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "sample_spectra", tmp_path / "sample_spectra")
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)  # fmt: skip


def test_the_pages_are_found() -> None:
    names = {p.name for p in GUIDES}
    expected = {"reading.md", "fitting.md", "physics.md", "cycling.md", "reports.md"}
    assert expected | {"arrhenius.md"} <= names
    assert len(GALLERY) >= 4
    assert (DOCS / "physics-notes.md") in PAGES
    assert set(GUIDES) | {DOCS / "getting-started.md"} <= set(RUNNABLE)


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: p.name)
def test_every_guide_has_python_examples(page: Path) -> None:
    assert python_blocks(page.read_text(encoding="utf-8")), f"{page.name}: no ```python block"


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_example_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    text = page.read_text(encoding="utf-8")
    blocks, commands = python_blocks(text), eisfit_commands(text)
    cwd = _folder(tmp_path)
    if blocks:
        script = cwd / f"{page.stem}_examples.py"
        script.write_text("\n".join(blocks) + "\nprint('PAGE OK')\n", encoding="utf-8")
        done = _run([sys.executable, str(script)], cwd)
        assert done.returncode == 0, f"{page.name}:\n{done.stderr[-4000:]}"
        assert done.stdout.rstrip().endswith("PAGE OK")
    for words in commands:
        args = expand_globs(words, cwd)
        done = _run([sys.executable, "-m", "eisfit", *args], cwd)
        shown = "eisfit " + " ".join(words)
        assert done.returncode == 0, f"{page.name}: `{shown}` exit {done.returncode}:\n" + (
            done.stderr[-3000:] or done.stdout[-3000:]
        )
        assert "Traceback" not in done.stderr, f"{page.name}: `{shown}`:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("script", GALLERY, ids=lambda p: p.name)
def test_every_gallery_example_runs(script: Path, tmp_path: Path) -> None:
    cwd = _folder(tmp_path)
    done = _run([sys.executable, str(script)], cwd)
    assert done.returncode == 0, f"{script.name}:\n{done.stderr[-4000:]}"
