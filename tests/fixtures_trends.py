"""A synthetic results table for the trend and event tests: an interphase growing as
400 + 60 sqrt(t) ohm over a steady bulk and grain boundary, one spectrum every 2 h."""

from __future__ import annotations

import numpy as np
import pandas as pd


def run_table(n: int = 30, seed: int = 11, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 2.0
    soli = (400 + 60 * np.sqrt(t)) * (1 + 0.005 * rng.standard_normal(n))
    df = pd.DataFrame(
        {
            "time_h": t,
            "status": "ok",
            "R_bulk_ohm": 110 * (1 + 0.003 * rng.standard_normal(n)),
            "R_gb_ohm": 80 * (1 + 0.005 * rng.standard_normal(n)),
            "R_soli_ohm": soli,
            "R_soli_ohm_stderr": 0.005 * soli,
            **columns,
        }
    )
    return with_total(df)


def with_total(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with R_total_ohm = R_bulk + R_gb + R_soli (NaN only when all are)."""
    roles = df[["R_bulk_ohm", "R_gb_ohm", "R_soli_ohm"]]
    return df.assign(R_total_ohm=roles.sum(axis=1, min_count=1))
