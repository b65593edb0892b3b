"""Every file of the shared real-export corpus, through ``eisfit.io.read`` (all formats).

Table-driven from ``../shared/real-data/MANIFEST.tsv`` (skipped when that folder is
absent, e.g. in a fresh clone).  Per row: the file reads to the expected number of
spectra, or, when it holds no impedance data (``n_spectra_guess`` 0, or listed in
``real_corpus_table.MUST_REJECT``), raises an `EisfitError`.  Where impedance.py or
pyimpspec read a file ``ok``, eisfit must give identical data (see
``real_corpus_table``).  A failure whose message starts with ``NO READER`` means no
eisfit reader recognises that MANIFEST format yet.  ``python tests/real_corpus_table.py``
prints the per-format summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from real_corpus_table import (
    MANIFEST,
    REAL,
    Row,
    compare_impedance_py,
    compare_pyimpspec,
    manifest_rows,
    outcome,
)

import eisfit.io
from eisfit import UnsupportedFormatError

pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="shared real-data folder not present")

ROWS = manifest_rows() if MANIFEST.exists() else []


def _id(row: Row) -> str:
    return row.path


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_manifest_row(row: Row) -> None:
    result = outcome(row)
    if result.status == "error" and result.detail.startswith(UnsupportedFormatError.__name__):
        pytest.fail(f"NO READER for MANIFEST format {row.format!r}: {result.detail}")
    assert result.status in ("read", "rejected"), f"[{row.format}] {result.status}: {result.detail}"


@pytest.mark.parametrize("row", [r for r in ROWS if r.impedance_ok], ids=_id)
def test_identical_to_impedance_py(row: Row) -> None:
    result = outcome(row)
    assert result.status == "read", result.detail
    assert compare_impedance_py(row, result.spectra) == ""


@pytest.mark.parametrize("row", [r for r in ROWS if r.pyimpspec_ok], ids=_id)
def test_identical_to_pyimpspec(row: Row) -> None:
    pytest.importorskip("pyimpspec")
    result = outcome(row)
    assert result.status == "read", result.detail
    assert compare_pyimpspec(row, result.spectra) == ""


def _siblings() -> list[tuple[Path, Path]]:
    """(text export, other export) pairs of the same run: EC-Lab ``.mpt`` with its ZView
    ``.txt`` export or its binary ``.mpr``: same file stem, same folder (an ``*Export``
    subfolder counts as its parent folder)."""
    files = {REAL / r.path for r in ROWS if r.expected}
    by_stem: dict[tuple[str, Path], list[Path]] = {}
    for path in files:
        anchor = path.parent.parent if "export" in path.parent.name.lower() else path.parent
        by_stem.setdefault((path.stem, anchor), []).append(path)
    pairs = []
    for group in by_stem.values():
        mpt = [p for p in group if p.suffix == ".mpt"]
        others = [p for p in group if p.suffix in (".txt", ".mpr")]
        pairs += [(mpt[0], other) for other in others if mpt]
    return sorted(pairs)


@pytest.mark.parametrize("pair", _siblings(), ids=lambda p: f"{p[0].name} ~ {p[1].suffix}")
def test_exports_of_the_same_run_agree(pair: tuple[Path, Path]) -> None:
    """Text and binary (or ZView-text) exports of one run hold the same points, to the
    7 significant digits EC-Lab prints."""
    first, second = (eisfit.io.read(p) for p in pair)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a.frequency_hz, b.frequency_hz, rtol=1e-6)
        np.testing.assert_allclose(a.impedance_ohm, b.impedance_ohm, rtol=1e-5, atol=1e-6)
