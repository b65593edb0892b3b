"""``eisfit batch --model auto``: one circuit per cell, chosen by consensus, kept in model.json.

Arc identities must stay stable through a run (the same R2 is the interphase in every
row), so each cell (``cell_by``) is fitted with one circuit, chosen once from a few of its
spectra spread over the run (`eisfit.identification.consensus.consensus`: the first and last
included, `eisfit.identification.consensus.DEFAULT_SAMPLE` in all), then fitted exactly as a
batch with that ``--circuit`` would be (warm starts, chunks, workers, Dask, resume).  Each
fit is then checked for a circuit that explains its spectrum decisively better (the
``alternative`` column, `eisfit.runs.worker`).

The choices are written to ``model.json`` in the run folder (and a run with a given
circuit removes one left by an earlier automatic run there) (strict JSON, `MODEL_JSON`):
``{"version": 1, "eisfit_version": ..., "cells": [{"cell", "circuit", "statement",
"accepted", "sampled", "explained", "error", "key"}, ...]}`` in the order of the table's
cells.  ``statement`` is `Consensus.report` (the sentence a run report states for the
cell); ``explained`` is False when no sampled spectrum is explained by any candidate
(then ``circuit`` is the consensus' best attempt, and its rows carry a warning);
``error`` says why a cell got no circuit (``circuit`` null: too few spectra or points,
or no sampled spectrum could be identified); that cell's spectra become ``error`` rows,
and the other cells go on.

Resume: ``key`` is the sha256 of the settings, the cell's spectrum digests in time order
(`eisfit.runs.plan.CellPlan.digests`), the sample size and the eisfit version.  A re-run
whose cell has the same key takes its circuit from model.json without identifying
anything (the identification caps each candidate's fit at a wall time,
`eisfit.identification.api.CANDIDATE_TIMEOUT_S`, so on a loaded machine it is not guaranteed to
come out the same: it is not redone).  The cell's fits are then reused as for any
circuit: their settings digest names the circuit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, overload

import numpy as np

from .._util import write_atomic
from .._version import __version__
from ..errors import EisfitError, JsonError
from ..spectrum import Spectrum
from .plan import CellPlan, Plan
from .safe_json import RUN_MAX_BYTES, load_json
from .store import SpectrumStore
from .worker import BatchSettings

__all__ = ["MODEL_JSON", "CellChoice", "choose_circuits", "mark_row", "per_cell", "plan_auto",
           "reusable"]  # fmt: skip

MODEL_JSON = "model.json"
_VERSION = 1


@dataclass(frozen=True)
class CellChoice:
    """The circuit of one cell (see the module docstring for the fields); ``reused``: taken
    from model.json of an earlier run (not written to it)."""

    cell: str
    circuit: str | None
    statement: str
    accepted: dict[str, int]
    sampled: tuple[int, ...]
    explained: bool
    error: str | None
    key: str
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell, "circuit": self.circuit, "statement": self.statement,
            "accepted": dict(self.accepted), "sampled": list(self.sampled),
            "explained": self.explained, "error": self.error, "key": self.key,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> CellChoice | None:
        """The choice stored in model.json, or None when the entry is not one."""
        try:
            choice = cls(
                str(data["cell"]), data["circuit"], str(data["statement"]),
                {str(k): int(v) for k, v in dict(data["accepted"]).items()},
                tuple(int(i) for i in data["sampled"]), bool(data["explained"]),
                data["error"], str(data["key"]), reused=True,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None
        ok = isinstance(choice.circuit, str) or isinstance(choice.error, str)
        return choice if ok else None


class _CellSpectra(Sequence[Spectrum]):
    """A cell's spectra, read when asked (the consensus reads only those it samples)."""

    def __init__(self, store: SpectrumStore, g: int, n: int) -> None:
        self._store, self._g, self._n = store, g, n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, j: int) -> Spectrum: ...
    @overload
    def __getitem__(self, j: slice) -> Sequence[Spectrum]: ...
    def __getitem__(self, j: Any) -> Any:
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(self._n))]
        if not -self._n <= j < self._n:
            raise IndexError(j)
        return self._store.spectrum(self._g, j % self._n)


def _key(cell: CellPlan, settings: BatchSettings, sample: int) -> str:
    h = hashlib.sha256(f"{settings.digest()}:{sample}:{__version__}:".encode())
    h.update(cell.digests.tobytes())
    return h.hexdigest()


def _stored(out: Path | None) -> dict[str, CellChoice]:
    """Cell -> its choice in ``out``/model.json (empty when absent or not readable)."""
    if out is None:
        return {}
    try:
        data = load_json(out / MODEL_JSON, max_bytes=RUN_MAX_BYTES)
    except JsonError:
        return {}
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return {}
    cells = data.get("cells")
    found = [CellChoice.from_dict(c) for c in cells] if isinstance(cells, list) else []
    return {c.cell: c for c in found if c is not None}


def _choose(cell: CellPlan, g: int, store: SpectrumStore, settings: BatchSettings,
            key: str) -> CellChoice:  # fmt: skip
    from ..identification.consensus import DEFAULT_SAMPLE, consensus

    roles = dict(settings.roles) or None
    try:
        chosen = consensus(_CellSpectra(store, g, len(cell)), sample=DEFAULT_SAMPLE,
                           cell=settings.cell, roles=roles)  # fmt: skip
    except EisfitError as exc:  # too few spectra or points, a file changed: this cell only
        why = f"no circuit could be chosen for cell {cell.name}: {exc}"
        return CellChoice(cell.name, None, why, {}, (), False, why, key)
    explained = any(f.status != "none" for f in chosen.identifications)
    return CellChoice(cell.name, chosen.circuit, chosen.report(), dict(chosen.accepted),
                      chosen.sampled, explained, None, key)  # fmt: skip


def choose_circuits(
    plan: Plan, settings: BatchSettings, out: Path | None, log: logging.Logger
) -> list[CellChoice]:
    """One `CellChoice` per cell of ``plan`` (in order), from model.json when its key is
    unchanged, else by consensus; model.json is written again (module docstring)."""
    from ..identification.consensus import DEFAULT_SAMPLE

    stored = _stored(out)
    store = SpectrumStore(plan, settings)
    choices = []
    for g, cell in enumerate(plan.cells):
        key = _key(cell, settings, DEFAULT_SAMPLE)
        old = stored.get(cell.name)
        t0 = time.perf_counter()
        choice = old if old is not None and old.key == key else _choose(
            cell, g, store, settings, key)  # fmt: skip
        choices.append(choice)
        took = time.perf_counter() - t0
        how = "kept from model.json" if choice.reused else f"by consensus in {took:.1f} s"
        if choice.error is not None:
            log.warning("cell %s: %s", cell.name, choice.error)
        elif not choice.explained:
            log.warning("cell %s: no candidate circuit explains its sampled spectra; fitted "
                        "with the best attempt, %s (%s)", cell.name, choice.circuit,
                        choice.statement)  # fmt: skip
        else:
            log.info("cell %s: circuit %s, %s", cell.name, how, choice.statement)
    if out is not None:
        document = {"version": _VERSION, "eisfit_version": __version__,
                    "cells": [c.to_dict() for c in choices]}  # fmt: skip
        write_atomic(out / MODEL_JSON, json.dumps(document, indent=1, allow_nan=False))
    return choices


def per_cell(
    plan: Plan, settings: BatchSettings, choices: list[CellChoice]
) -> tuple[Plan, list[BatchSettings], list[CellChoice]]:
    """The plan without the cells that got no circuit (their spectra become ``error``
    rows, after the unreadable files'), each kept cell's settings (its circuit filled in)
    and its choice."""
    cells, settings_of, kept = [], [], []
    errors = list(plan.errors)
    for cell, choice in zip(plan.cells, choices, strict=True):
        if choice.circuit is None:
            errors.extend({**cell.ident(j), "status": "error", "message": choice.error,
                           "cell": cell.name} for j in range(len(cell)))  # fmt: skip
            continue
        cells.append(cell)
        settings_of.append(replace(settings, circuit=choice.circuit))
        kept.append(choice)
    return replace(plan, cells=cells, errors=errors), settings_of, kept


def reusable(plan: Plan, settings_of: list[BatchSettings], exists: Any) -> Plan:
    """The plan with each spectrum's ``reusable`` looked up under its cell's settings
    (``exists(stem, digest, settings_digest)``, `eisfit.runs.store.StoredRows.exists`)."""
    cells = []
    for cell, own in zip(plan.cells, settings_of, strict=True):
        digest = own.digest()
        found = [bool(exists(cell.stems[j], cell.digest(j), digest)) for j in range(len(cell))]
        cells.append(replace(cell, reusable=np.array(found, dtype=bool)))
    return replace(plan, cells=cells)


def plan_auto(
    plan: Plan, settings: BatchSettings, out: Path | None, log: logging.Logger, exists: Any
) -> tuple[Plan, tuple[list[BatchSettings], list[CellChoice]], tuple[str, ...]]:
    """What `eisfit.runs.batch.run_batch` needs for ``--model auto``: the plan without the
    cells that got no circuit and with what each kept cell reuses under its own settings
    (`reusable`), each kept cell's settings and choice, and the parameter names of all
    their circuits (first seen first: the table's parameter columns)."""
    from ..notation.model import compile_circuit

    plan, own, kept = per_cell(plan, settings, choose_circuits(plan, settings, out, log))
    names = dict.fromkeys(n for s in own for n in compile_circuit(s.circuit).names)
    return reusable(plan, own, exists), (own, kept), tuple(names)


def mark_row(row: dict[str, Any], choice: CellChoice) -> None:
    """A row of a cell whose circuit explains none of its sampled spectra: the warning in
    ``warnings`` and ``reasons``, and an ``ok`` status becomes ``warning``."""
    if choice.explained:
        return
    said = f"no candidate circuit explains this cell's spectra; best attempt: {choice.circuit}"
    for column in ("warnings", "reasons"):
        text = row.get(column)
        text = text if isinstance(text, str) else ""
        row[column] = "; ".join(t for t in (text, said) if t)
    if row.get("status") == "ok":
        row["status"] = "warning"
