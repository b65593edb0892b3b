"""The rows of results.csv: one flat dict per spectrum (`eisfit.runs.worker` fills them).

The columns, their order and their meaning are `eisfit.schema`'s.  `base_row` gives the
identification columns and each column's value without a fit (NaN for numbers);
`role_values` the physics columns (resistances, ASR, capacitance, conductivities, each
with a ``_stderr`` column) from a `CellAnalysis`; `failed_row` a row with no fit and its reason;
`reader_warnings` and `screening_columns` what the reader and the screening said;
`spectrum_data` the measured points a fits/ record carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from .. import schema
from ..physics.contributions import CellAnalysis
from ..spectrum import Spectrum

__all__ = [
    "base_row",
    "failed_row",
    "reader_warnings",
    "resistances",
    "role_values",
    "screening_columns",
    "spectrum_data",
]

#: kind of a physics column -> the `Contribution` attributes of its value and its stderr
_CONTRIBUTION_FIELDS = {
    "resistance": ("resistance_ohm", "resistance_stderr_ohm"),
    "asr": ("asr_ohm_cm2", "asr_stderr_ohm_cm2"),
    "capacitance": ("capacitance_f", "capacitance_stderr_f"),
    "conductivity": ("conductivity_s_cm", "conductivity_stderr_s_cm"),
}
#: kind of a whole-cell column (role ``total``) -> the `CellAnalysis` attributes
_TOTAL_FIELDS = {
    "resistance": ("total_resistance_ohm", "total_resistance_stderr_ohm"),
    "conductivity": ("total_conductivity_s_cm", "total_conductivity_stderr_s_cm"),
}


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


@cache
def _role_plan() -> tuple[tuple[str, str, str, str, str], ...]:
    """(column, its stderr column, role, value attribute, stderr attribute) of every
    physics column, in table order (the schema does not change while eisfit runs)."""
    out = []
    for c in schema.role_quantities():
        value, stderr = (_TOTAL_FIELDS if c.role == schema.TOTAL else _CONTRIBUTION_FIELDS)[c.kind]
        out.append((c.name, schema.stderr_of(c.name), c.role, value, stderr))
    return tuple(out)


def role_values(analysis: CellAnalysis | None) -> dict[str, float]:
    """The physics columns (`eisfit.schema.role_quantities` and their stderr; NaN for roles
    the circuit lacks) from an analysis."""
    plan = _role_plan()
    out = {name: math.nan for column, error, *_ in plan for name in (column, error)}
    if analysis is None:
        return out
    by_role: dict[str, Any] = {}
    for c in analysis.contributions:  # the first of a role, as CellAnalysis.by_role
        by_role.setdefault(c.role, c)
    for column, error, role, value, stderr in plan:
        source = analysis if role == schema.TOTAL else by_role.get(role)
        if source is not None:
            out[column] = _nan(getattr(source, value))
            out[error] = _nan(getattr(source, stderr))
    return out


@cache
def _resistance_columns() -> tuple[tuple[str, str], ...]:
    """(role, column) of the resistances of single arcs' roles, in table order."""
    return tuple(
        (c.role, c.name)
        for c in schema.role_quantities()
        if c.kind == "resistance" and c.role != schema.TOTAL
    )


def resistances(row: Mapping[str, Any]) -> dict[str, float]:
    """Role -> finite resistance (ohm) of a row, for the roles of single arcs."""
    out = {}
    for role, name in _resistance_columns():
        value = row.get(name)
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
    """Every column of a spectrum's row but those the batch fills from its plan, in table
    order: what the spectrum says about itself, and each column's value without a fit
    (`eisfit.schema.Column.missing`) for the rest.  ``names``: the circuit's parameters."""
    m = spectrum.meta
    row = dict(_missing_row(tuple(names)))
    row.update(
        source=m.source, index=m.index, cycle=m.cycle,
        timestamp=m.timestamp.isoformat() if m.timestamp is not None else None,
    )  # fmt: skip
    return row


@cache
def _missing_row(names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """(column, value without a fit) of every column not filled from the plan, in order."""
    return tuple((c.name, c.missing) for c in schema.columns(names) if not c.from_plan)


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
