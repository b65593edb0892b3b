"""The rows of results.csv: one flat dict per spectrum (`eisfit.runs.worker` fills them).

`base_row` gives the identification columns and NaN for everything a fit fills;
`role_values` the role-derived columns (resistances, ASR, capacitance, conductivities,
each with a ``_stderr`` column); `failed_row` a row with no fit and its reason;
`reader_warnings` and `screening_columns` what the reader and the screening said;
`spectrum_data` the measured points a fits/ record carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..physics.contributions import CellAnalysis
from ..spectrum import Spectrum

__all__ = [
    "ROLE_COLUMNS",
    "base_row",
    "failed_row",
    "reader_warnings",
    "resistances",
    "role_values",
    "screening_columns",
    "spectrum_data",
]

_RESISTANCE_COLUMNS = {
    "bulk": "R_bulk_ohm",
    "grain_boundary": "R_gb_ohm",
    "soli": "R_soli_ohm",
    "charge_transfer": "R_ct_ohm",
}
#: role-derived columns of results.csv; each also has a ``_stderr`` column
ROLE_COLUMNS = (
    "R_bulk_ohm",
    "R_gb_ohm",
    "R_soli_ohm",
    "R_ct_ohm",
    "R_total_ohm",
    "asr_soli_ohm_cm2",
    "C_soli_f",
    "sigma_bulk_s_cm",
    "sigma_total_s_cm",
)


def spectrum_data(spectrum: Spectrum) -> dict[str, list[float]]:
    """The measured points as JSON lists (fits/ records carry them for the report)."""
    z = np.asarray(spectrum.impedance_ohm)
    return {
        "frequency_hz": np.asarray(spectrum.frequency_hz, dtype=float).tolist(),
        "z_real_ohm": z.real.tolist(),
        "z_imag_ohm": z.imag.tolist(),
    }


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


# results.csv column -> (role, Contribution attribute of the value, of its stderr)
_ROLE_FIELDS = {
    **{
        col: (role, "resistance_ohm", "resistance_stderr_ohm")
        for role, col in _RESISTANCE_COLUMNS.items()
    },
    "asr_soli_ohm_cm2": ("soli", "asr_ohm_cm2", "asr_stderr_ohm_cm2"),
    "C_soli_f": ("soli", "capacitance_f", "capacitance_stderr_f"),
    "sigma_bulk_s_cm": ("bulk", "conductivity_s_cm", "conductivity_stderr_s_cm"),
}


def role_values(analysis: CellAnalysis | None) -> dict[str, float]:
    """The role columns (NaN for roles the circuit lacks) from an analysis."""
    out = {name: math.nan for col in ROLE_COLUMNS for name in (col, f"{col}_stderr")}
    if analysis is None:
        return out
    for column, (role, value, stderr) in _ROLE_FIELDS.items():
        c = analysis.by_role(role)
        if c is not None:
            out[column] = _nan(getattr(c, value))
            out[f"{column}_stderr"] = _nan(getattr(c, stderr))
    out["R_total_ohm"] = _nan(analysis.total_resistance_ohm)
    out["R_total_ohm_stderr"] = _nan(analysis.total_resistance_stderr_ohm)
    out["sigma_total_s_cm"] = _nan(analysis.total_conductivity_s_cm)
    out["sigma_total_s_cm_stderr"] = _nan(analysis.total_conductivity_stderr_s_cm)
    return out


def resistances(row: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for role, column in _RESISTANCE_COLUMNS.items():
        value = row.get(column)
        if value is not None and math.isfinite(float(value)):
            out[role] = float(value)
    return out


def reader_warnings(spectrum: Spectrum) -> list[str]:
    """What the reader said about the file (an aborted run, dropped rows...)."""
    said = spectrum.meta.extra.get("warnings") or ()
    return [f"reader: {w}" for w in ([said] if isinstance(said, str) else said)]


def screening_columns(spectrum: Spectrum) -> dict[str, Any]:
    """The findings, partial and removed columns of a spectrum's row."""
    findings = spectrum.meta.findings or ()
    return {
        "findings": "; ".join(dict.fromkeys(f.kind for f in findings)),
        "partial": any(f.kind == "truncated" for f in findings),
        "removed": "; ".join(spectrum.meta.removed),
    }


def base_row(spectrum: Spectrum, names: tuple[str, ...]) -> dict[str, Any]:
    """The identification columns plus NaN for everything a fit would fill."""
    m = spectrum.meta
    row: dict[str, Any] = {
        "source": m.source, "index": m.index,
        "timestamp": m.timestamp.isoformat() if m.timestamp is not None else None,
        "cycle": m.cycle, "status": "failed", "message": "", "reasons": "",
        "undetermined": "", "findings": "", "partial": False, "removed": "",
        "start_path": None, "reused": False, "warnings": "",
    }  # fmt: skip
    for name in names:
        row[name] = math.nan
        row[f"{name}_stderr"] = math.nan
    row.update(chi2=math.nan, chi2_per_point=math.nan, kk_valid=None, kk_verdict=None)
    row.update(role_values(None))
    return row


def failed_row(spectrum: Spectrum, names: tuple[str, ...], status: str, why: str) -> dict[str, Any]:
    """A row with no fit: ``status`` and the reason, plus what the reader said (which often
    explains it: a sweep split at a repeated frequency, rows dropped)."""
    row = base_row(spectrum, names)
    said = reader_warnings(spectrum)
    row.update(status=status, message=why, removed="; ".join(spectrum.meta.removed))
    row["warnings"] = "; ".join(said)
    if said:
        row["message"] = f"{why} ({'; '.join(said)})"
    return row
