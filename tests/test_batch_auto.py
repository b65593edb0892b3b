"""``eisfit batch --model auto``: one circuit per cell by consensus (`eisfit.runs.auto`),
the ``alternative`` column, resume without a new consensus, bad cells as error rows."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit.cli.main as cli
import eisfit.identification.consensus as consensus_module
from eisfit.runs.auto import MODEL_JSON
from eisfit.runs.batch import BatchSettings, run_batch
from eisfit.spectrum import Spectrum, SpectrumMeta
from eisfit.synthetic import cpe_q, ec_lab_mpt_text, simulate

FREQUENCY_HZ = np.logspace(6, -1, 50)
TWO_ARCS = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
ONE_ARC = "R0-p(R1,CPE1)"


def arc(i: int, r: float, f0: float, n: float) -> dict[str, float]:
    return {f"R{i}.R": r, f"CPE{i}.Q": cpe_q(r, f0, n), f"CPE{i}.n": n}


def _spectrum(source: str, index: int, circuit: str, values: dict[str, float], seed: int):
    meta = SpectrumMeta(source=source, index=index)
    return simulate(circuit, values, FREQUENCY_HZ, noise=0.01,
                    rng=np.random.default_rng(seed), meta=meta)  # fmt: skip


def two_arc_run(source: str = "a.csv", *, n: int = 8, new_arc_from: int | None = 6) -> list:
    """A cell whose interphase arc grows; from ``new_arc_from`` on a third arc at 1 Hz."""
    out = []
    for i in range(n):
        values = {"L0.L": 1e-6, "R0.R": 100.0, **arc(1, 500.0, 1e5, 0.9),
                  **arc(2, 800.0 + 100.0 * i, 300.0, 0.85)}  # fmt: skip
        circuit = TWO_ARCS
        if new_arc_from is not None and i >= new_arc_from:
            values |= arc(3, 1500.0, 1.0, 0.85)
            circuit += "-p(R3,CPE3)"
        out.append(_spectrum(source, i, circuit, values, 10 + i))
    return out


def one_arc_run(source: str = "b.csv", n: int = 5) -> list:
    return [
        _spectrum(source, i, ONE_ARC, {"R0.R": 50.0, **arc(1, 2000.0 + 50.0 * i, 1e3, 0.9)}, 30 + i)
        for i in range(n)
    ]


def _model(out: Path) -> dict[str, dict]:
    data = json.loads((out / MODEL_JSON).read_text())  # strict JSON: no NaN
    return {c["cell"]: c for c in data["cells"]}


def _flagged(frame: pd.DataFrame) -> np.ndarray:
    return frame["alternative"].fillna("").ne("").to_numpy()


def _cell(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[frame["cell"] == name].sort_values("index")


def test_two_cells_get_their_own_circuits_and_a_new_arc_is_flagged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # two workers: each cell's settings (its circuit) travel with its work item
    frame = run_batch(two_arc_run() + one_arc_run(), BatchSettings.auto(), out_dir=out,
                      jobs=2, cell_by="file")  # fmt: skip
    model = _model(out)
    assert model["a.csv"]["circuit"] == TWO_ARCS
    assert model["b.csv"]["circuit"] == ONE_ARC
    for cell in model.values():
        assert cell["explained"] and cell["error"] is None
        assert cell["statement"].startswith(f"{cell['circuit']} accepted by ")
    a, b = _cell(frame, "a.csv"), _cell(frame, "b.csv")
    # each cell's rows hold its own circuit's parameters, the other's columns empty
    assert a["R2.R"].notna().all() and b["R2.R"].isna().all() and b["R1.R"].notna().all()
    assert b["L0.L"].isna().all()
    # the third arc appears at spectrum 6: flagged from there, not before
    flagged = _flagged(a)
    assert flagged.tolist() == [False] * 6 + [True] * 2, a["alternative"].tolist()
    for text in a["alternative"].iloc[6:]:  # the circuit named first has the third arc
        assert text.split(" ")[0].count("p(") == 3, text
        assert f"explains this spectrum better than the run's {TWO_ARCS}" in text
    assert not _flagged(b).any()
    assert set(b["status"]) <= {"ok", "warning"}
    log = (out / "batch.log").read_text()
    assert re.search(r"cell a\.csv: circuit by consensus in [0-9.]+ s, " + re.escape(TWO_ARCS), log)
    assert log.count("alternative circuit: a.csv #") == 2
    # the provenance of each fit names its cell's circuit
    record = json.loads((out / "fits" / f"{b['fit_file'].iloc[0]}.json").read_text())
    assert record["provenance"]["settings"]["circuit"] == ONE_ARC
    assert record["provenance"]["settings"]["model"] == "auto"


def test_a_rerun_reuses_the_rows_and_the_consensus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    spectra = two_arc_run(n=5, new_arc_from=None)
    first = run_batch(spectra, BatchSettings.auto(), out_dir=out, jobs=1)
    assert not first["reused"].any()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the consensus was taken again")

    monkeypatch.setattr(consensus_module, "consensus", refuse)
    again = run_batch(spectra, BatchSettings.auto(), out_dir=out, jobs=1)
    assert again["reused"].all()
    columns = [c for c in first.columns if c != "reused"]
    pd.testing.assert_frame_equal(first[columns], again[columns])
    assert "kept from model.json" in (out / "batch.log").read_text()
    # a given circuit into the same folder: model.json no longer describes the run
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / MODEL_JSON).write_text("{}")
    run_batch(spectra, BatchSettings(TWO_ARCS), out_dir=tmp_path / "other", jobs=1)
    assert not (tmp_path / "other" / MODEL_JSON).exists()
    # changed data: this cell's consensus is taken again (and refused here)
    changed = [*spectra[:-1], two_arc_run(n=6, new_arc_from=None)[-1]]
    with pytest.raises(AssertionError, match="consensus was taken again"):
        run_batch(changed, BatchSettings.auto(), out_dir=out, jobs=1)


def test_a_cell_without_a_circuit_is_an_error_and_the_others_go_on(tmp_path: Path) -> None:
    """Three points are too few for any candidate: that cell's spectra become error rows
    saying why; the other cell is fitted."""
    few = [
        Spectrum(frequency_hz=np.array([1e5, 1e3, 10.0]),
                 impedance_ohm=np.array([100 - 5j, 300 - 100j, 600 - 20j]),
                 meta=SpectrumMeta(source="bad.csv", index=i))
        for i in range(2)
    ]  # fmt: skip
    out = tmp_path / "out"
    frame = run_batch(few + one_arc_run(), BatchSettings.auto(), out_dir=out, jobs=1,
                      cell_by="file")  # fmt: skip
    bad, good = _cell(frame, "bad.csv"), _cell(frame, "b.csv")
    assert len(bad) == 2 and set(bad["status"]) == {"error"}
    assert all("no circuit could be chosen for cell bad.csv" in m for m in bad["message"])
    assert len(good) == 5 and set(good["status"]) <= {"ok", "warning"}
    model = _model(out)
    assert model["bad.csv"]["circuit"] is None and "no circuit" in model["bad.csv"]["error"]
    assert model["b.csv"]["circuit"] == ONE_ARC


def test_automatic_settings_refuse_bounds() -> None:
    from eisfit.errors import EisfitError

    assert BatchSettings.auto().is_auto and not BatchSettings("R0-p(R1,C1)").is_auto
    with pytest.raises(EisfitError, match="not known in advance"):
        BatchSettings.auto(bounds={"R1.R": (0.0, 1e4)})


def test_rows_of_a_cell_no_candidate_explains_carry_a_warning() -> None:
    from eisfit.runs.auto import CellChoice, mark_row

    unexplained = CellChoice("c", ONE_ARC, "...", {ONE_ARC: 1}, (0,), False, None, "k")
    row = {"status": "ok", "warnings": "", "reasons": ""}
    mark_row(row, unexplained)
    assert row["status"] == "warning"
    assert "no candidate circuit explains" in row["warnings"] and ONE_ARC in row["reasons"]
    kept = {"status": "ok", "warnings": "", "reasons": ""}
    mark_row(kept, CellChoice("c", ONE_ARC, "...", {ONE_ARC: 1}, (0,), True, None, "k"))
    assert kept == {"status": "ok", "warnings": "", "reasons": ""}


def test_the_command_line_chooses_the_circuit(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    spectra = two_arc_run(n=6, new_arc_from=None)
    text = ec_lab_mpt_text(spectra, datetime(2026, 1, 1, 8), [float(i) for i in range(6)])
    (folder / "cell.mpt").write_text(text, "latin-1")
    out = tmp_path / "out"
    argv = ["batch", str(folder), "--model", "auto", "--out", str(out), "--no-report",
            "--jobs", "1"]  # fmt: skip
    assert cli.main(argv) == 0
    (cell,) = _model(out).values()
    assert cell["circuit"] == TWO_ARCS
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == 6 and "alternative" in frame.columns and frame["R2.R"].notna().all()
    assert cli.main([*argv[:-2], "--bound", "R1.R=0,1e4"]) == 2  # names unknown in advance
