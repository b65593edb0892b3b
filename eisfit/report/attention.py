"""The "Needs attention" list of a run report: what a reader must know before the numbers.

Each item is (level, text) with level ``bad``, ``warn`` or ``info`` (`html.attention_html`
colours them).  A fact about the whole run is said once: a warning shared by most spectra
(`data.common_warnings`) is one item, not a flag on every row, and a run without a cell
geometry gets one `data.GEOMETRY_NOTE` instead of a note per spectrum, a "no growth law"
per ASR and conductivity column and the physics' own repetitions of it.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ..schema import column
from . import html as h
from .data import (
    GEOMETRY_NOTE,
    RunData,
    common_warnings,
    row_label,
    source_root,
    warning_set,
    without_geometry_notes,
)
from .selection import Selection
from .units import display_text

__all__ = ["MAX_LISTED", "attention"]

MAX_LISTED = 40  # failed/error rows listed one by one under "needs attention"
_CLAUSE = 160  # characters of the first reason quoted per status under "needs attention"
# results.csv kinds that need the cell geometry (`eisfit.schema`): empty without it
_NEED_GEOMETRY = ("asr", "conductivity")


def _name(quantity: str) -> str:
    """A results.csv column as people read it (``R_soli_ohm`` -> ``R_SOLI``)."""
    try:
        return column(quantity).label
    except KeyError:
        return quantity


def _needs_geometry(quantity: str) -> bool:
    try:
        return column(quantity).kind in _NEED_GEOMETRY
    except KeyError:
        return False


def _events(run: RunData) -> list[tuple[str, str]]:
    axis = run.time_label.split(" /")[0]
    out = []
    for event in run.trends.get("events") or ():
        cell = f" in cell {event['cell']}" if event.get("cell") is not None else ""
        quantity = _name(str(event.get("quantity")))
        out.append(
            ("bad" if event.get("kind") == "short_circuit" else "warn",
             f"event {event.get('kind')}{cell} at {h.fmt(event.get('time_h'))} ({axis}) in "
             f"{quantity}: {display_text(str(event.get('evidence')))}")
        )  # fmt: skip
    return out


def _bad_rows(table: pd.DataFrame, status: pd.Series) -> list[tuple[str, str]]:
    bad = table[status.isin(["failed", "error"])]
    out = []
    root = source_root(table)
    for _, row in bad.head(MAX_LISTED).iterrows():
        message = str(row.get("message", ""))
        if message.startswith(str(row["source"])):  # a read error names its file already
            message = message[len(str(row["source"])) :].lstrip(":, ")
        out.append(("bad", f"{row['status']}: {row_label(row, root)}: {display_text(message)}"))
    if len(bad) > MAX_LISTED:
        out.append(("bad", f"... and {len(bad) - MAX_LISTED} more failed/error rows "
                           "(see results.csv)"))  # fmt: skip
    return out


def _first_clause(text: str) -> str:
    """The first of the ``;``-separated clauses of a reasons cell, at most `_CLAUSE` long."""
    first = text.split("; ")[0].strip()
    return first if len(first) <= _CLAUSE else first[: _CLAUSE - 1].rstrip() + "…"


def _undetermined_counts(rows: pd.DataFrame) -> str:
    """``R0.R in 15, R2.R in 10, ...``: how many of ``rows`` leave each quantity
    undetermined (the ``undetermined`` column), most often first; "" without the column."""
    if "undetermined" not in rows.columns:
        return ""
    counts = Counter(name.strip() for value in rows["undetermined"] if isinstance(value, str)
                     for name in value.split(";") if name.strip())  # fmt: skip
    return ", ".join(f"{name} in {n}" for name, n in counts.most_common())


def _status_items(table: pd.DataFrame, status: pd.Series) -> list[tuple[str, str]]:
    """One line each for the undetermined and the warning rows: how many, which quantities
    (undetermined) and the first row's first reason; each row's full reasons are in
    results.csv and under its figure, so the list stays a few lines at any run length."""
    out = []
    root = source_root(table)
    for word, kind, what in (
        ("undetermined", "warn", "have quantities the data do not determine (NaN in "
                                 "results.csv, left out of ASR, conductivity, trends, events)"),
        ("warning", "info", "are usable with warnings"),
    ):  # fmt: skip
        rows = table[status == word]
        if rows.empty:
            continue
        counts = _undetermined_counts(rows) if word == "undetermined" else ""
        first = rows.iloc[0]
        why = first.get("reasons") if isinstance(first.get("reasons"), str) else ""
        why = display_text(_first_clause(why or str(first.get("message", ""))))
        example = f"{row_label(first, root)}: {why}"
        text = f"{len(rows)} spectra {what}" + (f": {counts}" if counts else "")
        out.append((kind, f"{text}; the first, {example} (every reason: column 'reasons' of "
                          "results.csv, and under each drawn spectrum)"))  # fmt: skip
    return out


def _growth_law_items(run: RunData) -> list[tuple[str, str]]:
    out = []
    skipped = run.trends.get("skipped") or {}
    for quantity, reason in skipped.items():
        if reason == "column absent" or (not run.has_geometry and _needs_geometry(quantity)):
            continue  # a column without geometry is empty by design: said once
        out.append(("info", f"no growth law for {_name(quantity)}: {reason}"))
    return out


def _kk_items(table: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    if "kk_verdict" in table.columns:
        verdicts = table["kk_verdict"].astype(str)
        for verdict, why in (("not consistent", "drift, artefacts or non-linearity"),
                             ("undetermined", "the data scatter too much to tell")):
            n = int((verdicts == verdict).sum())
            if n:
                out.append(("warn", f"{n} spectra are {verdict} in the Kramers-Kronig "
                                    f"(lin-KK) check ({why}); read their fits with care"))
    elif "kk_valid" in table.columns:  # a results.csv of an older eisfit
        failed = int(table["kk_valid"].map(lambda v: str(v) == "False").sum())
        if failed:
            out.append(("warn", f"{failed} spectra fail the Kramers-Kronig (lin-KK) check: "
                                "drift or noise; read their fits with care"))  # fmt: skip
    return out


def _alternative_items(run: RunData) -> list[tuple[str, str]]:
    """``--model auto``: cells with no explaining circuit, and spectra another circuit
    explains decisively better than their cell's (the ``alternative`` column)."""
    out = [("warn", f"cell {c.get('cell')}: no candidate circuit explains its sampled "
                    f"spectra; fitted with the best attempt {c.get('circuit')}")
           for c in run.auto_circuits if c.get("circuit") and c.get("explained") is False]
    if "alternative" not in run.table.columns:
        return out
    text = run.table["alternative"].astype(str).where(run.table["alternative"].notna(), "")
    flagged = text[text.str.strip() != ""]
    if len(flagged):
        first = run.table.loc[flagged.index[0]]
        out.append(("warn", f"{len(flagged)} spectra are explained decisively better by "
                            "another circuit than their cell's (results.csv column "
                            f"'alternative'); the first, {first.get('source')} spectrum "
                            f"{first.get('index')}: {display_text(flagged.iloc[0])}"))
    return out  # fmt: skip


def _as_written(table: pd.DataFrame, key: str) -> str:
    """A shared warning as the rows write it when they all write it alike (e.g. an assumed
    geometry), else with each spectrum's own numbers shown as "…" (`data.warning_set`)."""
    if "…" not in key:
        return key
    texts = {w.strip() for value in table["warnings"] if isinstance(value, str)
             for w in value.split(";") if warning_set(w) == {key}}  # fmt: skip
    return texts.pop() if len(texts) == 1 else key


def _warning_items(table: pd.DataFrame) -> list[tuple[str, str]]:
    common = common_warnings(table)
    out = [("warn", f"on most spectra: {display_text(_as_written(table, w))}")
           for w in without_geometry_notes(sorted(common))]  # fmt: skip
    if "warnings" in table.columns:
        def own(value: object) -> bool:
            return bool(without_geometry_notes(sorted(warning_set(value) - common)))

        warned = table["warnings"].map(own)
        if warned.any():
            out.append(("warn", f"{int(warned.sum())} spectra carry their own fit or physics "
                                "warnings (column 'warnings' of results.csv)"))  # fmt: skip
    return out


def attention(run: RunData, selection: Selection) -> list[tuple[str, str]]:
    """Everything a reader must know first: events, failed and unreadable rows, the
    undetermined and warning rows, notes about the run, lin-KK verdicts, rejected warm
    starts, warnings shared by most spectra, flagged spectra not drawn."""
    table = run.table
    status = table["status"].astype(str)
    items = _events(run) + _bad_rows(table, status) + _status_items(table, status)
    items += [("warn", display_text(note)) for note in run.missing]
    if not run.has_geometry and not any(GEOMETRY_NOTE in n for n in run.missing):
        items.append(("warn", GEOMETRY_NOTE))
    items += _growth_law_items(run) + _kk_items(table) + _alternative_items(run)
    if "start_path" in table.columns:
        fallback = int((table["start_path"] == "fallback").sum())
        if fallback:
            items.append(("info", f"{fallback} warm starts were rejected and refitted from "
                                  "scratch (start_path 'fallback')"))  # fmt: skip
    items += _warning_items(table)
    if selection.flagged_not_shown:
        items.append(("info", f"{selection.flagged_not_shown} more flagged spectra are not "
                              "drawn, to keep the report short: the table of flagged spectra "
                              "(under Spectra) and tables/flagged.csv list every one"))  # fmt: skip
    return items
