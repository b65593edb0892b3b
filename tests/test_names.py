"""File names derived from inputs are legal and bounded everywhere (issue 13, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eisfit import SpectrumMeta, write_csv
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.runs.names import MAX_STEM_BYTES, safe_stem, unique_stems
from eisfit.synthetic import Arc, SyntheticCell, simulate

CELL = SyntheticCell(0.0, 100.0, (Arc(300.0, 1e3, 0.9),))


@pytest.mark.parametrize(
    "name",
    ["a" * 240, "é" * 200, "日本" * 100, "x" * 95 + "é" * 10, "run " * 80 + ".", "x" * 97],
)
def test_long_names_are_bounded_and_distinct(name: str) -> None:
    stem = safe_stem(name)
    assert len(stem.encode("utf-8")) <= MAX_STEM_BYTES
    assert stem == safe_stem(name)  # stable: a re-run finds its records
    assert safe_stem(name + "b") != stem  # distinct names stay distinct


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cell<1>:a|b?*", "cell_1__a_b__"),
        ('q"uote/slash\\back', "q_uote_slash_back"),
        ("tab\there", "tab_here"),
        ("trailing. . ", "trailing"),
        (".hidden", "_hidden"),
        ("CON", "_CON"),
        ("nul.backup", "_nul.backup"),
        ("lpt1", "_lpt1"),
        ("console", "console"),
        ("", "spectrum"),
        ("...", "spectrum"),
        ("=1+1", "=1+1"),
    ],
)
def test_windows_rules(name: str, expected: str) -> None:
    assert safe_stem(name) == expected


def test_case_insensitive_collisions_are_kept_apart() -> None:
    assert unique_stems(["Cell_0", "cell_0", "CELL_0", "other_0"]) == [
        "Cell_0", "cell_0_1", "CELL_0_2", "other_0",
    ]  # fmt: skip


def test_a_batch_of_a_240_character_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(1)
    names = ["n" * 240 + ".csv", "n" * 239 + "m.csv", "ok.csv"]
    for name in names:
        meta = SpectrumMeta(source=name)
        spectrum = simulate(CELL.circuit, CELL.values, np.logspace(5, -1, 30), noise=0.003,
                            rng=rng, meta=meta)  # fmt: skip
        write_csv(spectrum, folder / name)
    out = tmp_path / "out"
    frame = run_batch([folder], BatchSettings(CELL.circuit), out_dir=out, jobs=1)
    assert set(frame["status"]) <= {"ok", "warning"} and len(frame) == 3
    records = sorted((out / "fits").glob("*.json"))
    assert len(records) == 3
    assert all(len(p.name.encode()) <= MAX_STEM_BYTES + 16 for p in records)
    table = pd.read_csv(out / "results.csv")
    for _, row in table.iterrows():  # the mapping: source + index -> fit_file
        record = json.loads((out / "fits" / f"{row['fit_file']}.json").read_text())
        assert record["row"]["source"] == row["source"]
