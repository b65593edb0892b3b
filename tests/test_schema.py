"""The results schema (`eisfit.schema`): declared once, and what a batch writes is what it says.

A small synthetic batch (as in tests/test_series.py) is written to disk; its results.csv
must have exactly the declared columns in the declared order, and its numbers must obey the
rules the schema documents (halving, conductivity).  The source scan checks that no other
module spells a physics column's name.
"""

from __future__ import annotations

import ast
import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eisfit import Cell, SpectrumMeta, schema
from eisfit.notation.model import compile_circuit
from eisfit.physics.roles import ROLES
from eisfit.report.figures import TREND_FIGURES
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.synthetic import Arc, SyntheticCell, simulate

ROOT = Path(__file__).resolve().parents[1]
FREQ = np.logspace(np.log10(7e6), -1, 50)
T0 = datetime(2026, 1, 1, 8, 0)
AREA_CM2, THICKNESS_CM = 0.5, 0.12


def _spectra(n: int) -> list:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        arcs = (Arc(80.0, 5e5, 0.9), Arc(300.0 + 40.0 * math.sqrt(2.0 * i), 100.0, 0.8))
        cell = SyntheticCell(2e-7, 110.0, arcs)
        meta = SpectrumMeta(source="cellA", index=i, timestamp=T0 + timedelta(hours=2 * i))
        out.append(simulate(cell.circuit, cell.values, FREQ, noise=0.003, rng=rng, meta=meta))
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BatchSettings]:
    """Five spectra and one unreadable file, fitted into a folder."""
    out = tmp_path_factory.mktemp("schema_run")
    bad = out.parent / "not_a_spectrum.csv"
    bad.write_text("this is not an impedance export\n")
    settings = BatchSettings.from_model("gb-soli", cell=Cell(AREA_CM2, THICKNESS_CM))
    run_batch([*_spectra(5), bad], settings, out_dir=out, jobs=1)
    return out, settings


def _table(run: tuple[Path, BatchSettings]) -> pd.DataFrame:
    return pd.read_csv(run[0] / "results.csv")


def test_results_csv_has_the_declared_columns_in_order(run) -> None:
    table = _table(run)
    parameters = compile_circuit(run[1].circuit).names
    assert list(table.columns) == list(schema.names(parameters))
    assert set(table["status"]) >= {"error"}  # an error row adds no column of its own
    for name in table.columns:  # every column is documented
        assert schema.column(name).description


def test_every_declared_column_is_written(run) -> None:
    written = set(_table(run).columns)
    parameters = compile_circuit(run[1].circuit).names
    declared = {c.name for c in schema.COLUMNS if c.kind != "parameter"}
    assert declared <= written  # no column is optional
    assert {n for p in parameters for n in (p, schema.stderr_of(p))} <= written


def test_units_are_in_the_names() -> None:
    for c in schema.COLUMNS:
        base = c.error_of or c.name
        suffixes = [s for s in schema.UNIT_SUFFIXES.values() if base.endswith(s)]
        if c.kind == "parameter":
            assert c.unit == "" and not suffixes  # the notation's names, documented
        elif c.unit:
            assert base.endswith(schema.UNIT_SUFFIXES[c.unit]), c.name
        else:
            assert not suffixes, f"{c.name} ends like a unit but declares none"


def test_labels_carry_units() -> None:
    for c in schema.COLUMNS:
        if c.unit:
            assert schema.label(c.name).endswith(f" / {schema.UNIT_SYMBOLS[c.unit]}"), c.name
            assert c.label not in (c.name, ""), c.name
    for _, (_, quantities) in TREND_FIGURES.items():
        for q in quantities:
            assert " / " in schema.label(q)
    assert schema.label("R_soli_ohm") == "R_SOLI / Ω"
    assert schema.label("sigma_total_s_cm") == "σ_total / S cm⁻¹"
    assert schema.label("not_a_column") == "not_a_column"


def test_physics_columns_have_a_role_a_kind_unit_and_a_stderr_beside_them() -> None:
    names = schema.names()
    for c in schema.role_quantities():
        assert c.role in (*ROLES, schema.TOTAL), c.name
        assert c.unit == schema.ROLE_KINDS[c.kind]
        assert names[names.index(c.name) + 1] == schema.stderr_of(c.name)
        assert schema.column(schema.stderr_of(c.name)).error_of == c.name
    assert schema.role_column("resistance", "soli") == "R_soli_ohm"
    assert [c.kind for c in schema.role_columns("soli")] == ["resistance", "asr", "capacitance"]
    with pytest.raises(KeyError):
        schema.role_column("asr", "bulk")  # the electrolyte has no ASR


def test_parameter_columns_are_looked_up_by_pattern() -> None:
    c = schema.column("CPE2.n_stderr")
    assert (c.kind, c.error_of, c.label) == ("parameter", "CPE2.n", "CPE2.n_stderr")
    assert schema.names(["R0.R"])[18:20] == ("R0.R", "R0.R_stderr")  # after "alternative"
    with pytest.raises(KeyError, match=r"not a results\.csv column"):
        schema.column("R_soli")


def test_the_rows_follow_the_documented_rules(run) -> None:
    """Halving rule, conductivity and total resistance, as the schema's docstring states."""
    table = _table(run)
    ok = table[table["status"] == "ok"]
    assert len(ok) >= 4
    area, length = AREA_CM2, THICKNESS_CM
    assert ok["asr_soli_ohm_cm2"].to_numpy() == pytest.approx(ok["R_soli_ohm"] * area / 2)
    assert ok["sigma_bulk_s_cm"].to_numpy() == pytest.approx(length / (ok["R_bulk_ohm"] * area))
    electrolyte = ok["R_bulk_ohm"] + ok["R_gb_ohm"]
    assert ok["sigma_total_s_cm"].to_numpy() == pytest.approx(length / (electrolyte * area))
    assert ok["R_total_ohm"].to_numpy() == pytest.approx(electrolyte + ok["R_soli_ohm"])
    assert ok["R_ct_ohm"].isna().all()  # no charge-transfer arc in this circuit
    spectra = table[table["status"] != "error"]
    assert spectra["time_h"].tolist() == [2.0 * i for i in range(5)]  # hours, from timestamps


def test_trends_analyse_the_declared_quantities(run) -> None:
    trends = json.loads((run[0] / "trends.json").read_text())
    cells = trends.get("cells") or {"": trends}  # the unreadable file is a cell of its own
    fitted = 0
    for one in cells.values():
        assert sorted([*one["trends"], *one["skipped"]]) == sorted(schema.TREND_QUANTITIES)
        for quantity, trend in one["trends"].items():
            assert trend["chosen"]["units"]["R0"] == schema.unit(quantity)
            fitted += 1
    assert fitted >= 4


def test_no_other_module_spells_a_physics_column() -> None:
    """A physics column's name appears as a whole string only in eisfit/schema.py."""
    names = {n for c in schema.role_quantities() for n in (c.name, schema.stderr_of(c.name))}
    found = []
    for path in sorted((ROOT / "eisfit").rglob("*.py")):
        if path.name == "schema.py" and path.parent.name == "eisfit":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert found == []


def test_markdown_reference_lists_every_column_once() -> None:
    text = schema.markdown_table()
    for c in schema.COLUMNS:
        assert (f"| `{c.name}` |" in text) == (c.error_of is None), c.name
    assert "R x A / 2" in schema.__doc__
