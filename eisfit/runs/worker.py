"""Fitting one cell's spectra in time order, with warm starts (the worker side of the batch).

A *group* is a cell's spectra (or one contiguous chunk of them), sorted in time.  Each spectrum is
fitted starting from the previous good fit of the group (``n_starts=1``: the fast warm
path).  The warm fit is accepted when it converged, its chi2 per point is at most
`CHI2_GROWTH` times the previous accepted one, and no electrolyte or interfacial
resistance changed by more than a factor `JUMP_FACTOR`; otherwise the spectrum is
refitted from scratch (default multi-start) and the fit with the lower chi2 is kept.
``start_path`` says what happened: ``warm``, ``fresh`` (no previous fit: the first
spectrum of a cell or of a chunk) or ``fallback`` (the warm fit was rejected).

Each spectrum becomes one flat row (the results.csv columns) and, unless it could not be
fitted at all, a JSON-ready record for ``fits/`` whose fit, analysis and measured points
are already canonical JSON text (`eisfit.runs.records.CanonicalJSON`).  Bad data never
raises here: a fit that raises `EisfitError` becomes a ``failed`` row with the message.
``status`` is the fit's (`eisfit.status`); ``reasons`` says why it is not ok,
``undetermined`` names the parameters the data do not determine (NaN in the row, as is
every role quantity derived from them), ``findings`` the kinds of data-screening
findings, ``partial`` marks a truncated sweep (left out of trends and events) and
``removed`` what was cropped or dropped before fitting.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._util import json_ready
from ..errors import EisfitError
from ..fitting.result import FitResult
from ..physics.contributions import CellAnalysis, analyse
from ..physics.geometry import Cell
from ..schema import stderr_of
from ..spectrum import Spectrum, SpectrumMeta
from .records import canonical_json
from .rows import (
    base_row,
    failed_row,
    reader_warnings,
    resistances,
    role_values,
    screening_columns,
    spectrum_data,
)

__all__ = [
    "AUTO",
    "CHI2_GROWTH",
    "JUMP_FACTOR",
    "BatchSettings",
    "fit_group",
    "iter_group",
    "spectrum_digest",
    "warm_up",
]

CHI2_GROWTH = 4.0
JUMP_FACTOR = 3.0
#: ``circuit`` and ``model`` of settings whose circuit is chosen per cell (`BatchSettings.auto`)
AUTO = "auto"


def _pairs(value: Mapping[str, Any] | None, convert: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((str(k), convert(v)) for k, v in dict(value or {}).items()))


@dataclass(frozen=True)
class BatchSettings:
    """What every spectrum of a batch is fitted and analysed with.

    ``circuit``: impedance.py notation; ``model``: the named model it came from (or None);
    ``roles``: element -> role overrides for `eisfit.analyse`; ``bounds``: parameter ->
    (low, high); ``cell``: geometry for ASR and conductivities (None: not computed);
    ``weighting``: as in `eisfit.fit`; ``kk``: run the Kramers-Kronig check;
    ``f_min_hz``, ``f_max_hz``, ``drop_flagged``: data screening before fitting
    (`eisfit.screening.screen.prepare`, applied to each cell).  Mappings are stored as sorted
    tuples of pairs so that settings are hashable and picklable.

    ``model`` `AUTO` (made by `auto`): the circuit is chosen per cell by `eisfit.runs.auto`
    (``circuit`` `AUTO` until then; each cell's settings then carry its circuit, so that
    their digest, the resume key, names it), and every fit is checked for a decisively
    better circuit (the ``alternative`` column).
    """

    circuit: str
    model: str | None = None
    roles: Any = None
    bounds: Any = None
    cell: Cell | None = None
    weighting: str = "modulus"
    kk: bool = True
    f_min_hz: float | None = None
    f_max_hz: float | None = None
    drop_flagged: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", _pairs(self.roles, str))
        object.__setattr__(
            self, "bounds", _pairs(self.bounds, lambda b: (float(b[0]), float(b[1])))
        )

    @classmethod
    def from_model(cls, name: str, *, cell: Cell | None = None, **options: Any) -> BatchSettings:
        """Settings of the named model ``name`` (circuit, roles, bounds; see `get_model`)."""
        from ..physics.models import get_model

        model = get_model(name)
        return cls(
            model.circuit, model=model.name, roles=model.roles, bounds=model.bounds,
            cell=cell, **options,
        )  # fmt: skip

    @classmethod
    def auto(cls, *, cell: Cell | None = None, **options: Any) -> BatchSettings:
        """Settings of ``eisfit batch --model auto``: one circuit per cell, chosen from a
        consensus of its spectra (`eisfit.identification.consensus`); ``roles`` given here apply
        to every cell's circuit, otherwise `eisfit.analyse` assigns them.  ``bounds`` cannot
        be given (`EisfitError`): the parameter names are not known in advance."""
        if options.get("bounds"):
            raise EisfitError("bounds cannot be given with an automatic circuit: its "
                              "parameter names are not known in advance")  # fmt: skip
        return cls(AUTO, model=AUTO, cell=cell, **options)

    @property
    def is_auto(self) -> bool:
        """True for `auto` settings (also once a cell's circuit is filled in)."""
        return self.model == AUTO

    def to_dict(self) -> dict[str, Any]:
        return {
            "circuit": self.circuit,
            "model": self.model,
            "roles": dict(self.roles),
            "bounds": {k: list(v) for k, v in self.bounds},
            "cell": self.cell.to_dict() if self.cell is not None else None,
            "weighting": self.weighting,
            "kk": self.kk,
            "f_min_hz": self.f_min_hz,
            "f_max_hz": self.f_max_hz,
            "drop_flagged": self.drop_flagged,
        }

    def digest(self) -> str:
        """sha256 of the canonical JSON of the settings (the resume key with the data)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def spectrum_digest(spectrum: Spectrum) -> str:
    """sha256 of the spectrum's content: frequencies (float64) and impedances (complex128)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(spectrum.frequency_hz, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(spectrum.impedance_ohm, dtype="<c16").tobytes())
    return h.hexdigest()


def pack(spectrum: Spectrum) -> tuple[Any, ...]:
    """A picklable form of a spectrum (its meta holds a mappingproxy)."""
    m = spectrum.meta
    meta = (
        m.source, m.index, m.timestamp, m.cycle, m.temperature_k, dict(m.extra),
        m.findings, m.removed, m.noise_estimate,
    )  # fmt: skip
    return np.asarray(spectrum.frequency_hz), np.asarray(spectrum.impedance_ohm), meta


def unpack(packed: tuple[Any, ...]) -> Spectrum:
    f, z, meta = packed
    return Spectrum(frequency_hz=f, impedance_ohm=z, meta=SpectrumMeta(*meta))


@dataclass(frozen=True)
class _Previous:
    """What the next warm start needs from the last accepted fit."""

    values: dict[str, float]
    chi2_per_point: float
    resistances: dict[str, float]


def previous_from_row(row: Mapping[str, Any], names: tuple[str, ...]) -> _Previous | None:
    """Warm-start state from an ok or warning row (every value determined), else None."""
    if row.get("status") not in ("ok", "warning"):
        return None
    values = {n: float(row[n]) for n in names if row.get(n) is not None}
    if len(values) != len(names) or not all(math.isfinite(v) for v in values.values()):
        return None
    return _Previous(values, float(row["chi2_per_point"]), resistances(row))


def _jumped(before: Mapping[str, float], after: Mapping[str, float]) -> bool:
    for role, old in before.items():
        new = after.get(role)
        if new is None:
            continue
        lo, hi = sorted((abs(old), abs(new)))
        if hi > 0 and (lo <= 0 or hi / lo > JUMP_FACTOR):
            return True
    return False


def warm_up() -> None:
    """Import the fitting stack and load the compiled kernels (when they will be used)
    now, so that a worker process pays for them before its first spectrum: about 1 s of
    CPU per process (scipy's optimisers ~0.4 s, numba and its cache ~0.5 s).  Meant for
    a pool's initializer, where it can overlap the reading of the files; a worker that
    does not call it pays the same at its first fit."""
    from ..fitting import api, compiled  # noqa: F401 - imported for its side effect
    from ..kk import compiled as kk_compiled

    if compiled.prepare():
        kk_compiled.prepare()  # lin-KK's helpers ride on numba once it is loaded


def _fit_one(
    spectrum: Spectrum, settings: BatchSettings, prev: _Previous | None
) -> tuple[FitResult, CellAnalysis, str]:
    from ..fitting.api import fit  # loaded by the first spectrum that needs fitting, not on resume

    roles = dict(settings.roles) or None
    common = {"bounds": dict(settings.bounds) or None, "weighting": settings.weighting}
    common["kk"] = settings.kk

    def fresh() -> tuple[FitResult, CellAnalysis]:
        result = fit(spectrum, settings.circuit, **common)
        return result, analyse(result, settings.cell, roles=roles)

    if prev is None:
        return (*fresh(), "fresh")
    warm = fit(spectrum, settings.circuit, initial=prev.values, n_starts=1, **common)
    warm_analysis = analyse(warm, settings.cell, roles=roles)
    if (
        warm.status in ("ok", "warning")
        and warm.chi2_per_point <= CHI2_GROWTH * prev.chi2_per_point
        and not _jumped(prev.resistances, resistances(role_values(warm_analysis)))
    ):
        return warm, warm_analysis, "warm"
    result, analysis = fresh()
    if _rank(warm) < _rank(result):
        return warm, warm_analysis, "fallback"
    return result, analysis, "fallback"


def _rank(result: FitResult) -> tuple[int, float]:
    """Usable fits first (ok/warning, then undetermined, then failed), then the lower
    chi2 (ties go to the fresh fit)."""
    usable = {"ok": 0, "warning": 0, "undetermined": 1}.get(result.status, 2)
    return usable, result.chi2 if math.isfinite(result.chi2) else math.inf


#: what fitting one spectrum gives: its row and its fits/ record (None when reused)
Output = tuple[dict[str, Any], dict[str, Any] | None]


def fit_group(
    packed: list[tuple[Any, ...]],
    settings: BatchSettings,
    reuse: list[dict[str, Any] | None],
    names: tuple[str, ...],
    bands: list[Any] | None = None,
) -> list[Output]:
    """Fit one group in order; ``reuse[i]``: a stored row to take instead of fitting;
    ``bands[i]``: what the spectrum's siblings in its cell cover (for screening).

    Returns (row, record) per spectrum; ``record`` is the fits/ JSON body (None for a
    reused row, whose JSON is already on disk).  Top-level and picklable for worker
    processes and Dask workers.
    """
    return list(iter_group(packed, settings, reuse, names, bands))


def _screened(spectrum: Spectrum, band: Any, settings: BatchSettings) -> Spectrum:
    """The spectrum screened (`eisfit.screening.screen`) and, if asked, without flagged points."""
    from ..fitting.weighting import usable_points
    from ..screening.screen import drop_flagged, screen

    spectrum = usable_points(spectrum, settings.weighting)  # before screening: it renumbers
    if spectrum.meta.findings is None:
        spectrum = screen(spectrum, band=band)
    return drop_flagged(spectrum) if settings.drop_flagged else spectrum


def iter_group(
    packed: list[tuple[Any, ...]],
    settings: BatchSettings,
    reuse: list[dict[str, Any] | None],
    names: tuple[str, ...],
    bands: list[Any] | None = None,
) -> Iterator[Output]:
    """`fit_group` one spectrum at a time (the in-process path saves each as it is done).

    Whatever goes wrong with one spectrum costs that spectrum's row only: bad data give
    an ``error`` or ``failed`` row with the reason, and any other exception (a bug in
    eisfit, memory exhausted) a ``failed`` row that names it.
    """
    prev: _Previous | None = None
    for i, (item, stored) in enumerate(zip(packed, reuse, strict=True)):
        if stored is not None:
            row = {**stored, "reused": True}
            prev = previous_from_row(row, names) or prev
            yield row, None
            continue
        spectrum = unpack(item)
        try:
            row, record = _process(spectrum, bands[i] if bands else None, settings, prev, names)
        except Exception as exc:  # one spectrum must never stop the batch
            status = "error" if isinstance(exc, EisfitError) else "failed"
            row, record = _unfitted(failed_row(spectrum, names, status, _crash_text(exc)), spectrum)
        if row["status"] in ("ok", "warning"):
            prev = previous_from_row(row, names) or prev
        yield row, record


def _alternative(result: FitResult, settings: BatchSettings) -> str:
    """``"<circuit> ...<why>"`` when a circuit other than the cell's explains the spectrum
    decisively better (`eisfit.identification.consensus.alternative`; it identifies the spectrum
    only when the cell's circuit does not explain it), else ``""`` (the column's empty)."""
    from ..identification.consensus import alternative

    try:
        found = alternative(result, cell=settings.cell, roles=dict(settings.roles) or None)
    except EisfitError as exc:  # the fit stands; say that it could not be checked
        return f"not checked: {exc}"
    if found is None:
        return ""
    circuit, why = found
    return why if why.startswith(circuit) else f"{circuit}: {why}"


def _unfitted(row: dict[str, Any], spectrum: Spectrum) -> Output:
    """A row without a fit and its fits/ record (the measured points, for the report)."""
    record = {"fit": None, "analysis": None, "row": json_ready(row)}
    return row, {**record, "spectrum": canonical_json(spectrum_data(spectrum))}


def _crash_text(exc: BaseException) -> str:
    if isinstance(exc, EisfitError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory to fit this spectrum (MemoryError)"
    return (
        f"eisfit failed on this spectrum ({type(exc).__name__}: {exc}); "
        "this is a bug in eisfit, please report it"
    )


def _process(
    spectrum: Spectrum,
    band: Any,
    settings: BatchSettings,
    prev: _Previous | None,
    names: tuple[str, ...],
) -> Output:
    """Screen and fit one spectrum: its row and its fits/ record."""
    try:
        spectrum = _screened(spectrum, band, settings)
    except EisfitError as exc:  # no usable point left: nothing to fit
        return _unfitted(failed_row(spectrum, names, "error", str(exc)), spectrum)
    try:
        result, analysis, path = _fit_one(spectrum, settings, prev)
    except EisfitError as exc:
        row = {**failed_row(spectrum, names, "failed", str(exc)), **screening_columns(spectrum)}
        return _unfitted(row, spectrum)
    row = base_row(spectrum, names)
    row.update(screening_columns(spectrum))
    row.update(
        status=result.status, message=result.message,
        reasons="; ".join(result.reasons), undetermined="; ".join(result.undetermined),
        start_path=path, chi2=result.chi2, chi2_per_point=result.chi2_per_point,
        kk_valid=result.kk.valid if result.kk is not None else None,
        kk_verdict=getattr(result.kk, "verdict", None) if result.kk is not None else None,
        warnings="; ".join(
            dict.fromkeys([*reader_warnings(spectrum), *result.warnings,
                           *analysis.all_warnings])
        ),
    )  # fmt: skip
    for name in names:
        row[name] = result.values[name]
        row[stderr_of(name)] = result.stderr[name]
    row.update(role_values(analysis))
    if settings.is_auto:
        row["alternative"] = _alternative(result, settings)
    # the large parts leave the worker as canonical JSON (`eisfit.runs.records`): the
    # process writing fits/ then only seals them
    record = {
        "fit": canonical_json(result.to_dict()),
        "analysis": canonical_json(analysis.to_dict()),
        "row": json_ready(row),
        "spectrum": canonical_json(spectrum_data(spectrum)),
    }
    return row, record
