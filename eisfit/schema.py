"""The results table (``results.csv``, ``results.parquet``): every column, once.

A batch (`eisfit.run_batch`, ``eisfit batch``) writes one row per spectrum, and one per
file it could not read.  `COLUMNS` lists the columns in the order of the table, each as a
`Column`: its name, unit, label, kind and meaning.  The runner builds its rows from it, the
trends pick their quantities from it, and the report takes its labels and units from it,
so a column is added, renamed or documented here and nowhere else.

Kinds, in table order (`KINDS`):

- ``metadata``: which spectrum a row is and when it was measured;
- ``status``: the verdict (`eisfit.status`: ok, warning, undetermined, failed, error) and why;
- ``screening``: what data screening found and removed before the fit (`eisfit.screening`);
- ``run``: how the batch obtained the fit (warm start, fresh, fallback; reused);
- ``parameter``: one column per circuit parameter, named as in the circuit notation
  (``R0.R``, ``CPE1.Q``, ``CPE1.n``): the placeholders ``<element>.<parameter>`` and its
  ``_stderr`` stand for them, and `columns` expands them for a circuit;
- ``diagnostic``: fit quality and the Kramers-Kronig check;
- ``resistance``, ``asr``, ``capacitance``, ``conductivity``: the cell's physics per role
  (`eisfit.physics.analyse`): bulk, grain boundary, SOLI (solid-electrolyte interphase),
  charge transfer, and the totals (role ``total``).

Every number has a column ``<name>_stderr`` beside it: one standard error, first-order
propagated from the fit covariance, in the same unit.  A quantity eisfit cannot determine
from the data is empty (NaN), never a value; ``undetermined`` and ``reasons`` say why.

Units are in the names (``_ohm``, ``_ohm_cm2``, ``_s_cm``, ``_f``, ``_h``; `UNIT_SUFFIXES`),
except for the circuit parameters, whose names are the notation's (their units are the
elements', `eisfit.notation.elements`).

The physics rules behind the role columns (docs/physics-notes.md sec. 4; Irvine, Sinclair & West,
Adv. Mater. 2 (1990) 132 for the arcs):

- **Halving rule.**  In a symmetric Na | solid electrolyte | Na cell both electrodes
  contribute an identical interface in series, so a fitted interfacial resistance covers
  two interfaces: the area-specific resistance per interface is ASR = R x A / 2 (seed
  review, eq. 8: "must be divided by two"), with A the contact (Na foil) area, not the
  pellet's.  With ``--not-symmetric`` (one interface) ASR = R x A.  The electrolyte (bulk,
  grain boundary) is one slab and never halved; it has no ASR column.  Resistances and
  capacitances are reported as fitted (both interfaces together).
- **Conductivity.**  sigma = L / (R x A), L the electrolyte thickness; the total
  conductivity uses R_bulk + R_gb.  Without ``--area-cm2`` and ``--thickness-cm`` no ASR
  or conductivity is computed (empty columns).
- **Total resistance.**  R_total = R_bulk + R_gb + R_interface (seed review, eq. 4),
  without the series lead resistance, the inductance or a blocking spike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .status import STATUSES

__all__ = [
    "COLUMNS",
    "KINDS",
    "PARAMETER",
    "ROLE_KINDS",
    "TOTAL",
    "TREND_QUANTITIES",
    "UNIT_SUFFIXES",
    "UNIT_SYMBOLS",
    "Column",
    "column",
    "columns",
    "label",
    "markdown_table",
    "names",
    "plan_columns",
    "plotted",
    "role_column",
    "role_columns",
    "role_quantities",
    "stderr_of",
    "unit",
]

KINDS = (
    "metadata",
    "status",
    "screening",
    "run",
    "parameter",
    "diagnostic",
    "resistance",
    "asr",
    "capacitance",
    "conductivity",
)
#: unit of each physics kind (ASCII, as in trends.json and the command line)
ROLE_KINDS = {"resistance": "ohm", "asr": "ohm cm2", "capacitance": "F", "conductivity": "S/cm"}
#: the role of the whole-cell quantities R_total and sigma_total
TOTAL = "total"
#: unit -> the ending of a column name carrying it (the style: units in names)
UNIT_SUFFIXES = {"ohm cm2": "_ohm_cm2", "S/cm": "_s_cm", "ohm": "_ohm", "F": "_f", "h": "_h"}
#: unit -> how a figure axis or a report table writes it
UNIT_SYMBOLS = {"ohm cm2": "Ω cm²", "S/cm": "S cm⁻¹", "ohm": "Ω", "F": "F", "h": "h"}
#: the placeholder of the circuit-parameter columns (`columns` expands it)
PARAMETER = "<element>.<parameter>"
_STDERR = "_stderr"


@dataclass(frozen=True)
class Column:
    """One column of results.csv.

    ``unit``: ASCII unit (`UNIT_SUFFIXES`; ``""`` for text, flags, counts and dimensionless
    numbers); ``label``: short name for people, without the unit (`label` adds it);
    ``kind``: one of `KINDS`; ``role``: the physical role of a physics column (``total``
    for the whole-cell sums); ``error_of``: for a ``_stderr`` column, the column it is the
    standard error of; ``trend``: growth laws are fitted to it (`eisfit.trends`);
    ``figure``: the report's trend figure that draws it; ``from_plan``: filled by the batch
    runner from its plan, not by the fit of the spectrum; ``missing``: its value in a row
    without a fit.
    """

    name: str
    unit: str
    label: str
    kind: str
    description: str
    role: str | None = None
    error_of: str | None = None
    trend: bool = False
    figure: str | None = None
    from_plan: bool = False
    missing: Any = None


def stderr_of(name: str) -> str:
    """The name of the standard-error column of ``name``: ``R_soli_ohm_stderr``."""
    return f"{name}{_STDERR}"


def _with_stderr(col: Column) -> tuple[Column, Column]:
    error = replace(
        col, name=stderr_of(col.name), label=f"{col.label} stderr", error_of=col.name,
        description=f"One standard error of {col.name}, in its unit.", trend=False, figure=None,
    )  # fmt: skip
    return col, error


def _text(name: str, label: str, kind: str, description: str, **options: Any) -> Column:
    return Column(name, "", label, kind, description, **{"missing": "", **options})


def _role(
    name: str, kind: str, role: str, label: str, description: str, **options: Any
) -> tuple[Column, Column]:
    col = Column(name, ROLE_KINDS[kind], label, kind, description, role=role, missing=math.nan,
                 **options)  # fmt: skip
    return _with_stderr(col)


_INTERFACES = (
    " As fitted: in a symmetric cell it covers both interfaces in series (the halving rule "
    "applies to its ASR, not to this column)."
)

# fmt: off
COLUMNS: tuple[Column, ...] = (
    _text("source", "source file", "metadata", "The file the spectrum was read from, as "
          "given; for an in-memory spectrum its meta.source.", missing=None),
    _text("cell", "cell", "metadata", "The spectra chained by warm starts and analysed "
          "together (cell_by: one folder, the default; one file; or everything).",
          from_plan=True, missing=None),
    Column("index", "", "index", "metadata", "Position of the spectrum in its file, from 0; "
           "empty for a file that could not be read."),
    Column("timestamp", "", "timestamp", "metadata", "When the spectrum was measured (ISO "
           "8601, from the file's header and time column); empty when the file has none."),
    Column("time_h", "h", "time", "metadata", "Hours since the first spectrum of the batch "
           "when every spectrum has a timestamp (time_source 'timestamp'); otherwise the "
           "spectrum's position in its cell, a spectrum number, not hours (time_source "
           "'file_order'; eisfit.trends.timeaxis).", from_plan=True, missing=math.nan),
    Column("time_source", "", "time source", "metadata", "What time_h measures: "
           "'timestamp' (hours) or 'file_order' (spectrum number).", from_plan=True),
    Column("cycle", "", "cycle", "metadata", "The cycle or loop number the file gives the "
           "spectrum (EC-Lab 'cycle number'), if any."),
    _text("status", "status", "status", f"One of {', '.join(STATUSES)} (eisfit.status): "
          "ok and warning rows are usable; undetermined rows have empty quantities; failed "
          "rows no usable fit; error rows no readable spectrum.", missing="failed"),
    _text("message", "message", "status", "How the fit ended (converged, from how many "
          "starts), or why there is no fit."),
    _text("reasons", "reasons", "status", "Why the status is not ok ('; '-separated)."),
    _text("undetermined", "undetermined", "status", "The parameters the data do not "
          "determine ('; '-separated, with why): they are empty, and so is every quantity "
          "derived from them."),
    _text("findings", "findings", "screening", "Kinds of data-screening findings "
          "('; '-separated): outliers, Z' < 0, a high-frequency artefact, a truncated "
          "sweep. Flagged data make a fit 'warning'."),
    Column("partial", "", "partial", "screening", "True for a truncated sweep: its missing "
           "part biases the arcs, so the row is left out of trends and events.",
           missing=False),
    _text("removed", "removed", "screening", "What was cut before fitting (--f-min, "
          "--f-max, --drop-flagged-points), '; '-separated."),
    Column("start_path", "", "start path", "run", "'fresh' (multi-start: the first "
           "spectrum of a cell or chunk), 'warm' (from the previous fit) or 'fallback' (the "
           "warm fit was rejected and the spectrum refitted from scratch)."),
    Column("reused", "", "reused", "run", "True when the row was taken from fits/ of an "
           "earlier run (same data, same settings) instead of fitted again.", missing=False),
    _text("warnings", "warnings", "status", "What the reader, the fit and the physics "
          "analysis warned about ('; '-separated)."),
    _text("alternative", "alternative circuit", "status", "Only with --model auto (one "
          "circuit per cell, chosen by consensus): when another circuit explains this "
          "spectrum decisively better than the cell's (eisfit.identification.consensus."
          "alternative), that circuit and why: '<circuit> explains this spectrum better "
          "than the run's <circuit> (<why>)', e.g. an arc has appeared; empty otherwise."),
    *_with_stderr(Column(PARAMETER, "", PARAMETER, "parameter", "The fitted value of a "
                         "circuit parameter (R0.R in ohm, CPE1.Q in F s^(n-1), CPE1.n, L0.L "
                         "in H; unit as the element's); empty when undetermined.",
                         missing=math.nan)),
    Column("chi2", "", "χ²", "diagnostic", "Weighted sum of squared residuals at the "
           "optimum (dimensionless for the default modulus weighting).", missing=math.nan),
    Column("chi2_per_point", "", "χ² per point", "diagnostic", "chi2 divided by the number "
           "of points.", missing=math.nan),
    Column("kk_valid", "", "Kramers-Kronig valid", "diagnostic", "True when the lin-KK "
           "check (Schönleber et al., Electrochim. Acta 131 (2014) 20) finds the spectrum "
           "consistent; empty when not run."),
    Column("kk_verdict", "", "Kramers-Kronig verdict", "diagnostic", "'consistent', 'not "
           "consistent' or 'undetermined' (the data scatter too much to tell); empty when "
           "the check was not run."),
    *_role("R_bulk_ohm", "resistance", "bulk", "R_bulk", "Bulk (grain-interior) resistance: "
           "the bulk arc's, or the high-frequency intercept when that arc lies above the "
           "band (then it is the electrolyte's, not a contact resistance). Never halved.",
           trend=True, figure="resistance"),
    *_role("R_gb_ohm", "resistance", "grain_boundary", "R_gb", "Grain-boundary resistance. "
           "Never halved.", trend=True, figure="resistance"),
    *_role("R_soli_ohm", "resistance", "soli", "R_SOLI", "Resistance of the solid-electrolyte "
           "interphase (SOLI) arc." + _INTERFACES, trend=True, figure="resistance"),
    *_role("R_ct_ohm", "resistance", "charge_transfer", "R_ct", "Charge-transfer "
           "resistance." + _INTERFACES),
    *_role("R_total_ohm", "resistance", TOTAL, "R_total", "R_bulk + R_gb + R_interface "
           "(seed review, eq. 4): every arc, without the series lead resistance, the "
           "inductance or a blocking spike; empty when an undetermined part matters to it.",
           trend=True),
    *_role("asr_soli_ohm_cm2", "asr", "soli", "ASR_SOLI per interface", "Area-specific "
           "resistance of the SOLI: R_soli x A / 2 per interface for a symmetric cell (seed "
           "review, eq. 8), R_soli x A with --not-symmetric; A the contact (Na foil) area. "
           "Empty without a cell area.", trend=True, figure="resistance"),
    *_role("C_soli_f", "capacitance", "soli", "C_SOLI", "Effective capacitance of the SOLI "
           "arc, Hsu & Mansfeld (Corrosion 57 (2001) 747): C = (Q R^(1-n))^(1/n). As fitted: "
           "in a symmetric cell the two interfaces in series (one interface's is 2 C).",
           trend=True, figure="capacitance"),
    *_role("sigma_bulk_s_cm", "conductivity", "bulk", "σ_bulk", "Bulk conductivity "
           "L / (R_bulk x A), L the thickness, A the contact area; empty without geometry.",
           figure="conductivity"),
    *_role("sigma_total_s_cm", "conductivity", TOTAL, "σ_total", "Total electrolyte "
           "conductivity L / ((R_bulk + R_gb) x A); empty without geometry.",
           figure="conductivity"),
    _text("fit_file", "fit record", "metadata", "The stem of the fit's record "
          "fits/<fit_file>.json (fit, analysis, row, measured points, provenance); empty for "
          "a file that could not be read.", from_plan=True, missing=None),
)
# fmt: on

_BY_NAME = {c.name: c for c in COLUMNS}
#: the quantities whose growth over time `eisfit.trends.analysis` fits, in table order
TREND_QUANTITIES = tuple(c.name for c in COLUMNS if c.trend)


def column(name: str) -> Column:
    """The `Column` called ``name``; a circuit parameter (``R2.R``, ``R2.R_stderr``) gets the
    parameter column under its own name.  KeyError for a name the table does not have."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if "." in name and not name.startswith(".") and "<" not in name:
        error = name.endswith(_STDERR)
        placeholder = _BY_NAME[stderr_of(PARAMETER) if error else PARAMETER]
        base = name.removesuffix(_STDERR) if error else None
        return replace(placeholder, name=name, label=name, error_of=base)
    raise KeyError(f"{name!r} is not a results.csv column (see eisfit.schema.COLUMNS)")


def columns(parameters: Iterable[str] = ()) -> tuple[Column, ...]:
    """The table's columns in order for a circuit with ``parameters`` (``R0.R``, ...): the
    placeholder pair becomes each parameter's value and ``_stderr`` columns."""
    params = tuple(parameters)
    out: list[Column] = []
    for c in COLUMNS:
        if c.kind != "parameter":
            out.append(c)
        elif c.error_of is None:  # the pair is expanded once, at the value placeholder
            out += [column(n) for p in params for n in (p, stderr_of(p))]
    return tuple(out)


def names(parameters: Iterable[str] = ()) -> tuple[str, ...]:
    """The column names of `columns`, in table order."""
    return tuple(c.name for c in columns(parameters))


def plan_columns() -> tuple[str, ...]:
    """The columns the batch runner fills from its plan (cell, time, the fits/ name)."""
    return tuple(c.name for c in COLUMNS if c.from_plan)


def role_quantities() -> tuple[Column, ...]:
    """The physics columns (resistance, ASR, capacitance, conductivity), without stderr."""
    return tuple(c for c in COLUMNS if c.kind in ROLE_KINDS and c.error_of is None)


def role_columns(role: str) -> tuple[Column, ...]:
    """The physics columns of ``role`` (``soli``: R, ASR, C), without stderr."""
    return tuple(c for c in role_quantities() if c.role == role)


def role_column(kind: str, role: str) -> str:
    """The name of the ``kind`` column of ``role``: (``resistance``, ``soli``) ->
    ``R_soli_ohm``.  KeyError when the table has none."""
    for c in role_quantities():
        if c.kind == kind and c.role == role:
            return c.name
    raise KeyError(f"results.csv has no {kind} column for role {role!r}")


def plotted(figure: str) -> tuple[str, ...]:
    """The quantities the report's trend figure ``figure`` draws, in table order."""
    return tuple(c.name for c in COLUMNS if c.figure == figure)


def unit(name: str | None) -> str:
    """The unit of column ``name``; for a name the table does not have, the unit its ending
    says (`UNIT_SUFFIXES`); ``""`` when there is none."""
    if name in _BY_NAME:
        return _BY_NAME[name].unit
    for unit_, suffix in UNIT_SUFFIXES.items():
        if name and name.removesuffix(_STDERR).endswith(suffix):
            return unit_
    return ""


def label(name: str) -> str:
    """Axis label with its unit: ``R_soli_ohm`` -> ``R_SOLI / Ω``; an unknown name as it is."""
    try:
        c = column(name)
    except KeyError:
        return name
    return f"{c.label} / {UNIT_SYMBOLS[c.unit]}" if c.unit else c.label


def markdown_table() -> str:
    """The columns as a Markdown table (name, unit, kind, meaning), for the documentation."""
    lines = ["| column | unit | kind | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `{c.name}` | {c.unit or '-'} | {c.kind} | {c.description} |"
        for c in COLUMNS
        if c.error_of is None
    ]
    return "\n".join(lines) + "\n\nEvery number has a `<name>_stderr` column beside it.\n"
