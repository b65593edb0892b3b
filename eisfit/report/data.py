"""What a report shows, gathered from a batch folder or from one fit (no drawing here).

A batch folder (`eisfit.runs.batch.run_batch` output) holds ``results.csv`` (one row per
spectrum or unreadable file), ``fits/<name>.json`` (fit, analysis, row, measured points and
provenance of one spectrum) and ``trends.json``.  `load_run` reads the table and the trend
file and only the few fits/ records it needs (one per source file for the hashes and the
settings), so a 1,000-spectrum run loads in well under a second; `spectrum_view` turns one
record into what the per-spectrum section draws.  Anything missing becomes a note in
``RunData.missing`` instead of an error, so a partial folder still gives a report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EisfitError, JsonError, ReportError
from ..runs.csv_cells import restore
from ..runs.records import load_record
from ..runs.safe_json import RUN_MAX_BYTES, load_json
from ..spectrum import Spectrum, SpectrumMeta
from ..status import STATUSES
from ..trends.events import usable_rows
from ..trends.timeaxis import FILE_ORDER, TIMESTAMP, TimeAxis

__all__ = [
    "GEOMETRY_NOTE",
    "FileInfo",
    "RunData",
    "SpectrumView",
    "common_warnings",
    "drawable",
    "load_run",
    "read_record",
    "row_label",
    "source_root",
    "spectrum_view",
    "warning_set",
    "without_geometry_notes",
]

#: said once, in a report of fits without a cell geometry (instead of a note per spectrum
#: and empty ASR and conductivity panels)
GEOMETRY_NOTE = "no cell geometry: ASR and conductivity not computed"


@dataclass(frozen=True)
class FileInfo:
    """One source file of the run: its sha256 (None when unknown) and its rows per status
    (`eisfit.status.STATUSES` order)."""

    source: str
    sha256: str | None
    counts: tuple[int, ...]


@dataclass(frozen=True)
class RunData:
    """A batch folder's table, trends and settings, as a report needs them."""

    run_dir: Path
    table: pd.DataFrame
    trends: Mapping[str, Any]
    settings: Mapping[str, Any] | None
    eisfit_version: str | None
    files: tuple[FileInfo, ...]
    time_source: str  # "timestamp", "file_order" or "none"
    missing: tuple[str, ...] = ()
    #: ``--model auto``: each cell's choice from model.json (cell, circuit, statement,
    #: explained, error); empty when the circuit was given
    auto_circuits: tuple[Mapping[str, Any], ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        status = self.table["status"].astype(str) if "status" in self.table else pd.Series([])
        return {s: int((status == s).sum()) for s in STATUSES}

    @property
    def has_geometry(self) -> bool:
        """True when the fits were analysed with a cell area and thickness (the settings say
        so); unknown settings count as having one, so nothing is left out on a guess."""
        return self.settings is None or self.settings.get("cell") is not None

    @property
    def time_label(self) -> str:
        axis = TimeAxis(TIMESTAMP if self.time_source == TIMESTAMP else FILE_ORDER)
        return axis.label if axis.hours else f"{axis.label} (no timestamps)"


@dataclass(frozen=True)
class SpectrumView:
    """One spectrum as the per-spectrum section draws it."""

    title: str
    spectrum: Spectrum
    circuit: str | None
    values: Mapping[str, float]
    parameters: tuple[Mapping[str, Any], ...]  # name, value, stderr, unit, fixed
    contributions: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Any]  # status, message, chi2, kk, start path, warnings...
    reasons: tuple[str, ...] = field(default=())




def read_record(run_dir: Path, fit_file: Any) -> dict[str, Any] | None:
    """The fits/ record named ``fit_file`` (a results.csv cell), or None when unusable."""
    if not isinstance(fit_file, str) or not fit_file or "/" in fit_file or "\\" in fit_file:
        return None
    return load_record(run_dir / "fits" / f"{fit_file}.json")  # None if changed on disk


def _table(run_dir: Path) -> pd.DataFrame:
    path = run_dir / "results.csv"
    if not path.is_file():
        raise ReportError(f"{run_dir}: no results.csv here; run `eisfit batch ... --out DIR` first")
    try:
        table = restore(pd.read_csv(path, low_memory=False))  # text cells as eisfit wrote them
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ReportError(f"{path}: cannot be read as a results table ({exc})") from None
    for column in ("source", "status", "time_h"):
        if column not in table.columns:
            raise ReportError(f"{path}: column {column!r} missing; is this an eisfit results.csv?")
    return table


def _trends(run_dir: Path, missing: list[str]) -> Mapping[str, Any]:
    path = run_dir / "trends.json"
    if not path.exists():
        missing.append("trends.json not found: no growth laws or events")
        return {}
    try:
        trends = load_json(path, max_bytes=RUN_MAX_BYTES)
    except JsonError as exc:
        missing.append(f"trends.json unreadable ({exc}): no growth laws or events")
        return {}
    return trends if isinstance(trends, dict) else {}


def _auto_circuits(run_dir: Path, settings: Mapping[str, Any] | None,
                   missing: list[str]) -> tuple[Mapping[str, Any], ...]:  # fmt: skip
    """The cells' circuits a ``--model auto`` batch chose (model.json, `eisfit.runs.auto`)."""
    path = run_dir / "model.json"
    if (settings or {}).get("model") != "auto":
        return ()
    try:
        cells = load_json(path, max_bytes=RUN_MAX_BYTES).get("cells")
    except (JsonError, OSError, AttributeError) as exc:
        missing.append(f"model.json unreadable ({exc}): the cells' chosen circuits unknown")
        return ()
    return tuple(c for c in cells or () if isinstance(c, dict))


def _files(table: pd.DataFrame, run_dir: Path) -> tuple[list[FileInfo], dict[str, Any] | None]:
    """Per-source counts and hashes; the provenance of the first readable record."""
    infos, provenance = [], None
    has_fit_file = "fit_file" in table.columns
    for source, rows in table.groupby(table["source"].astype(str), sort=False):
        status = rows["status"].astype(str)
        sha = None
        for fit_file in rows["fit_file"] if has_fit_file else ():
            record = read_record(run_dir, fit_file)
            prov = record.get("provenance") if record else None
            if isinstance(prov, dict):
                sha = prov.get("file_sha256")
                provenance = provenance or prov
                break
        counts = tuple(int((status == s).sum()) for s in STATUSES)
        infos.append(FileInfo(str(source), sha if isinstance(sha, str) else None, counts))
    return infos, provenance


def load_run(run_dir: str | Path) -> RunData:
    """Read a batch folder for a report; raises `ReportError` only without a usable table."""
    run_dir = Path(run_dir)
    table = _table(run_dir)
    missing: list[str] = []
    trends = _trends(run_dir, missing)
    files, provenance = _files(table, run_dir)
    settings = provenance.get("settings") if provenance else None
    if not isinstance(settings, dict):
        settings = None
        missing.append("no fit record with settings found in fits/: model and cell unknown")
    elif settings.get("cell") is None:
        missing.append(f"{GEOMETRY_NOTE} (give --area-cm2 and --thickness-cm)")
    sources = table.get("time_source")
    known = sources.dropna().astype(str).unique() if sources is not None else []
    time_source = str(known[0]) if len(known) else "none"
    version = provenance.get("eisfit_version") if provenance else None
    auto = _auto_circuits(run_dir, settings, missing)
    return RunData(
        run_dir, table, trends, settings, version if isinstance(version, str) else None,
        tuple(files), time_source, tuple(missing), auto,
    )  # fmt: skip


# the physics' warnings about a missing geometry (`eisfit.physics.contributions`); a report
# says it once (`GEOMETRY_NOTE`) and keeps only what else they say
_GEOMETRY_WARNINGS = ("no cell geometry", "no cell area given")


def without_geometry_notes(warnings: Sequence[str]) -> list[str]:
    """``warnings`` without the repeated "no cell geometry / area" notes, each once, in
    order.  What such a note adds besides (e.g. "roles judged for an assumed 1 cm2, 0.1 cm
    cell", after a "; ") is kept."""
    out: list[str] = []
    for warning in warnings:
        text = warning
        if warning.startswith(_GEOMETRY_WARNINGS):
            text = warning.partition("; ")[2]
        if text and text not in out:
            out.append(text)
    return out


def drawable(table: pd.DataFrame, quantities: Sequence[str]) -> tuple[str, ...]:
    """The ``quantities`` with at least one finite value in a usable row (the rows a trend
    figure draws, `eisfit.trends.events.usable_rows`): the others get no panel."""
    rows = usable_rows(table)
    return tuple(
        q for q in quantities
        if q in rows.columns
        and np.isfinite(pd.to_numeric(rows[q], errors="coerce").to_numpy(dtype=float)).any()
    )  # fmt: skip


#: a number in a warning (a value of that spectrum: "capacitance (3.95e-09 F/cm2)")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")  # not R1, cm2


def warning_set(value: Any) -> frozenset[str]:
    """The warnings of a row, numbers written as "…": a warning that every spectrum carries
    with its own value (an automatic role's capacitance) is the same warning."""
    if not isinstance(value, str):
        return frozenset()
    return frozenset(_NUMBER.sub("…", w.strip()) for w in value.split(";") if w.strip())


def common_warnings(table: pd.DataFrame) -> frozenset[str]:
    """Warnings carried by more than half of the rows: about the run, not one spectrum
    (e.g. "no cell area given"); they are listed once instead of flagging every row."""
    if "warnings" not in table.columns or table.empty:
        return frozenset()
    counts: dict[str, int] = {}
    for value in table["warnings"]:
        for w in warning_set(value):
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in counts.items() if n > len(table) / 2)


def row_label(row: Mapping[str, Any], root: str = "") -> str:
    """``source #index``, the source relative to ``root`` (`source_root`) when it lies under it."""
    source = str(row["source"])
    if root and source.startswith(root) and len(source) > len(root):
        source = source[len(root) :].lstrip("/\\")
    index = row.get("index")
    return source + (f" #{int(index)}" if pd.notna(index) else "")


def source_root(table: pd.DataFrame) -> str:
    """The folder every source lies in (the run's input folder), "" when they share none:
    the "needs attention" list and the flagged table name files relative to it (the
    Files table at the end of the report gives the full paths)."""
    sources = [s for s in table.get("source", pd.Series([], dtype=object)) if isinstance(s, str)]
    if not sources or not all(os.path.isabs(s) for s in sources):
        return ""
    try:
        return os.path.dirname(sources[0]) if len(sources) == 1 else os.path.commonpath(sources)
    except ValueError:  # mixed drives
        return ""


def _spectrum(record: Mapping[str, Any], title: str) -> Spectrum:
    data = record.get("spectrum")
    if not isinstance(data, dict):
        raise ReportError(f"{title}: the fits/ record holds no measured points")
    try:
        f = np.asarray(data["frequency_hz"], dtype=float)
        z = np.asarray(data["z_real_ohm"], dtype=float) + 1j * np.asarray(
            data["z_imag_ohm"], dtype=float
        )
        fit = record.get("fit") or {}
        meta = SpectrumMeta(source=fit.get("source"), index=int(fit.get("index") or 0))
        return Spectrum(frequency_hz=f, impedance_ohm=z, meta=meta)
    except (KeyError, TypeError, ValueError, EisfitError) as exc:
        raise ReportError(f"{title}: the measured points are unusable ({exc})") from None


def spectrum_view(
    record: Mapping[str, Any], title: str, reasons: Sequence[str] = ()
) -> SpectrumView:
    """A fits/ record (or the same shape built from one fit) as a `SpectrumView`."""
    spectrum = _spectrum(record, title)
    fit = record.get("fit") or {}
    params = fit.get("parameters") or {}
    parameters = tuple({"name": str(k), **v} for k, v in params.items() if isinstance(v, dict))
    # the curve is the optimum the solver reached (undetermined values are None in "value")
    values = {p["name"]: p.get("optimum", p.get("value")) for p in parameters}
    usable = all(isinstance(v, int | float) for v in values.values()) and bool(values)
    analysis = record.get("analysis") or {}
    row = record.get("row") or {}
    summary = {
        "status": row.get("status")
        or fit.get("status")
        or ("ok" if fit.get("success") else "failed"),
        "reasons": list(fit.get("reasons") or []),
        "message": fit.get("message") or row.get("message") or "",
        "chi2_per_point": fit.get("chi2_per_point"),
        "weighting": fit.get("weighting"),
        "kk": fit.get("kk"),
        "start_path": row.get("start_path"),
        "warnings": list(fit.get("warnings") or []) + list(analysis.get("warnings") or []),
        "total_resistance_ohm": analysis.get("total_resistance_ohm"),
        "total_conductivity_s_cm": analysis.get("total_conductivity_s_cm"),
        "time_h": row.get("time_h"),
    }
    contributions = tuple(c for c in analysis.get("contributions") or () if isinstance(c, dict))
    return SpectrumView(
        title, spectrum, fit.get("circuit") if usable else None,
        {k: float(v) for k, v in values.items()} if usable else {}, parameters,
        contributions, summary, tuple(reasons),
    )  # fmt: skip
