"""Trends and events of a table of several cells are found cell by cell."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eisfit.trends.analysis import analyse_trends


def _cell(name: str, r0: float, k: float, n: int = 12, short_at: int | None = None) -> pd.DataFrame:
    t = np.arange(n, dtype=float)
    soli = r0 + k * np.sqrt(t)
    total = 100.0 + soli
    if short_at is not None:
        total[short_at:] = 2.0
        soli[short_at:] = np.nan
    return pd.DataFrame({
        "cell": name, "time_h": t, "time_source": "timestamp", "status": "ok",
        "partial": False, "R_soli_ohm": soli, "R_soli_ohm_stderr": 0.01 * soli,
        "R_total_ohm": total, "R_total_ohm_stderr": 0.01 * total,
    })  # fmt: skip


def test_two_cells_are_never_mixed() -> None:
    table = pd.concat([_cell("A", 300.0, 50.0), _cell("B", 5000.0, 0.0, short_at=8)])
    out = analyse_trends(table.reset_index(drop=True))
    assert out["trends"] == {} and "2 cells" in out["message"]
    assert out["cells"]["A"]["trends"]["R_soli_ohm"]["best"] == "parabolic"
    assert out["cells"]["B"]["trends"]["R_soli_ohm"]["best"] == "constant"
    kinds = [(e["cell"], e["kind"]) for e in out["events"]]
    assert ("B", "short_circuit") in kinds
    assert all(cell == "B" for cell, _ in kinds)  # A's steady growth and B's level: no jump


def test_one_cell_keeps_the_flat_layout() -> None:
    out = analyse_trends(_cell("A", 300.0, 50.0))
    assert "cells" not in out and out["trends"]["R_soli_ohm"]["best"] == "parabolic"
